"""Semantics: a named set of switches that turn the ideal formula into what a framework computes.

The switch values and their citations live in the specs (``specs/<loss>.yaml``); this module names
the switches the oracle understands, says which of them are numerical guards, and builds the
``idealised`` twin of a semantics (same structure, guards removed) used for the fidelity check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

# switch name -> (kind, meaning). "guard" switches are numerical conventions (clips, clamps, roundings);
# "structure" switches change which function is computed (axis handling, denominators).
SWITCHES: dict[str, tuple[str, str]] = {
    "clip_epsilon": ("guard", "clip probabilities to [eps, 1 - eps], both bounds rounded to the compute dtype"),
    "one_minus_in_dtype": ("guard", "log(1 - p) is taken of 1 - p rounded to the compute dtype, not log1p(-p)"),
    "log_clamp": ("guard", "every log is clamped from below at this value (torch: -100)"),
    "log_offset": ("guard", "this epsilon (rounded to the dtype) is added again inside the logs: log(p + eps), log(1 - p + eps)"),
    "renormalize": ("guard", "categorical probabilities divided by their sum: 'before_clip' or 'after_clip'"),
    "cast_inputs": ("guard", "inputs are cast to this dtype before anything else"),
    "round_constants": ("guard", "guard constants (eps, 1 - eps) are rounded to the compute dtype, as frameworks do"),
    "flush_subnormals": ("guard", "subnormal inputs read as zero and subnormal results flushed (CPU FTZ/DAZ)"),
    "reduce_in": ("guard", "the result is computed (at least reduced) in this dtype, whatever the input dtype"),
    "axis_reduction": ("structure", "how the class/feature axis is reduced into per-sample losses: 'mean' or 'none'"),
    "smoothing_classes": ("structure", "which axis gives K in label smoothing y(1-ls)+ls/K: 'axis' or 'last_axis'"),
    "empty_mean": ("structure", "a mean over no elements or zero total weight: 'nan' (0/0) or 'zero' (divide_no_nan)"),
    "weight_denominator": ("structure", "mean_with_sample_weight divides by the sum of the weights 'broadcast' to the "
                                        "losses, or of the 'raw' weight array as passed (Keras 3)"),
}

DEFAULTS: dict[str, Any] = {
    "clip_epsilon": None,
    "one_minus_in_dtype": False,
    "log_clamp": None,
    "log_offset": None,
    "renormalize": None,
    "cast_inputs": None,
    "round_constants": True,
    "flush_subnormals": False,
    "reduce_in": None,
    "axis_reduction": "mean",
    "smoothing_classes": "axis",
    "empty_mean": "nan",
    "weight_denominator": "broadcast",
}

# What convention detection tries: the declared semantics with one of these switches set otherwise.
ALTERNATIVES: dict[str, tuple] = {
    "weight_denominator": ("broadcast", "raw"),
    "empty_mean": ("nan", "zero"),
    "smoothing_classes": ("axis", "last_axis"),
    "axis_reduction": ("mean", "none"),
    "renormalize": (None, "before_clip", "after_clip"),
    "clip_epsilon": (None, 1e-7),
    "log_clamp": (None, -100),
    "log_offset": (None, 1e-7),
    "one_minus_in_dtype": (False, True),
    "flush_subnormals": (False, True),
}


# Modifiers that compose with any semantics, written "keras+ftz": properties of the execution
# environment rather than of one framework's formula.
MODIFIERS: dict[str, tuple[dict, str]] = {
    "ftz": ({"flush_subnormals": True},
            "TensorFlow (Eigen) and XLA set flush-to-zero and denormals-are-zero on CPU: tf.constant(1e-40) != 0 "
            "is False and sigmoid_cross_entropy_with_logits(1, 100) is 0.0 (checked with TF 2.21.0); torch does not. "
            "float16 is computed in float32 there, where its subnormals are normal numbers: they are kept "
            "(3 * 2**-24 * 2 = 3.6e-7 in TF eager, XLA and JAX), while bfloat16's, subnormal in float32 too, are flushed"),
}

# Formats whose arithmetic FTZ/DAZ never sees subnormal: CPUs compute them in float32, where their subnormals are normal.
_WIDENED_ON_CPU = ("float16",)


def flushes(sem: "Semantics", dtype: str) -> bool:
    """Whether the semantics flushes subnormals of ``dtype`` (``flush_subnormals``, except for formats computed
    in a wider one whose normal range covers their subnormals)."""
    return bool(sem["flush_subnormals"]) and str(dtype) not in _WIDENED_ON_CPU


@dataclass(frozen=True)
class Semantics:
    name: str
    switches: Mapping[str, Any] = field(default_factory=dict)
    citation: str = ""
    note: str = ""

    def __post_init__(self):
        unknown = set(self.switches) - set(SWITCHES)
        if unknown:
            raise ValueError(f"semantics {self.name!r}: unknown switch(es) {sorted(unknown)}; known: {sorted(SWITCHES)}")

    def __getitem__(self, switch: str):
        return self.switches.get(switch, DEFAULTS[switch])

    def idealised(self) -> "Semantics":
        """The same function with every numerical guard removed: what this convention *means*."""
        kept = {k: v for k, v in self.switches.items() if SWITCHES[k][0] == "structure"}
        return Semantics(f"{self.name}~ideal", kept, self.citation, "guards removed")

    def as_written(self) -> "Semantics":
        """The same convention with its constants exact (1e-7 itself, not 1e-7 rounded to float16):
        what the guard is meant to do, to tell when rounding defeats it."""
        return Semantics(f"{self.name}~as-written", {**self.switches, "round_constants": False}, self.citation)

    def variations(self):
        """This semantics with one switch of ALTERNATIVES set to each other value (convention detection)."""
        for switch, values in ALTERNATIVES.items():
            for value in values:
                if value != self[switch]:
                    yield Semantics(f"{self.name} with {switch}={value}", {**self.switches, switch: value}, self.citation)

    def describe(self) -> str:
        on = [f"{k}={v}" for k, v in sorted(self.switches.items()) if v != DEFAULTS[k]]
        return f"{self.name} ({', '.join(on) or 'no switches'})"
