"""What a loss's inputs look like beyond the kinds its spec declares: the strategy-side mirror of the
oracle's per-loss domain checks (``oracle.losses.*.CHECKS``).

A spec says "y_true: sign, y_pred: real, shapes: same" (and the parameter ranges, input ranks and per-sample
shape); some losses need more to draw a *valid* input:
the named inputs of ``shapes: custom`` layouts (documented in the oracle modules' docstrings), targets in one
encoding per tensor, probabilities that become
log-probabilities when a parameter says so. Each rule is one small function keyed by the canonical loss.

  CUSTOM        loss -> composite strategy drawing {input name: array} for a custom layout (the spec's
                per_sample gives the per-sample shape)
  ADJUST        loss -> fn(draw, y_true, y_pred, params, regime) -> (y_true, y_pred): one encoding, one domain
  NO_INFINITE   losses whose infinite-logit limit the strategies do not construct (softmax rows over
                unnormalised targets, the CTC recursion)
  DEGENERATE    loss -> fn(draw, inputs) -> inputs: the degenerate regime of a custom layout
  ONE_HOT_TARGETS  losses whose probability targets are one-hot rows (besides those whose spec says
                positive_row_sums): one class is one row, repeated
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

NO_INFINITE = {"poly_loss_cross_entropy", "ranking_softmax_loss", "ctc"}
ONE_HOT_TARGETS = {"categorical_hinge"}


# -- adjustments: one encoding, one domain --------------------------------------------------------------
def _probabilities_or_logs(draw, values: np.ndarray, in_log: bool) -> np.ndarray:
    """Probabilities in [0, 1] (some exact zeros), or their logs (<= 0, finite) when ``in_log``."""
    p = np.abs(np.tanh(values))  # any real -> [0, 1)
    if in_log:
        return np.log(np.maximum(p, 1e-30))
    zeros = np.array(draw(st.lists(st.booleans(), min_size=p.size, max_size=p.size))).reshape(p.shape)
    return np.where(zeros & (p < 0.3), 0.0, p)


def _kl_divergence(draw, y_true, y_pred, params, regime):
    return (_probabilities_or_logs(draw, y_true, bool(params.get("log_target"))),
            _probabilities_or_logs(draw, y_pred, bool(params.get("log_input"))))


def _poisson(default_log_input: bool):
    def adjust(draw, y_true, y_pred, params, regime):
        return y_true, (y_pred if params.get("log_input", default_log_input) else np.abs(y_pred))
    return adjust


def _hinge_labels(draw, y_true, y_pred, params, regime):
    """All -1/+1 or all 0/1 in one tensor (Keras maps 0/1 to -1/+1 only when every label is 0 or 1)."""
    bits = (np.asarray(y_true) > 0).astype(float)
    return (bits if draw(st.booleans()) else 2 * bits - 1), y_pred


def _binary_labels(draw, y_true, y_pred, params, regime):
    return (np.asarray(y_true) > 0).astype(float), y_pred


def _one_hot_rows(draw, y_true, y_pred, params, regime):
    rows, classes = math.prod(y_pred.shape[:-1]), y_pred.shape[-1]
    labels = draw(st.lists(st.integers(0, classes - 1), min_size=rows, max_size=rows))
    return np.eye(classes)[labels].reshape(y_pred.shape), y_pred


ADJUST = {
    "kl_divergence": _kl_divergence,
    "poisson": _poisson(default_log_input=False),
    "poisson_nll": _poisson(default_log_input=True),
    "hinge": _hinge_labels,
    "squared_hinge": _hinge_labels,
    "sparsemax_loss": _binary_labels,
    "categorical_hinge": _one_hot_rows,
}


# -- custom layouts (shapes: custom) --------------------------------------------------------------------
def _batch_and_features(draw, max_elements: int, per_row: int):
    features = draw(st.integers(1, 8))
    batch = draw(st.integers(1, max(1, min(64, max_elements // (per_row * features)))))
    return batch, features


def _signs(draw, values, shape) -> np.ndarray:
    return np.where(draw(values(shape)) >= 0, 1.0, -1.0)


@st.composite
def _margin_ranking(draw, values, max_elements: int):
    """input1, input2 (B,) and target (B,) of -1/+1."""
    batch = draw(st.integers(1, max(1, min(64, max_elements // 2))))
    target = _signs(draw, values, (batch,))
    return {"input1": draw(values((batch,))), "input2": draw(values((batch,))), "target": target}


@st.composite
def _gaussian_nll(draw, values, max_elements: int):
    """input (the mean), target and var >= 0, each (B, D)."""
    batch, features = _batch_and_features(draw, max_elements, 2)
    mean, var = draw(values((batch, features))), np.abs(draw(values((batch, features))))
    return {"input": mean, "target": draw(values((batch, features))), "var": var}


@st.composite
def _cosine_embedding(draw, values, max_elements: int):
    """input1, input2 (B, D) and target (B,) of -1/+1."""
    batch, features = _batch_and_features(draw, max_elements, 2)
    target = _signs(draw, values, (batch,))
    return {"input1": draw(values((batch, features))), "input2": draw(values((batch, features))), "target": target}


@st.composite
def _triplet_margin(draw, values, max_elements: int):
    """anchor, positive, negative, each (B, D)."""
    batch, features = _batch_and_features(draw, max_elements, 3)
    return {name: draw(values((batch, features))) for name in ("anchor", "positive", "negative")}


@st.composite
def _multilabel_margin(draw, values, max_elements: int):
    """y_pred scores (N, C); y_true (N, C) integers: distinct labels, then -1 padding."""
    classes = draw(st.integers(2, 10))
    batch = draw(st.integers(1, max(1, min(64, max_elements // classes))))
    rows = []
    for _ in range(batch):
        labels = draw(st.permutations(range(classes)))[: draw(st.integers(0, classes))]
        rows.append(list(labels) + [-1] * (classes - len(labels)))
    return {"y_true": np.array(rows, dtype=np.int64), "y_pred": draw(values((batch, classes)))}


@st.composite
def _ntxent(draw, values, max_elements: int):
    """y_pred embeddings (B, D), none zero; y_true (B,) group labels with at least one positive pair."""
    batch, features = _batch_and_features(draw, max_elements, 1)
    batch = max(batch, 2)
    labels = np.array(draw(st.lists(st.integers(0, max(1, batch // 2)), min_size=batch, max_size=batch)), dtype=np.int64)
    labels[1] = labels[0]
    emb = draw(values((batch, features)))
    # a row must stay non-zero in every dtype: below 1e-4 (float16's subnormals reach 6e-8) it may round to zero
    emb[np.all(np.abs(emb) < 1e-4, axis=1), 0] = 1.0
    return {"y_true": labels, "y_pred": emb}


@st.composite
def _circle(draw, values, max_elements: int):
    """y_pred embeddings (B, D) scaled to unit length in float64 (as Keras asks), a zero row left as it is;
    y_true (B,) labels, some anchors with positives and negatives, some without."""
    batch, features = _batch_and_features(draw, max_elements, 1)
    batch = max(batch, 2)
    labels = np.array(draw(st.lists(st.integers(0, max(1, batch // 2)), min_size=batch, max_size=batch)), dtype=np.int64)
    emb = draw(values((batch, features)))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        unit = np.where((norms > 0) & np.isfinite(norms), emb / np.where(norms > 0, norms, 1.0), emb)
    return {"y_true": labels, "y_pred": unit}


@st.composite
def _ctc(draw, values, max_elements: int, params: dict):
    """log_probs (B, T, C); targets (B, S): labels (not the blank), then -1 padding; input_lengths (B,).

    Mostly feasible label sequences (T_b >= labels + repeats), sometimes not: an impossible alignment has
    the exact loss +inf (0 with zero_infinity), which implementations must reproduce too."""
    classes = draw(st.integers(2, 6))
    frames = draw(st.integers(1, 12))
    batch = draw(st.integers(1, max(1, min(16, max_elements // (frames * classes)))))
    blank = 0
    if draw(st.booleans()):  # the keyword left out at random, as elsewhere
        blank = params["blank"] = draw(st.sampled_from([0, classes - 1]))
    others = [c for c in range(classes) if c != blank]
    longest = draw(st.integers(1, max(1, frames)))
    rows, lengths = [], []
    for _ in range(batch):
        length = draw(st.integers(0, longest))
        labels = draw(st.lists(st.sampled_from(others), min_size=length, max_size=length))
        needed = length + sum(a == b for a, b in zip(labels, labels[1:]))
        valid = draw(st.integers(needed, frames)) if needed <= frames and draw(st.integers(0, 9)) else draw(st.integers(0, frames))
        rows.append(labels + [-1] * (longest - length))
        lengths.append(valid)
    return {"log_probs": draw(values((batch, frames, classes))), "targets": np.array(rows, dtype=np.int64),
            "input_lengths": np.array(lengths, dtype=np.int64)}


CUSTOM = {
    "margin_ranking": _margin_ranking,
    "gaussian_nll": _gaussian_nll,
    "cosine_embedding": _cosine_embedding,
    "triplet_margin": _triplet_margin,
    "multilabel_margin": _multilabel_margin,
    "ntxent": _ntxent,
    "circle": _circle,
    "ctc": _ctc,
}
TAKES_PARAMS = {"ctc"}  # drawers that read (and may set) the drawn parameters


def _ctc_empty(draw, inputs: dict) -> dict:
    """Every label sequence of length zero (all padding), and each input of zero frames or as drawn: the loss of an
    empty target is -log of the all-blank path, and 0 over zero frames."""
    lengths = np.asarray(inputs["input_lengths"])
    zero = np.array(draw(st.lists(st.booleans(), min_size=lengths.size, max_size=lengths.size)), dtype=bool)
    return {**inputs, "targets": np.full_like(np.asarray(inputs["targets"]), -1),
            "input_lengths": np.where(zero, 0, lengths)}


DEGENERATE = {"ctc": _ctc_empty}
