"""The overview matrix and the drill-down of each of its cells.

Rows are loss × reduction (a loss's gradient is a row of its own, beside its value), columns implementation × device × dtype (side by side when several were run).
A cell holds every judged record of that combination (all variants, all origins); it shows its worst
verdict, the ULP error / tolerance of the record furthest beyond its tolerance, and the median ULP error.
Its drill-down holds the worst case with its inputs, the value every implementation returned for that
same case, the reproducer, a histogram of the cell's ULP errors and the expectations that cover it.
"""
from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict

from core import verdicts
from core.case import REDUCTIONS
from reports import histogram
from reports.formatting import (DEVICE_ORDER, DTYPE_ORDER, LABELS, badge, g, is_expected, num, order, ratio, sev,
                                subject, vclass, vkey)

REDUCTION_ORDER = REDUCTIONS  # the canonical order, one list


def case_key(r: dict) -> str:
    """What makes two records the same case (whatever implementation, variant or device ran it)."""
    return json.dumps([r.get(k) for k in ("loss", "params", "reduction", "dtype", "origin", "inputs")],
                      sort_keys=True, default=str)


def _failing(r: dict) -> bool:
    return r.get("verdict") not in (verdicts.PASS, verdicts.UNSUPPORTED)


def label(recs: list[dict]) -> tuple[str, str]:
    """(text, filter key) of a cell: a new failure first, then a stale expectation (xpass), then a known
    failure (xfail), then pass, then unsupported."""
    new = [r.get("verdict") for r in recs if not is_expected(r) and _failing(r)]
    if new:
        worst = max(new, key=sev)
        return str(worst), vkey(worst)
    if any(is_expected(r) and r.get("verdict") == verdicts.PASS for r in recs):
        return "xpass", "xpass"
    known = [r.get("verdict") for r in recs if is_expected(r)]
    if known:
        return f"xfail: {max(known, key=sev)}", "xfail"
    if any(r.get("verdict") == verdicts.PASS for r in recs):
        return "pass", "pass"
    return "unsupported", "unsupported"


def worst(recs: list[dict]) -> dict:
    """The record a cell's drill-down shows: the one behind its label, furthest beyond its tolerance."""
    _, key = label(recs)
    if key in ("xfail",):
        pool = [r for r in recs if is_expected(r) and _failing(r)]
    elif key == "xpass":
        pool = [r for r in recs if is_expected(r) and r.get("verdict") == verdicts.PASS]
    elif key in ("pass", "unsupported"):
        pool = [r for r in recs if r.get("verdict") == key]
    else:
        pool = [r for r in recs if not is_expected(r) and _failing(r)]
    return max(pool or recs, key=lambda r: (sev(r.get("verdict")), ratio(r)))


def _errors(recs: list[dict]) -> list[float]:
    errs = [num(r.get("ulp_error")) for r in recs]
    return [math.inf if math.isnan(e) else e for e in errs if e is not None]


def cell(recs: list[dict]) -> dict:
    """The overview cell of ``recs``: label and class from known verdicts, ULP error of the record furthest
    beyond its tolerance against that tolerance, median ULP error."""
    text, key = label(recs)
    errs = _errors(recs)
    top = max(recs, key=ratio)
    variants = order({str(r.get("variant")) for r in recs})
    expected = sum(is_expected(r) for r in recs)
    ulp = "" if top.get("ulp_error") is None else g(top["ulp_error"]) + (
        "" if top.get("tolerance_ulps") is None else f" / {g(top['tolerance_ulps'])}")
    median = g(statistics.median(errs)) if errs else ""
    unsupported = sum(r.get("verdict") == verdicts.UNSUPPORTED for r in recs)
    checked = len(recs) - unsupported
    # the tooltip of every cell of the matrix: short, the overview's legend says what each figure is
    title = f"{len(recs)} case(s)" + (f", {len(variants)} variants" if len(variants) > 1 else "")
    if unsupported and checked:
        title += f": {checked} checked, {unsupported} unsupported"
    if expected:
        title += f", {expected} expected"
    if ulp:
        title += f"; worst {ulp} ULPs"
    if median:
        title += f"; median {median}, max {g(max(errs))}"
    return {"label": text, "key": key, "cls": vclass(key if key in ("xfail", "xpass") else text), "ulp": ulp,
            "median": median, "n": len(recs), "checked": checked or len(recs), "expected": expected, "title": title}


def _siblings(r: dict, by_case: dict, impl_rank: dict) -> list[dict]:
    """The same case as run by every implementation, variant and device (``r`` first of its own kind; a case
    drawn twice with the same outcome is listed once)."""
    seen, out = set(), []
    for s in [r] + by_case.get(case_key(r), []):
        k = json.dumps([s.get(x) for x in ("impl", "variant", "device", "verdict", "got", "raised")], default=str)
        if k not in seen:
            seen.add(k)
            out.append(s)
    return sorted(out, key=lambda s: (impl_rank.get(s.get("impl"), len(impl_rank)), str(s.get("device")),
                                      str(s.get("variant"))))


def _expectations(recs: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in recs:
        e = r.get("expectation")
        if isinstance(e, dict):
            k = json.dumps(e, sort_keys=True, default=str)
            if k not in seen:
                seen.add(k)
                out.append(e)
    return out


SUMMARISED = {"pass": "compact", "xfail": "known", "xpass": "known", "unsupported": None}  # drill-downs by cell key


def noteworthy(r: dict) -> bool:
    """A case a summary drill-down lists: a failure, an expected case or a hazard (not a plain pass, nor a case the
    implementation cannot express: the coverage table counts those, with their reasons)."""
    return badge(r) not in (verdicts.PASS, verdicts.UNSUPPORTED)


def build(judged: list[dict], impls: list[str], detail: str = "full") -> dict:
    """The overview and its drill-downs. ``detail`` "full": every cell's drill-down in full, every record listed;
    "summary": a cell with a failure no expectation explains in full, listing only the cases that did not simply pass
    (``noteworthy``); a cell whose failures an expectation explains ("known": the finding that explains them holds the
    reproducer) and a passing cell ("compact") by their counts, worst case and histogram; a cell where every case is
    unsupported none (the coverage table gives the reasons)."""
    listed = None if detail == "full" else noteworthy
    impl_rank = {name: i for i, name in enumerate(impls)}
    by_cell, by_case = defaultdict(list), defaultdict(list)
    for r in judged:
        by_cell[(subject(r), r.get("reduction")), (r.get("impl"), r.get("device"), r.get("dtype"))].append(r)
        by_case[case_key(r)].append(r)

    columns = []
    for impl in impls:
        mine = [r for r in judged if r.get("impl") == impl]
        for device in order({r.get("device") for r in mine}, DEVICE_ORDER):
            for dtype in order({r.get("dtype") for r in mine if r.get("device") == device}, DTYPE_ORDER):
                columns.append((impl, device, dtype))
    row_keys = sorted({key[0] for key in by_cell},
                      key=lambda lr: (str(lr[0]), REDUCTION_ORDER.index(lr[1]) if lr[1] in REDUCTION_ORDER else 99, str(lr[1])))

    rows, drill = [], []
    for lr in row_keys:
        cells = []
        for col in columns:
            recs = by_cell.get((lr, col))
            if not recs:
                cells.append(None)
                continue
            c = {**cell(recs), "id": f"cell-{len(drill) + 1}", "impl_index": impl_rank[col[0]]}
            c["drill"] = "full" if detail == "full" or c["key"] not in SUMMARISED else SUMMARISED[c["key"]]
            c["href"] = c["id"] if c["drill"] else "coverage"
            cells.append(c)
            if not c["drill"]:
                continue
            w = worst(recs)
            counts = Counter(badge(r) for r in recs)
            drill.append({
                **c, "loss": lr[0], "reduction": lr[1], "impl": col[0], "device": col[1], "dtype": col[2],
                "counts": [(v, counts[v]) for v in order(counts, LABELS)],
                "variants": order({str(r.get("variant")) for r in recs}),
                "worst": w, "siblings": _siblings(w, by_case, impl_rank),
                "histogram": histogram.histogram(recs, w.get("tolerance_ulps")), "expectations": _expectations(recs),
                "records": sorted((r for r in recs if listed is None or listed(r)),
                                  key=lambda r: (-sev(r.get("verdict")), -ratio(r))),
            })
        rows.append({"loss": lr[0], "reduction": lr[1], "cells": cells})

    groups = [(impl, impl_rank[impl], sum(c[0] == impl for c in columns)) for impl in impls
              if any(c[0] == impl for c in columns)]
    devices = []
    for impl, device, _ in columns:
        if devices and devices[-1][0] == (impl, device):
            devices[-1][1] += 1
        else:
            devices.append([(impl, device), 1])
    return {
        "groups": groups,
        "devices": [(impl_rank[i], d, n) for (i, d), n in devices],
        "show_devices": len({c[1] for c in columns}) > 1,
        "columns": [(impl_rank[i], d, t) for i, d, t in columns],
        "rows": rows,
        "cells": drill,
        "ids": {(c["loss"], c["reduction"], c["impl"], c["device"], c["dtype"]): c["id"] for c in drill},
    }


def cell_id(r: dict, ids: dict) -> str | None:
    """The id of the drill-down holding record ``r``."""
    return ids.get((subject(r), r.get("reduction"), r.get("impl"), r.get("device"), r.get("dtype")))
