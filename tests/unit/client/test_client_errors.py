"""problem+json responses become typed errors with their field pointers."""

from __future__ import annotations

import httpx
import pytest

from client import ApiError, AuthError, ConflictError, NotFoundError, ValidationError
from client.errors import FieldError, error_from_response

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("status", "cls"), [(401, AuthError), (403, AuthError),
                                             (404, NotFoundError), (409, ConflictError),
                                             (422, ValidationError), (500, ApiError)])
def test_status_maps_to_a_type(status: int, cls: type[ApiError]) -> None:
    err = error_from_response(httpx.Response(status, json={"title": "t", "status": status}))
    assert type(err) is cls and err.status == status and err.title == "t"


def test_problem_fields_and_pointers() -> None:
    body = {"type": "https://squeezelab.dev/problems/invalid-spec", "title": "Invalid sweep spec",
            "status": 422, "detail": "1 invalid field", "instance": "/api/v1/sweeps",
            "request_id": "r1", "errors": [{"pointer": "/seeds/0", "detail": "bad"}]}
    err = error_from_response(httpx.Response(422, json=body))
    assert err.errors == [FieldError("/seeds/0", "bad")]
    assert (err.type, err.instance, err.request_id) == (body["type"], "/api/v1/sweeps", "r1")
    assert "/seeds/0: bad" in str(err)


def test_a_body_that_is_not_json_still_gives_a_typed_error() -> None:
    err = error_from_response(httpx.Response(502, text="<html>bad gateway</html>"))
    assert err.status == 502 and err.title == "Bad Gateway" and "bad gateway" in err.detail
