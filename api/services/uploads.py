"""Uploads: files stored by their sha256 (content-addressed), named by specs as
``upload:<sha256>``. Uploading the same bytes twice stores them once."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import InvalidInputError, NotFoundError, Violation
from api.models import Upload
from api.schemas.uploads import UploadPublic

_SHA = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}")
UPLOAD_PREFIX = "upload:"


def upload_path(root: Path, sha256: str) -> Path:
    """Where an upload's bytes live; only a sha256 names one, so no path can escape."""
    if not _SHA.fullmatch(sha256):
        raise InvalidInputError("invalid upload id", [Violation(
            "path:/sha256", "an upload is named by the sha256 of its bytes: 64 hex digits")])
    return root / "uploads" / sha256


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or ".." in name:
        raise InvalidInputError("invalid upload name", [Violation(
            "query:/name", "use 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit")])
    return name


def public(upload: Upload) -> UploadPublic:
    return UploadPublic(ref=UPLOAD_PREFIX + upload.sha256, sha256=upload.sha256,
                        name=upload.name, size=upload.size, created_at=upload.created_at)


def record(session: Session, root: Path, tmp: Path, name: str, size: int,
           sha256: str) -> Upload:
    """Move a received file into place (or drop it: the same bytes are stored already)."""
    dest = upload_path(root, sha256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    existing = session.get(Upload, sha256)
    if existing is not None and dest.is_file():
        tmp.unlink(missing_ok=True)
        return existing
    os.replace(tmp, dest)
    if existing is None:
        existing = Upload(sha256=sha256, name=name, size=size)
        session.add(existing)
        session.commit()
    return existing


def find(session: Session, root: Path, sha256: str) -> tuple[Upload, Path]:
    path = upload_path(root, sha256)
    upload = session.get(Upload, sha256)
    if upload is None or not path.is_file():
        raise NotFoundError("upload", sha256)
    return upload, path


def list_uploads(session: Session, limit: int) -> list[Upload]:
    return list(session.scalars(select(Upload).order_by(Upload.created_at.desc()).limit(limit)))


def missing_uploads(session: Session, refs: dict[str, str]) -> list[Violation]:
    """Violations for the ``upload:`` references (JSON pointer -> ref) that name no upload."""
    return [Violation(pointer, f"no upload {ref}: upload the file first (squeezelab upload)")
            for pointer, ref in refs.items()
            if ref.startswith(UPLOAD_PREFIX)
            and session.get(Upload, ref.removeprefix(UPLOAD_PREFIX)) is None]
