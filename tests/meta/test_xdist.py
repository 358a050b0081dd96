"""pytest -n 2 (pytest-xdist) gives the verdicts of a serial run: each worker hands its records to the controller,
which writes one summary and one report of them all."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("xdist")

ROOT = Path(__file__).resolve().parents[2]
# a slice of every test kind (properties, relations, examples, invalid inputs) of two losses, in one dtype
SLICE = ["tests/conformance", "--impl=numpy", "--dtype=float32", "-k", "binary_crossentropy or margin_ranking",
         "-q", "-p", "no:randomly"]


def run(tmp_path: Path, name: str, *extra: str) -> tuple[list[str], list[tuple]]:
    """(the verdict lines of the summary, the sorted (test_id, origin, reduction, verdict) of every record)."""
    report = tmp_path / name / "index.html"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOSSCONF_HYPOTHESIS_DB": str(tmp_path / name / "examples")}
    result = subprocess.run([sys.executable, "-m", "pytest", *SLICE, f"--report={report}", *extra], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [l for l in result.stdout.splitlines() if re.match(r"^(numpy|docs): \d", l)]
    verdicts = [re.sub(r"  \[.*", "", l) for l in lines]  # the seconds differ from run to run
    records = json.loads(report.with_suffix(".json").read_text())["records"]
    return verdicts, sorted((r.get("test_id") or "", r.get("origin") or r.get("example") or "", r.get("reduction") or "",
                             r["verdict"]) for r in records)


def test_two_workers_give_the_verdicts_of_a_serial_run(tmp_path):
    serial_lines, serial_records = run(tmp_path, "serial")
    parallel_lines, parallel_records = run(tmp_path, "parallel", "-n", "2", "--dist", "loadgroup")
    assert serial_lines and any(l.startswith("numpy: ") for l in serial_lines)
    assert parallel_lines == serial_lines
    assert parallel_records == serial_records and len(serial_records) > 100
