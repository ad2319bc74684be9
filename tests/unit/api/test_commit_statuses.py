"""Commit-status requests for GitHub and GitLab, and the verdict of an ended sweep."""

from __future__ import annotations

from typing import Any

import pytest

from api.services.statuses import final_status, status_request, sweep_url

pytestmark = pytest.mark.unit
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def test_github_request() -> None:
    url, headers, body = status_request("github", "https://api.github.com", "ghp_x",
                                        "Codertocat/Hello-World", SHA, "failure", "failed: x",
                                        "http://sq.example/sweeps/4")
    assert url == f"https://api.github.com/repos/Codertocat/Hello-World/statuses/{SHA}"
    assert headers["Authorization"] == "Bearer ghp_x"
    assert body == {"state": "failure", "description": "failed: x",
                    "target_url": "http://sq.example/sweeps/4", "context": "squeezelab"}


@pytest.mark.parametrize("state, gitlab_state", [("pending", "pending"), ("success", "success"),
                                                 ("failure", "failed"), ("error", "canceled")])
def test_gitlab_request(state: str, gitlab_state: str) -> None:
    url, headers, body = status_request("gitlab", "https://gitlab.example/api/v4", "glpat-x",
                                        "group/sub/project", SHA, state, "d", "http://t/1")
    assert url == f"https://gitlab.example/api/v4/projects/group%2Fsub%2Fproject/statuses/{SHA}"
    assert headers == {"PRIVATE-TOKEN": "glpat-x"}
    assert body == {"state": gitlab_state, "description": "d", "target_url": "http://t/1",
                    "name": "squeezelab"}


def test_sweep_url_is_the_dashboard_route() -> None:
    assert sweep_url("https://sq.example.com/", 12) == "https://sq.example.com/sweeps/12"


def _gates(passed: bool | None, description: str) -> dict[str, Any]:
    return {"passed": passed, "description": description}


@pytest.mark.parametrize("status, gates, failed, expected", [
    ("succeeded", _gates(True, "passed: best agp −0.3 pt, 2.1× faster"), 0,
     ("success", "passed: best agp −0.3 pt, 2.1× faster")),
    ("succeeded", _gates(False, "failed (min_speedup): closest agp −0.3 pt, 1.0× faster"), 0,
     ("failure", "failed (min_speedup): closest agp −0.3 pt, 1.0× faster")),
    ("succeeded", _gates(None, "no gates: best agp −0.3 pt, 1.1× faster"), 0,
     ("success", "no gates: best agp −0.3 pt, 1.1× faster")),
    ("failed", _gates(True, "passed: best agp −0.3 pt"), 2,
     ("failure", "2 runs failed; passed: best agp −0.3 pt")),
    ("failed", None, 1, ("failure", "1 run failed")),
    ("cancelled", _gates(False, "failed: no compressed run succeeded"), 0,
     ("error", "sweep cancelled")),
])
def test_final_status(status: str, gates: dict[str, Any] | None, failed: int,
                      expected: tuple[str, str]) -> None:
    assert final_status(status, gates, failed) == expected


def test_final_description_fits_a_github_status() -> None:
    state, description = final_status("failed", _gates(True, "x" * 140), 3)
    assert state == "failure" and len(description) == 140
    assert description.startswith("3 runs failed; xxx")
