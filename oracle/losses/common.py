"""Exact building blocks shared by the loss formulas (and the guards semantics switch on)."""
from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from conformance import dtypes
from oracle.semantics import Semantics


@dataclass
class PerSample:
    values: np.ndarray  # object array of mpf: l, after the loss's own axis reduction
    mask: np.ndarray | None = None  # True where the element counts (ignored labels are False)
    inner_terms: int = 1  # terms summed into each element of ``values``
    item_weights: np.ndarray | None = None  # class weights c_y per element, when the loss has them
    # Per element, the magnitude of a normalising sum the loss takes the log of (sum exp z or sum p),
    # times how much of it enters: rounding that sum of inner_terms terms moves l by this much per u.
    normaliser: np.ndarray | None = None
    # Per element, the length the loss is normalised by under reduction mean_by_length (CTC: the number of
    # labels of each sequence); None for a loss that has no lengths, to which that reduction does not apply.
    lengths: np.ndarray | None = None


def vectorize(fn):
    return np.frompyfunc(fn, 1, 1)


def constant(value: float, dtype: str) -> mpmath.mpf:
    """A framework constant written as a Python float and converted to the compute dtype."""
    return dtypes.round_to(mpmath.mpf(float(value)), dtype)


def clip_bounds(sem: Semantics, dtype: str):
    eps = sem["clip_epsilon"]
    if not sem["round_constants"]:
        exact_eps = mpmath.mpf(str(eps))  # the decimal constant as written in the source
        return exact_eps, 1 - exact_eps
    # Keras writes clip_by_value(p, epsilon(), 1.0 - epsilon()): 1 - eps is a Python float first.
    return constant(eps, dtype), constant(1.0 - float(eps), dtype)


def clip(x, low, high):
    return min(max(x, low), high)


def log(x, sem: Semantics):
    value = mpmath.log(x) if x > 0 else (mpmath.ninf if x == 0 else mpmath.nan)
    clamp = sem["log_clamp"]
    return max(value, mpmath.mpf(clamp)) if clamp is not None and not mpmath.isnan(value) else value


def log_one_minus(p, sem: Semantics, dtype: str):
    if sem["one_minus_in_dtype"]:
        return log(dtypes.round_to(1 - p, dtype), sem)
    value = mpmath.log1p(-p) if p < 1 else (mpmath.ninf if p == 1 else mpmath.nan)
    clamp = sem["log_clamp"]
    return max(value, mpmath.mpf(clamp)) if clamp is not None and not mpmath.isnan(value) else value


def xlogy(x, logy, sem: Semantics | None = None):
    """x * log(y) with the convention 0 * log(0) = 0 (the limit), as cross-entropy means it; under a semantics
    with ``zero_times_inf`` (a framework multiplying as IEEE does) 0 * log(0) = 0 * -inf is NaN."""
    if x == 0:
        return mpmath.nan if (sem is not None and sem["zero_times_inf"] and logy == mpmath.ninf) else mpmath.mpf(0)
    return x * logy


def softplus(x):
    """log(1 + exp(x)), exactly (no overflow at any working precision); softplus(+-inf) = inf, 0."""
    if mpmath.isinf(x):
        return x if x > 0 else mpmath.mpf(0)
    return x + mpmath.log1p(mpmath.exp(-x)) if x > 0 else mpmath.log1p(mpmath.exp(x))


def logsumexp(values):
    top = max(values)
    return top + mpmath.log(mpmath.fsum(mpmath.exp(v - top) for v in values))


def move_axis_last(a: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(a, axis, -1)


def axis_mean(terms: np.ndarray, axis: int, sem: Semantics) -> tuple[np.ndarray, int]:
    """Mean over ``axis`` (Keras convention), or the elementwise terms themselves (torch, TF1)."""
    if sem["axis_reduction"] == "none":
        return terms, 1
    moved = move_axis_last(terms, axis)
    n = moved.shape[-1]
    rows = moved.reshape(-1, n)
    out = np.empty(rows.shape[0], dtype=object)
    for i, row in enumerate(rows):
        out[i] = mpmath.fsum(row) / n
    return out.reshape(moved.shape[:-1]), n


def label_prefix(row) -> list[int]:
    """The labels of a padded target row: the entries before the first negative one (padding is -1)."""
    out = []
    for v in row:
        if v < 0:
            break
        out.append(int(v))
    return out
