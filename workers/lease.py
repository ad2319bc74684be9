"""Keeps a running run's lease alive from a background thread and learns of cancellation."""

from __future__ import annotations

import logging
import threading

from client import ApiError, Client, ConflictError, NotFoundError

log = logging.getLogger("squeezelab.worker")


class LeaseKeeper:
    """Renews the lease of ``run_id`` every ``interval_s`` until stopped.

    ``stop_requested`` becomes true when the API says the run was cancelled, or when the lease
    was lost to another worker (a 409): either way this attempt must stop. Transport errors
    are only logged: the lease outlives several renewals, and the API may be back soon.
    """

    def __init__(self, client: Client, run_id: int, worker_id: str, interval_s: float) -> None:
        self._client, self._run_id, self._worker_id = client, run_id, worker_id
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._halt = threading.Event()
        self.reason: str | None = None
        self._thread = threading.Thread(target=self._loop, name=f"lease-{run_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._halt.set()
        self._thread.join()

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def _loop(self) -> None:
        while not self._halt.wait(self._interval_s):
            try:
                reply = self._client.heartbeat_run(self._run_id, self._worker_id)
            except (ConflictError, NotFoundError) as exc:
                self._request_stop(f"lease lost: {exc.detail or exc.title}")
                return
            except ApiError as exc:
                log.warning("lease renewal of run %s failed: %s", self._run_id, exc)
                continue
            except Exception as exc:  # connection errors: keep trying while the lease lasts
                log.warning("lease renewal of run %s failed: %s", self._run_id, exc)
                continue
            if reply.cancel:
                self._request_stop("cancelled")
                return

    def _request_stop(self, reason: str) -> None:
        self.reason = reason
        self._stop.set()
