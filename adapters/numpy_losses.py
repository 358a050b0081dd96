"""The simpler losses of the numpy reference adapter: a few lines of careful numpy each.

Each function takes a case and returns its per-sample losses (the canonical shape, before the reduction,
which ``numpy_reference._reduce`` applies) or raises ``ValueError`` for inputs outside the loss's domain.
They compute in ``WORK``, numpy's long double (x86: 64-bit significand and a range to 1e4932, so neither float64
rounding nor an intermediate beyond float64's range, such as |p - y| / |y| for a subnormal y, spoils a float64
result; where the platform's long double is float64 this is float64) with parameters at full precision, and the
adapter rounds once to the case dtype after the reduction. They avoid the float pitfalls as well: log1p, no
cancelling ``log cosh``, norms scaled before squaring, 0 log 0 = 0.
"""
from __future__ import annotations

import math

import numpy as np

from core.case import Case

WORK = np.longdouble
LOG2 = np.log(WORK(2))


def _pair(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, y_pred) in WORK precision, after checking that their shapes agree (no silent broadcasting)."""
    if case.y_true.shape != case.y_pred.shape:
        raise ValueError(f"y_true {case.y_true.shape} and y_pred {case.y_pred.shape} must have the same shape")
    return _work(case.y_true), _work(case.y_pred)


def _work(a) -> np.ndarray:
    return np.asarray(a).astype(np.float64).astype(WORK)  # via float64: exact, and bfloat16 converts to it


def _param(case: Case, name: str, default: float, *, positive: bool = False, nonnegative: bool = False) -> float:
    value = float(case.kwargs.get(name, default))
    if not math.isfinite(value) or (positive and value <= 0) or (nonnegative and value < 0):
        raise ValueError(f"{name} must be a finite {'positive' if positive else 'non-negative' if nonnegative else ''} "
                         f"number; got {value!r}")
    return value


def _signs(t: np.ndarray) -> np.ndarray:
    if not np.all(np.isin(t, (-1.0, 1.0))):
        raise ValueError("targets must be -1 or +1")
    return t


def _hinge_targets(y: np.ndarray) -> np.ndarray:
    """-1/+1 labels as given; 0/1 labels (every one of them) mapped to 2y - 1; anything else refused."""
    if np.all(np.isin(y, (0.0, 1.0))):
        return 2 * y - 1
    return _signs(y)


def _nonnegative(name: str, a: np.ndarray) -> np.ndarray:
    if np.any(a < 0):
        raise ValueError(f"{name} must be non-negative")
    return a


HALF_LOG_2PI = WORK("0.918938533204672741780329736405617639861")


def _lgamma(z: np.ndarray) -> np.ndarray:
    """log Gamma(z) for z >= 1 in WORK precision: Stirling's series from 40 on (its first omitted term is below
    3e-18), math.lgamma below (a value under 110, so float64's rounding of it stays small)."""
    big = z >= 40
    b = np.where(big, z, 40)
    series = (b - 0.5) * np.log(b) - b + HALF_LOG_2PI + 1 / (12 * b) - 1 / (360 * b**3) + 1 / (1260 * b**5) - 1 / (1680 * b**7)
    small = np.vectorize(math.lgamma, otypes=[np.float64])(np.where(big, 1, z).astype(np.float64))
    return np.where(big, series, small)


def mean_absolute_error(case):
    y, p = _pair(case)
    return np.abs(p - y).mean(axis=-1)


def huber(case):
    y, p = _pair(case)
    d = _param(case, "delta", 1.0, positive=True)
    a = np.abs(p - y)
    return np.where(a <= d, 0.5 * a * a, d * (a - 0.5 * d)).mean(axis=-1)


def smooth_l1(case):
    y, p = _pair(case)
    beta = _param(case, "beta", 1.0, nonnegative=True)
    z = np.abs(p - y)
    if beta == 0:
        return z
    return np.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)


def log_cosh(case):
    y, p = _pair(case)
    a = np.abs(p - y)
    with np.errstate(over="ignore"):
        # below 1, log1p(2 sinh(a/2)^2) (cosh a - 1 without cancellation); above, a + log1p(exp(-2a)) - log 2
        small = np.log1p(2 * np.sinh(0.5 * a) ** 2)
    return np.where(a < 1, small, a + np.log1p(np.exp(-2 * a)) - LOG2).mean(axis=-1)


def hinge(case):
    y, p = _pair(case)
    return np.maximum(1 - _hinge_targets(y) * p, 0).mean(axis=-1)


def squared_hinge(case):
    y, p = _pair(case)
    return (np.maximum(1 - _hinge_targets(y) * p, 0) ** 2).mean(axis=-1)


def kl_divergence(case):
    y, q = _pair(case)
    k = case.kwargs
    for name, v, in_log in (("y_true", y, k.get("log_target")), ("y_pred", q, k.get("log_input"))):
        if (in_log and np.any(v > 0)) or (not in_log and (np.any(v < 0) or np.any(v > 1))):
            raise ValueError(f"{name} must be {'log-probabilities (<= 0)' if in_log else 'probabilities in [0, 1]'}")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p, p = (y, np.exp(y)) if k.get("log_target") else (np.log(y), y)
        log_q = q if k.get("log_input") else np.log(q)
        terms = np.where(p == 0, 0.0, p * (log_p - log_q))  # 0 log 0 = 0; p > 0 against q = 0 gives +inf
    return terms.sum(axis=-1)


def poisson(case):
    y, x = _pair(case)
    k = case.kwargs
    _nonnegative("y_true", y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if k.get("log_input"):
            terms = np.exp(x) - np.where(y == 0, 0.0, y * x)
        else:
            _nonnegative("y_pred (a rate)", x)
            terms = x - np.where(y == 0, 0.0, y * np.log(x))  # 0 log 0 = 0; y > 0 at rate 0 gives +inf
    if k.get("full"):
        terms = terms + _lgamma(y + 1)
    return terms.mean(axis=-1)


def mean_squared_logarithmic_error(case):
    y, p = _pair(case)
    _nonnegative("y_true", y), _nonnegative("y_pred", p)
    return ((np.log1p(p) - np.log1p(y)) ** 2).mean(axis=-1)


def mean_absolute_percentage_error(case):
    y, p = _pair(case)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # |p - y| / |y| (p - y exact when they are close); where p - y overflows, |p / y - 1| (no cancellation then)
        ratio = np.where(np.isfinite(p - y), np.abs(p - y) / np.abs(y), np.abs(p / y - 1))
        ratio = np.where(y == 0, np.where(p == 0, 0.0, np.inf), ratio)
        return 100 * (ratio / y.shape[-1]).sum(axis=-1)  # divided before the sum, which could overflow


def cosine_similarity(case):
    y, p = _pair(case)
    axis = case.kwargs.get("axis", -1)

    def unit(v):  # scaled by the largest |v_i| first: the squares can neither overflow nor underflow
        top = np.max(np.abs(v), axis=axis, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.where(top > 0, v / top, 0.0)
            norm = np.sqrt((s * s).sum(axis=axis, keepdims=True))
            return np.where(norm > 0, s / norm, 0.0)  # a zero vector has cosine 0 with anything

    return -(unit(y) * unit(p)).sum(axis=axis)


def soft_margin(case):
    t, x = _pair(case)
    return np.logaddexp(0.0, -_signs(t) * x)  # softplus(-t x); +-inf logits give the limits 0 and inf


def hinge_embedding(case):
    t, x = _pair(case)
    margin = _param(case, "margin", 1.0)
    return np.where(_signs(t) == 1, x, np.maximum(0.0, margin - x))


def margin_ranking(case):
    x1, x2, t = (_work(case.inputs[name]) for name in ("input1", "input2", "target"))
    if not x1.shape == x2.shape == t.shape:
        raise ValueError(f"input1 {x1.shape}, input2 {x2.shape} and target {t.shape} must have the same shape")
    margin = _param(case, "margin", 0.0)
    return np.maximum(0.0, -_signs(t) * (x1 - x2) + margin)


def l2_loss(case):
    y, p = _pair(case)
    return 0.5 * (p - y) ** 2


PER_SAMPLE = {f.__name__: f for f in (
    mean_absolute_error, huber, smooth_l1, log_cosh, hinge, squared_hinge, kl_divergence, poisson,
    mean_squared_logarithmic_error, mean_absolute_percentage_error, cosine_similarity, soft_margin,
    hinge_embedding, margin_ranking, l2_loss)}
TAKE_LOGITS = {"soft_margin"}  # y_pred may hold +-inf (the loss takes its limit there)
