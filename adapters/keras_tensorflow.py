"""Keras 3 on the TensorFlow backend (``tf.keras`` in TF 2.21 *is* Keras 3).

Three handles per loss, each checked as its own variant:

  class     tf.keras.losses.BinaryCrossentropy(..., reduction=..., dtype=case.dtype)(y, p, sample_weight=w)
  function  tf.keras.losses.binary_crossentropy(y, p, ...)      per-sample losses, reduction "none" only
  alias     tf.keras.losses.get("binary_crossentropy")(y, p, ...)   the string given to model.compile(loss=...)

Conventions worth knowing:
* The class gets ``dtype=case.dtype``; without it Keras casts every input (float64 included) to floatx=float32.
* ``tf.keras`` is the ``keras._tf_keras`` namespace: it has ``mse``/``MSE`` but no ``mean_squared_error``
  attribute (``keras.losses`` has it; it is the same function object), so the MSE function handle is ``mse``.
* Sample weights are aligned with the leading axes (``mapping.align_weights``) as the canonical contract says;
  Keras' own divisor for ``mean_with_sample_weight`` is the sum of the *un-broadcast* weights, which is what
  gets measured for (B,T) per-sample losses.

TensorFlow is imported on first use (``tf_module``), so importing this module is cheap. ``tf_module``,
``tf_device`` and ``tf_environment`` are shared with ``adapters.tf1``.
"""
from __future__ import annotations

import importlib.metadata
import inspect
import os

from adapters import mapping, reproduce
from adapters.base import Adapter, Unsupported
from conformance.case import Case

_TF = None


def tf_module():
    """tensorflow, imported once with its C++ logging quietened."""
    global _TF
    if _TF is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow

        _TF = tensorflow
    return _TF


def gpu_available() -> bool:
    return bool(tf_module().config.list_physical_devices("GPU"))


def tf_device(case: Case):
    return tf_module().device("/GPU:0" if case.device == "cuda" else "/CPU:0")


def tf_environment() -> dict:
    tf = tf_module()
    return {
        "tensorflow": tf.__version__,
        # 0 means "let TensorFlow choose" (the number of cores)
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "cpu_count": os.cpu_count(),
        "tf32_enabled": tf.config.experimental.tensor_float_32_execution_enabled(),
        # measured, not assumed: Eigen's CPU kernels run with FTZ/DAZ set
        "flush_to_zero": bool((tf.constant(1e-40, tf.float32) * 1.0).numpy() == 0.0),
        # oneDNN kernels may change summation order (TF prints a warning saying so)
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset (on by default)"),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
    }


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


_CLASS = {
    "binary_crossentropy": "BinaryCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "mean_squared_error": "MeanSquaredError",
}
_FUNCTION = {  # attribute of tf.keras.losses
    "binary_crossentropy": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "mean_squared_error": "mse",
}
_ALIAS = {  # what a user writes in model.compile(loss=...)
    "binary_crossentropy": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "mean_squared_error": "mse",
}
_KNOWN_ALIASES = {  # every string tf.keras.losses.get accepts for the loss (cce/scce/crossentropy are rejected)
    "binary_crossentropy": ("binary_crossentropy", "bce", "BCE", "BinaryCrossentropy"),
    "categorical_crossentropy": ("categorical_crossentropy", "CategoricalCrossentropy"),
    "sparse_categorical_crossentropy": ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"),
    "mean_squared_error": ("mse", "MSE", "mean_squared_error", "MeanSquaredError"),
}
_PARAMS = {
    "binary_crossentropy": ("from_logits", "label_smoothing", "axis"),
    "categorical_crossentropy": ("from_logits", "label_smoothing", "axis"),
    "sparse_categorical_crossentropy": ("from_logits", "ignore_class", "axis"),
    "mean_squared_error": (),
}
_UNREDUCED = ("the Keras function handle returns unreduced per-sample losses; "
              "reductions and sample weights belong to the Loss class")


class KerasTensorFlowAdapter(Adapter):
    name = "tf"
    library = "tensorflow-cpu"
    semantics = {
        # +ftz: TensorFlow's CPU kernels read subnormals as zero and flush subnormal results
        "binary_crossentropy": "keras+ftz",
        "categorical_crossentropy": "keras+ftz",
        "sparse_categorical_crossentropy": "keras_tf+ftz",
        "mean_squared_error": "keras+ftz",
    }
    devices = ("cpu", "cuda")
    variants = ("class", "function", "alias")

    def version(self) -> str:
        return f"tensorflow {_dist_version(self.library)}, keras {_dist_version('keras')}"

    def setup(self) -> None:
        # TF32 would round float32 matmul inputs to 10 mantissa bits on Ampere+ GPUs
        tf_module().config.experimental.enable_tensor_float_32_execution(False)

    def available_devices(self) -> tuple[str, ...]:
        return ("cpu", "cuda") if gpu_available() else ("cpu",)

    def environment(self) -> dict:
        keras = tf_module().keras
        return {**tf_environment(), "keras": _dist_version("keras"),
                "epsilon": keras.backend.epsilon(), "floatx": keras.backend.floatx(),
                "dtype_policy": "Loss(dtype=case dtype): computed in the case's dtype"}

    def handle_identities(self) -> list[tuple[str, str, bool]]:
        """(alias, qualified name of what tf.keras.losses.get(alias) returned, whether that is the canonical
        handle: the very function object for function aliases, an instance of the Loss class for class names)."""
        losses = tf_module().keras.losses
        rows = []
        for loss, aliases in _KNOWN_ALIASES.items():
            canonical, cls = getattr(losses, _FUNCTION[loss]), getattr(losses, _CLASS[loss])
            for alias in aliases:
                got = losses.get(alias)  # class names come back as a fresh Loss instance
                kind = got if inspect.isfunction(got) else type(got)
                same = got is canonical or (not inspect.isfunction(got) and isinstance(got, cls))
                rows.append((alias, f"{kind.__module__}.{kind.__qualname__}", same))
        return rows

    # -- the contract ----------------------------------------------------------------------------
    def _plan(self, case: Case) -> tuple[dict, object]:
        """(keyword arguments, Keras reduction) for the case, or Unsupported; imports nothing."""
        kwargs = case.kwargs
        if kwargs.get("class_weight") is not None:
            raise Unsupported("Keras losses take no class weights (SparseCategoricalCrossentropy has no class_weight)")
        kwargs.pop("class_weight", None)
        extra = sorted(set(kwargs) - set(_PARAMS[case.loss]))
        if extra:
            raise Unsupported(f"keras {_CLASS[case.loss]} takes no parameter(s) {', '.join(extra)}")
        if case.loss == "sparse_categorical_crossentropy" and "axis" in kwargs:
            if kwargs["axis"] not in (-1, case.y_pred.ndim - 1):
                raise Unsupported("keras sparse_categorical_crossentropy on the TensorFlow backend supports axis=-1 only")
            kwargs["axis"] = -1  # the same axis, spelled the only way the TF backend accepts
        if case.variant == "class":
            return kwargs, mapping.reduction(mapping.KERAS3, case, "keras 3")
        if case.reduction != "none" or case.sample_weight is not None:
            raise Unsupported(_UNREDUCED)
        return kwargs, None

    def supports(self, case: Case) -> bool | str:
        ok = super().supports(case)
        if ok is not True:
            return ok
        try:
            self._plan(case)
        except Unsupported as exc:
            return str(exc)
        return True

    def _run(self, case: Case):
        kwargs, reduction = self._plan(case)
        tf = tf_module()
        losses = tf.keras.losses
        with tf_device(case):
            y_true = tf.constant(case.y_true)  # int64 labels stay int64, floats keep case.dtype
            y_pred = tf.constant(case.y_pred)
            if case.variant == "class":
                loss = getattr(losses, _CLASS[case.loss])(**kwargs, reduction=reduction, dtype=case.dtype)
                sw = None
                if case.sample_weight is not None:
                    sw = tf.constant(mapping.align_weights(case.sample_weight, case.y_pred.ndim - 1))
                return loss(y_true, y_pred, sample_weight=sw)
            fn = getattr(losses, _FUNCTION[case.loss]) if case.variant == "function" else losses.get(_ALIAS[case.loss])
            return fn(y_true, y_pred, **kwargs)

    binary_crossentropy = categorical_crossentropy = sparse_categorical_crossentropy = mean_squared_error = _run

    def reproducer(self, case: Case) -> str:
        """TensorFlow/Keras code for the case's handle (Loss class, function or compile alias), as ``_run`` calls it."""
        try:
            kwargs, reduction = self._plan(case)
        except Unsupported:
            return super().reproducer(case)
        body = [reproduce.array("tf", case.y_true, "y_true"), reproduce.array("tf", case.y_pred, "y_pred")]
        if case.variant == "class":
            make = reproduce.call_args(keywords={**kwargs, "reduction": reduction, "dtype": case.dtype})
            body.append(f"loss_fn = tf.keras.losses.{_CLASS[case.loss]}({make})")
            call = "loss_fn(y_true, y_pred)"
            if case.sample_weight is not None:
                body += [reproduce.comment("canonical sample weights align with the leading axes of the losses"),
                         reproduce.array("tf", mapping.align_weights(case.sample_weight, case.y_pred.ndim - 1), "sample_weight")]
                call = "loss_fn(y_true, y_pred, sample_weight=sample_weight)"
        else:
            fn = f"tf.keras.losses.{_FUNCTION[case.loss]}" if case.variant == "function" else f"tf.keras.losses.get({_ALIAS[case.loss]!r})"
            call = f"{fn}({reproduce.call_args(['y_true', 'y_pred'], kwargs)})"
        body = reproduce.device_block(body + [f"loss = {call}"], "tf.device('/GPU:0')" if case.device == "cuda" else None)
        return reproduce.script("tf", case, body + [reproduce.printed("tf", "loss")])
