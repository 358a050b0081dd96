"""Exact building blocks shared by the loss formulas (and the guards semantics switch on)."""
from __future__ import annotations

import contextlib
import contextvars
import functools
from dataclasses import dataclass

import mpmath
import numpy as np

from core import dtypes
from core.semantics import Semantics


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
    # For a loss whose per-sample values reduce elementwise terms (each term a function of its own elements of
    # y_true and y_pred only): the terms, shaped like the inputs, the axis they are reduced over (None: the terms
    # are the values) and what their sum is divided by. Conditioning then bumps every element at once
    # (oracle.condition), since the terms' slopes separate.
    terms: np.ndarray | None = None
    terms_axis: int | None = None
    terms_divisor: int = 1


def vectorize(fn):
    return np.frompyfunc(fn, 1, 1)


_SMOOTH = contextvars.ContextVar("smooth_intermediates", default=False)


def intermediate(value, dtype: str) -> mpmath.mpf:
    """An input-dependent intermediate a framework rounds to its compute dtype (1 - p, s + 1, sigmoid(z)...), as
    the semantics says; exact inside ``smooth_intermediates()``. Each such rounding makes the loss a staircase of
    the inputs, whose steps a finite difference would read as enormous slopes: conditioning measures the smooth
    function, and the rounding itself is one operation of the elementwise allowance."""
    return value if _SMOOTH.get() else dtypes.round_to(value, dtype)


@contextlib.contextmanager
def smooth_intermediates():
    token = _SMOOTH.set(True)
    try:
        yield
    finally:
        _SMOOTH.reset(token)


@functools.lru_cache(maxsize=4096)
def constant(value: float, dtype: str) -> mpmath.mpf:
    """A framework constant written as a Python float and converted to the compute dtype (exact at any working
    precision, so computed once per value and dtype: formulas ask for their clip bounds once per element)."""
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
        return log(intermediate(1 - p, dtype), sem)
    value = mpmath.log1p(-p) if p < 1 else (mpmath.ninf if p == 1 else mpmath.nan)
    clamp = sem["log_clamp"]
    return max(value, mpmath.mpf(clamp)) if clamp is not None and not mpmath.isnan(value) else value


def xlogy(x, logy, sem: Semantics | None = None):
    """x * log(y) with the convention 0 * log(0) = 0 (the limit), as cross-entropy means it; under a semantics
    with ``zero_times_inf`` (a framework multiplying as IEEE does) 0 * log(0) = 0 * -inf is NaN."""
    if x == 0:
        return mpmath.nan if (sem is not None and sem["zero_times_inf"] and logy == mpmath.ninf) else mpmath.mpf(0)
    return x * logy


def lazy_xlogy(x, logy, sem: Semantics | None = None):
    """``xlogy(x, logy(), sem)``, calling ``logy`` only when its value can matter: a hard label's other
    term is 0 whatever the log (unless the semantics multiplies 0 * -inf as IEEE does)."""
    if x == 0 and not (sem is not None and sem["zero_times_inf"]):
        return mpmath.mpf(0)
    return xlogy(x, logy(), sem)


_EXACT_MEMO: dict = {}
_EXACT_MEMO_SIZE = 1 << 18


def exact_memo(fn):
    """``fn`` of mpf arguments (or tuples of them), remembered by the arguments' exact bits and the working precision:
    the same inputs at the same precision give the same bits, so a hit is exactly the value a call would compute.
    For the transcendental steps that a derivative by finite differences repeats (oracle.gradient moves one input
    and evaluates the whole recursion again: CTC's exp of every frame it did not move)."""
    def bits(v):
        return tuple(map(bits, v)) if isinstance(v, (tuple, list)) else getattr(v, "_mpf_", v)

    @functools.wraps(fn)
    def remembered(*args):
        key = (fn, mpmath.mp.prec, *map(bits, args))
        hit = _EXACT_MEMO.get(key)
        if hit is None:
            if len(_EXACT_MEMO) >= _EXACT_MEMO_SIZE:
                _EXACT_MEMO.clear()
            hit = _EXACT_MEMO[key] = fn(*args)
        return hit
    return remembered


def forget() -> None:
    """Drop the values remembered by ``exact_memo`` (oracle.forget)."""
    _EXACT_MEMO.clear()


exp = exact_memo(mpmath.exp)


@exact_memo
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


def reduce_axis(terms, axis: int, sem: Semantics, how: str = "mean"):
    """(per-sample values, terms per value, normaliser) for elementwise ``terms`` reduced over ``axis``.

    ``how`` is the loss's own reduction ("mean" or "sum"); the semantics' ``axis_reduction: none`` keeps
    the elementwise terms. The normaliser is what cancellation costs: sum |t| - |sum t| (over the
    divisor), zero when every term has the sign of the total.
    """
    terms = np.asarray(terms, dtype=object)
    if sem["axis_reduction"] == "none":
        return terms, 1, None
    moved = move_axis_last(terms, axis)
    n = moved.shape[-1]
    rows = moved.reshape(-1, n)
    out = np.empty(len(rows), dtype=object)
    extra = np.empty(len(rows), dtype=object)
    divisor = n if how == "mean" else 1
    for i, row in enumerate(rows):
        total = mpmath.fsum(row)
        out[i] = total / divisor
        finite = all(mpmath.isfinite(v) for v in row)
        extra[i] = (mpmath.fsum(abs(v) for v in row) - abs(total)) / divisor if finite else mpmath.mpf(0)
    return out.reshape(moved.shape[:-1]), n, extra.reshape(moved.shape[:-1])


def from_terms(terms, axis: int, sem: Semantics, how: str = "mean") -> PerSample:
    """The PerSample of elementwise ``terms`` reduced over ``axis`` (``how``: "mean" or "sum"), terms attached."""
    terms = np.asarray(terms, dtype=object)
    values, n, extra = reduce_axis(terms, axis, sem, how)
    kept = sem["axis_reduction"] == "none"
    return PerSample(np.asarray(values, dtype=object), inner_terms=n, normaliser=extra, terms=terms,
                     terms_axis=None if kept else axis, terms_divisor=n if (how == "mean" and not kept) else 1)


def label_prefix(row) -> list[int]:
    """The labels of a padded target row: the entries before the first negative one (padding is -1)."""
    out = []
    for v in row:
        if v < 0:
            break
        out.append(int(v))
    return out
