"""Connectionist temporal classification (Graves et al., ICML 2006).

  l_b = -log sum_{pi in B^-1(labels_b)} prod_{t < T_b} p_b[t, pi_t]

the sum over every frame-level path pi that collapses (merge repeats, drop blanks) to the label
sequence; p = softmax(log_probs) over the class axis when ``from_logits``, else p = exp(log_probs) (torch's
log_probs, used as they are, normalised or not). A label sequence that no path of T_b frames can
produce (too long, counting the blank that separates equal neighbours) has l = +inf exactly;
``zero_infinity`` (torch) replaces that inf by 0.

Inputs, named as the spec names them:
  log_probs      (B, T, C) floats, batch-major: log-probabilities, or logits when ``from_logits``;
  targets        (B, S) integers: the labels, each in [0, C) and not the blank, followed by -1 padding only
                 (the label count len_b of a row is its entries before the first -1);
  input_lengths  (B,) integers: T_b, the number of valid frames (0 <= T_b <= T).
Per-sample losses have shape (B,). torch's ``reduction="mean"`` divides each l_b by max(len_b, 1) before
averaging: the canonical reduction ``mean_by_length`` (oracle.reductions), for which the per-sample result
carries len_b, the number of labels of each sequence.

Semantics: torch F.ctc_loss and Keras (TF backend) compute this function; optax.ctc_loss (and the Keras
JAX backend, a port of it) runs its forward recursion with log 0 replaced by ``log_epsilon = -1e5``
(switch ``ctc_log_epsilon``), which this module ports literally, so impossible alignments cost about
1e5 there instead of inf.
References: torch 2.13.0 torch/nn/functional.py ctc_loss (ATen LossCTC.cpp); keras 3.15.1
keras/src/losses/losses.py ctc and keras/src/backend/{tensorflow,jax,torch}/nn.py ctc_loss; optax 0.2.8
optax/losses/_classification.py ctc_loss_with_forward_probs.
"""
from __future__ import annotations

import mpmath
import numpy as np

from oracle.domain import DomainError
from oracle.losses.common import exact_memo, exp, label_prefix, PerSample, logsumexp
from core.semantics import Semantics

ZERO = mpmath.mpf(0)



def _log_probabilities(frames, from_logits: bool) -> list[list]:
    if not from_logits:
        return [list(row) for row in frames]
    return [_log_softmax(tuple(row)) for row in frames]


@exact_memo
def _log_softmax(row: tuple) -> list:
    lse = logsumexp(list(row))
    return tuple(v - lse for v in row)


def forward(logp: list[list], labels: list[int], blank: int):
    """-log of the total probability of ``labels`` over the frames ``logp`` (T x C log-probabilities),
    by the alpha recursion over the blank-extended label sequence, in linear space (mpf does not underflow)."""
    ext = [blank]
    for label in labels:
        ext += [label, blank]
    if not logp:
        return ZERO if not labels else mpmath.inf
    prob = lambda t, s: exp(logp[t][ext[s]])
    alpha = [ZERO] * len(ext)
    alpha[0] = prob(0, 0)
    if len(ext) > 1:
        alpha[1] = prob(0, 1)
    for t in range(1, len(logp)):
        new = []
        for s in range(len(ext)):
            total = alpha[s]
            if s >= 1:
                total += alpha[s - 1]
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                total += alpha[s - 2]
            new.append(total * prob(t, s) if total else ZERO)
        alpha = new
    total = alpha[-1] + (alpha[-2] if len(ext) > 1 else ZERO)
    return -mpmath.log(total) if total > 0 else mpmath.inf


@exact_memo
def _logaddexp(a, b):
    top, low = (a, b) if a >= b else (b, a)
    return top + mpmath.log1p(mpmath.exp(low - top))


def optax_forward(logp: list[list], valid: int, padded_labels: list[int], length: int, blank: int, log_eps):
    """optax 0.2.8 ctc_loss_with_forward_probs for one sequence, step for step, exactly: states phi[n]
    (n labels emitted, in blank) and emit[n] (emitting label n), log 0 written as ``log_eps``; frames at
    t >= ``valid`` are padding (the state is carried). Returns -phi_last[length]."""
    n_max = len(padded_labels)
    repeat = [1 if n + 1 < n_max and padded_labels[n] == padded_labels[n + 1] else 0 for n in range(n_max)]
    phi = [ZERO] + [log_eps] * n_max
    emit = [log_eps] * n_max
    for t, row in enumerate(logp):
        # one_hot(-1) is all zeros in jax: a padded label position emits log-probability 0
        emit_lp = [row[label] if label >= 0 else ZERO for label in padded_labels]
        phi_lp = row[blank]
        phi_orig = phi
        phi = [phi[0]] + [_logaddexp(phi[n + 1], emit[n] + log_eps * repeat[n]) for n in range(n_max)]
        next_emit = [_logaddexp(phi[n] + emit_lp[n], emit[n] + emit_lp[n]) for n in range(n_max)]
        next_phi = [v + phi_lp for v in phi]
        next_phi = [next_phi[0]] + [_logaddexp(next_phi[n + 1], emit[n] + phi_lp + log_eps * (1 - repeat[n]))
                                    for n in range(n_max)]
        if t >= valid:
            next_emit, next_phi = emit, phi_orig
        phi, emit = next_phi, next_emit
    last = [phi[0]] + [_logaddexp(phi[n + 1], emit[n]) for n in range(n_max)]
    return -last[length]


def ctc(log_probs, targets, input_lengths, sem: Semantics, dtype: str, *, blank=0, from_logits=False,
        zero_infinity=False) -> PerSample:
    """Per-sample CTC negative log-likelihood; see the module docstring for the formula and the inputs."""
    targets, input_lengths = np.asarray(targets).astype(np.int64), np.asarray(input_lengths).astype(np.int64)
    y_pred = log_probs
    batch, frames, classes = y_pred.shape
    log_eps = sem["ctc_log_epsilon"]
    out = np.empty(batch, dtype=object)
    lengths = np.zeros(batch, dtype=np.int64)
    for b in range(batch):
        valid = int(input_lengths[b])
        labels = label_prefix(targets[b])
        lengths[b] = len(labels)
        if log_eps is None:
            value = forward(_log_probabilities(y_pred[b, :valid], from_logits), labels, blank)
        else:
            padded = [int(v) for v in targets[b]]
            value = optax_forward(_log_probabilities(y_pred[b], from_logits), valid, padded, len(labels), blank,
                                  mpmath.mpf(log_eps))
        out[b] = ZERO if zero_infinity and value == mpmath.inf else value
    # the recursion adds up a few paths per frame and, from logits, takes each frame's log-sum-exp of C terms
    normaliser = np.full(batch, mpmath.mpf(3 + (classes if from_logits else 0)), dtype=object)
    return PerSample(out, inner_terms=frames, normaliser=normaliser, lengths=lengths)


def _check(params, log_probs, targets, input_lengths, sample_weight):
    pred, true = np.shape(log_probs), np.shape(targets)
    if len(pred) != 3:
        raise DomainError(f"ctc takes log_probs of shape (batch, frames, classes); got {pred}")
    batch, frames, classes = pred
    if len(true) != 2 or true[0] != batch:
        raise DomainError(f"ctc takes targets of shape ({batch}, max label length): labels then -1 padding; got {true}")
    if np.shape(input_lengths) != (batch,):
        raise DomainError(f"ctc takes input_lengths of shape ({batch},); got {np.shape(input_lengths)}")
    blank = params["blank"]
    if not 0 <= blank < classes:
        raise DomainError(f"blank={blank} is not a class index in [0, {classes})")
    targets = np.asarray(targets).astype(np.int64)
    lengths = np.asarray(input_lengths).astype(np.int64)
    if lengths.min() < 0 or lengths.max() > frames:
        raise DomainError(f"input_lengths must lie in [0, {frames}]; got {lengths.min()}..{lengths.max()}")
    for b, row in enumerate(targets):
        labels = label_prefix(row)
        rest = row[len(labels):]
        if np.any(rest != -1):
            raise DomainError(f"sequence {b}: labels must be a prefix followed by -1 padding only; got {row.tolist()}")
        bad = [v for v in labels if v >= classes or v == blank]
        if bad:
            raise DomainError(f"sequence {b}: labels must be classes in [0, {classes}) other than the blank {blank}; got {bad}")


LOSSES = {"ctc": ctc}
CHECKS = {"ctc": _check}
