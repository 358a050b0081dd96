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


def test_the_tests_of_one_dtype_and_loss_run_on_one_worker(tmp_path):
    """--dist loadgroup keeps each (dtype, loss)'s property and relation tests on one worker: the tests sharing
    draws run in a serial run's order. pytest 9.2.0 with pytest-xdist 3.8.0 drops the groups without a
    word (docs/vendor-ci.md), which this catches."""
    env = {**os.environ, "LOSSCONF_HYPOTHESIS_DB": str(tmp_path / "examples")}
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/conformance/test_properties.py",
                             "tests/conformance/test_relations.py", "--impl=numpy", "--dtype=float32", "-k",
                             "mean_squared_error or hinge", "-v", "-p", "no:randomly", "-n", "2", "--dist", "loadgroup"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:]
    ran = re.findall(r"^\[(gw\d)\] .*? (?:PASSED|SKIPPED|XFAIL)\S* tests/conformance/\S+?\[numpy-\S+?-float32-(\w+?)-\w+\](@\S+)?",
                     result.stdout, re.M)
    assert len(ran) > 20, result.stdout[-3000:]
    assert all(group for _, _, group in ran), [r for r in ran if not r[2]][:3]  # every test carries its group
    workers = {}
    for worker, loss, group in ran:
        workers.setdefault((loss, group), set()).add(worker)
    assert len({loss for loss, _ in workers}) == len(workers)  # one group per loss
    assert all(len(w) == 1 for w in workers.values()), workers
