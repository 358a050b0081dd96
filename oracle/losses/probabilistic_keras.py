"""Keras 3's hinge, probabilistic, overlap and focal losses, with the torch, TF1 and optax semantics of
the same mathematics.

Formulas (ideal); means and sums over the last axis unless an axis parameter says otherwise:
  hinge            l = mean max(1 - t y_hat, 0),    t = y in {-1, +1}, or 2y - 1 when every label is 0 or 1
  squared_hinge    l = mean max(1 - t y_hat, 0)^2
  categorical_hinge  l = max(0, 1 + max_{j != c} y_hat_j - y_hat_c)   (one-hot y, target class c; Crammer & Singer 2001;
                   a row with no class marked: pos = sum y y_hat = 0)
  kl_divergence    l = sum p (log p - log q)        (p = y or exp(y) with log_target, q = y_hat or exp(y_hat)
                                                    with log_input; 0 log 0 = 0)
  poisson          l = mean y_hat - y log y_hat     (+ log Gamma(y + 1) with full; y_hat = exp(x) with log_input)
  dice             l = 1 - 2 sum(y y_hat) / (sum y + sum y_hat)                  over ``axes`` (None: all)
  tversky          l = 1 - TP / (TP + alpha FP + beta FN),  TP = sum y y_hat, FP = sum (1 - y) y_hat,
                   FN = sum y (1 - y_hat)           (Salehi et al. 2017); 0/0 ratios are 0 (the eps -> 0 limit)
  categorical_generalized_cross_entropy  l = (1 - p_c^q) / q     (integer labels c; Zhang & Sabuncu 2018)
  binary_focal_crossentropy  l = mean w (1 - p_t)^gamma BCE(y', p),  p_t = y' p + (1 - y')(1 - p),
                   w = y' alpha + (1 - y')(1 - alpha) with apply_class_balancing (Lin et al. 2017)
  categorical_focal_crossentropy  l = -sum_c alpha_c (1 - p_c)^gamma y'_c log p_c
References: Keras 3.15.1 keras/src/losses/losses.py; tf-keras 2.21.0 tf_keras/src/losses.py and backend.py;
torch 2.13.0 torch.nn.functional (kl_div, poisson_nll_loss); TF 2.21.0 losses_impl.py (hinge_loss);
optax 0.2.8 optax/losses/_classification.py (hinge_loss, kl_divergence, kl_divergence_with_log_targets,
sigmoid_focal_loss).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np

from oracle.domain import DomainError
from oracle.losses.common import (
    PerSample, clip, clip_bounds, constant, from_terms, intermediate, logsumexp, move_axis_last, softplus, xlogy,
)
from oracle.losses.crossentropy import _bce_from_probabilities
from oracle.losses.regression_keras import guard_constant, param
from core.semantics import Semantics


ZERO, ONE = mpmath.mpf(0), mpmath.mpf(1)


def _elementwise(fn, *arrays):
    return np.asarray(np.frompyfunc(fn, len(arrays), 1)(*arrays), dtype=object)


def _rows(a, axis: int = -1):
    moved = move_axis_last(np.asarray(a, dtype=object), axis)
    return moved.reshape(-1, moved.shape[-1]), moved.shape[:-1]


def _log(x):
    return mpmath.log(x) if x > 0 else (mpmath.ninf if x == 0 else mpmath.nan)


def _sigmoid_pair(z):
    """(sigmoid(z), sigmoid(-z)), each computed without cancellation; exact limits at +-inf."""
    if mpmath.isinf(z):
        return (ONE, ZERO) if z > 0 else (ZERO, ONE)
    if z >= 0:
        e = mpmath.exp(-z)
        return 1 / (1 + e), e / (1 + e)
    e = mpmath.exp(z)
    return e / (1 + e), 1 / (1 + e)


def _power(base, exponent):
    """base ** exponent with 0 ** 0 = 1 (the focal factor of gamma = 0)."""
    if exponent == 0:
        return ONE
    return ZERO if base == 0 else mpmath.power(base, exponent)


# -- hinge ----------------------------------------------------------------------------------------

def _hinge_targets(y_true, sem: Semantics):
    mode = sem["hinge_labels"]
    flat = list(np.asarray(y_true, dtype=object).ravel())
    binary = all(v == 0 or v == 1 for v in flat)
    if mode == "binary" or (mode == "auto" and binary):
        return np.asarray(2 * np.asarray(y_true, dtype=object) - 1, dtype=object)
    return np.asarray(y_true, dtype=object)


def hinge(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = mean_last_axis max(1 - t y_hat, 0) (Cortes & Vapnik 1995).

    Keras 3.15.1 convert_binary_labels_to_hinge: t = 2y - 1 if *all* labels of the tensor are 0 or 1
    (one ops.cond per call), else y. TF1 hinge_loss always maps 2y - 1; optax hinge_loss never does.
    """
    t = _hinge_targets(y_true, sem)
    return from_terms(_elementwise(lambda a, b: max(1 - a * b, ZERO), t, y_pred), -1, sem)


def squared_hinge(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = mean_last_axis max(1 - t y_hat, 0)^2, t as for ``hinge`` (Keras 3.15.1 squared_hinge)."""
    t = _hinge_targets(y_true, sem)
    return from_terms(_elementwise(lambda a, b: max(1 - a * b, ZERO) ** 2, t, y_pred), -1, sem)


def categorical_hinge(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = max(0, 1 + max_{j != c} s_j - s_c) for a one-hot target of class c (Crammer & Singer, JMLR 2 (2001));
    a row with no class marked (all 0) reads s_c = 0 there, l = max(0, 1 + max_j s_j), as Keras computes it.

    Keras 3.15.1: pos = sum(y s), neg = max((1 - y) s), max(neg - pos + 1, 0): the target slot enters neg
    as 0, so the result differs when every other score is negative (``categorical_hinge_negative``).
    """
    targets, batch_shape = _rows(y_true)
    scores, _ = _rows(y_pred)
    out = np.empty(len(scores), dtype=object)
    for i, (t, s) in enumerate(zip(targets, scores)):
        pos = mpmath.fsum(a * b for a, b in zip(t, s))
        if sem["categorical_hinge_negative"] == "masked_product":
            neg = max((1 - a) * b for a, b in zip(t, s))
        else:
            neg = max(b for a, b in zip(t, s) if a == 0)
        out[i] = max(neg - pos + 1, ZERO)
    return PerSample(out.reshape(batch_shape), inner_terms=scores.shape[-1])


# -- Kullback-Leibler divergence ------------------------------------------------------------------

def _kl_term(t, x, sem: Semantics, dtype: str, log_input: bool, log_target: bool):
    if sem["kl_clip"] is not None and not (log_input or log_target):  # Keras: clip(y, eps, 1), clip(y_hat, eps, 1)
        low = guard_constant(sem["kl_clip"], sem, dtype)
        t, x = clip(t, low, ONE), clip(x, low, ONE)
    p, log_p = (mpmath.exp(t), t) if log_target else (t, _log(t))
    log_q = x if log_input else _log(x)
    if p == 0:
        infinite = mpmath.isinf(log_q) or (log_target and mpmath.isinf(t))
        return mpmath.nan if (sem["zero_times_inf"] and infinite) else ZERO
    return p * (log_p - log_q)


def kl_divergence(y_true, y_pred, sem: Semantics, dtype: str, *, log_input=False, log_target=False) -> PerSample:
    """l = sum_last_axis p (log p - log q), p the target distribution, q the prediction (0 log 0 = 0).

    Keras 3.15.1 kl_divergence clips both to [epsilon(), 1] first (a zero target then contributes
    eps log(eps / q), so Keras' KL of a zero row is negative). torch 2.13.0 kl_div(input=log q,
    target=p or log p with log_target) is elementwise: xlogy(p, p) - p input, or exp(t)(t - input);
    'batchmean' divides the sum by the batch size. optax 0.2.8 kl_divergence(log_predictions, targets)
    and kl_divergence_with_log_targets sum over the last axis. Both give NaN for p = 0 against log q = -inf.
    """
    terms = _elementwise(lambda t, x: _kl_term(t, x, sem, dtype, log_input, log_target), y_true, y_pred)
    return from_terms(terms, -1, sem, how="sum")


# -- Poisson --------------------------------------------------------------------------------------

def _log_factorial(y, sem: Semantics):
    if sem["poisson_full"] == "stirling":  # torch: masked_fill(target <= 1, 0)
        return y * mpmath.log(y) - y + mpmath.log(2 * mpmath.pi * y) / 2 if y > 1 else ZERO
    return mpmath.loggamma(y + 1)


def _poisson_term(y, x, sem: Semantics, dtype: str, log_input: bool, full: bool):
    if log_input:  # torch default: exp(input) - target * input
        value = mpmath.exp(x) - y * x
    else:
        eps = sem["poisson_epsilon"]
        rate = x + guard_constant(eps, sem, dtype) if eps is not None else x
        if y == 0 and rate == 0 and sem["zero_times_inf"]:  # torch: 0 * log(0) = NaN (eps = 1e-8 is 0 in float16)
            return mpmath.nan
        value = x - xlogy(y, _log(rate))
    return value + _log_factorial(y, sem) if full else value


def poisson(y_true, y_pred, sem: Semantics, dtype: str, *, log_input=False, full=False) -> PerSample:
    """l = mean_last_axis y_hat - y log y_hat, the Poisson negative log-likelihood without log(y!)
    (with ``full``: + log Gamma(y + 1)); ``log_input``: y_hat = exp(x), l = exp(x) - y x.

    Keras 3.15.1 poisson: mean(y_pred - y_true * log(y_pred + epsilon())). torch 2.13.0
    poisson_nll_loss(input, target, log_input, full, eps=1e-8): elementwise; full adds the Stirling
    approximation y log y - y + log(2 pi y)/2 where y > 1.
    """
    terms = _elementwise(lambda a, b: _poisson_term(a, b, sem, dtype, log_input, full), y_true, y_pred)
    return from_terms(terms, -1, sem)


# -- Dice and Tversky -----------------------------------------------------------------------------

def _overlap_groups(y_true, y_pred, axes):
    """(groups of (y, y_hat) pairs, output shape): one group per per-sample value."""
    y, p = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    reduced = tuple(range(y.ndim)) if axes is None else tuple(sorted(int(a) % y.ndim for a in axes))
    kept = tuple(a for a in range(y.ndim) if a not in reduced)
    order = kept + reduced
    shape = tuple(y.shape[a] for a in kept)
    size = math.prod(y.shape[a] for a in reduced)
    ys = np.transpose(y, order).reshape(-1, size)
    ps = np.transpose(p, order).reshape(-1, size)
    return list(zip(ys, ps)), shape, size


def _ratio(numerator, denominator):
    if denominator == 0:  # 0 / 0: the eps -> 0 limit of numerator / (denominator + eps) is 0
        return ZERO
    return numerator / denominator


def dice(y_true, y_pred, sem: Semantics, dtype: str, *, axes=None) -> PerSample:
    """l = 1 - 2 sum(y y_hat) / (sum y + sum y_hat) over ``axes`` (None: every axis, one value per call).

    Keras 3.15.1 dice(y_true, y_pred, axis): 1 - 2 I / (sum y + sum y_hat + epsilon()).
    """
    groups, shape, size = _overlap_groups(y_true, y_pred, axes)
    eps = sem["dice_epsilon"]
    out = np.empty(len(groups), dtype=object)
    ratio = np.empty(len(groups), dtype=object)
    for i, (y, p) in enumerate(groups):
        intersection = mpmath.fsum(a * b for a, b in zip(y, p))
        total = mpmath.fsum(y) + mpmath.fsum(p)
        if eps is not None:
            total += guard_constant(eps, sem, dtype)
        ratio[i] = _ratio(2 * intersection, total)
        out[i] = 1 - ratio[i]
    return PerSample(out.reshape(shape), inner_terms=size, normaliser=ratio.reshape(shape))


def tversky(y_true, y_pred, sem: Semantics, dtype: str, *, alpha=0.5, beta=0.5, axes=None) -> PerSample:
    """l = 1 - TP / (TP + alpha FP + beta FN) over ``axes`` (Salehi et al., arXiv:1706.05721): alpha
    weighs the false positives sum (1 - y) y_hat, beta the false negatives sum y (1 - y_hat).

    Keras 3.15.1 tversky: fp = sum((1 - y_pred) y_true) (false negatives), fn = sum(y_pred (1 - y_true))
    (false positives), 1 - TP / (TP + alpha fp + beta fn + epsilon()) (``tversky_swap``).
    """
    groups, shape, size = _overlap_groups(y_true, y_pred, axes)
    a, b = param(alpha, sem, dtype), param(beta, sem, dtype)
    eps = sem["dice_epsilon"]
    out = np.empty(len(groups), dtype=object)
    ratio = np.empty(len(groups), dtype=object)
    for i, (y, p) in enumerate(groups):
        tp = mpmath.fsum(u * v for u, v in zip(y, p))
        fp = mpmath.fsum((1 - u) * v for u, v in zip(y, p))
        fn = mpmath.fsum(u * (1 - v) for u, v in zip(y, p))
        if sem["tversky_swap"]:
            fp, fn = fn, fp
        denominator = tp + a * fp + b * fn
        if eps is not None:
            denominator += guard_constant(eps, sem, dtype)
        ratio[i] = _ratio(tp, denominator)
        out[i] = 1 - ratio[i]
    return PerSample(out.reshape(shape), inner_terms=size, normaliser=ratio.reshape(shape))


# -- generalized cross-entropy --------------------------------------------------------------------

def categorical_generalized_cross_entropy(y_true, y_pred, sem: Semantics, dtype: str, *, q=0.5) -> PerSample:
    """l = (1 - p_c^q) / q, p_c the predicted probability of the labelled class (Zhang & Sabuncu,
    NeurIPS 2018, arXiv:1805.07836). Keras 3.15.1: p = sum(y_pred * one_hot(y_true)), (1 - p**q) / q,
    no clipping."""
    qq = param(q, sem, dtype)
    labels = np.asarray(y_true).astype(np.int64).reshape(-1)
    rows, batch_shape = _rows(y_pred)
    out = np.empty(len(rows), dtype=object)
    for i, (label, row) in enumerate(zip(labels, rows)):
        p = row[label]
        out[i] = 1 / qq if p == 0 else -mpmath.expm1(qq * mpmath.log(p)) / qq  # 1 - p^q without cancellation
    return PerSample(out.reshape(batch_shape), inner_terms=1)


# -- focal cross-entropies ------------------------------------------------------------------------

def _bce_logits(y, z):
    """y softplus(-z) + (1 - y) softplus(z): both terms non-negative, 0 * inf = 0 at z = +-inf."""
    return xlogy(y, softplus(-z)) + xlogy(1 - y, softplus(z))


def _bce_probabilities(y, p, sem: Semantics, dtype: str):
    """Binary cross-entropy from a probability, as the cross-entropy family computes it; with
    ``zero_times_inf`` a zero coefficient times log 0 (a clip bound that rounds to 0 or 1) is NaN."""
    if sem["zero_times_inf"] and sem["clip_epsilon"] is not None:
        low, high = clip_bounds(sem, dtype)
        pc = clip(p, low, high)
        one_minus = intermediate(1 - pc, dtype) if sem["one_minus_in_dtype"] else 1 - pc
        if (y == 1 and one_minus == 0) or (y == 0 and pc == 0):
            return mpmath.nan
    return _bce_from_probabilities(y, p, sem, dtype)


def _binary_focal_term(y, v, sem: Semantics, dtype: str, from_logits: bool, gamma, balance):
    if from_logits and sem["focal_logits_via_probabilities"]:  # sigmoid materialised in the dtype, then probabilities
        p = intermediate(_sigmoid_pair(v)[0], dtype)
        q = 1 - p
        bce = _bce_probabilities(y, p, sem, dtype)
    elif from_logits:
        p, q = _sigmoid_pair(v)
        bce = _bce_logits(y, v)
    else:
        p, q = v, 1 - v
        bce = _bce_probabilities(y, p, sem, dtype)
    one_minus_pt = y * q + (1 - y) * p  # 1 - [y p + (1 - y)(1 - p)], written without cancellation
    value = _power(one_minus_pt, gamma) * bce
    return value * balance(y) if balance is not None else value


def binary_focal_crossentropy(y_true, y_pred, sem: Semantics, dtype: str, *, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1) -> PerSample:
    """l = mean_axis w (1 - p_t)^gamma BCE(y', p) (Lin et al., Focal Loss for Dense Object Detection, 2017).

    Keras 3.15.1 binary_focal_crossentropy: y' = y(1 - ls) + ls/2; p = sigmoid(z) with from_logits;
    bce = ops.binary_crossentropy(y', p, from_logits=False), clipped on JAX/torch/numpy, but on TF the
    sigmoid output carries _keras_logits and the exact logits formula is used (semantics ``keras_tf``);
    p_t from the unclipped p. tf-keras 2.21.0 uses the logits formula. optax 0.2.8 sigmoid_focal_loss:
    logits only, exact, elementwise; alpha=None is no balancing.
    """
    ls = mpmath.mpf(float(label_smoothing))  # as the cross-entropy family: the Python float itself
    y = np.asarray(y_true * (1 - ls) + ls / 2 if ls else y_true, dtype=object)
    g, a = param(gamma, sem, dtype), param(alpha, sem, dtype)
    balance = (lambda t: t * a + (1 - t) * (1 - a)) if apply_class_balancing else None
    terms = _elementwise(lambda t, v: _binary_focal_term(t, v, sem, dtype, from_logits, g, balance), y, y_pred)
    return from_terms(terms, axis, sem)


def _class_probabilities(row, from_logits: bool, sem: Semantics, dtype: str):
    """[(p_c, 1 - p_c, log p_c)] for one row, after the semantics' renormalisation and clipping."""
    if from_logits:
        top = [v for v in row if v == mpmath.inf]
        if top:
            share = ONE / len(top)
            probs = [share if v == mpmath.inf else ZERO for v in row]
            rest = [1 - p for p in probs]
        else:
            finite = [v for v in row if v != mpmath.ninf]
            lse = logsumexp(finite)
            probs = [mpmath.exp(v - lse) if v != mpmath.ninf else ZERO for v in row]
            total = mpmath.fsum(probs)
            rest = [(total - p) / total for p in probs]  # sum of the other classes: no cancellation near 1
            probs = [p / total for p in probs]
    else:
        probs = list(row)
        rest = [1 - p for p in probs]
    if sem["renormalize"] == "before_clip":  # Keras: output / sum(output), also after a softmax
        total = mpmath.fsum(probs)
        rest = [r / total for r in _sums_of_the_others(probs)]
        probs = [p / total for p in probs]
    if sem["clip_epsilon"] is not None:
        low, high = clip_bounds(sem, dtype)
        clipped = [clip(p, low, high) for p in probs]
        rest = [r if c == p else 1 - c for p, c, r in zip(probs, clipped, rest)]
        probs = clipped
    return [(p, r, _log(p)) for p, r in zip(probs, rest)]


def _sums_of_the_others(values: list) -> list:
    """sum_{k != j} values_k for every j, from prefix and suffix sums (O(C), not O(C^2)); the values are
    non-negative, so no sum cancels and each is as accurate as the working precision."""
    prefix, suffix = [ZERO], [ZERO]
    for v in values:
        prefix.append(prefix[-1] + v)
    for v in reversed(values):
        suffix.append(suffix[-1] + v)
    n = len(values)
    return [prefix[j] + suffix[n - 1 - j] for j in range(n)]


def categorical_focal_crossentropy(y_true, y_pred, sem: Semantics, dtype: str, *, alpha=0.25, alpha_per_class=None,
                                   gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1) -> PerSample:
    """l = -sum_axis alpha_c (1 - p_c)^gamma y'_c log p_c, y' = y(1 - ls) + ls/K, p = softmax(z) with
    from_logits (Lin et al. 2017, multi-class form).

    Keras 3.15.1 categorical_focal_crossentropy: output = y_pred / sum(y_pred, axis) (also after the
    softmax), clip(output, epsilon(), 1 - epsilon()), cce = -y' log(output), (1 - output)^gamma * alpha
    * cce summed over axis; K = shape(y_true)[-1] whatever the axis. tf-keras 2.21.0: the same.
    """
    ls = mpmath.mpf(float(label_smoothing))
    k = y_pred.shape[-1] if sem["smoothing_classes"] == "last_axis" else y_pred.shape[axis]
    y = np.asarray(y_true * (1 - ls) + ls / k if ls else y_true, dtype=object)
    targets, batch_shape = _rows(y, axis)
    preds, _ = _rows(y_pred, axis)
    g = param(gamma, sem, dtype)
    weights = None
    if alpha_per_class is not None:
        listed = sem["alpha_list_dtype"]
        weights = [constant(a, listed) if listed else param(a, sem, dtype) for a in alpha_per_class]
    a0 = param(alpha, sem, dtype)
    out = np.empty(len(preds), dtype=object)
    normaliser = np.empty(len(preds), dtype=object)
    for i, (t, row) in enumerate(zip(targets, preds)):
        total, spread = [], []
        for c, (target, (p, rest, log_p)) in enumerate(zip(t, _class_probabilities(row, from_logits, sem, dtype))):
            a = weights[c] if weights is not None else a0
            focal = _power(rest, g)
            total.append(-a * focal * xlogy(target, log_p))
            # a relative rounding u of the row sum moves log p_c by u and (1 - p_c)^gamma by gamma p_c (1 - p_c)^(gamma-1) u
            slope = g * p * _power(rest, g - 1) * abs(log_p) if rest != 0 and mpmath.isfinite(log_p) else ZERO
            spread.append(abs(a * target) * (focal + slope))
        out[i] = mpmath.fsum(total)
        normalises = from_logits or sem["renormalize"]
        normaliser[i] = mpmath.fsum(spread) if normalises and mpmath.isfinite(out[i]) else ZERO
    return PerSample(out.reshape(batch_shape), inner_terms=preds.shape[-1], normaliser=normaliser.reshape(batch_shape))


LOSSES = {
    "hinge": hinge,
    "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge,
    "kl_divergence": kl_divergence,
    "poisson": poisson,
    "dice": dice,
    "tversky": tversky,
    "categorical_generalized_cross_entropy": categorical_generalized_cross_entropy,
    "binary_focal_crossentropy": binary_focal_crossentropy,
    "categorical_focal_crossentropy": categorical_focal_crossentropy,
}


# -- domain rules beyond the input kinds ----------------------------------------------------------

def _check_hinge_labels(name: str):
    def check(params, y_true, y_pred, sample_weight) -> None:
        values = set(np.unique(np.asarray(y_true, dtype=np.float64)).tolist())
        if not (values <= {-1.0, 1.0} or values <= {0.0, 1.0}):
            raise DomainError(f"{name}: labels must be all -1/+1 or all 0/1 (one encoding per tensor); got values "
                              f"{sorted(values)}")
    return check


def _check_categorical_hinge(params, y_true, y_pred, sample_weight) -> None:
    t = np.asarray(y_true, dtype=np.float64)
    if t.ndim == 0 or t.shape[-1] < 2:
        raise DomainError("categorical_hinge needs at least 2 classes on the last axis")
    if not (np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=-1) <= 1)):
        raise DomainError("categorical_hinge: y_true must be one-hot along the last axis (0/1 with at most one 1 per "
                          "row; -1/+1 targets are not accepted)")


def _check_kl(params, y_true, y_pred, sample_weight) -> None:
    for name, values, in_log in (("y_true", y_true, params["log_target"]), ("y_pred", y_pred, params["log_input"])):
        v = np.asarray(values, dtype=np.float64)
        if in_log and np.any(v > 0):
            raise DomainError(f"kl_divergence: {name} holds log-probabilities (log_{'target' if name == 'y_true' else 'input'}"
                              f"=True) and must be <= 0; got a maximum of {v.max()}")
        if not in_log and (np.any(v < 0) or np.any(v > 1)):
            raise DomainError(f"kl_divergence: {name} must lie in [0, 1] (probabilities); got values in "
                              f"[{v.min()}, {v.max()}]")


def _check_poisson(params, y_true, y_pred, sample_weight) -> None:
    v = np.asarray(y_pred, dtype=np.float64)
    if not params["log_input"] and np.any(v < 0):
        raise DomainError(f"poisson: y_pred is a rate and must be non-negative (log_input=False); got a minimum of {v.min()}")


def _check_axes(name: str):
    def check(params, y_true, y_pred, sample_weight) -> None:
        axes = params.get("axes")
        if axes is None:
            return
        ndim = np.ndim(y_pred)
        if not all(float(a) == int(a) and -ndim <= int(a) < ndim for a in axes):
            raise DomainError(f"{name}: axes={list(axes)} must be integers within the rank {ndim} of the inputs")
        if len({int(a) % ndim for a in axes}) != len(axes) or not axes:
            raise DomainError(f"{name}: axes={list(axes)} must name distinct axes (at least one)")
    return check


def _check_focal(params, y_true, y_pred, sample_weight) -> None:
    weights = params.get("alpha_per_class")
    if weights is not None:
        classes = np.shape(y_pred)[params["axis"]]
        if len(weights) != classes:
            raise DomainError(f"categorical_focal_crossentropy: alpha_per_class has {len(weights)} entries for {classes} classes")


CHECKS = {
    "hinge": _check_hinge_labels("hinge"),
    "squared_hinge": _check_hinge_labels("squared_hinge"),
    "categorical_hinge": _check_categorical_hinge,
    "kl_divergence": _check_kl,
    "poisson": _check_poisson,
    "dice": _check_axes("dice"),
    "tversky": _check_axes("tversky"),
    "categorical_focal_crossentropy": _check_focal,
}
