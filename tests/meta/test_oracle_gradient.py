"""The oracle's derivatives against derivatives known in closed form, at kinks, and through every layout."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import oracle
import specs
from conformance import tolerance
from oracle import cache, gradient
from oracle.gradient import evaluate_gradient, gradient_condition


def _case(loss, reduction="sum", dtype="float64", params=None, semantics="ideal", sample_weight=None, **inputs):
    return specs.make_case(loss, inputs={k: np.asarray(v) for k, v in inputs.items()}, params=params or {}, dtype=dtype,
                           reduction=reduction, semantics=semantics, sample_weight=sample_weight)


def _floats(a) -> np.ndarray:
    return np.vectorize(lambda v: np.nan if v is None else float(v), otypes=[float])(a)


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    # the connection is opened once per process (cache._connection): the variable alone would be read too late
    # wherever an earlier test opened it
    monkeypatch.setenv("LOSSCONF_ORACLE_CACHE", "off")
    monkeypatch.setattr(cache, "_connection", lambda: None)


def test_softmax_cross_entropy_gradient_is_softmax_minus_target():
    z, y = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]]), np.array([[0.0, 1.0, 0.0], [0.25, 0.25, 0.5]])
    g = evaluate_gradient(_case("categorical_crossentropy", y_true=y, y_pred=z, params={"from_logits": True}), ("y_pred",))
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert np.allclose(_floats(g.right["y_pred"]), softmax - y, rtol=1e-14, atol=0)
    assert g.certified_bits >= gradient.REQUIRED_BITS
    assert np.allclose(_floats(g.left["y_pred"]), _floats(g.right["y_pred"]), rtol=1e-15)  # smooth: both sides agree


def test_mean_squared_error_gradient_under_each_reduction():
    y, p = np.array([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]]), np.array([[0.5, 0.5], [1.0, 1.0], [0.5, 0.75]])
    per_element = 2 * (p - y) / p.shape[1]  # d/dp of the mean over the last axis
    w = np.array([1.0, 3.0, 0.5])
    for reduction, factor in [("sum", np.ones(3)), ("sum_over_batch_size", np.full(3, 1 / 3)),
                              ("mean_with_sample_weight", w / w.sum())]:
        case = specs.make_case("mean_squared_error", inputs={"y_true": y, "y_pred": p}, dtype="float64", reduction=reduction,
                               sample_weight=w if reduction == "mean_with_sample_weight" else None)
        g = evaluate_gradient(case, ("y_pred",))
        assert np.allclose(_floats(g.right["y_pred"]), per_element * factor[:, None], rtol=1e-15), reduction


def test_reduction_none_is_the_vector_jacobian_product_with_the_cotangent():
    z, y = np.array([[0.5], [-2.0], [4.0]]), np.array([[1.0], [0.0], [1.0]])
    cotangent = np.array([2.0, -1.0, 3.0])
    g = evaluate_gradient(_case("binary_crossentropy", "none", y_true=y, y_pred=z, params={"from_logits": True}),
                          ("y_pred",), cotangent)
    sigmoid = 1 / (1 + np.exp(-z))
    assert np.allclose(_floats(g.right["y_pred"]), cotangent[:, None] * (sigmoid - y), rtol=1e-14)
    with pytest.raises(ValueError, match="cotangent"):
        evaluate_gradient(_case("binary_crossentropy", "none", y_true=y, y_pred=z, params={"from_logits": True}), ("y_pred",))


def test_a_kink_has_both_one_sided_derivatives():
    # |p - y| at p = y (mean absolute error), and the hinge max(0, 1 - y p) at its margin y p = 1
    mae = evaluate_gradient(_case("mean_absolute_error", y_true=[[0.5, 2.0]], y_pred=[[0.5, 1.0]]), ("y_pred",))
    assert _floats(mae.left["y_pred"]).tolist() == [[-0.5, -0.5]]
    assert _floats(mae.right["y_pred"]).tolist() == [[0.5, -0.5]]
    hinge = evaluate_gradient(_case("hinge", y_true=[[1.0]], y_pred=[[1.0]]), ("y_pred",))
    assert _floats(hinge.left["y_pred"]).tolist() == [[-1.0]] and _floats(hinge.right["y_pred"]).tolist() == [[0.0]]


def test_a_clip_zeroes_the_derivative_beyond_its_bound_and_not_before():
    """Keras clips probabilities to [eps, 1 - eps]: below eps the loss is flat; above it is -log p."""
    eps = 1e-7
    below = evaluate_gradient(_case("binary_crossentropy", y_true=[[1.0]], y_pred=[[1e-9]], semantics="keras"), ("y_pred",))
    assert _floats(below.right["y_pred"]).tolist() == [[0.0]]
    above = evaluate_gradient(_case("binary_crossentropy", y_true=[[1.0]], y_pred=[[10 * eps]], semantics="keras"), ("y_pred",))
    assert np.isclose(_floats(above.right["y_pred"])[0, 0], -1 / np.float64(10 * eps), rtol=1e-6)


def test_coupled_layout_agrees_with_the_row_layout(monkeypatch):
    """The element-at-a-time path (any layout) gives what the column-at-a-time path gives where both apply."""
    case = _case("categorical_crossentropy", y_true=np.eye(3)[[0, 2]], y_pred=[[1.0, 2.0, -1.0], [0.0, 0.5, 3.0]],
                 params={"from_logits": True})
    rows = evaluate_gradient(case, ("y_pred",))
    monkeypatch.setattr(gradient, "_layout", lambda *a: ("coupled", None))
    oracle.forget()  # the draw's partials are memoised: compute them again, the other way
    coupled = evaluate_gradient(case, ("y_pred",))
    assert np.array_equal(_floats(rows.right["y_pred"]).round(14), _floats(coupled.right["y_pred"]).round(14))


def test_every_input_of_a_custom_layout():
    a, p, n = [[0.0, 1.0], [1.0, 1.0]], [[0.0, 2.5], [1.0, 0.0]], [[2.0, 1.0], [1.0, 3.5]]
    g = evaluate_gradient(_case("triplet_margin", anchor=a, positive=p, negative=n, params={"margin": 1.0}),
                          ("anchor", "positive", "negative"))
    a, p, n = map(np.asarray, (a, p, n))
    d_ap, d_an = np.linalg.norm(a - p, axis=1), np.linalg.norm(a - n, axis=1)
    active = (d_ap - d_an + 1.0) > 0
    expected = ((a - p) / d_ap[:, None] - (a - n) / d_an[:, None]) * active[:, None]
    assert np.allclose(_floats(g.right["anchor"]), expected, atol=1e-9)
    assert np.allclose(_floats(g.right["negative"]), ((a - n) / d_an[:, None]) * active[:, None], atol=1e-9)


def test_the_tolerance_grows_with_the_derivatives_conditioning():
    case = _case("categorical_crossentropy", dtype="float32", y_true=[[0.0, 1.0, 0.0]], y_pred=[[30.0, 2.0, -40.0]],
                 params={"from_logits": True})
    g = evaluate_gradient(case, ("y_pred",))
    kappa = gradient_condition(case, ("y_pred",))
    lower, full = tolerance.derive_gradient(g, "y_pred"), tolerance.derive_gradient(g, "y_pred", kappa["y_pred"])
    assert np.all(full.ulps >= lower.ulps) and full.ulps[2] > 10 * lower.ulps[2]  # exp(-40) moves with z: |z| = 40
    # the tiny softmax component keeps a tolerance of ULPs of its own size, not of the row's (its share is tiny)
    assert lower.ulps[2] < 16


@pytest.mark.parametrize("loss, params, weights", [
    ("categorical_crossentropy", {"from_logits": True}, [0.5, 2.0, 1.0, 3.0]),
    ("binary_crossentropy", {}, None),
])
def test_the_conditioning_of_some_rows_is_the_whole_batchs_on_those_rows(loss, params, weights):
    """gradient_condition(where=...) differentiates only the rows of the components asked for: it must give them what
    the whole batch gives, and 0 elsewhere (a row estimated from the wrong rows' inputs, signs or coefficients
    differs)."""
    rng = np.random.default_rng(3)
    y_true = np.eye(3)[rng.integers(0, 3, 4)] if loss.startswith("categorical") else (rng.uniform(size=(4, 3)) > 0.5) * 1.0
    y_pred = rng.normal(size=(4, 3)) * 4 if params else rng.uniform(0.01, 0.99, size=(4, 3))
    case = _case(loss, dtype="float32", y_true=y_true, y_pred=y_pred, params=params, reduction="sum_over_batch_size",
                 sample_weight=weights)
    whole = gradient_condition(case, ("y_pred",))["y_pred"]
    where = np.zeros((4, 3), bool)
    where[2, 1] = where[0, 2] = True
    some = gradient_condition(case, ("y_pred",), where={"y_pred": where.ravel()})["y_pred"]
    assert list(some[[0, 2]].ravel()) == list(whole[[0, 2]].ravel()) and any(v != 0 for v in whole[[0, 2]].ravel())
    assert all(v == 0 for v in some[[1, 3]].ravel())


def test_the_conditioning_at_a_clip_bound_is_the_slope_the_move_makes():
    """Poisson's derivative at p = 0 is (1 - y / eps) / n: moving y by t y moves it by t y / eps / n, so the estimate
    is at least that. Its two-point quotients' errors (opposite signs on the two sides, about h f'' with f'' = y /
    eps**2) must stay far below that move: at a step of 2**-48 they were half of it, and the nearer side halved the
    slope (209.7 where the move gives 419.5)."""
    y_true = np.array([1e-4, 2.0], dtype=np.float16)
    case = _case("poisson", dtype="float16", semantics="keras", reduction="sum_over_batch_size", y_true=y_true,
                 y_pred=np.array([0.0, 1.5], dtype=np.float16))
    eps = float(np.float16(1e-7))  # Keras's epsilon in the dtype (round_constants)
    move = float(y_true[0]) / eps / 2
    kappa = float(gradient_condition(case, ("y_pred",))["y_pred"][0])
    assert move * 0.99 < kappa < move * 4


def test_uncertifiable_derivatives_say_so(monkeypatch):
    """Too few bits of working precision for the step to converge: the record keeps the bits it certified."""
    monkeypatch.setattr(gradient, "Q_BITS", (4,))
    g = evaluate_gradient(_case("mean_squared_error", y_true=[[0.0]], y_pred=[[mpmath.mpf(1) / 3]]), ("y_pred",))
    assert g.certified_bits < gradient.REQUIRED_BITS


def test_a_derivative_far_below_the_loss_is_resolved_not_read_as_zero():
    """torch's cosine similarity of subnormal vectors divides by its eps: a derivative of -9.9e-312 whose quotient
    moves the loss (about -1e-630) by 2**-1100 of itself per step."""
    g = evaluate_gradient(_case("cosine_similarity", y_true=[[1e-323, 1e-323]], y_pred=[[1e-323, 1e-323]], semantics="torch"),
                          ("y_pred",))
    assert np.allclose(_floats(g.right["y_pred"]), -9.88131295631e-312, rtol=1e-9, atol=0)
    assert g.certified_bits >= gradient.REQUIRED_BITS
    # a prediction of 1e-214 beside targets of order 1: a mean of squares moves by 1e-214 * 2**-q per step
    g = evaluate_gradient(_case("mean_squared_error", y_true=[[1.0, -3.0]], y_pred=[[-1.03e-214, 5e-324]]), ("y_pred",))
    assert _floats(g.right["y_pred"]).tolist() == [[-1.0, 3.0]]


def test_a_flat_loss_has_a_zero_derivative_with_every_bit_certified():
    """Below the clip bound Keras' binary cross-entropy is constant: its derivative is 0, not mpmath's rounding noise."""
    g = evaluate_gradient(_case("binary_crossentropy", dtype="float32", y_true=[[1.0]], y_pred=[[1e-9]], semantics="keras"),
                          ("y_pred",))
    assert _floats(g.left["y_pred"]).tolist() == [[0.0]] and _floats(g.right["y_pred"]).tolist() == [[0.0]]
    assert g.certified_bits >= gradient.REQUIRED_BITS


def test_the_gradient_is_public_beside_the_value():
    """oracle.gradient_of_loss, the script form of oracle.evaluate_gradient: d/dp of mean_k -(y log p + (1-y) log(1-p))
    is -y / (K p) + (1 - y) / (K (1 - p)), here with K = 2 classes."""
    g = oracle.gradient_of_loss("binary_crossentropy", [[1.0, 0.0]], [[0.3, 0.2]], dtype="float64")
    assert isinstance(g, oracle.ExactGradient) and g.wrt == ("y_pred",)
    assert np.allclose(_floats(g.right["y_pred"]), [[-1 / 0.6, 1 / 1.6]], rtol=1e-15, atol=0)
    with pytest.raises(ValueError, match="cotangent"):
        oracle.gradient_of_loss("binary_crossentropy", [[1.0]], [[0.3]], reduction="none")


@pytest.mark.parametrize("loss, semantics, params", [
    ("mean_squared_logarithmic_error", "keras2", {}),
    ("binary_focal_crossentropy", "keras_tf", {"gamma": 3.0, "apply_class_balancing": True}),
    ("kl_divergence", "ideal", {}),
])
def test_elementwise_terms_differentiate_as_their_rows(monkeypatch, loss, semantics, params):
    """A row of elementwise terms is differenced with every element moved at once (each term reads its own):
    the derivatives must be those of the row differenced a column at a time, None where the row is infinite."""
    monkeypatch.setattr(cache, "get", lambda key: None)  # both computed here, neither read back from disk
    monkeypatch.setattr(cache, "get_scoped", lambda base, semantics: None)
    rng = np.random.default_rng(7)
    y_true, y_pred = rng.uniform(0.05, 0.95, size=(3, 5)), rng.uniform(0.05, 0.95, size=(3, 5))
    y_pred[1, 2] = 0.0  # KL's log q = -inf: that whole row has no derivative
    separable = gradient._separable
    for y, p in ((y_true, y_pred), (y_true[1], y_pred[1])):  # rows of a batch, and one sample (a 0-d loss)
        case = _case(loss, y_true=y, y_pred=p, params=params, semantics=semantics)
        monkeypatch.setattr(gradient, "_separable", separable)
        moved_at_once = evaluate_gradient(case, ("y_pred",))
        oracle._PER_SAMPLE_MEMO.clear()
        monkeypatch.setattr(gradient, "_separable", lambda *a: False)
        by_column = evaluate_gradient(case, ("y_pred",))
        for side in ("left", "right"):
            a, b = getattr(moved_at_once, side)["y_pred"].ravel(), getattr(by_column, side)["y_pred"].ravel()
            assert [v is None for v in a] == [v is None for v in b]
            assert loss != "kl_divergence" or a[5 if p.ndim == 2 else 0] is None
            assert all(u is None or abs(u - v) <= abs(v) * mpmath.mpf(2) ** -80 for u, v in zip(a, b))
