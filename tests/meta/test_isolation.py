"""The suite survives what it tests: each hostile adapter costs one case, the run completes with a report,
and a run stopped halfway still leaves a readable report of what it finished."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import results

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "tests.meta.hostile.adapters"


def suite(*args, timeout=300, env=None):
    return subprocess.run([sys.executable, "-m", "pytest", "tests/conformance/test_examples.py", "-q", "-k", "mse or ones",
                           "--dtype=float32", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("cls, verdict, says", [
    ("Raises", "error", "RuntimeError: <b>kernel</b> exploded"),
    ("Aborts", "error", "killed by SIGABRT"),
    ("Hangs", "error", "no answer from"),
    ("ReturnsNaN", "nonfinite", "inf or NaN"),
    ("WrongShape", "error", "returned shape (7, 3)"),
])
def test_a_hostile_adapter_costs_one_case(tmp_path, cls, verdict, says):
    report = tmp_path / "run.html"
    result = suite(f"--impl={HOSTILE}:{cls}", "--case-timeout=3", f"--report={report}")
    assert result.returncode == 1, result.stdout[-2000:]  # exactly the hostile case fails
    assert "1 failed" in result.stdout, result.stdout[-2000:]
    records = [r for r in json.loads(report.with_suffix(".json").read_text())["records"] if r["kind"] == "conformance"]
    bad = [r for r in records if r["verdict"] not in ("pass", "unsupported")]
    assert len(bad) == 1 and bad[0]["verdict"] == verdict and says in (bad[0]["explanation"] + str(bad[0]["raised"]))
    assert sum(r["verdict"] == "pass" for r in records) >= 3  # the cases around it were still judged
    assert report.exists()


def test_worker_logs_are_removed_once_read(tmp_path):
    # a crashed worker's log gives its error message; after that, and at the end of the run, it is litter
    result = suite(f"--impl={HOSTILE}:Aborts", env={"TMPDIR": str(tmp_path)})
    assert "1 failed" in result.stdout, result.stdout[-2000:]
    assert not list(tmp_path.glob("lossconf-worker-*")), sorted(p.name for p in tmp_path.iterdir())


def test_hostile_strings_are_escaped_in_the_report(tmp_path):
    report = tmp_path / "run.html"
    suite(f"--impl={HOSTILE}:ScriptName", f"--report={report}")
    page = report.read_text()
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_run_stopped_halfway_leaves_a_readable_report(tmp_path, how):
    report, temporary = tmp_path / "run.html", tmp_path / "tmp"
    temporary.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "tests/conformance/test_examples.py", "-q", "-k", "mse or ones",
                             f"--impl={HOSTILE}:Slow", "--dtype=float32,float64", f"--report={report}"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TMPDIR": str(temporary)})
    stream = report.with_suffix(".jsonl")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not stream.exists() or len(stream.read_text().splitlines()) < 4):
        time.sleep(0.2)
    proc.send_signal(getattr(signal, how))
    proc.wait(timeout=60)
    if how == "SIGTERM":  # interrupted cleanly: the run writes its results and report itself
        doc = results.load(report.with_suffix(".json"))
        assert report.exists()
    else:  # killed outright: the JSON lines already hold every finished case, and render on their own
        doc = results.load(stream)
        out = tmp_path / "from-stream.html"
        subprocess.run([sys.executable, "-m", "reports", str(stream), "-o", str(out)], cwd=ROOT, check=True)
        assert out.exists()
    # the orphaned worker notices within a case (0.5 s) and removes its own log
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and list(temporary.glob("lossconf-worker-*")):
        time.sleep(0.2)
    assert not list(temporary.glob("lossconf-worker-*"))
    finished = [r for r in doc["records"] if r["kind"] == "conformance"]
    assert 3 <= len(finished) < 24  # some, not all, of the cases
    assert all(r["verdict"] in ("pass", "unsupported") for r in finished)
