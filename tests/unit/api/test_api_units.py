"""Pure pieces of the API: Pareto front, cursors, scopes, sweep outcome, settings."""

from __future__ import annotations

import random

import pytest

from api.errors import ForbiddenError, InvalidInputError
from api.services.pagination import decode_cursor, encode_cursor
from api.services.pareto import front_mask
from api.services.sweeps_state import sweep_outcome
from api.services.tokens import ANONYMOUS_ADMIN, Principal, granted, hash_token, new_token_text
from api.settings import Settings

pytestmark = pytest.mark.unit


def _dominated(p: tuple[float, float], points: list[tuple[float, float]]) -> bool:
    return any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in points)


def test_front_matches_brute_force() -> None:
    rng = random.Random(0)
    for _ in range(50):
        points = list({(rng.randint(0, 20) / 4, rng.randint(0, 20) / 4)
                       for _ in range(rng.randint(1, 30))})
        mask = front_mask(points)
        assert mask == [not _dominated(p, points) for p in points]


def test_front_simple_case() -> None:
    assert front_mask([(0.5, 0.97), (0.9, 0.95), (0.7, 0.94), (0.95, 0.80)]) == [
        True, True, False, True]


def test_cursor_round_trip_and_rejects_garbage() -> None:
    assert decode_cursor(encode_cursor({"after": 41}), "after") == {"after": 41}
    assert decode_cursor(None, "after") is None
    for bad in ("garbage!", encode_cursor({"after": "x"}), encode_cursor({"other": 1}), "W10"):
        with pytest.raises(InvalidInputError):
            decode_cursor(bad, "after")


def test_scopes_imply() -> None:
    assert granted(["admin"]) == frozenset({"metrics", "read", "write", "worker", "admin"})
    assert granted(["worker"]) == frozenset({"worker", "read", "metrics"})
    assert granted(["metrics"]) == frozenset({"metrics"})
    Principal(1, granted(["write"])).require("read")
    with pytest.raises(ForbiddenError, match="scope"):
        Principal(1, granted(["read"])).require("write")
    ANONYMOUS_ADMIN.require("admin")


def test_tokens_are_random_and_hashed() -> None:
    a, b = new_token_text(), new_token_text()
    assert a != b and a.startswith("sqz_") and len(a) > 40
    assert hash_token(a) != a and len(hash_token(a)) == 64


@pytest.mark.parametrize(("counts", "outcome"), [
    ({"queued": 1, "succeeded": 3}, None), ({"running": 1}, None),
    ({"succeeded": 4}, "succeeded"), ({"succeeded": 3, "failed": 1}, "failed"),
    ({"succeeded": 3, "cancelled": 1}, "cancelled"), ({"failed": 1, "cancelled": 1}, "failed")])
def test_sweep_outcome(counts: dict[str, int], outcome: str | None) -> None:
    assert sweep_outcome(counts) == outcome


def test_settings_come_from_prefixed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQUEEZELAB_AUTH", "off")
    monkeypatch.setenv("SQUEEZELAB_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("SQUEEZELAB_ADMIN_TOKEN", "secret-value")
    settings = Settings()
    assert settings.auth == "off" and settings.database_url == "sqlite:///x.db"
    assert settings.admin_token is not None and "secret-value" not in repr(settings)
