"""The judge on adapters that are wrong on purpose: each kind of defect gets its verdict."""
from __future__ import annotations

import numpy as np
import pytest

from adapters.numpy_reference import NumpyReferenceAdapter
from conformance import judge
import specs

LOGITS = dict(y_true=[[0, 1], [0, 0]], y_pred=[[-18.6, 0.51], [2.94, -12.8]])


def bce_case(reduction="sum_over_batch_size", dtype="float32", **kw):
    return specs.make_case("binary_crossentropy", LOGITS["y_true"], LOGITS["y_pred"], params={"from_logits": True},
                     reduction=reduction, dtype=dtype, semantics="ideal", **kw)


class MeanOverNMinusOne(NumpyReferenceAdapter):
    name = "broken-mean"

    def binary_crossentropy(self, case):
        total = super().binary_crossentropy(case.with_(reduction="sum"))
        return total / (case.y_pred.shape[0] - 1) if case.reduction == "sum_over_batch_size" else super().binary_crossentropy(case)


class NaiveLogSigmoid(NumpyReferenceAdapter):
    name = "broken-logsigmoid"

    def binary_crossentropy(self, case):
        y, z = case.y_true, case.y_pred
        p = 1 / (1 + np.exp(-z))
        with np.errstate(divide="ignore"):
            return (-(y * np.log(p) + (1 - y) * np.log(1 - p))).mean(axis=-1)


class ReturnsNaN(NumpyReferenceAdapter):
    name = "nan"

    def binary_crossentropy(self, case):
        return np.array(np.nan, dtype=case.y_pred.dtype)


class Raises(NumpyReferenceAdapter):
    name = "raises"

    def binary_crossentropy(self, case):
        raise RuntimeError("kernel not found")


class WrongShape(NumpyReferenceAdapter):
    name = "shape"

    def binary_crossentropy(self, case):
        return np.zeros(5, dtype=case.y_pred.dtype)


class ClipsLikeKeras(NumpyReferenceAdapter):
    """Declares the ideal semantics but clips probabilities to [1e-7, 1 - 1e-7] like Keras."""
    name = "secret-clip"

    def binary_crossentropy(self, case):
        eps = case.y_pred.dtype.type(1e-7)
        clipped = case.y_pred.clip(eps, case.y_pred.dtype.type(1.0 - 1e-7))
        y = case.y_true
        return (-(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))).mean(axis=-1)


class NoShapeCheck(NumpyReferenceAdapter):
    name = "lax"

    @staticmethod
    def _same_shapes(case):
        return None

    @staticmethod
    def _validate(case):
        return None


def test_correct_reference_passes():
    assert judge.judge(NumpyReferenceAdapter(), bce_case())["verdict"] == "pass"


def test_mean_dividing_by_n_minus_one_is_numeric():
    record = judge.judge(MeanOverNMinusOne(), bce_case())
    assert record["verdict"] == "numeric" and record["ulp_error"] > 1e6


def test_naive_log_sigmoid_is_caught_on_a_saturated_logit():
    case = specs.make_case("binary_crossentropy", [[0.0]], [[-30.0]], params={"from_logits": True}, reduction="none", semantics="ideal")
    record = judge.judge(NaiveLogSigmoid(), case)  # 1 - sigmoid(-30) rounds to 1: log gives 0, exact 9.4e-14
    assert record["verdict"] == "numeric", record["explanation"]


def test_nan_where_exact_is_finite_is_nonfinite():
    assert judge.judge(ReturnsNaN(), bce_case())["verdict"] == "nonfinite"


def test_raising_on_valid_input_is_error():
    record = judge.judge(Raises(), bce_case())
    assert record["verdict"] == "error" and "RuntimeError: kernel not found" in record["raised"]


def test_wrong_shape_is_error():
    record = judge.judge(WrongShape(), bce_case(reduction="none"))
    assert record["verdict"] == "error" and "shape" in record["explanation"]


def test_undeclared_convention_is_named_as_semantic():
    case = specs.make_case("binary_crossentropy", [[1.0, 0.0]], [[0.0, 0.3]], reduction="sum", dtype="float32", semantics="ideal")
    record = judge.judge(ClipsLikeKeras(), case)
    assert record["verdict"] == "semantic"
    assert record["matched_semantics"].startswith("keras")


def test_hazard_flags_a_convention_that_makes_a_finite_value_infinite():
    # Keras clips to [eps, 1 - 1e-7], but 1 - 1e-7 rounds to 1 in float16, so BCE(y=0, p=1) is infinite there
    case = specs.make_case("binary_crossentropy", [[0.0]], [[1.0]], reduction="sum", dtype="float16", semantics="keras")
    record = judge.judge(ClipsLikeKeras(), case)
    assert record["hazard"] and "no longer keep the loss finite" in record["hazard"]
    assert record["hazard_kind"] == "guard_rounding" and record["verdict"] == "pass"
    same_in_float32 = judge.judge(ClipsLikeKeras(), case.with_(dtype="float32").with_inputs(
        y_pred=case.y_pred.astype("float32"), y_true=case.y_true.astype("float32")))
    assert same_in_float32["hazard"] is None or "no longer" not in same_in_float32["hazard"]


def test_invalid_input_raised_is_pass_and_accepted_is_accepted_invalid():
    case = specs.make_case("categorical_crossentropy", np.zeros((4, 1)), np.full((4, 3), 0.25), reduction="sum", semantics="ideal")
    assert judge.judge(NumpyReferenceAdapter(), case)["verdict"] == "pass"
    record = judge.judge(NoShapeCheck(), case)
    assert record["verdict"] == "accepted_invalid" and record["kind"] == "invalid"


def test_unsupported_is_reported_with_its_reason():
    case = specs.make_case("binary_crossentropy", [[0.0]], [[0.5]], reduction="batchmean", semantics="ideal", device="cuda")
    record = judge.judge(NumpyReferenceAdapter(), case)
    assert record["verdict"] == "unsupported" and "cuda" in record["explanation"]
