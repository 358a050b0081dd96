"""Regression losses."""
from __future__ import annotations


from oracle.losses.common import PerSample, from_terms
from core.semantics import Semantics


def mean_squared_error(y_true, y_pred, sem: Semantics, dtype: str) -> PerSample:
    """l = mean_last_axis (y_true - y_pred)^2.

    Keras: keras.losses.mean_squared_error (mean over the last axis, then the reduction);
    torch.nn.functional.mse_loss and tf.compat.v1.losses.mean_squared_error keep elementwise terms
    (semantics switch ``axis_reduction: none``).
    """
    diff = y_true - y_pred
    return from_terms(diff * diff, -1, sem)


LOSSES = {"mean_squared_error": mean_squared_error}
