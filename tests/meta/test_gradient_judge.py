"""The gradient judge catches deliberately broken gradients (tests/meta/broken.py: torch's own value, with a custom
gradient) and passes torch's own on the same cases; the gradient tests catch one end to end."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import specs
from adapters.torch_functional import TorchAdapter
from conformance import gradient_judge
from core import verdicts
from tests.meta import broken

ROOT = Path(__file__).resolve().parents[2]

LOGITS = np.array([[12.5, -15.0, 0.5], [0.25, -0.75, 3.0]])
TARGETS = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.5]])
PROBABILITIES = np.array([[0.005, 0.5, 0.995], [0.3, 0.2, 0.9]])


def _judge(adapter_class, loss, inputs, params, reduction="sum", dtype="float32", sample_weight=None, mode="reverse"):
    adapter = adapter_class()
    adapter.setup()
    case = specs.make_case(loss, inputs=inputs, params=params, dtype=dtype, reduction=reduction,
                           sample_weight=sample_weight, semantics=adapter.semantics_for(loss), variant=adapter.variants[0])
    return gradient_judge.judge_gradient(adapter, case, gradient_judge.differentiable_inputs(specs.all_specs()[loss]), mode)


CASES = {
    "logits": ("binary_crossentropy", {"y_true": TARGETS, "y_pred": LOGITS}, {"from_logits": True}),
    "probabilities": ("binary_crossentropy", {"y_true": TARGETS, "y_pred": PROBABILITIES}, {"from_logits": False}),
    "squares": ("mean_squared_error", {"y_true": TARGETS, "y_pred": np.array([[0.1234567890123, 2.5, -1.0],
                                                                               [0.3333333333333, 1.0, 0.75]])}, {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("reduction", ["none", "sum", "sum_over_batch_size"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_torch_own_gradients_pass(name, reduction, dtype, mode):
    record = _judge(TorchAdapter, *CASES[name], reduction=reduction, dtype=dtype, mode=mode)
    assert record["verdict"] == verdicts.PASS, record["explanation"]
    assert record["mode"] == mode


@pytest.mark.parametrize("broken_class, name, dtype, verdict", [
    (broken.GradientTimesTwo, "squares", "float32", verdicts.NUMERIC),
    (broken.NanAtSaturatedLogit, "logits", "float32", verdicts.NONFINITE),
    (broken.ZeroFromClip, "probabilities", "float32", verdicts.NUMERIC),
    (broken.Float32GradientForFloat64, "squares", "float64", verdicts.NUMERIC),
])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_broken_gradient_is_caught(broken_class, name, dtype, verdict, mode):
    record = _judge(broken_class, *CASES[name], dtype=dtype, mode=mode)
    assert record["verdict"] == verdict, record["explanation"]
    assert record["reproducer"] and ("torch.autograd.grad" if mode == "reverse" else "jacfwd") in record["reproducer"]


def test_a_mode_the_adapter_lacks_is_unsupported_with_the_reason():
    class ReverseOnly(TorchAdapter):
        name = "torch-reverse-only"
        gradient_modes = ("reverse",)

    record = _judge(ReverseOnly, *CASES["squares"], mode="forward")
    assert record["verdict"] == verdicts.UNSUPPORTED and "no forward-mode derivative" in record["explanation"]


# |e| at e = 0 (the first and last elements): left-sided derivative -1, right-sided +1; the others are smooth.
AT_KINKS = ("mean_absolute_error", {"y_true": TARGETS, "y_pred": np.array([[1.0, 0.25, 0.75], [0.5, -1.0, 0.5]])}, {})


def test_the_wrong_subgradient_side_is_caught_and_named():
    record = _judge(broken.LeftSideDeclaredRight, *AT_KINKS)
    assert record["verdict"] == verdicts.SEMANTIC, record["explanation"]
    assert "subgradient=left" in record["matched_semantics"] and record["kink_sides"] == ["left"]
    assert _judge(broken.LeftSideDeclaredLeft, *AT_KINKS)["verdict"] == verdicts.PASS
    # undeclared ('interval'), any value between the sides conforms: torch's sign(0) = 0 among them
    torch_own = _judge(TorchAdapter, *AT_KINKS)
    assert torch_own["verdict"] == verdicts.PASS and torch_own["kink_sides"] == ["between"]


def test_a_convention_that_explains_a_gradient_is_named():
    """Keras's weighted mean divides by the sum of the weights as passed (weight_denominator=raw): with (B,) weights
    on (B, T) losses its gradient is T times the broadcast convention's. A torch gradient scaled the same way (the
    value is torch's own) is a semantic difference that names the convention, not a numeric one."""
    loss, inputs, params = CASES["squares"]
    record = _judge(broken.RawWeightDenominator, loss, inputs, params, reduction="mean_with_sample_weight",
                    sample_weight=np.array([1.0, 3.0]))
    assert record["verdict"] == verdicts.SEMANTIC, record["explanation"]
    assert "weight_denominator=raw" in record["matched_semantics"]


def test_the_gradient_tests_catch_a_wrong_factor_end_to_end():
    select = "mean_squared_error and moderate"
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/conformance/test_gradients.py",
                             "--impl=tests.meta.broken:GradientTimesTwo", "--dtype=float32", "-q", "-p", "no:cacheprovider",
                             "-k", select], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "numeric" in result.stdout and "broken-grad-factor gradients:" in result.stdout
    correct = subprocess.run([sys.executable, "-m", "pytest", "tests/conformance/test_gradients.py", "--impl=torch",
                              "--dtype=float32", "-q", "-p", "no:cacheprovider", "-k", select],
                             capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert correct.returncode == 0, correct.stdout[-2000:]


def test_an_adapter_without_gradients_is_unsupported_with_the_reason():
    from adapters.numpy_reference import NumpyReferenceAdapter

    record = _judge(NumpyReferenceAdapter, *CASES["squares"])
    assert record["verdict"] == verdicts.UNSUPPORTED
    assert "gradient part of the adapter contract" in record["explanation"]
    assert "exact" not in record  # asked before the oracle: no exact derivative was computed
