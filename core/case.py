"""A case: one concrete evaluation of one loss, as plain data.

A case is hashable, serialisable (``to_dict``/``from_dict``) and printable as a reproducer. Its inputs are
named as the loss's spec names them (``y_true`` and ``y_pred`` for most losses; ``input1``, ``input2``,
``target`` for margin ranking; ``log_probs``, ``targets``, ``input_lengths`` for CTC, ...), in the spec's
order. Its float arrays are stored already rounded to the case's dtype, so the oracle and every
implementation see the very same binary values; integer inputs (class indices, lengths) stay int64.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Collection, Mapping

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


def _as_array(values, dtype: str, integer: bool = False) -> np.ndarray:
    """Float data is rounded to the case dtype; integer inputs (class labels, lengths) stay int64."""
    array = np.asarray(values)
    if integer and array.dtype.kind in "iub":
        return array.astype(np.int64)
    return dtypes.to_dtype(array, dtype)


LONG_RUN = 16  # rows: a run of identical rows longer than this is stored (and printed) once, with its count


def row_runs(a: np.ndarray) -> list[tuple[int, int]] | None:
    """(first index, length) of each run of identical rows of ``a`` along axis 0 (identical bits: -0.0 is not 0.0),
    where one run is longer than ``LONG_RUN`` (the long regime: a few samples, then one repeated thousands of
    times); else None."""
    if np.ndim(a) < 1 or len(a) <= LONG_RUN:
        return None
    rows = np.ascontiguousarray(a).reshape(len(a), -1).view(np.uint8) if a.size else np.zeros((len(a), 0), np.uint8)
    starts = [0] + (np.nonzero(np.any(rows[1:] != rows[:-1], axis=1))[0] + 1).tolist()
    runs = [(b, e - b) for b, e in zip(starts, starts[1:] + [len(a)])]
    return runs if max(n for _, n in runs) > LONG_RUN else None


def _array_dict(a) -> dict | None:
    """An array as JSON: dtype, shape and nested data; a long run of one row stored once, with ``repeats`` (the
    length of each run of the rows in ``data``)."""
    if a is None:
        return None
    as_float = a.dtype.kind == "f" or a.dtype.name == "bfloat16"
    plain = a.astype(float if as_float else a.dtype)
    runs = row_runs(a)
    if runs:
        return {"dtype": str(a.dtype), "shape": list(a.shape), "data": [plain[i].tolist() for i, _ in runs],
                "repeats": [n for _, n in runs]}
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": plain.tolist()}


def _dict_array(d) -> np.ndarray | None:
    if d is None:
        return None
    data = np.asarray(d["data"], dtype=float if d["dtype"] not in INTEGER_DTYPES else d["dtype"])
    if "repeats" in d:
        data = np.repeat(data, d["repeats"], axis=0)
    return data.reshape(d["shape"])


INTEGER_DTYPES = ("int64", "int32")


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
    inputs: Mapping[str, np.ndarray]  # name -> array, named and ordered as the loss's spec names its inputs
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
    def make(cls, loss, inputs: Mapping[str, Any], *, params=None, dtype="float32", sample_weight=None,
             integer: Collection[str] = (), **kw) -> "Case":
        """``inputs``: name -> values, in the spec's order; the names in ``integer`` hold integer class indices or
        lengths (kept int64), every other input is rounded to ``dtype``. ``specs.make_case`` reads both from the
        loss's spec."""
        if kw.get("reduction", "none") not in REDUCTIONS:
            raise ValueError(f"unknown reduction {kw['reduction']!r}; known: {', '.join(REDUCTIONS)}")
        return cls(
            loss=loss,
            inputs={name: _as_array(v, dtype, integer=name in integer) for name, v in inputs.items()},
            params=_freeze(params or {}),
            dtype=dtypes.float_format(dtype).name,
            sample_weight=None if sample_weight is None else _as_array(np.asarray(sample_weight, dtype=float), dtype),
            **kw,
        )

    # y_true and y_pred: the two inputs of most losses (a spec with other names has neither)
    @property
    def y_true(self) -> np.ndarray:
        return self.input("y_true")

    @property
    def y_pred(self) -> np.ndarray:
        return self.input("y_pred")

    def input(self, name: str) -> np.ndarray:
        try:
            return self.inputs[name]
        except KeyError:
            raise KeyError(f"{self.loss} has no input {name!r}; its inputs: {', '.join(self.inputs)}") from None

    def with_inputs(self, **arrays) -> "Case":
        """The case with some inputs replaced (arrays taken as they are: already in the case's dtype)."""
        unknown = set(arrays) - set(self.inputs)
        if unknown:
            raise KeyError(f"{self.loss} has no input(s) {sorted(unknown)}; its inputs: {', '.join(self.inputs)}")
        return replace(self, inputs={n: arrays.get(n, a) for n, a in self.inputs.items()})

    @property
    def kwargs(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.params}

    def with_(self, **changes) -> "Case":
        return replace(self, **changes)

    # -- identity -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "loss": self.loss,
            "params": self.kwargs,
            "reduction": self.reduction,
            "semantics": self.semantics,
            "dtype": self.dtype,
            "device": self.device,
            "variant": self.variant,
            "origin": self.origin,
            "inputs": {name: _array_dict(a) for name, a in self.inputs.items()},
            "sample_weight": _array_dict(self.sample_weight),
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "Case":
        return cls.make(
            d["loss"], {name: _dict_array(a) for name, a in d["inputs"].items()}, params=d.get("params", {}),
            dtype=d["dtype"], integer=[name for name, a in d["inputs"].items() if a["dtype"] in INTEGER_DTYPES],
            sample_weight=_dict_array(d.get("sample_weight")), reduction=d["reduction"], semantics=d["semantics"],
            device=d.get("device", "cpu"), variant=d.get("variant", "default"), origin=d.get("origin", ""),
        )

    def _digest(self, *ignored: str) -> str:
        d = self.to_dict()
        for k in ignored:
            d.pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def key(self) -> str:
        """A stable digest of everything that determines the exact value (not the device or variant)."""
        return self._digest("device", "variant", "origin")

    def draw_key(self) -> str:
        """A digest of the draw alone (the loss, its inputs, parameters, reduction and dtype), whatever semantics an
        implementation declares: what pairs one draw across the implementations of a side-by-side run."""
        return self._digest("device", "variant", "origin", "semantics")

    def __hash__(self) -> int:
        return hash((self.key(), self.device, self.variant))

    def __eq__(self, other) -> bool:
        return isinstance(other, Case) and hash(self) == hash(other) and self.to_dict() == other.to_dict()

    def describe(self) -> str:
        return f"{self.loss}({', '.join(f'{k}={v!r}' for k, v in self.params)}) reduction={self.reduction} dtype={self.dtype}"

    def reproducer(self) -> str:
        """Python that recomputes the oracle's value for this case."""
        def lit(a):
            if a is None:
                return "None"
            runs = row_runs(a)
            if runs:  # a long run of one row: written once, with np.repeat
                return (f"np.repeat(np.array({[a[i].tolist() for i, _ in runs]!r}, dtype={str(a.dtype)!r}), "
                        f"{[n for _, n in runs]!r}, axis=0)")
            return f"np.array({a.tolist()!r}, dtype={str(a.dtype)!r})"

        params = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        sw = "" if self.sample_weight is None else f", sample_weight={lit(self.sample_weight)}"
        arrays = "".join(f"{name} = {lit(a)}\n" for name, a in self.inputs.items())
        return (
            "import numpy as np, ml_dtypes\nimport oracle\n" + arrays
            + f"print(oracle.evaluate_loss({self.loss!r}, {', '.join(self.inputs)}, reduction={self.reduction!r}, "
            f"semantics={self.semantics!r}, dtype={self.dtype!r}{sw}{params}).value)"
        )
