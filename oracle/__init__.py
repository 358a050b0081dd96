"""The oracle: the exact value of a loss, under a named semantics, with certified bits.

    oracle.evaluate(case) -> Exact
    oracle.evaluate_loss(loss, *inputs, reduction="none", semantics="ideal",
                         sample_weight=None, dtype="float64", **params) -> Exact
    oracle.evaluate_gradient(case, wrt, cotangent=None, semantics=None) -> ExactGradient
    oracle.gradient_of_loss(loss, *inputs, wrt=("y_pred",), cotangent=None, reduction="sum", ...) -> ExactGradient

``inputs`` are the loss's inputs in its spec's order (``y_true, y_pred`` for most losses).

Inputs are taken at their exact binary values after rounding to the case's dtype. Everything is
evaluated in mpmath at a working precision far beyond float64; each value is computed at p and 2p bits
and only the agreeing bits are certified (oracle.precision). Inputs outside the loss's domain raise
ValueError with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

import specs
from core import phases
from core.case import Case
from oracle import cache, precision, reductions, runs
from oracle.losses.common import smooth_intermediates
from oracle.domain import DomainError
from oracle.reductions import NotApplicable
# the case's own expression (inputs as read, per-sample losses, their memo), shared with oracle.gradient; the names
# other layers and tests reach through ``oracle`` stay importable from here
from oracle.expression import (_PER_SAMPLE_MEMO, _inputs, _measured, _memo_key,  # noqa: F401
                               _per_sample, _per_sample_memoised, _remember, _ulp_dtype, anonymous, forget, prepare)
from oracle.gradient import ExactGradient, evaluate_gradient
from core.semantics import Semantics, flushes

__all__ = ["evaluate", "estimate", "evaluate_loss", "condition", "prepare", "Exact", "DomainError", "NotApplicable",
           "evaluate_gradient", "gradient_of_loss", "ExactGradient"]

try:  # gmpy2 makes mpmath about twice as fast; mpmath picks it up by itself when installed
    import gmpy2  # noqa: F401
except ImportError:  # pragma: no cover
    pass


@dataclass(frozen=True)
class Exact:
    value: object  # mpf, or an object ndarray of mpf for reduction "none"
    certified_bits: int
    semantics: Semantics
    n_terms: int  # elementwise terms that the axis reduction and the reduction add up
    # the magnitude a summation may round against: sum_i |w_i| (|l_i| + normaliser_i) / denominator,
    # or, for reduction "none", one such magnitude per output element (an object array)
    abs_terms: object
    ulp_dtype: str  # the dtype whose ULPs measure the error (a semantics may force float32)
    flush: bool = False  # the format has no subnormals here (FTZ): the gap around zero is the smallest normal
    inner_terms: int = 1  # terms summed into each per-sample value (what one element of "none" adds up)
    # 1 / the reduction's denominator (1 for none and sum): what an absolute error of the summed terms is multiplied
    # by in the result (a weighted mean's denominator may be a sum of tiny weights, far below 1)
    denominator_scale: object = 1

    def as_float(self) -> np.ndarray:
        return np.asarray(np.vectorize(float, otypes=[np.float64])(np.asarray(self.value, dtype=object)))

    def digits(self, n: int = 40) -> str | list:
        if isinstance(self.value, np.ndarray):
            return [mpmath.nstr(v, n) for v in self.value.ravel()]
        return mpmath.nstr(self.value, n)


def _denominator_scale(reduction: str, per: "object", w, m, batch: int):
    """1/denominator of the reduction, to scale the summed magnitude (exact)."""
    count = int(m.sum()) if m is not None else per.values.size
    if reduction in ("none", "sum"):
        return mpmath.mpf(1)
    if reduction == "sum_over_batch_size":
        return mpmath.mpf(1) / count if count else mpmath.mpf(1)
    if reduction == "batchmean":
        return mpmath.mpf(1) / batch
    if reduction == "mean_by_length":  # the lengths divide each element first (reductions.length_divisors)
        return mpmath.mpf(1) / count if count else mpmath.mpf(1)
    if reduction in ("mean_with_sample_weight", "weighted_mean"):
        total = reductions.array_sum(w) if w is not None else mpmath.mpf(per.values.size)
        return 1 / total if total else mpmath.mpf(1)
    if reduction == "sum_by_nonzero_weights":
        n = count if w is None else runs.count_nonzero(w)
        return mpmath.mpf(1) / n if n else mpmath.mpf(1)
    raise ValueError(f"unknown reduction {reduction!r}")


def _evaluate(spec, params, sem: Semantics, case: Case, arrays: dict, own_inputs: bool = False):
    """One evaluation at the current working precision: (value, n_terms, abs_terms, inner_terms, denominator_scale).
    ``own_inputs``:
    ``arrays`` are the case's own inputs (not moved ones), so the per-sample losses may be shared."""
    if own_inputs:
        per, w, batch = _per_sample_memoised(spec, params, sem, case, arrays)
    else:
        per, w, batch = _per_sample(spec, params, sem, case, arrays)
    raw = reductions.array_sum(arrays["sample_weight"]) if "sample_weight" in arrays else None
    value = reductions.reduce(per.values, w, per.mask, case.reduction, sem, batch, raw, per.lengths)
    mags = reductions.magnitudes(per.values, w, per.mask, per.normaliser)
    divisors = reductions.length_divisors(per.lengths, per.values.shape, case.reduction)
    if divisors is not None:  # mean_by_length: each element enters the sum divided by its length
        mags = mags / divisors
    counted = int(per.mask.sum()) if per.mask is not None else per.values.size
    if case.reduction == "none":
        return value, counted * per.inner_terms, mags, per.inner_terms, mpmath.mpf(1)
    scale = _denominator_scale(case.reduction, per, w, per.mask, batch)
    return value, counted * per.inner_terms, reductions.array_sum(mags) * scale, per.inner_terms, scale


@phases.timed("oracle")
def evaluate(case: Case, semantics: Semantics | None = None) -> Exact:
    """The exact value of ``case`` (under ``semantics`` when given, else the case's own); cached on disk."""
    spec, params, declared = prepare(case)
    sem = semantics or declared
    k = cache.key(case, sem, "evaluate")
    hit = cache.get(k)
    if hit is not None:
        return hit
    exact = _evaluate_certified(spec, params, sem, case)
    cache.put(k, exact)
    return exact


@phases.timed("oracle")
def estimate(case: Case, semantics: Semantics | None = None) -> Exact:
    """The value at the first working precision of ``evaluate``, uncertified (certified_bits 0): enough to rule
    a candidate convention out before paying for its certification, which then reuses this evaluation."""
    spec, params, declared = prepare(case)
    sem = semantics or declared
    hit = cache.get(cache.key(case, sem, "evaluate"))
    if hit is not None:
        return hit
    with mpmath.workprec(precision.START_BITS):
        value, n, mags, inner, scale = _evaluate(spec, params, sem, case, _inputs(case, sem), own_inputs=True)
    ulp_dtype = _ulp_dtype(sem, case)
    return Exact(value, 0, sem, n, mags, ulp_dtype, flushes(sem, ulp_dtype), inner, scale)


def _evaluate_certified(spec, params, sem: Semantics, case: Case) -> Exact:
    def certified():
        stats = {}
        arrays = _inputs(case, sem)  # exact at any precision: converted once for both evaluations

        def compute():
            value, stats["n"], stats["abs"], stats["inner"], stats["scale"] = _evaluate(spec, params, sem, case, arrays,
                                                                                        own_inputs=True)
            return value

        value, bits = precision.certify(compute)
        return value, bits, stats

    # on disk by the switches read (oracle.cache): a convention that differs from one already evaluated only where
    # this draw does not look shares its value; the dtype it is measured in is the convention's own
    value, bits, stats = cache.scoped(cache.scoped_base("evaluate", anonymous(case)), sem, certified)
    ulp_dtype = _ulp_dtype(sem, case)
    return Exact(value, bits, sem, stats["n"], stats["abs"], ulp_dtype, flushes(sem, ulp_dtype), stats["inner"],
                 stats.get("scale", mpmath.mpf(1)))  # entries cached before the scale was kept: the former allowance


def evaluate_loss(loss, *inputs, reduction="none", semantics="ideal", sample_weight=None, dtype="float64", **params) -> Exact:
    """Script-friendly form of ``evaluate``: arrays in (the loss's inputs in its spec's order), Exact out."""
    case = specs.make_case(loss, *inputs, params=params, dtype=dtype, sample_weight=sample_weight,
                           reduction=reduction, semantics=semantics)
    return evaluate(case)


def gradient_of_loss(loss, *inputs, wrt=("y_pred",), cotangent=None, reduction="sum", semantics="ideal",
                     sample_weight=None, dtype="float64", **params):
    """Script-friendly form of ``evaluate_gradient``: the one-sided derivatives of the reduced loss with respect to
    the inputs named in ``wrt``, contracted with ``cotangent`` (shaped like the result) for reduction ``none``."""
    case = specs.make_case(loss, *inputs, params=params, dtype=dtype, sample_weight=sample_weight,
                           reduction=reduction, semantics=semantics)
    return evaluate_gradient(case, tuple(wrt), cotangent)


@phases.timed("oracle")
def condition(case: Case, semantics: Semantics | None = None):
    """sum_i |df/dx_i * x_i| over every floating input x_i (predictions, float targets, weights);
    one such sum per output element (a flat object array) for reduction "none".

    Each per-sample loss depends on its own row only, so moving the k-th element of *every* row at
    once separates the partial derivatives: 2 * (row length) evaluations, by central differences with
    a relative step of 2**-40 at 128 bits, on the declared semantics (an active clip contributes
    nothing). The weights' share is exact: f is linear in them up to the denominator. A tolerance
    needs only the order of magnitude of this number.
    """
    spec, params, declared = prepare(case)
    sem = semantics or declared
    k = cache.key(case, sem, "condition")
    hit = cache.get(k)
    if hit is None:
        hit = cache.scoped(cache.scoped_base("condition", anonymous(case)), sem, lambda: _condition(spec, params, sem, case))
        cache.put(k, hit)
    return hit


def _scaled(values: np.ndarray, factor) -> np.ndarray:
    return runs.distinct_map(lambda v: v * factor, values)


def _elementwise_slopes(spec, params, sem: Semantics, case: Case, base: dict, per, h) -> np.ndarray:
    """Per element of the per-sample losses, sum_i |dl/dx_i * x_i|, for a loss of elementwise terms
    (PerSample.terms): each term moves with its own inputs only, so one bump of every element at once
    separates the partial derivatives (2 evaluations per input instead of 2 per column)."""
    moved = np.full(per.terms.shape, mpmath.mpf(0), dtype=object)
    for name in _measured(spec, base):
        # equal inputs bumped alike stay one object (reductions.distinct_map), so a long run is still evaluated,
        # and its slopes summed, once per distinct sample
        up, down = (_per_sample(spec, params, sem, case, {**base, name: _scaled(base[name], 1 + sign * h)})[0].terms
                    for sign in (1, -1))
        moved = runs.distinct_map(
            lambda total, a, b: total + abs(a - b) / (2 * h) if mpmath.isfinite(a - b) else total, moved, up, down)
    if per.terms_axis is None:
        return np.asarray(moved, dtype=object)
    rows = np.moveaxis(moved, per.terms_axis, -1)
    out = [mpmath.fsum(row) / per.terms_divisor for row in rows.reshape(-1, rows.shape[-1])]
    return np.array(out + [None], dtype=object)[:-1].reshape(rows.shape[:-1])


def _slopes(spec, params, sem: Semantics, case: Case):
    """The per-sample losses at 128 bits and, per element, sum_i |d(w l)/dx_i * x_i| (central differences)."""
    axis = params.get("axis", -1)
    h = mpmath.ldexp(1, -40)
    base = _inputs(case, sem)
    per, w, batch = _per_sample(spec, params, sem, case, base)
    mask = np.ones(per.values.shape, bool) if per.mask is None else per.mask
    weights = np.full(per.values.shape, mpmath.mpf(1), dtype=object) if w is None else w
    weighted = np.where(mask, per.values * weights, mpmath.mpf(0))
    if per.terms is not None:
        local = np.asarray(_elementwise_slopes(spec, params, sem, case, base, per, h), dtype=object).ravel()
        slopes = [abs(s * wt) if keep else mpmath.mpf(0)
                  for s, wt, keep in zip(local, np.asarray(weights, dtype=object).ravel(), mask.ravel())]
        return per, w, batch, mask, weights, weighted, slopes
    slopes = [mpmath.mpf(0)] * per.values.size  # flat: 0-d object-array arithmetic collapses to scalars
    for name in _measured(spec, base):
        # an input with one element per per-sample loss (margin ranking's input1, gaussian_nll's var): each loss
        # moves with its own element only, so one bump of all of them at once separates the partial derivatives
        own = spec.inputs["shapes"] == "custom" and base[name].shape == per.values.shape
        # a per-sample loss that reads a block of its input (CTC's frames x classes) couples the block's elements,
        # whose partial derivatives may differ in sign: each element of the block is a column of its own, else
        # one bump of a class in every frame lets them cancel and the conditioning comes out far too small
        block = spec.inputs["shapes"] == "custom" and base[name].ndim > per.values.ndim + 1
        if own:
            rows, back = base[name][..., None], lambda r: r[..., 0]
        elif block:
            shape = base[name].shape
            rows, back = base[name].reshape(shape[:per.values.ndim] + (-1,)), lambda r, shape=shape: r.reshape(shape)
        else:
            rows, back = np.moveaxis(base[name], axis, -1), lambda r: np.moveaxis(r, -1, axis)
        for k in range(rows.shape[-1]):
            if all(x == 0 for x in np.asarray(rows[..., k], dtype=object).ravel()):
                continue
            moved = []
            for sign in (1, -1):
                bumped = rows.copy()
                bumped[..., k] = _scaled(bumped[..., k], 1 + sign * h)
                p, _, _ = _per_sample(spec, params, sem, case, {**base, name: back(bumped)})
                products = runs.distinct_map(lambda a, b: a * b, p.values, np.broadcast_to(weights, p.values.shape))
                moved.append(np.asarray(np.where(mask, products, mpmath.mpf(0)), dtype=object))
            slopes = list(runs.distinct_map(  # in the shape of the losses, whose rows a long run repeats
                lambda total, a, b: total + abs(a - b) / (2 * h) if mpmath.isfinite(a - b) else total,
                np.array(slopes + [None], dtype=object)[:-1].reshape(per.values.shape), *moved).ravel())
    return per, w, batch, mask, weights, weighted, slopes


def _condition(spec, params, sem: Semantics, case: Case):
    with mpmath.workprec(128), smooth_intermediates():
        per, w, batch, mask, weights, weighted, slopes = _remember(
            _memo_key(case, sem, "slopes"), lambda: _slopes(spec, params, sem, case))
        finite = lambda v: v if mpmath.isfinite(v) else mpmath.mpf(0)
        if case.reduction == "none":
            weight_share = [abs(finite(v)) if case.sample_weight is not None else mpmath.mpf(0)
                            for v in np.asarray(weighted, dtype=object).ravel()]
            return np.array([a + b for a, b in zip(slopes, weight_share)] + [None], dtype=object)[:-1]
        scale = _denominator_scale(case.reduction, per, w, per.mask, batch)
        divisors = reductions.length_divisors(per.lengths, per.values.shape, case.reduction)
        if divisors is not None:  # mean_by_length: each element's share is divided by its length
            flat_divisors = np.asarray(divisors, dtype=object).ravel()
            slopes = [v / d for v, d in zip(slopes, flat_divisors)]
            weighted = np.asarray(weighted / divisors, dtype=object)
        total = mpmath.fsum(map(finite, slopes)) * scale
        if case.sample_weight is not None:
            f = finite(reductions.reduce(per.values, w, per.mask, case.reduction, sem, batch, lengths=per.lengths))
            by_weight = case.reduction in ("mean_with_sample_weight", "weighted_mean")  # the denominator moves too
            flat_weights = np.asarray(weights, dtype=object).ravel()
            total += mpmath.fsum(abs(finite(v) - (flat_weights[i] * f if by_weight else 0))
                                 for i, v in enumerate(np.asarray(weighted, dtype=object).ravel()) if mask.ravel()[i]) * scale
        return total
