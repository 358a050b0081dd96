"""Metric-learning losses over a batch of embeddings: Keras 3's Circle loss.

Exact formula (ideal), per anchor i of a batch of embeddings e (B, D) with integer labels y (B,):
  circle:  s_ij = e_i . e_j,  d_ij = max(1 - s_ij, 0)   (cosine distance of unit embeddings)
           P_i = {j : y_j = y_i, j != i (remove_diagonal)},  N_i = {j : y_j != y_i}
           l_i = softplus( LSE_{j in P_i} gamma a_p (d_ij - m)  +  LSE_{j in N_i} gamma a_n (1 - m - d_ij) ),
           a_p = max(m + d_ij, 0),  a_n = max(1 + m - d_ij, 0)
  An anchor with no positive (or no negative) has an empty log-sum-exp (-inf) and the loss 0; it is masked out
  of the mean, as Keras masks it.
Reference: Sun et al., Circle Loss: A Unified Perspective of Pair Similarity Optimization, CVPR 2020
(https://arxiv.org/abs/2002.10857), eq. (4) with cosine similarity s = 1 - d; keras 3.15.1
keras/src/losses/losses.py circle.

Packing: y_true = the labels (B,), y_pred = the embeddings (B, D); the reference embeddings are the batch
itself (Keras' defaults ref_labels=y_true, ref_embeddings=y_pred). Each anchor's loss depends on the whole
batch (spec inputs.batch_coupled), like optax's ntxent.

Guard convention (semantics switch declared in core/semantics.py): Keras masks ``loss > 0`` *after* computing the loss in
the compute dtype, so an anchor whose loss underflows to 0 there leaves the mean's count as well
(``mask_rounded_zero``).
"""
from __future__ import annotations

import mpmath
import numpy as np

from core import dtypes
from oracle.domain import DomainError, labelled_embeddings
from oracle.losses.common import PerSample, constant, logsumexp, softplus
from core.semantics import Semantics, flushes



def _rounds_to_zero(value, sem: Semantics, dtype: str) -> bool:
    rounded = dtypes.round_to(value, dtype)
    if flushes(sem, dtype):
        return abs(rounded) < mpmath.ldexp(1, dtypes.float_format(dtype).min_exponent)
    return rounded == 0


def circle(y_true, y_pred, sem: Semantics, dtype: str, *, gamma=80.0, margin=0.4, remove_diagonal=True) -> PerSample:
    """Circle loss (Sun et al., CVPR 2020) in the cosine-distance form of keras.losses.circle (keras 3.15.1).

    Keras adds the Python floats m, 1 + m and 1 - m and multiplies by gamma in the compute dtype
    (``round_params``: each rounded to it). The per-anchor sums are two log-sum-exps of up to B - 1 terms over
    dot products of D terms each: rounding a dot product by (D + 2) u |e_i| |e_j| moves a log-sum-exp argument by
    up to 2 gamma (1 + |s|) times that, and the result by as much (the log-sum-exp and softplus have slopes <= 1);
    rounding the two log-sum-exps moves it by up to u (|p| + |n|). That is the normaliser the tolerance charges
    (spread over the B - 1 additions).
    """
    labels = np.asarray(y_true).astype(np.int64).reshape(-1)
    emb = np.asarray(y_pred, dtype=object)
    batch, features = emb.shape
    if sem["round_params"]:
        m, opt_neg, delta_neg, g = (constant(v, dtype) for v in (margin, 1 + margin, 1 - margin, gamma))
    else:
        m, g = mpmath.mpf(float(margin)), mpmath.mpf(float(gamma))
        opt_neg, delta_neg = 1 + m, 1 - m
    norms = [mpmath.sqrt(mpmath.fsum(x * x for x in row)) for row in emb]
    values = np.full(batch, mpmath.mpf(0), dtype=object)
    mask = np.zeros(batch, dtype=bool)
    normaliser = np.full(batch, mpmath.mpf(1), dtype=object)
    for i in range(batch):
        positive, negative, slope = [], [], mpmath.mpf(0)
        for j in range(batch):
            s = mpmath.fsum(a * b for a, b in zip(emb[i], emb[j]))
            d = max(1 - s, mpmath.mpf(0))
            if labels[j] == labels[i]:
                if not (remove_diagonal and i == j):
                    positive.append(-g * max(m + d, 0) * (m - d))
            else:
                negative.append(g * max(opt_neg - d, 0) * (delta_neg - d))
            slope = max(slope, 2 * g * (1 + abs(s)) * (features + 2) * norms[i] * norms[j])
        if not positive or not negative:
            continue  # softplus(-inf) = 0: no positive pair or no negative pair, masked as Keras masks it
        p, n = logsumexp(positive), logsumexp(negative)
        values[i] = softplus(p + n)
        mask[i] = not (sem["mask_rounded_zero"] and _rounds_to_zero(values[i], sem, dtype))
        normaliser[i] = 1 + (slope + abs(p) + abs(n)) / max(batch - 1, 1)
    return PerSample(values, mask=mask, inner_terms=batch, normaliser=normaliser)


LOSSES = {"circle": circle}


def _check_circle(params, y_true, y_pred, sample_weight) -> None:
    labelled_embeddings("circle", y_true, y_pred)


CHECKS = {"circle": _check_circle}
