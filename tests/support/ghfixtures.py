"""Real GitHub webhook payloads (tests/fixtures/github-webhooks, from octokit/webhooks) and
GitHub's way of signing them (imported by name: tests/support is on sys.path)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[1] / "fixtures" / "github-webhooks"
REPO = "Codertocat/Hello-World"  # every fixture's repository, but ping's (an org hook)


def payload(name: str) -> bytes:
    """A fixture's bytes, unchanged, e.g. ``payload("pull_request/opened.payload.json")``."""
    return (FIXTURES / name).read_bytes()


def branch_push(sha: str, ref: str = "refs/heads/main") -> bytes:
    """The push fixture turned into a push of a branch.

    The octokit example is the push GitHub sends when a tag is deleted; for a push of new
    commits GitHub sends the same document with ``deleted`` false and ``after`` the new
    head, which is all that changes here.
    """
    doc: dict[str, Any] = json.loads(payload("push/payload.json"))
    doc.update(ref=ref, after=sha, created=False, deleted=False)
    return json.dumps(doc).encode()


def sign(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` as GitHub documents it, written here independently of the API's
    own code so that the tests check the API against GitHub, not against itself."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(body: bytes, secret: str, event: str,
                   delivery: str | None = None) -> dict[str, str]:
    """The headers GitHub sends with a delivery, signed with ``secret``."""
    return {"Content-Type": "application/json", "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(secret, body),
            "User-Agent": "GitHub-Hookshot/test"}
