"""Findings: every judged case that did not simply pass (or that an expectation covers, or that is a hazard), grouped
and worst first, unsupported cases aside (the coverage table counts them, with their reasons); hazards (conforming, but their convention moves them from the ideal) rank below every failure, one
group per cause (implementation, variant, loss, quantity, semantics, dtype, hazard kind).

Cases that differ only in their drawn inputs (same implementation, variant, device, loss, parameters,
reduction, dtype, origin, verdict and message) form one group, shown once by its worst case with a count:
five hundred copies of one exception are one finding. The worst ``CODE_PER_CELL`` groups of each overview
cell carry their reproducer on the page; the results JSON holds every one.
"""
from __future__ import annotations

import json
from collections import Counter

from core import verdicts
from reports import matrix
from reports.formatting import badge, is_expected, ratio, sev

CODE_PER_CELL = 5


def _group_key(r: dict) -> str:
    if badge(r) == verdicts.HAZARD:  # one finding per cause: the sentence carries each case's own ULP count
        keys = ("impl", "variant", "device", "loss", "quantity", "mode", "semantics", "dtype", "hazard_kind")
        return json.dumps([verdicts.HAZARD] + [r.get(k) for k in keys], sort_keys=True, default=str)
    keys = ("impl", "variant", "device", "loss", "params", "reduction", "dtype", "origin", "verdict", "raised",
            "matched_semantics", "invalid_reason")
    return json.dumps([badge(r)] + [r.get(k) for k in keys], sort_keys=True, default=str)


def build(judged: list[dict], impls: list[str], cell_ids: dict) -> list[dict]:
    rank = {name: i for i, name in enumerate(impls)}
    groups: dict[str, list[dict]] = {}
    for r in judged:
        if r.get("verdict") == verdicts.UNSUPPORTED:
            continue  # a case the implementation cannot express: the coverage table's, never a finding
        if r.get("verdict") != verdicts.PASS or is_expected(r) or r.get("hazard"):
            groups.setdefault(_group_key(r), []).append(r)
    rows = []
    for members in groups.values():
        worst = max(members, key=ratio)
        rows.append({"r": worst, "count": len(members), "cell": matrix.cell_id(worst, cell_ids)})
    rows.sort(key=lambda f: (-sev(f["r"].get("verdict")), is_expected(f["r"]), rank.get(f["r"].get("impl"), len(rank)),
                             str(f["r"].get("loss")), str(f["r"].get("reduction")), str(f["r"].get("dtype")), -ratio(f["r"])))
    per_cell = Counter()
    for f in rows:
        per_cell[f["cell"]] += 1
        f["code"] = per_cell[f["cell"]] <= CODE_PER_CELL
    return rows
