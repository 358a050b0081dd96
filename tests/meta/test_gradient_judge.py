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


def _judge(adapter_class, loss, inputs, params, reduction="sum", dtype="float32"):
    adapter = adapter_class()
    adapter.setup()
    case = specs.make_case(loss, inputs=inputs, params=params, dtype=dtype, reduction=reduction,
                           semantics=adapter.semantics_for(loss), variant=adapter.variants[0])
    return gradient_judge.judge_gradient(adapter, case, gradient_judge.differentiable_inputs(specs.all_specs()[loss]))


CASES = {
    "logits": ("binary_crossentropy", {"y_true": TARGETS, "y_pred": LOGITS}, {"from_logits": True}),
    "probabilities": ("binary_crossentropy", {"y_true": TARGETS, "y_pred": PROBABILITIES}, {"from_logits": False}),
    "squares": ("mean_squared_error", {"y_true": TARGETS, "y_pred": np.array([[0.1234567890123, 2.5, -1.0],
                                                                               [0.3333333333333, 1.0, 0.75]])}, {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("reduction", ["none", "sum", "sum_over_batch_size"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_own_gradients_pass(name, reduction, dtype):
    record = _judge(TorchAdapter, *CASES[name], reduction=reduction, dtype=dtype)
    assert record["verdict"] == verdicts.PASS, record["explanation"]


@pytest.mark.parametrize("broken_class, name, dtype, verdict", [
    (broken.GradientTimesTwo, "squares", "float32", verdicts.NUMERIC),
    (broken.NanAtSaturatedLogit, "logits", "float32", verdicts.NONFINITE),
    (broken.ZeroFromClip, "probabilities", "float32", verdicts.NUMERIC),
    (broken.Float32GradientForFloat64, "squares", "float64", verdicts.NUMERIC),
])
def test_a_broken_gradient_is_caught(broken_class, name, dtype, verdict):
    record = _judge(broken_class, *CASES[name], dtype=dtype)
    assert record["verdict"] == verdict, record["explanation"]
    assert record["reproducer"] and "torch.autograd.grad" in record["reproducer"]


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
