"""Wall time of the quick profile per implementation, from a cold oracle cache, as CI pays it.

    python benchmarks/quick_profile_times.py [--impl numpy,tf,...] [--dtype float16,bfloat16,float32,float64]
                                             [--cold-each] [--workers N]

Runs ``pytest tests/conformance --impl=X --profile quick`` once per implementation, in ``make test``'s order, and
prints a Markdown table (wall time, tests, verdict summary) that the README quotes. By default the implementations
share one oracle cache, cold at the start, as they do in CI: implementations declaring the same semantics (tf and
keras-jax: keras+ftz) draw the same inputs and reuse each other's exact values. ``--cold-each`` gives every
implementation a fresh cache instead (its cost alone); ``--workers N`` runs each with ``pytest -n N`` (pytest-xdist), as
``make test`` does (``WORKERS``, default auto: one per core). The goal of the "Speed" issue is at most 60 s per
implementation on the 2-core reference machine.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPLS = ("numpy", "tf", "tf1", "torch", "jax", "keras-jax", "keras-torch", "tf-keras")  # make test's order
DTYPES = "float16,bfloat16,float32,float64"


def run(impl: str, dtype: str, cache: str, workers: str) -> tuple[float, str, int]:
    env = {**os.environ, "LOSSCONF_ORACLE_CACHE": cache}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/conformance", f"--impl={impl}", f"--dtype={dtype}",
                           "--profile=quick", "-q", "-p", "no:cacheprovider", "-n", workers],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    summary = lines[-1].strip("= ") if lines else done.stderr.strip()[-200:]
    return wall, re.sub(r" in [0-9.]+s.*$", "", summary), done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default=",".join(IMPLS))
    parser.add_argument("--dtype", default=DTYPES)
    parser.add_argument("--cold-each", action="store_true", help="a fresh oracle cache for every implementation")
    parser.add_argument("--workers", default="0", help="pytest-xdist workers per run (pytest -n): a number, or auto; "
                                                       "default 0, one process")
    args = parser.parse_args()
    print("| `--impl` | wall time (s) | tests | exit |\n|---|---:|---|---:|")
    worst, total = 0, 0.0
    with tempfile.TemporaryDirectory() as shared:
        for impl in args.impl.split(","):
            with (tempfile.TemporaryDirectory() if args.cold_each else contextlib.nullcontext(shared)) as cache:
                wall, summary, code = run(impl, args.dtype, cache, args.workers)
            worst, total = max(worst, code), total + wall
            print(f"| `{impl}` | {wall:.0f} | {summary} | {code} |", flush=True)
    print(f"| all | {total:.0f} | dtypes {args.dtype}, {'a fresh cache each' if args.cold_each else 'one shared cache'}, "
          f"-n {args.workers} | {worst} |")
    return worst


if __name__ == "__main__":
    sys.exit(main())
