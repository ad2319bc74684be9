"""/api/v1/uploads: files (pretrained weights) that sweep specs name as ``upload:<sha256>``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Reader, SessionDep, SettingsDep, StreamWriter
from api.errors import InvalidInputError, Violation
from api.schemas.common import FILE_NAME_PATTERN
from api.schemas.uploads import UploadPublic, UploadsPublic
from api.services import uploads as service
from api.services.artifacts import receive

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])
# Raw bytes, at least one: an empty upload is a 422.
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary", "minLength": 1}}}}}
ShaPath = Annotated[str, Path(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")]


@router.post("", status_code=201, openapi_extra=UPLOAD_BODY,
             responses={413: {"description": "over the artifact size limit"},
                        422: {"description": "an empty file, or a bad name"}},
             summary="Upload a file (raw bytes, streamed); the reply's ref goes in a spec")
async def upload(request: Request, _: StreamWriter, session: SessionDep, settings: SettingsDep,
                 name: Annotated[str, Query(min_length=1, max_length=128,
                                            pattern=FILE_NAME_PATTERN,
                                            examples=["model.safetensors"])] = "upload.bin",
                 ) -> UploadPublic:
    service.check_name(name)
    staging = settings.artifact_dir / "uploads" / "incoming"
    tmp, size, sha256 = await receive(request.stream(), staging, settings.max_artifact_bytes)
    if size == 0:
        tmp.unlink(missing_ok=True)
        raise InvalidInputError("empty upload", [Violation("body", "the file is empty")])
    stored = await run_in_threadpool(service.record, session, settings.artifact_dir, tmp, name,
                                     size, sha256)
    return service.public(stored)


@router.get("", summary="The newest uploads")
def list_(_: Reader, session: SessionDep,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> UploadsPublic:
    return UploadsPublic(items=[service.public(u)
                                for u in service.list_uploads(session, limit)])


@router.get("/{sha256}", response_class=FileResponse, summary="Download an upload",
            responses={200: {"content": {"application/octet-stream": {}}}})
def download(sha256: ShaPath, _: Reader, session: SessionDep,
             settings: SettingsDep) -> FileResponse:
    upload, path = service.find(session, settings.artifact_dir, sha256)
    return FileResponse(path, media_type="application/octet-stream", filename=upload.name,
                        headers={"ETag": f'"{upload.sha256}"',
                                 "X-Checksum-SHA256": upload.sha256})
