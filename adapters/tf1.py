"""TensorFlow 1 losses: ``tf.compat.v1.losses`` called eagerly in TF 2.21.

  binary_crossentropy              sigmoid_cross_entropy(multi_class_labels, logits, weights, label_smoothing)
  categorical_crossentropy         softmax_cross_entropy(onehot_labels, logits, weights, label_smoothing)
  sparse_categorical_crossentropy  sparse_softmax_cross_entropy(labels, logits, weights)
  mean_squared_error               mean_squared_error(labels, predictions, weights)

Conventions worth knowing:
* The cross-entropies take logits only (``from_logits=True``); the softmax ones use the last axis as classes.
* Losses are elementwise for sigmoid CE and MSE (no mean over the last axis), per row for the softmax ones.
* ``weights`` must be a scalar or have the rank of the elementwise losses, so canonical (B,) sample weights go
  through ``mapping.align_weights`` ((B,) -> (B,1) for (B,C) losses). Without sample weights the Python float 1.0
  is passed, which is what a user writes (and what makes ``num_present`` take its scalar shortcut).
* ``compute_weighted_loss`` reduces in float32 and casts back, even for float64 inputs.
* The default reduction is SUM_BY_NONZERO_WEIGHTS; MEAN is the canonical ``mean_with_sample_weight``.
"""
from __future__ import annotations

from adapters import mapping, reproduce
from adapters.base import Adapter, Unsupported
from adapters.keras_tensorflow import gpu_available, tf_device, tf_environment, tf_module
from conformance.case import Case

_PARAMS = {
    "binary_crossentropy": ("from_logits", "label_smoothing", "axis"),
    "categorical_crossentropy": ("from_logits", "label_smoothing", "axis"),
    "sparse_categorical_crossentropy": ("from_logits", "axis", "ignore_class", "class_weight"),
    "mean_squared_error": (),
}
_FUNCTION = {
    "binary_crossentropy": "sigmoid_cross_entropy",
    "categorical_crossentropy": "softmax_cross_entropy",
    "sparse_categorical_crossentropy": "sparse_softmax_cross_entropy",
    "mean_squared_error": "mean_squared_error",
}


class TF1Adapter(Adapter):
    name = "tf1"
    library = "tensorflow-cpu"
    semantics = {
        "binary_crossentropy": "tf1+ftz",
        "categorical_crossentropy": "tf1+ftz",
        "sparse_categorical_crossentropy": "tf1+ftz",
        "mean_squared_error": "tf1+ftz",
    }
    devices = ("cpu", "cuda")

    def setup(self) -> None:
        tf_module()

    def available_devices(self) -> tuple[str, ...]:
        return ("cpu", "cuda") if gpu_available() else ("cpu",)

    def environment(self) -> dict:
        return {**tf_environment(), "dtype_policy": "regression and hinge losses cast to float32; every reduction in float32"}

    # -- the contract ----------------------------------------------------------------------------
    def _check(self, case: Case) -> None:
        """Raise Unsupported for what tf.compat.v1.losses cannot express; imports nothing."""
        k, fn = case.kwargs, _FUNCTION[case.loss]
        extra = sorted(set(k) - set(_PARAMS[case.loss]))
        if extra:
            raise Unsupported(f"tf.compat.v1.losses.{fn} takes no parameter(s) {', '.join(extra)}")
        if case.loss == "binary_crossentropy" and k.get("axis", -1) != -1:
            # elementwise: there is no axis to pass, and an adapter must not drop a parameter silently
            raise Unsupported("tf.compat.v1.losses.sigmoid_cross_entropy is elementwise and has no axis parameter")
        if case.loss == "binary_crossentropy" and not k.get("from_logits", False):
            raise Unsupported("tf.compat.v1.losses.sigmoid_cross_entropy takes logits; "
                              "log_loss is a different formula (eps inside the log)")
        if case.loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
            if not k.get("from_logits", False):
                raise Unsupported(f"tf.compat.v1.losses.{fn} takes logits only")
            if k.get("axis", -1) % max(case.y_pred.ndim, 1) != case.y_pred.ndim - 1:
                raise Unsupported(f"tf.compat.v1.losses.{fn} takes the classes on the last axis only")
        if k.get("ignore_class") is not None:
            raise Unsupported(f"tf.compat.v1.losses.{fn} has no ignore_class")
        if k.get("class_weight") is not None:
            raise Unsupported(f"tf.compat.v1.losses.{fn} has no class weights")
        mapping.reduction(mapping.TF1, case, "tf.compat.v1.losses")

    def supports(self, case: Case) -> bool | str:
        ok = super().supports(case)
        if ok is not True:
            return ok
        try:
            self._check(case)
        except Unsupported as exc:
            return str(exc)
        return True

    def _call(self, case: Case, labels, predictions, loss_ndim: int, **extra):
        """Call the TF1 function with weights aligned to losses of rank ``loss_ndim``."""
        self._check(case)
        tf = tf_module()
        v1 = tf.compat.v1.losses
        reduction = getattr(v1.Reduction, mapping.reduction(mapping.TF1, case, "tf.compat.v1.losses"))
        with tf_device(case):
            weights = 1.0
            if case.sample_weight is not None:
                weights = tf.constant(mapping.align_weights(case.sample_weight, loss_ndim))
            return getattr(v1, _FUNCTION[case.loss])(
                tf.constant(labels), tf.constant(predictions), weights=weights,
                reduction=reduction, loss_collection=None, **extra)

    def binary_crossentropy(self, case: Case):
        ls = case.kwargs.get("label_smoothing", 0.0)
        return self._call(case, case.y_true, case.y_pred, case.y_pred.ndim, label_smoothing=ls)

    def categorical_crossentropy(self, case: Case):
        ls = case.kwargs.get("label_smoothing", 0.0)
        return self._call(case, case.y_true, case.y_pred, case.y_pred.ndim - 1, label_smoothing=ls)

    def sparse_categorical_crossentropy(self, case: Case):
        return self._call(case, case.y_true, case.y_pred, case.y_pred.ndim - 1)

    def mean_squared_error(self, case: Case):
        return self._call(case, case.y_true, case.y_pred, case.y_pred.ndim)

    def reproducer(self, case: Case) -> str:
        """``tf.compat.v1.losses`` code for the case, as ``_call`` makes it (weights aligned, reduction spelled)."""
        try:
            self._check(case)
        except Unsupported:
            return super().reproducer(case)
        k = case.kwargs
        loss_ndim = case.y_pred.ndim - (1 if case.loss in ("categorical_crossentropy", "sparse_categorical_crossentropy") else 0)
        second = "predictions" if case.loss == "mean_squared_error" else "logits"
        body = [reproduce.array("tf", case.y_true, "labels"), reproduce.array("tf", case.y_pred, second)]
        weights = reproduce.Source("1.0")
        if case.sample_weight is not None:
            body += [reproduce.comment("canonical sample weights align with the leading axes of the losses"),
                     reproduce.array("tf", mapping.align_weights(case.sample_weight, loss_ndim), "weights")]
            weights = reproduce.Source("weights")
        reduction = mapping.reduction(mapping.TF1, case, "tf.compat.v1.losses")
        keywords = {"weights": weights, "reduction": reproduce.Source(f"tf.compat.v1.losses.Reduction.{reduction}"),
                    "loss_collection": None}
        if case.loss in ("binary_crossentropy", "categorical_crossentropy"):
            keywords["label_smoothing"] = k.get("label_smoothing", 0.0)
        call = f"tf.compat.v1.losses.{_FUNCTION[case.loss]}({reproduce.call_args(['labels', second], keywords)})"
        body = reproduce.device_block(body + [f"loss = {call}"], "tf.device('/GPU:0')" if case.device == "cuda" else None)
        return reproduce.script("tf", case, body + [reproduce.printed("tf", "loss")])
