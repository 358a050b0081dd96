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

import collections

from dataclasses import dataclass

import mpmath
import numpy as np

import specs
from core import dtypes, phases
from core.case import REDUCTIONS, Case
from oracle import cache, domain, precision, reductions
from oracle.losses import LOSSES
from oracle.losses.common import smooth_intermediates
from oracle.domain import DomainError
from oracle.reductions import NotApplicable
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

    def as_float(self) -> np.ndarray:
        return np.asarray(np.vectorize(float, otypes=[np.float64])(np.asarray(self.value, dtype=object)))

    def digits(self, n: int = 40) -> str | list:
        if isinstance(self.value, np.ndarray):
            return [mpmath.nstr(v, n) for v in self.value.ravel()]
        return mpmath.nstr(self.value, n)


def _mp_array(a: np.ndarray, dtype: str | None) -> np.ndarray:
    if a.dtype.kind in "iu":
        return a
    flat = [dtypes.exact(v) for v in np.asarray(a).ravel()]
    if dtype is not None:
        flat = [dtypes.round_to(v, dtype) for v in flat]
    return np.array(flat + [None], dtype=object)[:-1].reshape(a.shape)


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
        total = mpmath.fsum((w if w is not None else np.full(per.values.shape, mpmath.mpf(1), dtype=object)).ravel())
        return 1 / total if total else mpmath.mpf(1)
    if reduction == "sum_by_nonzero_weights":
        n = count if w is None else sum(1 for x in w.ravel() if x != 0)
        return mpmath.mpf(1) / n if n else mpmath.mpf(1)
    raise ValueError(f"unknown reduction {reduction!r}")


def _inputs(case: Case, sem: Semantics) -> dict:
    """The case's float inputs as exact mpf arrays, as the semantics reads them: cast first when it casts
    inputs, weights in the dtype it reduces in, subnormals read as zero when it flushes them."""
    arrays = {}
    for f, a in [*case.inputs.items(), ("sample_weight", case.sample_weight)]:
        if a is None or a.dtype.kind in "iu":
            continue
        dtype = (sem["reduce_in"] if f == "sample_weight" else None) or sem["cast_inputs"]
        values = _mp_array(a, dtype)
        if flushes(sem, dtype or case.dtype):
            tiny = mpmath.ldexp(1, dtypes.float_format(dtype or case.dtype).min_exponent)
            values = np.array([v if abs(v) >= tiny or not mpmath.isfinite(v) else mpmath.mpf(0) for v in values.ravel()]
                              + [None], dtype=object)[:-1].reshape(values.shape)
        arrays[f] = values
    return arrays


def _per_sample(spec, params, sem: Semantics, case: Case, arrays: dict):
    """(PerSample, effective weights broadcast to it or None, batch size) at the current precision."""
    inputs = {name: arrays.get(name, a) for name, a in case.inputs.items()}  # integer inputs stay as they are
    if spec.inputs["shapes"] == "sparse":
        inputs["y_true"] = domain.sparse_labels(case.y_true, case.y_pred, params.get("axis", -1))
    per = LOSSES[spec.name](*inputs.values(), sem, sem["cast_inputs"] or case.dtype, **params)
    w = None
    if "sample_weight" in arrays:
        w = reductions.broadcast_weights(arrays["sample_weight"], per.values.shape)
    if per.item_weights is not None:
        w = per.item_weights if w is None else w * per.item_weights
    # "batch size" (batchmean) is the leading axis of the per-sample losses, whatever the class axis
    return per, w, per.values.shape[0] if per.values.ndim else 1


_PER_SAMPLE_MEMO: "collections.OrderedDict" = collections.OrderedDict()
# A draw is judged under every reduction, and a miss under up to ~20 candidate conventions at two precisions each
# (conformance.judge): the memo must hold all of them, or every reduction recomputes every candidate.
_MEMO_SIZE = 160


def _per_sample_memoised(spec, params, sem: Semantics, case: Case, arrays: dict):
    """``_per_sample`` of the case's own inputs, shared by every reduction of the same draw: the per-sample
    losses do not depend on the reduction, and a property test judges each draw under all of them."""
    return _remember(_memo_key(case, sem, "per_sample"), lambda: _per_sample(spec, params, sem, case, arrays))


def _evaluate(spec, params, sem: Semantics, case: Case, arrays: dict, own_inputs: bool = False):
    """One evaluation at the current working precision: (value, n_terms, abs_terms). ``own_inputs``:
    ``arrays`` are the case's own inputs (not moved ones), so the per-sample losses may be shared."""
    if own_inputs:
        per, w, batch = _per_sample_memoised(spec, params, sem, case, arrays)
    else:
        per, w, batch = _per_sample(spec, params, sem, case, arrays)
    raw = mpmath.fsum(np.asarray(arrays["sample_weight"], dtype=object).ravel()) if "sample_weight" in arrays else None
    value = reductions.reduce(per.values, w, per.mask, case.reduction, sem, batch, raw, per.lengths)
    mags = reductions.magnitudes(per.values, w, per.mask, per.normaliser)
    divisors = reductions.length_divisors(per.lengths, per.values.shape, case.reduction)
    if divisors is not None:  # mean_by_length: each element enters the sum divided by its length
        mags = mags / divisors
    counted = int(per.mask.sum()) if per.mask is not None else per.values.size
    if case.reduction == "none":
        return value, counted * per.inner_terms, mags, per.inner_terms
    scale = _denominator_scale(case.reduction, per, w, per.mask, batch)
    return value, counted * per.inner_terms, mpmath.fsum(mags.ravel()) * scale, per.inner_terms


def prepare(case: Case):
    """(spec, resolved params, semantics) for a case, validating its inputs (ValueError if invalid)."""
    spec, fixed = specs.resolve(case.loss)
    given = case.kwargs
    for k, v in fixed.items():
        if k in given and given[k] != v:
            raise ValueError(f"{case.loss} fixes {k}={v!r}; got {k}={given[k]!r}")
    params = spec.resolve_params({**given, **fixed})
    if case.reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {case.reduction!r}; known: {', '.join(REDUCTIONS)}")
    if case.reduction not in spec.reductions:
        raise reductions.NotApplicable(f"reduction {case.reduction!r} does not apply to {spec.name} "
                                       f"(its reductions: {', '.join(spec.reductions)})")
    domain.validate(spec, params, case.inputs, case.sample_weight)
    return spec, params, spec.semantics(case.semantics)


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
        value, n, mags, inner = _evaluate(spec, params, sem, case, _inputs(case, sem), own_inputs=True)
    ulp_dtype = _ulp_dtype(sem, case)
    return Exact(value, 0, sem, n, mags, ulp_dtype, flushes(sem, ulp_dtype), inner)


def _ulp_dtype(sem: Semantics, case: Case) -> str:
    """The dtype whose ULPs measure the error: the case's, or a coarser one the semantics computes in."""
    forced = sem["reduce_in"] or sem["cast_inputs"]
    if forced and dtypes.float_format(forced).mantissa_bits < dtypes.float_format(case.dtype).mantissa_bits:
        return forced
    return case.dtype


def _evaluate_certified(spec, params, sem: Semantics, case: Case) -> Exact:
    stats = {}
    arrays = _inputs(case, sem)  # exact at any precision: converted once for both evaluations

    def compute():
        value, stats["n"], stats["abs"], stats["inner"] = _evaluate(spec, params, sem, case, arrays, own_inputs=True)
        return value

    value, bits = precision.certify(compute)
    ulp_dtype = _ulp_dtype(sem, case)
    return Exact(value, bits, sem, stats["n"], stats["abs"], ulp_dtype, flushes(sem, ulp_dtype), stats["inner"])


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
        hit = _condition(spec, params, sem, case)
        cache.put(k, hit)
    return hit


def _memo_key(case: Case, sem: Semantics, what: str) -> tuple:
    """Identifies a draw's inputs and semantics, whatever the reduction (the per-sample work is shared)."""
    return (what, case.with_(reduction="none", variant="", device="cpu", origin="").key(), sem.name,
            repr(sorted(sem.switches.items())), mpmath.mp.prec)


def forget() -> None:
    """Drop the in-memory per-sample memo (the on-disk cache is separate: LOSSCONF_ORACLE_CACHE=off); a benchmark
    that evaluates the same case twice must pay twice."""
    _PER_SAMPLE_MEMO.clear()


def _remember(key: tuple, compute):
    if key in _PER_SAMPLE_MEMO:
        _PER_SAMPLE_MEMO.move_to_end(key)
        return _PER_SAMPLE_MEMO[key]
    result = _PER_SAMPLE_MEMO[key] = compute()
    while len(_PER_SAMPLE_MEMO) > _MEMO_SIZE:
        _PER_SAMPLE_MEMO.popitem(last=False)
    return result


_LABEL_KINDS = ("sign", "integer", "class_index", "count")  # labels and lengths, not measurements: nothing to perturb


def _measured(spec, base: dict) -> list[str]:
    """The float inputs whose rounding the tolerance charges: predictions and real-valued targets, not labels
    (the last input first: y_pred before y_true)."""
    return [n for n in reversed(spec.input_names) if n in base and base[n].ndim and spec.inputs[n] not in _LABEL_KINDS]


def _elementwise_slopes(spec, params, sem: Semantics, case: Case, base: dict, per, h) -> np.ndarray:
    """Per element of the per-sample losses, sum_i |dl/dx_i * x_i|, for a loss of elementwise terms
    (PerSample.terms): each term moves with its own inputs only, so one bump of every element at once
    separates the partial derivatives (2 evaluations per input instead of 2 per column)."""
    moved = np.full(per.terms.shape, mpmath.mpf(0), dtype=object)
    for name in _measured(spec, base):
        up, down = (_per_sample(spec, params, sem, case, {**base, name: base[name] * (1 + sign * h)})[0].terms
                    for sign in (1, -1))
        moved = moved + np.frompyfunc(lambda a, b: abs(a - b) / (2 * h) if mpmath.isfinite(a - b) else mpmath.mpf(0),
                                      2, 1)(up, down)
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
        rows = base[name][..., None] if own else np.moveaxis(base[name], axis, -1)
        for k in range(rows.shape[-1]):
            if all(x == 0 for x in np.asarray(rows[..., k], dtype=object).ravel()):
                continue
            moved = []
            for sign in (1, -1):
                bumped = rows.copy()
                bumped[..., k] = bumped[..., k] * (1 + sign * h)
                p, _, _ = _per_sample(spec, params, sem, case,
                                      {**base, name: bumped[..., 0] if own else np.moveaxis(bumped, -1, axis)})
                moved.append(np.asarray(np.where(mask, p.values * weights, mpmath.mpf(0)), dtype=object).ravel())
            for i, (a, b) in enumerate(zip(*moved)):
                if mpmath.isfinite(a - b):
                    slopes[i] += abs(a - b) / (2 * h)
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


# The derivative is taken of this module's own per-sample expression (oracle.gradient imports it back when it runs):
# imported last, so that both names are public beside evaluate_loss without a cycle at import time.
from oracle.gradient import ExactGradient, evaluate_gradient  # noqa: E402
