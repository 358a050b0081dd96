"""Documentation examples: each example's printed value, its exact value, and what every implementation returned.

"doc" records (the printed value against the exact one) are joined with the judged records whose ``origin``
is ``example:<id>``, per implementation: the value for the example's own dtype when that dtype was run,
otherwise the dtype that was (and the table says which). Variants that agree share one entry.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, InvalidOperation

from reports.formatting import DEVICE_ORDER, DTYPE_ORDER, JUDGED, badge, fmt, order, sev, vclass


def short(value, items: int | None = None, digits: int = 10) -> str:
    """An exact decimal string (or a list of them, cut after ``items``) to ``digits`` significant digits."""
    if isinstance(value, (list, tuple)):
        texts = [short(v, None, digits) for v in value]
        if items is not None and len(texts) > items:
            texts = texts[:items] + [f"… ({len(value)} items)"]
        return "[" + ", ".join(texts) + "]"
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return fmt(value)
    if not d.is_finite():
        return str(value)
    return f"{d:.{digits}g}" if d else "0"


def _impl_cell(pool: list[dict], own_dtype: bool) -> dict | None:
    if not pool:
        return None
    pool = sorted(pool, key=lambda r: (DEVICE_ORDER.index(r.get("device")) if r.get("device") in DEVICE_ORDER else 9,
                                       str(r.get("variant"))))
    values, seen = [], {}
    for r in pool:
        if r.get("got") is None or r.get("kind") != "conformance":
            continue
        got = r["got"][0] if isinstance(r["got"], list) and len(r["got"]) == 1 else r["got"]
        text, full = short(got, 6), fmt(r["got"])
        where = str(r.get("variant")) + ("" if r.get("device") in (None, "cpu") else f"@{r.get('device')}")
        if text in seen:
            seen[text]["variants"].append(where)
            if sev(r.get("verdict")) > sev(seen[text]["verdict"]):
                seen[text].update(verdict=r.get("verdict"), badge=badge(r), cls=vclass(badge(r)))
        else:
            seen[text] = {"text": text, "full": full, "variants": [where], "verdict": r.get("verdict"), "badge": badge(r),
                          "cls": vclass(badge(r))}
            values.append(seen[text])
    top = max(pool, key=lambda r: sev(r.get("verdict")))
    return {
        "values": values,
        "several_variants": len({str(r.get("variant")) for r in pool}) > 1,
        "dtype_note": None if own_dtype else str(pool[0].get("dtype")),
        "badge": badge(top), "cls": vclass(badge(top)),
        "reason": "; ".join(order({str(r.get("explanation") or r.get("raised") or "") for r in pool if r.get("got") is None} - {""})),
    }


def build(records: list[dict], impls: list[str]) -> dict:
    by_origin = defaultdict(list)
    for r in records:
        if r.get("kind") in JUDGED and str(r.get("origin") or "").startswith("example:"):
            by_origin[(r["origin"], r.get("impl"))].append(r)
    rows = []
    for d in (r for r in records if r.get("kind") == "doc"):
        origin = d.get("origin") or f"example:{d.get('example')}"
        cells = []
        for impl in impls:
            recs = by_origin.get((origin, impl), [])
            own = [r for r in recs if r.get("dtype") == d.get("dtype")]
            if not own and recs:  # the example's dtype was not run: the widest one that was
                dtype = order({r.get("dtype") for r in recs}, DTYPE_ORDER)[-1]
                recs = [r for r in recs if r.get("dtype") == dtype]
            cells.append(_impl_cell(own or recs, bool(own)))
        rows.append({"r": d, "exact_short": short(d.get("exact")), "cells": cells, "drift": d.get("verdict") == "doc_drift"})
    counts = defaultdict(int)
    for row in rows:
        counts[row["r"].get("verdict")] += 1
    return {"rows": rows, "counts": [(v, counts[v]) for v in order(counts, ("doc_ok", "doc_drift", "no_printed_value"))]}
