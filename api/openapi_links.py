"""OpenAPI links: which response values name the resources that other operations take.

They tell a client (and a stateful fuzzer) how calls chain: the sweep a submission created
is the ``sweep_id`` of ``GET /api/v1/sweeps/{sweep_id}``, a claimed run's lease owner is the
``worker_id`` its heartbeat sends. (A page's ``next_cursor`` is no link: it holds only
for a request with the same sort, which a link cannot pin.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

V1 = "/api/v1"


@dataclass(frozen=True)
class Link:
    """From the ``status`` response of ``source`` ("METHOD path") to ``target``."""

    source: str
    status: str
    name: str
    target: str
    parameters: dict[str, str]
    request_body: dict[str, str] | None = None


def _links() -> list[Link]:
    sweep = {"sweep_id": "$response.body#/id"}
    run = {"run_id": "$response.body#/id"}
    lease = {"worker_id": "$response.body#/lease_owner"}
    created = f"POST {V1}/sweeps"
    claimed = f"POST {V1}/runs/{{run_id}}/claim"
    links = [Link(created, "201", name, f"{method} {V1}/sweeps/{{sweep_id}}{tail}", sweep)
             for name, method, tail in (
                 ("GetSweep", "GET", ""), ("CancelSweep", "POST", "/cancel"),
                 ("RetryFailed", "POST", "/retry-failed"), ("DeleteSweep", "DELETE", ""),
                 ("Pareto", "GET", "/pareto"))]
    links += [
        Link(created, "201", "ListRuns", f"GET {V1}/runs",
             {"query.sweep_id": "$response.body#/id"}),
        Link(created, "201", "GetRun", f"GET {V1}/runs/{{run_id}}",
             {"run_id": "$response.body#/run_ids/0"}),
        Link(created, "201", "ClaimBaseline", claimed,
             {"run_id": "$response.body#/baseline_run_ids/0"}),
        Link(created, "201", "CancelRun", f"POST {V1}/runs/{{run_id}}/cancel",
             {"run_id": "$response.body#/run_ids/0"}),
        Link(claimed, "200", "Heartbeat", f"POST {V1}/runs/{{run_id}}/heartbeat", run, lease),
        Link(claimed, "200", "Complete", f"POST {V1}/runs/{{run_id}}/complete", run, lease),
        Link(claimed, "200", "Fail", f"POST {V1}/runs/{{run_id}}/fail", run, lease),
        Link(claimed, "200", "PostMetrics", f"POST {V1}/runs/{{run_id}}/metrics", run),
        Link(claimed, "200", "UploadArtifact", f"PUT {V1}/runs/{{run_id}}/artifacts/{{name}}",
             run),
        Link(f"PUT {V1}/runs/{{run_id}}/artifacts/{{name}}", "201", "DownloadArtifact",
             f"GET {V1}/runs/{{run_id}}/artifacts/{{name}}",
             {"run_id": "$response.body#/run_id", "name": "$response.body#/name"}),
        Link(f"POST {V1}/workers", "200", "WorkerHeartbeat",
             f"POST {V1}/workers/{{worker_id}}/heartbeat", {"worker_id": "$response.body#/id"}),
        Link(f"POST {V1}/uploads", "201", "Download", f"GET {V1}/uploads/{{sha256}}",
             {"sha256": "$response.body#/sha256"}),
        Link(f"POST {V1}/tokens", "201", "Revoke", f"DELETE {V1}/tokens/{{token_id}}",
             {"token_id": "$response.body#/id"}),
    ]
    trigger = {"trigger_id": "$response.body#/id"}
    links += [Link(f"POST {V1}/triggers", "201", name, f"{method} {V1}/triggers/{{trigger_id}}",
                   trigger)
              for name, method in (("GetTrigger", "GET"), ("UpdateTrigger", "PATCH"),
                                   ("DeleteTrigger", "DELETE"))]
    return links


def _operation(schema: dict[str, Any], label: str) -> dict[str, Any]:
    method, path = label.split(" ", 1)
    operation: dict[str, Any] = schema["paths"][path][method.lower()]
    return operation


def add_links(schema: dict[str, Any]) -> None:
    """Put each link on its source response, naming the target by its operationId."""
    for link in _links():
        response = _operation(schema, link.source)["responses"][link.status]
        definition: dict[str, Any] = {
            "operationId": _operation(schema, link.target)["operationId"],
            "parameters": link.parameters}
        if link.request_body is not None:
            definition["requestBody"] = link.request_body
        response.setdefault("links", {})[link.name] = definition
