"""The ULP errors of a cell's records as a histogram, laid out for an inline SVG.

``histogram(records)`` returns plain numbers and our own labels (the template draws the ``<svg>``; nothing
here is markup). Bins are logarithmic: [0, 0.5] ULP (correctly rounded), then (0.5, 1], (1, 2], (2, 4] ...
up to the largest error or tolerance (factors of 4, 8 ... when a factor 2 would need more than ``MAX_BINS``
bins), and one last bin for infinite or NaN errors. Each bar is split into the records within their own
tolerance (bottom) and those beyond it (top); the tolerance (or the range of tolerances) is marked.
"""
from __future__ import annotations

import math
import statistics

from reports.formatting import num

MAX_BINS = 24
BAR, GAP, LEFT, TOP, PLOT_H, BOTTOM = 16, 3, 30, 14, 80, 30


def _short(v: float) -> str:
    if not math.isfinite(v):  # the last edge of errors near the largest float overflows: it is still a label
        return "inf"
    if v < 1:
        return f"{v:g}"
    if v < 1024:
        return f"{v:g}"
    if v < 2**20:
        return f"{v / 1024:g}k"
    if v < 2**30:
        return f"{v / 2**20:g}M"
    return f"2^{round(math.log2(v))}"


def _position(value: float, factor: int) -> float:
    """Continuous bin coordinate: 0 at 0 ULP, 1 at 0.5 ULP, i+1 at 0.5 * factor**i."""
    if value <= 0.5:
        return max(value, 0.0) / 0.5
    return 1.0 + math.log(value / 0.5, factor)


def _edges(top: float) -> tuple[int, list[float]]:
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


def _coordinate(v: float) -> float | int:
    """A coordinate to a tenth of a pixel, written without a trailing .0 (thousands of them make a page)."""
    v = round(v, 1)
    return int(v) if v == int(v) else v


def histogram(records: list[dict], marked: float | None = None) -> dict | None:
    """The layout for ``records``; ``marked`` is the tolerance to draw (default: the median one)."""
    pairs = [(num(r.get("ulp_error")), num(r.get("tolerance_ulps"))) for r in records]
    pairs = [(e, t) for e, t in pairs if e is not None]
    if not pairs:
        return None
    finite = [(e, t) for e, t in pairs if math.isfinite(e)]
    nonfinite = [(e, t) for e, t in pairs if not math.isfinite(e)]
    tols = sorted(t for _, t in pairs if t is not None and math.isfinite(t) and t >= 0)
    mark = num(marked)
    if mark is None or not math.isfinite(mark):
        mark = statistics.median(tols) if tols else None
    top = max([e for e, _ in finite] + ([mark] if mark is not None else []) + [0.5])
    factor, edges = _edges(top)

    within, beyond = [0] * len(edges), [0] * len(edges)
    for e, t in finite:
        i = _bin(e, edges)
        if t is not None and e <= t:
            within[i] += 1
        else:
            beyond[i] += 1
    columns = [(w, b) for w, b in zip(within, beyond)] + ([(0, len(nonfinite))] if nonfinite else [])
    highest = max(w + b for w, b in columns) or 1
    scale = PLOT_H / highest
    step = BAR + GAP
    width = LEFT + step * len(columns) + 12
    base = TOP + PLOT_H

    bars = []
    for i, (w, b) in enumerate(columns):
        last = nonfinite and i == len(columns) - 1
        lower = 0.0 if i == 0 else edges[i - 1]
        span = "inf or NaN" if last else (f"[0, {edges[0]:g}]" if i == 0 else f"({lower:g}, {edges[i]:g}]")
        x = LEFT + i * step
        h_in, h_out = w * scale, b * scale
        bars.append({
            "x": _coordinate(x), "w": BAR,
            "y_in": _coordinate(base - h_in), "h_in": _coordinate(h_in),
            "y_out": _coordinate(base - h_in - h_out), "h_out": _coordinate(h_out),
            "count": w + b, "nonfinite": bool(last),
            "title": f"{span}: {w} within tolerance, {b} beyond",
        })
    every = 1 if len(edges) <= 12 else 2
    labels = [{"x": round(LEFT + (i + 1) * step - GAP / 2, 1), "text": _short(edges[i])}
              for i in range(len(edges)) if (len(edges) - 1 - i) % every == 0]  # the last edge always labelled
    if nonfinite:
        labels.append({"x": round(LEFT + len(edges) * step + BAR / 2, 1), "text": "inf/NaN", "middle": True})

    tol = None
    if mark is not None:
        x = LEFT + _position(mark, factor) * step
        text = f"tolerance {mark:.3g}" + (" (worst case)" if num(marked) == mark else "")
        room = 4.6 * len(text)  # about what 9px text takes: the side of the line it fits on, else centred on it
        anchor = "start" if x + room <= width else "end" if x - room >= 0 else "middle"
        tol = {"x": round(x, 1), "text": text, "anchor": anchor}
    spread = f"; tolerances {tols[0]:.3g} to {tols[-1]:.3g}" if tols and f"{tols[0]:.3g}" != f"{tols[-1]:.3g}" else ""
    return {
        "width": round(width), "height": base + BOTTOM, "base": base, "left": LEFT, "top": TOP,
        "right": round(LEFT + step * len(columns)), "max_count": highest, "bars": bars, "labels": labels, "tol": tol,
        "n": len(pairs), "without_error": len(records) - len(pairs),
        # the colours' legend is the Cells section's, once for every histogram of the page
        "caption": f"ULP errors of {len(pairs)} case(s), bins ×{factor}" + spread,
    }


def compact(h: dict) -> list:
    """The layout as the page carries it, drawn by its script when a drill-down opens (a thousand inline SVGs were a
    third of a report): [width, height, base, left, top, right, max count, tolerance [x, text, anchor] or 0, bars
    [x, y_in, h_in, y_out, h_out, count, nonfinite, title] (the empty ones left out), labels [x, text, middle], bar width]."""
    tol = [h["tol"]["x"], h["tol"]["text"], h["tol"]["anchor"]] if h["tol"] else 0
    bars = [[b["x"], b["y_in"], b["h_in"], b["y_out"], b["h_out"], b["count"], int(b["nonfinite"]), b["title"]]
            for b in h["bars"] if b["count"]]
    labels = [[label["x"], label["text"], int(bool(label.get("middle")))] for label in h["labels"]]
    return [h["width"], h["height"], h["base"], h["left"], h["top"], h["right"], h["max_count"], tol, bars, labels, BAR]
