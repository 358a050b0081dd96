"""Semantics: a named set of switches that turn the ideal formula into what a framework computes.

The switch values and their citations live in the specs (``specs/<loss>.yaml``); this module names
the switches the oracle understands, says which of them are numerical guards, and builds the
``idealised`` twin of a semantics (same structure, guards removed) used for the fidelity check.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from core import dtypes

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
    "accumulation": ("guard", "the format the sums of half-precision terms are accumulated in (the reduction, a mean over "
                              "an axis, a softmax or renormalisation row sum, a weighted mean's denominator): 'float32' "
                              "(a float32 accumulator rounded once at the end: every built-in framework, "
                              "docs/semantics.md#accumulation-precision) or 'running' (a running sum in the compute dtype "
                              "itself, as a candidate may declare). float32 and float64 accumulate in themselves"),
    "axis_reduction": ("structure", "how the class/feature axis is reduced into per-sample losses: 'mean' or 'none'"),
    "smoothing_classes": ("structure", "which axis gives K in label smoothing y(1-ls)+ls/K: 'axis' or 'last_axis'"),
    "empty_mean": ("structure", "a mean over no elements or zero total weight: 'nan' (0/0) or 'zero' (divide_no_nan)"),
    "weight_denominator": ("structure", "mean_with_sample_weight divides by the sum of the weights 'broadcast' to the "
                                        "losses, or of the 'raw' weight array as passed (Keras 3)"),
    "zero_weight_guard": ("guard", "a loss whose weight is 0 adds 0 to the reduced loss, even where it is NaN or infinite, "
                                   "not 0 * NaN (TF1 mean_pairwise_squared_error divides a sample's sums by its count "
                                   "of nonzero weights with div_no_nan, so a zero-weighted sample's terms are 0)"),
    "subgradient": ("structure", "the derivative autodiff returns at a kink (|x| at 0, a hinge at its margin, a clip "
                                 "bound): 'interval' (any value between the one-sided derivatives), 'left' or 'right' "
                                 "(that one-sided derivative). Read by the gradient judge only: no value depends on it"),
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
    "accumulation": "float32",
    "axis_reduction": "mean",
    "smoothing_classes": "axis",
    "empty_mean": "nan",
    "weight_denominator": "broadcast",
    "zero_weight_guard": False,
    "subgradient": "interval",
}

# -- switches of one family of losses (their formulas in oracle/losses/<family>.py) ----------------------------
# Declared here, beside the common ones, so that a spec's switch names are checked without importing a formula.

# oracle/losses/ctc.py
_CTC_SWITCHES = {
    "ctc_log_epsilon": ("guard", "log 0 is replaced by this finite value in optax's CTC forward recursion "
                                 "(optax.ctc_loss log_epsilon, Keras JAX backend): impossible alignments cost ~1e5, not inf"),
}
_CTC_DEFAULTS = {"ctc_log_epsilon": None}

# oracle/losses/metric_learning.py
_METRIC_LEARNING_SWITCHES = {
    "mask_rounded_zero": ("guard", "a per-sample loss that rounds to 0 in the compute dtype (flushed when subnormal "
                                   "under FTZ) is masked out of the reduction, as Keras masks loss > 0 after computing it"),
}
_METRIC_LEARNING_DEFAULTS = {"mask_rounded_zero": False}

# oracle/losses/probabilistic_keras.py
_PROBABILISTIC_KERAS_SWITCHES = {
    "hinge_labels": ("structure", "how hinge targets are read: 'auto' -1/+1 as given, 0/1 mapped to 2y - 1 when every label "
                                  "of the tensor is 0 or 1 (Keras); 'binary' always 2y - 1 (TF1 hinge_loss); 'sign' "
                                  "as given (optax hinge_loss: a 0 label gives max(1, 0) = 1)"),
    "categorical_hinge_negative": ("structure", "the runner-up score of categorical_hinge: 'others' max over the non-target "
                                                "scores (Crammer-Singer); 'masked_product' max_j (1 - y_j) y_hat_j, where the "
                                                "target slot counts as 0, so the runner-up is never below 0 (Keras)"),
    "kl_clip": ("guard", "p and q are clipped to [eps, 1] (eps rounded to the compute dtype) before p log(p / q) (Keras)"),
    "zero_times_inf": ("guard", "a zero coefficient times log 0 = -inf gives IEEE 0 * inf = NaN instead of the limit 0 "
                                "(torch kl_div and poisson_nll_loss, optax kl_divergence; Keras' binary focal "
                                "cross-entropy where a clip bound rounds to 1, as in float16)"),
    "poisson_epsilon": ("guard", "eps (rounded to the compute dtype) added inside the log: y_hat - y log(y_hat + eps) "
                                 "(Keras 1e-7; torch poisson_nll_loss(log_input=False) eps=1e-8)"),
    "poisson_full": ("guard", "the log(y!) term that full=True adds: 'stirling' y log y - y + log(2 pi y)/2 for y > 1 and "
                              "0 for y <= 1 (torch), instead of log Gamma(y + 1)"),
    "dice_epsilon": ("guard", "eps (rounded to the compute dtype) added to the denominator of Dice and Tversky (Keras)"),
    "tversky_swap": ("structure", "alpha multiplies the false negatives sum y (1 - y_hat) and beta the false positives "
                                  "sum (1 - y) y_hat: the reverse of the paper and of Keras' own docstring (Keras 3.15.1)"),
    "alpha_list_dtype": ("guard", "a list alpha (alpha_per_class) is converted to a tensor of this dtype before it "
                                  "multiplies, whatever the compute dtype (Keras 3: a Python list becomes float32)"),
    "focal_logits_via_probabilities": ("guard", "from_logits: p = sigmoid(z) is materialised in the compute dtype and the "
                                                "BCE factor computed from it by the clipped probability formula, not from the "
                                                "logits (Keras 3 on JAX, torch, numpy)"),
}
_PROBABILISTIC_KERAS_DEFAULTS = {
    "hinge_labels": "auto",
    "categorical_hinge_negative": "others",
    "kl_clip": None,
    "zero_times_inf": False,
    "poisson_epsilon": None,
    "poisson_full": None,
    "dice_epsilon": None,
    "tversky_swap": False,
    "focal_logits_via_probabilities": False,
    "alpha_list_dtype": None,
}

# oracle/losses/regression_keras.py
_REGRESSION_KERAS_SWITCHES = {
    "round_params": ("guard", "float parameters (delta, alpha, gamma, q, ...) are rounded to the compute dtype, "
                              "as every framework converts them to tensors of that dtype"),
    "mape_epsilon": ("guard", "MAPE divides by max(|y|, eps), eps (a Python float) rounded to the compute dtype"),
    "msle_epsilon": ("guard", "MSLE clamps both arguments from below at eps: log(max(x, eps) + 1)"),
    "msle_float32_constant": ("guard", "the MSLE clamp is a float32 tensor (Keras 3 ops.convert_to_tensor(epsilon())): "
                                       "eps is float32's 1e-7 at every dtype, and half-precision inputs are promoted, "
                                       "so the clamp, x + 1 and the log run in float32"),
    "log_plus_one_in_dtype": ("guard", "log(x + 1) is taken of x + 1 rounded to the compute dtype, not log1p(x)"),
    "cosine_epsilon": ("guard", "the norm floor of the cosine (how it enters: cosine_floor)"),
    "cosine_floor": ("guard", "how cosine_epsilon floors the norms: 'norm_cap' x * min(1/sqrt(sum x^2), 1/eps) "
                              "(Keras 3, 1/eps rounded to the dtype); 'squared_max' x / sqrt(max(sum x^2, eps)) "
                              "(Keras 2 l2_normalize, optax); 'squared_add' <x, y> / sqrt((sum x^2 + eps)(sum y^2 + eps)) (torch)"),
    "cosine_form": ("structure", "'negative': l = -cos (Keras); 'distance': l = 1 - cos (TF1 cosine_distance, "
                                 "torch cosine_embedding_loss with target 1, optax cosine_distance)"),
    "log2_dtype": ("guard", "log_cosh subtracts log 2 computed in this dtype (Keras 3: ops.log(2.0) runs in float32) and "
                            "cast to the compute dtype; it differs from log 2 only where the compute dtype is wider"),
}
_REGRESSION_KERAS_DEFAULTS = {
    "round_params": False,
    "mape_epsilon": None,
    "msle_epsilon": None,
    "msle_float32_constant": False,
    "log_plus_one_in_dtype": False,
    "cosine_epsilon": None,
    "cosine_floor": None,
    "cosine_form": "negative",
    "log2_dtype": None,
}

# oracle/losses/tf1_optax.py
_TF1_OPTAX_SWITCHES = {
    "norm_floor": ("guard", "squared norms are clipped from below before the square root: null (none), a number, or "
                            "'finfo_eps' (machine epsilon of the compute dtype, optax ntxent)"),
    "margin_in_dtype": ("guard", "the margins s_j + 1 - [j = y] are rounded to the compute dtype, as (scores + 1.0) - one_hot "
                                 "(optax multiclass_hinge_loss): the loss of a sample with margin >= 1 is then a rounding error, "
                                 "possibly negative, instead of 0"),
    "pairwise_count": ("structure", "the element count n in mean_pairwise_squared_error: 'per_sample' (documented) or "
                                    "'whole_batch' (TF1 in eager mode with a scalar weight counts every element of the batch)"),
}
_TF1_OPTAX_DEFAULTS = {"norm_floor": None, "margin_in_dtype": False, "pairwise_count": "per_sample"}
# tf1_optax's losses use zero_times_inf and round_params too, declared above with the Keras families

# oracle/losses/torch_family.py
_TORCH_FAMILY_SWITCHES = {
    "epsilon_placement": ("guard", "where the loss's eps parameter enters: 'inside_log' (poisson_nll: log(x + eps)), "
                                   "'clamp_var' (gaussian_nll: var clamped below at eps), 'difference' (triplet: "
                                   "||a - b + eps||_p), 'inside_root' (triplet: (sum (a - b)^p + eps)^(1/p)); null: nowhere"),
    "norm_epsilon": ("guard", "this constant (rounded to the compute dtype) is added to each squared norm of a cosine"),
    "signed_power": ("structure", "distances raise signed differences (a - b)^p without abs (optax triplet_margin_loss)"),
    "poisson_full_term": ("guard", "the log(y!) term of the full Poisson NLL: 'lgamma' (exact) or 'stirling' "
                                   "(torch: y log y - y + log(2 pi y)/2 where y > 1, else 0)"),
    "rounded_math_constants": ("guard", "mathematical constants (2 pi, log(2 pi)/2) are Python floats rounded to the compute dtype"),
}
_TORCH_FAMILY_DEFAULTS = {
    "epsilon_placement": None,
    "norm_epsilon": None,
    "signed_power": False,
    "poisson_full_term": "lgamma",
    "rounded_math_constants": False,
}


for _switches, _defaults in ((_CTC_SWITCHES, _CTC_DEFAULTS), (_METRIC_LEARNING_SWITCHES, _METRIC_LEARNING_DEFAULTS),
                             (_PROBABILISTIC_KERAS_SWITCHES, _PROBABILISTIC_KERAS_DEFAULTS),
                             (_REGRESSION_KERAS_SWITCHES, _REGRESSION_KERAS_DEFAULTS),
                             (_TF1_OPTAX_SWITCHES, _TF1_OPTAX_DEFAULTS), (_TORCH_FAMILY_SWITCHES, _TORCH_FAMILY_DEFAULTS)):
    _wrong = set(_switches) & set(SWITCHES) | set(_switches) ^ set(_defaults)
    if _wrong:
        raise ImportError(f"switches declared twice, or without a default: {sorted(_wrong)}")
    SWITCHES.update(_switches)
    DEFAULTS.update(_defaults)


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
    "running_sum": ({"accumulation": "running"},
                    "the implementation declares that it sums half-precision terms in a running sum of the compute "
                    "dtype (an accelerator without a float32 accumulator): its tolerance allows (n - 1) units of that "
                    "dtype's roundoff per sum of n terms, and the fidelity check flags every result the declaration "
                    "moves beyond what a float32 accumulator allows"),
    "left_subgradient": ({"subgradient": "left"}, "the implementation declares that its derivative at a kink is the "
                                                  "left-sided one (x approached from below)"),
    "right_subgradient": ({"subgradient": "right"}, "the implementation declares that its derivative at a kink is the "
                                                    "right-sided one (x approached from above)"),
    "ftz": ({"flush_subnormals": True},
            "TensorFlow (Eigen) and XLA set flush-to-zero and denormals-are-zero on CPU: tf.constant(1e-40) != 0 "
            "is False and sigmoid_cross_entropy_with_logits(1, 100) is 0.0 (checked with TF 2.21.0); torch does not. "
            "float16 is computed in float32 there, where its subnormals are normal numbers: they are kept "
            "(3 * 2**-24 * 2 = 3.6e-7 in TF eager, XLA and JAX), while bfloat16's, subnormal in float32 too, are flushed"),
}

def accumulation_format(sem: "Semantics", dtype: str) -> str:
    """The format a sum of ``dtype`` terms is accumulated in under ``sem``: ``dtype`` itself, or float32 for a
    half-precision dtype where the semantics accumulates in float32."""
    if sem["accumulation"] == "float32" and dtypes.float_format(dtype).mantissa_bits < dtypes.float_format("float32").mantissa_bits:
        return "float32"
    return str(dtype)


# Formats whose arithmetic FTZ/DAZ never sees subnormal: CPUs compute them in float32, where their subnormals are normal.
_WIDENED_ON_CPU = ("float16",)


def flushes(sem: "Semantics", dtype: str) -> bool:
    """Whether the semantics flushes subnormals of ``dtype`` (``flush_subnormals``, except for formats computed
    in a wider one whose normal range covers their subnormals)."""
    return bool(sem["flush_subnormals"]) and str(dtype) not in _WIDENED_ON_CPU


_READING: list[set] = []  # the sets that switches_read() is filling


@contextlib.contextmanager
def switches_read():
    """The names of the switches read (``sem[name]``) inside the block: a convention differing from another only in
    switches a formula never read computes, on those inputs, the same function."""
    read: set = set()
    _READING.append(read)
    try:
        yield read
    finally:  # by identity: a set equal to this one may belong to an enclosing block
        del _READING[next(i for i, r in enumerate(_READING) if r is read)]


def note_read(names) -> None:
    """Marks ``names`` as read in every active ``switches_read`` block: a remembered result stands for the computation
    that made it, and for the switches that computation read."""
    for read in _READING:
        read.update(names)


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
        for read in _READING:
            read.add(switch)
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
