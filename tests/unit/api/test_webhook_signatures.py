"""Webhook authentication: GitHub's documented test vector, constant-time checks that fail
on any change, and the generic webhook's timestamp tolerance."""

from __future__ import annotations

import pytest

from api.services.signatures import (
    generic_signature,
    github_signature,
    verify_generic,
    verify_github,
    verify_token,
)

pytestmark = pytest.mark.unit
SECRET = "It's a Secret to Everybody"


def test_github_signature_matches_the_documented_test_vector() -> None:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    assert github_signature(SECRET, b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    assert verify_github(SECRET, b"Hello, World!",
                         "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


@pytest.mark.parametrize("secret, body, header", [
    ("It's a Secret to Everybody!", b"Hello, World!", None),  # another secret
    (SECRET, b"Hello, World?", None),  # one byte of the body changed
    (SECRET, b"Hello, World!", ""),  # no header
    (SECRET, b"Hello, World!",  # the hex without its prefix
     "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
    (SECRET, b"Hello, World!",  # the legacy SHA-1 header's format
     "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
    (SECRET, b"Hello, World!", "sha256=ünïcode"),
])
def test_github_signature_refuses_any_change(secret: str, body: bytes,
                                             header: str | None) -> None:
    if header is None:
        header = github_signature(SECRET, b"Hello, World!")
    assert not verify_github(secret, body, header)


def test_gitlab_token_is_compared_whole() -> None:
    assert verify_token("s3cret-token-value", "s3cret-token-value")
    for given in ("s3cret-token-valu", "s3cret-token-value ", "", None, "S3CRET-TOKEN-VALUE"):
        assert not verify_token("s3cret-token-value", given)


def test_generic_signature_covers_timestamp_and_body() -> None:
    body, now = b'{"delivery_id": "d1"}', 1_700_000_000.0
    signature = generic_signature(SECRET, "1700000000", body)
    assert verify_generic(SECRET, body, "1700000000", signature, now, 300)
    # The same signature with another timestamp or body does not verify.
    assert not verify_generic(SECRET, body, "1700000001", signature, now, 300)
    assert not verify_generic(SECRET, body + b" ", "1700000000", signature, now, 300)
    assert not verify_generic("another secret value", body, "1700000000", signature, now, 300)
    assert not verify_generic(SECRET, body, None, signature, now, 300)
    assert not verify_generic(SECRET, body, "1700000000", None, now, 300)


@pytest.mark.parametrize("offset, ok", [(0, True), (300, True), (-300, True), (301, False),
                                        (-301, False), (86_400, False)])
def test_generic_timestamp_tolerance_is_five_minutes_either_way(offset: int, ok: bool) -> None:
    now = 1_700_000_000
    stamp = str(now - offset)
    body = b"{}"
    assert verify_generic(SECRET, body, stamp, generic_signature(SECRET, stamp, body),
                          float(now), 300) is ok


@pytest.mark.parametrize("stamp", ["", "-1", "1.7e9", "1700000000.5", " 1700000000",
                                   "9" * 20])
def test_generic_timestamp_must_be_integer_seconds(stamp: str) -> None:
    body = b"{}"
    assert not verify_generic(SECRET, body, stamp, generic_signature(SECRET, stamp, body),
                              1_700_000_000.0, 300)
