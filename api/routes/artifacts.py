"""/api/v1/runs/{id}/artifacts: streamed upload (size-limited, sha256), list, download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Reader, SessionDep, SettingsDep, StreamWorker
from api.schemas.artifacts import ArtifactPublic, ArtifactsPublic
from api.schemas.common import FILE_NAME_PATTERN, IdPath
from api.services import artifacts as service

router = APIRouter(prefix="/api/v1/runs/{run_id}/artifacts", tags=["artifacts"])
NameParam = Annotated[str, Path(min_length=1, max_length=128, pattern=FILE_NAME_PATTERN,
                                examples=["model.safetensors"])]
UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


@router.put("/{name}", status_code=201, openapi_extra=UPLOAD_BODY,
            responses={413: {"description": "over the artifact size limit"}},
            summary="Upload an artifact (raw bytes, streamed)")
async def upload(run_id: IdPath, name: NameParam, request: Request, caller: StreamWorker,
                 session: SessionDep, settings: SettingsDep) -> ArtifactPublic:
    dest = service.artifact_path(settings.artifact_dir, run_id, name)
    # Refused before the body is read: only the lease's token, while the run runs.
    await run_in_threadpool(service.require_writable, session, run_id, caller.token_id)
    tmp, size, sha256 = await service.receive(request.stream(), dest,
                                              settings.max_artifact_bytes)
    artifact = await run_in_threadpool(service.record, session, run_id, name, tmp, dest,
                                       size, sha256, caller.token_id)
    return ArtifactPublic.model_validate(artifact, from_attributes=True)


@router.get("", summary="List a run's artifacts")
def list_(run_id: IdPath, _: Reader, session: SessionDep) -> ArtifactsPublic:
    return ArtifactsPublic(items=[ArtifactPublic.model_validate(a, from_attributes=True)
                                  for a in service.list_artifacts(session, run_id)])


@router.get("/{name}", response_class=FileResponse, summary="Download an artifact",
            responses={200: {"content": {"application/octet-stream": {}}}})
def download(run_id: IdPath, name: NameParam, _: Reader, session: SessionDep,
             settings: SettingsDep) -> FileResponse:
    artifact, path = service.find(session, settings.artifact_dir, run_id, name)
    return FileResponse(path, media_type="application/octet-stream", filename=name,
                        headers={"ETag": f'"{artifact.sha256}"',
                                 "X-Checksum-SHA256": artifact.sha256})
