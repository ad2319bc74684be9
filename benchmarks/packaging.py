"""Install size and time of each way to install squeezelab, each into a fresh venv.

Usage: .venv/bin/python benchmarks/packaging.py [--wheel dist/squeezelab-*.whl] [--cold]
Builds the wheel unless --wheel names one; then for each install (the CLI alone, the server,
the worker, everything) makes a fresh venv, installs torch first where the extra needs it
(the CPU build, as the Makefile does), then the wheel with the extra; prints a table: time,
what the install added to site-packages, the distributions it brought, and how long
``squeezelab --help`` takes to start. --cold runs pip with --no-cache-dir.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLS = (("CLI + SDK (CI runners, notebooks)", ""), ("API server", "[server]"),
            ("worker + engine", "[worker]"), ("everything (`squeezelab up`)", "[all]"))


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in args], check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def size_of(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def site_packages(venv: Path) -> Path:
    (found,) = venv.glob("lib/python3*/site-packages")
    return found


def build_wheel(out: Path) -> Path:
    cfg = out / "setuptools.cfg"  # setuptools' build folder outside the checkout
    cfg.write_text(f"[build]\nbuild_base = {out / 'build'}\n")
    run(sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT,
        env={**os.environ, "DIST_EXTRA_CONFIG": str(cfg)})
    (wheel,) = out.glob("*.whl")
    return wheel


def measure(wheel: Path, extra: str, work: Path, pip_flags: list[str]) -> dict[str, float]:
    venv = work / f"venv{extra.strip('[]') or '-cli'}"
    run(sys.executable, "-m", "venv", venv)
    pip = [venv / "bin" / "pip", "install", "--quiet", *pip_flags]
    before = size_of(site_packages(venv))
    dists_before = len(list(site_packages(venv).glob("*.dist-info")))
    started = time.perf_counter()
    if extra in ("[worker]", "[all]"):
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        pin = next(r for r in project["optional-dependencies"]["worker"]
                   if r.startswith("torch=="))
        run(*pip, pin)
    run(*pip, f"{wheel}{extra}")
    seconds = time.perf_counter() - started
    starts = []
    for _ in range(3):
        began = time.perf_counter()
        run(venv / "bin" / "squeezelab", "--help")
        starts.append(time.perf_counter() - began)
    return {"seconds": seconds, "mib": (size_of(site_packages(venv)) - before) / 2**20,
            "dists": len(list(site_packages(venv).glob("*.dist-info"))) - dists_before,
            "help_s": min(starts)}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wheel", type=Path, help="a built wheel (default: build one)")
    parser.add_argument("--cold", action="store_true", help="pip install --no-cache-dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="squeezelab-packaging-") as tmp:
        work = Path(tmp)
        wheel = args.wheel.resolve() if args.wheel else build_wheel(work)
        flags = ["--no-cache-dir"] if args.cold else []
        print(f"{wheel.name}, Python {platform.python_version()}, {cpu_model()}, "
              f"{os.cpu_count()} CPUs, pip cache {'off' if args.cold else 'as it is'}\n")
        print("| install | `pip install` | time | site-packages added | distributions "
              "| `squeezelab --help` |")
        print("|---|---|---:|---:|---:|---:|")
        for label, extra in INSTALLS:
            got = measure(wheel, extra, work, flags)
            what = f"'squeezelab{extra}'" if extra else "squeezelab"
            print(f"| {label} | `{what}` | {got['seconds']:.0f} s | {got['mib']:,.0f} MiB "
                  f"| {got['dists']:.0f} | {got['help_s']:.2f} s |", flush=True)


if __name__ == "__main__":
    main()
