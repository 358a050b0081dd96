"""Regression losses of Keras 3, with the torch, TF1 and optax semantics of the same mathematics.

Formulas (ideal), e = y_pred - y_true, means and sums over the last axis (cosine: over ``axis``):
  mean_absolute_error              l = mean |e|
  mean_absolute_percentage_error   l = 100 mean |e| / |y|        (y = 0: 0 if e = 0, else +inf)
  mean_squared_logarithmic_error   l = mean (log1p(y_hat) - log1p(y))^2
  cosine_similarity                l = -cos(y, y_hat) = -<y, y_hat> / (|y| |y_hat|)   (a zero vector: cos = 0)
  huber                            l = mean h(|e|),  h(a) = a^2 / 2 if a <= delta else delta a - delta^2 / 2
  log_cosh                         l = mean log cosh(e)

Where the mathematics has no value (MAPE at y = 0, the cosine of a zero vector) the ideal is the limit
of the framework's guarded formula as its guard vanishes (eps -> 0): 100 |e| / max(|y|, eps) -> 0 or
+inf, x / max(|x|, eps) -> 0. References: Keras 3.15.1 keras/src/losses/losses.py and keras/src/ops/nn.py
(normalize); tf-keras 2.21.0 tf_keras/src/losses.py; torch 2.13.0 torch.nn.functional (l1_loss,
huber_loss, cosine_embedding_loss); TF 2.21.0 tensorflow/python/ops/losses/losses_impl.py
(absolute_difference, huber_loss); optax 0.2.8 optax/losses/_regression.py
(huber_loss, log_cosh, cosine_distance). P. J. Huber, "Robust Estimation of a Location Parameter" (1964).
"""
from __future__ import annotations

import mpmath
import numpy as np

from core import dtypes
from oracle.losses.common import PerSample, constant, from_terms, intermediate, move_axis_last
from core.semantics import Semantics


_HALF = ("float16", "bfloat16")


def param(value, sem: Semantics, dtype: str) -> mpmath.mpf:
    """A float parameter as the semantics sees it: the Python float exactly, or rounded to the dtype."""
    return constant(value, dtype) if sem["round_params"] else mpmath.mpf(float(value))


def guard_constant(value, sem: Semantics, dtype: str) -> mpmath.mpf:
    """A guard constant written as a Python float: rounded to the dtype, or the decimal as written."""
    return constant(value, dtype) if sem["round_constants"] else mpmath.mpf(str(value))


def _elementwise(fn, *arrays):
    return np.asarray(np.frompyfunc(fn, len(arrays), 1)(*arrays), dtype=object)


# -- mean absolute error --------------------------------------------------------------------------

def mean_absolute_error(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = mean_last_axis |y - y_hat| (Keras mean_absolute_error; torch l1_loss and TF1
    absolute_difference keep elementwise terms: ``axis_reduction: none``)."""
    return from_terms(_elementwise(lambda a, b: abs(a - b), y_true, y_pred), -1, sem)


# -- mean absolute percentage error ---------------------------------------------------------------

def _percentage(y, y_hat, sem: Semantics, dtype: str):
    error = abs(y - y_hat)
    eps = sem["mape_epsilon"]
    denominator = max(abs(y), guard_constant(eps, sem, dtype)) if eps is not None else abs(y)
    if denominator == 0:  # the limit of |e| / max(|y|, eps) as eps -> 0
        return mpmath.mpf(0) if error == 0 else mpmath.inf
    return 100 * error / denominator


def mean_absolute_percentage_error(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = 100 mean_last_axis |(y - y_hat) / y|.

    Keras (3.15.1 and tf-keras 2.21.0): 100 * mean(abs((y - y_hat) / maximum(abs(y), epsilon()))), eps
    converted to the input dtype (``mape_epsilon``). At y = 0 the ideal is the eps -> 0 limit of that
    guard: 0 when y_hat = 0, +inf otherwise.
    """
    return from_terms(_elementwise(lambda a, b: _percentage(a, b, sem, dtype), y_true, y_pred), -1, sem)


# -- mean squared logarithmic error ---------------------------------------------------------------

def _log_one_plus(x, sem: Semantics, dtype: str):
    eps = sem["msle_epsilon"]
    work = dtype
    if eps is not None:
        if sem["msle_float32_constant"]:
            floor = constant(eps, "float32") if sem["round_constants"] else mpmath.mpf(str(eps))
            work = "float32" if dtype in _HALF else dtype
        else:
            floor = guard_constant(eps, sem, dtype)
        x = max(x, floor)
    if sem["log_plus_one_in_dtype"]:
        return mpmath.log(intermediate(x + 1, work))
    return mpmath.log1p(x)


def mean_squared_logarithmic_error(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = mean_last_axis (log(1 + y_hat) - log(1 + y))^2.

    Keras 3.15.1: log(maximum(y_hat, eps) + 1.0) with eps a float32 tensor (type promotion runs half
    inputs in float32); tf-keras 2.21.0: the same with eps in the input dtype. Both take the log of the
    rounded x + 1 (``log_plus_one_in_dtype``), not log1p.
    """
    def term(a, b):
        d = _log_one_plus(b, sem, dtype) - _log_one_plus(a, sem, dtype)
        return d * d

    return from_terms(_elementwise(term, y_true, y_pred), -1, sem)


# -- cosine similarity ----------------------------------------------------------------------------

def _inverse_norm(squares, sem: Semantics, dtype: str):
    """1/|x| as Keras 3 caps it (``norm_cap``: minimum(rsqrt(sum x^2), 1 / epsilon()); inf for a zero vector)."""
    eps = sem["cosine_epsilon"]
    cap = constant(1.0 / float(eps), dtype) if sem["round_constants"] else 1 / mpmath.mpf(str(eps))
    return min(1 / mpmath.sqrt(squares) if squares else mpmath.inf, cap)


def _cosine(a, b, sem: Semantics, dtype: str):
    """(cos, the magnitude of the dot product's terms on the same scale)."""
    products = [x * y for x, y in zip(a, b)]
    dot = mpmath.fsum(products)
    spread = mpmath.fsum(abs(p) for p in products)
    sa, sb = mpmath.fsum(x * x for x in a), mpmath.fsum(x * x for x in b)
    floor, eps = sem["cosine_floor"], sem["cosine_epsilon"]
    if floor is None or eps is None:
        if sa == 0 or sb == 0:  # the eps -> 0 limit of x / max(|x|, eps) is the zero vector: cos = 0
            return mpmath.mpf(0), mpmath.mpf(0)
        denominator = mpmath.sqrt(sa * sb)
        return dot / denominator, spread / denominator
    if floor == "squared_add":  # torch: prod_sum / sqrt((mag_square1 + EPSILON) * (mag_square2 + EPSILON))
        e = guard_constant(eps, sem, dtype)
        denominator = mpmath.sqrt((sa + e) * (sb + e))
        if denominator == 0:  # 0 / 0
            return mpmath.nan, mpmath.mpf(0)
        return dot / denominator, spread / denominator
    if floor == "squared_max":  # Keras 2 rsqrt(maximum(sum x^2, eps)); optax 1 / sqrt(clip(sum x^2, eps))
        e = guard_constant(eps, sem, dtype)
        denominator = mpmath.sqrt(max(sa, e) * max(sb, e))
        if denominator == 0:  # a zero vector times an infinite scale: 0 * inf
            return mpmath.nan, mpmath.mpf(0)
        # one division by one root (not dot * (1/|a|) * (1/|b|)): parallel vectors give cos = 1 exactly once the
        # precision holds the squares, so 1 - cos (optax's distance) certifies as 0 instead of as rounding noise
        return dot / denominator, spread / denominator
    ia, ib = _inverse_norm(sa, sem, dtype), _inverse_norm(sb, sem, dtype)
    if mpmath.isinf(ia) or mpmath.isinf(ib):  # a zero vector times an infinite scale: 0 * inf
        return mpmath.nan, mpmath.mpf(0)
    return dot * ia * ib, spread * ia * ib


def cosine_similarity(y_true, y_pred, sem: Semantics, dtype: str, *, axis=-1) -> PerSample:
    """l = -<y, y_hat> / (|y| |y_hat|) over ``axis`` (Keras' sign: -1 means aligned).

    Keras 3.15.1 normalises with x * minimum(rsqrt(sum x^2), 1/epsilon()) (keras/src/ops/nn.py
    _normalize), tf-keras 2.21.0 with tf.linalg.l2_normalize (rsqrt(maximum(sum x^2, 1e-12))), torch
    2.13.0 cosine_embedding_loss divides by sqrt((sum x^2 + 1e-12)(sum y^2 + 1e-12)), optax 0.2.8
    cosine_distance by sqrt(clip(sum x^2, epsilon=0)); torch and optax return 1 - cos
    (``cosine_form: distance``). TF1 cosine_distance does not normalise: a different function (its own spec).
    """
    a_rows = move_axis_last(np.asarray(y_true, dtype=object), axis)
    b_rows = move_axis_last(np.asarray(y_pred, dtype=object), axis)
    batch_shape, n = a_rows.shape[:-1], a_rows.shape[-1]
    a_rows, b_rows = a_rows.reshape(-1, n), b_rows.reshape(-1, n)
    out = np.empty(len(a_rows), dtype=object)
    magnitude = np.empty(len(a_rows), dtype=object)
    for i, (a, b) in enumerate(zip(a_rows, b_rows)):
        cos, spread = _cosine(list(a), list(b), sem, dtype)
        out[i] = 1 - cos if sem["cosine_form"] == "distance" else -cos
        # the dot product rounds against sum |y_i y_hat_i| (scaled); the norms move cos by |cos| u
        magnitude[i] = spread + abs(cos) if mpmath.isfinite(cos) else mpmath.mpf(0)
    # 1 - cos adds one more term to the n of the dot product: the subtraction rounds against 1 + |cos|
    extra = 1 if sem["cosine_form"] == "distance" else 0
    return PerSample(out.reshape(batch_shape), inner_terms=n + extra, normaliser=magnitude.reshape(batch_shape))


# -- huber ----------------------------------------------------------------------------------------

def huber(y_true, y_pred, sem: Semantics, dtype: str, *, delta=1.0) -> PerSample:
    """l = mean_last_axis h(|e|), h(a) = a^2/2 for a <= delta, delta (a - delta/2) beyond (Huber 1964).

    Keras 3.15.1 where(|e| <= delta, 0.5 e^2, delta |e| - 0.5 delta^2); torch 2.13.0 huber_loss,
    TF1 huber_loss and optax huber_loss (0.5 q^2 + delta (|e| - q), q = min(|e|, delta)) compute the same
    function elementwise. tf-keras 2.21.0 casts inputs and delta to floatx (float32).
    """
    d = param(delta, sem, dtype)

    def term(a, b):
        r = abs(b - a)
        return r * r / 2 if r <= d else d * r - d * d / 2

    return from_terms(_elementwise(term, y_true, y_pred), -1, sem)


# -- log cosh -------------------------------------------------------------------------------------

def _log_cosh(e):
    if mpmath.isinf(e):
        return mpmath.inf
    s = mpmath.sinh(e / 2)
    return mpmath.log1p(2 * s * s)  # cosh e = 1 + 2 sinh^2(e/2): no cancellation near e = 0


def log_cosh(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = mean_last_axis log cosh(y_hat - y).

    Keras 3.15.1: e + softplus(-2e) - log2 with log2 = convert_to_tensor(ops.log(2.0), dtype): log 2 is
    computed in float32 first (``log2_dtype``), so float64 results are offset by log 2 - f32(log 2)
    = -1.9e-9 (log_cosh(0) = -1.9e-9 < 0). optax 0.2.8: logaddexp(e, -e) - log(2).astype(dtype).
    """
    offset = mpmath.mpf(0)
    if sem["log2_dtype"] is not None:
        narrow = dtypes.float_format(sem["log2_dtype"]).mantissa_bits
        if dtypes.float_format(dtype).mantissa_bits > narrow:
            offset = mpmath.log(2) - dtypes.round_to(mpmath.log(2), sem["log2_dtype"])
    return from_terms(_elementwise(lambda a, b: _log_cosh(b - a) + offset, y_true, y_pred), -1, sem)


LOSSES = {
    "mean_absolute_error": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "cosine_similarity": cosine_similarity,
    "huber": huber,
    "log_cosh": log_cosh,
}

