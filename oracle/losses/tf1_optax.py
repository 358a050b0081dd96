"""Losses that only TF1 (``tf.compat.v1.losses``) or only optax define.

TF1 (tensorflow 2.21.0, tensorflow/python/ops/losses/losses_impl.py):
  mean_pairwise_squared_error  l_b = mean over the pairs i < j of sample b of ((p_i - p_j) - (y_i - y_j))^2
  cosine_distance              l = 1 - sum_axis(p * y)          (no normalisation: inputs assumed unit vectors)
optax (0.2.8, optax/losses/_classification.py, _regression.py, _self_supervised.py, _ranking.py):
  poly_loss_cross_entropy      l = -sum y log softmax(z) + epsilon * sum y (1 - softmax(z))
  multiclass_hinge_loss        l = max_j (s_j + 1 - [j = y]) - s_y
  perceptron_loss              l = max(0, -p t),  t in {-1, +1}
  multiclass_perceptron_loss   l = max_j s_j - s_y
  generalized_kl_divergence    l = sum_axis t log t - t log q - t + q,   q = exp(y_pred)  (y_pred is log q)
  l2_loss                      l = (p - t)^2 / 2
  ntxent                       NT-Xent over positive pairs (packing below)
  sparsemax_loss               l = sparse_plus(z if y = 0 else -z)
  multiclass_sparsemax_loss    l = <pi, s> - s_y + (1 - |pi|^2) / 2,  pi = sparsemax(s)
  ranking_softmax_loss         l = -sum y log softmax(s) per list (graded, unnormalised relevance y)

Every function is exact (mpmath; differences and sums of the input floats without rounding, the simplex
projection in rationals); a value is rounded to a dtype only where a semantics switch says the framework does so
(``round_params``, ``margin_in_dtype``). Switches added for these losses are declared in core/semantics.py.
"""
from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np

from core import dtypes
from oracle.domain import DomainError, labelled_embeddings
from oracle.losses.common import PerSample, constant, intermediate, logsumexp, move_axis_last, xlogy
from core.semantics import Semantics


ZERO = mpmath.mpf(0)


# -- helpers --------------------------------------------------------------------------------------

def _param(value, sem: Semantics, dtype: str) -> mpmath.mpf:
    """A float parameter as the computation sees it: its binary64 value, or rounded to the dtype."""
    return constant(value, dtype) if sem["round_params"] else mpmath.mpf(float(value))


def _rows(a: np.ndarray, axis: int = -1) -> tuple[np.ndarray, tuple]:
    moved = move_axis_last(np.asarray(a, dtype=object), axis)
    return moved.reshape(-1, moved.shape[-1]), moved.shape[:-1]


def _out(values: list, batch_shape: tuple) -> np.ndarray:
    return np.array(list(values) + [None], dtype=object)[:-1].reshape(batch_shape)


def _elementwise(fn, *arrays) -> np.ndarray:
    return np.asarray(np.frompyfunc(fn, len(arrays), 1)(*arrays), dtype=object)


def _sub(a, b):
    """a - b without rounding (inputs are floats: their difference may need many more bits than any working precision
    keeps, and a comparison or a cancellation after a rounded difference would be wrong at every precision alike)."""
    return mpmath.fsub(a, b, exact=True)


def _exact_sum(values) -> mpmath.mpf:
    total = ZERO
    for v in values:
        total = mpmath.fadd(total, v, exact=True)
    return total


def _exact_mul(a, b):
    return mpmath.fmul(a, b, exact=True)


def _log_softmax(row) -> list:
    """log softmax of one row of logits, at the limits for infinite logits: +inf logits share the mass,
    a -inf logit has none (log p = -inf)."""
    top = [v for v in row if v == mpmath.inf]
    if top:
        return [-mpmath.log(len(top)) if v == mpmath.inf else mpmath.ninf for v in row]
    lse = logsumexp([v for v in row if v != mpmath.ninf])
    return [v - lse if v != mpmath.ninf else mpmath.ninf for v in row]


def _labels(y_true) -> np.ndarray:
    return np.asarray(y_true).astype(np.int64).reshape(-1)


# -- TF1 ------------------------------------------------------------------------------------------

def mean_pairwise_squared_error(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l_b = 2/(n(n-1)) sum_{i<j} (d_i - d_j)^2 = 2/(n-1) sum_i (d_i - mean d)^2,  d = y_pred - y_true,

    pairs taken over all non-batch elements of sample b (n of them). TF1 computes it as
    2 sum d^2/(n-1) - 2 (sum d)^2/(n(n-1)) (tf.compat.v1.losses.mean_pairwise_squared_error,
    TF 2.21.0 losses_impl.py) and returns sum_b w_b l_b: the canonical reduction ``sum``.

    With ``pairwise_count: whole_batch`` n is replaced by N = B n in both terms (TF1 eager mode with a
    scalar weight: _num_present takes its scalar shortcut and counts the whole batch):
    l_b = 2 (N sum d^2 - (sum d)^2) / (N (N - 1)). The numerator is computed exactly.
    The normaliser is 2 sum d^2/(n-1) + 2 (sum d)^2/(n(n-1)): the magnitude that TF1's two terms
    cancel from, against which its sums of n terms round.
    """
    d = np.frompyfunc(_sub, 2, 1)(y_pred, y_true)
    batch = d.shape[0]
    rows = np.asarray(d, dtype=object).reshape(batch, -1)
    n = rows.shape[1]
    count = n if sem["pairwise_count"] == "per_sample" else batch * n
    out, norm = [], []
    for row in rows:
        # 2 (count sum d^2 - (sum d)^2) / (count (count - 1)), the numerator exact (it is >= 0 for count = n and
        # vanishes only when every d is equal), one rounding in the division
        s = _exact_sum(row)
        squares = _exact_sum(_exact_mul(x, x) for x in row)
        numerator = mpmath.fsub(_exact_mul(count, squares), _exact_mul(s, s), exact=True)
        out.append(2 * numerator / (count * (count - 1)))
        norm.append(2 * squares / (count - 1) + 2 * s * s / (count * (count - 1)))
    return PerSample(_out(out, (batch,)), inner_terms=n, normaliser=_out(norm, (batch,)))


def cosine_distance(y_true, y_pred, sem: Semantics, dtype: str, *, axis=-1) -> PerSample:
    """l = 1 - sum_axis y_pred * y_true, with no normalisation (TF1 assumes unit vectors):
    tf.compat.v1.losses.cosine_distance (TF 2.21.0 losses_impl.py). TF1 keeps the reduced axis with
    size 1 (keepdims=True); the per-sample losses here drop it.
    The normaliser is sum_axis |y_pred * y_true|: the magnitude of the inner sum that 1 - sum cancels from.
    """
    prods, batch_shape = _rows(np.frompyfunc(_exact_mul, 2, 1)(y_pred, y_true), axis)
    out = [mpmath.fsub(1, _exact_sum(r), exact=True) for r in prods]
    norm = [mpmath.fsum(abs(x) for x in r) for r in prods]
    return PerSample(_out(out, batch_shape), inner_terms=prods.shape[-1], normaliser=_out(norm, batch_shape))


# -- optax ----------------------------------------------------------------------------------------

def _softmax_ce_row(targets, logits, sem: Semantics):
    logp = _log_softmax(logits)
    ce = -mpmath.fsum(xlogy(y, lp, sem) for y, lp in zip(targets, logp))
    return ce, logp


def poly_loss_cross_entropy(y_true, y_pred, sem: Semantics, dtype: str, *, epsilon=2.0, axis=-1) -> PerSample:
    """Poly-1 loss (Leng et al. 2022, https://arxiv.org/abs/2204.12511):
    l = -sum_axis y log softmax(z) + epsilon * sum_axis y (1 - softmax(z)),
    optax.losses.poly_loss_cross_entropy (optax 0.2.8 _classification.py). The normaliser is
    sum |y_k| (1 + |epsilon|) plus the magnitudes of both sums: the log-sum-exp and the two sums of
    C terms round against them.
    """
    eps = _param(epsilon, sem, dtype)
    targets, batch_shape = _rows(y_true, axis)
    logits, _ = _rows(y_pred, axis)
    out, norm = [], []
    for t, z in zip(targets, logits):
        ce, logp = _softmax_ce_row(t, z, sem)
        poly = mpmath.fsum(y * (1 - mpmath.exp(lp)) for y, lp in zip(t, logp))
        out.append(ce + eps * poly)
        mass = mpmath.fsum(abs(y) for y in t)
        norm.append(mass * (1 + abs(eps)) + (abs(ce) if mpmath.isfinite(ce) else ZERO) + abs(eps) * abs(poly))
    return PerSample(_out(out, batch_shape), inner_terms=logits.shape[-1], normaliser=_out(norm, batch_shape))


def ranking_softmax_loss(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = -sum_i y_i log softmax(s)_i per list (last axis), y graded relevance labels >= 0:
    optax.losses.ranking_softmax_loss (optax 0.2.8 _ranking.py; Bruch et al., "An Analysis of the Softmax
    Cross Entropy Loss for Learning-to-Rank with Binary Relevance", ICTIR 2019). optax's default
    reduce_fn=jnp.mean is the canonical ``sum_over_batch_size`` over lists; reduce_fn=None is ``none``.
    """
    targets, batch_shape = _rows(y_true)
    logits, _ = _rows(y_pred)
    out, norm = [], []
    for t, z in zip(targets, logits):
        out.append(_softmax_ce_row(t, z, sem)[0])
        norm.append(mpmath.fsum(abs(y) for y in t))
    return PerSample(_out(out, batch_shape), inner_terms=logits.shape[-1], normaliser=_out(norm, batch_shape))


def multiclass_hinge_loss(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """Crammer-Singer multiclass hinge: l = max_j (s_j + 1 - [j = y]) - s_y = max(0, 1 + max_{j != y} s_j - s_y),
    optax.losses.multiclass_hinge_loss (optax 0.2.8 _classification.py; Crammer and Singer, JMLR 2001).
    Classes on the last axis; y_true holds integer labels. With ``margin_in_dtype`` each margin is rounded as
    optax computes it, fl(fl(s_j + 1) - [j = y]), so a sample whose target wins by 1 or more loses
    fl(fl(s_y + 1) - 1) - s_y (a rounding error of either sign) instead of 0.
    """
    scores, batch_shape = _rows(y_pred)
    if sem["margin_in_dtype"]:
        margin = lambda s, hit: intermediate(intermediate(s + 1, dtype) - hit, dtype)
    else:
        margin = lambda s, hit: mpmath.fadd(s, 1 - hit, exact=True)
    out = [_sub(max(margin(s, 1 if j == y else 0) for j, s in enumerate(row)), row[y])
           for row, y in zip(scores, _labels(y_true))]
    return PerSample(_out(out, batch_shape))


def multiclass_perceptron_loss(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = max_j s_j - s_y (Collins, EMNLP 2002): optax.losses.multiclass_perceptron_loss (optax 0.2.8)."""
    scores, batch_shape = _rows(y_pred)
    out = [_sub(max(row), row[y]) for row, y in zip(scores, _labels(y_true))]
    return PerSample(_out(out, batch_shape))


def perceptron_loss(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = max(0, -p t), t in {-1, +1}, elementwise: optax.losses.perceptron_loss (optax 0.2.8)."""
    return PerSample(_elementwise(lambda t, p: max(ZERO, -_exact_mul(p, t)), y_true, y_pred))


def l2_loss(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = (p - t)^2 / 2, elementwise (Bishop, PRML, eq. 1.2): optax.losses.l2_loss (optax 0.2.8
    _regression.py), half of optax.losses.squared_error."""
    return PerSample(_elementwise(lambda t, p: mpmath.ldexp(_exact_mul(_sub(p, t), _sub(p, t)), -1), y_true, y_pred))


def _gkl_term(t, lq):
    return xlogy(t, mpmath.log(t) if t > 0 else ZERO) - t * lq - t + mpmath.exp(lq)


def generalized_kl_divergence(y_true, y_pred, sem: Semantics, dtype: str, *, axis=-1) -> PerSample:
    """Generalized KL (the Bregman divergence of x log x - x; Boyd and Vandenberghe, Convex Optimization, p. 90):
    l = sum_axis [t log t - t log q - t + q],  y_true = t >= 0 (unnormalised), y_pred = log q, 0 log 0 = 0.
    optax.losses.generalized_kl_divergence (optax 0.2.8 _classification.py) computes
    sum t (where(t == 0, 0, log t) - log q) + sum (exp(log q) - t): two sums of C terms (inner_terms 2C),
    which round against sum (|t log t| + |t log q| + t + q) (the normaliser).
    """
    t_rows, batch_shape = _rows(y_true, axis)
    lq_rows, _ = _rows(y_pred, axis)
    out, norm = [], []
    for t, lq in zip(t_rows, lq_rows):
        out.append(mpmath.fsum(_gkl_term(a, b) for a, b in zip(t, lq)))
        norm.append(mpmath.fsum(abs(xlogy(a, mpmath.log(a) if a > 0 else ZERO)) + abs(a * b) + a + mpmath.exp(b)
                                for a, b in zip(t, lq)))
    return PerSample(_out(out, batch_shape), inner_terms=2 * lq_rows.shape[-1], normaliser=_out(norm, batch_shape))


def _sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1 (jax.nn.sparse_plus)."""
    if x <= -1:
        return ZERO
    if x >= 1:
        return x
    return (x + 1) ** 2 / 4


def sparsemax_loss(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """Binary sparsemax loss (Blondel, Martins, Niculae, "Learning with Fenchel-Young losses", JMLR 2020, §4.4):
    l = sparse_plus(-z) for label 1, sparse_plus(z) for label 0; zero iff sparse_sigmoid(z) = label.
    optax.losses.sparsemax_loss (optax 0.2.8 _classification.py)."""
    return PerSample(_elementwise(lambda y, z: _sparse_plus(-z if y else z), y_true, y_pred))


def _fraction(x) -> Fraction:
    """A finite mpf as an exact rational."""
    sign, man, exp, _ = x._mpf_
    value = Fraction(man) * (Fraction(2) ** exp)
    return -value if sign else value


def _to_mpf(q: Fraction) -> mpmath.mpf:
    return mpmath.mpf(q.numerator) / q.denominator


def _sparsemax(row) -> tuple[list, Fraction, int]:
    """Euclidean projection of ``row`` onto the probability simplex (Martins and Astudillo 2016, Alg. 1), in exact
    rationals (the support is decided by comparisons): (pi, tau, support size k), pi_j = max(s_j - tau, 0)."""
    u = sorted(row, reverse=True)
    total, k, cum_k = Fraction(0), 0, Fraction(0)
    for i, v in enumerate(u, start=1):
        total += v
        if 1 + i * v > total:
            k, cum_k = i, total
    tau = (cum_k - 1) / k
    return [max(v - tau, Fraction(0)) for v in row], tau, k


def multiclass_sparsemax_loss(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """Sparsemax loss (Martins and Astudillo, "From Softmax to Sparsemax", ICML 2016, eq. 16):
    l = <pi, s> - s_y + (1 - |pi|^2)/2,  pi = sparsemax(s) = argmin_{p in simplex} |p - s|^2, classes on the last axis.
    optax.losses.multiclass_sparsemax_loss (optax 0.2.8) computes <pi, s - s_y> + (1 - <pi, pi>)/2 with pi from
    optax.projections.projection_simplex (a cumulative sum of the sorted scores). Computed here in exact rationals,
    rounded once. Rounding optax's cumulative sum
    moves tau, which moves the loss by about k |tau - s_y| per unit of tau (the normaliser's first term).
    """
    scores, batch_shape = _rows(y_pred)
    out, norm = [], []
    for mp_row, y in zip(scores, _labels(y_true)):
        row = [_fraction(v) for v in mp_row]
        pi, tau, k = _sparsemax(row)
        loss = sum(p * s for p, s in zip(pi, row)) - row[y] + (1 - sum(p * p for p in pi)) / 2
        out.append(_to_mpf(loss))
        support = sum(abs(s) for p, s in zip(pi, row) if p > 0)
        norm.append(_to_mpf(support * abs(tau - row[y]) + sum(p * abs(s - row[y]) for p, s in zip(pi, row)) + 1))
    return PerSample(_out(out, batch_shape), inner_terms=scores.shape[-1], normaliser=_out(norm, batch_shape))


def _norm_floor(sem: Semantics, dtype: str):
    floor = sem["norm_floor"]
    if floor == "finfo_eps":
        return mpmath.ldexp(1, 1 - dtypes.float_format(dtype).mantissa_bits)
    return None if floor is None else mpmath.mpf(float(floor))


def ntxent(y_true, y_pred, sem: Semantics, dtype: str, *, temperature=0.07) -> PerSample:
    """NT-Xent (Chen et al., SimCLR, ICML 2020, https://arxiv.org/abs/2002.05709), as optax.ntxent (optax 0.2.8
    _self_supervised.py) defines it for several positives per anchor.

    Packing: y_true = integer group labels, shape (B,); y_pred = embeddings, shape (B, D). The per-sample
    losses are the (B, B) matrix over (anchor i, positive j), masked to the positive pairs
    (label_i = label_j, i != j):
        l_ij = log(exp(c_ij) + sum_{k: label_k != label_i} exp(c_ik)) - c_ij,  c = cos(e_i, e_j) / temperature,
    each positive competing with the anchor's negatives only. optax returns their mean: the canonical
    reduction ``sum_over_batch_size`` (the masked mean); other reductions are not optax's.
    ``norm_floor`` clips the squared norms before the square root (optax: finfo(dtype).eps).
    """
    labels = _labels(y_true)
    emb = np.asarray(y_pred, dtype=object)
    batch = emb.shape[0]
    temp = _param(temperature, sem, dtype)
    floor = _norm_floor(sem, dtype)
    norms = []
    for row in emb:
        sq = mpmath.fsum(x * x for x in row)
        norms.append(mpmath.sqrt(max(sq, floor) if floor is not None else sq))
    c = [[mpmath.fsum(a * b for a, b in zip(emb[i], emb[j])) / (norms[i] * norms[j]) / temp for j in range(batch)]
         for i in range(batch)]
    values = np.full((batch, batch), ZERO, dtype=object)
    mask = np.zeros((batch, batch), dtype=bool)
    for i in range(batch):
        negatives = [c[i][k] for k in range(batch) if labels[k] != labels[i]]
        for j in range(batch):
            if j != i and labels[j] == labels[i]:
                values[i, j] = logsumexp(negatives + [c[i][j]]) - c[i][j]
                mask[i, j] = True
    # The log of a normalising sum of up to B terms ((B - 1) u), whose arguments c_ik carry the rounding of
    # D-term dot products and norms, up to (D + 2) u |cos| / temperature each; they move l_ij by at most twice
    # that. Spread over the B - 1 additions: normaliser 1 + 2 (D + 2) / (temperature (B - 1)).
    spread = 2 * (emb.shape[1] + 2) / (abs(temp) * max(batch - 1, 1))
    norm = np.full((batch, batch), 1 + spread, dtype=object)
    return PerSample(values, mask=mask, inner_terms=batch, normaliser=norm)


LOSSES = {
    "mean_pairwise_squared_error": mean_pairwise_squared_error,
    "cosine_distance": cosine_distance,
    "poly_loss_cross_entropy": poly_loss_cross_entropy,
    "multiclass_hinge_loss": multiclass_hinge_loss,
    "perceptron_loss": perceptron_loss,
    "multiclass_perceptron_loss": multiclass_perceptron_loss,
    "generalized_kl_divergence": generalized_kl_divergence,
    "l2_loss": l2_loss,
    "ntxent": ntxent,
    "sparsemax_loss": sparsemax_loss,
    "multiclass_sparsemax_loss": multiclass_sparsemax_loss,
    "ranking_softmax_loss": ranking_softmax_loss,
}


# -- domain rules beyond the input kinds ----------------------------------------------------------

def _check_mpse(params, y_true, y_pred, sample_weight) -> None:
    shape = np.shape(y_pred)
    if len(shape) < 2 or math.prod(shape[1:]) < 2:
        raise DomainError(f"mean_pairwise_squared_error forms pairs within each sample (all axes after the first): "
                          f"every sample needs at least 2 elements; got shape {shape}")


def _check_logit_rows(name: str, axis: int = -1):
    def check(params, y_true, y_pred, sample_weight) -> None:
        z = np.asarray(y_pred, dtype=np.float64)
        if z.ndim == 0:
            raise DomainError(f"{name} needs a class axis; got a scalar")
        if np.any(np.all(np.isneginf(z), axis=params.get("axis", axis))):
            raise DomainError("a row of logits is all -inf: no class has any probability")
    return check


def _check_binary_labels(params, y_true, y_pred, sample_weight) -> None:
    if not np.all(np.isin(np.asarray(y_true, dtype=np.float64), (0.0, 1.0))):
        raise DomainError("sparsemax_loss labels must be 0 or 1")


def _check_ntxent(params, y_true, y_pred, sample_weight) -> None:
    labels, emb = labelled_embeddings("ntxent", y_true, y_pred)
    if np.any(np.all(emb == 0, axis=1)):
        raise DomainError("an embedding is the zero vector: its cosine similarity is undefined")
    same = labels[:, None] == labels[None, :]
    if not np.any(same & ~np.eye(len(labels), dtype=bool)):
        raise DomainError("ntxent needs at least one positive pair (two embeddings with the same label)")


CHECKS = {
    "mean_pairwise_squared_error": _check_mpse,
    "poly_loss_cross_entropy": _check_logit_rows("poly_loss_cross_entropy"),
    "ranking_softmax_loss": _check_logit_rows("ranking_softmax_loss"),
    "sparsemax_loss": _check_binary_labels,
    "ntxent": _check_ntxent,
}
