"""The HTML report: one self-contained page made from results JSON files alone.

``render(docs)`` turns loaded results documents (see ``conformance.results``) into HTML; ``write(paths, out)``
loads, renders and writes atomically. Everything printed from records goes through Jinja2's autoescape:
the filters below return plain ``str`` (never ``Markup``) and the templates never use ``|safe``.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from conformance import results

VERDICTS = ("pass", "numeric", "semantic", "nonfinite", "error", "accepted_invalid", "unsupported")
DOC_VERDICTS = ("doc_ok", "doc_drift", "no_printed_value")
SEVERITY = {"pass": 0, "unsupported": 1, "semantic": 2, "numeric": 3, "accepted_invalid": 4, "nonfinite": 5, "error": 6}
DTYPE_ORDER = ("float16", "bfloat16", "float32", "float64")
JUDGED = ("conformance", "invalid")  # record kinds that carry an implementation's verdict


def _num(x) -> float | None:
    """ULP errors and tolerances may be numbers or the writer's repr strings 'inf'/'nan'."""
    try:
        return None if x is None or isinstance(x, bool) else float(x)
    except (TypeError, ValueError):
        return None


def _g(x) -> str:
    v = _num(x)
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


def params(p) -> str:
    if not p:
        return ""
    if isinstance(p, dict):
        return ", ".join(f"{k}={fmt(v)}" for k, v in sorted(p.items()))
    return fmt(p)


def vclass(verdict) -> str:
    """A CSS class from a known verdict only; record data never reaches a class name unchecked."""
    return f"v-{verdict}" if verdict in SEVERITY or verdict in DOC_VERDICTS or verdict in ("xfail", "xpass") else "v-unknown"


def is_expected(r: dict) -> bool:
    return bool(r.get("expectation"))


def badge(r: dict) -> str:
    """The label a record shows: its verdict, or xfail/xpass when an expectation covers it."""
    if is_expected(r):
        return "xpass" if r.get("verdict") in ("pass", "doc_ok") else "xfail"
    return str(r.get("verdict"))


def ulp_vs_tol(r: dict) -> str:
    if r.get("ulp_error") is None:
        return ""
    tol = r.get("tolerance_ulps")
    return _g(r["ulp_error"]) + ("" if tol is None else f" / {_g(tol)}")


def _ratio(r: dict) -> float:
    err, tol = _num(r.get("ulp_error")), _num(r.get("tolerance_ulps"))
    if err is None:
        return -1.0
    if math.isnan(err):
        return math.inf
    return err / tol if tol and math.isfinite(tol) and tol > 0 else err


def _sev(verdict) -> int:
    return SEVERITY.get(verdict, max(SEVERITY.values()) + 1)  # an unknown verdict is shown as the worst


def cell(recs: list[dict]) -> dict:
    """One matrix cell: the worst unexpected failure, else "xfail" if any expected one, else pass/unsupported;
    and the ULP error / tolerance of the record furthest beyond its tolerance."""
    plain = [r.get("verdict") for r in recs if not is_expected(r)]
    known = [r.get("verdict") for r in recs if is_expected(r)]
    worst = max(plain, key=_sev, default="pass")
    worst_known = max(known, key=_sev, default=None)
    if worst_known is not None and _sev(worst) < _sev("semantic"):  # a new failure outranks a known one
        label, cls = f"xfail: {worst_known}", "v-xfail"
    else:
        label, cls = str(worst), vclass(worst)
    top = max(recs, key=_ratio)
    return {"label": label, "cls": cls, "ulp": ulp_vs_tol(top), "n": len(recs), "expected": len(known)}


def _order(values, preferred=()) -> list:
    values = set(values)
    return [v for v in preferred if v in values] + sorted((v for v in values if v not in preferred), key=str)


def build(docs: list[dict]) -> dict:
    """The page's view model from loaded results documents."""
    runs = [{"created": d.get("created"), **(d.get("run") or {})} for d in docs]
    records = [r for d in docs for r in d.get("records") or [] if isinstance(r, dict)]
    judged = [r for r in records if r.get("kind") in JUDGED]
    impls_meta = [i for run in runs for i in run.get("implementations") or []]
    impls = _order([r.get("impl") for r in judged], [i.get("name") for i in impls_meta])
    verdicts = _order([r.get("verdict") for r in judged], VERDICTS)

    summary = []
    for impl in impls:
        mine = [r for r in judged if r.get("impl") == impl]
        counts = {v: [sum(r.get("verdict") == v for r in mine), sum(r.get("verdict") == v and is_expected(r) for r in mine)] for v in verdicts}
        summary.append({"impl": impl, "total": len(mine), "counts": counts})

    by_cell = defaultdict(list)
    for r in judged:
        by_cell[(r.get("loss"), r.get("reduction")), (r.get("impl"), r.get("dtype"))].append(r)
    columns = [(i, d) for i in impls for d in _order({r.get("dtype") for r in judged if r.get("impl") == i}, DTYPE_ORDER)]
    rows = sorted({key[0] for key in by_cell}, key=lambda lr: (str(lr[0]), str(lr[1])))
    matrix = {
        "impls": [(i, sum(c[0] == i for c in columns)) for i in impls],
        "columns": columns,
        "rows": [{"loss": lr[0], "reduction": lr[1], "cells": [cell(by_cell[lr, c]) if by_cell.get((lr, c)) else None for c in columns]} for lr in rows],
    }

    coverage = []
    for loss in _order({r.get("loss") for r in judged}):
        cells = []
        for impl in impls:
            mine = [r for r in judged if r.get("loss") == loss and r.get("impl") == impl]
            unsup = [r for r in mine if r.get("verdict") == "unsupported"]
            reasons = _order({str(r.get("explanation") or "(no reason given)") for r in unsup})
            cells.append({"checked": len(mine) - len(unsup), "unsupported": len(unsup), "reasons": reasons})
        coverage.append({"loss": loss, "cells": cells})

    docs_recs = [r for r in records if r.get("kind") == "doc"]
    return {
        "runs": runs,
        "impls_meta": impls_meta,
        "verdicts": verdicts,
        "summary": summary,
        "matrix": matrix,
        "findings": [r for r in judged if r.get("verdict") != "pass" or is_expected(r)],
        "hazards": [r for r in judged if isinstance(r.get("hazard"), str) and r["hazard"].strip()],
        "doc_records": docs_recs,
        "doc_counts": {v: sum(r.get("verdict") == v for r in docs_recs) for v in _order({r.get("verdict") for r in docs_recs}, DOC_VERDICTS)},
        "coverage": {"impls": impls, "rows": coverage},
        "n_records": len(records),
    }


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt=fmt, params=params, vclass=vclass, ulp=ulp_vs_tol, g=_g)
    env.globals.update(badge=badge, is_expected=is_expected)
    return env


def render(docs: list[dict]) -> str:
    return _environment().get_template("report.html.j2").render(**build(docs))


def load_all(paths) -> list[dict]:
    """Load results files; anything that is not a results document is ``IncompatibleResults``."""
    docs = []
    for path in paths:
        try:
            doc = results.load(Path(path))
        except (AttributeError, TypeError):  # valid JSON that is not an object
            raise results.IncompatibleResults(f"{path}: not a lossconf results document") from None
        if not isinstance(doc.get("records"), list) or not isinstance(doc.get("run"), dict):
            raise results.IncompatibleResults(f"{path}: results document lacks 'run' or 'records'")
        docs.append(doc)
    return docs


def write(result_paths, out_path) -> Path:
    out_path = Path(out_path)
    results.atomic_write(out_path, render(load_all(result_paths)))
    return out_path
