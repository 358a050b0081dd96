"""Findings by cause (core.findings): one per implementation, verdict and cause, ranked by severity, printed at the end
of a run and at the top of the report."""
from __future__ import annotations

import random

from conformance.session import FINDINGS_SHOWN, Session
from core import findings

CASE = dict(kind="conformance", impl="tf", variant="default", device="cpu", loss="binary_crossentropy", quantity="value",
            reduction="sum", dtype="float32", params={}, semantics="keras", origin="seed=0 regime=moderate",
            verdict="numeric", ulp_error=10.0, tolerance_ulps=2.0, expectation=None, hazard=None)


def case(**kw) -> dict:
    return {**CASE, **kw}


def entry(n: int, verdict="numeric") -> dict:
    return {"id": f"tf.yaml#{n}", "verdict": verdict, "reason": f"reason {n}", "link": None}


def test_one_expectation_is_one_finding_whatever_losses_dtypes_and_reductions_it_reaches():
    known = [case(loss=loss, dtype=dtype, reduction=reduction, expectation=entry(3))
             for loss in ("binary_crossentropy", "hinge") for dtype in ("float16", "float64") for reduction in ("sum", "none")]
    (f,) = findings.group(known)
    assert (f["cause"], f["count"], f["recorded"]) == ("expectation tf.yaml#3", 8, True)
    assert f["losses"] == ["binary_crossentropy", "hinge"] and f["dtypes"] == ["float16", "float64"]
    assert f["reductions"] == ["none", "sum"] and f["variants"] == ["default"] and f["devices"] == ["cpu"]


def test_one_entry_covering_two_verdicts_makes_a_finding_per_verdict():
    rows = findings.group([case(expectation=entry(3, ["numeric", "nonfinite"])),
                           case(verdict="nonfinite", ulp_error="inf", expectation=entry(3, ["numeric", "nonfinite"]))])
    assert [(f["label"], f["cause"]) for f in rows] == [("nonfinite", "expectation tf.yaml#3"), ("numeric", "expectation tf.yaml#3")]


def test_unexplained_failures_are_grouped_by_loss_and_what_explains_them():
    rows = findings.group([case(), case(dtype="float16"), case(loss="hinge"), case(origin="seed=0 regime=extreme expressed"),
                           case(verdict="semantic", matched_semantics="torch"), case(verdict="semantic", matched_semantics="tf1"),
                           case(kind="invalid", verdict="accepted_invalid", origin="invalid:binary_crossentropy/target-negative"),
                           case(verdict="pass"), case(verdict="unsupported", expectation=entry(1))])
    assert sorted((f["losses"][0], f["cause"], f["count"]) for f in rows) == [
        ("binary_crossentropy", "invalid input: target-negative", 1),
        ("binary_crossentropy", "matches tf1", 1), ("binary_crossentropy", "matches torch", 1),
        ("binary_crossentropy", "regime extreme", 1), ("binary_crossentropy", "regime moderate", 2),
        ("hinge", "regime moderate", 1)]  # a pass is no finding, nor is an unsupported case, whatever covers it
    assert all(findings.unexplained(f) for f in rows)


def test_a_case_written_compactly_and_again_as_its_cells_worst_counts_once_with_its_reproducer():
    compact = case(ulp_error=50.0)
    full = {**compact, "inputs": {"y_true": [1.0]}, "reproducer": "import keras ...", "worst_case": True}
    (f,) = findings.group([case(), compact, full])
    assert f["count"] == 2 and f["worst"] is full and f["example"]["reproducer"] == "import keras ..."


def test_findings_rank_by_severity_then_unexplained_first_then_worst():
    one_per_rank = {
        "nonfinite": case(verdict="nonfinite", ulp_error="inf"),
        "error": case(verdict="error", ulp_error=None, raised="ValueError: no"),
        "hazard": case(verdict="pass", ulp_error=0.5, hazard="moved 1e9 ULPs", hazard_kind="moved", ideal_ulp_error=1e9),
        "numeric": case(),
        "semantic": case(verdict="semantic", matched_semantics="torch"),
        "variants_disagree": case(kind="agreement", verdict="variants_disagree", origin="invalid:x/y"),
        "nonfinite_invalid": case(kind="invalid", verdict="nonfinite_invalid", origin="invalid:x/z"),
        "accepted_invalid": case(kind="invalid", verdict="accepted_invalid", origin="invalid:x/w"),
        "doc_drift": case(kind="doc", impl="docs", verdict="doc_drift", example="keras#1", printed=0.9),
        "pass": case(verdict="pass", expectation=entry(9)),  # an entry that no longer fails: last
    }
    assert tuple(one_per_rank) == findings.RANKS
    shuffled = list(one_per_rank.values())
    random.Random(0).shuffle(shuffled)
    assert [f["label"] for f in findings.group(shuffled)] == list(findings.RANKS)
    numerics = [case(ulp_error=4.0, expectation=entry(1)), case(loss="hinge", ulp_error=4.0), case(loss="huber", ulp_error=400.0),
                case(loss="log_cosh", ulp_error=900.0, expectation=entry(2))]
    assert [f["losses"][0] for f in findings.group(numerics)] == ["huber", "hinge", "log_cosh", "binary_crossentropy"]


def test_the_run_summary_prints_the_ranked_findings_truncated():
    session = Session(adapters=[], dtypes=["float32"], devices=["cpu"], profile="quick", seed=0, report=None)
    session.records = [case(loss=f"loss{i:02d}", ulp_error=float(i + 3)) for i in range(FINDINGS_SHOWN + 5)]
    session.records.append(case(verdict="nonfinite", ulp_error="nan", expectation=entry(7, "nonfinite")))
    lines = session.summary()
    head = next(i for i, line in enumerate(lines) if line.startswith("findings: "))
    assert lines[head] == (f"findings: {FINDINGS_SHOWN + 6} distinct causes over {FINDINGS_SHOWN + 6} cases, worst first "
                           f"({FINDINGS_SHOWN + 5} failing with no expectation to explain them):")
    shown = lines[head + 1:head + 1 + FINDINGS_SHOWN]
    assert shown[0].startswith("  1. nonfinite  tf  binary_crossentropy  [expectation tf.yaml#7]  1 case, float32/sum; worst nan")
    assert shown[1].startswith("  2. numeric UNEXPLAINED  tf  loss24  [regime moderate]") and "worst 27 ULPs (tolerance 2)" in shown[1]
    assert lines[head + 1 + FINDINGS_SHOWN] == "     ... 6 more in the report"
    assert findings.lines([]) == []


def test_the_run_summary_counts_a_cells_worst_draw_once():
    session = Session(adapters=[], dtypes=["float32"], devices=["cpu"], profile="quick", seed=0, report=None)
    compact = case(verdict="pass", ulp_error=1.0)
    session.records = [compact, case(verdict="pass", ulp_error=0.5),
                       {**compact, "inputs": {"y_true": [1.0]}, "reproducer": "...", "worst_case": True}]
    assert session.summary()[0] == "tf: 2 pass"
