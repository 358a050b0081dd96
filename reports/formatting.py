"""Verdicts and values as text: the small vocabulary every part of the report shares.

Every function returns plain ``str`` (never ``Markup``): Jinja2's autoescape escapes whatever comes from
records. CSS class names are made from known verdicts only (``vclass``).
"""
from __future__ import annotations

import json
import math

from core import verdicts
from core.findings import subject  # noqa: F401  (re-exported: what a record checks, a row of the report each)
from core.verdicts import DOC_VERDICTS, SEVERITY, VERDICTS  # noqa: F401  (re-exported for the report modules)

DTYPE_ORDER = ("float16", "bfloat16", "float32", "float64")
DEVICE_ORDER = ("cpu", "cuda")
JUDGED = ("conformance", "invalid", "agreement")  # record kinds that carry an implementation's verdict
#: every label a cell, finding or filter can carry, in the order the legend shows them
LABELS = ("pass", "hazard", "semantic", "numeric", "variants_disagree", "nonfinite_invalid", "accepted_invalid", "nonfinite", "error",
          "unsupported", "xfail", "xpass")
EXPLAIN = {
    "pass": "within tolerance of the exact value under the declared semantics",
    "hazard": "conforms to its declared convention, but that convention moves the value from the ideal loss (to inf/NaN, beyond the dtype's precision, or zeroing a derivative)",
    "semantic": "beyond tolerance, but matches another documented convention (named)",
    "numeric": "beyond tolerance of the exact value",
    "variants_disagree": "variants of one implementation (eager and compiled, class and function) treat one invalid input differently",
    "nonfinite_invalid": "returned inf/NaN, without raising, for finite input outside the loss's domain (silent in training)",
    "accepted_invalid": "returned a finite number for an input outside the loss's domain instead of raising",
    "nonfinite": "returned inf or NaN where the exact value is finite",
    "error": "raised (or crashed) on valid input",
    "unsupported": "the implementation cannot express the case; shown, never dropped",
    "xfail": "a known finding recorded in the expectations file",
    "xpass": "covered by an expectation but passes now: the expectation is stale",
}


def num(x) -> float | None:
    """ULP errors and tolerances may be numbers or the writer's repr strings 'inf'/'nan'."""
    try:
        return None if x is None or isinstance(x, bool) else float(x)
    except Exception:  # text, a list, or a key the record lacks (a template's undefined)
        return None


def g(x) -> str:
    """A number in 3 significant digits ('inf'/'nan' kept); anything else as text."""
    v = num(x)
    if v is None:
        return "" if x is None else str(x)
    return str(v) if not math.isfinite(v) else f"{v:.3g}"


def fmt(value, limit: int | None = None) -> str:
    """A value as short text: lists bracketed (cut after ``limit`` items), None as empty."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        items = [fmt(v) for v in value]
        if limit is not None and len(items) > limit:
            items = items[:limit] + [f"… ({len(value)} items)"]
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def lines(value) -> str:
    """A scalar or a list of values, one per line (exact digits kept)."""
    if isinstance(value, (list, tuple)):
        return "\n".join(fmt(v) for v in value)
    return fmt(value)


def array_text(a) -> str:
    """A record's input array ({"dtype", "shape", "data"}) as rows of numbers, one row per line."""
    if not isinstance(a, dict):
        return ""
    data = a.get("data")

    def rows(x, depth=0):
        if isinstance(x, list) and x and isinstance(x[0], list):
            return (",\n" + " " * (depth + 1)).join(rows(r, depth + 1) for r in x).join("[]")
        return fmt(x)

    if a.get("repeats"):  # a long run of one row, stored once (core.case.row_runs)
        return "\n".join(f"{rows(row)}  × {n}" for row, n in zip(data, a["repeats"]))
    return rows(data)


def shape_text(a) -> str:
    if not isinstance(a, dict):
        return ""
    return f"{fmt(a.get('dtype'))} {tuple(a.get('shape') or ())}"


def params(p) -> str:
    if not p:
        return ""
    if isinstance(p, dict):
        return ", ".join(f"{k}={fmt(v)}" for k, v in sorted(p.items()))
    return fmt(p)


def vclass(verdict) -> str:
    """A CSS class from a known verdict only; record data never reaches a class name unchecked."""
    known = verdict in SEVERITY or verdict in DOC_VERDICTS or verdict in ("xfail", "xpass", verdicts.HAZARD)
    return f"v-{verdict}" if known else "v-unknown"


def vkey(verdict) -> str:
    """A filter key: a known label, or 'unknown'."""
    return verdict if verdict in LABELS else "unknown"


def is_expected(r: dict) -> bool:
    """An expectation covers the record (an unsupported case is never a finding, whatever matches it)."""
    return bool(r.get("expectation")) and r.get("verdict") != verdicts.UNSUPPORTED


def badge(r: dict) -> str:
    """The label a record shows: its verdict, hazard for a conforming result whose convention moves it from the ideal
    (acknowledged or not), or xfail/xpass when an expectation covers it."""
    if r.get("hazard") and r.get("verdict") == verdicts.PASS:
        return verdicts.HAZARD
    if is_expected(r):
        return "xpass" if r.get("verdict") in (verdicts.PASS, verdicts.DOC_OK, verdicts.NO_PRINTED_VALUE) else "xfail"
    return str(r.get("verdict"))


def ulp_vs_tol(r: dict) -> str:
    if r.get("ulp_error") is None:
        return ""
    tol = r.get("tolerance_ulps")
    return g(r["ulp_error"]) + ("" if tol is None else f" / {g(tol)}")


def ratio(r: dict) -> float:
    """How far beyond its tolerance a record is (NaN errors rank first, records without an error last)."""
    err, tol = num(r.get("ulp_error")), num(r.get("tolerance_ulps"))
    if err is None:
        return -1.0
    if math.isnan(err):
        return math.inf
    return err / tol if tol and math.isfinite(tol) and tol > 0 else err


def sev(verdict) -> int:
    return SEVERITY.get(verdict, max(SEVERITY.values()) + 1)  # an unknown verdict is shown as the worst


def order(values, preferred=()) -> list:
    values = set(values)
    return [v for v in preferred if v in values] + sorted((v for v in values if v not in preferred), key=str)
