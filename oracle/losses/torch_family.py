"""The torch.nn.functional losses that Keras does not have: smooth L1, NLL, Poisson and Gaussian NLL,
the margin and hinge-embedding family, soft margins, cosine embedding and triplet margin.

Exact formulas (ideal), elementwise unless a per-sample axis is named; t are +-1 targets:
  smooth_l1:              z = |x - y|;  z < beta ? z^2 / (2 beta) : z - beta/2          (beta = 0: z)
  nll:                    -x[y]  (class weight c_y as item weight; ignored labels masked)
  poisson_nll:            log_input ? exp(x) - y x : x - y log x;  full adds log(y!) = lgamma(y + 1)
  gaussian_nll:           (log v + (x - y)^2 / v) / 2;  full adds log(2 pi) / 2
  hinge_embedding:        t = 1: x;  t = -1: max(0, margin - x)
  margin_ranking:         max(0, -t (x1 - x2) + margin)
  multi_margin:           (1/C) sum_{j != y} max(0, margin - x[y] + x[j])^p  (class weight c_y as item weight)
  multilabel_margin:      (1/C) sum_{j in labels} sum_{k not in labels} max(0, 1 - (x[j] - x[k]))
  multilabel_soft_margin: (1/C) sum_c w_c [t_c softplus(-x_c) + (1 - t_c) softplus(x_c)]
  soft_margin:            softplus(-t x) = log(1 + exp(-t x))
  cosine_embedding:       t = 1: 1 - cos(x1, x2);  t = -1: max(0, cos(x1, x2) - margin)
  triplet_margin:         max(0, margin + d(a, p) - d(a, n)),  d(u, v) = ||u - v||_p  (swap: d(a, n) -> min(d(a, n), d(p, n)))
Reference: torch 2.13.0 torch/nn/functional.py and torch/nn/modules/loss.py, ATen Loss.cpp, LossNLL.cpp,
LossMultiMargin.cpp, LossMultiLabelMargin.cpp; optax 0.2.8 optax/losses/_self_supervised.py (triplet).

Losses of more than (y_true, y_pred) take their inputs by the names of their specs (torch's names):
  margin_ranking   input1, input2, target (t)         one shape S
  gaussian_nll     input (the mean), target, var       one shape S
  cosine_embedding input1, input2 (shape B + (D,)), target (t, shape B)
  triplet_margin   anchor, positive, negative          each of shape B + (D,)
Targets of the +-1 losses are read by their sign (the domain holds only -1 and +1), so the oracle's
conditioning, which nudges every float input by a relative 2**-40, never flips a branch.

Guard conventions (semantics switches declared in core/semantics.py): where the loss's ``eps`` enters
(``epsilon_placement``), torch's 1e-12 added to each squared norm of cosine_embedding (``norm_epsilon``),
optax's signed powers in the triplet distance (``signed_power``), torch's Stirling term for the full
Poisson NLL (``poisson_full_term``) and mathematical constants written as Python floats
(``rounded_math_constants``). An ``eps`` only a guard uses is rounded to the compute dtype as the
framework converts a Python float (``round_constants``), exactly like Keras's clip epsilon.
"""
from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np

from core import dtypes
from oracle.domain import DomainError
from oracle.losses.common import label_prefix, PerSample, constant, softplus, xlogy
from core.semantics import Semantics

ZERO = mpmath.mpf(0)



# -- helpers ------------------------------------------------------------------------------------------

def _map(fn, *arrays) -> np.ndarray:
    return np.asarray(np.frompyfunc(fn, len(arrays), 1)(*arrays), dtype=object)


def _guard_constant(value: float, sem: Semantics, dtype: str) -> mpmath.mpf:
    """A guard's constant (an eps from a framework's source or its eps parameter) as the framework uses it:
    the Python float converted to the compute dtype, or the decimal as written (``as_written``)."""
    return constant(value, dtype) if sem["round_constants"] else mpmath.mpf(str(value))


def _math_constant(exact: mpmath.mpf, written: float, sem: Semantics, dtype: str) -> mpmath.mpf:
    """A mathematical constant: exact, or the Python float the framework writes, rounded to the dtype."""
    if sem["rounded_math_constants"] and sem["round_constants"]:
        return constant(written, dtype)
    return exact


def _placement(sem: Semantics, allowed: tuple, loss: str):
    value = sem["epsilon_placement"]
    if value not in (None,) + allowed:
        raise ValueError(f"{loss}: epsilon_placement={value!r} is not one of {allowed} (or null)")
    return value


def _positive(t) -> bool:
    """A +-1 target read by its sign."""
    return t > 0


def _fraction(x: mpmath.mpf) -> Fraction:
    """The exact rational value of a finite mpf."""
    sign, man, exp, _ = x._mpf_
    value = Fraction(int(man)) * Fraction(2) ** int(exp)
    return -value if sign else value


def _mpf(q: Fraction) -> mpmath.mpf:
    return mpmath.mpf(q.numerator) / q.denominator


def _rows(a: np.ndarray, axis: int = -1) -> tuple[np.ndarray, tuple]:
    moved = np.moveaxis(a, axis, -1)
    return moved.reshape(-1, moved.shape[-1]), moved.shape[:-1]


def _class_rows(y_true, y_pred, axis: int = -1):
    """Flat (labels, rows of class scores, batch shape) for a sparse-label loss."""
    rows, batch_shape = _rows(y_pred, axis)
    return np.asarray(y_true).astype(np.int64).reshape(-1), rows, batch_shape


def _clamp_allowance(pre, magnitude, terms: int, dtype: str):
    """The normaliser of a hinge max(0, pre) whose pre-clamp value sums ``terms`` terms of total ``magnitude``:
    ``magnitude`` while rounding in ``dtype`` could move pre across 0, else 0 (a clamped 0 is then exact)."""
    reach = 8 * max(terms, 1) * dtypes.float_format(dtype).unit_roundoff * magnitude
    return ZERO if pre < -reach else magnitude


# -- elementwise regression-like losses ---------------------------------------------------------------

def smooth_l1(y_true, y_pred, sem: Semantics, dtype: str, *, beta=1.0) -> PerSample:
    """l = z^2 / (2 beta) if z < beta else z - beta / 2, z = |x - y| (beta = 0: l = z).

    torch.nn.functional.smooth_l1_loss (2.13.0); Girshick, Fast R-CNN (2015). Elementwise.
    """
    b = mpmath.mpf(beta)

    def term(y, x):
        z = abs(x - y)
        return z * z / (2 * b) if z < b else z - b / 2

    return PerSample(_map(term, y_true, y_pred))


def nll(y_true, y_pred, sem: Semantics, dtype: str, *, axis=-1, ignore_class=None, class_weight=None) -> PerSample:
    """l = -x[y] per sample, x the (log-probability) scores along ``axis``; the class weight c_y is the
    item weight, so torch's weighted mean sum(c_y l) / sum(c_y) is the canonical ``weighted_mean``.

    torch.nn.functional.nll_loss (2.13.0): input is not checked to be log-probabilities.
    """
    labels, rows, batch_shape = _class_rows(y_true, y_pred, axis)
    out = np.empty(len(rows), dtype=object)
    mask = np.ones(len(rows), dtype=bool)
    weights = None if class_weight is None else np.empty(len(rows), dtype=object)
    for i, (label, row) in enumerate(zip(labels, rows)):
        ignored = ignore_class is not None and label == ignore_class
        out[i] = ZERO if ignored else -row[label]
        mask[i] = not ignored
        if weights is not None:
            weights[i] = ZERO if ignored else mpmath.mpf(class_weight[label])
    shape = lambda a: None if a is None else a.reshape(batch_shape)
    return PerSample(out.reshape(batch_shape), mask=shape(mask), item_weights=shape(weights))


def _log_factorial_terms(y, sem: Semantics, dtype: str) -> list:
    """The terms of log(y!) as the semantics writes it (a framework sums them in floating point)."""
    if sem["poisson_full_term"] == "stirling":
        # torch: target*log(target) - target + 0.5*log(2*math.pi*target), masked to 0 where target <= 1
        if y <= 1:
            return []
        two_pi = _math_constant(2 * mpmath.pi, 2 * math.pi, sem, dtype)
        return [y * mpmath.log(y), -y, mpmath.log(two_pi * y) / 2]
    if sem["poisson_full_term"] != "lgamma":
        raise ValueError(f"poisson_full_term={sem['poisson_full_term']!r} is not 'lgamma' or 'stirling'")
    return [] if y in (0, 1) else [mpmath.loggamma(y + 1)]


def poisson_nll(y_true, y_pred, sem: Semantics, dtype: str, *, log_input=True, full=False, eps=1e-8) -> PerSample:
    """l = exp(x) - y x (log_input) or x - y log x (x the rate); ``full`` adds log(y!) = lgamma(y + 1).

    torch.nn.functional.poisson_nll_loss (2.13.0) writes log(x + eps) (``epsilon_placement: inside_log``)
    and Stirling's approximation for log(y!) where y > 1 (``poisson_full_term: stirling``).
    The ideal at rate 0: 0 for y = 0 (0 log 0 = 0), +inf for y > 0.
    The loss is a sum of a few terms that may cancel (exp(x) against y x, Stirling's y log y against y):
    their magnitudes are reported as the normaliser, which the tolerance charges as a sum of that many terms.
    """
    placement = _placement(sem, ("inside_log",), "poisson_nll")
    shift = _guard_constant(eps, sem, dtype) if placement == "inside_log" else ZERO

    def terms(y, x) -> list:
        if log_input:
            out = [mpmath.exp(x), -y * x]
        else:
            rate = x + shift
            log_rate = mpmath.log(rate) if rate > 0 else mpmath.ninf
            # the ideal takes 0 log 0 = 0; torch multiplies target * log(input + eps) as written, so a zero
            # rate with eps rounded away (float16) or eps = 0 gives 0 * -inf = NaN at target 0
            out = [x, -(y * log_rate if placement == "inside_log" else xlogy(y, log_rate))]
        return out + _log_factorial_terms(y, sem, dtype) if full else out

    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    flat = [terms(y, x) for y, x in zip(y_true.ravel(), y_pred.ravel())]
    shape = y_true.shape
    values = np.array([mpmath.fsum(t) for t in flat] + [None], dtype=object)[:-1].reshape(shape)
    finite = lambda v: abs(v) if mpmath.isfinite(v) else ZERO
    normaliser = np.array([mpmath.fsum(finite(v) for v in t) for t in flat] + [None], dtype=object)[:-1].reshape(shape)
    return PerSample(values, inner_terms=max(len(t) for t in flat) if flat else 1, normaliser=normaliser)


def gaussian_nll(input, target, var, sem: Semantics, dtype: str, *, full=False, eps=1e-6) -> PerSample:
    """l = (log v + (x - y)^2 / v) / 2 (+ log(2 pi) / 2 when ``full``); x = input (the mean), y = target,
    v = var (the variance).

    torch.nn.functional.gaussian_nll_loss (2.13.0) clamps v below at eps (``epsilon_placement: clamp_var``)
    and adds 0.5 * math.log(2 * math.pi) as a Python float (``rounded_math_constants``). The ideal at
    v = 0 is the limit: +inf when x != y, -inf when x = y.
    """
    placement = _placement(sem, ("clamp_var",), "gaussian_nll")
    floor = _guard_constant(eps, sem, dtype) if placement == "clamp_var" else None
    offset = _math_constant(mpmath.log(2 * mpmath.pi) / 2, 0.5 * math.log(2 * math.pi), sem, dtype) if full else ZERO

    def term(y, x, v):
        if floor is not None:
            v = max(v, floor)
        r2 = (x - y) ** 2
        if v == 0:
            value = mpmath.inf if r2 > 0 else mpmath.ninf
        else:
            value = (mpmath.log(v) + r2 / v) / 2
        return value + offset

    return PerSample(_map(term, target, input, var))


# -- margins and hinges -------------------------------------------------------------------------------

def hinge_embedding(y_true, y_pred, sem: Semantics, dtype: str, *, margin=1.0) -> PerSample:
    """l = x for t = 1, max(0, margin - x) for t = -1. torch.nn.functional.hinge_embedding_loss (2.13.0)."""
    m = mpmath.mpf(margin)
    return PerSample(_map(lambda t, x: x if _positive(t) else max(ZERO, m - x), y_true, y_pred))


def margin_ranking(input1, input2, target, sem: Semantics, dtype: str, *, margin=0.0) -> PerSample:
    """l = max(0, -t (x1 - x2) + margin); x1 = input1, x2 = input2, t = target.

    torch.nn.functional.margin_ranking_loss (2.13.0).
    """
    m = mpmath.mpf(margin)
    return PerSample(_map(lambda t, a, b: max(ZERO, -t * (a - b) + m), target, input1, input2))


def multi_margin(y_true, y_pred, sem: Semantics, dtype: str, *, p=1, margin=1.0, class_weight=None) -> PerSample:
    """l = (1/C) sum_{j != y} max(0, margin - x[y] + x[j])^p over the last axis; the class weight c_y is the
    item weight (torch multiplies every term by weight[y]; its mean divides by N, not by the weights).

    torch.nn.functional.multi_margin_loss (2.13.0); Weston & Watkins (1999) multi-class hinge.
    """
    labels, rows, batch_shape = _class_rows(y_true, y_pred)
    m = mpmath.mpf(margin)
    c = rows.shape[-1]
    out = np.empty(len(rows), dtype=object)
    weights = None if class_weight is None else np.empty(len(rows), dtype=object)
    for i, (label, row) in enumerate(zip(labels, rows)):
        terms = [max(ZERO, m - row[label] + x) ** p for j, x in enumerate(row) if j != label]
        out[i] = mpmath.fsum(terms) / c
        if weights is not None:
            weights[i] = mpmath.mpf(class_weight[label])
    shape = lambda a: None if a is None else a.reshape(batch_shape)
    return PerSample(out.reshape(batch_shape), inner_terms=c, item_weights=shape(weights))


def multilabel_margin(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = (1/C) sum_{j in labels} sum_{k not in labels} max(0, 1 - (x[j] - x[k])); the labels are the
    entries of the target row before the first -1, a set (a label listed twice is outside the domain;
    torch counts it twice).

    torch.nn.functional.multilabel_margin_loss (2.13.0), torch.nn.MultiLabelMarginLoss docstring formula.
    """
    targets, _ = _rows(np.asarray(y_true))
    rows, batch_shape = _rows(y_pred)
    c = rows.shape[-1]
    out = np.empty(len(rows), dtype=object)
    most = 1
    for i, (target, row) in enumerate(zip(targets, rows)):
        labels = label_prefix(target)
        chosen = set(labels)
        others = [row[k] for k in range(c) if k not in chosen]
        out[i] = mpmath.fsum(max(ZERO, 1 - (row[j] - x)) for j in labels for x in others) / c
        most = max(most, len(labels) * len(others))
    return PerSample(out.reshape(batch_shape), inner_terms=most)


def _logistic(t, x):
    """t softplus(-x) + (1 - t) softplus(x): two non-negative terms for t in [0, 1] (no cancellation), with
    0 * inf = 0 at infinite logits (the limit)."""
    return xlogy(t, softplus(-x)) + xlogy(1 - t, softplus(x))


def multilabel_soft_margin(y_true, y_pred, sem: Semantics, dtype: str, *, class_weight=None) -> PerSample:
    """l = (1/C) sum_c w_c [t_c softplus(-x_c) + (1 - t_c) softplus(x_c)] over the last axis.

    torch.nn.functional.multilabel_soft_margin_loss (2.13.0): -(t logsigmoid(x) + (1 - t) logsigmoid(-x)),
    times weight, summed over the class dim and divided by C.
    """
    terms = _map(_logistic, y_true, y_pred)
    rows, batch_shape = _rows(terms)
    c = rows.shape[-1]
    w = [mpmath.mpf(1)] * c if class_weight is None else [mpmath.mpf(v) for v in class_weight]
    out = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows):
        out[i] = mpmath.fsum(xlogy(wc, v) if mpmath.isinf(v) else wc * v for wc, v in zip(w, row)) / c
    return PerSample(out.reshape(batch_shape), inner_terms=c)


def soft_margin(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = log(1 + exp(-t x)) = softplus(-t x). torch.nn.functional.soft_margin_loss (2.13.0)."""
    return PerSample(_map(lambda t, x: softplus(-x if _positive(t) else x), y_true, y_pred))


# -- embeddings ---------------------------------------------------------------------------------------

def _cosine_term(t, a, b, margin: mpmath.mpf, eps, dtype: str):
    """(loss, normaliser) of one pair. Sums are exact (rationals), so 1 - cos is exactly 0 for parallel
    vectors: 1 - cos = ((|a|^2 + e)(|b|^2 + e) - (a.b)^2) / (D (D + a.b)), D = sqrt((|a|^2 + e)(|b|^2 + e))."""
    fa, fb = [_fraction(v) for v in a], [_fraction(v) for v in b]
    e = Fraction(0) if eps is None else _fraction(eps)
    dot = sum((x * y for x, y in zip(fa, fb)), Fraction(0))
    square = (sum((x * x for x in fa), Fraction(0)) + e) * (sum((y * y for y in fb), Fraction(0)) + e)
    if square == 0:  # a zero vector
        if eps is not None:  # torch's guard rounded away (float16): 0 / 0
            return mpmath.nan, ZERO
        # the ideal's convention: a zero vector has cosine 0 with anything
        return (mpmath.mpf(1), ZERO) if _positive(t) else (max(ZERO, -margin), ZERO)
    d = mpmath.sqrt(_mpf(square))
    normaliser = _mpf(sum((abs(x * y) for x, y in zip(fa, fb)), Fraction(0))) / d + 1
    if _positive(t):
        if dot <= 0:
            return 1 - _mpf(dot) / d, normaliser
        return _mpf(square - dot * dot) / (d * (d + _mpf(dot))), normaliser
    m = _fraction(margin)
    # cos > m, decided exactly: dot / sqrt(square) > m
    above = (dot > 0 and dot * dot > m * m * square) if m >= 0 else (dot >= 0 or dot * dot < m * m * square)
    if above:
        return _mpf(dot) / d - margin, normaliser + abs(margin)
    return ZERO, _clamp_allowance(_mpf(dot) / d - margin, normaliser + abs(margin), len(a), dtype)


def cosine_embedding(input1, input2, target, sem: Semantics, dtype: str, *, margin=0.0) -> PerSample:
    """l = 1 - cos(x1, x2) for t = 1, max(0, cos(x1, x2) - margin) for t = -1, cos over the feature axis;
    x1 = input1, x2 = input2, t = target (one per row). The ideal gives a zero vector
    cosine 0 (the value every guarded form gives it); torch adds 1e-12 (a C++ float) to each squared
    norm: cos = x1.x2 / sqrt((|x1|^2 + eps)(|x2|^2 + eps)) (``norm_epsilon``).

    torch.nn.functional.cosine_embedding_loss (2.13.0), ATen Loss.cpp.
    """
    eps = None if sem["norm_epsilon"] is None else _guard_constant(sem["norm_epsilon"], sem, dtype)
    rows_a, batch_shape = _rows(input1)
    rows_b, _ = _rows(input2)
    targets = np.asarray(target, dtype=object).reshape(-1)
    m = mpmath.mpf(margin)
    out = np.empty(len(rows_a), dtype=object)
    normaliser = np.empty(len(rows_a), dtype=object)
    for i, (t, a, b) in enumerate(zip(targets, rows_a, rows_b)):
        out[i], normaliser[i] = _cosine_term(t, a, b, m, eps, dtype)
    # the D terms of the dot product and one more: 1 - cos (or cos - margin) rounds against the normaliser too,
    # which matters most for D = 1, where torch's 1 - cos of parallel vectors is 0 and the exact value ~eps/|x|^2
    return PerSample(out.reshape(batch_shape), inner_terms=rows_a.shape[-1] + 1, normaliser=normaliser.reshape(batch_shape))


def _power(x, p, signed: bool):
    """|x|^p, or x^p with its sign (optax), NaN where a negative base meets a non-integer power."""
    if not signed or x >= 0:
        return abs(x) ** p
    return x ** p if p == int(p) else mpmath.nan


def _distance(u, v, p, sem: Semantics, eps):
    placement, signed = sem["epsilon_placement"], sem["signed_power"]
    diffs = [a - b for a, b in zip(u, v)]
    if placement == "difference":  # torch pairwise_distance: ||u - v + eps||_p
        diffs = [d + eps for d in diffs]
    total = mpmath.fsum(_power(d, p, signed) for d in diffs)
    if placement == "inside_root":  # optax: (sum (u - v)^p + eps)^(1/p)
        total += eps
    if mpmath.isnan(total):
        return total
    return _power(total, 1 / p, signed) if total < 0 else total ** (1 / p)


def triplet_margin(anchor, positive, negative, sem: Semantics, dtype: str, *, margin=1.0, p=2.0, eps=1e-6,
                   swap=False) -> PerSample:
    """l = max(0, margin + d(a, pos) - d(a, neg)), d(u, v) = ||u - v||_p over the feature (last) axis;
    with ``swap`` d(a, neg) is replaced by min(d(a, neg), d(pos, neg)). a = anchor, pos = positive,
    neg = negative.

    torch.nn.functional.triplet_margin_loss (2.13.0) uses ||u - v + eps||_p (``epsilon_placement:
    difference``); optax.losses.triplet_margin_loss (0.2.8) uses (sum (u - v)^p + eps)^(1/p) with signed
    powers (``epsilon_placement: inside_root``, ``signed_power``) and has no swap. Balntas et al. (2016).
    """
    _placement(sem, ("difference", "inside_root"), "triplet_margin")
    e = _guard_constant(eps, sem, dtype) if sem["epsilon_placement"] else ZERO
    q = mpmath.mpf(p)
    anchors, batch_shape = _rows(anchor)
    pos_rows, _ = _rows(positive)
    neg_rows, _ = _rows(negative)
    m = mpmath.mpf(margin)
    out = np.empty(len(anchors), dtype=object)
    normaliser = np.empty(len(anchors), dtype=object)
    for i, (a, pos, neg) in enumerate(zip(anchors, pos_rows, neg_rows)):
        d_pos = _distance(a, pos, q, sem, e)
        d_neg = _distance(a, neg, q, sem, e)
        if swap:
            d_neg = min(d_neg, _distance(pos, neg, q, sem, e))
        value = m + d_pos - d_neg
        out[i] = value if mpmath.isnan(value) else max(ZERO, value)
        finite = mpmath.isfinite(d_pos) and mpmath.isfinite(d_neg)
        normaliser[i] = _clamp_allowance(value, abs(d_pos) + abs(d_neg), len(a), dtype) if finite else ZERO
    return PerSample(out.reshape(batch_shape), inner_terms=anchors.shape[-1], normaliser=normaliser.reshape(batch_shape))


# -- domain rules beyond the input kinds ---------------------------------------------------------------

def _shape_of(a) -> tuple:
    return tuple(np.shape(a))


def _check_same_shapes(what: str, **inputs):
    shapes = {name: _shape_of(a) for name, a in inputs.items()}
    if len(set(shapes.values())) > 1:
        raise DomainError(f"{what} takes {', '.join(shapes)} of one shape; got "
                          + ", ".join(f"{name} {shape}" for name, shape in shapes.items()))


def _check_margin_ranking(params, input1, input2, target, sample_weight):
    _check_same_shapes("margin_ranking", input1=input1, input2=input2, target=target)


def _check_gaussian(params, input, target, var, sample_weight):
    _check_same_shapes("gaussian_nll", input=input, target=target, var=var)


def _check_rows(what: str, batch_shaped: dict, **rows):
    """Inputs of shape B + (D,) (D >= 1) that agree, and inputs of shape B (one per row)."""
    shapes = {name: _shape_of(a) for name, a in rows.items()}
    first = next(iter(shapes.values()))
    if len(first) < 1 or first[-1] < 1 or len(set(shapes.values())) > 1:
        raise DomainError(f"{what} takes {', '.join(shapes)} of one shape B + (D,), D >= 1; got "
                          + ", ".join(f"{name} {shape}" for name, shape in shapes.items()))
    for name, a in batch_shaped.items():
        if _shape_of(a) != first[:-1]:
            raise DomainError(f"{what}: {name} of shape {_shape_of(a)} does not match rows of shape {first}: "
                              f"expected {first[:-1]}")


def _check_cosine(params, input1, input2, target, sample_weight):
    _check_rows("cosine_embedding", {"target": target}, input1=input1, input2=input2)


def _check_triplet(params, anchor, positive, negative, sample_weight):
    _check_rows("triplet_margin", {}, anchor=anchor, positive=positive, negative=negative)


def _check_poisson(params, y_true, y_pred, sample_weight):
    if not params["log_input"] and np.any(np.asarray(y_pred, dtype=np.float64) < 0):
        raise DomainError("poisson_nll with log_input=False: y_pred is a rate and must be non-negative")


def _check_multilabel_margin(params, y_true, y_pred, sample_weight):
    if np.ndim(y_pred) not in (1, 2):
        raise DomainError(f"multilabel_margin takes scores of shape (C,) or (N, C); got {_shape_of(y_pred)}")
    if _shape_of(y_true) != _shape_of(y_pred):
        raise DomainError(f"y_true has shape {_shape_of(y_true)} but y_pred has shape {_shape_of(y_pred)}; "
                          "multilabel_margin takes one target row (labels, then -1 padding) per score row")
    labels = np.asarray(y_true)
    c = np.shape(y_pred)[-1]
    if labels.size and (labels.min() < -1 or labels.max() >= c):
        raise DomainError(f"multilabel_margin targets must lie in [-1, {c}) (labels, then -1 padding); "
                          f"got {labels.min()}..{labels.max()}")
    for row in labels.reshape(-1, c):
        listed = label_prefix(row)
        if len(set(listed)) != len(listed):
            raise DomainError(f"multilabel_margin: a label is listed twice in {row.tolist()} (the labels are a set)")


def _check_class_weight(params, y_true, y_pred, sample_weight):
    c = np.shape(y_pred)[-1] if np.ndim(y_pred) else 0
    if np.ndim(y_pred) == 0:
        raise DomainError("scores must have a class axis")
    if params.get("class_weight") is not None and len(params["class_weight"]) != c:
        raise DomainError(f"class_weight has {len(params['class_weight'])} entries for {c} classes")


def _check_multi_margin(params, y_true, y_pred, sample_weight):
    if np.ndim(y_pred) not in (1, 2):
        raise DomainError(f"multi_margin takes scores of shape (C,) or (N, C); got {_shape_of(y_pred)}")


LOSSES = {
    "smooth_l1": smooth_l1,
    "nll": nll,
    "poisson_nll": poisson_nll,
    "gaussian_nll": gaussian_nll,
    "hinge_embedding": hinge_embedding,
    "margin_ranking": margin_ranking,
    "multi_margin": multi_margin,
    "multilabel_margin": multilabel_margin,
    "multilabel_soft_margin": multilabel_soft_margin,
    "soft_margin": soft_margin,
    "cosine_embedding": cosine_embedding,
    "triplet_margin": triplet_margin,
}

CHECKS = {
    "gaussian_nll": _check_gaussian,
    "margin_ranking": _check_margin_ranking,
    "cosine_embedding": _check_cosine,
    "triplet_margin": _check_triplet,
    "poisson_nll": _check_poisson,
    "multilabel_margin": _check_multilabel_margin,
    "multilabel_soft_margin": _check_class_weight,
    "multi_margin": _check_multi_margin,
}
