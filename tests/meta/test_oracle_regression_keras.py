"""The Keras-centric regression losses of the oracle (oracle/losses/regression_keras.py): closed forms at
special points, exact identities between losses and semantics, and the domain rules."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import oracle
from oracle.domain import DomainError
from oracle.losses import LOSSES
from tests.meta.conftest import close, val

F32_EPS = mpmath.mpf(float(np.float32(1e-7)))


@pytest.fixture(autouse=True)
def _precision():
    """Expected values are computed at 256 bits, far beyond the bits the comparisons check."""
    with mpmath.workprec(256):
        global LN2
        LN2 = mpmath.log(2)
        yield


# -- mean absolute error --------------------------------------------------------------------------

def test_mae_is_the_mean_absolute_difference_and_torch_keeps_elements():
    y, p = [[1.0, -2.0, 0.5]], [[0.0, 2.0, 0.5]]
    assert close(val("mean_absolute_error", y, p, reduction="sum"), mpmath.mpf(5) / 3, 100)
    assert val("mean_absolute_error", y, p, reduction="sum", semantics="torch") == 5
    assert val("mean_absolute_error", y, y, reduction="sum") == 0


def test_mean_with_sample_weight_is_invariant_under_scaling_the_weights():
    y, p = [[1.0, -2.0], [0.25, 3.0], [0.0, 0.0]], [[0.0, 2.0], [0.5, -1.0], [4.0, 1.0]]
    a = val("mean_absolute_error", y, p, reduction="mean_with_sample_weight", sample_weight=[0.5, 2.0, 1.0])
    b = val("mean_absolute_error", y, p, reduction="mean_with_sample_weight", sample_weight=[1.5, 6.0, 3.0])
    assert close(a, b, 100)
    total = val("mean_absolute_error", y, p, reduction="sum", sample_weight=[0.5, 2.0, 1.0])
    assert close(a, total / mpmath.mpf(3.5), 100)


# -- mean absolute percentage error ---------------------------------------------------------------

def test_mape_of_the_keras_docstring_example_is_55_over_9():
    e = val("mean_absolute_percentage_error", [100.0, 200.0, 300.0], [90.0, 210.0, 310.0], reduction="sum", dtype="float64")
    assert close(e, mpmath.mpf(100) * (mpmath.mpf(1) / 10 + mpmath.mpf(1) / 20 + mpmath.mpf(1) / 30) / 3, 100)


def test_mape_at_a_zero_target_is_the_limit_of_the_guard():
    ideal = val("mean_absolute_percentage_error", [[0.0], [0.0]], [[0.0], [2.0]])
    assert ideal == [0, mpmath.inf]
    keras = val("mean_absolute_percentage_error", [[0.0]], [[2.0]], semantics="keras", dtype="float32")
    assert close(keras[0], 200 / F32_EPS, 100)  # 100 * |y_hat| / max(|y|, f32(1e-7))


# -- mean squared logarithmic error ---------------------------------------------------------------

def test_msle_closed_forms():
    assert close(val("mean_squared_logarithmic_error", [[0.0]], [[1.0]], reduction="sum"), LN2 ** 2, 100)
    assert val("mean_squared_logarithmic_error", [[3.5, 0.0]], [[3.5, 0.0]], reduction="sum") == 0
    # (log 3 - log 2)^2, symmetric in y and y_hat
    a = val("mean_squared_logarithmic_error", [[1.0]], [[2.0]], reduction="sum")
    assert close(a, (mpmath.log(3) - LN2) ** 2, 100)
    assert close(a, val("mean_squared_logarithmic_error", [[2.0]], [[1.0]], reduction="sum"), 100)


def test_keras3_msle_clamps_at_float32_eps_and_takes_the_log_of_the_rounded_sum():
    # float64 inputs meet Keras 3's float32 epsilon tensor: log(round64(1 + f32(1e-7)))
    from core import dtypes

    got = val("mean_squared_logarithmic_error", [[0.0]], [[1.0]], semantics="keras", dtype="float64", reduction="sum")
    expected = (LN2 - mpmath.log(dtypes.round_to(1 + F32_EPS, "float64"))) ** 2
    assert close(got, expected, 100)
    keras2 = val("mean_squared_logarithmic_error", [[0.0]], [[1.0]], semantics="keras2", dtype="float64", reduction="sum")
    assert close(keras2, (LN2 - mpmath.log(dtypes.round_to(1 + mpmath.mpf(1e-7), "float64"))) ** 2, 100)
    assert got != keras2


# -- cosine similarity ----------------------------------------------------------------------------

def test_cosine_of_parallel_antiparallel_and_orthogonal_vectors():
    y = [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 0.0, 0.0]]
    p = [[2.0, 4.0, 6.0], [-0.5, -1.0, -1.5], [0.0, 5.0, 0.0]]
    assert val("cosine_similarity", y, p) == [-1, 1, 0]


def test_cosine_is_scale_invariant_and_torch_is_one_minus_cosine():
    y, p = [[0.3, -1.2, 2.5, 0.7]], [[1.1, 0.4, -0.9, 2.0]]
    base = val("cosine_similarity", y, p, reduction="sum")
    scaled = val("cosine_similarity", [[4 * v for v in y[0]]], [[0.125 * v for v in p[0]]], reduction="sum")
    assert close(base, scaled, 100)
    torch = val("cosine_similarity", y, p, reduction="sum", semantics="torch", dtype="float64")
    assert close(torch, 1 + base, 45)  # torch's 1e-12 floor moves it by about 1e-13


def test_cosine_axis_selects_the_feature_axis():
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = np.array([[1.0, 1.0], [0.0, 1.0]])
    along_rows = val("cosine_similarity", y, p, axis=0)
    assert along_rows == val("cosine_similarity", y.T, p.T)


def test_cosine_of_a_zero_vector_per_semantics():
    y, p = [[0.0, 0.0]], [[1.0, 0.0]]
    assert val("cosine_similarity", y, p) == [0]  # ideal: the eps -> 0 limit
    assert val("cosine_similarity", y, p, semantics="keras", dtype="float32") == [0]
    assert mpmath.isnan(val("cosine_similarity", y, p, semantics="keras", dtype="float16")[0])  # 1/eps overflows: 0 * inf
    assert mpmath.isnan(val("cosine_similarity", y, p, semantics="optax", dtype="float32")[0])  # epsilon = 0: 0 / 0
    assert val("cosine_similarity", y, p, semantics="torch", dtype="float32") == [1]


def test_cosine_norm_floors_keras3_keras2():
    # |y| = 1e-8 is below both floors: Keras 3 caps 1/|y| at 1e7, Keras 2 at rsqrt(1e-12) = 1e6
    k3 = val("cosine_similarity", [[1e-8, 0.0]], [[1.0, 0.0]], semantics="keras", dtype="float64")[0]
    k2 = val("cosine_similarity", [[1e-8, 0.0]], [[1.0, 0.0]], semantics="keras2", dtype="float64")[0]
    assert close(k3, -mpmath.mpf(1e-8) * 10 ** 7, 100)  # the Python float 1.0 / 1e-7 is 1e7
    assert close(k2, -mpmath.mpf(1e-8) / mpmath.sqrt(mpmath.mpf(1e-12)), 100)


# -- huber ----------------------------------------------------------------------------------------

def test_huber_is_half_the_square_inside_and_linear_outside():
    y, p = [[0.0, 0.0, 0.0]], [[0.5, -3.0, 2.0]]
    got = val("huber", y, p, delta=2.0, reduction="sum")
    assert close(got, (mpmath.mpf(0.125) + (2 * 3 - 2) + 2) / 3, 100)  # 0.5 e^2 | delta |e| - delta^2 / 2 | the kink


def test_huber_tends_to_half_the_mse_as_delta_grows():
    y, p = [[0.5, -1.5, 4.0]], [[-2.0, 3.25, 0.0]]
    half_mse = val("mean_squared_error", y, p, reduction="sum") / 2
    assert val("huber", y, p, delta=1e6, reduction="sum") == half_mse
    assert val("huber", y, p, delta=3.0, reduction="sum") < half_mse  # the linear branch is below the parabola


def test_huber_is_continuous_at_the_kink():
    d = 0.75
    inside = val("huber", [[0.0]], [[d]], delta=d, reduction="sum")
    assert inside == d * d / 2
    just_outside = val("huber", [[0.0]], [[float(np.nextafter(d, 2.0))]], delta=d, reduction="sum")
    assert 0 < just_outside - inside < 1e-15


def test_huber_equals_delta_times_smooth_l1_where_both_exist():
    if "smooth_l1" not in LOSSES:
        pytest.skip("smooth_l1 is not in the oracle yet")
    y, p, d = [[0.5, -1.5, 4.0]], [[-2.0, 3.25, 0.0]], 1.5
    h = val("huber", y, p, delta=d, reduction="sum", semantics="torch")
    s = val("smooth_l1", y, p, beta=d, reduction="sum", semantics="torch")
    assert close(h, d * s, 100)


# -- log cosh -------------------------------------------------------------------------------------

def test_log_cosh_closed_forms():
    assert val("log_cosh", [[0.0]], [[0.0]], reduction="sum") == 0
    assert close(val("log_cosh", [[0.0]], [[1.0]], reduction="sum"), mpmath.log(mpmath.cosh(1)), 100)
    big = val("log_cosh", [[0.0]], [[50.0]], reduction="sum")  # |e| - log 2 + log1p(exp(-2|e|))
    assert close(big, 50 - LN2 + mpmath.log1p(mpmath.exp(-100)), 100)
    tiny = val("log_cosh", [[0.0]], [[1e-200]], reduction="sum")  # e^2 / 2, no cancellation
    assert close(tiny, mpmath.mpf(1e-200) ** 2 / 2, 60)


def test_keras_log_cosh_subtracts_a_float32_log2():
    from core import dtypes

    k64 = val("log_cosh", [[0.0]], [[0.0]], semantics="keras", dtype="float64", reduction="sum")
    assert close(k64, LN2 - dtypes.round_to(LN2, "float32"), 100) and k64 < 0  # Keras 3 float64: log_cosh(0) = -1.9e-9
    assert val("log_cosh", [[0.0]], [[0.0]], semantics="keras", dtype="float32", reduction="sum") == 0


# -- domain ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss, y, p, params, match", [
    ("huber", [[0.0]], [[1.0]], {"delta": 0.0}, r"parameter delta=0.0 outside \(0.0, inf\)"),
    ("huber", [[0.0]], [[1.0]], {"delta": -1.0}, "delta"),
    ("mean_squared_logarithmic_error", [[0.0]], [[-0.5]], {}, "non-negative"),
    ("mean_squared_logarithmic_error", [[-1.0]], [[0.5]], {}, "non-negative"),
    ("mean_absolute_error", [[0.0, 1.0]], [[1.0]], {}, "shape"),
    ("mean_absolute_percentage_error", [[np.inf]], [[1.0]], {}, "NaN or inf"),
    ("cosine_similarity", [[0.0, 1.0]], [[1.0, 0.0]], {"axis": 2}, "out of range"),
    ("log_cosh", [[0.0]], [[np.nan]], {}, "NaN"),
])
def test_invalid_inputs_raise(loss, y, p, params, match):
    with pytest.raises(DomainError, match=match):
        oracle.evaluate_loss(loss, y, p, **params)
