"""The oracle against values known in closed form, and the identities its reductions must satisfy."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import oracle
from oracle import precision
from tests.meta.conftest import close

pytestmark = pytest.mark.usefixtures("prec200")  # every test at 200 bits, restored after it
with mpmath.workprec(200):
    LN2 = mpmath.log(2)


def test_bce_at_one_half_is_ln2():
    e = oracle.evaluate_loss("binary_crossentropy", [1.0], [0.5])
    assert close(e.value[()] if isinstance(e.value, np.ndarray) else e.value, LN2, relative_to="b")


def test_bce_from_logit_zero_is_ln2_for_any_target():
    e = oracle.evaluate_loss("binary_crossentropy", [0.0, 0.25, 1.0], [0.0, 0.0, 0.0], from_logits=True, reduction="sum")
    assert close(e.value, LN2, relative_to="b")  # mean over the axis of three ln 2


def test_cce_of_uniform_prediction_is_ln_k():
    k = 7
    e = oracle.evaluate_loss("categorical_crossentropy", np.eye(k)[[2]], np.zeros((1, k)), from_logits=True, reduction="sum")
    assert close(e.value, mpmath.log(k), relative_to="b")


def test_sparse_equals_categorical_on_one_hot():
    z = [[-2.0, 2.0, 4.0, -1.0, 3.0], [0.5, 0.25, -3.0, 1.0, 0.0]]
    dense = oracle.evaluate_loss("categorical_crossentropy", np.eye(5)[[3, 0]], z, from_logits=True, reduction="none")
    sparse = oracle.evaluate_loss("sparse_categorical_crossentropy", [3, 0], z, from_logits=True, reduction="none")
    assert all(close(a, b, 90, relative_to="b") for a, b in zip(dense.value, sparse.value))


def test_softmax_cross_entropy_alias_is_cce_from_logits():
    a = oracle.evaluate_loss("softmax_cross_entropy", [0, 0, 0, 1, 0], [-2, 2, 4, -1, 3], reduction="sum")
    b = oracle.evaluate_loss("categorical_crossentropy", [0, 0, 0, 1, 0], [-2, 2, 4, -1, 3], reduction="sum", from_logits=True)
    assert a.value == b.value
    expected = mpmath.log(sum(mpmath.exp(v) for v in (-2, 2, 4, -1, 3))) + 1
    assert close(a.value, expected, 90, relative_to="b")


def test_softmax_cross_entropy_invariant_under_logit_shift():
    z = np.array([[-2.0, 2.0, 4.0, -1.0, 3.0]])
    a = oracle.evaluate_loss("categorical_crossentropy", np.eye(5)[[1]], z, from_logits=True, reduction="sum")
    b = oracle.evaluate_loss("categorical_crossentropy", np.eye(5)[[1]], z + 1024, from_logits=True, reduction="sum")
    assert close(a.value, b.value, 90, relative_to="b")


def test_label_smoothing_equals_cce_against_the_mixed_target():
    y, z, ls = np.eye(4)[[1]], [[0.5, -1.0, 2.0, 0.0]], 0.25
    smoothed = oracle.evaluate_loss("categorical_crossentropy", y, z, from_logits=True, label_smoothing=ls, reduction="sum")
    mixed = oracle.evaluate_loss("categorical_crossentropy", y * (1 - ls) + ls / 4, z, from_logits=True, reduction="sum")
    assert close(smoothed.value, mixed.value, 90, relative_to="b")


def test_ignore_class_equals_dropping_those_rows():
    z = [[0.1, 2.0, -1.0], [3.0, 0.0, 0.5], [1.0, 1.0, 1.0]]
    with_ignored = oracle.evaluate_loss("sparse_categorical_crossentropy", [1, -1, 2], z, from_logits=True,
                                        ignore_class=-1, reduction="sum_over_batch_size")
    dropped = oracle.evaluate_loss("sparse_categorical_crossentropy", [1, 2], [z[0], z[2]], from_logits=True,
                                   reduction="sum_over_batch_size")
    assert close(with_ignored.value, dropped.value, 90, relative_to="b")


def test_mse_ones_zeros_in_every_reduction():
    expected = {"sum": 2, "sum_over_batch_size": 1, "mean_with_sample_weight": 1, "sum_by_nonzero_weights": 1,
                "weighted_mean": 1, "batchmean": 1}
    for reduction, value in expected.items():
        assert oracle.evaluate_loss("mean_squared_error", np.ones((2, 2)), np.zeros((2, 2)), reduction=reduction).value == value
    none = oracle.evaluate_loss("mean_squared_error", np.ones((2, 2)), np.zeros((2, 2)), reduction="none")
    assert list(none.value) == [1, 1]
    torch_sum = oracle.evaluate_loss("mean_squared_error", np.ones((2, 2)), np.zeros((2, 2)), reduction="sum", semantics="torch")
    assert torch_sum.value == 4  # torch keeps elementwise terms: no mean over the last axis


REDUCTION_CASE = dict(y_true=[[0, 1], [0, 0], [1, 1]], y_pred=[[-18.6, 0.51], [2.94, -12.8], [0.3, -0.2]], from_logits=True)


def test_reduction_identities():
    w = [0.8, 0.0, 0.5]
    get = lambda red, **kw: oracle.evaluate_loss("binary_crossentropy", REDUCTION_CASE["y_true"], REDUCTION_CASE["y_pred"],
                                                 from_logits=True, reduction=red, **kw).value
    none = get("none", sample_weight=w)
    total = get("sum", sample_weight=w)
    assert close(total, mpmath.fsum(none), 90, relative_to="b")
    assert close(get("sum_over_batch_size", sample_weight=w), total / 3, 90, relative_to="b")
    assert close(get("mean_with_sample_weight", sample_weight=w), total / mpmath.fsum(map(mpmath.mpf, w)), 80, relative_to="b")
    assert close(get("sum_by_nonzero_weights", sample_weight=w), total / 2, 90, relative_to="b")  # one weight is zero
    # mean_with_sample_weight is invariant under scaling every weight
    assert close(get("mean_with_sample_weight", sample_weight=[1.6, 0.0, 1.0]), get("mean_with_sample_weight", sample_weight=w), 80,
                 relative_to="b")


def test_values_carry_certified_bits():
    e = oracle.evaluate_loss("binary_crossentropy", [[0, 1]], [[0.6, 0.3]], reduction="sum", dtype="float32")
    assert e.certified_bits >= precision.REQUIRED_BITS


def test_certify_refuses_a_value_that_never_settles():
    flip = {"n": 0}

    def unstable():
        flip["n"] += 1
        return mpmath.mpf(flip["n"])  # a different answer at every precision

    with pytest.raises(precision.UncertifiedError):
        precision.certify(unstable)


# -- semantics switches -------------------------------------------------------------------------

def test_keras_float32_clip_bounds_are_asymmetric():
    one = oracle.evaluate_loss("binary_crossentropy", [1.0], [0.0], semantics="keras", dtype="float32", reduction="sum")
    zero = oracle.evaluate_loss("binary_crossentropy", [0.0], [1.0], semantics="keras", dtype="float32", reduction="sum")
    eps32 = mpmath.mpf(float(np.float32(1e-7)))
    assert close(one.value, -mpmath.log(eps32), 90, relative_to="b")  # 16.118095...
    assert close(zero.value, 23 * LN2, 90, relative_to="b")  # 1 - f32(1 - 1e-7) = 2**-23


def test_keras_float16_clip_makes_bce_infinite():
    e = oracle.evaluate_loss("binary_crossentropy", [0.0], [1.0], semantics="keras", dtype="float16", reduction="sum")
    assert e.value == mpmath.inf  # 1 - 1e-7 rounds to 1 in float16


def test_keras_half_precision_clip_gives_nan_for_a_certain_right_prediction():
    # y = 1, p = 1: the upper clip bound is 1, so (1 - y) log(1 - p) = 0 * log(0) = NaN as Keras multiplies (IEEE)
    for dtype in ("float16", "bfloat16"):
        assert mpmath.isnan(oracle.evaluate_loss("binary_crossentropy", [1.0], [1.0], semantics="keras", dtype=dtype).value[()])
    assert oracle.evaluate_loss("binary_crossentropy", [1.0], [1.0], dtype="float16").value[()] == 0  # the limit
    assert mpmath.isfinite(oracle.evaluate_loss("binary_crossentropy", [1.0], [1.0], semantics="keras", dtype="float32").value[()])


def test_ftz_flushes_bfloat16_subnormals_but_keeps_float16_ones():
    # TF/XLA compute float16 in float32, where its subnormals are normal; bfloat16's are subnormal in float32 too
    half_tiny, bf16_tiny = 3 * 2.0 ** -24, 3 * 2.0 ** -133
    kept = oracle.evaluate_loss("mean_absolute_error", [0.0], [half_tiny], semantics="keras+ftz", dtype="float16", reduction="sum")
    flushed = oracle.evaluate_loss("mean_absolute_error", [0.0], [bf16_tiny], semantics="keras+ftz", dtype="bfloat16", reduction="sum")
    assert kept.value == mpmath.mpf(half_tiny) and not kept.flush
    assert flushed.value == 0 and flushed.flush
    assert oracle.evaluate_loss("mean_absolute_error", [0.0], [bf16_tiny], semantics="keras", dtype="bfloat16",
                                reduction="sum").value == mpmath.mpf(bf16_tiny)


def test_torch_log_clamp_at_minus_100():
    e = oracle.evaluate_loss("binary_crossentropy", [1.0], [0.0], semantics="torch", reduction="sum")
    assert e.value == 100


def test_ideal_bce_of_certain_wrong_prediction_is_infinite():
    assert oracle.evaluate_loss("binary_crossentropy", [1.0], [0.0], reduction="sum").value == mpmath.inf


def test_keras_tf_sparse_renormalises_after_clipping():
    # docs/semantics.md#sparse_categorical_crossentropy: [0.5, 3.0] is accepted unnormalised... here within [0, 1]: [0.5, 0.0]
    p = [[0.5, 0.0]]
    tf_style = oracle.evaluate_loss("sparse_categorical_crossentropy", [0], p, semantics="keras_tf", reduction="sum", dtype="float32")
    other = oracle.evaluate_loss("sparse_categorical_crossentropy", [0], p, semantics="keras", reduction="sum", dtype="float32")
    eps = mpmath.mpf(float(np.float32(1e-7)))
    assert close(tf_style.value, -mpmath.log(mpmath.mpf(0.5) / (mpmath.mpf(0.5) + eps)), 80, relative_to="b")
    assert close(other.value, mpmath.mpf(0), 1, relative_to="b") or other.value < tf_style.value
