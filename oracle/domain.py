"""Which inputs a loss is defined for. The oracle raises ValueError outside the domain; the suite uses
the same rule to decide that an implementation *should* raise."""
from __future__ import annotations

import numpy as np


class DomainError(ValueError):
    """The inputs or parameters lie outside the loss's domain (the suite expects implementations to raise)."""


def _finite(name: str, a: np.ndarray) -> None:
    values = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise DomainError(f"{name} contains NaN or inf")


def _check_kind(name: str, a: np.ndarray, kind: str) -> None:
    values = np.asarray(a, dtype=np.float64)
    if kind == "logit" and np.any(np.isnan(values)):
        raise DomainError(f"{name} contains NaN")  # +-inf logits are limits the loss is defined at
    if kind in ("probability", "real"):
        _finite(name, a)
    if kind in ("nonnegative", "sign", "integer"):
        _finite(name, a)
    if kind == "nonnegative" and values.min(initial=0) < 0:
        raise DomainError(f"{name} must be non-negative; got a minimum of {values.min()}")
    if kind == "sign" and not np.all(np.isin(values, (-1.0, 1.0))):
        raise DomainError(f"{name} must hold -1 or +1 labels")
    if kind == "integer" and not np.all(values == np.round(values)):
        raise DomainError(f"{name} must hold integers")
    if kind == "probability" and (values.min(initial=0) < 0 or values.max(initial=0) > 1):
        raise DomainError(f"{name} must lie in [0, 1] (probabilities); got values in [{values.min()}, {values.max()}]")
    if kind == "class_index" and not np.all(values == np.round(values)):
        raise DomainError(f"{name} must hold integer class indices")
    if kind == "count" and not (np.all(np.isfinite(values)) and np.all(values == np.round(values)) and values.min(initial=0) >= 0):
        raise DomainError(f"{name} must hold non-negative integers (lengths)")


def _check_param(spec, name: str, value) -> None:
    p = spec.params[name]
    kind = p["type"]
    ok = {
        "bool": lambda v: isinstance(v, (bool, np.bool_)),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v),
        "int": lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool),
        "int_or_null": lambda v: v is None or (isinstance(v, (int, np.integer)) and not isinstance(v, bool)),
        "float_list_or_null": lambda v: v is None or (isinstance(v, (list, tuple)) and all(np.isfinite(x) and x >= 0 for x in v)),
    }[kind]
    if not ok(value):
        raise DomainError(f"{spec.name}: parameter {name}={value!r} is not a valid {kind}")
    if kind not in ("float", "int") or value is None:
        return
    if ("min" in p and value < p["min"] or "max" in p and value > p["max"]
            or "exclusive_min" in p and not value > p["exclusive_min"] or "exclusive_max" in p and not value < p["exclusive_max"]):
        raise DomainError(f"{spec.name}: parameter {name}={value!r} outside {spec.param_bounds(name)}")


def sparse_labels(y_true: np.ndarray, y_pred: np.ndarray, axis: int) -> np.ndarray:
    """Labels shaped like y_pred without its class axis (a trailing size-1 label axis is squeezed)."""
    axis = axis % y_pred.ndim
    expected = y_pred.shape[:axis] + y_pred.shape[axis + 1 :]
    labels = np.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[axis] == 1:
        labels = np.squeeze(labels, axis)
    if labels.shape != expected:
        raise DomainError(
            f"sparse labels of shape {np.shape(y_true)} do not match predictions of shape {y_pred.shape}: "
            f"expected {expected} (one integer label per sample)"
        )
    return labels


def labelled_embeddings(loss: str, y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """(labels, embeddings) of a pairwise loss over a batch (ntxent, circle): embeddings (B, D), one label each."""
    labels, emb = np.asarray(y_true), np.asarray(y_pred, dtype=np.float64)
    if emb.ndim != 2:
        raise DomainError(f"{loss} embeddings must have shape (batch, features); got {emb.shape}")
    if labels.shape != emb.shape[:1]:
        raise DomainError(f"{loss} labels must have shape {emb.shape[:1]} (one label per embedding); got {labels.shape}")
    return labels, emb


def validate(spec, params: dict, inputs: dict, sample_weight) -> None:
    """Raise DomainError unless ``inputs`` (name -> array, as the spec names them) and ``params`` lie in the loss's
    domain: parameter ranges, each input's kind, shapes, then the loss module's own CHECKS."""
    for name, value in params.items():
        _check_param(spec, name, value)
    kinds = spec.inputs
    arrays = {name: np.asarray(a) for name, a in inputs.items()}
    if arrays[spec.prediction].size == 0:
        raise DomainError("empty batch: the loss of no samples is undefined")
    if "axis" in params:
        ndim = arrays[spec.prediction].ndim
        if not -ndim <= params["axis"] < ndim:
            raise DomainError(f"axis={params['axis']} is out of range for predictions of rank {ndim}")
    if kinds["shapes"] == "same" and arrays["y_true"].shape != arrays["y_pred"].shape:
        raise DomainError(f"y_true has shape {arrays['y_true'].shape} but y_pred has shape {arrays['y_pred'].shape}; they must be equal")
    for name in reversed(spec.input_names):  # predictions first: the message names the first bad input
        _check_kind(name, arrays[name], spec.input_kind(name, bool(params.get("from_logits"))))
    if kinds["shapes"] in ("same", "sparse"):
        _check_labelled(spec, params, arrays["y_true"], arrays["y_pred"])
    from oracle.losses import CHECKS  # late: loss modules register their own domain checks

    if spec.name in CHECKS:
        CHECKS[spec.name](params, sample_weight=sample_weight, **arrays)
    if sample_weight is not None:
        _finite("sample_weight", sample_weight)
        if np.any(np.asarray(sample_weight, dtype=np.float64) < 0):
            raise DomainError("sample_weight must be non-negative")


def _check_labelled(spec, params: dict, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """The rules of the two-input layouts: sparse labels against their classes, probability rows."""
    inputs, axis = spec.inputs, params.get("axis", -1)
    if inputs["shapes"] == "sparse":
        labels = sparse_labels(y_true, y_pred, axis)
        classes = y_pred.shape[axis]
        valid = labels[labels != params["ignore_class"]] if params.get("ignore_class") is not None else labels
        if valid.size and (valid.min() < 0 or valid.max() >= classes):
            raise DomainError(f"labels must lie in [0, {classes}); got {valid.min()}..{valid.max()}")
        if params.get("class_weight") is not None and len(params["class_weight"]) != classes:
            raise DomainError(f"class_weight has {len(params['class_weight'])} entries for {classes} classes")
    if params.get("from_logits") and inputs.get("positive_row_sums"):  # softmax rows
        if np.any(np.all(np.isneginf(np.asarray(y_pred, dtype=np.float64)), axis=axis)):
            raise DomainError("a row of logits is all -inf: no class has any probability")
    if inputs.get("positive_row_sums") and not params.get("from_logits"):
        if np.any(np.sum(np.asarray(y_pred, dtype=np.float64), axis=axis) <= 0):
            raise DomainError("a probability row sums to 0: no class has any probability")
