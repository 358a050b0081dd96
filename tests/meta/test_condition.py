"""oracle.condition (row-separated differences) against brute force, one input element at a time."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import oracle
from conformance.case import Case


def brute_force(case: Case):
    h = mpmath.mpf(2) ** -40
    total = mpmath.mpf(0)
    with mpmath.workprec(128):
        for name in ("y_pred", "y_true", "sample_weight"):
            array = getattr(case, name)
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
    case = Case.make(loss, y_true, y_pred, params=params, reduction=reduction, sample_weight=[0.75, 2.0],
                     dtype="float64", semantics="keras" if not params.get("from_logits") and loss != "mean_squared_error" else "ideal")
    fast, slow = oracle.condition(case), brute_force(case)
    assert abs(fast - slow) <= mpmath.mpf(2) ** -20 * (1 + abs(slow)), (fast, slow)


def test_condition_per_element_for_none():
    case = Case.make("binary_crossentropy", [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]], params={"from_logits": True},
                     reduction="none", sample_weight=[0.8, 0.2], dtype="float64", semantics="ideal")
    per_element = oracle.condition(case)
    assert per_element.shape == (2,)
    summed = oracle.condition(case.with_(reduction="sum"))
    assert abs(mpmath.fsum(per_element) - summed) <= mpmath.mpf(2) ** -30
