"""Keras 2 (the legacy ``tf_keras`` package, what ``tf.keras`` was before TF 2.16), semantics ``keras2+ftz``.

The same three handles as Keras 3 (``adapters/keras3.py``, whose ``KerasLossesAdapter`` this shares: the
handle table, ``plan``/``run``/``source``, ``gradient``/``gradient_source`` through a GradientTape, and the handle
identities), on TensorFlow:

  class     tf_keras.losses.BinaryCrossentropy(..., reduction=...)(y, p, sample_weight=w)
  function  tf_keras.losses.binary_crossentropy(y, p, ...)
  alias     tf_keras.losses.get("binary_crossentropy")(y, p, ...)

Where Keras 2 differs (see docs/semantics.md#keras-2-tf_keras):
* No ``dtype`` argument: losses compute in the dtype of the inputs, which are made in the case dtype.
* Reductions ``none``, ``sum``, ``sum_over_batch_size`` (and ``auto`` = sum_over_batch_size); no
  ``mean_with_sample_weight`` (``mapping.KERAS2``).
* ``SparseCategoricalCrossentropy`` takes no ``axis`` (the function does, any axis); ``bce``/``BCE`` are not
  aliases.
* The binary cross-entropy adds epsilon again inside the logs (``keras2`` semantics); an all-ignored batch
  gives NaN.
* No CTC, Dice, Tversky, Circle or CategoricalGeneralizedCrossEntropy (``MISSING``: reported unsupported, with why);
  the legacy compile strings ``kullback_leibler_divergence``, ``huber_loss`` and ``logcosh`` still resolve.
"""
from __future__ import annotations

from dataclasses import replace

from adapters import mapping
from adapters.keras3 import KerasLossesAdapter, TensorFlowRuntime, _dist_version


_KERAS2_MISSING = {  # Keras 3 losses tf_keras lacks, and why
    "ctc": "Keras 2 (tf_keras 2.21.0) has no CTC loss class or function (only the backend helper "
           "tf_keras.backend.ctc_batch_cost, which takes explicit lengths); keras.losses.CTC is Keras 3",
    "dice": "Keras 2 (tf_keras 2.21.0) has no Dice loss; keras.losses.Dice is Keras 3",
    "tversky": "Keras 2 (tf_keras 2.21.0) has no Tversky loss; keras.losses.Tversky is Keras 3",
    "categorical_generalized_cross_entropy": "Keras 2 (tf_keras 2.21.0) has no CategoricalGeneralizedCrossEntropy; "
                                             "it is Keras 3 only",
    "circle": "Keras 2 (tf_keras 2.21.0) has no Circle loss; keras.losses.Circle is Keras 3",
}


class TFKerasAdapter(KerasLossesAdapter):
    name = "tf-keras"
    library = "tf-keras"
    flavour = "keras 2 (tf_keras)"
    namespace = "tf_keras.losses"
    reductions = mapping.KERAS2
    devices = ("cpu", "cuda")
    MISSING = _KERAS2_MISSING
    LOSSES = {  # Keras 3's rows less the missing losses; SparseCategoricalCrossentropy takes no axis (the function does)
        loss: replace(row, class_params=("from_logits", "ignore_class"))
        if loss == "sparse_categorical_crossentropy" else row
        for loss, row in KerasLossesAdapter.LOSSES.items() if loss not in _KERAS2_MISSING
    }
    semantics = {loss: "keras2+ftz" for loss in LOSSES}  # TensorFlow flushes subnormals
    ALIASES_FROM = ("keras2", "tf-keras")
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
