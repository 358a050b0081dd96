"""The TF1-only and optax-only losses of the oracle (oracle/losses/tf1_optax.py) against closed forms,
exact identities between losses, their semantics switches, and the inputs outside their domains."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import oracle
import specs
from core.semantics import Semantics
from oracle import DomainError
from tests.meta.conftest import all_close, close, val

BITS = 200


@pytest.fixture(autouse=True)
def _high_precision():
    """Expected values are computed at 200 bits (the oracle sets its own working precision)."""
    with mpmath.workprec(BITS):
        yield


def f32(x) -> mpmath.mpf:
    return mpmath.mpf(float(np.float32(x)))


# -- l2_loss, perceptron_loss, multiclass perceptron ---------------------------------------------------

def test_l2_loss_is_half_the_elementwise_squared_error():
    y, p = [[0.5, -2.0, 3.25], [1e-3, 7.0, 0.0]], [[1.0, 2.0, 3.5], [-4.0, 7.0, 1e5]]
    half = val("l2_loss", y, p, dtype="float64")
    squared = val("mean_squared_error", y, p, semantics="torch", dtype="float64")  # elementwise squared error
    with mpmath.workprec(BITS):
        assert all(h * 2 == s for h, s in zip(half, squared))
    assert val("l2_loss", [0.5], [1.0]) == [mpmath.mpf(0.125)]


def test_perceptron_of_a_correct_margin_is_zero_and_of_a_wrong_one_is_the_score():
    t, p = [1.0, -1.0, 1.0, -1.0, 1.0], [0.75, -3.0, -0.5, 2.0, 0.0]
    assert val("perceptron_loss", t, p) == [0, 0, mpmath.mpf(0.5), 2, 0]


def test_multiclass_perceptron_is_zero_at_the_argmax_and_the_score_gap_elsewhere():
    s = [[0.5, 2.0, -1.0], [0.5, 2.0, -1.0], [3.0, 3.0, 1.0]]
    assert val("multiclass_perceptron_loss", [1, 2, 0], s, dtype="float64") == [0, 3, 0]


# -- multiclass hinge -------------------------------------------------------------------------------------

def test_multiclass_hinge_is_crammer_singer():
    s = [[1.5, 0.25, -1.0], [-2.0, 0.5, -3.0], [0.0, 0.0, 0.0], [4.0, 1.0, 2.0]]
    labels = [0, 1, 2, 0]
    expected = [max(0, 1 + max(r[j] for j in range(3) if j != y) - r[y]) for r, y in zip(s, labels)]
    assert val("multiclass_hinge_loss", labels, s, dtype="float64") == [mpmath.mpf(e) for e in expected]
    assert expected[1] == 0  # every other score negative: Crammer-Singer 0 where Keras categorical_hinge gives 0.5


def test_multiclass_hinge_optax_rounds_the_margin_and_can_go_negative():
    s_y = 1 + 2.0 ** -23  # float32: s_y + 1 = 2 + 2**-23 ties to 2, minus 1 is 1
    ideal = val("multiclass_hinge_loss", [0], [[s_y, 0.0]], dtype="float32")
    optax = val("multiclass_hinge_loss", [0], [[s_y, 0.0]], dtype="float32", semantics="optax")
    assert ideal == [0]
    assert optax == [-mpmath.ldexp(1, -23)]
    # float64 carries s_y + 1 exactly
    assert val("multiclass_hinge_loss", [0], [[s_y, 0.0]], dtype="float64", semantics="optax") == [0]


# -- sparsemax --------------------------------------------------------------------------------------------

def test_binary_sparsemax_branches():
    z = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0]
    zero = val("sparsemax_loss", [0.0] * 7, z, dtype="float64")  # sparse_plus(z)
    one = val("sparsemax_loss", [1.0] * 7, z, dtype="float64")  # sparse_plus(-z)
    assert zero == [0, 0, mpmath.mpf(1) / 16, mpmath.mpf(1) / 4, mpmath.mpf(9) / 16, 1, 3]
    assert one == [2, 1, mpmath.mpf(9) / 16, mpmath.mpf(1) / 4, mpmath.mpf(1) / 16, 0, 0]
    assert val("sparsemax_loss", [1.0, 0.0, 0.0], [np.inf, -np.inf, np.inf]) == [0, 0, mpmath.inf]


def test_multiclass_sparsemax_of_a_certain_prediction_is_zero():
    # the target wins by 1 or more: sparsemax is one-hot on it and the loss vanishes
    assert val("multiclass_sparsemax_loss", [2, 0], [[0.0, 0.5, 2.0], [5.0, 4.0, -1.0]], dtype="float64") == [0, 0]


def test_multiclass_sparsemax_of_equal_scores_is_half_of_one_minus_one_over_c():
    for c in (2, 3, 7):
        got = val("multiclass_sparsemax_loss", [c - 1], [[0.25] * c], dtype="float64")
        assert close(got[0], (1 - mpmath.mpf(1) / c) / 2, bits=90)


def test_binary_sparsemax_is_the_multiclass_one_on_scores_z_and_0():
    z = [-1.5, -0.75, -0.125, 0.0, 0.3, 0.9, 1.0, 2.5]
    for label in (0.0, 1.0):
        binary = val("sparsemax_loss", [label] * len(z), z, dtype="float64")
        cls = 0 if label else 1  # label 1 is the class whose score is z
        multi = val("multiclass_sparsemax_loss", [cls] * len(z), [[v, 0.0] for v in z], dtype="float64")
        assert all_close(binary, multi, bits=90)


# -- poly loss and ranking softmax ----------------------------------------------------------------------

Z = [[-2.0, 2.0, 4.0, -1.0, 3.0], [0.5, 0.25, -3.0, 1.0, 0.0]]
Y = [[0.0, 0.0, 0.0, 1.0, 0.0], [0.1, 0.2, 0.3, 0.2, 0.2]]


def test_poly_loss_with_epsilon_zero_is_softmax_cross_entropy():
    poly = val("poly_loss_cross_entropy", Y, Z, epsilon=0.0, dtype="float64")
    cce = val("categorical_crossentropy", Y, Z, from_logits=True, dtype="float64")
    assert all_close(poly, cce, bits=90)


def test_poly_loss_adds_epsilon_times_one_minus_p_target():
    with mpmath.workprec(BITS):
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in Z[0]))
        p3 = mpmath.exp(-1 - lse)
        expected = (lse + 1) + mpmath.mpf(2.5) * (1 - p3)
    assert close(val("poly_loss_cross_entropy", [Y[0]], [Z[0]], epsilon=2.5, dtype="float64")[0], expected, bits=90)


def test_poly_loss_zero_times_inf_convention():
    y, z = [[1.0, 0.0, 0.0]], [[1.0, -np.inf, 0.5]]
    ideal = val("poly_loss_cross_entropy", y, z)
    optax = val("poly_loss_cross_entropy", y, z, semantics="optax")
    assert close(ideal[0], val("poly_loss_cross_entropy", [[1.0, 0.0]], [[1.0, 0.5]])[0], bits=90)  # a -inf class has no mass
    assert mpmath.isnan(optax[0])  # 0 * -inf, as optax softmax_cross_entropy computes it


def test_ranking_softmax_is_softmax_cross_entropy_per_list():
    ranking = val("ranking_softmax_loss", Y, Z, dtype="float64")
    assert all_close(ranking, val("categorical_crossentropy", Y, Z, from_logits=True, dtype="float64"), bits=90)
    graded = val("ranking_softmax_loss", [[0.0, 3.0, 1.0]], [[2.0, 1.0, 3.0]], dtype="float64")
    with mpmath.workprec(BITS):
        lse = mpmath.log(mpmath.exp(2) + mpmath.exp(1) + mpmath.exp(3))
        assert close(graded[0], 3 * (lse - 1) + (lse - 3), bits=90)


def test_ranking_softmax_mean_over_lists():
    both = val("ranking_softmax_loss", [[1.0, 0.0], [0.0, 2.0]], [[0.0, 0.0], [1.0, -1.0]], reduction="sum_over_batch_size", dtype="float64")
    with mpmath.workprec(BITS):
        expected = (mpmath.log(2) + 2 * (mpmath.log(mpmath.exp(1) + mpmath.exp(-1)) + 1)) / 2
    assert close(both, expected, bits=90)


# -- generalized KL -------------------------------------------------------------------------------------

def test_generalized_kl_of_identical_measures_is_zero():
    assert val("generalized_kl_divergence", [[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]], [[0.0, 0.0, 0.0], [-5.0, 0.0, 0.0]],
               dtype="float64")[0] == 0
    # t = 0 against q = exp(-5): the t log t terms vanish, q remains
    assert close(val("generalized_kl_divergence", [[0.0, 1.0]], [[-5.0, 0.0]], dtype="float64")[0], mpmath.exp(-5), bits=90)


def test_generalized_kl_of_distributions_is_kl_and_is_bregman_otherwise():
    t, q = [0.25, 0.25, 0.5], [0.5, 0.125, 0.375]
    with mpmath.workprec(BITS):
        lq = [float(mpmath.log(v)) for v in q]
        qs = [mpmath.exp(mpmath.mpf(v)) for v in lq]  # the q the float log-predictions stand for
        kl = mpmath.fsum(a * (mpmath.log(a) - mpmath.mpf(b)) for a, b in zip(t, lq))
        expected = kl + mpmath.fsum(qs) - 1
    assert close(val("generalized_kl_divergence", [t], [lq], dtype="float64")[0], expected, bits=90)
    # scaling both measures by c scales the divergence by c
    base = val("generalized_kl_divergence", [[0.5, 2.0]], [[0.0, 0.0]], dtype="float64")[0]
    with mpmath.workprec(BITS):
        scaled = val("generalized_kl_divergence", [[1.0, 4.0]], [[float(mpmath.log(2)), float(mpmath.log(2))]], dtype="float64")[0]
        # log 2 is rounded, so compare with the closed form at those rounded log-predictions
        l2 = mpmath.mpf(float(mpmath.log(2)))
        expected = 1 * (0 - l2) + 4 * (mpmath.log(4) - l2) - 5 + 2 * mpmath.exp(l2)
    assert close(scaled, expected, bits=90)
    assert close(base, mpmath.mpf(0.5) * mpmath.log(0.5) + 2 * mpmath.log(2) - mpmath.mpf(2.5) + 2, bits=90)


# -- TF1 mean_pairwise_squared_error and cosine_distance ---------------------------------------------

def test_mpse_is_the_mean_over_pairs():
    y = [[0.5, -1.0, 2.0, 0.25], [1.0, 1.0, 1.0, 1.0]]
    p = [[1.5, 0.0, -0.5, 0.75], [0.0, 2.0, 3.0, -1.0]]
    got = val("mean_pairwise_squared_error", y, p, dtype="float64")
    for row_y, row_p, g in zip(y, p, got):
        d = [a - b for a, b in zip(row_p, row_y)]
        pairs = [(d[i] - d[j]) ** 2 for i in range(4) for j in range(i + 1, 4)]
        assert close(g, mpmath.fsum(pairs) / len(pairs), bits=90)


def test_mpse_ignores_a_common_offset_and_sums_weighted_samples():
    y = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    p = [[1.0, 3.0, 5.0], [4.0, 4.0, 4.0]]
    shifted = [[v + 1024.0 for v in row] for row in p]
    assert val("mean_pairwise_squared_error", y, p) == val("mean_pairwise_squared_error", y, shifted) == [2, 2]
    assert val("mean_pairwise_squared_error", y, p, reduction="sum", sample_weight=[0.5, 2.0]) == 5


def test_mpse_tf1_eager_scalar_weight_counts_the_whole_batch():
    y, p = [[1.0, 2.0, 3.0]] * 2, [[1.0, 3.0, 5.0]] * 2
    assert val("mean_pairwise_squared_error", y, p, reduction="sum", semantics="tf1") == 4
    assert close(val("mean_pairwise_squared_error", y, p, reduction="sum", semantics="tf1_eager"), mpmath.mpf(14) / 5, bits=90)
    # a batch of one sample is the same either way
    assert val("mean_pairwise_squared_error", y[:1], p[:1], semantics="tf1_eager") == val("mean_pairwise_squared_error", y[:1], p[:1]) == [2]


def test_mpse_tf1_a_zero_weighted_sample_adds_zero_even_where_its_loss_is_nan():
    """n counts a sample's elements of nonzero weight, and div_no_nan(x, 0) is 0: inputs that overflow the float32 cast
    make the first sample's loss NaN, and TF 2.21.0 returns 0.0 (weights [0, 0]) and 2.0 (weights [0, 1])."""
    y, p = [[1e152, 0.0, 2.0], [1.0, 2.0, 3.0]], [[1.7e152, 1.0, 0.0], [0.0, 0.0, 0.0]]
    tf1 = lambda w: val("mean_pairwise_squared_error", y, p, dtype="float64", reduction="sum", sample_weight=w, semantics="tf1")
    assert tf1([0.0, 0.0]) == 0 and tf1([0.0, 1.0]) == 2 and mpmath.isnan(tf1([1.0, 1.0]))
    case = specs.make_case("mean_pairwise_squared_error", y, p, dtype="float64", reduction="sum", sample_weight=[0.0, 1.0],
                           semantics="tf1")
    unguarded = Semantics("tf1 without the guard", {"cast_inputs": "float32", "reduce_in": "float32"})
    assert mpmath.isnan(oracle.evaluate(case, unguarded).value)  # 0 * NaN: the switch is what makes it 0


def test_cosine_distance_of_unit_vectors_is_one_minus_cosine_and_is_not_normalised():
    y, p = [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0]]
    assert val("cosine_distance", y, p, axis=1) == [0, 1, 2]
    assert val("cosine_distance", [[2.0, 0.0]], [[3.0, 0.0]]) == [-5]  # TF1 assumes unit vectors
    # the axis is honoured: columns of a (3, 2) batch
    assert val("cosine_distance", [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [[1.0, 0.5], [0.0, 0.5], [0.0, 0.5]], axis=0) == [0, mpmath.mpf(0.5)]


def test_inputs_far_apart_in_magnitude_are_handled_exactly():
    # d = [1 - 2**-400, 1]: one pair, (d_1 - d_2)^2 = 2**-800, which rounding d at any working precision loses
    assert val("mean_pairwise_squared_error", [[2.0 ** -400, 0.0]], [[1.0, 1.0]], dtype="float64") == [mpmath.ldexp(1, -800)]
    # the simplex projection decides its support by comparisons: 1 + 1e300 > 1e300 must hold
    assert val("multiclass_sparsemax_loss", [1], [[1e300, -1e300, 5e-324]], dtype="float64") == [mpmath.mpf(2e300)]


# -- ntxent -----------------------------------------------------------------------------------------------

def test_ntxent_of_collinear_embeddings_is_log_one_plus_negatives():
    # one-dimensional positive embeddings: every cosine is 1 (the optax docstring example)
    got = val("ntxent", [0, 0, 1, 1], [[0.08969027], [1.6291292], [0.8622629], [0.13612625]], reduction="sum_over_batch_size")
    assert close(got, mpmath.log(3), bits=90)
    got = val("ntxent", [0, 0, 0, 1], [[1.0], [2.0], [3.0], [4.0]], reduction="sum_over_batch_size")
    assert close(got, mpmath.log(2), bits=90)  # each anchor of group 0 has one negative


def test_ntxent_with_orthogonal_negatives():
    # positives share a direction (cos 1), negatives are orthogonal (cos 0): log(1 + n_neg exp(-1/T))
    e = [[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]]
    got = val("ntxent", [0, 0, 1, 1], e, temperature=0.5, reduction="sum_over_batch_size", dtype="float64")
    assert close(got, mpmath.log(1 + 2 * mpmath.exp(-2)), bits=90)
    per_pair = val("ntxent", [0, 0, 1, 1], e, temperature=0.5, reduction="none", dtype="float64")
    assert sum(1 for v in per_pair if v != 0) == 4  # the (4, 4) matrix holds the 4 ordered positive pairs


def test_ntxent_optax_guards():
    labels, e = [0, 0, 1, 1], [[1e-5, 2e-5], [3e-5, -1e-5], [-2e-5, 1e-5], [2e-4, 1e-4]]
    kw = dict(reduction="sum_over_batch_size", dtype="float32")
    ideal = val("ntxent", labels, e, **kw)
    scaled = val("ntxent", labels, [[v * 1024 for v in r] for r in e], **kw)
    optax = val("ntxent", labels, e, semantics="optax", **kw)
    assert close(ideal, scaled, 40)  # cosine similarity is scale invariant (up to the float32 inputs)
    assert optax < ideal / 4  # squared norms below finfo(float32).eps are floored: the cosines shrink
    # the temperature is used as float32(0.07) under optax
    e = [[1.0, 0.5], [0.5, 1.0], [-1.0, 0.25], [0.0, -1.0]]
    optax = val("ntxent", labels, e, semantics="optax", **kw)
    exact_t = val("ntxent", labels, e, temperature=float(np.float32(0.07)), **kw)
    assert close(optax, exact_t, bits=90) and not close(optax, val("ntxent", labels, e, **kw), 40)
    # float64: finfo(float64).eps is far below these squared norms, so the floor does nothing
    assert close(val("ntxent", labels, [[1e-5, 2e-5], [3e-5, -1e-5], [-2e-5, 1e-5], [2e-4, 1e-4]], semantics="optax",
                     reduction="sum_over_batch_size", temperature=0.5, dtype="float64"),
                 val("ntxent", labels, [[1e-5, 2e-5], [3e-5, -1e-5], [-2e-5, 1e-5], [2e-4, 1e-4]],
                     reduction="sum_over_batch_size", temperature=0.5, dtype="float64"), bits=90)


# -- domains ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss, y_true, y_pred, params", [
    pytest.param("mean_pairwise_squared_error", [1.0, 2.0], [2.0, 5.0], {}, id="mean_pairwise_squared_error0"),  # rank 1: no pairs within a sample
    pytest.param("mean_pairwise_squared_error", [[1.0], [2.0]], [[2.0], [5.0]], {}, id="mean_pairwise_squared_error1"),  # one element per sample
    pytest.param("mean_pairwise_squared_error", [[1.0, 2.0]], [[2.0, np.nan]], {}, id="mean_pairwise_squared_error2"),
    pytest.param("cosine_distance", [[1.0, 0.0]], [[1.0, 0.0, 0.0]], {}, id="cosine_distance0"),
    pytest.param("cosine_distance", [[1.0, 0.0]], [[1.0, 0.0]], {"axis": 2}, id="cosine_distance1"),
    pytest.param("poly_loss_cross_entropy", [[1.0, 0.0]], [[-np.inf, -np.inf]], {}, id="poly_loss_cross_entropy0"),
    pytest.param("poly_loss_cross_entropy", [[1.5, 0.0]], [[1.0, 0.0]], {}, id="poly_loss_cross_entropy1"),
    pytest.param("ranking_softmax_loss", [[-1.0, 2.0]], [[1.0, 0.0]], {}, id="ranking_softmax_loss0"),
    pytest.param("ranking_softmax_loss", [[0.0, 2.0]], [[-np.inf, -np.inf]], {}, id="ranking_softmax_loss1"),
    pytest.param("multiclass_hinge_loss", [3], [[1.0, 2.0, 0.5]], {}, id="multiclass_hinge_loss0"),
    pytest.param("multiclass_hinge_loss", [-1], [[1.0, 2.0, 0.5]], {}, id="multiclass_hinge_loss1"),
    pytest.param("multiclass_perceptron_loss", [0, 1], [[1.0, 2.0, 0.5]], {}, id="multiclass_perceptron_loss0"),
    pytest.param("multiclass_sparsemax_loss", [0], [[1.0, np.inf]], {}, id="multiclass_sparsemax_loss0"),
    pytest.param("perceptron_loss", [0.0, 1.0], [0.5, 0.5], {}, id="perceptron_loss0"),
    pytest.param("sparsemax_loss", [0.5], [0.5], {}, id="sparsemax_loss0"),
    pytest.param("sparsemax_loss", [2.0], [0.5], {}, id="sparsemax_loss1"),
    pytest.param("generalized_kl_divergence", [[-0.5, 1.0]], [[0.0, 0.0]], {}, id="generalized_kl_divergence0"),
    pytest.param("generalized_kl_divergence", [[0.5, 1.0]], [[-np.inf, 0.0]], {}, id="generalized_kl_divergence1"),
    pytest.param("l2_loss", [1.0, 2.0], [1.0], {}, id="l2_loss0"),
    pytest.param("ntxent", [0, 1, 2], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], {}, id="ntxent0"),  # no positive pair
    pytest.param("ntxent", [0, 0, 1], [[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]], {}, id="ntxent1"),  # a zero embedding
    pytest.param("ntxent", [0, 0], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], {}, id="ntxent2"),  # one label per embedding
    pytest.param("ntxent", [0, 0, 1], [1.0, 2.0, 3.0], {}, id="ntxent3"),  # embeddings must be (B, D)
    pytest.param("ntxent", [0, 0, 1], [[1.0, 0.0], [0.5, 1.0], [1.0, 1.0]], {"temperature": 0.0}, id="ntxent4"),
])
def test_invalid_inputs_raise_domain_error(loss, y_true, y_pred, params):
    with pytest.raises(DomainError):
        oracle.evaluate_loss(loss, y_true, y_pred, **params)


def test_optax_and_tf1_aliases_resolve():
    import specs

    assert specs.resolve("convex_kl_divergence")[0].name == "generalized_kl_divergence"
    with pytest.raises(ValueError, match="unknown loss .binary_sparsemax_loss."):  # deprecated, not exported by optax 0.2.8
        specs.resolve("binary_sparsemax_loss")
    a = val("convex_kl_divergence", [[0.5, 1.0]], [[0.0, 0.0]], dtype="float64")
    assert a == val("generalized_kl_divergence", [[0.5, 1.0]], [[0.0, 0.0]], dtype="float64")
