"""Keras 2 (the legacy ``tf_keras`` package, what ``tf.keras`` was before TF 2.16), semantics ``keras2+ftz``.

The same three handles as Keras 3 (``adapters/keras3.py``, whose ``KerasLossesAdapter`` this shares: the
handle tables, how a case becomes a call, the handle identities and the reproducer), on TensorFlow:

  class     tf_keras.losses.BinaryCrossentropy(..., reduction=...)(y, p, sample_weight=w)
  function  tf_keras.losses.binary_crossentropy(y, p, ...)
  alias     tf_keras.losses.get("binary_crossentropy")(y, p, ...)

Where Keras 2 differs (see /work/shared/reference/semantics.md section 2):
* No ``dtype`` argument: losses compute in the dtype of the inputs, which are made in the case dtype.
* Reductions ``none``, ``sum``, ``sum_over_batch_size`` (and ``auto`` = sum_over_batch_size); no
  ``mean_with_sample_weight`` (``mapping.KERAS2``).
* ``SparseCategoricalCrossentropy`` takes no ``axis`` (the function does, any axis); ``bce``/``BCE`` are not
  aliases.
* The binary cross-entropy adds epsilon again inside the logs (``keras2`` semantics); an all-ignored batch
  gives NaN.
"""
from __future__ import annotations

from adapters import mapping
from adapters.keras3 import KerasLossesAdapter, TensorFlowRuntime, _dist_version


class TFKerasAdapter(KerasLossesAdapter):
    name = "tf-keras"
    library = "tf-keras"
    flavour = "keras 2 (tf_keras)"
    namespace = "tf_keras.losses"
    reductions = mapping.KERAS2
    devices = ("cpu", "cuda")
    semantics = {loss: "keras2+ftz" for loss in KerasLossesAdapter.CLASS}  # TensorFlow flushes subnormals
    KNOWN_ALIASES = {
        **KerasLossesAdapter.KNOWN_ALIASES,
        "binary_crossentropy": ("binary_crossentropy", "BinaryCrossentropy"),  # no bce/BCE in Keras 2
    }
    CLASS_PARAMS = {"sparse_categorical_crossentropy": ("from_logits", "ignore_class")}
    runtime = TensorFlowRuntime(imports=("import tf_keras",))

    def version(self) -> str:
        return f"tf-keras {_dist_version('tf-keras')}, {self.runtime.version()}"

    def losses_module(self):
        import tf_keras

        return tf_keras.losses

    def environment(self) -> dict:
        import tf_keras

        return {**self.runtime.environment(), "tf_keras": _dist_version("tf-keras"),
                "epsilon": tf_keras.backend.epsilon(), "floatx": tf_keras.backend.floatx(),
                "dtype_policy": "computed in the input dtype (Keras 2 losses take no dtype)"}
