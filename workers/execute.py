"""One delivery of ``squeezelab.run(run_id)``: claim, fetch, run, stream, checkpoint, report.

The API's database is the source of truth; this module only talks to it over HTTP:

1. Claim the run. A 409 means another delivery got it (or it ended): drop the message.
2. Download the baseline's weights (compress runs) and, on a later attempt, the newest
   checkpoint, which the runner resumes from.
3. Run the compression runner. Metrics go through a ``MetricBuffer`` (background sends,
   spilling to disk during outages); the lease is renewed by a ``LeaseKeeper``, whose reply
   carries cancellation. Every epoch, metrics are flushed and then the checkpoint is
   uploaded, so a checkpoint never runs ahead of the stored curves.
4. Upload the artifacts, flush the last metrics, upload the log, post the summary. The API
   takes files and metrics only while the run runs (and only from the token that claimed
   it), so everything is sent before the run is reported as ended.

A ``CompressionError`` (unknown task, impossible target, weights that do not fit) is the
user's: the run fails with its message and is not retried. Other errors are retried only
when another attempt could succeed (``failures.is_retryable``: the API or the network was
away, memory or disk ran out); a deterministic one (a shape error in the model, a bug)
fails the run once, with its traceback.
"""

from __future__ import annotations

import logging
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from client import ApiConnectionError, ApiError, Client, ConflictError, MetricBuffer, NotFoundError
from client.models import Run
from compression.checkpoint import CHECKPOINT_FILE, TrainState, load_checkpoint, save_checkpoint
from compression.errors import CompressionError, InvalidResultError
from compression.runner import WEIGHTS_FILE, Resumable, RunCancelledError, execute_run
from compression.spec import load_run_config
from workers.failures import is_retryable
from workers.lease import LeaseKeeper
from workers.retry import deliver
from workers.settings import WorkerSettings

log = logging.getLogger("squeezelab.worker")
RUN_LOG = "run.log"
Outcome = Literal["succeeded", "failed", "requeued", "cancelled", "dropped"]


@dataclass
class Attempt:
    """What one attempt works with: the claimed run, its directory and identity."""

    run: Run
    worker_id: str
    workdir: Path


class RunExecutor:
    """Executes claimed runs for one worker process."""

    def __init__(self, client: Client, settings: WorkerSettings, worker_id: str) -> None:
        self.client, self.settings, self.worker_id = client, settings, worker_id

    def execute(self, run_id: int) -> Outcome:
        """Claim and run ``run_id``; returns what became of it. Raises a transport error
        only when the claim itself could not reach the API (the task then retries)."""
        try:
            run = self.client.claim_run(run_id, self.worker_id)
        except (ConflictError, NotFoundError) as exc:
            log.info("run %s not claimed (%s); dropping this delivery", run_id, exc.detail)
            return "dropped"
        workdir = self.settings.worker_dir / "runs" / f"run-{run.id}-attempt-{run.attempt}"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        attempt = Attempt(run, self.worker_id, workdir)
        self._note_current(run.id)
        handler = _attempt_log(workdir / RUN_LOG)
        log.info("run %s (%s) attempt %s claimed by %s (torch threads: %d)", run.id, run.name,
                 run.attempt, self.worker_id, torch.get_num_threads())
        try:
            return self._run(attempt)
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()
            self._note_current(None)
            shutil.rmtree(workdir, ignore_errors=True)

    def _run(self, attempt: Attempt) -> Outcome:
        run = attempt.run
        try:
            config = load_run_config(run.config)
            baseline = self._baseline_weights(attempt)
            resume = self._newest_checkpoint(attempt)
        except Exception as exc:
            return self._fail(attempt, exc, retryable=is_retryable(exc))
        buffer = MetricBuffer(self.client, run.id, self.settings.worker_dir / "spill")
        with LeaseKeeper(self.client, run.id, attempt.worker_id,
                         self.settings.lease_renew_s) as lease:
            try:
                result = execute_run(
                    config, workdir=attempt.workdir, emit=buffer.log, baseline_weights=baseline,
                    should_stop=lease.stop_requested,
                    resolve_weights=lambda ref: self._pretrained(attempt, ref),
                    checkpoints=Resumable(resume=resume,
                                          save=lambda s: self._checkpoint(attempt, buffer, s)))
                for path in result.artifacts:
                    self._upload(run.id, path)
                self._drain(buffer)
            except RunCancelledError:
                if not buffer.close(timeout=10) and isinstance(buffer.error, ConflictError):
                    # The API takes no more points of an ended run: drop what is left.
                    shutil.rmtree(buffer.spill.root, ignore_errors=True)
                log.info("run %s stopped: %s", run.id, lease.reason)
                return "cancelled"
            except Exception as exc:
                buffer.close(timeout=10)
                return self._fail(attempt, exc, retryable=is_retryable(exc))
            if result.summary.failure is not None:
                # Finished, but not a result (the result guard): failed with the reason; the
                # figures, curves and files stay for inspection.
                return self._fail(attempt, InvalidResultError(result.summary.failure),
                                  retryable=False, summary=result.summary.to_json())
            log.info("run %s: posting the summary", run.id)
            self._upload_log(attempt)
            try:
                deliver(lambda: self.client.complete_run(run.id, attempt.worker_id,
                                                         result.summary.to_json()),
                        deadline_s=self.settings.delivery_deadline_s, what="posting the summary")
            except (ValueError, ApiError) as exc:
                # The API refused the summary (422), or it is not even JSON (a NaN): the run
                # cannot succeed as reported, and another attempt would report the same.
                if isinstance(exc, ApiError) and exc.status != 422:
                    raise
                return self._fail(attempt, exc, retryable=False)
        log.info("run %s succeeded", run.id)
        return "succeeded"

    def _upload(self, run_id: int, path: Path) -> None:
        deliver(lambda: self.client.upload_artifact(run_id, path),
                deadline_s=self.settings.delivery_deadline_s, what=f"upload of {path.name}")

    def _upload_log(self, attempt: Attempt) -> None:
        """Upload the attempt's log as it is so far: at each checkpoint, and last just
        before the run is reported ended (the API takes no file of an ended run)."""
        path = attempt.workdir / RUN_LOG
        try:
            if path.exists():
                self.client.upload_artifact(attempt.run.id, path)
        except Exception as exc:  # the log is a convenience; the run's state is elsewhere
            log.debug("run.log not uploaded: %s", exc)

    def _baseline_weights(self, attempt: Attempt) -> Path | None:
        base = attempt.run.depends_on_id
        if base is None:
            return None
        return self.client.download_artifact(base, WEIGHTS_FILE,
                                             attempt.workdir / "baseline.safetensors")

    def _pretrained(self, attempt: Attempt, ref: str) -> Path:
        """A pretrained baseline's weights: an upload, downloaded (sha256-checked), or a path
        on this worker."""
        if not ref.startswith("upload:"):
            return Path(ref).expanduser()
        try:
            return self.client.download_upload(ref, attempt.workdir / "pretrained.weights")
        except NotFoundError:
            raise CompressionError(f"{ref} is not stored on the API (deleted?)") from None

    def _newest_checkpoint(self, attempt: Attempt) -> TrainState | None:
        if attempt.run.attempt <= 1:
            return None
        try:
            path = self.client.download_artifact(attempt.run.id, CHECKPOINT_FILE,
                                                 attempt.workdir / "resume.pt")
        except NotFoundError:
            return None  # the earlier attempt died before its first epoch ended
        state = load_checkpoint(path)
        log.info("run %s resumes from epoch %s (step %s)", attempt.run.id, state.epoch,
                 state.step)
        return state

    def _checkpoint(self, attempt: Attempt, buffer: MetricBuffer, state: TrainState) -> None:
        """Store the curves up to here, then the checkpoint: a resumed attempt replays only
        what comes after it. An outage skips this checkpoint (the previous one stays)."""
        try:
            if not buffer.flush(timeout=self.settings.lease_renew_s * 4):
                log.warning("run %s: metrics not flushed; checkpoint of epoch %s skipped",
                            attempt.run.id, state.epoch)
                return
            path = save_checkpoint(state, attempt.workdir / CHECKPOINT_FILE)
            self.client.upload_artifact(attempt.run.id, path)
            log.info("epoch %s done (step %s); checkpoint stored", state.epoch, state.step)
            self._upload_log(attempt)
        except Exception as exc:  # a skipped checkpoint only costs work on a resume
            log.warning("run %s: checkpoint of epoch %s not stored: %s", attempt.run.id,
                        state.epoch, exc)

    def _drain(self, buffer: MetricBuffer) -> None:
        """Send every buffered point before the summary, waiting out an API outage."""
        deliver(lambda: _flushed(buffer), deadline_s=self.settings.delivery_deadline_s,
                what="flushing metrics")
        buffer.close(timeout=10)

    def _fail(self, attempt: Attempt, exc: BaseException, *, retryable: bool,
              summary: dict[str, Any] | None = None) -> Outcome:
        run = attempt.run
        kind = type(exc).__name__
        message = str(exc) or kind
        users = isinstance(exc, CompressionError)  # its message says everything
        if users:
            log.info("run %s failed: %s: %s", run.id, kind, message)
        else:
            log.exception("run %s attempt %s failed (%s)", run.id, run.attempt,
                          "retryable" if retryable else "deterministic: not retried",
                          exc_info=exc)
        trace = None if users else "".join(traceback.format_exception(exc))[-8000:]
        self._upload_log(attempt)  # while the run is still this worker's to write to
        try:
            after = deliver(lambda: self.client.fail_run(run.id, attempt.worker_id, kind,
                                                         message[:2000], traceback=trace,
                                                         retryable=retryable,
                                                         summary=summary),
                            deadline_s=self.settings.delivery_deadline_s, what="reporting")
        except ApiError as api_exc:  # e.g. the run was cancelled meanwhile
            log.warning("run %s: failure not recorded: %s", run.id, api_exc)
            return "failed"
        return "requeued" if after.status == "queued" else "failed"

    def _note_current(self, run_id: int | None) -> None:
        try:
            self.client.heartbeat_worker(self.worker_id, current_run_id=run_id)
        except Exception as exc:  # the registry is informative; never fail a run over it
            log.debug("worker heartbeat failed: %s", exc)


def _attempt_log(path: Path) -> logging.Handler:
    """Copy this process's squeezelab and compression log lines to the attempt's run.log."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(lambda r: r.name.startswith(("squeezelab", "compression")))
    logging.getLogger().addHandler(handler)
    return handler


def _flushed(buffer: MetricBuffer) -> bool:
    if not buffer.flush(timeout=30):
        raise ApiConnectionError("metrics are still waiting for the API")
    return True
