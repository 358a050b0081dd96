"""Combinations an implementation cannot express, or that do not apply, are not pytest items (conformance.omitted):
the examples and invalid inputs among them are written as the unsupported records their tests wrote, every one is
counted by test and reason, and pytest's summary line counts no skip for them. The selection (-k, --deselect) applies
to them as to the items."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = "tests/conformance/test_examples.py"


def collect(tmp_path: Path, *args: str) -> tuple[str, dict, dict]:
    """(pytest's output, the results JSON, summary-numpy.json) of collecting ``args`` on numpy in float32."""
    report = tmp_path / "index.html"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOSSCONF_HYPOTHESIS_DB": str(tmp_path / "examples")}
    result = subprocess.run([sys.executable, "-m", "pytest", *args, "--impl=numpy", "--dtype=float32", "-q",
                             "-p", "no:randomly", "-p", "no:cacheprovider", f"--report={report}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode in (0, 5), result.stdout[-3000:] + result.stderr[-3000:]
    doc = json.loads(report.with_suffix(".json").read_text()) if report.with_suffix(".json").exists() else {}
    summary = tmp_path / "summary-numpy.json"
    return result.stdout, doc, json.loads(summary.read_text()) if summary.exists() else {}


def _not_made(doc: dict) -> dict:
    return doc["run"]["implementations"][0]["not_made_tests"]


def test_what_numpy_cannot_express_is_a_record_not_a_skip(tmp_path):
    import specs
    from conformance import cases

    out, doc, summary = collect(tmp_path, EXAMPLES, "-rs")
    run = re.search(r"(\d+) passed(?:, (\d+) xfailed)?", out)
    assert run, out[-2000:]
    assert "skipped" not in out.splitlines()[-1], out[-2000:]
    made = int(run.group(1)) + int(run.group(2) or 0)
    unsupported = [r for r in doc["records"] if r["verdict"] == "unsupported"]
    assert made + len(unsupported) == len(list(cases.doc_examples()))  # every example once: a test or a record
    not_provided = {s.name for s, _ in cases.doc_examples()} - set(doc["run"]["implementations"][0]["losses"])
    assert not_provided and {r["loss"] for r in unsupported} >= not_provided
    assert all(r["test_id"].startswith("numpy-default-cpu-float32-") and r["explanation"] for r in unsupported)
    counted = _not_made(doc)["examples"]
    assert sum(counted.values()) == len(unsupported)
    assert counted[f"numpy does not implement {sorted(not_provided)[0]}"] >= 1
    assert summary["not_made_tests"] == _not_made(doc)
    assert re.search(rf"numpy not made tests: {len(unsupported)} combinations", out), out[-2000:]
    assert set(specs.all_specs()) >= {r["loss"] for r in unsupported}


def test_the_selection_applies_to_what_is_not_made_a_test(tmp_path):
    """-k keeps only what it would have matched; a deselected test function keeps nothing."""
    _, everything, _ = collect(tmp_path / "all", EXAMPLES, "--collect-only")
    _, matched, _ = collect(tmp_path / "k", EXAMPLES, "--collect-only", "-k", "poisson")
    out, deselected, _ = collect(tmp_path / "none", EXAMPLES, "tests/conformance/test_doc_values.py", "--collect-only",
                                 "--deselect", EXAMPLES)
    ids = [r["test_id"] for r in everything["records"]]
    kept = [r["test_id"] for r in matched["records"]]
    assert any("poisson" in i for i in ids) and any("poisson" not in i for i in ids)
    assert kept == [i for i in ids if "poisson" in i]
    assert not deselected.get("records") and "not made tests" not in out, out[-2000:]


def test_an_adapter_without_gradients_makes_no_gradient_test(tmp_path):
    """numpy does not implement the gradient part of the contract: every gradient case would be unsupported for that
    one reason, so none is a pytest item (175 were, each passing with nothing checked); all are counted, with it."""
    out, doc, _ = collect(tmp_path, EXAMPLES, "tests/conformance/test_gradients.py",
                          "tests/conformance/test_gradient_relations.py", "-k", "huber or gradient")
    assert "test_gradient" not in out and "skipped" not in out.splitlines()[-1], out[-2000:]
    reason = "numpy does not implement the gradient part of the adapter contract"
    counted = _not_made(doc)
    assert counted["gradients"] == {reason: sum(counted["gradients"].values())} and counted["gradients"][reason] > 0
    assert all(why.endswith(reason) for why in counted["gradient relations"])
