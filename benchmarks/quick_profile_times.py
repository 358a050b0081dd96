"""Wall time of the quick profile per implementation, from a cold oracle cache, as CI pays it.

    python benchmarks/quick_profile_times.py [--impl tf,torch] [--dtype float16,bfloat16,float32,float64]

Runs ``pytest tests/conformance --impl=X --profile quick`` once per implementation, each in a fresh
temporary oracle cache, and prints a Markdown table (wall time, tests, verdict summary) that the README
quotes. The goal of issue 4 is at most 120 s per implementation on the 2-core reference machine.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPLS = ("numpy", "tf", "tf1", "torch", "jax", "keras-jax", "keras-torch", "tf-keras")


def run(impl: str, dtype: str) -> tuple[float, str, int]:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "LOSSCONF_ORACLE_CACHE": cache}
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "tests/conformance", f"--impl={impl}", f"--dtype={dtype}",
                               "--profile=quick", "-q", "-p", "no:cacheprovider"],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    summary = lines[-1].strip("= ") if lines else done.stderr.strip()[-200:]
    return wall, re.sub(r" in [0-9.]+s.*$", "", summary), done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default=",".join(IMPLS))
    parser.add_argument("--dtype", default="float32,float64")
    args = parser.parse_args()
    print(f"| `--impl` | dtypes | wall time (s) | tests | exit |\n|---|---|---:|---|---:|")
    worst = 0
    for impl in args.impl.split(","):
        wall, summary, code = run(impl, args.dtype)
        worst = max(worst, code)
        print(f"| `{impl}` | {args.dtype} | {wall:.0f} | {summary} | {code} |", flush=True)
    return worst


if __name__ == "__main__":
    sys.exit(main())
