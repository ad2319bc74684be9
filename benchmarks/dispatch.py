"""Dispatch on the real stack: submit -> claimed latency, and throughput with 1 vs 2 workers.

Starts a fresh PostgreSQL database, uses one Redis database of its own (emptied before and
after, never the whole server), ``squeezelab api`` and ``squeezelab worker`` processes, and
submits tiny runs (digits-mlp, 1 epoch, 3 timed torch calls at batch 1) through the SDK.

1. Latency: one idle worker; N one-run sweeps, one at a time, each waited for (plus a short
   gap so the worker has finished its bookkeeping). Claimed = the run's ``started_at``, set
   by the API when the worker's claim lands, minus the moment the POST was sent (same host,
   same clock). The POST's answer comes after the commit and the enqueue, so "answered ->
   claimed" is the worker's share: Redis delivery, Celery handing the message to its pool
   process, and the claim request (it can be slightly negative: the message is in Redis
   before the answer has reached the client).
2. Throughput: R tiny runs (sweeps of up to 100 seeds, one baseline run per seed) on 1
   worker and R on 2 workers, in alternating blocks (1, 2, 2, 1, 1, 2, 2, 1 workers; the
   host is shared, so its load drifts): per block, the wall time from the first POST to
   the last ``ended_at``; per worker count, the blocks' runs over their summed wall time.

Usage: .venv/bin/python benchmarks/dispatch.py [--submissions 30] [--runs 100] [--blocks 4]
       [--skip-scaling] [--redis-url redis://127.0.0.1:6379/12]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

from stack import Process, api_process, fresh_postgres, wait_for, wait_ready  # noqa: E402

from client import Client  # noqa: E402
from client.models import Run  # noqa: E402

ADMIN_TOKEN = "sqz_dispatch-bench-admin-token"
FAST = {"latency": {"batch_sizes": [1], "warmup": 1, "repeats": 3, "runtimes": ["torch"]}}
ENDED = ("succeeded", "failed", "cancelled")
MAX_SEEDS = 100  # per sweep (the spec's limit)


def tiny_spec(name: str, seeds: list[int]) -> dict[str, Any]:
    return {"name": name, "task": "digits-mlp", "seeds": seeds, "baseline": {"epochs": 1},
            "measure": FAST, "recipes": []}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Bench:
    """One API process and worker processes on a fresh database and Redis database."""

    def __init__(self, tmp: Path, database_url: str, broker_url: str,
                 torch_threads: int | None = None) -> None:
        self.tmp, self.port = tmp, free_port()
        self.torch_threads = torch_threads
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("SQUEEZELAB_")}
        self.base_env = base
        self.api_env = {**base, "SQUEEZELAB_DATABASE_URL": database_url,
                        "SQUEEZELAB_BROKER_URL": broker_url, "SQUEEZELAB_AUTH": "on",
                        "SQUEEZELAB_ADMIN_TOKEN": ADMIN_TOKEN,
                        "SQUEEZELAB_ARTIFACT_DIR": str(tmp / "artifacts")}
        self.api = api_process(self.api_env, self.port, tmp / "api.log")
        self.admin = Client(self.url, ADMIN_TOKEN, timeout=30)
        self.workers: list[Process] = []
        self.started = 0  # workers started so far: each gets a name of its own
        self.worker_env: dict[str, str] = {}

    def start(self) -> Bench:
        self.api.start()
        wait_ready(self.api, self.url)
        token = self.admin.create_token("w", ["worker"]).token
        # Workers get the broker, the API and a token: no database URL.
        self.worker_env = {**self.base_env,
                           "SQUEEZELAB_BROKER_URL": self.api_env["SQUEEZELAB_BROKER_URL"],
                           "SQUEEZELAB_API_URL": self.url, "SQUEEZELAB_TOKEN": token}
        if self.torch_threads:  # torch's threads per pool process (default: a CPU share)
            self.worker_env["SQUEEZELAB_TORCH_THREADS"] = str(self.torch_threads)
        return self

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.api.stop()
        self.admin.close()

    def add_worker(self, concurrency: int = 1, env: dict[str, str] | None = None) -> str:
        """Start worker wN and wait until it has registered (its consumer is ready)."""
        self.started += 1
        name = f"w{self.started}@bench"
        env = {**self.worker_env, "SQUEEZELAB_WORKER_DIR": str(self.tmp / f"w{self.started}"),
               **(env or {})}
        worker = Process(["worker", "--queues", "cpu", "--name", name, "--concurrency",
                          str(concurrency)], env, self.tmp / f"w{self.started}.log").start()
        self.workers.append(worker)

        def registered() -> bool:
            if not worker.alive():
                raise RuntimeError(f"worker {name} exited:\n{worker.tail()}")
            return any(w.id == name and w.alive for w in self.admin.list_workers())

        wait_for(registered, timeout=120, what=f"worker {name} to register", interval=0.5)
        return name

    def runs(self, sweep_ids: list[int]) -> list[Run]:
        return [r for sid in sweep_ids for r in self.admin.iter_runs(sweep_id=sid)]

    def wait_run(self, run_id: int, timeout: float = 120, interval: float = 0.1) -> Run:
        def ended() -> Run | None:
            run = self.admin.get_run(run_id)
            return run if run.status in ENDED else None

        return wait_for(ended, timeout=timeout, what=f"run {run_id}", interval=interval)

    def wait_sweeps(self, sweep_ids: list[int], timeout: float) -> list[Run]:
        for sid in sweep_ids:
            wait_for(lambda s=sid: self.admin.get_sweep(s).status in ENDED, timeout=timeout,
                     what=f"sweep {sid}", interval=0.5)
        return self.runs(sweep_ids)


@dataclass
class Sample:
    post_s: float  # POST /sweeps round trip (includes the enqueue after the commit)
    claimed_s: float  # send -> started_at
    run_s: float  # started_at -> ended_at


def measure_latency(bench: Bench, submissions: int, gap_s: float) -> list[Sample]:
    samples = []
    for i in range(submissions):
        # After ended_at the worker still heartbeats its registration: wait until its
        # registry entry says it holds no run, then a little more for the acknowledgement.
        wait_for(lambda: all(w.current_run_id is None for w in bench.admin.list_workers()),
                 timeout=60, what="the worker to be idle", interval=0.1)
        time.sleep(gap_s)
        sent = time.time()
        created = bench.admin.submit_sweep(tiny_spec(f"latency-{i}", [i]))
        answered = time.time()
        run = bench.wait_run(created.run_ids[0])
        assert run.status == "succeeded", run.error
        assert run.started_at is not None and run.ended_at is not None
        started = run.started_at.timestamp()
        samples.append(Sample(answered - sent, started - sent,
                              run.ended_at.timestamp() - started))
    return samples


def warm_up(bench: Bench, names: list[str]) -> None:
    """Until every worker has run at least one task (its pool child imported everything)."""
    done: set[str] = set()
    for attempt in range(10):
        created = bench.admin.submit_sweep(tiny_spec(f"warmup-{len(names)}-{attempt}",
                                                     list(range(len(names)))))
        runs = bench.wait_sweeps([created.id], timeout=300)
        done |= {r.lease_owner for r in runs if r.lease_owner}
        if done >= set(names):
            return
    raise RuntimeError(f"workers {set(names) - done} never got a warm-up run")


@dataclass
class Throughput:
    workers: int
    runs: int
    wall_s: float
    succeeded: int
    mean_run_s: float
    per_worker: dict[str, int]
    load_before: str
    load_after: str


def measure_throughput(bench: Bench, workers: int, total: int, offset: int) -> Throughput:
    before = load()
    seeds = list(range(offset, offset + total))
    sent = time.time()
    sweep_ids = [bench.admin.submit_sweep(
        tiny_spec(f"scale-{workers}w-{k}", seeds[k:k + MAX_SEEDS])).id
        for k in range(0, total, MAX_SEEDS)]
    runs = bench.wait_sweeps(sweep_ids, timeout=1800)
    ended = [r.ended_at.timestamp() for r in runs if r.ended_at is not None]
    durations = [r.ended_at.timestamp() - r.started_at.timestamp() for r in runs
                 if r.ended_at is not None and r.started_at is not None]
    owners: dict[str, int] = {}
    for r in runs:
        owners[r.lease_owner or "?"] = owners.get(r.lease_owner or "?", 0) + 1
    return Throughput(workers, len(runs), max(ended) - sent,
                      sum(r.status == "succeeded" for r in runs),
                      statistics.fmean(durations), dict(sorted(owners.items())), before, load())


def scaling(bench: Bench, names: list[str], runs: int, blocks: int) -> list[Throughput]:
    """``runs`` runs on 1 worker and as many on 2, in ``blocks`` blocks each, ordered
    1, 2, 2, 1, 1, 2, 2, 1, ... so that a load drifting during the benchmark (other jobs
    share the host) weighs on both sides alike. The second worker is started (and warmed
    up) before each 2-worker stretch and stopped after it."""
    order = ([1, 2, 2, 1] * blocks)[:2 * blocks]
    sizes = {n: [runs // blocks + (i < runs % blocks) for i in range(blocks)] for n in (1, 2)}
    results, seed = [], 1000
    for n in order:
        if n == 2 and len(bench.workers) == 1:
            names.append(bench.add_worker())
            warm_up(bench, names)
        elif n == 1 and len(bench.workers) == 2:
            bench.workers.pop().stop()
            names.pop()
        size = sizes[n].pop(0)
        if size:
            results.append(measure_throughput(bench, n, size, seed))
            seed += size
    return results


def print_latency(samples: list[Sample], target_ms: float) -> None:
    def ms(values: list[float]) -> tuple[str, str, str, str]:
        return (f"{statistics.median(values) * 1000:.0f}",
                f"{percentile(values, 95) * 1000:.0f}",
                f"{min(values) * 1000:.0f}", f"{max(values) * 1000:.0f}")

    claimed = [s.claimed_s for s in samples]
    rows = [("sent -> POST /api/v1/sweeps answered (commit + enqueue)",
             [s.post_s for s in samples]),
            ("answered -> claimed (Redis, Celery pool, claim request)",
             [s.claimed_s - s.post_s for s in samples]),
            ("**sent -> claimed** (`started_at`)", claimed),
            ("claimed -> ended (the tiny run itself)", [s.run_s for s in samples])]
    print(f"\nSubmit -> claimed, one idle worker, {len(samples)} one-run sweeps "
          f"(times from the POST being sent)\n")
    print("| what | p50 ms | p95 ms | min ms | max ms |")
    print("|---|---|---|---|---|")
    for label, values in rows:
        print(f"| {label} | " + " | ".join(ms(values)) + " |")
    p50 = statistics.median(claimed) * 1000
    print(f"\nTarget p50 <= {target_ms:.0f} ms: {'met' if p50 <= target_ms else 'NOT met'} "
          f"({p50:.0f} ms).")


def print_throughput(results: list[Throughput]) -> None:
    print("\nThroughput, tiny runs (1 epoch digits-mlp + 3 timed calls each), in the order "
          "measured\n")
    print("| workers | runs | succeeded | wall s | runs/s | mean run s (claimed -> ended) "
          "| runs per worker | load avg before -> after |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        per = ", ".join(f"{k.split('@')[0]}: {v}" for k, v in r.per_worker.items())
        print(f"| {r.workers} | {r.runs} | {r.succeeded} | {r.wall_s:.1f} | "
              f"{r.runs / r.wall_s:.2f} | {r.mean_run_s:.2f} | {per} | "
              f"{r.load_before} -> {r.load_after} |")
    rate: dict[int, float] = {}
    print()
    for n in sorted({r.workers for r in results}):
        mine = [r for r in results if r.workers == n]
        runs, wall = sum(r.runs for r in mine), sum(r.wall_s for r in mine)
        rate[n] = runs / wall
        print(f"{n} worker(s): {runs} runs in {wall:.1f} s = {rate[n]:.2f} runs/s")
    if 1 in rate and 2 in rate:
        print(f"\n2 workers / 1 worker throughput: {rate[2] / rate[1]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=30)
    parser.add_argument("--runs", type=int, default=100,
                        help="tiny runs on 1 worker, and as many on 2")
    parser.add_argument("--blocks", type=int, default=4,
                        help="blocks per worker count in the throughput part")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="SQUEEZELAB_TORCH_THREADS for the workers (default: their "
                             "CPU share)")
    parser.add_argument("--gap", type=float, default=0.3,
                        help="seconds idle between a run's end and the next submission")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--target-ms", type=float, default=250.0)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()

    broker = redis.Redis.from_url(args.redis_url)
    broker.flushdb()  # this database only
    tmp = Path(tempfile.mkdtemp(prefix="squeezelab-dispatch-"))
    print(f"load average at start: {load()}; worker torch threads: "
          f"{args.torch_threads or 'default'}")
    bench: Bench | None = None
    started = time.monotonic()
    try:
        with fresh_postgres() as database_url:
            bench = Bench(tmp, database_url, args.redis_url, args.torch_threads).start()
            names = [bench.add_worker()]
            warm_up(bench, names)
            samples = measure_latency(bench, args.submissions, args.gap)
            print(f"load average after the latency runs: {load()}")
            print_latency(samples, args.target_ms)
            if not args.skip_scaling:
                print_throughput(scaling(bench, names, args.runs, args.blocks))
            bench.stop()
            bench = None
    finally:
        if bench is not None:
            for worker in bench.workers:
                print(f"--- {worker.log.name}\n{worker.tail()}", file=sys.stderr)
            print(f"--- api.log\n{bench.api.tail()}", file=sys.stderr)
            bench.stop()
        broker.flushdb()
        broker.close()
        if args.keep_logs:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\ntotal {time.monotonic() - started:.0f} s; load average at the end: {load()}")


if __name__ == "__main__":
    main()
