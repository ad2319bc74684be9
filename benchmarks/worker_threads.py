"""Worker layout on a small machine: one pool process, or two that share the CPUs.

Runs tiny runs (digits-mlp, 1 epoch, 3 timed torch calls) on the real stack (fresh
PostgreSQL database, a Redis database of its own, ``squeezelab api``, ``squeezelab worker``)
with three worker layouts, in interleaved blocks (A B C C B A ...) because the host is shared:

A. ``--concurrency 1``: one pool process with the default threads (all the CPUs).
B. ``--concurrency 2`` with ``SQUEEZELAB_TORCH_THREADS`` = all the CPUs: what every process
   got before the worker divided the CPUs (each process as many threads as cores).
C. ``--concurrency 2`` with the default: each process gets CPUs // 2 threads.

Prints runs/s per block and per layout, and each layout's ratio to A from the same run.

Usage: .venv/bin/python benchmarks/worker_threads.py [--runs 40] [--rounds 2]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).parent))

from dispatch import Bench, load, tiny_spec, warm_up
from stack import fresh_postgres  # tests/support, on sys.path once dispatch is imported

from workers.main import usable_cpus


@dataclass(frozen=True)
class Layout:
    key: str
    label: str
    concurrency: int
    threads: int | None  # SQUEEZELAB_TORCH_THREADS, None: the worker's default


@dataclass
class Block:
    layout: Layout
    runs: int
    succeeded: int
    wall_s: float
    load: str


def block(bench: Bench, layout: Layout, runs: int, offset: int) -> Block:
    env = {} if layout.threads is None else {"SQUEEZELAB_TORCH_THREADS": str(layout.threads)}
    name = bench.add_worker(layout.concurrency, env)
    warm_up(bench, [name])
    sent = time.time()
    created = bench.admin.submit_sweep(tiny_spec(f"{layout.key}-{offset}",
                                                 list(range(offset, offset + runs))))
    done = bench.wait_sweeps([created.id], timeout=1800)
    ended = max(r.ended_at.timestamp() for r in done if r.ended_at is not None)
    bench.workers.pop().stop()
    return Block(layout, len(done), sum(r.status == "succeeded" for r in done), ended - sent,
                 load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="runs per block (at most 100)")
    parser.add_argument("--rounds", type=int, default=2, help="A B C C B A = 2 rounds")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    cpus = usable_cpus()
    layouts = [Layout("A", "1 process, default threads", 1, None),
               Layout("B", f"2 processes x {cpus} threads (before)", 2, cpus),
               Layout("C", f"2 processes x {max(1, cpus // 2)} threads (default now)", 2, None)]
    order = [layouts[i] for r in range(args.rounds) for i in ((0, 1, 2) if r % 2 == 0
                                                             else (2, 1, 0))]
    broker = redis.Redis.from_url(args.redis_url)
    broker.flushdb()  # this database only
    tmp = Path(tempfile.mkdtemp(prefix="squeezelab-threads-"))
    print(f"{cpus} usable CPUs; load average at start: {load()}")
    blocks: list[Block] = []
    try:
        with fresh_postgres() as database_url:
            bench = Bench(tmp, database_url, args.redis_url).start()
            try:
                for i, layout in enumerate(order):
                    blocks.append(block(bench, layout, args.runs, 1000 + i * args.runs))
            finally:
                bench.stop()
    finally:
        broker.flushdb()
        broker.close()
        shutil.rmtree(tmp, ignore_errors=True)

    print("\n| block | layout | runs | succeeded | wall s | runs/s | load after |")
    print("|---|---|---|---|---|---|---|")
    for i, b in enumerate(blocks, 1):
        print(f"| {i} | {b.layout.key}: {b.layout.label} | {b.runs} | {b.succeeded} | "
              f"{b.wall_s:.1f} | {b.runs / b.wall_s:.2f} | {b.load} |")
    rate = {}
    print("\n| layout | runs | wall s | runs/s | vs A |")
    print("|---|---|---|---|---|")
    for layout in layouts:
        mine = [b for b in blocks if b.layout == layout]
        runs, wall = sum(b.runs for b in mine), sum(b.wall_s for b in mine)
        rate[layout.key] = runs / wall
        print(f"| {layout.key}: {layout.label} | {runs} | {wall:.1f} | {runs / wall:.2f} | "
              f"{rate[layout.key] / rate['A']:.2f}x |")


if __name__ == "__main__":
    main()
