"""Webhook authentication: GitHub's body HMAC, GitLab's shared token, and the generic
webhook's timestamped HMAC. Every comparison is constant-time over the raw request body.

Generic webhook (documented in docs/ci.md): ``X-Squeezelab-Timestamp`` is the sender's unix
time in seconds and ``X-Squeezelab-Signature`` is ``sha256=`` + the hex HMAC-SHA256 of
``<timestamp>.<raw body>`` with the trigger's secret. A signature older or newer than the
tolerance is refused, so a captured request cannot be replayed later; within the tolerance a
replay carries the same (signed) delivery id and is deduplicated.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re

PREFIX = "sha256="
# ASCII digits only: str.isdigit() is also true of "²", which int() refuses.
_SECONDS = re.compile(r"[0-9]{1,12}")


def _hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def github_signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` as GitHub computes it."""
    return PREFIX + _hex(secret, body)


def verify_github(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret``."""
    if not header:
        return False
    return hmac.compare_digest(github_signature(secret, body).encode(),
                               header.strip().encode("utf-8", "replace"))


def verify_token(secret: str, header: str | None) -> bool:
    """GitLab's ``X-Gitlab-Token``: the secret itself, compared in constant time."""
    if not header:
        return False
    return hmac.compare_digest(secret.encode(), header.encode("utf-8", "replace"))


def generic_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Squeezelab-Signature`` for a body sent at ``timestamp`` (unix seconds, text)."""
    return PREFIX + _hex(secret, timestamp.encode() + b"." + body)


def fresh(timestamp: str | None, now: float, tolerance_s: float) -> bool:
    """Whether ``timestamp`` (integer unix seconds) is within ``tolerance_s`` of ``now``."""
    if not timestamp or not _SECONDS.fullmatch(timestamp):
        return False
    sent = int(timestamp)
    return math.isfinite(now) and abs(now - sent) <= tolerance_s


def verify_generic(secret: str, body: bytes, timestamp: str | None, header: str | None,
                   now: float, tolerance_s: float) -> bool:
    """A fresh timestamp and a matching signature over ``timestamp.body``."""
    if not header or not fresh(timestamp, now, tolerance_s) or timestamp is None:
        return False
    return hmac.compare_digest(generic_signature(secret, timestamp, body).encode(),
                               header.strip().encode("utf-8", "replace"))
