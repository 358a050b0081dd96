"""TensorFlow, imported on first use, and what the TF-based adapters (adapters.keras3 on the TensorFlow backend,
adapters.tf1, adapters.tf_keras) share about it: the device scope, GPUs, and the environment a report records.
Importing this module is cheap."""
from __future__ import annotations

import os

from core.case import Case

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
