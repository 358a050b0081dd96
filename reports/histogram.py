"""The ULP errors of a cell's records as a histogram: its bins and counts, drawn by the page's script.

``histogram(records)`` returns plain numbers (``reports/templates/report.js``, ``draw``, lays out the ``<svg>``
from them when a drill-down opens, so the page carries a few counts per cell rather than its bars' geometry).
Bins are logarithmic: [0, 0.5] ULP (correctly rounded), then (0.5, 1], (1, 2], (2, 4] ... up to the largest error
or tolerance (factors of 4, 8 ... when a factor 2 would need more than ``MAX_BINS`` bins), and one last bin for
infinite or NaN errors. Each bin counts the records within their own tolerance and those beyond it; the tolerance
to mark is the worst case's (else the median one).
"""
from __future__ import annotations

import math
import statistics

from reports.formatting import num

MAX_BINS = 24


def _edges(top: float) -> tuple[int, list[float]]:
    """The factor and upper edges 0.5 * factor**i of the finite bins, the last at or above ``top``."""
    factor = 2
    while True:
        edges = [0.5]
        while edges[-1] < top:
            edges.append(edges[-1] * factor)
        if len(edges) <= MAX_BINS:
            return factor, edges
        factor *= 2


def _bin(value: float, edges: list[float]) -> int:
    for i, upper in enumerate(edges):
        if value <= upper:
            return i
    return len(edges) - 1


def histogram(records: list[dict], marked: float | None = None) -> dict | None:
    """The bins of ``records``' ULP errors; ``marked`` is the tolerance to mark (default: the median one)."""
    pairs = [(num(r.get("ulp_error")), num(r.get("tolerance_ulps"))) for r in records]
    pairs = [(e, t) for e, t in pairs if e is not None]
    if not pairs:
        return None
    finite = [(e, t) for e, t in pairs if math.isfinite(e)]
    tols = sorted(t for _, t in pairs if t is not None and math.isfinite(t) and t >= 0)
    mark = num(marked)
    worst = mark is not None and math.isfinite(mark)
    if not worst:
        mark = statistics.median(tols) if tols else None
    factor, edges = _edges(max([e for e, _ in finite] + ([mark] if mark is not None else []) + [0.5]))

    within, beyond = [0] * len(edges), [0] * len(edges)
    for e, t in finite:
        (within if t is not None and e <= t else beyond)[_bin(e, edges)] += 1
    spread = f"; tolerances {tols[0]:.3g} to {tols[-1]:.3g}" if tols and f"{tols[0]:.3g}" != f"{tols[-1]:.3g}" else ""
    return {
        "factor": factor, "edges": edges, "within": within, "beyond": beyond, "nonfinite": len(pairs) - len(finite),
        "mark": mark, "mark_is_worst": worst, "n": len(pairs), "without_error": len(records) - len(pairs),
        # the colours' legend is the Cells section's, once for every histogram of the page
        "caption": f"ULP errors of {len(pairs)} case(s), bins ×{factor}" + spread,
    }


def compact(h: dict) -> list:
    """The histogram as the page carries it: [factor, number of finite bins, [[bin, within, beyond] of each bin that
    is not empty], inf/NaN count, tolerance to mark or null, 1 if that is the worst case's]. The bins' edges are
    0.5 * factor**i, so the script recomputes them (a thousand drawn SVGs were a third of a report, their layouts a
    tenth of the side-by-side one)."""
    bins = [[i, w, b] for i, (w, b) in enumerate(zip(h["within"], h["beyond"])) if w or b]
    return [h["factor"], len(h["edges"]), bins, h["nonfinite"], h["mark"], int(h["mark_is_worst"])]
