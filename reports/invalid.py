"""The invalid-input matrix: each invalid input class against each implementation, and what it did.

Rows are the generated invalid inputs (``loss/class``, from the record's origin); a cell says whether the
implementation raised (as it should), propagated an inf/NaN of the input, returned inf/NaN made from finite input
(silently), accepted the input with a finite value, could not express it, or failed (a crash or hang costs the case
an ``error``); and whether the implementation's variants agreed on it.
"""
from __future__ import annotations

from core import verdicts

from reports.formatting import is_expected


def outcome(record: dict) -> tuple[str, str]:
    """(label, css verdict class) of one invalid-input record."""
    verdict = record.get("verdict")
    if verdict == verdicts.ACCEPTED_INVALID:
        got = record.get("got")
        values = got if isinstance(got, list) else [] if got is None else [got]
        shown = ", ".join(f"{v:.4g}" if isinstance(v, (int, float)) else str(v) for v in values[:3])
        return f"accepted {shown}".strip(), "accepted_invalid"
    if verdict == verdicts.NONFINITE_INVALID:
        return "inf/NaN, silent", "nonfinite_invalid"
    if verdict == verdicts.VARIANTS_DISAGREE:
        return "variants disagree", "variants_disagree"
    if record.get("outcomes"):  # the variants' agreement: each variant's own cell already says what it did
        return "variants agree", "pass"
    if verdict == verdicts.PASS:
        return ("raised" if record.get("raised") else "propagated inf/NaN"), "pass"
    if verdict == verdicts.UNSUPPORTED:
        return "unsupported", "unsupported"
    return verdict or "?", "error"


def build(judged: list[dict], impls: list[str]) -> list[dict]:
    rows: dict[str, dict] = {}
    for r in judged:
        if r.get("kind") not in ("invalid", "agreement"):
            continue
        key = str(r.get("origin", "")).removeprefix("invalid:")
        row = rows.setdefault(key, {"input": key, "why": r.get("invalid_reason"), "cells": {}})
        label, css = outcome(r)
        row["cells"].setdefault(r.get("impl"), []).append(
            {"label": label, "css": css, "expected": is_expected(r), "variant": r.get("variant"),
             # an agreement's hover text is what each variant did
             "raised": r.get("explanation") if r.get("kind") == "agreement" else r.get("raised")})
    return [{**row, "cells": [row["cells"].get(impl, []) for impl in impls]} for _, row in sorted(rows.items())]
