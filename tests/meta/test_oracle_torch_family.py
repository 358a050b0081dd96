"""The torch-family losses and CTC in the oracle: closed forms, exact identities, semantics conventions and
the inputs outside their domains (oracle/losses/torch_family.py, oracle/losses/ctc.py)."""
from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest

import oracle
import specs
from conformance import cases
from oracle.losses import LOSSES
from oracle.losses import ctc as ctc_module
from tests.meta.conftest import close, value, values

pytestmark = pytest.mark.usefixtures("prec200")  # every test at 200 bits, restored after it
FAMILY = ("smooth_l1", "nll", "poisson_nll", "gaussian_nll", "hinge_embedding", "margin_ranking", "multi_margin",
          "multilabel_margin", "multilabel_soft_margin", "soft_margin", "cosine_embedding", "triplet_margin", "ctc")


def mp(x) -> mpmath.mpf:
    return mpmath.mpf(float(x))


# -- smooth_l1 -----------------------------------------------------------------------------------------

def test_smooth_l1_branches_and_beta_zero():
    y, x = [0.0, 0.0, 2.0, -1.0], [0.25, 3.0, 2.0, 0.5]
    got = values("smooth_l1", y, x, beta=0.5)
    # z = 0.25 < beta: z^2 / (2 beta); z = 3 and 1.5: z - beta / 2; z = 0: 0
    assert got == [mpmath.mpf(0.0625), mpmath.mpf(2.75), 0, mpmath.mpf(1.25)]
    assert values("smooth_l1", y, x, beta=0.0) == [abs(mp(a) - mp(b)) for a, b in zip(x, y)]


def test_smooth_l1_times_beta_is_the_huber_closed_form_and_continuous_at_beta():
    beta = 0.75
    for z in (0.125, 0.5, 0.75, 1.0, 4.0):
        huber = z * z / 2 if z <= beta else beta * (z - beta / 2)
        assert close(value("smooth_l1", [0.0], [z], beta=beta)[0] * mp(beta), huber, bits=90)
    below = value("smooth_l1", [0.0], [np.nextafter(beta, 0)], beta=beta)[0]
    assert abs(below - mp(beta) / 2) < mpmath.mpf(2) ** -50


# -- nll -----------------------------------------------------------------------------------------------

def test_nll_plus_logsumexp_is_sparse_categorical_crossentropy_from_logits():
    z = [[-2.0, 2.0, 4.0, -1.0, 3.0], [0.5, 0.25, -3.0, 1.0, 0.0]]
    labels = [3, 0]
    nll = values("nll", labels, z)
    scce = values("sparse_categorical_crossentropy", labels, z, from_logits=True)
    for row, a, b in zip(z, nll, scce):
        assert close(a + mpmath.log(mpmath.fsum(mpmath.exp(mp(v)) for v in row)), b, bits=90)


def test_nll_of_log_softmax_matches_sparse_categorical_crossentropy():
    z = np.array([[-2.0, 2.0, 4.0, -1.0, 3.0], [0.5, 0.25, -3.0, 1.0, 0.0]])
    log_softmax = z - np.log(np.exp(z).sum(-1, keepdims=True))  # float64: agreement to float64 precision
    nll = values("nll", [2, 4], log_softmax)
    scce = values("sparse_categorical_crossentropy", [2, 4], z, from_logits=True)
    assert all(close(a, b, bits=48) for a, b in zip(nll, scce))


def test_nll_ignore_class_equals_dropping_those_rows_and_weights_give_the_weighted_mean():
    x = [[-0.5, -1.25, -2.0], [-1.0, -0.75, -1.5], [-3.0, -0.125, -4.0]]
    w = [1.0, 2.0, 3.0]
    ignored = value("nll", [0, 1, 2], x, ignore_class=1, class_weight=w, reduction="weighted_mean")
    dropped = value("nll", [0, 2], [x[0], x[2]], class_weight=w, reduction="weighted_mean")
    assert ignored == dropped == (1 * mpmath.mpf(0.5) + 3 * mpmath.mpf(4)) / 4
    assert value("nll", [0, 1, 2], x, ignore_class=1, reduction="sum_over_batch_size") == (mpmath.mpf(0.5) + 4) / 2
    assert mpmath.isnan(value("nll", [1, 1], x[:2], ignore_class=1, reduction="weighted_mean"))  # torch: 0/0


def test_nll_class_axis():
    x = np.array([[[-0.25, -2.0], [-1.5, -0.125]]])  # (N, C, d) with C on axis 1
    assert values("nll", [[1, 0]], x, axis=1) == [mpmath.mpf(1.5), mpmath.mpf(2.0)]


# -- poisson_nll ---------------------------------------------------------------------------------------

def test_poisson_nll_closed_forms():
    got = values("poisson_nll", [1.0, 2.0, 0.0], [0.0, 1.0, -1.0])
    assert got[0] == 1 and close(got[1], mpmath.e - 2, bits=90) and close(got[2], mpmath.exp(-1), bits=90)
    rate = values("poisson_nll", [2.0, 0.0, 3.0], [0.5, 0.0, 0.0], log_input=False)
    assert close(rate[0], 0.5 - 2 * mpmath.log(0.5), bits=90) and rate[1] == 0 and rate[2] == mpmath.inf


def test_poisson_nll_full_adds_log_factorial_and_torch_uses_stirling_above_one():
    y = [0.0, 1.0, 4.0, 2.5]
    plain = values("poisson_nll", y, [0.5] * 4)
    full = values("poisson_nll", y, [0.5] * 4, full=True)
    assert [f - p for f, p in zip(full[:2], plain[:2])] == [0, 0]
    assert close(full[2] - plain[2], mpmath.log(24), bits=90)
    assert close(full[3] - plain[3], mpmath.loggamma(3.5), bits=90)
    torch_full = values("poisson_nll", y, [0.5] * 4, full=True, semantics="torch", dtype="float64")
    stirling = lambda t: t * mpmath.log(t) - t + mpmath.log(mp(2 * np.pi) * t) / 2  # 2 pi as a float64
    assert torch_full[:2] == plain[:2]
    assert close(torch_full[2] - plain[2], stirling(mpmath.mpf(4)), 80)


def test_poisson_nll_torch_eps_inside_the_log():
    got = value("poisson_nll", [2.0], [0.0], log_input=False, semantics="torch", dtype="float64", eps=0.25)[0]
    assert close(got, -2 * mpmath.log(0.25), bits=90)
    # float16: eps = 1e-8 rounds to 0, torch multiplies 0 * log(0) = NaN where the ideal has 0 log 0 = 0
    assert mpmath.isnan(value("poisson_nll", [0.0], [0.0], log_input=False, semantics="torch", dtype="float16")[0])
    assert value("poisson_nll", [0.0], [0.0], log_input=False, dtype="float16")[0] == 0


# -- gaussian_nll --------------------------------------------------------------------------------------

def test_gaussian_nll_closed_forms():
    got = values("gaussian_nll", [1.5, 2.0, 1.0], [1.0, 2.0, -1.0], [0.25, 1.0, 4.0])  # input, target, var
    assert close(got[0], (mpmath.log(0.25) + 1) / 2, bits=90) and got[1] == 0 and close(got[2], (mpmath.log(4) + 1) / 2, bits=90)
    full = value("gaussian_nll", [2.0], [2.0], [1.0], full=True)[0]
    assert close(full, mpmath.log(2 * mpmath.pi) / 2, bits=90)
    assert values("gaussian_nll", [1.0, 0.0], [0.0, 0.0], [0.0, 0.0]) == [mpmath.inf, mpmath.ninf]  # the limits


def test_gaussian_nll_torch_clamps_the_variance_at_eps():
    tiny = value("gaussian_nll", [0.5], [0.0], [1e-9], semantics="torch", dtype="float64", eps=1e-3)[0]
    at_eps = value("gaussian_nll", [0.5], [0.0], [1e-3], semantics="torch", dtype="float64", eps=1e-3)[0]
    assert tiny == at_eps and close(at_eps, (mpmath.log(mp(1e-3)) + mpmath.mpf(0.25) / mp(1e-3)) / 2, bits=90)
    assert value("gaussian_nll", [0.5], [0.0], [1e-9], dtype="float64")[0] > 1e8  # the ideal has no clamp


# -- hinge_embedding, margin_ranking, soft_margin -------------------------------------------------------

def test_hinge_embedding_closed_form():
    got = values("hinge_embedding", [1.0, -1.0, -1.0, 1.0], [0.25, 0.25, 2.0, -0.5], margin=1.0)
    assert got == [mpmath.mpf(0.25), mpmath.mpf(0.75), 0, mpmath.mpf(-0.5)]


def test_margin_ranking_closed_form_and_antisymmetry():
    x1, x2, t = [1.0, 1.0, 3.0, 0.25], [2.0, 2.0, 1.0, 0.5], [1.0, -1.0, 1.0, -1.0]
    got = values("margin_ranking", x1, x2, t, margin=0.5)
    assert got == [mpmath.mpf(1.5), 0, 0, mpmath.mpf(0.25)]
    assert values("margin_ranking", x2, x1, [-v for v in t], margin=0.5) == got  # swap the inputs and the sign


def test_soft_margin_is_softplus_and_equals_multilabel_soft_margin_with_one_class():
    t, x = [1.0, -1.0, 1.0, -1.0], [2.0, 0.5, -100.0, np.inf]
    got = values("soft_margin", t, x)
    assert close(got[0], mpmath.log1p(mpmath.exp(-2)), bits=90) and close(got[2], 100 + mpmath.log1p(mpmath.exp(-100)), bits=90)
    assert got[3] == mpmath.inf
    one_class = values("multilabel_soft_margin", [[(v + 1) / 2] for v in t], [[v] for v in x])
    assert all(a == b or close(a, b, bits=90) for a, b in zip(got, one_class))


# -- multi_margin, multilabel_margin, multilabel_soft_margin ------------------------------------------

def test_multi_margin_docstring_value_and_weights():
    x = np.array([[0.1, 0.2, 0.4, 0.8]], dtype=np.float32)
    got = value("multi_margin", [3], x, dtype="float32", reduction="sum")
    x0, x1, x2, x3 = (mp(v) for v in x[0])
    assert close(got, (3 - 3 * x3 + x0 + x1 + x2) / 4, bits=90)
    squared = values("multi_margin", [0, 2], [[1.0, 0.75, -1.0], [0.5, 0.25, 1.0]], p=2, margin=0.5,
                     class_weight=[1.0, 2.0, 4.0])
    assert close(squared[0], mpmath.mpf(0.0625) / 3, bits=90) and squared[1] == 0
    weighted = value("multi_margin", [1, 2], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], class_weight=[1.0, 2.0, 4.0],
                     reduction="sum_over_batch_size")
    assert close(weighted, (2 * mpmath.mpf(2) / 3 + 4 * mpmath.mpf(2) / 3) / 2, bits=90)  # torch mean divides by N


def test_multilabel_margin_docstring_value_padding_and_no_labels():
    x = np.array([[0.1, 0.2, 0.4, 0.8]], dtype=np.float32)
    got = value("multilabel_margin", [[3, 0, -1, 1]], x, dtype="float32", reduction="sum")
    x0, x1, x2, x3 = (mp(v) for v in x[0])
    assert close(got, ((1 - (x0 - x1)) + (1 - (x0 - x2)) + (1 - (x3 - x1)) + (1 - (x3 - x2))) / 4, bits=90)
    none, two = values("multilabel_margin", [[-1, 0, 1], [2, 0, -1]], [[0.5, -0.5, 2.0], [0.0, 1.5, 0.25]])
    assert none == 0 and close(two, mpmath.mpf(4.75) / 3, bits=90)


def test_multilabel_soft_margin_equals_binary_crossentropy_from_logits():
    t = [[1.0, 0.0, 1.0], [0.0, 0.25, 1.0]]
    x = [[1.0, -2.0, 0.0], [0.5, 3.0, -1.5]]
    ours = values("multilabel_soft_margin", t, x)
    bce = values("binary_crossentropy", t, x, from_logits=True)
    assert all(close(a, b, bits=90) for a, b in zip(ours, bce))
    weighted = values("multilabel_soft_margin", [[1.0, 0.0]], [[0.0, 0.0]], class_weight=[1.0, 3.0])
    assert close(weighted[0], 2 * mpmath.log(2), bits=90)  # (1 + 3) log 2 / 2
    assert values("multilabel_soft_margin", [[1.0, 0.0]], [[np.inf, -np.inf]]) == [0]  # limits, 0 * inf = 0


# -- cosine_embedding ----------------------------------------------------------------------------------

def test_cosine_embedding_closed_forms():
    got = values("cosine_embedding", [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [3.0, 4.0]],
                 [[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [4.0, 3.0]], [1.0, -1.0, 1.0, -1.0], margin=0.5)
    assert close(got[0], 1 - 1 / mpmath.sqrt(2), bits=90) and close(got[1], 1 / mpmath.sqrt(2) - mpmath.mpf(0.5), bits=90)
    assert got[2] == 1 and close(got[3], mpmath.mpf(24) / 25 - mpmath.mpf(0.5), bits=90)


def test_cosine_embedding_parallel_is_exactly_zero_and_scale_invariant():
    x = np.array([0.3, -1.7, 2.9])
    parallel = oracle.evaluate_loss("cosine_embedding", [x], [2.0 * x], [1.0])
    assert parallel.value[0] == 0 and parallel.certified_bits >= 64
    # exactly 0 at any working precision (1 - x.y / |x||y| rounded would leave a residue, here at 96 bits)
    x = np.array([-0.535669373161111, 0.36159505490948474, 1.3040000451301372])
    input1 = np.array([[mpmath.mpf(v) for v in x]], dtype=object)
    input2 = np.array([[mpmath.mpf(v) for v in 2.0 * x]], dtype=object)
    with mpmath.workprec(96):
        direct = LOSSES["cosine_embedding"](input1, input2, np.array([mpmath.mpf(1)], dtype=object), specs.all_specs()[
            "cosine_embedding"].semantics("ideal"), "float64", margin=0.0)
    assert direct.values[0] == 0
    a = values("cosine_embedding", [x], [[1.0, 2.0, 3.0]], [1.0])
    b = values("cosine_embedding", [4.0 * x], [[0.5, 1.0, 1.5]], [1.0])
    assert close(a[0], b[0], bits=90)


def test_cosine_embedding_zero_vector_and_torch_epsilon():
    assert values("cosine_embedding", [0.0, 0.0], [1.0, 0.0], 1.0) == [1]  # unbatched: the ideal's cos(0, x) = 0
    torch = value("cosine_embedding", [[1.0, 0.0]], [[1.0, 0.0]], [1.0], semantics="torch", dtype="float64")[0]
    eps = mp(np.float32(1e-12))
    assert close(torch, 1 - 1 / (1 + eps), 80)  # cos = 1 / sqrt((1 + eps)^2)
    # float16: the 1e-12 rounds to 0 and a zero vector gives 0 / 0
    assert mpmath.isnan(value("cosine_embedding", [[0.0, 0.0]], [[1.0, 0.0]], [1.0], semantics="torch", dtype="float16")[0])


# -- triplet_margin ------------------------------------------------------------------------------------

def test_triplet_margin_closed_forms_and_swap():
    got = values("triplet_margin", [[0.0, 0.0], [1.0, 1.0]], [[3.0, 4.0], [1.0, 2.0]], [[6.0, 8.0], [1.0, 1.5]])
    assert got == [0, mpmath.mpf(1.5)]
    args = ([[0.0, 0.0]], [[1.0, 1.0]], [[1.5, 1.0]])  # anchor, positive, negative
    assert values("triplet_margin", *args, p=1.0) == [mpmath.mpf(0.5)]
    assert values("triplet_margin", *args, p=1.0, swap=True) == [mpmath.mpf(2.5)]  # d(pos, neg) = 0.5 < 2.5
    cube = values("triplet_margin", [[0.0, 0.0]], [[1.0, 1.0]], [[2.0, 2.0]], p=3.0, margin=2.0)[0]
    assert close(cube, 2 + 2 ** (1 / mpmath.mpf(3)) - 16 ** (1 / mpmath.mpf(3)), bits=90)


def test_triplet_margin_epsilon_placements():
    # torch adds eps to the difference: d(0, 1) = 1 - eps, d(1, 0) = 1 + eps; optax adds it inside the root
    eps = mp(np.float64(1e-6))
    torch = lambda a, pos, neg: value("triplet_margin", [[a]], [[pos]], [[neg]], semantics="torch", dtype="float64")[0]
    assert close(torch(0.0, 1.0, -1.0), 1 + (1 - eps) - (1 + eps), 80)
    assert close(torch(0.0, -1.0, 1.0), 1 + (1 + eps) - (1 - eps), 80)
    optax = value("triplet_margin", [[0.0, 0.0]], [[0.3, 0.4]], [[1.0, 0.0]], semantics="optax", dtype="float64")[0]
    assert close(optax, 1 + mpmath.sqrt(mpmath.mpf(0.25) + eps) - mpmath.sqrt(1 + eps), 50)


def test_optax_triplet_margin_signs_odd_powers():
    args = ([[0.0, 0.0]], [[-3.0, -4.0]], [[1.0, 0.0]])  # anchor, positive, negative
    assert values("triplet_margin", *args, p=1.0) == [7]  # |3| + |4| - 1 + 1
    assert values("triplet_margin", *args, p=1.0, semantics="optax", dtype="float64") == [9]  # 7 - (-1) + 1
    assert mpmath.isnan(values("triplet_margin", [[0.0]], [[1.0]], [[2.0]], p=3.0, semantics="optax")[0])  # (-1)^(1/3)


def test_optax_triplet_docstring_value():
    spec = specs.all_specs()["triplet_margin"]
    example = next(e for e in spec.examples if e["id"] == "optax-triplet-margin-docstring")
    got = np.asarray(oracle.evaluate(cases.example_case(spec, example)).value, dtype=object)
    assert [round(float(v), 4) for v in got] == example["printed"]


# -- ctc -----------------------------------------------------------------------------------------------

def brute_force_ctc(logp, labels, blank):
    """-log of the sum over every frame path that collapses to ``labels``."""
    total = mpmath.mpf(0)
    frames, classes = len(logp), len(logp[0])
    for path in itertools.product(range(classes), repeat=frames):
        collapsed = [c for i, c in enumerate(path) if c != blank and (i == 0 or path[i - 1] != c)]
        if collapsed == list(labels):
            total += mpmath.exp(mpmath.fsum(mp(logp[t][c]) for t, c in enumerate(path)))
    return -mpmath.log(total) if total else mpmath.inf


def test_ctc_single_frame_single_label_is_minus_log_p():
    logp = np.log([0.2, 0.5, 0.3])
    assert close(value("ctc", [[logp]], [[2]], [1])[0], -mp(logp[2]), bits=90)


def test_ctc_uniform_two_frames():
    assert close(value("ctc", np.zeros((1, 2, 2)), [[1]], [2], from_logits=True)[0], -mpmath.log(mpmath.mpf(3) / 4), bits=90)


@pytest.mark.parametrize("labels, blank", [([1, 2], 0), ([1, 1], 0), ([2], 1), ([], 0), ([2, 0, 2], 1)])
def test_ctc_forward_equals_brute_force(labels, blank):
    rng = np.random.default_rng(len(labels) + 7 * blank)
    x = rng.normal(size=(1, 4, 3))
    targets = [labels + [-1]]  # one -1 of padding, so that no labels is a (1, 1) row
    assert close(value("ctc", x, targets, [4], blank=blank)[0], brute_force_ctc(x[0], labels, blank), 80)


def test_ctc_input_lengths_ignore_later_frames_and_logit_shifts():
    rng = np.random.default_rng(1)
    x = np.round(rng.normal(size=(1, 5, 3)) * 16) / 16  # few bits, so that the shifts below are exact
    short = value("ctc", x, [[1, 2]], [3])[0]
    changed = x.copy()
    changed[0, 3:] = 7.0
    assert value("ctc", changed, [[1, 2]], [3])[0] == short
    assert close(short, value("ctc", x[:, :3], [[1, 2]], [3])[0], bits=90)
    shifts = np.array([0.5, -2.0, 4.0, 1.0, 0.25])[None, :, None]  # exact in float64
    assert close(value("ctc", x + shifts, [[1, 2]], [5], from_logits=True)[0], value("ctc", x, [[1, 2]], [5], from_logits=True)[0], bits=90)
    # from log-probabilities taken as they are, a shift of frame t adds -shift_t to the loss
    assert close(value("ctc", x + shifts, [[1, 2]], [5])[0], value("ctc", x, [[1, 2]], [5])[0] - mpmath.fsum(map(mp, shifts.ravel())),
                 bits=90)


def test_ctc_impossible_alignment_is_infinite_zero_infinity_and_optax_epsilon():
    x = np.log([[[0.2, 0.5, 0.3]], [[0.25, 0.25, 0.5]]])
    targets, lengths = [[1, 2], [2, -1]], [1, 1]  # two labels cannot fit in one frame
    assert values("ctc", x, targets, lengths)[0] == mpmath.inf
    assert values("ctc", x, targets, lengths, zero_infinity=True)[0] == 0
    assert values("ctc", x[:1], [[1, 1]], [1])[0] == mpmath.inf  # a repeat needs a blank between
    optax = values("ctc", x, targets, lengths, semantics="optax", from_logits=True, dtype="float64")
    assert 9e4 < optax[0] < 2e5
    ideal = values("ctc", x, targets, lengths, from_logits=True, dtype="float64")
    assert close(optax[1], ideal[1], 150)


def test_optax_recursion_equals_the_ideal_on_possible_alignments():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 6, 4))
    targets, lengths = [[1, 2, 2, -1], [3, -1, -1, -1], [1, 3, 1, 2]], [6, 4, 5]
    ideal = values("ctc", x, targets, lengths, from_logits=True, dtype="float64")
    optax = values("ctc", x, targets, lengths, from_logits=True, dtype="float64", semantics="optax")
    assert all(close(a, b, 150) for a, b in zip(ideal, optax))


def test_ctc_forward_helper_handles_empty_inputs():
    assert ctc_module.forward([], [], 0) == 0 and ctc_module.forward([], [1], 0) == mpmath.inf


# -- semantics against the examples --------------------------------------------------------------------

def test_every_example_evaluates_under_every_semantics_and_printed_values_agree():
    for name in FAMILY:
        spec = specs.all_specs()[name]
        assert len(spec.examples) >= 2, name
        for example in spec.examples:
            for semantics in spec.semantics_names:
                exact = oracle.evaluate(cases.example_case(spec, example, semantics=semantics))
                assert exact.certified_bits >= 64
            if example["printed"] is not None:
                exact = oracle.evaluate(cases.example_case(spec, example))
                got = np.asarray(exact.value, dtype=object).ravel()
                printed = np.ravel(example["printed"])
                decimals = np.broadcast_to(example["printed_decimals"], printed.shape)
                assert all(abs(mp(p) - v) <= mpmath.mpf(10) ** -int(d) / 2 for p, v, d in zip(printed, got, decimals))


def test_keras_ctc_computes_in_float32():
    x = np.array([[[0.1, 0.2, 0.3], [0.3, 0.1, 0.7]]])
    keras = oracle.evaluate_loss("ctc", x, [[1]], [2], semantics="keras", dtype="float64", from_logits=True)
    assert keras.ulp_dtype == "float32"


# -- inputs outside the domains ------------------------------------------------------------------------

@pytest.mark.parametrize("loss, inputs, params, match", [
    ("smooth_l1", ([0.0], [1.0]), {"beta": -0.5}, "beta"),
    ("nll", ([3], [[-0.2, -0.8]]), {}, r"labels must lie in \[0, 2\)"),
    ("nll", ([0], [[-0.2, -0.8]]), {"class_weight": [1.0]}, "class_weight has 1 entries"),
    ("poisson_nll", ([-1.0], [0.5]), {}, "non-negative"),
    ("poisson_nll", ([1.0], [-0.5]), {"log_input": False}, "rate"),
    ("gaussian_nll", ([0.0], [0.0], [-1.0]), {}, "var must be non-negative"),
    ("gaussian_nll", ([0.0, 1.0], [0.0, 1.0], [1.0]), {}, "takes input, target, var of one shape"),
    ("hinge_embedding", ([0.0], [0.3]), {}, r"-1 or \+1"),
    ("margin_ranking", ([1.0], [2.0, 3.0], [1.0]), {}, "takes input1, input2, target of one shape"),
    ("multi_margin", ([0], [[0.1, 0.2]]), {"p": 3}, r"p=3 outside \[1, 2\]"),
    ("multi_margin", ([[0]], [[[0.1, 0.2]]]), {}, r"shape \(C,\) or \(N, C\)"),
    ("multilabel_margin", ([[3, -1]], [[0.1, 0.2]]), {}, r"\[-1, 2\)"),
    ("multilabel_margin", ([[1, -2]], [[0.1, 0.2]]), {}, r"\[-1, 2\)"),
    ("multilabel_margin", ([[1, 1, -1]], [[0.1, 0.2, 0.3]]), {}, "listed twice"),
    ("multilabel_margin", ([1, -1], [[0.1, 0.2]]), {}, "shape"),
    ("multilabel_soft_margin", ([[1.0, 0.0]], [[0.1, 0.2]]), {"class_weight": [1.0]}, "class_weight"),
    ("multilabel_soft_margin", ([[1.5, 0.0]], [[0.1, 0.2]]), {}, r"\[0, 1\]"),
    ("soft_margin", ([0.5], [0.3]), {}, r"-1 or \+1"),
    ("cosine_embedding", ([[1.0, 2.0]], [[3.0]], [1.0]), {}, r"of one shape B \+ \(D,\), D >= 1"),
    ("cosine_embedding", ([[1.0]], [[2.0]], [1.0, 1.0]), {}, "target of shape .* does not match rows"),
    ("triplet_margin", ([[0.0, 0.0]], [[1.0, 1.0]], [[2.0, 2.0]]), {"margin": 0.0}, r"parameter margin=0.0 outside \(0.0, inf\)"),
    ("triplet_margin", ([[0.0, 0.0]], [[1.0, 1.0]], [[2.0, 2.0]]), {"p": 0.0}, r"parameter p=0.0 outside \(0.0, inf\)"),
    ("triplet_margin", ([[0.0, 0.0]], [[1.0, 1.0]], [[2.0]]), {}, r"of one shape B \+ \(D,\), D >= 1"),
    ("triplet_margin", ([[0.0, 0.0]], [[1.0, 1.0]], [[2.0, 2.0]]), {"eps": -1.0}, "eps"),
    ("ctc", (np.zeros((1, 2, 3)), [[0]], [2]), {}, "other than the blank"),
    ("ctc", (np.zeros((1, 2, 3)), [[3]], [2]), {}, r"classes in \[0, 3\)"),
    ("ctc", (np.zeros((1, 2, 3)), [[-1, 1]], [2]), {}, "-1 padding only"),
    ("ctc", (np.zeros((1, 2, 3)), [[1, -2]], [2]), {}, "-1 padding only"),
    ("ctc", (np.zeros((1, 2, 3)), [[1]], [3]), {}, r"input_lengths must lie in \[0, 2\]"),
    ("ctc", (np.zeros((1, 2, 3)), [[1]], [2]), {"blank": 3}, "blank=3"),
    ("ctc", (np.zeros((2, 3)), [[1]], [2]), {}, r"\(batch, frames, classes\)"),
    ("ctc", (np.zeros((1, 2, 3)), [1], [2]), {}, "ctc takes targets of shape"),  # one row, but not 2-D
    ("ctc", (np.zeros((1, 2, 3)), [[1]], [2, 2]), {}, "ctc takes input_lengths of shape"),  # a length per row
])
def test_invalid_inputs_raise_domain_error(loss, inputs, params, match):
    with pytest.raises(oracle.DomainError, match=match):
        oracle.evaluate_loss(loss, *inputs, **params)


def test_valid_edge_inputs_are_accepted():
    assert values("ctc", np.zeros((1, 2, 3)), [[-1]], [0]) == [0]  # no frames, no labels: probability 1
    assert values("ctc", np.zeros((1, 2, 3)), [[1]], [0]) == [mpmath.inf]  # no frames, one label: impossible
    assert values("triplet_margin", [[0.0, 0.0]], [[0.0, 0.0]], [[0.0, 0.0]]) == [1]  # all equal: the margin
    got = values("multilabel_margin", [1, -1, 0], [0.5, 0.25, 0.75])  # unbatched, entries after -1 ignored
    assert close(got[0], mpmath.mpf(2.75) / 3, bits=90)  # label 1 against classes 0 and 2: 1.25 + 1.5
