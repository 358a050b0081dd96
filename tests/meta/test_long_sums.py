"""Half precision with teeth: the long regime's draws, the oracle's shortcut for them, and the accumulation tolerance."""
from __future__ import annotations

import mpmath
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracle
import specs
from conformance import strategies, tolerance
from oracle import cache, expression


def test_the_long_regime_is_drawn_in_half_precision_only():
    assert "long" in strategies.regimes_for(specs.all_specs()["mean_squared_error"])
    assert "long" not in strategies.regimes_for(specs.all_specs()["ntxent"])  # batch-coupled: B**2 per draw
    assert [d for d in ("float16", "bfloat16", "float32", "float64")
            if strategies.regime_applies("long", d, "float32")] == ["float16", "bfloat16"]
    assert strategies.regime_applies("moderate", "float64", "float32")


def test_a_long_run_is_a_few_samples_then_one_repeated():
    spec = specs.all_specs()["binary_crossentropy"]

    @settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data):
        inputs, params, weights = data.draw(strategies.long_run(spec, "bfloat16", 4096))
        y_pred = inputs["y_pred"]
        assert 2048 <= y_pred.shape[0] <= 4096
        assert y_pred.shape[0] - len({row.tobytes() for row in y_pred}) >= 2048 - strategies.LONG_SEED_ELEMENTS
        assert np.array_equal(y_pred[-1], y_pred[-2]) and np.array_equal(inputs["y_true"][-1], inputs["y_true"][-2])
        if weights is not None and np.ndim(weights):
            assert len(weights) == y_pred.shape[0]

    check()


def _batch(loss, n, **params):
    rng = np.random.default_rng(7)
    y_true = np.repeat((rng.uniform(0, 1, (3, 4)) > 0.5).astype(float), [1, 1, n - 2], axis=0)
    y_pred = np.repeat(rng.uniform(0.05, 0.95, (3, 4)), [1, 1, n - 2], axis=0)
    return specs.make_case(loss, y_true, y_pred, params=params, dtype="float32", reduction="sum_over_batch_size",
                           semantics="keras", sample_weight=np.repeat([2.0, 0.5, 1.0], [1, 1, n - 2]))


def test_repeated_samples_are_evaluated_once_and_give_the_same_exact_value(monkeypatch):
    case = _batch("binary_crossentropy", 300, label_smoothing=0.1)
    calls = []
    loss = expression.LOSSES["binary_crossentropy"]
    monkeypatch.setitem(expression.LOSSES, "binary_crossentropy",
                        lambda *a, **k: calls.append(np.shape(a[1])) or loss(*a, **k))
    monkeypatch.setattr(cache, "_connection", lambda: None)  # no disk cache, even one an earlier test opened
    expression.forget()
    shared = oracle.evaluate(case)
    assert calls and all(shape[0] == 3 for shape in calls)  # three distinct samples, never the batch of 300
    monkeypatch.setattr(expression, "_distinct_samples", lambda *a: None)
    expression.forget()
    full = oracle.evaluate(case)
    assert shared.value == full.value and shared.certified_bits == full.certified_bits
    assert (shared.n_terms, shared.abs_terms) == (full.n_terms, full.abs_terms)


def test_samples_that_read_the_batch_are_not_shared():
    rows = {"y_true": np.ones((5, 3)), "y_pred": np.full((5, 3), 0.5)}
    case = specs.make_case("categorical_crossentropy", rows["y_true"], rows["y_pred"], dtype="float32")
    spec = specs.all_specs()["categorical_crossentropy"]
    sem = spec.semantics("keras")
    assert expression._distinct_samples(spec, {}, sem, case, rows) is not None
    assert expression._distinct_samples(spec, {"axis": 0}, sem, case, rows) is None  # axis 0 is the class axis
    moved = {**rows, "y_pred": rows["y_pred"] * np.array([[1.0], [1.0], [2.0], [1.0], [1.0]])}
    assert expression._distinct_samples(spec, {}, sem, case, moved) is None  # what the case repeats, moved apart
    tf1 = specs.all_specs()["mean_pairwise_squared_error"]
    assert expression._distinct_samples(tf1, {}, tf1.semantics("tf1_eager"), case, rows) is None  # counts the batch


def test_the_summation_allowance_follows_the_declared_accumulation():
    """4096 equal bfloat16 terms: a float32 accumulator leaves a couple of ULPs; a running sum of the dtype would be
    allowed more than the sum itself (the weakness the accumulation precision removes)."""
    exact = oracle.evaluate_loss("mean_squared_error", np.zeros((4096, 1)), np.full((4096, 1), 0.75),
                                 reduction="sum", dtype="bfloat16", semantics="keras")
    wide = tolerance.derive(exact, [mpmath.mpf(0)])
    assert float(wide.summation[0]) < 3
    running = oracle.evaluate_loss("mean_squared_error", np.zeros((4096, 1)), np.full((4096, 1), 0.75),
                                   reduction="sum", dtype="bfloat16", semantics="keras+running_sum")
    loose = tolerance.derive(running, [mpmath.mpf(0)])
    assert loose.summation[0] * float(2 ** -8) > 1  # (n - 1) u >= 1: the bound admits any result of the right order
    assert tolerance.summation_roundoff("float32", "float16") == (mpmath.ldexp(1, -24), mpmath.ldexp(1, -11))
    assert tolerance.summation_roundoff("float64", "float64") == (mpmath.ldexp(1, -53), 0)
    # a convention computing in float32, measured in the declared float64 (convention detection): float64's sums
    assert tolerance.summation_roundoff("float32", "float64") == (mpmath.ldexp(1, -53), 0)


def test_a_long_run_is_stored_and_printed_once_and_read_back_exactly():
    from adapters import reproduce
    from core.case import Case

    rows = np.repeat(np.array([[0.1, 0.2], [-0.0, 0.5], [0.0, 0.5]]), [1, 1, 4000], axis=0)
    case = specs.make_case("mean_squared_error", rows, 2 * rows, dtype="bfloat16", reduction="sum",
                           sample_weight=np.repeat([1.0, 2.0], [2, 4000]))
    stored = case.to_dict()
    assert stored["inputs"]["y_true"]["repeats"] == [1, 1, 4000] and len(stored["inputs"]["y_true"]["data"]) == 3
    back = Case.from_dict(stored)
    assert all(np.array_equal(back.inputs[k].view(np.uint16), case.inputs[k].view(np.uint16)) for k in case.inputs)
    assert np.array_equal(back.sample_weight, case.sample_weight)
    assert len(case.reproducer()) < 1000 and len(reproduce.literal(case.inputs["y_true"])) < 200
    assert np.array_equal(np.array(eval(reproduce.literal(case.inputs["y_true"]))), case.inputs["y_true"].astype(float))
