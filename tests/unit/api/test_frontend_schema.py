"""The dashboard's committed API types (frontend/src/api/schema.d.ts) match the API."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from api.app import create_app

FRONTEND = Path(__file__).parents[3] / "frontend"
GENERATOR = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"


def test_schema_types_are_generated_from_the_current_openapi(tmp_path: Path) -> None:
    if not GENERATOR.exists() or shutil.which("node") is None:
        pytest.skip("frontend packages not installed (npm --prefix frontend ci)")
    doc = tmp_path / "openapi.json"
    doc.write_text(json.dumps(create_app().openapi()))
    out = tmp_path / "schema.d.ts"
    subprocess.run([str(GENERATOR), str(doc), "-o", str(out)], check=True, cwd=FRONTEND,
                   capture_output=True, timeout=120)
    committed = (FRONTEND / "src" / "api" / "schema.d.ts").read_text()
    assert out.read_text() == committed, (
        "frontend/src/api/schema.d.ts is stale: npm --prefix frontend run gen:api")
