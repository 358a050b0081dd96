"""Expectations are only as wide as their cause: the verdict is never part of a match, the entry that expects a
case's verdict explains it, and the audit at the end of a run fails stale entries (fired on nothing in scope) and
broad ones (precision below the floor, without broad_because)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance import audit, expectations

ROOT = Path(__file__).resolve().parents[2]


def test_the_loader_refuses_a_verdict_in_match(tmp_path):
    bad = tmp_path / "tf.yaml"
    bad.write_text("- match: {loss: huber, verdict: numeric}\n  verdict: numeric\n  reason: r\n")
    with pytest.raises(expectations.ExpectationError, match="never part of match"):
        expectations._read(bad)


@pytest.fixture
def entries(monkeypatch):
    table = [{"id": "x.yaml#1", "match": {"loss": "huber"}, "verdict": "numeric", "reason": "a"},
             {"id": "x.yaml#2", "match": {"loss": "huber", "dtype": "float16"}, "verdict": "nonfinite", "reason": "b"}]
    monkeypatch.setattr(expectations, "load", lambda impl: table)
    return table


def test_the_first_entry_in_scope_that_expects_the_verdict_explains_it(entries):
    record = {"impl": "x", "loss": "huber", "dtype": "float16", "verdict": "nonfinite"}
    assert expectations.note("x", record)["id"] == "x.yaml#2"
    assert record["expectation_scope"] == ["x.yaml#1", "x.yaml#2"] and record["expectation"]["id"] == "x.yaml#2"
    passing = {"impl": "x", "loss": "huber", "dtype": "float32", "verdict": "pass"}
    expectations.note("x", passing)
    assert passing["expectation_scope"] == ["x.yaml#1"] and "expectation" not in passing


def _records(scope_id, fired, passed):
    hit = {"impl": "x", "expectation_scope": [scope_id], "expectation": {"id": scope_id}}
    return [dict(hit) for _ in range(fired)] + [{"impl": "x", "expectation_scope": [scope_id]} for _ in range(passed)]


def test_the_audit_names_stale_and_broad_entries(entries):
    entries.append({"id": "x.yaml#3", "match": {}, "verdict": "numeric", "reason": "c", "broad_because": "why"})
    records = _records("x.yaml#1", 0, 5) + _records("x.yaml#2", 1, 9) + _records("x.yaml#3", 1, 9)
    result = {a.id: a for a in audit.audit(records)}
    assert result["x.yaml#1"].status == "stale" and result["x.yaml#2"].status == "broad"
    assert result["x.yaml#3"].status == "ok"  # as broad, but it says why
    assert {a.id for a in audit.failing(list(result.values()))} == {"x.yaml#1", "x.yaml#2"}
    (head, *named) = audit.lines(list(result.values()), selection=False)
    assert "1 stale, 1 broad" in head and any("stale: x.yaml#1" in line for line in named)
    precise = audit.audit(_records("x.yaml#2", 3, 1))
    assert precise[0].status == "ok" and precise[0].precision == 0.75


def _suite(tmp_path, entry: str):
    file = tmp_path / "vendor.yaml"
    file.write_text(entry)
    skip = [f"--deselect=tests/conformance/{name}.py" for name in
            ("test_properties", "test_relations", "test_gradients", "test_gradient_relations", "test_doc_values", "test_handles")]
    return subprocess.run([sys.executable, "-m", "pytest", "tests/conformance", "--impl=numpy", "--dtype=float32", "-q",
                           "-p", "no:cacheprovider", "-p", "no:xdist", f"--expectations={file}", *skip],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_a_stale_entry_fails_a_whole_suite_run(tmp_path):
    # numpy raises on a NaN prediction: an entry claiming it returns a number never fires
    stale = _suite(tmp_path, "- match: {impl: numpy, kind: invalid, invalid_class: nan-prediction}\n"
                             "  verdict: accepted_invalid\n  reason: claimed on purpose\n")
    assert stale.returncode == 1, stale.stdout[-2000:]
    assert "stale: " in stale.stdout and "vendor.yaml#1" in stale.stdout
    fine = _suite(tmp_path, "- match: {impl: numpy, kind: invalid, invalid_class: nan-prediction}\n"
                            "  verdict: accepted_invalid\n  reason: never in scope\n  versions: '<0'\n")
    assert fine.returncode == 0, fine.stdout[-2000:]
