"""``squeezelab up`` (embedded: SQLite, server-less broker, one worker) started in the
repository, then ``squeezelab submit --wait`` of the BERT and ViT examples (shrunk): every
run succeeds, and the worker finds the examples' code by its relative paths."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from liveapi import free_port
from polling import wait_for
from shrink import EXAMPLES, shrunk_example

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = EXAMPLES.parent


def test_up_then_submit_the_transformer_examples(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SQUEEZELAB_HOME": str(tmp_path / "home"), "SQUEEZELAB_API_URL": url}
    for key in ("SQUEEZELAB_DATABASE_URL", "SQUEEZELAB_BROKER_URL", "SQUEEZELAB_TOKEN"):
        env.pop(key, None)
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen([sys.executable, "-m", "squeezelab", "up", "--port", str(port)],
                          cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                          start_new_session=True)
    try:
        wait_for(lambda: _ready(url), timeout=90, what="squeezelab up")
        specs = [shrunk_example("bert-textcls.yaml", tmp_path, absolute_paths=False,
                                kwargs={"train": 480, "val": 96, "test": 192}),
                 shrunk_example("vit-digits.yaml", tmp_path, absolute_paths=False)]
        for spec in specs:
            done = subprocess.run([sys.executable, "-m", "squeezelab", "submit", str(spec),
                                   "--wait"], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=600)
            tail = (tmp_path / "up.log").read_text()[-3000:]
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:] + tail
        sweeps = httpx.get(f"{url}/api/v1/sweeps").json()["items"]
        assert {s["name"]: s["status"] for s in sweeps} == {"bert-textcls": "succeeded",
                                                           "vit-digits": "succeeded"}
        bert = next(s for s in sweeps if s["name"] == "bert-textcls")
        assert bert["metric"] == {"name": "macro_f1", "goal": "max"}
        runs = httpx.get(f"{url}/api/v1/runs", params={"sweep_id": bert["id"],
                                                       "limit": 50}).json()["items"]
        assert len(runs) == 9 and all(r["status"] == "succeeded" for r in runs)
        assert {r["summary"]["metric"]["name"] for r in runs} == {"macro_f1"}
        page = httpx.get(f"{url}/sweeps/{bert['id']}")
        assert page.status_code == 200 and "<script" in page.text  # the dashboard is served
        print(json.dumps({r["name"]: r["summary"]["metric"]["value"] for r in runs}))
    finally:
        os.killpg(up.pid, signal.SIGINT)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
        log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
