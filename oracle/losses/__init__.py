"""Exact per-sample loss formulas, one pure function per loss, registered by canonical name.

Each function takes object arrays of mpf (integer arrays for sparse labels), the semantics and the
compute dtype, plus the loss's own parameters, and returns a ``PerSample``: the losses after the
loss's own axis reduction, the mask of elements that count, and how many terms each one summed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oracle.losses import crossentropy, regression

LOSSES = {
    "binary_crossentropy": crossentropy.binary_crossentropy,
    "categorical_crossentropy": crossentropy.categorical_crossentropy,
    "sparse_categorical_crossentropy": crossentropy.sparse_categorical_crossentropy,
    "mean_squared_error": regression.mean_squared_error,
}
