"""Artifact files: streamed to disk with a size limit and sha256, under sanitised names.

A name is one path component from a small alphabet, so no name can leave the run's
directory; the resolved path is checked against the artifact root as well.

Files are taken only from the token holding the run's lease while the run is running
(``api.services.leases``): checked before the body is read, and again, with the run's row
locked, before the file is moved into place, so a run's files are immutable once it has
ended (a succeeded run's weights are what its dependents and users download).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import (
    ApiError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    Violation,
)
from api.models import Artifact, Run, utcnow
from api.services.leases import run_lease

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}")


def artifact_path(root: Path, run_id: int, name: str) -> Path:
    """Where an artifact lives; a name that is not one safe path component is a 422."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise InvalidInputError("invalid artifact name", [Violation(
            "path:/name", "use 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit")])
    base = (root / str(run_id)).resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise InvalidInputError("invalid artifact name", [Violation("path:/name", "escapes")])
    return path


def require_run(session: Session, run_id: int) -> None:
    if session.get(Run, run_id) is None:
        raise NotFoundError("run", run_id)


def require_writable(session: Session, run_id: int, token_id: int | None,
                     *, lock: bool = False) -> None:
    """Raise unless the caller with ``token_id`` may upload files of the run now (404, 409:
    not running, 403: claimed with another token). ``lock``: until the commit."""
    refusal = run_lease(session, run_id, lock=lock).refusal(token_id, "take artifacts")
    if refusal is not None:
        raise refusal


async def receive(chunks: AsyncIterator[bytes], dest: Path, limit: int) -> tuple[Path, int, str]:
    """Stream a body into a temporary file beside ``dest``; returns (temp, size, sha256)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".upload-")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLargeError(limit)
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return Path(tmp_name), size, digest.hexdigest()


def record(session: Session, run_id: int, name: str, tmp: Path, dest: Path, size: int,
           sha256: str, token_id: int | None = None) -> Artifact:
    """Move the upload into place and upsert its row (a re-upload while the run runs
    replaces the file, e.g. the newest checkpoint)."""
    try:
        require_writable(session, run_id, token_id, lock=True)
    except ApiError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dest)
    artifact = session.scalar(select(Artifact).where(Artifact.run_id == run_id,
                                                     Artifact.name == name))
    if artifact is None:
        artifact = Artifact(run_id=run_id, name=name, size=size, sha256=sha256)
        session.add(artifact)
    else:
        artifact.size, artifact.sha256, artifact.created_at = size, sha256, utcnow()
    session.commit()
    return artifact


def list_artifacts(session: Session, run_id: int) -> list[Artifact]:
    require_run(session, run_id)
    return list(session.scalars(select(Artifact).where(Artifact.run_id == run_id)
                                .order_by(Artifact.name)))


def find(session: Session, root: Path, run_id: int, name: str) -> tuple[Artifact, Path]:
    path = artifact_path(root, run_id, name)
    artifact = session.scalar(select(Artifact).where(Artifact.run_id == run_id,
                                                     Artifact.name == name))
    if artifact is None or not path.is_file():
        raise NotFoundError("artifact", f"{run_id}/{name}")
    return artifact, path
