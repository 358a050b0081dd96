"""Framework spellings of the canonical reductions: the one place adapters translate them."""
from __future__ import annotations

from core.case import Case
from adapters.base import Unsupported

KERAS3 = {
    "none": None,
    "sum": "sum",
    "sum_over_batch_size": "sum_over_batch_size",
    "mean_with_sample_weight": "mean_with_sample_weight",
}
KERAS2 = {  # tf_keras (Keras 2) has no "mean"/"mean_with_sample_weight"; "auto" means sum_over_batch_size
    "none": "none",
    "sum": "sum",
    "sum_over_batch_size": "sum_over_batch_size",
}
TF1 = {  # attribute names of tf.compat.v1.losses.Reduction
    "none": "NONE",
    "sum": "SUM",
    "sum_over_batch_size": "SUM_OVER_BATCH_SIZE",
    "mean_with_sample_weight": "MEAN",
    "sum_by_nonzero_weights": "SUM_BY_NONZERO_WEIGHTS",
}
TORCH = {  # torch's "mean" means different canonical reductions per loss; adapters say which applies
    "none": "none",
    "sum": "sum",
    "sum_over_batch_size": "mean",
}

JAX_NUMPY = {  # optax has no reductions: users reduce with these jax.numpy functions (None: left unreduced)
    "none": None,
    "sum": "sum",  # jnp.sum(l * w)
    "sum_over_batch_size": "mean",  # jnp.mean(l * w)
    "mean_with_sample_weight": "average",  # jnp.average(l, weights=w): sum(l w) / sum(w)
}


def reduction(table: dict, case: Case, framework: str, extra: dict | None = None):
    """The framework's spelling of ``case.reduction``, or Unsupported naming what it does have."""
    table = {**table, **(extra or {})}
    if case.reduction not in table:
        raise Unsupported(f"{framework} has no reduction equivalent to {case.reduction!r} for {case.loss} "
                          f"(it has: {', '.join(sorted(table))})")
    return table[case.reduction]


def align_weights(weights, ndim: int):
    """Canonical sample weights align with the *leading* axes of the losses: (B,) -> (B, 1, ...).

    Frameworks broadcast from the trailing axes instead, so adapters reshape before passing weights on.
    Works on numpy arrays and on framework tensors alike (anything with .shape and .reshape).
    """
    return weights.reshape(tuple(weights.shape) + (1,) * (ndim - len(weights.shape)))
