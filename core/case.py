"""A case: one concrete evaluation of one loss, as plain data.

A case is hashable, serialisable (``to_dict``/``from_dict``) and printable as a reproducer. Its float
arrays are stored already rounded to the case's dtype, so the oracle and every implementation see the
very same binary values.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from core import dtypes

REDUCTIONS = (
    "none",
    "sum",
    "sum_over_batch_size",
    "mean_with_sample_weight",
    "sum_by_nonzero_weights",
    "weighted_mean",
    "batchmean",
    "mean_by_length",
)
# Reductions that apply only to the losses whose spec lists them under ``extra_reductions`` (specs.Spec.reductions):
# mean_by_length needs per-sample lengths, which only CTC has (torch ctc_loss's "mean").
LOSS_SPECIFIC_REDUCTIONS = ("mean_by_length",)
DEVICES = ("cpu", "cuda")


def _as_array(values, dtype: str, labels: bool = False) -> np.ndarray:
    """Float data is rounded to the case dtype; integer class labels stay int64."""
    array = np.asarray(values)
    if labels and array.dtype.kind in "iub":
        return array.astype(np.int64)
    return dtypes.to_dtype(array, dtype)


def _freeze(params: Mapping[str, Any]) -> tuple:
    def freeze_value(v):
        if isinstance(v, (list, tuple, np.ndarray)):
            return tuple(freeze_value(x) for x in np.asarray(v).tolist())
        if isinstance(v, np.generic):
            return v.item()
        return v

    return tuple(sorted((str(k), freeze_value(v)) for k, v in dict(params).items()))


@dataclass(frozen=True, eq=False)
class Case:
    loss: str
    y_true: np.ndarray
    y_pred: np.ndarray
    params: tuple = ()  # sorted (name, value) pairs; use .kwargs for a dict
    reduction: str = "none"
    semantics: str = "ideal"
    sample_weight: np.ndarray | None = None
    dtype: str = "float32"
    device: str = "cpu"
    variant: str = "default"  # an adapter's handle or mode, e.g. "class", "function", "alias:mse"
    origin: str = ""  # example id or "seed=..." — how to regenerate this case
    valid: bool | None = field(default=None)  # None: let the oracle decide

    @classmethod
    def make(cls, loss, y_true, y_pred, *, params=None, dtype="float32", sample_weight=None, labels: bool = False,
             **kw) -> "Case":
        """``labels``: y_true holds integer class indices (kept int64); otherwise it is rounded to ``dtype`` like
        every float input. ``specs.make_case`` reads it from the loss's spec."""
        if kw.get("reduction", "none") not in REDUCTIONS:
            raise ValueError(f"unknown reduction {kw['reduction']!r}; known: {', '.join(REDUCTIONS)}")
        return cls(
            loss=loss,
            y_true=_as_array(y_true, dtype, labels=labels),
            y_pred=_as_array(y_pred, dtype),
            params=_freeze(params or {}),
            dtype=dtypes.float_format(dtype).name,
            sample_weight=None if sample_weight is None else _as_array(np.asarray(sample_weight, dtype=float), dtype),
            **kw,
        )

    @property
    def kwargs(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.params}

    def with_(self, **changes) -> "Case":
        return replace(self, **changes)

    # -- identity -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        def arr(a):
            return None if a is None else {"dtype": str(a.dtype), "shape": list(a.shape), "data": a.astype(float if a.dtype.kind == "f" or a.dtype.name == "bfloat16" else a.dtype).tolist()}

        return {
            "loss": self.loss,
            "params": self.kwargs,
            "reduction": self.reduction,
            "semantics": self.semantics,
            "dtype": self.dtype,
            "device": self.device,
            "variant": self.variant,
            "origin": self.origin,
            "y_true": arr(self.y_true),
            "y_pred": arr(self.y_pred),
            "sample_weight": arr(self.sample_weight),
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "Case":
        def arr(a):
            return None if a is None else np.asarray(a["data"], dtype=float if a["dtype"] not in ("int64", "int32") else a["dtype"]).reshape(a["shape"])

        return cls.make(
            d["loss"], arr(d["y_true"]), arr(d["y_pred"]), params=d.get("params", {}), dtype=d["dtype"],
            labels=d["y_true"]["dtype"] in ("int64", "int32"),
            sample_weight=arr(d.get("sample_weight")), reduction=d["reduction"], semantics=d["semantics"],
            device=d.get("device", "cpu"), variant=d.get("variant", "default"), origin=d.get("origin", ""),
        )

    def key(self) -> str:
        """A stable digest of everything that determines the exact value (not the device or variant)."""
        d = self.to_dict()
        for k in ("device", "variant", "origin"):
            d.pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def __hash__(self) -> int:
        return hash((self.key(), self.device, self.variant))

    def __eq__(self, other) -> bool:
        return isinstance(other, Case) and hash(self) == hash(other) and self.to_dict() == other.to_dict()

    def describe(self) -> str:
        return f"{self.loss}({', '.join(f'{k}={v!r}' for k, v in self.params)}) reduction={self.reduction} dtype={self.dtype}"

    def reproducer(self) -> str:
        """Python that recomputes the oracle's value for this case."""
        def lit(a):
            return "None" if a is None else f"np.array({a.tolist()!r}, dtype={str(a.dtype)!r})"

        params = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        sw = "" if self.sample_weight is None else f", sample_weight={lit(self.sample_weight)}"
        return (
            "import numpy as np, ml_dtypes\nimport oracle\n"
            f"y_true = {lit(self.y_true)}\ny_pred = {lit(self.y_pred)}\n"
            f"print(oracle.evaluate_loss({self.loss!r}, y_true, y_pred, reduction={self.reduction!r}, "
            f"semantics={self.semantics!r}, dtype={self.dtype!r}{sw}{params}).value)"
        )
