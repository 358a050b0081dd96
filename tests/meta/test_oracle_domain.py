"""Inputs outside a loss's domain raise a clear ValueError from the oracle."""
from __future__ import annotations

import numpy as np
import pytest

import oracle


@pytest.mark.parametrize("loss, y_true, y_pred, params, match", [
    ("categorical_crossentropy", np.zeros((32, 1)), np.full((32, 10), 0.1), {}, r"shape \(32, 1\).*\(32, 10\)"),
    ("sparse_categorical_crossentropy", [3], [[0.2, 0.8]], {}, r"labels must lie in \[0, 2\)"),
    ("sparse_categorical_crossentropy", [-1], [[0.2, 0.8]], {}, r"labels must lie"),
    ("sparse_categorical_crossentropy", [[0, 1]], [[0.2, 0.8]], {}, "sparse labels of shape"),
    ("binary_crossentropy", [0.0], [1.5], {}, r"\[0, 1\]"),
    ("binary_crossentropy", [2.0], [0.5], {}, r"y_true must lie in \[0, 1\]"),
    ("binary_crossentropy", [0.0], [np.nan], {"from_logits": True}, "NaN"),
    ("binary_crossentropy", [0.0], [0.5], {"label_smoothing": 1.5}, "label_smoothing"),
    ("categorical_crossentropy", [[0.0, 1.0]], [[0.0, 0.0]], {}, "sums to 0"),
    ("mean_squared_error", [[1.0]], [[1.0, 2.0]], {}, "shape"),
    ("mean_squared_error", np.zeros((0, 2)), np.zeros((0, 2)), {}, "empty batch"),
])
def test_invalid_inputs_raise(loss, y_true, y_pred, params, match):
    with pytest.raises(ValueError, match=match):
        oracle.evaluate_loss(loss, y_true, y_pred, **params)


def test_negative_sample_weight_is_invalid():
    with pytest.raises(ValueError, match="non-negative"):
        oracle.evaluate_loss("mean_squared_error", [[1.0]], [[0.0]], sample_weight=[-1.0], reduction="sum")


def test_unknown_loss_and_semantics_are_named():
    with pytest.raises(ValueError, match="unknown loss 'nosuch'; known: binary_crossentropy"):
        oracle.evaluate_loss("nosuch", [0.0], [0.0])
    with pytest.raises(ValueError, match="no semantics 'jax'"):
        oracle.evaluate_loss("binary_crossentropy", [0.0], [0.5], semantics="jax")
