"""The worked example of an adapter: plain numpy float arithmetic, declared as the ideal semantics.

Copy this file to plug a new library into lossconf: set ``name``, ``library`` and ``semantics``; ``plan``
says what the library can express (here: the reductions ``_reduce`` knows) and which function computes the
loss, ``run`` calls *your* library with the case's arrays, and ``source`` prints the code that does. Here "the library" is numpy
itself, written the way a careful float implementation would (log1p, shifted log-sum-exp). The simpler
losses (regression, hinge, margin, KL, Poisson, ...) are functions in ``adapters/numpy_losses.py`` that
return per-sample losses; this adapter reduces them with the same ``_reduce``.

    pytest tests/conformance --impl=mypkg.adapter:MyAdapter
"""
from __future__ import annotations

import numpy as np

from adapters import numpy_losses, reproduce
from adapters.base import Adapter, Call, Unsupported
from adapters.mapping import align_weights
from core.case import Case


def _accumulator(a: np.ndarray) -> type:
    """The dtype a sum of ``a`` runs in: float32 for half precision, as every built-in framework's does (numpy
    itself sums float16 pairwise in float32, but ml_dtypes' bfloat16 in a running bfloat16 sum, which stalls at 256
    ones), else ``a``'s own."""
    return np.float32 if a.dtype.itemsize < 4 else a.dtype.type


def _axis_sum(a: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    """``a.sum(axis)`` accumulated in ``_accumulator(a)``, rounded once to ``a``'s dtype."""
    return a.sum(axis=axis, keepdims=keepdims, dtype=_accumulator(a)).astype(a.dtype)


def _axis_mean(a: np.ndarray, axis: int) -> np.ndarray:
    """``a.mean(axis)`` accumulated in ``_accumulator(a)``, rounded once to ``a``'s dtype."""
    return a.mean(axis=axis, dtype=_accumulator(a)).astype(a.dtype)


def _reduce(per_sample: np.ndarray, case: Case, mask: np.ndarray | None = None,
            item_weights: np.ndarray | None = None) -> np.ndarray:
    """The canonical reductions over per-sample losses (this adapter's own implementation of them);
    ``item_weights`` (class weights c_y per element) multiply the sample weights."""
    w = np.ones_like(per_sample) if case.sample_weight is None else case.sample_weight.astype(per_sample.dtype)
    w = np.broadcast_to(align_weights(w, per_sample.ndim), per_sample.shape)
    # a weight is nonzero when both factors are: their float product may underflow to 0 (0.5 * 5e-324)
    nonzero = w != 0 if item_weights is None else (w != 0) & (item_weights != 0)
    if item_weights is not None:
        w = w * item_weights
    m = np.ones(per_sample.shape, bool) if mask is None else mask
    # half precision accumulates in float32, as the frameworks do; a float16 running sum overflows at 65504, and so
    # does a weighted term (a saturated loss of 3e4 weighted 12) whose mean is representable. The product of two
    # halves is exact in float32, so each term of reduction none is the half-precision product, rounded once.
    accumulate = _accumulator(per_sample)
    weighted = np.where(m, per_sample.astype(accumulate) * w.astype(accumulate), 0)
    total = weighted.sum(dtype=accumulate)
    if case.reduction == "none":
        return weighted.astype(per_sample.dtype)
    if case.reduction == "sum":
        return np.asarray(total, per_sample.dtype)
    denominators = {
        "sum_over_batch_size": lambda: m.sum(),
        "mean_with_sample_weight": lambda: np.where(m, w, 0).sum(dtype=accumulate),
        "weighted_mean": lambda: np.where(m, w, 0).sum(dtype=accumulate),
        "sum_by_nonzero_weights": lambda: np.count_nonzero(m & nonzero),
        "batchmean": lambda: per_sample.shape[0] if per_sample.ndim else 1,
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / accumulate(denominators[case.reduction]()), per_sample.dtype)


REDUCTIONS = ("none", "sum", "sum_over_batch_size", "mean_with_sample_weight", "weighted_mean", "sum_by_nonzero_weights",
              "batchmean")  # what _reduce computes
_CROSSENTROPIES = ("binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy")


class NumpyReferenceAdapter(Adapter):
    name = "numpy"
    library = "numpy"

    @property
    def semantics(self) -> dict[str, str]:
        """Every loss with a method here or a function in numpy_losses.PER_SAMPLE: adding one is one line there."""
        return {loss: "ideal" for loss in (*_CROSSENTROPIES, "mean_squared_error", *numpy_losses.PER_SAMPLE)}

    def environment(self) -> dict:
        return {**super().environment(), "numpy": np.__version__, "flush_to_zero": False,
                "dtype_policy": "computed in the input dtype; half precision sums accumulate in float32"}

    def plan(self, case: Case) -> Call:
        if case.reduction not in REDUCTIONS:
            raise Unsupported(f"numpy reference has no reduction {case.reduction!r}")
        if case.loss in numpy_losses.PER_SAMPLE:
            return Call(case, f"numpy_losses.{case.loss}")
        return super().plan(case)

    def run(self, call: Call) -> np.ndarray:
        case = call.case
        self._validate(case)
        if case.loss in numpy_losses.PER_SAMPLE:
            # per-sample losses weighted and reduced in the wide working precision, rounded once: a loss beyond
            # the dtype's range under a zero (or tiny) weight is 0 (or finite), not inf * 0
            per_sample = np.asarray(numpy_losses.PER_SAMPLE[case.loss](case), numpy_losses.WORK)
            return _reduce(per_sample, case).astype(self.numpy_dtype(case))
        return super().run(call)

    @staticmethod
    def _validate(case: Case) -> None:
        """A careful library refuses what it cannot mean instead of returning a plausible number."""
        k = case.kwargs
        predictions = "y_pred" if "y_pred" in case.inputs else next(iter(case.inputs))
        pred = case.inputs[predictions]
        if pred.size == 0:
            raise ValueError("empty batch")
        if not 0.0 <= k.get("label_smoothing", 0.0) <= 1.0:
            raise ValueError("label_smoothing must lie in [0, 1]")
        if not -pred.ndim <= k.get("axis", -1) < pred.ndim:
            raise ValueError("axis out of range")
        if case.sample_weight is not None:
            w = case.sample_weight
            if not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ValueError("sample weights must be finite and non-negative")
        logits = bool(k.get("from_logits")) or case.loss in numpy_losses.TAKE_LOGITS
        others = [a for name, a in case.inputs.items() if name != predictions]
        if np.any(np.isnan(pred)) or not (logits or np.all(np.isfinite(pred))) or not all(np.all(np.isfinite(a)) for a in others):
            raise ValueError("inputs must be finite (logits may be +-inf, where the loss takes its limit)")
        probabilities = case.loss in _CROSSENTROPIES and not k.get("from_logits")
        if probabilities and (case.y_pred.min() < 0 or case.y_pred.max() > 1):
            raise ValueError("probabilities must lie in [0, 1]")
        if probabilities and case.loss != "binary_crossentropy" and np.any(case.y_pred.sum(axis=k.get("axis", -1)) <= 0):
            raise ValueError("each row of probabilities must have a positive sum (an all-zero row is no distribution)")
        if case.loss in ("binary_crossentropy", "categorical_crossentropy") and (case.y_true.min() < 0 or case.y_true.max() > 1):
            raise ValueError("targets must lie in [0, 1]")

    @staticmethod
    def _same_shapes(case: Case) -> None:
        # (32,1) labels against (32,10) predictions would otherwise broadcast silently.
        if case.y_true.shape != case.y_pred.shape:
            raise ValueError(f"y_true {case.y_true.shape} and y_pred {case.y_pred.shape} must have the same shape")

    def binary_crossentropy(self, case: Case):
        self._same_shapes(case)
        y, p = case.y_true, case.y_pred
        k = case.kwargs
        ls = k.get("label_smoothing", 0.0)
        if ls:
            y = y * (1 - y.dtype.type(ls)) + y.dtype.type(0.5 * ls)
        with np.errstate(divide="ignore", invalid="ignore"):
            if k.get("from_logits"):
                # y softplus(-z) + (1-y) softplus(z): two non-negative terms, so nothing cancels (the naive
                # (1-y)z + softplus(-z) loses everything at large negative z), and 0 * inf = 0 at z = +-inf
                terms = np.where(y == 0, 0, y * np.logaddexp(0, -p)) + np.where(y == 1, 0, (1 - y) * np.logaddexp(0, p))
            else:
                terms = -(np.where(y == 0, 0, y * np.log(p)) + np.where(y == 1, 0, (1 - y) * np.log1p(-p)))
        return _reduce(_axis_mean(terms, k.get("axis", -1)), case)

    def _log_probabilities(self, case: Case, axis: int):
        p = case.y_pred
        if case.kwargs.get("from_logits"):
            top = np.isposinf(p)
            count = top.sum(axis=axis, keepdims=True)
            with np.errstate(invalid="ignore"):
                shifted = p - np.where(count > 0, 0, p.max(axis=axis, keepdims=True))
                normal = shifted - np.log(_axis_sum(np.exp(shifted), axis, keepdims=True))
            # +inf logits share all the mass (the limit); -inf logits have none
            limit = np.where(top, -np.log(np.maximum(count, 1)).astype(p.dtype), -np.inf)
            return np.where(count > 0, limit, normal)
        with np.errstate(divide="ignore"):
            return np.log(p)

    def categorical_crossentropy(self, case: Case):
        k = case.kwargs
        axis, ls = k.get("axis", -1), k.get("label_smoothing", 0.0)
        self._same_shapes(case)
        y = case.y_true
        if ls:
            y = y * (1 - y.dtype.type(ls)) + y.dtype.type(ls / case.y_pred.shape[axis])
        logp = self._log_probabilities(case, axis)
        return _reduce(-_axis_sum(np.where(y == 0, 0, y * logp).astype(logp.dtype), axis), case)

    def sparse_categorical_crossentropy(self, case: Case):
        k = case.kwargs
        axis = k.get("axis", -1)
        logp = np.moveaxis(self._log_probabilities(case, axis), axis, -1)
        labels = np.asarray(case.y_true).reshape(logp.shape[:-1])
        valid = labels if k.get("ignore_class") is None else labels[labels != k["ignore_class"]]
        if valid.size and (valid.min() < 0 or valid.max() >= logp.shape[-1]):
            raise IndexError(f"labels must lie in [0, {logp.shape[-1]})")
        mask = None if k.get("ignore_class") is None else labels != k["ignore_class"]
        safe = np.where(mask, labels, 0) if mask is not None else labels
        per_sample = -np.take_along_axis(logp, safe[..., None].astype(np.int64), axis=-1)[..., 0]
        classes = None if k.get("class_weight") is None else np.asarray(k["class_weight"], per_sample.dtype)[safe]
        return _reduce(per_sample, case, mask, classes)

    def mean_squared_error(self, case: Case):
        self._same_shapes(case)
        return _reduce(_axis_mean((case.y_true - case.y_pred) ** 2, -1), case)

    def source(self, call: Call) -> str:
        """The case built from literal arrays and handed to this adapter: the library here *is* lossconf's numpy code."""
        case = call.case
        try:
            body = [reproduce.array("numpy", array, name) for name, array in case.inputs.items()]
            keywords = {"params": case.kwargs, "reduction": case.reduction, "semantics": case.semantics, "dtype": case.dtype}
            if case.sample_weight is not None:
                body.append(reproduce.array("numpy", case.sample_weight, "sample_weight"))
                keywords["sample_weight"] = reproduce.Source("sample_weight")
            make = reproduce.call_args([repr(case.loss), *case.inputs], keywords)
            body += [f"case = specs.make_case({make})", f"loss = {type(self).__name__}().compute(case)"]
        except Exception:  # a reproducer is a courtesy; the generic one always works
            return super().source(call)
        imports = ["import specs", f"from {type(self).__module__} import {type(self).__name__}"]
        body.insert(0, reproduce.comment("run from the lossconf repository root (or with it on PYTHONPATH)"))
        return reproduce.script("numpy", case, body + [reproduce.printed("numpy", "loss")], extra_imports=imports)
