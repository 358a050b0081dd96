"""The command line: usage errors are one line, a candidate plugs in from outside the repo, --report writes."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_suite(*args, env=None, cwd=ROOT, timeout=600):
    return subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "tests" / "conformance"), "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(ROOT), *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.mark.parametrize("args, message", [
    (["--impl=nosuch"], "ERROR: --impl nosuch: unknown implementation; known: jax, keras-jax, keras-tf, keras-torch, numpy, tf, tf-keras, tf1, torch, or package.module:Class"),
    (["--impl=nosuch.module:Thing"], "ERROR: --impl nosuch.module:Thing: cannot import it (No module named 'nosuch')"),
    (["--impl=keras-jax,keras-torch", "--isolation=inprocess"],
     "ERROR: --isolation=inprocess: keras-jax and keras-torch need different KERAS_BACKEND (jax, torch) and one process "
     "imports Keras once; run them with --isolation=process (the default)"),
    (["--dtype=float8"], "ERROR: --dtype float8: unknown dtype; known: float16, bfloat16, float32, float64"),
    (["--device=gpu"], "ERROR: --device gpu: unknown; known: cpu, cuda, all"),
    (["--profile=nightly"], "ERROR: --profile nightly: unknown; known: quick, full"),
])
def test_usage_errors_are_one_line(args, message):
    result = run_suite(*args)
    assert result.returncode == 4
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert lines == [message], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_bad_spec_is_one_line(tmp_path):
    import shutil

    # a copy of the repository: breaking a spec in place would break every test running beside this one (pytest -n)
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", ".hypothesis", ".oracle-cache",
                                                              "__pycache__", "*.egg-info", "*.jsonl", "index.*"))
    spec = copy / "specs" / "mean_squared_error.yaml"
    spec.write_text(spec.read_text().replace("shapes: same", "shapes: ragged"))
    result = subprocess.run([sys.executable, "-m", "pytest", str(copy / "tests" / "conformance"), "-q", "-p",
                             "no:cacheprovider", "--rootdir", str(copy)], capture_output=True, text=True, cwd=copy,
                            env={**os.environ, "PYTHONPATH": str(copy)}, timeout=600)
    assert result.returncode == 4
    assert [l for l in result.stderr.splitlines() if l.strip()] == [
        "ERROR: spec error: mean_squared_error.yaml: field inputs/shapes: 'ragged' is not one of ['same', 'sparse', 'custom']"]


def test_the_same_seed_gives_the_same_cases():
    from conformance.invalid import invalid_inputs
    import numpy as np

    first, again, other = (list(invalid_inputs(seed)) for seed in (0, 0, 1))
    same = lambda a, b: a.id == b.id and a.inputs.keys() == b.inputs.keys() and all(
        np.array_equal(a.inputs[n], b.inputs[n], equal_nan=True) for n in a.inputs)
    assert all(same(a, b) for a, b in zip(first, again))
    assert not all(same(a, b) for a, b in zip(first, other))


CANDIDATE = '''
    """A candidate library's adapter, written from the README alone."""
    import numpy as np

    from adapters.base import Adapter, Unsupported


    class Candidate(Adapter):
        name = "candidate"
        library = "numpy"
        semantics = {"mean_squared_error": "ideal"}

        def mean_squared_error(self, case):
            if case.y_true.shape != case.y_pred.shape or case.y_pred.size == 0:
                raise ValueError("shapes must match and be non-empty")
            per_sample = ((case.y_true - case.y_pred) ** 2).mean(axis=-1)
            if case.sample_weight is not None:
                raise Unsupported("candidate takes no sample weights")
            if case.reduction == "none":
                return per_sample
            if case.reduction == "sum":
                return per_sample.sum()
            if case.reduction == "sum_over_batch_size":
                return per_sample.mean()
            raise Unsupported(f"candidate has no reduction {case.reduction}")
'''


def test_candidate_plugs_in_by_module_and_class(tmp_path):
    package = tmp_path / "theirpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "adapter.py").write_text(textwrap.dedent(CANDIDATE))
    report = tmp_path / "out" / "candidate.html"
    result = run_suite("--impl=theirpkg.adapter:Candidate", f"--report={report}", env={"PYTHONPATH": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    doc = json.loads(report.with_suffix(".json").read_text())
    mine = [r for r in doc["records"] if r.get("impl") == "candidate"]
    assert {r["verdict"] for r in mine} == {"pass", "unsupported"}
    assert any(r["loss"] == "mean_squared_error" and r["verdict"] == "pass" for r in mine)
    assert any(r["loss"] == "binary_crossentropy" and "does not implement" in r["explanation"] for r in mine)
    assert report.exists() and "candidate" in report.read_text()


@pytest.mark.xdist_group("numpy-suite")
def test_report_writes_json_lines_json_and_html(numpy_suite):
    report, result = numpy_suite.report, numpy_suite.proc
    assert result.returncode == 0, result.stdout[-3000:]
    doc = json.loads(report.with_suffix(".json").read_text())
    assert doc["format"] == "lossconf-results" and doc["run"]["implementations"][0]["name"] == "numpy"
    kinds = {r["kind"] for r in doc["records"]}
    assert kinds == {"conformance", "doc", "invalid"}
    streamed = report.with_suffix(".jsonl").read_text().splitlines()
    assert len(streamed) == len(doc["records"]) + 1  # the run header, then one line per record
    assert "<html" in report.read_text().lower()
    # the summary says where the time went, the report's rendering included
    assert re.search(r"^time: draw [0-9.]+s \(\d+%\), oracle .*report [0-9.]+s \(\d+%\), other [0-9.]+s of [0-9.]+s wall$",
                     result.stdout, re.M), result.stdout[-2000:]


def test_the_recorded_command_can_be_retyped():
    from conformance.session import command_line

    main = "/x/.venv/lib/python3.11/site-packages/pytest/__main__.py"
    assert command_line([main, "tests/conformance", "--impl=tf", "-k", "bce and float16"]) == \
        "pytest tests/conformance --impl=tf -k 'bce and float16'"
    assert command_line(["/x/.venv/bin/pytest", "-q"]) == "pytest -q"
    assert command_line(["/x/bin/other", "-q"]) == "/x/bin/other -q"


STALE = '''
- match: {impl: candidate, loss: mean_squared_error, reduction: sum, dtype: float32}
  verdict: numeric
  reason: "a vendor's recorded finding that no longer fails: the run must say it is stale"
'''


@pytest.mark.parametrize("layout", ["file", "directory"])
def test_a_vendor_expectations_file_is_read_and_can_go_stale(tmp_path, layout):
    package = tmp_path / "theirpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "adapter.py").write_text(textwrap.dedent(CANDIDATE))
    path = tmp_path / ("vendor.yaml" if layout == "file" else "expectations")
    if layout == "directory":
        path.mkdir()
    (path if layout == "file" else path / "candidate.yaml").write_text(STALE)
    result = run_suite("--impl=theirpkg.adapter:Candidate", f"--expectations={path}", "--dtype=float32",
                       env={"PYTHONPATH": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    entry = f"{path}#1" if layout == "file" else f"{path / 'candidate.yaml'}#1"
    assert f"stale: {entry} (candidate): fired on 0 of" in result.stdout, result.stdout[-3000:]


def test_a_missing_expectations_path_is_one_line(tmp_path):
    result = run_suite(f"--expectations={tmp_path / 'nope.yaml'}")
    assert result.returncode == 4
    assert [l for l in result.stderr.splitlines() if l.strip()] == [f"ERROR: --expectations {tmp_path / 'nope.yaml'}: no such file or directory"]
