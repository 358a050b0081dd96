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


# -- gradients: torch's own value, with a custom gradient (torch's, then one classic mistake) ---------------
from adapters.torch_functional import TorchAdapter  # noqa: E402  (the value adapters above need no torch)
from core.case import Case  # noqa: E402


class _TamperedGradient(TorchAdapter):
    """torch, whose gradients pass through ``tamper`` (the values are torch's, untouched)."""

    def gradient(self, call, wrt, cotangent):
        grads = super().gradient(call, wrt, cotangent)
        return {n: np.asarray(self.tamper(call.case, n, g), dtype=g.dtype) for n, g in grads.items()}

    def tamper(self, case, name, g):
        raise NotImplementedError


class GradientTimesTwo(_TamperedGradient):
    """A wrong constant factor: the derivative of the mean as if of the sum of two copies."""
    name = "broken-grad-factor"

    def tamper(self, case, name, g):
        return g * 2


class NanAtSaturatedLogit(_TamperedGradient):
    """NaN where a logit saturates (|z| > 10), as a sigmoid computed through exp(z) / (1 + exp(z)) gives inf / inf."""
    name = "broken-grad-nan"

    def tamper(self, case, name, g):
        if not case.kwargs.get("from_logits"):
            return g
        return np.where(np.abs(np.asarray(case.inputs[name], dtype=np.float64)) > 10, np.nan, g)


class ZeroFromClip(_TamperedGradient):
    """A clip to [0.01, 0.99] applied to the gradient path only: the derivative is zero beyond it (the value is not
    clipped, so only the gradient is wrong)."""
    name = "broken-grad-clip"

    def tamper(self, case, name, g):
        x = np.asarray(case.inputs[name], dtype=np.float64)
        return np.where((x < 0.01) | (x > 0.99), 0.0, g)


class Float32GradientForFloat64(_TamperedGradient):
    """The gradient of a float64 case computed in float32, then returned as float64."""
    name = "broken-grad-float32"

    def gradient(self, call, wrt, cotangent):
        case = call.case
        if case.dtype != "float64":
            return super().gradient(call, wrt, cotangent)
        low = Case.from_dict({**case.to_dict(), "dtype": "float32"})
        grads = TorchAdapter.gradient(self, self.plan(low), wrt, cotangent)
        return {n: g.astype(np.float64) for n, g in grads.items()}
