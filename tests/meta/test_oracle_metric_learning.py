"""Circle loss in the oracle (oracle/losses/metric_learning.py): closed forms, masking of anchors without a
positive or a negative pair, the invariances the pairwise formula has, and Keras' mask of a rounded zero."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import oracle
from oracle.domain import DomainError
from tests.meta.conftest import close, val


@pytest.fixture(autouse=True)
def _precision():
    with mpmath.workprec(256):
        yield


# two equal embeddings of class 0 and an orthogonal one of class 1: each class-0 anchor has one positive at
# d = 0 (term -gamma m^2) and one negative at d = 1 (term gamma (1 + m - 1)(1 - m - 1) = -gamma m^2)
LABELS, EMB = [0, 0, 1], [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]


def test_circle_closed_form_and_the_lonely_anchor_is_masked():
    for gamma, margin in ((80.0, 0.4), (2.0, 0.25)):
        g, m = mpmath.mpf(gamma), mpmath.mpf(margin)
        expected = mpmath.log1p(mpmath.exp(-2 * g * m * m))
        per = val("circle", LABELS, EMB, gamma=gamma, margin=margin, dtype="float64")
        assert close(per[0], expected) and close(per[1], expected) and per[2] == 0
        mean = val("circle", LABELS, EMB, gamma=gamma, margin=margin, dtype="float64", reduction="sum_over_batch_size")
        assert close(mean, expected)  # the anchor of class 1 has no positive: not counted


def test_circle_keeping_the_diagonal_adds_each_anchor_as_its_own_positive():
    g, m = mpmath.mpf(80), mpmath.mpf("0.25")
    per = val("circle", [0, 1], [[1.0, 0.0], [0.0, 1.0]], margin=0.25, remove_diagonal=False, dtype="float64")
    # one positive (itself, d = 0: -g m^2), one negative at d = 1 (-g m^2)
    assert close(per[0], mpmath.log1p(mpmath.exp(-2 * g * m * m))) and close(per[1], per[0])
    assert val("circle", [0, 1], [[1.0, 0.0], [0.0, 1.0]], dtype="float64") == [0, 0]  # without the diagonal: no positive


def test_circle_is_invariant_under_batch_and_feature_permutations():
    labels = [0, 1, 0, 1, 2]
    emb = np.array([[0.6, 0.8, 0.0], [0.0, 0.6, 0.8], [0.8, 0.0, 0.6], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    base = val("circle", labels, emb, reduction="sum", dtype="float64")
    order = [3, 0, 4, 2, 1]
    assert close(val("circle", [labels[i] for i in order], emb[order], reduction="sum", dtype="float64"), base)
    assert close(val("circle", labels, emb[:, [2, 0, 1]], reduction="sum", dtype="float64"), base)
    assert close(val("circle", labels, -emb, reduction="sum", dtype="float64"), base)  # dot products unchanged


def test_circle_keras_masks_a_loss_that_rounds_to_zero():
    # 2 gamma m^2 = 25.6: the loss 7.6e-12 is below float16's smallest subnormal, so Keras' mask (loss > 0) drops
    # both anchors and its divide_no_nan mean is 0, where the loss is 7.6e-12
    ideal = val("circle", LABELS, EMB, dtype="float16", reduction="sum_over_batch_size")
    keras = val("circle", LABELS, EMB, dtype="float16", reduction="sum_over_batch_size", semantics="keras")
    assert close(ideal, mpmath.log1p(mpmath.exp(-mpmath.mpf(80) * 2 * mpmath.mpf(0.4) ** 2)))  # binary64 0.4
    assert keras == 0
    assert close(val("circle", LABELS, EMB, dtype="float32", reduction="sum_over_batch_size", semantics="keras"), ideal, 8)


def test_circle_keras_rounds_its_constants_to_the_dtype():
    m, opt_neg, delta_neg = (mpmath.mpf(float(np.float32(v))) for v in (0.4, 1 + 0.4, 1 - 0.4))
    keras = val("circle", LABELS, EMB, dtype="float32", semantics="keras")
    # float32(80) = 80 exactly; m, 1 + m and 1 - m are each Python floats rounded to float32; the ideal keeps
    # binary64's 0.4. Positive at d = 0: -80 m m; negative at d = 1: 80 (opt_neg - 1)(delta_neg - 1)
    assert close(keras[0], mpmath.log1p(mpmath.exp(-80 * m * m + 80 * (opt_neg - 1) * (delta_neg - 1))))
    assert not close(keras[0], val("circle", LABELS, EMB, dtype="float32")[0], 30)


@pytest.mark.parametrize("labels,emb,params", [
    ([0, 1], [1.0, 0.0], {}),                            # embeddings must be (B, D)
    ([0, 1, 2], [[1.0, 0.0], [0.0, 1.0]], {}),           # one label per embedding
    ([0, 0], [[1.0, 0.0], [0.0, 1.0]], {"gamma": 0.0}),  # the scale must be positive
])
def test_circle_domain(labels, emb, params):
    with pytest.raises(DomainError):
        oracle.evaluate_loss("circle", labels, emb, **params)
