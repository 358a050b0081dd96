"""Variant agreement on invalid input: the variants of one implementation (eager and compiled; class, function and
alias) should treat one invalid input alike. One that raises while another returns NaN (TensorFlow's sparse softmax
cross-entropy raises on an out-of-range label eagerly and returns NaN under XLA) is a finding of its own,
``variants_disagree``, whatever each variant's verdict: a user who switches on compilation loses the error.

Each variant's outcome is one of ``raised``, ``inf/NaN``, ``finite`` or ``failed`` (crashed or hung); an unsupported
variant has none. The agreement record (kind ``agreement``: an expectation about it says ``kind: agreement``, so
one about the variants' own records never covers it) names every variant compared in ``variant`` and maps each to
its outcome in ``outcomes``.
"""
from __future__ import annotations

import numpy as np

from core import verdicts

RAISED, NONFINITE, FINITE, FAILED = "raised", "inf/NaN", "finite", "failed"
_SHARED = ("impl", "library", "version", "device", "loss", "params", "semantics", "reduction", "dtype", "origin",
           "inputs", "oracle_reproducer", "invalid_reason", "invalid_class")


def outcome(record: dict) -> str | None:
    """What one variant did with an invalid input (None: it could not express it)."""
    verdict = record.get("verdict")
    if verdict == verdicts.UNSUPPORTED:
        return None
    if verdict == verdicts.ERROR:
        return FAILED
    if record.get("raised"):
        return RAISED
    return FINITE if verdict == verdicts.ACCEPTED_INVALID else NONFINITE


def call_outcome(computed: tuple) -> str | None:
    """What a variant did with a valid case, from ``judge.compute``'s (outcome, payload); None if unsupported."""
    kind, payload = computed
    if kind == "unsupported":
        return None
    if kind != "value":
        return RAISED
    return FINITE if np.all(np.isfinite(np.asarray(payload, dtype=np.float64))) else NONFINITE


def agreement_record(records: list[dict]) -> dict | None:
    """The agreement record of one invalid input's records, one per variant of one implementation, device and
    dtype; None when fewer than two variants have an outcome (nothing to compare)."""
    outcomes = {r["variant"]: o for r in records if (o := outcome(r)) is not None}
    if len(outcomes) < 2:
        return None
    first = next(r for r in records if r["variant"] in outcomes)
    by_outcome: dict[str, list[str]] = {}
    for variant, o in outcomes.items():
        by_outcome.setdefault(o, []).append(variant)
    said = "; ".join(f"{', '.join(vs)}: {o}" for o, vs in by_outcome.items())
    record = {**{k: first.get(k) for k in _SHARED}, "kind": "agreement", "variant": "+".join(outcomes), "outcomes": outcomes,
              "expectation": None, "hazard": None, "hazard_kind": None, "matched_semantics": None, "got": None, "ulp_error": None,
              "tolerance_ulps": None, "raised": next((r["raised"] for r in records if r.get("raised")), None)}
    if len(by_outcome) == 1:
        return {**record, "verdict": verdicts.PASS, "reproducer": first.get("reproducer"),
                "explanation": f"every variant agrees ({said})"}
    # one reproducer per outcome, so the difference is seen by running them side by side
    shown = {o: next(r for r in records if r["variant"] == vs[0]) for o, vs in by_outcome.items()}
    reproducer = "\n".join(f"# {r['variant']} ({o})\n{r.get('reproducer') or ''}".rstrip() for o, r in shown.items())
    return {**record, "verdict": verdicts.VARIANTS_DISAGREE, "reproducer": reproducer,
            "explanation": f"the variants treat this invalid input differently ({said})"}
