"""Keras 3 pinned to the TensorFlow backend.

``tf.keras`` in TF 2.21 *is* Keras 3; the adapter for it (``--impl tf``, alias ``keras-tf``) is the one Keras 3
adapter of ``adapters/keras3.py`` on the TensorFlow backend. ``KerasTensorFlowAdapter`` below is that adapter
with the backend fixed, for ``--impl adapters.keras_tensorflow:KerasTensorFlowAdapter``. The TensorFlow helpers
it uses are in ``adapters/tf_runtime.py``.
"""
from __future__ import annotations

from adapters.keras3 import Keras3Adapter


class KerasTensorFlowAdapter(Keras3Adapter):
    """Keras 3 on the TensorFlow backend whatever KERAS_BACKEND says (``--impl tf``); see ``adapters/keras3.py``."""

    def __init__(self):
        super().__init__(backend="tensorflow")
