"""The CTC per-target-length mean (canonical reduction mean_by_length, torch ctc_loss's "mean"), in closed form.

Two sequences, T = 2 frames, C = 3 classes, log-probabilities used as they are (torch semantics):
  sequence 0: 2 frames, labels [1, 2]: the only path is (1, 2), l0 = 0.5 + 0.25 = 0.75, length 2;
  sequence 1: 1 frame, no labels: the only path is the blank, l1 = 0.125, length 0, divided by max(0, 1) = 1.
"""
from __future__ import annotations

import pytest

import oracle
import specs
from adapters.base import Adapter, Call
from conformance import judge
from tests.meta.conftest import close, value

LOG_PROBS = [[[-1.0, -0.5, -2.0], [-1.0, -2.0, -0.25]], [[-0.125, -1.0, -3.0], [-1.0, -1.0, -1.0]]]
TARGETS = [[1, 2], [-1, -1]]
INPUT_LENGTHS = [2, 1]
CTC = ("ctc", LOG_PROBS, TARGETS, INPUT_LENGTHS)
BITS = 90  # the path probabilities go through exp and log: equal to far beyond float64


def test_mean_by_length_divides_each_loss_by_its_label_count():
    assert all(close(a, b, BITS) for a, b in zip(value(*CTC, reduction="none", semantics="torch"), [0.75, 0.125]))
    assert close(value(*CTC, reduction="mean_by_length", semantics="torch"), (0.75 / 2 + 0.125 / 1) / 2, BITS)  # 0.25
    assert close(value(*CTC, reduction="sum_over_batch_size", semantics="torch"), 0.4375, BITS)  # the plain batch mean differs


def test_mean_by_length_weights_multiply_each_term_and_leave_the_denominator():
    weighted = value(*CTC, reduction="mean_by_length", sample_weight=[2.0, 4.0], semantics="torch")
    assert close(weighted, (2 * 0.375 + 4 * 0.125) / 2, BITS)  # 0.625


def test_only_losses_with_lengths_have_it():
    assert "mean_by_length" in specs.all_specs()["ctc"].reductions
    assert "mean_by_length" not in specs.all_specs()["mean_squared_error"].reductions
    assert set(specs.all_specs()["mean_squared_error"].reductions) < set(specs.all_specs()["ctc"].reductions)
    with pytest.raises(oracle.NotApplicable, match="does not apply to mean_squared_error"):
        oracle.evaluate_loss("mean_squared_error", [1.0], [2.0], reduction="mean_by_length")
    assert not issubclass(oracle.NotApplicable, oracle.DomainError)  # not an input an implementation must reject


class _Echo(Adapter):
    name = "echo"
    semantics = {"mean_squared_error": "ideal", "ctc": "torch"}

    def plan(self, case):
        return Call(case, "oracle.evaluate")

    def run(self, call):
        return oracle.evaluate(call.case.with_(reduction="sum_over_batch_size")).as_float()


def test_judge_reports_a_reduction_that_does_not_apply_as_unsupported():
    case = specs.make_case("mean_squared_error", [[1.0]], [[2.0]], reduction="mean_by_length")
    record = judge.judge(_Echo(), case)
    assert record["verdict"] == "unsupported" and "does not apply" in record["explanation"]


def test_judge_names_the_per_target_length_mean():
    """An implementation that returns the plain batch mean where the length mean is declared (and back)."""
    case = specs.make_case(*CTC, reduction="mean_by_length", semantics="torch", dtype="float64")
    record = judge.judge(_Echo(), case)
    assert record["verdict"] == "semantic" and "sum_over_batch_size" in record["matched_semantics"]

    class Lengths(_Echo):
        def run(self, call):
            return oracle.evaluate(call.case.with_(reduction="mean_by_length")).as_float()

    record = judge.judge(Lengths(), case.with_(reduction="sum_over_batch_size"))
    assert record["verdict"] == "semantic" and "per-target-length CTC mean" in record["matched_semantics"]
