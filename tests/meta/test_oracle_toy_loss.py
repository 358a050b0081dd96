"""Adding a loss as a newcomer would (README, "Adding a loss"): a spec, one oracle function and one line per
adapter, here the numpy reference's. The checklist then reports the loss complete, the strategies draw inputs
the oracle accepts, and the judge passes the adapter on the documented example and on drawn cases."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracle
import specs
from adapters import numpy_losses
from adapters.numpy_reference import NumpyReferenceAdapter
from conformance import cases, checklist, judge, strategies
from core import verdicts
from oracle.losses import LOSSES
from oracle.losses.common import from_terms

SPEC = """\
    name: toy_absolute_error
    title: Toy absolute error
    formula: l = mean_last_axis |y_pred - y_true|
    params: {}
    inputs: {y_true: real, y_pred: real, shapes: same}
    semantics:
      ideal: {citation: "the mathematics: the mean absolute difference over the last axis"}
    examples:
      - id: toy-absolute-error-sum
        source: worked by hand for this test
        semantics: ideal
        dtype: float32
        reduction: sum
        y_true: [[0.0, 1.0], [2.0, 4.0]]
        y_pred: [[1.0, 1.0], [0.0, 4.0]]
        printed: 1.5
        printed_decimals: 1
"""


def toy_absolute_error(y_true, y_pred, sem, dtype):
    """The oracle function a newcomer writes: exact elementwise terms, averaged over the last axis."""
    return from_terms(abs(y_pred - y_true), -1, sem)


@pytest.fixture
def toy_loss(tmp_path, monkeypatch):
    (tmp_path / "toy_absolute_error.yaml").write_text(textwrap.dedent(SPEC))  # 1. the spec
    monkeypatch.setattr(specs, "SPEC_DIRS", (*specs.SPEC_DIRS, tmp_path))
    specs.all_specs.cache_clear()
    monkeypatch.setitem(LOSSES, "toy_absolute_error", toy_absolute_error)  # 2. the oracle function
    # 3. one line for the numpy reference adapter (its library is numpy: the line is the implementation)
    monkeypatch.setitem(numpy_losses.PER_SAMPLE, "toy_absolute_error",
                        lambda case: np.abs(numpy_losses._work(case.y_pred) - numpy_losses._work(case.y_true)).mean(axis=-1))
    monkeypatch.setattr(oracle.cache, "get", lambda key: None)  # keep the toy's values out of the shared cache
    monkeypatch.setattr(oracle.cache, "put", lambda key, value: None)
    yield specs.all_specs()["toy_absolute_error"]
    specs.all_specs.cache_clear()


def test_the_checklist_reports_the_toy_loss_complete(toy_loss):
    (entry,) = [e for e in checklist.entries({"numpy": NumpyReferenceAdapter()}) if e.loss == "toy_absolute_error"]
    assert entry.missing == [], entry.line()
    assert entry.adapters == {"numpy": "ideal"} and entry.oracle_tests == ["test_oracle_toy_loss.py"]


def test_the_documented_example_passes(toy_loss):
    example = toy_loss.examples[0]
    assert oracle.evaluate(cases.example_case(toy_loss, example)).value == 1.5
    record = judge.judge(NumpyReferenceAdapter(), cases.example_case(toy_loss, example, semantics="ideal"))
    assert record["verdict"] == verdicts.PASS, record["explanation"]


def test_drawn_cases_pass_in_every_regime(toy_loss):
    adapter = NumpyReferenceAdapter()

    @settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data):
        regime = data.draw(st.sampled_from(strategies.regimes_for(toy_loss)))
        inputs, params, weights = data.draw(strategies.loss_inputs(toy_loss, regime, "float32", 64))
        reduction = data.draw(st.sampled_from(strategies.reductions_for(toy_loss)))
        case = specs.make_case("toy_absolute_error", inputs=inputs, params=params, dtype="float32", sample_weight=weights,
                               reduction=reduction, semantics="ideal")
        record = judge.judge(adapter, case)
        assert record["verdict"] == verdicts.PASS, (record["explanation"], case.to_dict())

    check()
