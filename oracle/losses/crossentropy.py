"""The cross-entropy family: binary, categorical (dense targets) and sparse categorical (integer targets).

Formulas (ideal), with K classes along ``axis`` and label smoothing ls:
  binary:      l = mean_axis -[y' log p + (1-y') log(1-p)],  y' = y(1-ls) + ls/2,  p = sigmoid(z) from logits
  categorical: l = -sum_axis y' log p,                       y' = y(1-ls) + ls/K,  p = softmax(z) from logits
  sparse:      l = -log p[label]                             (labels equal to ignore_class are masked)
References: Keras 3 keras/src/losses/losses.py and keras/src/backend/*/nn.py (3.15.1);
torch.nn.functional binary_cross_entropy / cross_entropy (2.13.0); TF1 losses_impl.py (2.21.0).
"""
from __future__ import annotations

import mpmath
import numpy as np

from oracle.losses.common import (
    PerSample, clip, clip_bounds, constant, from_terms, intermediate, lazy_xlogy, log, log_one_minus, move_axis_last, softplus,
    xlogy,
)
from core.semantics import Semantics


def _bce_from_logits(y, z):
    # -[y log sigmoid(z) + (1-y) log sigmoid(-z)] = y softplus(-z) + (1-y) softplus(z): two non-negative
    # terms, so nothing cancels at any precision ((1-y) z + softplus(-z) is exactly 0 at every working
    # precision for z = -1e4, y = 0, and two precisions agreeing on 0 would "certify" it). 0 * inf = 0 gives
    # the limit at z = +-inf, finite when the target sits on the saturated side. A hard label's other term is
    # that 0: not evaluating it halves the cost of the commonest case.
    return lazy_xlogy(y, lambda: softplus(-z)) + lazy_xlogy(1 - y, lambda: softplus(z))


def _bce_from_probabilities(y, p, sem: Semantics, dtype: str):
    if sem["clip_epsilon"] is not None:
        p = clip(p, *clip_bounds(sem, dtype))
    if sem["log_offset"] is not None:
        # Keras 2: log(output + eps) and log(1 - output + eps), each sum rounded in the compute dtype
        eps = constant(sem["log_offset"], dtype) if sem["round_constants"] else mpmath.mpf(str(sem["log_offset"]))
        one_minus = intermediate(1 - p, dtype) if sem["one_minus_in_dtype"] else 1 - p
        shifted = (lambda v: intermediate(v, dtype)) if sem["round_constants"] else (lambda v: v)
        return -(lazy_xlogy(y, lambda: log(shifted(p + eps), sem), sem)
                 + lazy_xlogy(1 - y, lambda: log(shifted(one_minus + eps), sem), sem))
    return -(lazy_xlogy(y, lambda: log(p, sem), sem) + lazy_xlogy(1 - y, lambda: log_one_minus(p, sem, dtype), sem))


def binary_crossentropy(y_true, y_pred, sem: Semantics, dtype: str, *, from_logits=False, label_smoothing=0.0, axis=-1):
    ls = mpmath.mpf(label_smoothing)
    y = y_true * (1 - ls) + ls / 2 if ls else y_true
    if from_logits:
        terms = np.frompyfunc(_bce_from_logits, 2, 1)(y, y_pred)
    else:
        terms = np.frompyfunc(lambda a, b: _bce_from_probabilities(a, b, sem, dtype), 2, 1)(y, y_pred)
    return from_terms(terms, axis, sem)


def _normalises(from_logits: bool, sem: Semantics) -> bool:
    """Whether log p goes through a normalising sum over the row (log-sum-exp, or p / sum p)."""
    return bool(from_logits or sem["renormalize"])


def _log_probabilities(row, from_logits: bool, sem: Semantics, dtype: str) -> list:
    """log p for one row of logits or probabilities, with the semantics' renormalisation and clipping."""
    if from_logits:
        top = [v for v in row if v == mpmath.inf]
        if top:  # the limit as those logits grow together: their mass is shared, every other class gets none
            return [-mpmath.log(len(top)) if v == mpmath.inf else mpmath.ninf for v in row]
        # log p_k = (z_k - top) - log1p(sum over the other classes of exp(z_j - top)): the dominant class's
        # log-probability comes out of log1p, never as a difference of two nearly equal numbers
        row = list(row)
        top = max(row)
        first = row.index(top)
        rest = mpmath.fsum(mpmath.exp(v - top) for j, v in enumerate(row) if j != first and v != mpmath.ninf)
        shift = mpmath.log1p(rest)
        return [v - top - shift if v != mpmath.ninf else mpmath.ninf for v in row]
    o = list(row)
    order = sem["renormalize"]
    if order == "before_clip":
        total = mpmath.fsum(o)
        o = [v / total for v in o]
    if sem["clip_epsilon"] is not None:
        low, high = clip_bounds(sem, dtype)
        o = [clip(v, low, high) for v in o]
    if order == "after_clip":
        total = mpmath.fsum(o)
        o = [v / total for v in o]
    return [log(v, sem) for v in o]


def _rows(a: np.ndarray, axis: int) -> tuple[np.ndarray, tuple]:
    moved = move_axis_last(a, axis)
    return moved.reshape(-1, moved.shape[-1]), moved.shape[:-1]


def categorical_crossentropy(y_true, y_pred, sem: Semantics, dtype: str, *, from_logits=False, label_smoothing=0.0, axis=-1):
    ls = mpmath.mpf(label_smoothing)
    k = y_pred.shape[-1] if sem["smoothing_classes"] == "last_axis" else y_pred.shape[axis]
    y = y_true * (1 - ls) + ls / k if ls else y_true
    targets, batch_shape = _rows(np.asarray(y, dtype=object), axis)
    preds, _ = _rows(y_pred, axis)
    out = np.empty(len(preds), dtype=object)
    normaliser = np.empty(len(preds), dtype=object)
    for i, (t, row) in enumerate(zip(targets, preds)):
        logp = _log_probabilities(row, from_logits, sem, dtype)
        out[i] = -mpmath.fsum(xlogy(a, b) for a, b in zip(t, logp))
        # every log p_k carries the normaliser's rounding, weighted by its target y'_k
        normaliser[i] = mpmath.fsum(abs(a) for a in t) if _normalises(from_logits, sem) else mpmath.mpf(0)
    return PerSample(out.reshape(batch_shape), inner_terms=preds.shape[-1], normaliser=normaliser.reshape(batch_shape))


def sparse_categorical_crossentropy(
    y_true, y_pred, sem: Semantics, dtype: str, *, from_logits=False, axis=-1, ignore_class=None, class_weight=None
):
    labels = np.asarray(y_true).astype(np.int64)
    preds, batch_shape = _rows(y_pred, axis)
    labels = labels.reshape(-1)
    out = np.empty(len(preds), dtype=object)
    mask = np.ones(len(preds), dtype=bool)
    weights = None if class_weight is None else np.empty(len(preds), dtype=object)
    for i, (label, row) in enumerate(zip(labels, preds)):
        if ignore_class is not None and label == ignore_class:
            out[i], mask[i] = mpmath.mpf(0), False
            if weights is not None:
                weights[i] = mpmath.mpf(0)
            continue
        out[i] = -_log_probabilities(row, from_logits, sem, dtype)[label]
        if weights is not None:
            weights[i] = mpmath.mpf(class_weight[label])
    reshape = lambda a: None if a is None else a.reshape(batch_shape)
    normaliser = np.full(len(preds), mpmath.mpf(1 if _normalises(from_logits, sem) else 0), dtype=object)
    return PerSample(out.reshape(batch_shape), mask=reshape(mask), inner_terms=preds.shape[-1],
                     item_weights=reshape(weights), normaliser=reshape(normaliser))


LOSSES = {
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}
