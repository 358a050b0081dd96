"""Numpy adapters with one classic bug each, for showing that the quick profile catches them."""
from __future__ import annotations

import numpy as np

from adapters.numpy_reference import NumpyReferenceAdapter


class MeanOverNMinusOne(NumpyReferenceAdapter):
    """sum_over_batch_size divides by N - 1 (the sample-variance habit)."""
    name = "broken-mean"

    def compute(self, case):
        value = super().compute(case)
        if case.reduction == "sum_over_batch_size":
            n = max(1, np.asarray(super().compute(case.with_(reduction="none"))).size)
            return np.asarray(value * n / max(n - 1, 1), dtype=value.dtype)
        return value


class NaiveLogSigmoid(NumpyReferenceAdapter):
    """Binary cross-entropy from logits through log(sigmoid(z)) and log(1 - sigmoid(z))."""
    name = "broken-logsigmoid"

    def binary_crossentropy(self, case):
        if not case.kwargs.get("from_logits"):
            return super().binary_crossentropy(case)
        p = 1 / (1 + np.exp(-case.y_pred))
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = -(case.y_true * np.log(p) + (1 - case.y_true) * np.log(1 - p))
        return self._reduce_like_reference(terms.mean(axis=case.kwargs.get("axis", -1)), case)

    @staticmethod
    def _reduce_like_reference(per_sample, case):
        from adapters.numpy_reference import _reduce
        return _reduce(per_sample, case)


class OrderDependentSum(NumpyReferenceAdapter):
    """The sum reduction weighs each sample by its position (1 + i/64), as a reduction that drops or repeats part of
    a block would: the same samples in another order give another sum."""
    name = "broken-order"

    def compute(self, case):
        if case.reduction != "sum":
            return super().compute(case)
        per_sample = np.asarray(super().compute(case.with_(reduction="none")))
        if per_sample.ndim == 0:
            return super().compute(case)
        weights = 1 + np.arange(per_sample.shape[0]) / 64
        total = np.tensordot(weights, per_sample.astype(np.float64), axes=(0, 0)).sum()
        return np.asarray(total, dtype=per_sample.dtype)
