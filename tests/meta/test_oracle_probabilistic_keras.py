"""The Keras-centric hinge, probabilistic, overlap and focal losses of the oracle
(oracle/losses/probabilistic_keras.py): closed forms, identities between losses and semantics, domain rules."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import oracle
import specs
from oracle.domain import DomainError
from tests.meta.conftest import close, val

F32_EPS = mpmath.mpf(float(np.float32(1e-7)))


@pytest.fixture(autouse=True)
def _precision():
    """Expected values are computed at 256 bits, far beyond the bits the comparisons check."""
    with mpmath.workprec(256):
        yield


# -- hinge ----------------------------------------------------------------------------------------

def test_hinge_reads_zero_one_labels_as_minus_one_plus_one():
    p = [[0.3, -2.0, 1.5], [-0.4, 0.6, 2.0]]
    zero_one = val("hinge", [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], p)
    signs = val("hinge", [[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]], p)
    assert zero_one == signs
    assert close(signs[0], (mpmath.mpf(0.7) + 0 + 0) / 3, 50)  # max(1 - 0.3, 0), max(1 - 2, 0), max(1 - 1.5, 0)


def test_hinge_label_conventions_of_tf1_and_optax():
    y, p = [[-1.0, 1.0]], [[0.5, 0.5]]
    assert close(val("hinge", y, p, reduction="sum"), (mpmath.mpf(1.5) + mpmath.mpf(0.5)) / 2, 100)
    # TF1 always maps 2y - 1: -1 becomes -3
    assert close(val("hinge", y, p, semantics="tf1", dtype="float32", reduction="sum"), mpmath.mpf(2.5) + mpmath.mpf(0.5), 100)
    # optax never converts: a 0 label gives max(1 - 0, 0) = 1
    assert val("hinge", [[0.0, 1.0]], [[0.5, 0.5]], semantics="optax", reduction="sum") == mpmath.mpf(1.5)
    assert val("hinge", [[0.0, 1.0]], [[0.5, 0.5]], reduction="sum") == 1  # the ideal reads 0 as -1: (1.5 + 0.5) / 2


def test_hinge_is_zero_beyond_the_margin_and_squared_hinge_squares_it():
    y = [[1.0], [-1.0], [1.0]]
    assert val("hinge", y, [[1.0], [-3.0], [0.25]]) == [0, 0, mpmath.mpf(0.75)]
    assert val("squared_hinge", y, [[1.0], [-3.0], [0.25]]) == [0, 0, mpmath.mpf(0.75) ** 2]


# -- categorical hinge ----------------------------------------------------------------------------

def test_categorical_hinge_is_crammer_singer_and_keras_floors_the_runner_up():
    y, p = [[0.0, 1.0, 0.0]], [[-2.0, 0.5, -3.0]]
    assert val("categorical_hinge", y, p) == [0]  # 1 + max(-2, -3) - 0.5 < 0
    assert val("categorical_hinge", y, p, semantics="keras") == [mpmath.mpf(0.5)]  # runner-up read as 0
    y2, p2 = [[0.0, 1.0, 0.0]], [[2.0, 0.5, -3.0]]
    assert val("categorical_hinge", y2, p2) == val("categorical_hinge", y2, p2, semantics="keras") == [mpmath.mpf(2.5)]


def test_categorical_hinge_equals_optax_multiclass_hinge_on_argmax_labels():
    if "multiclass_hinge_loss" not in specs.all_specs():
        pytest.skip("multiclass_hinge_loss is not specified")
    y = np.eye(4)[[2, 0, 3]]
    p = [[0.5, -1.0, 2.0, 1.75], [-0.5, 3.0, 0.0, -2.0], [1.0, 1.0, 1.0, 1.0]]
    dense = val("categorical_hinge", y, p)
    sparse = val("multiclass_hinge_loss", [2, 0, 3], p)
    assert all(close(a, b, 100) for a, b in zip(dense, sparse))


# -- Kullback-Leibler divergence ------------------------------------------------------------------

def test_kl_of_a_distribution_with_itself_is_zero_and_known_values():
    p = [[0.25, 0.5, 0.25], [1.0, 0.0, 0.0]]
    assert val("kl_divergence", p, p) == [0, 0]
    assert close(val("kl_divergence", [[1.0, 0.0]], [[0.5, 0.5]])[0], mpmath.log(2), 100)
    assert val("kl_divergence", [[0.5, 0.5]], [[1.0, 0.0]]) == [mpmath.inf]  # q = 0 where p > 0


def test_kl_is_non_negative_between_normalised_rows():
    rng = np.random.default_rng(7)
    p, q = rng.dirichlet(np.ones(6), size=8), rng.dirichlet(np.ones(6), size=8)
    # float64 rounding leaves the rows a few ulps off sum 1: Gibbs' inequality holds up to that
    assert all(v > -1e-15 for v in val("kl_divergence", p, q))


def test_kl_log_inputs_are_the_same_divergence():
    p, q = np.array([[0.125, 0.375, 0.5]]), np.array([[0.25, 0.25, 0.5]])
    direct = val("kl_divergence", p, q)[0]
    log_q = val("kl_divergence", p, np.log(q), log_input=True)[0]
    log_both = val("kl_divergence", np.log(p), np.log(q), log_input=True, log_target=True)[0]
    assert close(direct, log_q, 45) and close(direct, log_both, 45)  # np.log rounds to float64
    # the aliases fix the parameters
    assert val("kl_div", p, np.log(q)) == val("kl_divergence", p, np.log(q), log_input=True)
    assert val("kl_divergence_with_log_targets", np.log(p), np.log(q)) == [log_both]


def test_torch_batchmean_divides_the_sum_by_the_batch():
    p, q = [[0.25, 0.75], [0.5, 0.5], [1.0, 0.0]], [[0.5, 0.5], [0.125, 0.875], [0.5, 0.5]]
    total = val("kl_divergence", p, q, semantics="torch", reduction="sum")
    assert close(val("kl_divergence", p, q, semantics="torch", reduction="batchmean"), total / 3, 100)
    assert close(val("kl_divergence", p, q, semantics="torch", reduction="sum_over_batch_size"), total / 6, 100)
    assert close(total, val("kl_divergence", p, q, reduction="sum"), 100)  # the same divergence, elementwise


def test_kl_semantics_at_zero_probabilities():
    # Keras clips a zero target to eps: eps log(eps / q) < 0
    keras = val("kl_divergence", [[0.0, 0.0]], [[0.5, 0.5]], semantics="keras", dtype="float32")[0]
    assert close(keras, 2 * F32_EPS * mpmath.log(2 * F32_EPS), 100) and keras < 0
    # torch: p = 0 against log 0 = -inf is 0 * -inf = NaN; the ideal takes the limit 0
    assert mpmath.isnan(val("kl_divergence", [[0.0, 1.0]], [[0.0, 1.0]], semantics="torch")[1 - 1])
    assert val("kl_divergence", [[0.0, 1.0]], [[0.0, 1.0]]) == [0]


# -- Poisson --------------------------------------------------------------------------------------

def test_poisson_closed_forms():
    assert val("poisson", [[0.0]], [[2.5]]) == [mpmath.mpf(2.5)]
    assert val("poisson", [[1.0]], [[1.0]]) == [1]
    assert close(val("poisson", [[3.0]], [[2.0]])[0], 2 - 3 * mpmath.log(2), 100)
    assert val("poisson", [[2.0]], [[0.0]]) == [mpmath.inf]
    assert val("poisson", [[0.0]], [[0.0]]) == [0]


def test_poisson_log_input_and_full():
    y, rate = [[3.0, 0.0, 1.0]], np.array([[2.0, 0.5, 1.0]])
    direct = val("poisson", y, rate, reduction="sum")
    assert close(direct, val("poisson", y, np.log(rate), log_input=True, reduction="sum"), 45)
    full = val("poisson", y, rate, full=True, reduction="sum")
    assert close(full - direct, (mpmath.loggamma(4) + 0 + 0) / 3, 100)  # log 3! + log 0! + log 1!
    # torch adds Stirling's approximation for y > 1 and nothing for y <= 1
    torch_full = val("poisson", y, rate, full=True, reduction="sum", semantics="torch", dtype="float64")
    torch_plain = val("poisson", y, rate, reduction="sum", semantics="torch", dtype="float64")
    assert close(torch_full - torch_plain, 3 * mpmath.log(3) - 3 + mpmath.log(6 * mpmath.pi) / 2, 90)


def test_poisson_epsilon_conventions():
    assert close(val("poisson", [[1.0]], [[0.0]], semantics="keras", dtype="float32")[0], -mpmath.log(F32_EPS), 100)
    # torch's eps = 1e-8 is 0 in float16: a zero target at a zero rate is 0 * log 0 = NaN
    assert mpmath.isnan(val("poisson", [[0.0]], [[0.0]], semantics="torch", dtype="float16")[0])
    assert val("poisson", [[0.0]], [[0.0]], semantics="torch", dtype="float32") == [0]


# -- Dice and Tversky -----------------------------------------------------------------------------

def test_dice_closed_forms():
    y = [[1.0, 0.0, 1.0, 0.0]]
    assert val("dice", y, y) == 0
    assert val("dice", y, [[0.0, 1.0, 0.0, 1.0]]) == 1
    assert val("dice", [[0.0, 0.0]], [[0.0, 0.0]]) == 1  # both masks empty: the ratio is taken as 0
    assert close(val("dice", [[1.0, 1.0]], [[1.0, 0.0]]), mpmath.mpf(1) / 3, 100)  # 1 - 2 * 1 / 3


def test_dice_axes_give_one_value_per_sample():
    y = np.array([[[1.0, 0.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 1.0]]])
    p = np.array([[[0.5, 0.0], [1.0, 0.5]], [[0.25, 0.0], [0.0, 1.0]]])
    per_sample = val("dice", y, p, axes=[1, 2])
    assert len(per_sample) == 2
    for i in range(2):
        assert close(per_sample[i], val("dice", y[i], p[i]), 100)


def test_tversky_with_equal_halves_is_dice_and_keras_swaps_alpha_and_beta():
    y = [[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0]]
    p = [[0.75, 0.5, 0.0, 1.0], [0.25, 0.125, 0.5, 0.0]]
    assert close(val("tversky", y, p), val("dice", y, p), 100)
    assert all(close(t, d, 100) for t, d in zip(val("tversky", y, p, axes=[1]), val("dice", y, p, axes=[1])))
    keras = val("tversky", y, p, alpha=0.75, beta=0.25, semantics="keras", dtype="float64")
    swapped = val("tversky", y, p, alpha=0.25, beta=0.75)
    assert keras != val("tversky", y, p, alpha=0.75, beta=0.25)
    assert close(keras, swapped, 20)  # equal up to Keras' eps = 1e-7 in the denominator


def test_tversky_counts_false_positives_with_alpha():
    # y_hat = 1 where y = 0: one false positive, no false negative
    assert close(val("tversky", [[1.0, 0.0]], [[1.0, 1.0]], alpha=1.0, beta=0.0), mpmath.mpf(1) / 2, 100)
    assert val("tversky", [[1.0, 0.0]], [[1.0, 1.0]], alpha=0.0, beta=1.0) == 0


# -- generalized cross-entropy --------------------------------------------------------------------

def test_gce_closed_forms_and_the_cross_entropy_limit():
    p = [[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]]
    got = val("categorical_generalized_cross_entropy", [0, 0, 1], p, q=0.5)
    assert got[:2] == [1, 0] and close(got[2], 2 - 2 * mpmath.sqrt(mpmath.mpf(0.5)), 100)
    assert val("categorical_generalized_cross_entropy", [1], [[1.0, 0.0]], q=0.25) == [4]  # p = 0: 1/q
    near_ce = val("categorical_generalized_cross_entropy", [1], [[0.5, 0.5]], q=1e-9)[0]
    assert abs(near_ce - mpmath.log(2)) < 1e-9  # (1 - p^q)/q -> -log p as q -> 0


# -- focal cross-entropies ------------------------------------------------------------------------

def test_binary_focal_with_gamma_zero_is_binary_crossentropy():
    y, p = [[0.0, 1.0, 0.25], [1.0, 0.0, 0.75]], [[0.125, 0.5, 0.875], [0.999, 0.25, 0.5]]
    focal = val("binary_focal_crossentropy", y, p, gamma=0.0)
    bce = val("binary_crossentropy", y, p)
    assert all(close(a, b, 100) for a, b in zip(focal, bce))
    z = [[-2.0, 0.5, 30.0], [0.0, -40.0, 3.0]]
    focal = val("binary_focal_crossentropy", y, z, gamma=0.0, from_logits=True)
    bce = val("binary_crossentropy", y, z, from_logits=True)
    assert all(close(a, b, 90) for a, b in zip(focal, bce))


def test_binary_focal_closed_form_and_balancing():
    one = val("binary_focal_crossentropy", [[1.0]], [[0.5]], gamma=2.0)[0]
    assert close(one, mpmath.log(2) / 4, 100)  # (1 - 0.5)^2 log 2
    assert close(val("binary_focal_crossentropy", [[1.0]], [[0.0]], from_logits=True, gamma=2.0)[0], mpmath.log(2) / 4, 100)
    plain = val("binary_focal_crossentropy", [[1.0, 0.0]], [[0.25, 0.125]], reduction="sum")
    halves = val("binary_focal_crossentropy", [[1.0, 0.0]], [[0.25, 0.125]], reduction="sum", apply_class_balancing=True, alpha=0.5)
    assert close(halves, plain / 2, 100)
    assert val("sigmoid_focal_loss", [[1.0]], [[0.0]]) == val("binary_focal_crossentropy", [[1.0]], [[0.0]], from_logits=True)


def test_binary_focal_keras_float16_nan_and_backend_difference():
    # Keras 3 float16: 1 - epsilon() rounds to 1, so y = 1 at p = 1 gives 0 * log 0 = NaN
    assert mpmath.isnan(val("binary_focal_crossentropy", [[1.0]], [[1.0]], semantics="keras", dtype="float16")[0])
    assert val("binary_focal_crossentropy", [[1.0]], [[1.0]], semantics="keras", dtype="float32") == [0]
    # from logits, JAX/torch/numpy clip the sigmoid; TF recovers the logits
    clipped = val("binary_focal_crossentropy", [[1.0]], [[-30.0]], from_logits=True, gamma=0.0, semantics="keras", dtype="float32")[0]
    exact = val("binary_focal_crossentropy", [[1.0]], [[-30.0]], from_logits=True, gamma=0.0, semantics="keras_tf", dtype="float32")[0]
    assert close(clipped, -mpmath.log(F32_EPS), 100)
    assert close(exact, 30 + mpmath.log1p(mpmath.exp(-30)), 100)


def test_categorical_focal_with_gamma_zero_and_alpha_one_is_categorical_crossentropy():
    y = [[0.0, 1.0, 0.0], [0.25, 0.25, 0.5]]
    p = [[0.125, 0.75, 0.125], [0.5, 0.25, 0.25]]
    focal = val("categorical_focal_crossentropy", y, p, gamma=0.0, alpha=1.0)
    cce = val("categorical_crossentropy", y, p)
    assert all(close(a, b, 100) for a, b in zip(focal, cce))
    z = [[1.0, -2.0, 0.5], [40.0, 0.0, -3.0]]
    focal = val("categorical_focal_crossentropy", y, z, gamma=0.0, alpha=1.0, from_logits=True)
    cce = val("categorical_crossentropy", y, z, from_logits=True)
    assert all(close(a, b, 90) for a, b in zip(focal, cce))


def test_categorical_focal_closed_form_and_class_weights():
    got = val("categorical_focal_crossentropy", [[0.0, 1.0]], [[0.25, 0.75]], gamma=2.0, alpha=0.25)[0]
    assert close(got, mpmath.mpf(0.25) * mpmath.mpf(0.25) ** 2 * -mpmath.log(mpmath.mpf(0.75)), 100)
    same = val("categorical_focal_crossentropy", [[0.0, 1.0]], [[0.25, 0.75]], gamma=2.0, alpha_per_class=[0.25, 0.25])[0]
    assert close(same, got, 100)
    weighted = val("categorical_focal_crossentropy", [[0.0, 1.0]], [[0.25, 0.75]], gamma=2.0, alpha_per_class=[9.0, 0.5])[0]
    assert close(weighted, 2 * got, 100)  # only the target class weight counts for a one-hot target


# -- domain ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss, y, p, params, match", [
    ("hinge", [[-1.0, 0.0, 1.0]], [[0.5, 0.5, 0.5]], {}, "one encoding"),
    ("squared_hinge", [[2.0, 1.0]], [[0.5, 0.5]], {}, "one encoding"),
    ("hinge", [[0.5, 1.0]], [[0.5, 0.5]], {}, "integers"),
    ("categorical_hinge", [[1.0, 1.0, 0.0]], [[0.5, 0.5, 0.5]], {}, "one-hot"),
    ("categorical_hinge", [[-1.0, 1.0]], [[0.5, 0.5]], {}, r"\[0, 1\]|one-hot"),
    ("categorical_hinge", [[1.0]], [[0.5]], {}, "at least 2 classes"),
    ("kl_divergence", [[0.5, 1.5]], [[0.5, 0.5]], {}, r"\[0, 1\]"),
    ("kl_divergence", [[0.5, 0.5]], [[0.5, -0.5]], {}, r"\[0, 1\]"),
    ("kl_divergence", [[0.5, 0.5]], [[-0.5, 0.1]], {"log_input": True}, "log-probabilities"),
    ("kl_divergence", [[0.5, 0.5]], [[-np.inf, -0.5]], {"log_input": True}, "NaN or inf"),
    ("poisson", [[1.0]], [[-0.5]], {}, "non-negative"),
    ("poisson", [[-1.0]], [[0.5]], {}, "non-negative"),
    ("dice", [[1.0, 0.0]], [[0.5, 0.5]], {"axes": [2]}, "within the rank"),
    ("dice", [[1.0, 0.0]], [[0.5, 0.5]], {"axes": [1, 1]}, "distinct"),
    ("dice", [[1.0, 0.0]], [[0.5, 0.5]], {"axes": [-1]}, "not a valid float_list_or_null"),
    ("tversky", [[1.0, 0.0]], [[0.5, 1.5]], {}, r"\[0, 1\]"),
    ("tversky", [[1.0, 0.0]], [[0.5, 0.5]], {"alpha": -0.5}, "alpha"),
    ("categorical_generalized_cross_entropy", [0], [[0.5, 0.5]], {"q": 1.0}, r"parameter q=1.0 outside \(0.0, 1.0\)"),
    ("categorical_generalized_cross_entropy", [0], [[0.5, 0.5]], {"q": 0.0}, r"parameter q=0.0 outside \(0.0, 1.0\)"),
    ("categorical_generalized_cross_entropy", [2], [[0.5, 0.5]], {}, r"labels must lie in \[0, 2\)"),
    ("binary_focal_crossentropy", [[1.0]], [[0.5]], {"gamma": -1.0}, "gamma"),
    ("binary_focal_crossentropy", [[1.0]], [[0.5]], {"alpha": 1.5}, "alpha"),
    ("categorical_focal_crossentropy", [[0.0, 1.0]], [[0.5, 0.5]], {"alpha_per_class": [0.5]}, "1 entries for 2 classes"),
    ("categorical_focal_crossentropy", [[0.0, 1.0]], [[0.0, 0.0]], {}, "sums to 0"),
])
def test_invalid_inputs_raise(loss, y, p, params, match):
    with pytest.raises(DomainError, match=match):
        oracle.evaluate_loss(loss, y, p, **params)


def test_poisson_equals_the_torch_poisson_nll_spec_where_both_exist():
    if "poisson_nll" not in specs.all_specs():
        pytest.skip("poisson_nll is not specified")
    y, rate = [[3.0, 0.0, 1.0]], [[2.0, 0.5, 1.0]]
    for full in (False, True):
        a = val("poisson", y, rate, full=full, reduction="sum")  # ideal, averaged over the last axis
        b = val("poisson_nll", y, rate, log_input=False, full=full, reduction="sum")  # ideal, elementwise
        assert close(3 * a, b, 100)
