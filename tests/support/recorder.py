"""A real HTTP server on 127.0.0.1 that records every request, to stand in for the GitHub
and GitLab status APIs in tests (imported by name: pyproject puts tests/support on sys.path).

It answers each request with the next status of ``replies`` (then 201 for ever), so a test
can make the provider fail a few times and watch the API retry.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from polling import wait_for


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lowercase names
    body: Any  # decoded JSON (None when the body is not JSON)
    at: float  # time.monotonic() when it arrived


class StatusRecorder:
    """Usage: ``with StatusRecorder([503, 503]) as provider: ... provider.url``."""

    def __init__(self, replies: list[int] | None = None) -> None:
        self.replies = list(replies or [])
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                status = recorder._record(Recorded(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                    time.monotonic()))
                reply = json.dumps({"id": len(recorder.requests)}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, request: Recorded) -> int:
        with self._lock:
            self.requests.append(request)
            return self.replies.pop(0) if self.replies else 201

    def seen(self) -> list[Recorded]:
        with self._lock:
            return list(self.requests)

    def wait_for(self, count: int, timeout: float) -> list[Recorded]:
        """Poll until ``count`` requests arrived; fail after ``timeout`` seconds."""
        def arrived() -> list[Recorded] | None:
            seen = self.seen()
            return seen if len(seen) >= count else None

        try:
            return wait_for(arrived, timeout=timeout, what=f"{count} status requests")
        except TimeoutError:
            raise TimeoutError(f"{len(self.seen())} of {count} status requests arrived "
                               f"within {timeout} s: {self.seen()}") from None

    def __enter__(self) -> StatusRecorder:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)
