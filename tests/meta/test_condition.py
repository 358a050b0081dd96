"""oracle.condition (row-separated differences) against brute force, one input element at a time."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import oracle
import specs
from core.case import Case
from oracle.losses.common import smooth_intermediates


def brute_force(case: Case):
    h = mpmath.mpf(2) ** -40
    total = mpmath.mpf(0)
    with mpmath.workprec(128), smooth_intermediates():
        for name, array in {**case.inputs, "sample_weight": case.sample_weight}.items():
            if array is None or array.dtype.kind in "iu":
                continue
            for i, x in enumerate(array.astype(float).ravel()):
                if x == 0:
                    continue
                values = []
                for sign in (1, -1):
                    moved = np.array([mpmath.mpf(float(v)) for v in array.astype(float).ravel()], dtype=object)
                    moved[i] = mpmath.mpf(x) * (1 + sign * h)
                    values.append(oracle._evaluate(*oracle.prepare(case)[:2], oracle.prepare(case)[2], case,
                                                   {**oracle._inputs(case, oracle.prepare(case)[2]), name: moved.reshape(array.shape)})[0])
                total += abs(values[0] - values[1]) / (2 * h)
    return total


CASES = [
    ("binary_crossentropy", [[0, 1], [0, 0.5]], [[-18.6, 0.51], [2.94, -12.8]], {"from_logits": True}),
    ("binary_crossentropy", [[0, 1], [1, 0]], [[0.6, 0.4], [0.3, 0.9]], {}),
    ("categorical_crossentropy", [[0, 1, 0], [0.2, 0.3, 0.5]], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]], {}),
    ("categorical_crossentropy", [[0, 0], [1, 0], [0, 1]], [[2.0, 0.1], [-1.0, 0.8], [0.5, 3.0]], {"from_logits": True, "axis": 0}),
    ("sparse_categorical_crossentropy", [1, 2], [[0.3, 2.0, -1.0], [0.1, 0.8, 0.1]], {"from_logits": True}),
    ("mean_squared_error", [[1.0, -2.0], [0.5, 3.0]], [[0.9, -1.5], [0.0, 3.25]], {}),
]


@pytest.mark.parametrize("reduction", ["sum", "sum_over_batch_size", "mean_with_sample_weight", "sum_by_nonzero_weights"])
@pytest.mark.parametrize("loss, y_true, y_pred, params", CASES)
def test_condition_matches_brute_force(loss, y_true, y_pred, params, reduction):
    case = specs.make_case(loss, y_true, y_pred, params=params, reduction=reduction, sample_weight=[0.75, 2.0],
                     dtype="float64", semantics="keras" if not params.get("from_logits") and loss != "mean_squared_error" else "ideal")
    fast, slow = oracle.condition(case), brute_force(case)
    assert abs(fast - slow) <= mpmath.mpf(2) ** -20 * (1 + abs(slow)), (fast, slow)


def test_condition_per_element_for_none():
    case = specs.make_case("binary_crossentropy", [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]], params={"from_logits": True},
                     reduction="none", sample_weight=[0.8, 0.2], dtype="float64", semantics="ideal")
    per_element = oracle.condition(case)
    assert per_element.shape == (2,)
    summed = oracle.condition(case.with_(reduction="sum"))
    assert abs(mpmath.fsum(per_element) - summed) <= mpmath.mpf(2) ** -30


def test_condition_reads_the_smooth_function_through_roundings_inside_the_formula():
    # Keras rounds 1 - p to float32 before the log: a staircase of p. A float32 p in [0.25, 0.5) makes 1 - p a tie
    # between two float32s, so a bump of 2**-40 jumps a whole step and a finite difference would read a slope of
    # about 2**16; the conditioning must see log(1 - p)'s own slope, p / (1 - p), as the ideal semantics does
    y = [[0.0] * 8]
    p = [[float(np.float32(v)) for v in (0.26, 0.3, 0.33, 0.37, 0.41, 0.43, 0.47, 0.49)]]
    keras = oracle.condition(specs.make_case("binary_crossentropy", y, p, semantics="keras", dtype="float32", reduction="sum"))
    ideal = oracle.condition(specs.make_case("binary_crossentropy", y, p, semantics="ideal", dtype="float32", reduction="sum"))
    assert abs(keras - ideal) <= mpmath.mpf(2) ** -20 * ideal, (keras, ideal)


def test_condition_of_a_block_loss_separates_frames():
    """CTC's per-sample loss reads a whole frames x classes block, and its partial derivatives in one class change
    sign from frame to frame (softmax minus posterior): bumping a class in every frame at once let them cancel and
    made the conditioning, and so the tolerance, too small (a Keras CTC draw with logits of 1e17 was judged against
    17 ULPs). Each element of the block is its own column now, which brute force confirms."""
    log_probs = np.array([[[2.0, -1.0, 0.5], [-0.5, 1.5, 0.25], [1.0, 0.0, -2.0]],
                          [[0.3, 0.2, -0.7], [1.25, -1.0, 0.75], [-0.25, 2.0, 0.5]]])
    case = specs.make_case("ctc", inputs={"log_probs": log_probs, "targets": np.array([[1, 2], [2, -1]]),
                                          "input_lengths": np.array([3, 2])},
                           params={"from_logits": True}, reduction="sum", sample_weight=[0.75, 2.0], dtype="float64")
    fast, slow = oracle.condition(case), brute_force(case)
    assert abs(fast - slow) <= mpmath.mpf(2) ** -20 * (1 + abs(slow)), (fast, slow)

