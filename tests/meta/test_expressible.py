"""Every regime reachable on every implementation (issue "Detection power", item 3).

The draws are shared by every implementation, and ``conformance.expressible`` re-expresses a draw that an API cannot
spell (probabilities for a logits-only loss, per-sample weights for a loss that takes none, CTC input lengths for an
API that reads them from the shape). What no re-expression reaches is measured here, per (implementation, loss): the
share of property draws that end ``unsupported`` under every reduction, i.e. that reach the implementation not at all.
Nothing here calls a framework: ``plan`` is pure, so the share is the adapters' own answer.

THRESHOLD: 0.4. What stays out of reach by design is at most two regimes of a loss's six: probabilities of exactly 0
or 1 on a logits-only API (the boundary regime: a finite logit cannot say it), and an all-ignored batch on an API with
no ignored class. That is 1/3 of the draws; the rest of the margin is the sampling noise of four draws per regime.
Before the re-expression, Keras CTC was at 1.0 (every draw unsupported), optax's sparse cross-entropy at 0.77 and
torch's margin and embedding losses at 0.6-0.7 (test_the_share_bites_without_re_expression keeps the first of these
measurable).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import specs
from adapters import registry
from conformance import expressible, strategies

THRESHOLD = 0.4
DRAWS = 4  # per regime: the share is of (loss, regime) cells, each a handful of draws as in the quick profile
BUILTIN = sorted(registry.BUILTIN)


@pytest.fixture(scope="module")
def adapters():
    """Every built-in adapter, each made in its own environment (KERAS_BACKEND), none set up: no framework imported."""
    import os

    made = {}
    for name in BUILTIN:
        saved = dict(os.environ)
        try:
            made[name] = registry.resolve_direct(name)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return made


def unsupported_share(adapter, loss: str, express=expressible.express) -> tuple[float, list[str]]:
    """(the share of draws that no reduction of ``adapter`` supports, after ``express``; their reasons)."""
    spec = specs.all_specs()[loss]
    semantics = adapter.semantics_for(loss)
    elementwise = spec.semantics(semantics)["axis_reduction"] == "none"
    wasted, total, reasons = [0], [0], []
    for regime in strategies.regimes_for(spec):
        @seed(0)
        @settings(max_examples=DRAWS, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def draw(data):
            inputs, params, weights = data.draw(strategies.loss_inputs(spec, regime, "float32", 256, elementwise))
            answers = []
            for reduction in strategies.reductions_for(spec):
                case = specs.make_case(loss, inputs=inputs, params=params, dtype="float32", sample_weight=weights,
                                       reduction=reduction, semantics=semantics, variant=adapter.variants[0])
                answers.append(adapter.supports(express(adapter, case)[0]))
            total[0] += 1
            if all(a is not True for a in answers):
                wasted[0] += 1
                reasons.append(f"{regime}: {answers[0]}")

        draw()
    return wasted[0] / max(1, total[0]), reasons


@pytest.mark.parametrize("loss", sorted(specs.all_specs()))
def test_draws_reach_every_implementation(adapters, loss):
    over = {}
    for name, adapter in adapters.items():
        if loss not in adapter.semantics:
            continue  # not implemented: the coverage table says so, no draws are spent on it
        share, reasons = unsupported_share(adapter, loss)
        if share > THRESHOLD:
            over[name] = (share, sorted(set(reasons))[:4])
    assert not over, "\n".join(f"{name}: {share:.0%} of the {loss} draws end unsupported (threshold {THRESHOLD:.0%}): "
                               + "; ".join(reasons) for name, (share, reasons) in over.items())


def test_the_share_bites_without_re_expression(adapters):
    """Without re-expression every Keras CTC draw is unsupported (it takes no input lengths and always applies
    log_softmax): the measurement above can fail, and did before conformance.expressible."""
    share, reasons = unsupported_share(adapters["keras-jax"], "ctc", express=lambda adapter, case: (case, ()))
    assert share > THRESHOLD, reasons
    assert unsupported_share(adapters["keras-jax"], "ctc")[0] <= THRESHOLD


def _case(loss, params, reduction="sum", **inputs):
    return specs.make_case(loss, inputs={k: np.asarray(v, dtype=float) for k, v in inputs.items()}, params=params,
                           dtype="float64", reduction=reduction)


def test_probabilities_become_logits_of_the_same_loss():
    """A logits-only API gets the draw's probabilities as logits: the exact loss is the draw's (to rounding)."""
    import oracle

    class LogitsOnly:
        def supports(self, case):
            return True if case.kwargs.get("from_logits") else "takes logits only (from_logits=False)"

    for loss, y_true, y_pred in [
        ("binary_crossentropy", [[0.0, 1.0, 0.3]], [[0.2, 0.9, 0.5]]),
        ("categorical_crossentropy", [[0.0, 1.0, 0.0]], [[0.2, 0.5, 0.3]]),
    ]:
        case = _case(loss, {}, y_true=y_true, y_pred=y_pred)
        rewritten, taken = expressible.express(LogitsOnly(), case)
        assert taken == ("from_logits=True",) and "expressed: from_logits=True" in rewritten.origin
        assert float(oracle.evaluate(rewritten).as_float()) == pytest.approx(float(oracle.evaluate(case).as_float()), rel=1e-12)


def test_a_boundary_probability_is_not_made_an_infinite_logit():
    """p = 0 has no finite logit: the draw stays as it is, unsupported, rather than becoming the infinite regime."""
    class LogitsOnly:
        def supports(self, case):
            return True if case.kwargs.get("from_logits") else "takes logits only (from_logits=False)"

    case = _case("binary_crossentropy", {}, y_true=[[0.0, 1.0]], y_pred=[[0.0, 0.9]])
    assert expressible.express(LogitsOnly(), case) == (case, ())


def test_a_flag_is_not_flipped_into_a_refusal_of_itself():
    """Keras CTC: from_logits is already what Keras computes; flipping it would only trade one refusal for another,
    so the route taken is zero_infinity at its default, then every input length = T."""
    class KerasLikeCTC:
        def supports(self, case):
            p = case.kwargs
            if not p.get("from_logits"):
                return "takes no from_logits parameter: it always computes with from_logits=True"
            if p.get("zero_infinity"):
                return "takes no zero_infinity parameter"
            lengths = case.inputs["input_lengths"]
            return True if np.all(lengths == case.inputs["log_probs"].shape[1]) else f"input lengths {lengths.tolist()}"

    case = specs.make_case("ctc", inputs={"log_probs": np.zeros((2, 3, 3)), "targets": np.array([[1], [2]]),
                                          "input_lengths": np.array([2, 3])},
                           params={"from_logits": True, "zero_infinity": True}, dtype="float32", reduction="sum")
    rewritten, taken = expressible.express(KerasLikeCTC(), case)
    assert taken == ("zero_infinity at its default", "every input length = T")
    assert rewritten.inputs["input_lengths"].tolist() == [3, 3] and rewritten.kwargs.get("from_logits") is True


def test_the_class_axis_moves_last_with_its_rows():
    """An API with no axis parameter gets the same rows along the last axis: the same exact loss, per sample."""
    import oracle

    class LastAxisOnly:
        def supports(self, case):
            return True if case.kwargs.get("axis", -1) == -1 else "no axis parameter"

    y_true = np.eye(3)[[0, 2, 1, 1]].T  # classes along axis 0: (3 classes, 4 samples)
    y_pred = np.array([[0.2, 0.5, 0.3, 0.1], [0.5, 0.25, 0.3, 0.6], [0.3, 0.25, 0.4, 0.3]])
    case = specs.make_case("categorical_crossentropy", inputs={"y_true": y_true, "y_pred": y_pred}, params={"axis": 0},
                           dtype="float64", reduction="none")
    rewritten, taken = expressible.express(LastAxisOnly(), case)
    assert taken == ("class axis last",) and rewritten.inputs["y_pred"].shape == (4, 3)
    assert np.allclose(oracle.evaluate(rewritten).as_float(), oracle.evaluate(case).as_float())
