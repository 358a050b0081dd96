"""Each gradient relation (tests/conformance/test_gradient_relations.py) reports a violation on a torch adapter that
breaks it (tests/meta/broken_relations.py) and holds on torch itself, on the same case; one end to end."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import specs
from adapters.torch_functional import TorchAdapter
from conformance import gradient_judge, outcome
from core import verdicts
from tests.conformance.test_gradient_relations import Draw, relation_records
from tests.meta import broken_relations as broken

ROOT = Path(__file__).resolve().parents[2]
# the relations assume away draws that do not fit; called here on fixed cases that fit, outside hypothesis
pytestmark = pytest.mark.filterwarnings("ignore:Using `assume` outside a property-based test")

# softmax cross-entropy from logits: 3 samples of 4 classes, one confident (p_t near 1), one wrong, one even (torch's
# cross_entropy takes no per-sample weights); sigmoid cross-entropy from logits (it does) for the other relations
SOFTMAX = ("categorical_crossentropy", {"y_true": np.eye(4)[[0, 1, 3]],
                                        "y_pred": np.array([[9.5, -1.25, 0.5, 2.0], [0.25, -0.75, 3.0, 1.5], [0.0] * 4])},
           {"from_logits": True}, None)
SIGMOID = ("binary_crossentropy", {"y_true": np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.5], [1.0, 1.0, 0.0]]),
                                   "y_pred": np.array([[12.5, -15.0, 0.5], [0.25, -0.75, 3.0], [-2.0, 1.5, 0.125]])},
           {"from_logits": True}, np.array([1.0, 2.0, 0.5]))

BROKEN = {
    "sum_of_per_sample": broken.SumOffForOneElement,
    "weight_linearity": broken.WeightsSquared,
    "batch_permutation": broken.PositionWeighted,
    "softmax_gradient_sums_to_zero": broken.ConstantOffset,
    "forward_equals_reverse": broken.ForwardModeOff,
    "compiled_equals_eager": broken.CompiledOff,
}
HONEST = {"compiled_equals_eager": broken.CompiledHonest}  # torch's own compile needs a C++ toolchain: see below


def _records(adapter_class, relation, dtype="float32"):
    adapter = adapter_class()
    adapter.setup()
    loss, inputs, params, weights = SOFTMAX if relation == "softmax_gradient_sums_to_zero" else SIGMOID
    spec = specs.all_specs()[loss]
    variant = "jit" if relation == "compiled_equals_eager" else adapter.variants[0]
    base = dict(inputs=inputs, params=params, sample_weight=weights, dtype=dtype, semantics=adapter.semantics_for(loss),
                variant=variant, origin="meta")
    draw = Draw(adapter, spec, base, 0, False, gradient_judge.differentiable_inputs(spec))
    return relation_records(relation, draw, f"meta-{relation}")


@pytest.mark.parametrize("relation", sorted(BROKEN))
def test_each_relation_catches_its_broken_adapter(relation):
    records = _records(BROKEN[relation], relation)
    assert records and any(r["verdict"] == verdicts.NUMERIC for r in records), [r["explanation"] for r in records]
    failed = next(r for r in records if r["verdict"] == verdicts.NUMERIC)
    assert failed["kind"] == "relation" and failed["quantity"] == "gradient" and failed["relation"] == relation
    assert failed["inputs"] and failed["other_inputs"] and failed["reproducer"]
    text = outcome.message(failed)
    assert f"relation {relation} violated" in text and "ULPs" in text


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("relation", sorted(BROKEN))
def test_each_relation_holds_on_torch(relation, dtype):
    records = _records(HONEST.get(relation, TorchAdapter), relation, dtype)
    assert records and all(r["verdict"] == verdicts.PASS for r in records), [r["explanation"] for r in records]


def test_one_side_nonfinite_is_its_own_verdict():
    class NanForward(broken.ForwardModeOff):
        def tamper(self, case, mode, g):
            return np.where(np.arange(g.size).reshape(g.shape) == 1, np.nan, g) if mode == "forward" else g

    records = _records(NanForward, "forward_equals_reverse")
    assert any(r["verdict"] == verdicts.NONFINITE for r in records), [r["explanation"] for r in records]


def test_the_relation_tests_catch_a_broken_relation_end_to_end():
    select = "categorical_crossentropy and moderate and softmax_gradient_sums_to_zero"
    args = [sys.executable, "-m", "pytest", "tests/conformance/test_gradient_relations.py", "--dtype=float32", "-q",
            "-p", "no:cacheprovider", "-n", "0", "-k", select]
    result = subprocess.run([*args, "--impl=tests.meta.broken_relations:ConstantOffset"], capture_output=True, text=True,
                            cwd=ROOT, timeout=600)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "relation softmax_gradient_sums_to_zero violated" in result.stdout
    assert "broken-rel-offset gradient relations:" in result.stdout
    correct = subprocess.run([*args, "--impl=torch"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert correct.returncode == 0, correct.stdout[-2000:]
