"""The exact derivative of a loss: the vector-Jacobian product of the oracle's own expression, certified.

    evaluate_gradient(case, wrt, cotangent=None, semantics=None) -> ExactGradient

There is no second formula per loss: the derivative is taken of the very per-sample expression that ``evaluate``
reduces (``oracle._per_sample``), by one-sided difference quotients at a working precision far beyond the step:

    D+ f(x) = (-3 f(x) + 4 f(x + h) - f(x + 2h)) / 2h,   D- f(x) = (3 f(x) - 4 f(x - h) + f(x - 2h)) / 2h

with h = 2**-q |x| (2**-q at x = 0) and 3q bits of working precision: the truncation error (h**2 f''') and the
rounding error (2**-3q f / h) are both about 2**-2q relative. Each derivative is computed at q and 2q and only the
bits both agree on are certified, as ``precision.certify`` does for values; a kink or a clip bound within 2h of x
shows up as disagreement, and q doubles. One-sided quotients give both sides at a kink (|x| at 0, the hinge at its
margin, Huber at |e| = delta, a clip at its bound), and an input on the edge of its domain (a probability of 1) has
only the side that stays inside it. Roundings a framework performs between operations (``common.intermediate``)
are read as the identity, as autodiff reads them.

The reductions are linear in the per-sample losses l, so the gradient of the result R is sum_i c_i dl_i/dx with
c_i = <cotangent, R(e_i)>: each coefficient is the reduction evaluated on a unit vector (exact), never a formula.
The partial derivatives dl_i/dx do not depend on the reduction: they are computed once per draw and input (and
kept in the oracle's memo), and every reduction of the draw only contracts them with its own coefficients.
Per-sample losses that depend on their own row only (the ``same``/``sparse`` layouts that drop the class axis, and
elementwise losses) are differentiated a column at a time for every row at once, or, where the row is a sum of
elementwise terms (``PerSample.terms``), every element at once, term by term; any other layout one element at a
time, every per-sample loss at once.
"""
from __future__ import annotations

import hashlib

from dataclasses import dataclass

import mpmath
import numpy as np

from core import dtypes, phases
from core.case import Case
from core.semantics import Semantics, accumulation_format
from oracle import cache, precision, reductions
from oracle.expression import _inputs, anonymous, _measured, _memo_key, _per_sample, _remember, _ulp_dtype, prepare
from oracle.losses.common import smooth_intermediates

REQUIRED_BITS = 60  # a derivative is compared in ULPs of float64 at most
Q_BITS = (48, 96)  # steps 2**-q tried in turn, each checked against 2q (2**-96 and 2**-192 accurate)


@dataclass(frozen=True)
class ExactGradient:
    """The one-sided derivatives of a case's result with respect to each input in ``wrt`` (object arrays of mpf in
    the input's canonical shape; None where that side leaves the loss's domain or the loss is infinite).

    ``left == right`` wherever the loss is differentiable; any value between them conforms (the subdifferential of
    a kink). ``row_terms`` is how many terms each per-sample loss sums over (what the derivative's own sums add up),
    ``normaliser_share`` per input element the part of a normalising sum its derivative carries (tolerance.py)."""
    wrt: tuple[str, ...]
    left: dict
    right: dict
    certified_bits: int  # the least over every component
    bits: dict  # per input, per component: the certified bits (an int array)
    ulp_dtype: str
    flush: bool
    row_terms: int
    normaliser_share: dict
    denominator_terms: int  # weights summed into the reduction's denominator (a weighted mean), else 1
    accumulator: str | None = None  # the format its sums accumulate in (core.semantics.accumulation_format); None: ulp_dtype


def _object(values, shape) -> np.ndarray:
    return np.array(list(values) + [None], dtype=object)[:-1].reshape(shape)


def _coefficients(spec, params, sem: Semantics, case: Case, arrays: dict, cotangent):
    """(PerSample of the case, c) with c_i = <cotangent, R(e_i)> for every per-sample loss i (R is linear in l: exact,
    one reduction per i)."""
    per, w, batch = _per_sample(spec, params, sem, case, arrays)
    raw = mpmath.fsum(np.asarray(arrays["sample_weight"], dtype=object).ravel()) if "sample_weight" in arrays else None
    shape = per.values.shape
    out = []
    for i in range(per.values.size):
        unit = np.full(per.values.size, mpmath.mpf(0), dtype=object)
        unit[i] = mpmath.mpf(1)
        r = reductions.reduce(unit.reshape(shape), w, per.mask, case.reduction, sem, batch, raw, per.lengths)
        if case.reduction == "none":
            v = np.asarray(cotangent, dtype=object).ravel()
            r = mpmath.fsum(a * b for a, b in zip(v, np.asarray(r, dtype=object).ravel()) if b != 0)
        out.append(r)
    return per, _object(out, shape)


def _layout(spec, params, x: np.ndarray, per_shape: tuple) -> tuple[str, tuple | None]:
    """How an input maps onto the per-sample losses: ("element", None) each element is its own loss's; ("rows",
    axes) each loss reads only its own block, the input's elements that share its index on the other axes (the class
    axis a loss reduces; for a loss of one value per sample, every axis but the batch); ("coupled", None) any other
    way (a loss over the whole batch, ``inputs.batch_coupled`` in its spec)."""
    if spec.inputs.get("batch_coupled"):
        return "coupled", None
    if x.shape == per_shape:
        return "element", None
    if x.ndim >= 1:
        axis = params.get("axis", -1) % x.ndim
        if tuple(np.delete(x.shape, axis)) == per_shape:
            return "rows", (axis,)
        if spec.inputs.get("per_sample") == "batch" and per_shape == x.shape[:1]:
            return "rows", tuple(range(1, x.ndim))
    return "coupled", None


def _blocks(shape: tuple, axes: tuple):
    """(mask, index along ``axes``) of each position along the reduced axes, for every block at once."""
    for position in np.ndindex(tuple(shape[a] for a in axes)):
        mask = np.zeros(shape, bool)
        index = [slice(None)] * len(shape)
        for a, i in zip(axes, position):
            index[a] = i
        mask[tuple(index)] = True
        yield mask


def _steps(x: np.ndarray, q: int) -> np.ndarray:
    """2**-q |x| (2**-q at 0); 0 for an infinite input, which has no finite neighbour to difference with."""
    two = mpmath.ldexp(1, -q)
    return _object((mpmath.mpf(0) if not mpmath.isfinite(v) else abs(v) * two if v != 0 else two for v in x.ravel()), x.shape)


def _one_sided(f0, f1, f2, h, side: int):
    """side * (-3 f0 + 4 f1 - f2) / 2h (f2 None: the two-point side * (f1 - f0) / h, for a magnitude), or None where
    the side leaves the domain (the loss not finite, or complex: a power p**q of a p moved below 0) or the loss is not
    finite."""
    if h == 0 or any(isinstance(v, mpmath.mpc) or not mpmath.isfinite(v) for v in (f0, f1, f2) if v is not None):
        return None
    return side * _difference(f0, f1, f2) / (h if f2 is None else 2 * h)


def _difference(f0, f1, f2):
    """The numerator of _one_sided's quotient, whose cancellation against the losses _partials_at checks."""
    return f1 - f0 if f2 is None else -3 * f0 + 4 * f1 - f2


@dataclass(frozen=True)
class _Partials:
    """dl_i/dx of one input, both sides: shaped like x for the "element" and "rows" layouts (each element's own
    loss), (number of losses, *x.shape) for "coupled" (every loss by every element)."""
    layout: str
    axis: tuple | None  # the reduced axes of a "rows" layout
    left: np.ndarray | None  # None: that side was not asked for (gradient_condition needs one side per move)
    right: np.ndarray | None


def _losses(spec, params, sem, case, arrays) -> np.ndarray:
    return np.asarray(_per_sample(spec, params, sem, case, arrays)[0].values, dtype=object)


def _working_bits(arrays: dict, h: np.ndarray, q: int) -> int:
    """Bits that resolve a step h against the largest operand: 3q where the steps are as large as the inputs (about
    1), and as many more as the smallest step lies below the largest magnitude (an input of 1e-214 beside targets of
    order 1 moves a mean of squares by 1e-214 * 2**-q: 800 more bits; else its difference quotient would be 0)."""
    magnitudes = [abs(v) for a in arrays.values() if isinstance(a, np.ndarray) and a.dtype == object
                  for v in a.ravel() if v is not None and mpmath.isfinite(v) and v != 0]
    steps = [v for v in h.ravel() if v != 0 and mpmath.isfinite(v)]
    if not steps:
        return 3 * q
    with mpmath.workprec(64):
        span = int(mpmath.ceil(mpmath.log(max(magnitudes + [mpmath.mpf(1)]) / min(steps), 2)))
    return min(2 * q + max(q, span) + 16, MAX_WORKING_BITS)


MAX_WORKING_BITS = 8192  # beyond it a derivative is left uncertified (and unjudged) rather than computed for minutes
RESOLVED_BITS = 64  # significant bits a difference -3 f0 + 4 f1 - f2 must keep beside the losses it cancels


def _partials(spec, params, sem, case, arrays: dict, name: str, q: int, sides=(-1, 1), points: int = 3) -> _Partials:
    """The one-sided partial derivatives of every per-sample loss with respect to input ``name`` at step 2**-q, at
    the working precision that resolves the step (``_working_bits``). A difference that cancels below
    RESOLVED_BITS (a derivative far smaller than the loss over x: 1e-314 beside a loss of 1e4) is computed again with
    enough bits to resolve any derivative down to the dtype's smallest subnormal: else a tiny derivative and a flat
    loss (a clip) would both read as an exact 0. ``points``: 3, the quotients of the module's docstring (error 2**-2q);
    2, the two-point quotient (error 2**-q, half the evaluations: enough for gradient_condition's magnitudes)."""
    x = arrays[name]
    h = _steps(x, q)
    bits = _working_bits(arrays, h, q)
    with mpmath.workprec(bits):
        partials, unresolved, largest = _partials_at(spec, params, sem, case, arrays, name, h, bits, False, sides,
                                                     points)
    steps = [v for v in h.ravel() if v != 0]
    if not unresolved or not steps or largest == 0:
        return partials
    fmt = dtypes.float_format(case.dtype)
    with mpmath.workprec(64):
        needed = int(mpmath.ceil(mpmath.log(largest / min(steps), 2))) - (fmt.min_exponent - fmt.mantissa_bits + 1) + 96
    if needed > MAX_WORKING_BITS:  # a loss of exp(1e300): its small derivatives stay unresolved, hence uncertified
        with mpmath.workprec(MAX_WORKING_BITS):
            return _partials_at(spec, params, sem, case, arrays, name, h, MAX_WORKING_BITS, False, sides, points)[0]
    with mpmath.workprec(max(needed, bits)):
        return _partials_at(spec, params, sem, case, arrays, name, h, max(needed, bits), True, sides, points)[0]


def _partials_at(spec, params, sem, case, arrays: dict, name: str, h: np.ndarray, bits: int, final: bool, sides=(-1, 1),
                 points: int = 3):
    """(_Partials, whether some difference cancelled below RESOLVED_BITS, the largest finite loss) at ``bits``.
    ``final``: the bits resolve every derivative the dtype can hold, so a difference still below RESOLVED_BITS is
    rounding noise of a flat loss (mpmath's last bits vary between calls): its derivative is 0."""
    x = arrays[name]
    per = _per_sample(spec, params, sem, case, arrays)[0]
    f0 = np.asarray(per.values, dtype=object)
    layout, axis = _layout(spec, params, x, f0.shape)
    at = lambda moved: _losses(spec, params, sem, case, {**arrays, name: moved})
    unresolved = False
    separable = layout == "rows" and _separable(per, x, axis)
    if separable:
        # elementwise terms reduced over the row: each term moves with its own element only, so every element is
        # moved at once and the row's derivative is the term's over the divisor (one evaluation per step, not one
        # per column); a row whose loss is not finite has no derivative, as when the row itself is differenced
        at = lambda moved: np.asarray(_per_sample(spec, params, sem, case, {**arrays, name: moved})[0].terms, dtype=object)
        finite = np.asarray([bool(mpmath.isfinite(v)) for v in f0.ravel()], dtype=bool).reshape(f0.shape)
        row_finite = np.broadcast_to(np.expand_dims(finite, axis), x.shape)
        own_terms, divisor = np.asarray(per.terms, dtype=object), per.terms_divisor

    def quotient(a, b, c, step, side):
        nonlocal unresolved
        d = _one_sided(a, b, c, step, side)
        if d is not None:
            scale = max(abs(v) for v in (a, b, c) if v is not None)
            if scale != 0 and abs(_difference(a, b, c)) < scale * mpmath.ldexp(1, RESOLVED_BITS - bits):
                unresolved = True
                return mpmath.mpf(0) if final else d
        return d

    out_sides = []
    for side in (-1, 1):
        if side not in sides:
            out_sides.append(None)
            continue
        if layout == "coupled":
            out = np.full((f0.size,) + x.shape, None, dtype=object)
            for idx in np.ndindex(x.shape):
                f = [None, np.full(f0.size, None)]
                for k in range(1, points):
                    moved = x.copy()
                    moved[idx] = x[idx] + side * k * h[idx]
                    f[k - 1] = at(moved).ravel()
                for i in range(f0.size):
                    out[(i,) + idx] = quotient(f0.ravel()[i], f[0][i], f[1][i], h[idx], side)
        elif separable:
            out = np.full(x.shape, None, dtype=object)
            f = [at(x + side * k * h) for k in range(1, points)] + [np.full(x.shape, None)]
            for idx in np.ndindex(x.shape):
                d = quotient(own_terms[idx], f[0][idx], f[1][idx], h[idx], side) if row_finite[idx] else None
                out[idx] = None if d is None else d / divisor
        else:
            out = np.full(x.shape, None, dtype=object)
            groups = [np.ones(x.shape, bool)] if layout == "element" else _blocks(x.shape, axis)
            for group in groups:
                f = [at(np.where(group, x + side * k * h, x)) for k in range(1, points)] + [np.full(f0.shape, None)]
                for idx in zip(*np.nonzero(group)):
                    own = idx if layout == "element" else tuple(i for a, i in enumerate(idx) if a not in axis)
                    out[idx] = quotient(f0[own], f[0][own], f[1][own], h[idx], side)
        out_sides.append(out)
    largest = max((abs(v) for v in f0.ravel() if mpmath.isfinite(v)), default=mpmath.mpf(0))
    return _Partials(layout, axis, out_sides[0], out_sides[1]), unresolved, largest


def _separable(per, x: np.ndarray, axis: tuple) -> bool:
    """Whether the per-sample losses are sums of elementwise terms of ``x`` over the reduced ``axis``
    (``PerSample.terms``: each term a function of its own elements of the inputs only)."""
    return (per.terms is not None and np.shape(per.terms) == x.shape and per.terms_axis is not None
            and (per.terms_axis % x.ndim,) == tuple(axis))


def _agreement(low, high, prec: int) -> np.ndarray:
    """Per element, the leading bits on which two evaluations of a one-sided derivative agree (a side that exists
    at one precision only agrees on none)."""
    def bits(a, b):
        if a is None or b is None:
            return prec if a is None and b is None else 0
        return precision.agreeing_bits(a, b, prec)
    return np.frompyfunc(bits, 2, 1)(low, high).astype(int) if np.size(low) else np.zeros(np.shape(low), int)


def _certified_partials(spec, params, sem, case, name: str):
    """(_Partials at the higher precision, certified bits per entry): steps 2**-q and 2**-2q (3q and 6q bits of
    working precision) must agree, q doubling while they do not. Shared by every reduction of the draw."""
    computed = {}

    def at(step):  # step 2**-96 is the finer of the first pair and the coarser of the next: computed once
        if step not in computed:
            with smooth_intermediates():
                computed[step] = _partials(spec, params, sem, case, _inputs(case, sem), name, step)
        return computed[step]

    def certify():
        for q in Q_BITS:
            runs = [at(q), at(2 * q)]
            bits = np.minimum(_agreement(runs[0].left, runs[1].left, 3 * q), _agreement(runs[0].right, runs[1].right, 3 * q))
            if bits.size == 0 or bits.min() >= REQUIRED_BITS:
                break
        return runs[1], bits

    def compute():
        # on disk by the switches read: implementations whose conventions differ only where this draw does not
        # look (TensorFlow's flushed subnormals, a clip not reached) share the partials, the oracle's costliest work
        base = cache.scoped_base("gradient partials", anonymous(case).with_(reduction="none"), name, mpmath.mp.prec)
        return cache.scoped(base, sem, certify)

    return _remember(_memo_key(case, _per_sample_part(sem), ("gradient partials", name)), compute)


# Switches that act in the reduction only: the per-sample losses, hence their partial derivatives, are the same
# whatever their value, so a convention that differs from another in these alone shares its partials (the judge tries
# weight_denominator=raw against every failing weighted mean). ``subgradient`` changes no number the oracle computes.
REDUCTION_SWITCHES = ("weight_denominator", "empty_mean", "zero_weight_guard")


def switches_read(case: Case, sem: Semantics) -> set:
    """The switches of ``sem`` that the per-sample losses of ``case`` read (at 64 bits: which branches a formula
    takes needs no more); every switch where the formula fails there."""
    from core.semantics import SWITCHES, switches_read as reading

    spec, params, _ = prepare(case)
    try:
        with reading() as read, mpmath.workprec(64):
            _per_sample(spec, params, sem, case, _inputs(case, sem))
    except Exception:
        return set(SWITCHES)
    return read


def _per_sample_part(sem: Semantics) -> Semantics:
    """``sem`` as far as the per-sample losses see it: the memo key of its partial derivatives."""
    from core.semantics import DEFAULTS

    neutral = REDUCTION_SWITCHES + ("subgradient",)
    return Semantics("", {**sem.switches, **{k: DEFAULTS[k] for k in neutral}}, sem.citation)


def _contract(partials: _Partials, bits: np.ndarray, c: np.ndarray, x_shape: tuple):
    """(left, right, bits) of the gradient: each partial times its loss's coefficient (0 where c_i = 0: a masked or
    unweighted loss contributes nothing, whatever its slope), summed over the losses for a coupled layout."""
    def scale(ci, d):
        return mpmath.mpf(0) if ci == 0 else (None if d is None else ci * d)

    if partials.layout != "coupled":
        own = c if partials.layout == "element" else np.expand_dims(c, partials.axis)
        own = np.broadcast_to(own, x_shape)
        f = np.frompyfunc(scale, 2, 1)
        return (*(None if side is None else np.asarray(f(own, side), dtype=object) for side in (partials.left, partials.right)),
                bits)
    flat_c = np.asarray(c, dtype=object).ravel()
    out_bits = np.zeros(x_shape, int)
    sides = []
    for side in (partials.left, partials.right):
        if side is None:
            sides.append(None)
            continue
        g = np.full(x_shape, None, dtype=object)
        for idx in np.ndindex(x_shape):
            terms = [(ci, side[(i,) + idx], bits[(i,) + idx]) for i, ci in enumerate(flat_c) if ci != 0]
            if any(d is None for _, d, _ in terms):
                continue
            total = mpmath.fsum(ci * d for ci, d, _ in terms)
            size = mpmath.fsum(abs(ci * d) for ci, d, _ in terms)
            # a NaN or infinite coefficient (an empty weighted mean under empty_mean=nan) makes a NaN or infinite
            # derivative, which the judge reads as none: no cancellation to count
            lost = 0 if total == 0 or size == 0 or not mpmath.isfinite(total) or not mpmath.isfinite(size) \
                else int(mpmath.ceil(mpmath.log(size / abs(total), 2)))
            g[idx] = total
            out_bits[idx] = min([b for _, _, b in terms], default=REQUIRED_BITS * 2) - lost
        sides.append(g)
    return sides[0], sides[1], out_bits


@phases.timed("oracle")
def evaluate_gradient(case: Case, wrt: tuple[str, ...], cotangent=None, semantics: Semantics | None = None) -> ExactGradient:
    """The certified one-sided derivatives of ``case``'s result with respect to the inputs ``wrt`` (the spec's names),
    contracted with ``cotangent`` (an array shaped like the result, for reduction ``none``; None for a scalar)."""
    from core.semantics import flushes

    spec, params, declared = prepare(case)
    sem = semantics or declared
    if case.reduction == "none" and cotangent is None:
        raise ValueError("reduction 'none' has a non-scalar result: give the cotangent to contract it with")
    if "sample_weight" in wrt:
        raise ValueError("the oracle does not yet differentiate with respect to the sample weights")
    k = cache.key(case, sem, repr(("gradient", tuple(wrt), None if cotangent is None else np.asarray(cotangent).tolist())))
    hit = cache.get(k)
    if hit is not None:
        return hit
    with mpmath.workprec(6 * Q_BITS[-1]):
        arrays = _inputs(case, sem)
        per, c = _coefficients(spec, params, sem, case, arrays, cotangent)
        left, right, bits, share = {}, {}, {}, {}
        for n in wrt:
            partials, partial_bits = _certified_partials(spec, params, sem, case, n)
            left[n], right[n], bits[n] = _contract(partials, partial_bits, c, arrays[n].shape)
            share[n] = _normaliser_share(spec, params, case, arrays, per, c, n, right[n])
    ulp_dtype = _ulp_dtype(sem, case)
    counted = int(per.mask.sum()) if per.mask is not None else per.values.size
    weighted = case.reduction in ("mean_with_sample_weight", "weighted_mean") and case.sample_weight is not None
    exact = ExactGradient(tuple(wrt), left, right, min((int(b.min()) for b in bits.values() if b.size), default=0), bits,
                          ulp_dtype, flushes(sem, ulp_dtype), max(1, per.inner_terms), share, counted if weighted else 1,
                          accumulation_format(sem, ulp_dtype))
    cache.put(k, exact)
    return exact


def _targets(spec, case, arrays, name: str, axes: tuple | None) -> np.ndarray | None:
    """The target each element of prediction ``name`` is compared with (soft targets as given, class labels one-hot),
    where the layout has one: what a log-of-a-sum derivative subtracts from its share of the sum."""
    if name != "y_pred" or not spec.two_inputs:
        return None
    if spec.inputs["shapes"] == "same" and "y_true" in arrays:
        return np.asarray(arrays["y_true"], dtype=object)
    if spec.inputs["shapes"] == "sparse" and axes is not None and len(axes) == 1:
        from oracle import domain

        axis = axes[0]
        labels = domain.sparse_labels(case.y_true, case.y_pred, axis)
        classes = np.arange(case.y_pred.shape[axis]).reshape([-1 if a == axis else 1 for a in range(case.y_pred.ndim)])
        return np.where(np.expand_dims(labels, axis) == classes, mpmath.mpf(1), mpmath.mpf(0))
    return None


def _normaliser_share(spec, params, case, arrays, per, c, name: str, derivative: np.ndarray) -> np.ndarray:
    """Per element, how much of its per-sample loss's normalising sum (PerSample.normaliser: sum exp z or sum p)
    its derivative carries, times |c_i|: the derivative of log(sum) with respect to one element is that element's
    share of the sum, at most the whole normaliser and at most |g| + |c t| (a softmax's p_k = g_k / c + t_k).
    Zero for a loss without a normaliser."""
    x = arrays[name]
    if per.normaliser is None:
        return np.full(x.shape, mpmath.mpf(0), dtype=object)
    whole = np.frompyfunc(lambda ci, n: abs(ci) * abs(n), 2, 1)(c, np.asarray(per.normaliser, dtype=object))
    layout, axis = _layout(spec, params, x, per.values.shape)
    if layout == "coupled":
        return np.full(x.shape, mpmath.fsum(np.asarray(whole, dtype=object).ravel()), dtype=object)
    if layout == "rows":
        whole, c = np.expand_dims(whole, axis), np.expand_dims(c, axis)
    whole = np.broadcast_to(whole, x.shape)
    targets = _targets(spec, case, arrays, name, axis if layout == "rows" else None)
    if targets is None:
        return np.asarray(whole, dtype=object).copy()
    own = np.frompyfunc(lambda g, ci, t: (abs(g) if g is not None and mpmath.isfinite(g) else mpmath.mpf(0)) + abs(ci * t), 3, 1)(
        derivative, np.broadcast_to(c, x.shape), targets)
    return np.asarray(np.frompyfunc(min, 2, 1)(whole, own), dtype=object)


CONDITION_STEP = -24  # the relative step of the directional differences (a magnitude needs few bits)
# The derivatives those differences compare are two-point quotients (half the evaluations of the three-point ones) at
# step 2**-96: their error, about h f'', is as small as the three-point quotient's h**2 f''' at 2**-48, and far below
# what a move of 2**-24 changes. At 2**-48 it was not: with p = 0 beside eps = 1e-7 (Poisson), the two sides'
# errors (of opposite signs) differed by half of what the move changed, and the nearer side halved the slope.
CONDITION_Q_BITS = 96


def _own_rows(spec, params, case: Case, wrt, arrays: dict, per_shape: tuple) -> bool:
    """Whether each per-sample loss along the leading axis reads only its own row of every input (as the "element"
    and "rows" layouts already assume of the differentiated input, with the leading axis not one the loss reduces):
    then a derivative's conditioning can be estimated on those rows alone."""
    if spec.inputs.get("batch_coupled") or not per_shape:
        return False
    rows = per_shape[0]
    weights = [] if case.sample_weight is None or np.ndim(case.sample_weight) == 0 else [case.sample_weight]
    if any(np.ndim(a) < 1 or np.shape(a)[0] != rows for a in [*case.inputs.values(), *weights]):
        return False
    for n in wrt:
        layout, axes = _layout(spec, params, arrays[n], per_shape)
        if layout == "coupled" or (layout == "rows" and 0 in axes):
            return False
    return True


@phases.timed("oracle")
def gradient_condition(case: Case, wrt: tuple[str, ...], cotangent=None, semantics: Semantics | None = None,
                       where: dict | None = None) -> dict:
    """Per input in ``wrt``, per element, an estimate of sum_j |dg/dx_j * x_j| for each derivative g: how much the
    derivative moves when every floating input moves by its own rounding, the gradient's counterpart of
    ``oracle.condition``. It is estimated along x and |x| over every floating input, and over each input alone along
    x and x with a drawn sign pattern (those slopes summed over the inputs), by one-sided differences (of derivatives
    by two-point quotients) that stay on the derivative's own side (a kink at x is not a steep slope); each is a
    lower bound of the sum, and a tolerance needs only its order of magnitude. Computed only when a derivative
    misses the tolerance without it (conformance.gradient_judge), and, where each per-sample loss reads only its own
    row, only on the rows of the components in ``where`` (per input, a flat mask: the ones that missed); 0 elsewhere.
    Each move needs one side of the moved derivative only, and computes that side alone."""
    spec, params, declared = prepare(case)
    sem = semantics or declared
    q = Q_BITS[0]
    with mpmath.workprec(3 * q), smooth_intermediates():
        full = _inputs(case, sem)
        per, c = _coefficients(spec, params, sem, case, full, cotangent)
        rows = None
        if where is not None and _own_rows(spec, params, case, wrt, full, per.values.shape):
            rows = sorted({int(np.unravel_index(i, full[n].shape)[0]) for n in wrt if n in where
                           for i in np.flatnonzero(np.ravel(where[n]))})
        # by the whole semantics, not scoped by the switches read (oracle.cache): the sign pattern below is seeded by
        # the case with its declared convention's name
        k = cache.key(case, sem, repr(("gradient_condition/apart-nearer", tuple(wrt), rows,
                                       None if cotangent is None else np.asarray(cotangent).tolist())))
        hit = cache.get(k)
        if hit is not None:
            return hit
        seed = int.from_bytes(hashlib.sha256(case.key().encode()).digest()[:8], "little")  # the whole case's
        if rows is not None:
            own = np.array(rows, dtype=int)
            weights = case.sample_weight
            case = case.with_inputs(**{n: a[own] for n, a in case.inputs.items()}).with_(
                sample_weight=weights if weights is None or np.ndim(weights) == 0 else weights[own])
            c = c[own]
        base = _inputs(case, sem)

        def gradient(arrays, n, sides=(-1, 1)):
            p = _partials(spec, params, sem, case, arrays, n, CONDITION_Q_BITS, sides, points=2)
            return _contract(p, np.zeros(arrays[n].shape if p.layout != "coupled" else (c.size, *arrays[n].shape), int),
                             c, arrays[n].shape)[:2]

        at = {n: gradient(base, n) for n in wrt}
        t = mpmath.ldexp(1, CONDITION_STEP)
        measured = _measured(spec, base)
        rng = np.random.default_rng(seed)
        # Every input along x and |x|; then each input alone, along x and along x with a drawn sign pattern, the
        # slopes of the inputs summed: a derivative invariant when all inputs move by the same relative step (MSLE's
        # log(p + 1) - log(y + 1)) or all of one input's elements do (a ratio p / sum p) would read as perfectly
        # conditioned along x alone. The pattern is drawn over the whole input, then cut to the rows estimated.
        joint = [{n: base[n] for n in measured}, {n: np.abs(base[n]) for n in measured}]
        signs = {m: rng.choice([-1, 1], size=full[m].shape) for m in measured}
        alone = {m: [{m: base[m]}, {m: base[m] * (signs[m] if rows is None else signs[m][own])}] for m in measured}

        def slope(direction):
            """Per input in wrt, per element, |g(x + t d) - g(x)| / t on the derivative's own side (None: no side)."""
            moved = {side: {**base, **{n: base[n] + side * t * d for n, d in direction.items()}} for side in (-1, 1)}
            out = {}
            for n in wrt:
                lo, hi = gradient(moved[-1], n, (-1,))[0], gradient(moved[1], n, (1,))[1]
                out[n] = np.full(base[n].shape, mpmath.mpf(0), dtype=object)
                for idx in np.ndindex(base[n].shape):
                    # each moved derivative against the nearer side at x: at a kink a move lands on one branch or
                    # the other (moving y alone moves |p - y|'s kink past p), whose own slope is what counts
                    here = [v for v in (at[n][0][idx], at[n][1][idx]) if v is not None]
                    found = [min(abs(v - h) for h in here) / t for v in (lo[idx], hi[idx])
                             if v is not None and here and all(mpmath.isfinite(v - h) for h in here)]
                    out[n][idx] = min(found) if found else mpmath.mpf(0)
            return out

        def largest(slopes):
            return {n: np.frompyfunc(max, 2, 1).reduce(np.stack([s[n] for s in slopes]), axis=0) for n in wrt}

        along = largest([slope(d) for d in joint])
        apart = [largest([slope(d) for d in alone[m]]) for m in measured]
        total = {n: np.frompyfunc(max, 2, 1)(along[n], sum((a[n] for a in apart), np.full(base[n].shape, mpmath.mpf(0), dtype=object)))
                 for n in wrt}
        if rows is not None:
            for n in wrt:
                whole = np.full(full[n].shape, mpmath.mpf(0), dtype=object)
                whole[own] = total[n]
                total[n] = whole
    cache.put(k, total)
    return total
