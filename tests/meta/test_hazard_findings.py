"""Hazards are findings: a conforming result whose declared convention moves it from the ideal loss shows in the
run's summary and in the report's ranked findings (one group per cause), needs no expectation, and can be
acknowledged by one (``verdict: hazard``)."""
from __future__ import annotations

import pytest

from conformance import expectations, outcome, session
from reports import findings

HAZARD = dict(impl="tf-keras", variant="class", device="cpu", loss="binary_crossentropy", reduction="sum",
              dtype="float16", semantics="keras2", quantity="value", kind="conformance", verdict="pass",
              hazard_kind="moved", expectation=None, params={"from_logits": False}, origin="seed=0 regime=boundary")


def hazard(ulps: float, **kw) -> dict:
    return {**HAZARD, "hazard": f"the keras2 convention moves the value {ulps:.3g} ULPs from the ideal", **kw}


def test_the_summary_counts_conforming_hazards_by_kind_and_cause():
    records = [hazard(5e10), hazard(7e9), hazard(3e3, hazard_kind="nonfinite", dtype="float32"),
               hazard(1e3, verdict="numeric"),  # a failure already is a finding: not counted as a hazard
               {**HAZARD, "hazard": None}]
    (line,) = session.hazard_lines(records)
    assert line.startswith("tf-keras hazards: 3 conforming results")
    assert "2 moved, 1 nonfinite" in line and "binary_crossentropy float16 moved (2)" in line
    assert session.hazard_lines([{**HAZARD, "hazard": None}]) == []


def test_hazards_are_findings_grouped_by_cause_above_the_numeric_errors():
    failing = {**HAZARD, "verdict": "numeric", "hazard": None, "ulp_error": 9.0, "tolerance_ulps": 2.0}
    nonfinite = {**hazard(3.0), "hazard_kind": "nonfinite"}
    rows = findings.build([hazard(5e10, dtype="float32"), hazard(7e9), failing, nonfinite, {**HAZARD, "hazard": None}],
                          ["tf-keras"], {})
    # one finding per kind of hazard under its convention, whatever dtypes it reaches; hazards rank above numeric errors
    assert [(f["label"], f["cause"], f["count"], f["dtypes"]) for f in rows] == [
        ("hazard", "hazard moved under keras2", 2, ["float16", "float32"]),
        ("hazard", "hazard nonfinite under keras2", 1, ["float16"]),
        ("numeric", "regime boundary", 1, ["float16"])]


def test_a_hazard_needs_no_expectation_and_one_can_acknowledge_it(monkeypatch):
    class Session:
        records = []
        add = records.append

    outcome.settle(hazard(5e10), Session)  # passes: a hazard is no failure
    entry = {"id": "x.yaml#1", "match": {"loss": "binary_crossentropy"}, "verdict": "hazard", "reason": "the clip moves it"}
    monkeypatch.setattr(expectations, "load", lambda impl: [entry])
    acknowledged = hazard(5e10)
    outcome.settle(acknowledged, Session)
    assert acknowledged["expectation"]["verdict"] == "hazard"
    plain = {**HAZARD, "hazard": None, "hazard_kind": None}  # in the entry's scope, without a hazard: does not fire it
    outcome.settle(plain, Session)
    assert plain["expectation_scope"] == ["x.yaml#1"] and not plain["expectation"]
    with pytest.raises(pytest.fail.Exception, match="expected hazard"):  # a failure is not what the entry expects
        outcome.settle({**HAZARD, "verdict": "numeric", "hazard": None, "expectation": None}, Session)
