"""``Client``: one typed method per API operation that users and workers need."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from client.models import (
    Artifact,
    CommitStatus,
    Delivery,
    Heartbeat,
    MetricBatchResult,
    MetricPoint,
    Page,
    Pareto,
    RetryResult,
    Run,
    Series,
    Sweep,
    SweepCreated,
    SweepPlan,
    Token,
    TokenCreated,
    Trigger,
    TriggerCreated,
    Upload,
    Worker,
)
from client.transport import CHUNK, RetryPolicy, Transport

M = TypeVar("M", bound=BaseModel)
MAX_BATCH = 10_000  # the API's limit of points per metric request
Spec = Mapping[str, Any] | str | Path


class Client:
    """A squeezelab API client.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000`` (the ``/api/v1`` prefix is added).
        token: the bearer token; ``None`` for an API running with auth off.
        timeout: seconds per request (connect, read, write).
        retries, backoff_s, max_backoff_s: see ``RetryPolicy``; only idempotent calls retry.
        http: an ``httpx.Client`` to use instead of a new one (tests, proxies).
    """

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0,
                 retries: int = 5, backoff_s: float = 0.25, max_backoff_s: float = 30.0,
                 http: httpx.Client | None = None) -> None:
        self.transport = Transport(base_url, token, timeout,
                                   RetryPolicy(retries, backoff_s, max_backoff_s), http)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self.transport.close()

    def _call(self, model: type[M], method: str, path: str, *, idempotent: bool,
              **kwargs: Any) -> M:
        response = self.transport.request(method, "/api/v1" + path, idempotent=idempotent,
                                          **kwargs)
        return model.model_validate_json(response.content)

    def _json(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> Any:
        response = self.transport.request(method, "/api/v1" + path, idempotent=idempotent,
                                          **kwargs)
        return response.json()

    # -- sweeps ------------------------------------------------------------------------

    def submit_sweep(self, spec: Spec, *, source: str = "api", repo: str | None = None,
                     ref: str | None = None, sha: str | None = None) -> SweepCreated:
        """Submit a spec (a mapping, YAML text, or a .yaml/.json file); sent once, never
        retried. An invalid spec raises ``ValidationError`` with a pointer per field.
        ``repo``/``ref``/``sha`` tag a CI sweep (``source="ci"``)."""
        params = _params(source=source, repo=repo, ref=ref, sha=sha)
        return self._call(SweepCreated, "POST", "/sweeps", idempotent=False, params=params,
                          **_spec_body(spec))

    def plan_sweep(self, spec: Spec, *, cursor: str | None = None) -> SweepPlan:
        """The runs ``spec`` expands to, one page from ``cursor`` (``next_cursor`` gives the
        next); ``dry_run``: nothing is stored, so it retries."""
        return self._call(SweepPlan, "POST", "/sweeps", idempotent=True,
                          params=_params(dry_run="true", cursor=cursor), **_spec_body(spec))

    def list_sweeps(self, *, status: str | None = None, task: str | None = None,
                    source: str | None = None, name: str | None = None, limit: int = 50,
                    cursor: str | None = None) -> Page[Sweep]:
        """One page of sweeps, newest first."""
        params = _params(status=status, task=task, source=source, name=name, limit=limit,
                         cursor=cursor)
        body = self._json("GET", "/sweeps", idempotent=True, params=params)
        return Page([Sweep.model_validate(s) for s in body["items"]], body["next_cursor"])

    def iter_sweeps(self, *, page_size: int = 50, **filters: str | None) -> Iterator[Sweep]:
        """Every sweep matching ``filters`` (as ``list_sweeps``), fetched page by page."""
        return _paginate(lambda cursor: self.list_sweeps(limit=page_size, cursor=cursor,
                                                         **filters))

    def get_sweep(self, sweep_id: int) -> Sweep:
        return self._call(Sweep, "GET", f"/sweeps/{sweep_id}", idempotent=True)

    def cancel_sweep(self, sweep_id: int) -> Sweep:
        """Cancel every queued or running run (409 ``ConflictError`` if already ended)."""
        return self._call(Sweep, "POST", f"/sweeps/{sweep_id}/cancel", idempotent=False)

    def retry_failed(self, sweep_id: int) -> RetryResult:
        """Requeue the sweep's failed runs."""
        return self._call(RetryResult, "POST", f"/sweeps/{sweep_id}/retry-failed",
                          idempotent=False)

    def delete_sweep(self, sweep_id: int) -> None:
        """Delete a sweep with its runs, metrics and artifacts."""
        self.transport.request("DELETE", f"/api/v1/sweeps/{sweep_id}", idempotent=True)

    def pareto(self, sweep_id: int, *, x: str = "summary.sparsity",
               y: str = "summary.accuracy", x_goal: str = "max",
               y_goal: str = "max") -> Pareto:
        """The accuracy-vs-cost front, seeds aggregated per variant."""
        return self._call(Pareto, "GET", f"/sweeps/{sweep_id}/pareto", idempotent=True,
                          params={"x": x, "y": y, "x_goal": x_goal, "y_goal": y_goal})

    # -- runs --------------------------------------------------------------------------

    def list_runs(self, *, sweep_id: int | None = None, status: str | None = None,
                  kind: str | None = None, variant: str | None = None, sort: str = "id",
                  limit: int = 100, cursor: str | None = None) -> Page[Run]:
        """One page of runs; ``sort`` is a column or ``summary.<path>``, ``-`` descending."""
        params = _params(sweep_id=sweep_id, status=status, kind=kind, variant=variant,
                         sort=sort, limit=limit, cursor=cursor)
        body = self._json("GET", "/runs", idempotent=True, params=params)
        return Page([Run.model_validate(r) for r in body["items"]], body["next_cursor"])

    def iter_runs(self, *, page_size: int = 100, **filters: Any) -> Iterator[Run]:
        """Every run matching ``filters`` (as ``list_runs``), fetched page by page."""
        return _paginate(lambda cursor: self.list_runs(limit=page_size, cursor=cursor,
                                                       **filters))

    def get_run(self, run_id: int) -> Run:
        return self._call(Run, "GET", f"/runs/{run_id}", idempotent=True)

    def claim_run(self, run_id: int, worker_id: str) -> Run:
        """Take a queued run (queued → running, with a lease); a second claim is a 409."""
        return self._call(Run, "POST", f"/runs/{run_id}/claim", idempotent=False,
                          json={"worker_id": worker_id})

    def heartbeat_run(self, run_id: int, worker_id: str) -> Heartbeat:
        """Renew the lease (idempotent, so retried); stop when the reply says ``cancel``."""
        return self._call(Heartbeat, "POST", f"/runs/{run_id}/heartbeat", idempotent=True,
                          json={"worker_id": worker_id})

    def complete_run(self, run_id: int, worker_id: str, summary: Mapping[str, Any]) -> Run:
        """Post the run summary: running → succeeded."""
        return self._call(Run, "POST", f"/runs/{run_id}/complete", idempotent=False,
                          json={"worker_id": worker_id, "summary": dict(summary)})

    def fail_run(self, run_id: int, worker_id: str, error_type: str, message: str, *,
                 traceback: str | None = None, retryable: bool = False,
                 summary: Mapping[str, Any] | None = None) -> Run:
        """Report an error: failed, or queued again when ``retryable`` and attempts remain.
        ``summary``: the figures of a run that finished but failed the result guard."""
        error = _params(type=error_type, message=message, traceback=traceback)
        body: dict[str, Any] = {"worker_id": worker_id, "error": error, "retryable": retryable}
        if summary is not None:
            body["summary"] = dict(summary)
        return self._call(Run, "POST", f"/runs/{run_id}/fail", idempotent=False, json=body)

    def cancel_run(self, run_id: int) -> Run:
        return self._call(Run, "POST", f"/runs/{run_id}/cancel", idempotent=False)

    # -- metrics -----------------------------------------------------------------------

    def post_metrics(self, run_id: int, points: Sequence[MetricPoint], *,
                     retries: int | None = None) -> MetricBatchResult:
        """Store points in requests of at most 10,000; idempotent on (run, key, step), so
        retried. ``retries`` overrides the client's policy (the buffer passes 0)."""
        received = inserted = 0
        for start in range(0, len(points), MAX_BATCH):
            chunk = [p.to_json() for p in points[start:start + MAX_BATCH]]
            result = self._call(MetricBatchResult, "POST", f"/runs/{run_id}/metrics",
                                idempotent=True, retries=retries, json={"points": chunk})
            received, inserted = received + result.received, inserted + result.inserted
        return MetricBatchResult(received=received, inserted=inserted)

    def metric_keys(self, run_id: int) -> list[str]:
        body = self._json("GET", f"/runs/{run_id}/metrics", idempotent=True)
        return [str(k) for k in body["keys"]]

    def get_series(self, run_id: int, key: str, *, buckets: int = 1000,
                   step_min: int | None = None, step_max: int | None = None) -> Series:
        """One curve, downsampled to at most ``buckets`` min/max/last buckets; with
        ``step_min``/``step_max``, only that window, at the resolution its span allows."""
        return self._call(Series, "GET", f"/runs/{run_id}/series", idempotent=True,
                          params=_params(key=key, buckets=buckets, step_min=step_min,
                                         step_max=step_max))

    # -- artifacts ---------------------------------------------------------------------

    def upload_artifact(self, run_id: int, path: str | os.PathLike[str],
                        name: str | None = None) -> Artifact:
        """Stream a file to the API (PUT: retried, each attempt re-reads the file)."""
        source = Path(path)
        size = source.stat().st_size
        return self._call(Artifact, "PUT", f"/runs/{run_id}/artifacts/{name or source.name}",
                          idempotent=True, content=lambda: _read_chunks(source),
                          headers={"Content-Type": "application/octet-stream",
                                   "Content-Length": str(size)})

    def list_artifacts(self, run_id: int) -> list[Artifact]:
        body = self._json("GET", f"/runs/{run_id}/artifacts", idempotent=True)
        return [Artifact.model_validate(a) for a in body["items"]]

    def download_artifact(self, run_id: int, name: str,
                          dest: str | os.PathLike[str]) -> Path:
        """Stream an artifact to ``dest`` (replaced only once complete and sha256-checked)."""
        target = Path(dest)
        self.transport.download(f"/api/v1/runs/{run_id}/artifacts/{name}", target)
        return target

    # -- uploads (pretrained weights) ----------------------------------------------------

    def upload_file(self, path: str | os.PathLike[str], name: str | None = None) -> Upload:
        """Upload a file (e.g. pretrained weights); a spec names it as ``upload.ref``.

        Uploads are stored by the sha256 of their bytes, so uploading a file again is cheap
        on the server and returns the same ref.
        """
        source = Path(path)
        size = source.stat().st_size
        return self._call(Upload, "POST", "/uploads", idempotent=True,
                          params={"name": name or source.name},
                          content=lambda: _read_chunks(source),
                          headers={"Content-Type": "application/octet-stream",
                                   "Content-Length": str(size)})

    def list_uploads(self, limit: int = 100) -> list[Upload]:
        body = self._json("GET", "/uploads", idempotent=True, params={"limit": limit})
        return [Upload.model_validate(u) for u in body["items"]]

    def download_upload(self, ref: str, dest: str | os.PathLike[str]) -> Path:
        """Stream the upload ``ref`` (``upload:<sha256>`` or the sha256) to ``dest``,
        checked against its sha256."""
        sha256 = ref.removeprefix("upload:")
        target = Path(dest)
        self.transport.download(f"/api/v1/uploads/{sha256}", target)
        return target

    # -- workers and tokens ------------------------------------------------------------

    def register_worker(self, worker_id: str, hostname: str, queues: Sequence[str], *,
                        tasks: Sequence[str] = (), hardware: Mapping[str, Any] | None = None,
                        version: str | None = None,
                        torch_version: str | None = None) -> Worker:
        """Register (or refresh) a worker; an upsert, so retried.

        Args:
            version: the worker's squeezelab version; the dashboard flags one that differs
                from the API's.
        """
        body = {"id": worker_id, "hostname": hostname, "queues": list(queues),
                "tasks": list(tasks), "hardware": dict(hardware or {}),
                "version": version, "torch_version": torch_version}
        return self._call(Worker, "POST", "/workers", idempotent=True, json=body)

    def heartbeat_worker(self, worker_id: str, current_run_id: int | None = None) -> Worker:
        return self._call(Worker, "POST", f"/workers/{worker_id}/heartbeat", idempotent=True,
                          json={"current_run_id": current_run_id})

    def list_workers(self) -> list[Worker]:
        body = self._json("GET", "/workers", idempotent=True)
        return [Worker.model_validate(w) for w in body["items"]]

    def create_token(self, name: str, scopes: Sequence[str]) -> TokenCreated:
        """A new token (admin); its secret is in ``.token``, shown only once."""
        return self._call(TokenCreated, "POST", "/tokens", idempotent=False,
                          json={"name": name, "scopes": list(scopes)})

    def list_tokens(self) -> list[Token]:
        body = self._json("GET", "/tokens", idempotent=True)
        return [Token.model_validate(t) for t in body["items"]]

    def revoke_token(self, token_id: int) -> None:
        self.transport.request("DELETE", f"/api/v1/tokens/{token_id}", idempotent=True)


    # -- CI: triggers, deliveries, commit statuses ---------------------------------------

    def create_trigger(self, name: str, provider: str, repository: str,
                       template: Mapping[str, Any], *, events: Sequence[str] = ("push",),
                       branches: Sequence[str] = (), secret: str | None = None,
                       enabled: bool = True,
                       statuses: Mapping[str, Any] | None = None) -> TriggerCreated:
        """A new trigger (admin). Without ``secret`` one is generated and returned once, in
        ``.secret``. ``statuses``: {"api"?, "api_base"?, "token"} to post commit statuses."""
        body = _params(name=name, provider=provider, repository=repository,
                       template=dict(template), events=list(events), branches=list(branches),
                       secret=secret, enabled=enabled,
                       statuses=dict(statuses) if statuses is not None else None)
        return self._call(TriggerCreated, "POST", "/triggers", idempotent=False, json=body)

    def list_triggers(self) -> list[Trigger]:
        body = self._json("GET", "/triggers", idempotent=True)
        return [Trigger.model_validate(t) for t in body["items"]]

    def get_trigger(self, trigger_id: int) -> Trigger:
        return self._call(Trigger, "GET", f"/triggers/{trigger_id}", idempotent=True)

    def update_trigger(self, trigger_id: int, **changes: Any) -> Trigger:
        """Change the given fields (name, repository, events, branches, template, secret,
        enabled, statuses; ``statuses=None`` turns reporting off)."""
        return self._call(Trigger, "PATCH", f"/triggers/{trigger_id}", idempotent=True,
                          json=changes)

    def delete_trigger(self, trigger_id: int) -> None:
        self.transport.request("DELETE", f"/api/v1/triggers/{trigger_id}", idempotent=True)

    def list_deliveries(self, *, provider: str | None = None,
                        limit: int = 100) -> list[Delivery]:
        """Authenticated webhook deliveries, newest first."""
        body = self._json("GET", "/webhooks/deliveries", idempotent=True,
                          params=_params(provider=provider, limit=limit))
        return [Delivery.model_validate(d) for d in body["items"]]

    def list_commit_statuses(self, *, sweep_id: int | None = None,
                             limit: int = 100) -> list[CommitStatus]:
        """Commit statuses of CI sweeps and how sending them went, newest first."""
        body = self._json("GET", "/webhooks/statuses", idempotent=True,
                          params=_params(sweep_id=sweep_id, limit=limit))
        return [CommitStatus.model_validate(s) for s in body["items"]]


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _paginate(fetch: Callable[[str | None], Page[M]]) -> Iterator[M]:
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _spec_body(spec: Spec) -> dict[str, Any]:
    """Request kwargs for a spec: JSON for mappings and .json files, YAML otherwise."""
    if isinstance(spec, Mapping):
        return {"content": json.dumps(dict(spec)),
                "headers": {"Content-Type": "application/json"}}
    if isinstance(spec, Path):
        media = "application/json" if spec.suffix == ".json" else "application/yaml"
        return {"content": spec.read_bytes(), "headers": {"Content-Type": media}}
    return {"content": spec.encode(), "headers": {"Content-Type": "application/yaml"}}
