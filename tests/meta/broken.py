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


class SilentWhenCompiled(NumpyReferenceAdapter):
    """A "compiled" variant whose gather has no range check: an out-of-range label gives NaN where the eager
    (default) variant raises, as TF's sparse cross-entropy under XLA does."""
    name = "broken-silent-compiled"
    variants = ("default", "compiled")

    def sparse_categorical_crossentropy(self, case):
        labels = np.asarray(case.y_true)
        if case.variant == "compiled" and labels.size and (labels.min() < 0 or labels.max() >= case.y_pred.shape[-1]):
            return np.asarray(np.nan, dtype=case.y_pred.dtype)
        return super().sparse_categorical_crossentropy(case)


class CompiledDrifts(NumpyReferenceAdapter):
    """A "compiled" variant that reassociates the mean squared error's sum into one fused, float16-accumulated pass:
    every value is a little off (1e-3 relative), which the eager variant does not share."""
    name = "broken-compiled-drift"
    variants = ("default", "compiled")

    def mean_squared_error(self, case):
        value = np.asarray(super().mean_squared_error(case))
        return (value * (1 + 1e-3)).astype(value.dtype) if case.variant == "compiled" else value


class CompiledRaises(NumpyReferenceAdapter):
    """A "compiled" variant whose kernel is missing for the mean squared error: it raises on valid input where the
    eager variant computes."""
    name = "broken-compiled-raises"
    variants = ("default", "compiled")

    def mean_squared_error(self, case):
        if case.variant == "compiled":
            raise RuntimeError("no compiled kernel for mean_squared_error")
        return super().mean_squared_error(case)


class HalfRunningSum(NumpyReferenceAdapter):
    """Sums half-precision losses in a running sum of their own dtype, as an accelerator without a float32 accumulator
    does, while declaring the ideal semantics (float32 accumulation): every reduction's sum of float16 or bfloat16
    terms is rounded to that dtype after each addition (its denominator stays right). A long run of equal terms
    stalls the sum (a bfloat16 sum of ones sticks at 256) without overflowing."""
    name = "broken-running-sum"

    def compute(self, case):
        value = np.asarray(super().compute(case))
        if case.dtype not in ("float16", "bfloat16") or case.reduction == "none":
            return value
        terms = np.asarray(super().compute(case.with_(reduction="none"))).ravel()
        wide = float(terms.astype(np.float64).sum())
        running = float(np.cumsum(terms)[-1]) if terms.size else 0.0  # add.accumulate: each partial sum rounded
        if wide == 0 or not np.isfinite(wide) or not np.isfinite(running):
            return value
        return np.asarray(value.astype(np.float64) * (running / wide), dtype=value.dtype)


class DeclaredRunningSum(HalfRunningSum):
    """The same running sums, declared (``+running_sum``): it conforms to its declaration, and the fidelity check
    flags the results that the declaration moves beyond what a float32 accumulator allows."""
    name = "declared-running-sum"

    @property
    def semantics(self) -> dict[str, str]:
        return {loss: f"{name}+running_sum" for loss, name in super().semantics.items()}


# -- gradients: torch's own value, with a custom gradient (torch's, then one classic mistake) ---------------
from adapters.torch_functional import TorchAdapter  # noqa: E402  (the value adapters above need no torch)
from core.case import Case  # noqa: E402


class _TamperedGradient(TorchAdapter):
    """torch, whose gradients pass through ``tamper`` (the values are torch's, untouched)."""

    def gradient(self, call, wrt, cotangent, mode="reverse"):
        grads = super().gradient(call, wrt, cotangent, mode)
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

    def gradient(self, call, wrt, cotangent, mode="reverse"):
        case = call.case
        if case.dtype != "float64":
            return super().gradient(call, wrt, cotangent, mode)
        low = Case.from_dict({**case.to_dict(), "dtype": "float32"})
        grads = TorchAdapter.gradient(self, self.plan(low), wrt, cotangent, mode)
        return {n: g.astype(np.float64) for n, g in grads.items()}


class LeftSideDeclaredRight(_TamperedGradient):
    """Declares the right-sided derivative at kinks (the ``right_subgradient`` modifier) but returns the left one:
    torch's gradient taken a step below every input (|e| at e = 0 then gives -1 where the declared side is +1)."""
    name = "broken-grad-side"
    declared = "right_subgradient"

    def semantics_for(self, loss):
        base = super().semantics_for(loss)
        return base and f"{base}+{self.declared}"

    def gradient(self, call, wrt, cotangent, mode="reverse"):
        case = call.case
        below = case.with_inputs(**{n: np.nextafter(case.inputs[n], -np.inf) for n in wrt})
        return TorchAdapter.gradient(self, self.plan(below), wrt, cotangent, mode)


class LeftSideDeclaredLeft(LeftSideDeclaredRight):
    """The same left-sided derivative, declared as such: conforms."""
    name = "grad-side-declared"
    declared = "left_subgradient"


class RawWeightDenominator(_TamperedGradient):
    """A weighted mean's gradient divided by the sum of the weight array as passed, not of the weights broadcast to
    the losses (Keras 3's convention, weight_denominator=raw): (B,) weights on (B, T) losses give T times the
    gradient of torch's sum(w l) / sum(w)."""
    name = "broken-grad-raw-weights"

    def tamper(self, case, name, g):
        if case.reduction != "mean_with_sample_weight" or case.sample_weight is None:
            return g
        return g * (np.size(case.inputs[name]) / np.size(case.sample_weight))
