"""The port view of a side-by-side run (``--impl a,b[,c]``, or ``python -m reports a.json b.json``): per loss and pair of
implementations, whether they agree with each other on the same draws, their largest relative difference in plain
terms, and the conventions on each side that explain it.

Draws are paired by their ``draw`` key (``core.case.Case.draw_key``: the loss, inputs, parameters, reduction and
dtype as drawn, whatever semantics each implementation declares): with one seed, every implementation draws the same
inputs. Each implementation is read through one variant (its first by ``PRIMARY``). Two results agree when they differ by
no more than the sum of their tolerances, in ULPs of the dtype, relative to the larger; a draw one computes and the
other does not (inf/NaN, an error) is a difference of its own. The conventions are each side's declared semantics, and
the switches of the spec (``specs/<loss>.yaml``) on which they differ: what moves one result from the other.
"""
from __future__ import annotations

import math
from collections import defaultdict
from itertools import combinations

import numpy as np

from core.dtypes import float_format
from core.semantics import DEFAULTS
from reports.formatting import num, order

PRIMARY = ("default", "class", "function", "functional")  # the variant a port view reads each implementation through


def _values(got) -> np.ndarray | None:
    try:
        return np.asarray(np.asarray(got, dtype=object).ravel().tolist(), dtype=float)
    except (TypeError, ValueError):
        return None


def relative_difference(a, b) -> float:
    """The largest |a - b| / max(|a|, |b|) over the elements (0 where both are 0, or the same inf or both NaN; inf where
    one is finite and the other not, or the shapes differ)."""
    x, y = _values(a), _values(b)
    if x is None or y is None or x.shape != y.shape:
        return math.inf
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    finite = np.isfinite(x) & np.isfinite(y)
    if np.any(~same & ~finite):
        return math.inf
    scale = np.maximum(np.abs(x), np.abs(y))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(same, 0.0, np.abs(x - y) / np.where(scale > 0, scale, 1.0))
    return float(rel.max()) if rel.size else 0.0


def _epsilon(dtype) -> float:
    """The dtype's ULP at 1 (2**(1 - p)): a tolerance in ULPs, relative; 0 for a dtype the formats do not know."""
    try:
        return 2.0 ** (1 - float_format(str(dtype)).mantissa_bits)
    except ValueError:
        return 0.0


def _primary(records: list[dict]) -> dict:
    return min(records, key=lambda r: (PRIMARY.index(r.get("variant")) if r.get("variant") in PRIMARY else len(PRIMARY),
                                      str(r.get("variant"))))


def _switches(loss: str, semantics: str) -> dict:
    import specs  # late: a report of saved results needs the specs only for a side-by-side view

    try:
        return {**DEFAULTS, **specs.all_specs()[loss].semantics(semantics).switches}
    except (KeyError, ValueError):
        return {}


def conventions(loss: str, a: tuple[str, set], b: tuple[str, set]) -> str:
    """Each side's declared semantics, and the switches on which they differ (values as each side sets them)."""
    (impl_a, sem_a), (impl_b, sem_b) = a, b
    parts = [f"{impl_a}: {', '.join(sorted(sem_a))}", f"{impl_b}: {', '.join(sorted(sem_b))}"]
    if len(sem_a) == 1 and len(sem_b) == 1 and sem_a != sem_b:
        sa, sb = _switches(loss, next(iter(sem_a))), _switches(loss, next(iter(sem_b)))
        differ = sorted(k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k))
        if differ:
            parts[0] += " (" + ", ".join(f"{k} {sa.get(k)}" for k in differ) + ")"
            parts[1] += " (" + ", ".join(f"{k} {sb.get(k)}" for k in differ) + ")"
    elif sem_a == sem_b:
        return f"both declare {', '.join(sorted(sem_a))}"
    return "; ".join(parts)


def build(judged: list[dict], impls: list[str]) -> list[dict]:
    """One row per loss and pair of implementations that both computed some common draw (none for a single one)."""
    if len(impls) < 2:
        return []
    draws: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))  # loss -> (draw, reduction) -> impl -> records
    for r in judged:
        if r.get("kind") == "conformance" and r.get("draw") and r.get("quantity") != "gradient":
            draws[str(r.get("loss"))][(r["draw"], r.get("reduction"))][r.get("impl")].append(r)
    rows = []
    for loss in order(draws):
        for a, b in combinations(impls, 2):
            pairs = [(_primary(by[a]), _primary(by[b])) for by in draws[loss].values() if by.get(a) and by.get(b)]
            if not pairs:
                continue
            compared = []
            for ra, rb in pairs:
                rel = relative_difference(ra.get("got"), rb.get("got"))
                tol = sum(num(r.get("tolerance_ulps")) or 0.0 for r in (ra, rb)) * _epsilon(ra.get("dtype"))
                compared.append((rel, rel <= tol, ra, rb))
            differing = [c for c in compared if not c[1]]
            rel, _, ra, rb = max(compared, key=lambda c: (not c[1], c[0]))
            rows.append({
                "loss": loss, "a": a, "b": b, "draws": len(compared), "differ": len(differing), "agree": not differing,
                "largest": rel, "worst": (ra, rb),
                "in_words": _in_words(rel, ra, rb, a, b),
                "conventions": conventions(loss, (a, {str(p[0].get("semantics")) for p in pairs}),
                                           (b, {str(p[1].get("semantics")) for p in pairs})),
            })
    return rows


def _short(got) -> str:
    values = _values(got)
    if values is None or not values.size:
        return str(got)[:30]
    text = ", ".join(f"{v:.6g}" for v in values[:3]) + (f", … ({values.size} values)" if values.size > 3 else "")
    return f"[{text}]" if values.size > 1 else text


def _in_words(rel: float, ra: dict, rb: dict, a: str, b: str) -> str:
    where = f"{ra.get('dtype')}, {ra.get('reduction')}, {ra.get('origin')}"
    if rel == 0:
        return "identical results"
    x, y = _values(ra.get("got")), _values(rb.get("got"))
    if x is not None and y is not None and x.shape != y.shape:
        size = f"results of different sizes ({x.size} and {y.size} values)"
    elif math.isinf(rel):
        size = "inf or NaN on one side only"
    else:
        size = f"{rel:.2g} relative" + (f" (about {rel * 100:.2g}%)" if rel >= 1e-4 else "")
    return f"largest difference {size} at {where}: {a} {_short(ra.get('got'))}, {b} {_short(rb.get('got'))}"
