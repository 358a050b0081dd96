"""Property-based conformance: hypothesis draws from each spec's domains, in named edge regimes.

Every draw is judged against the oracle under the declared semantics (with the derived tolerance), and
``hypothesis.target`` steers the search towards the implementation's worst inputs; the worst draw of
each (impl, loss, reduction, dtype) cell is kept in the results with its arrays.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, seed, settings, target
from hypothesis import strategies as st

import oracle
import specs
from conformance import expectations, expressible, judge, outcome, session as session_mod, strategies
from core import dtypes, phases

MAX_ELEMENTS = {"quick": 4096, "full": 100_000}
# The large regime's row length: conditioning a loss that couples its row (softmax, renormalisation) costs one
# evaluation of every element per class, so the quick profile keeps elements x classes within 2**17
# (1000 classes of a softmax would cost minutes per draw); the night run draws up to 1000 classes unbounded.
MAX_CLASSES = {"quick": 100, "full": 1000}
MAX_WORK = {"quick": 2 ** 17, "full": None}


def _failure(record: dict) -> bool:
    """A draw that counts against the implementation (not excused by a recorded expectation). A passing draw is
    noted in the scope of the entries that cover it, for the run's audit of the expectations."""
    if record["verdict"] == "unsupported":
        return False
    entry = expectations.note(record["impl"], record)
    return record["verdict"] != "pass" and not expectations.expects(entry, record["verdict"])


def _negative_where_nonnegative(record: dict) -> bool:
    """The exact value is >= 0 everywhere (all these losses are) but the implementation returned < 0."""
    exact = record.get("exact")
    exact = exact if isinstance(exact, list) else [exact]
    got = record.get("got") or []
    return all(e is not None and not str(e).startswith("-") for e in exact) and any(g < 0 for g in got)


def _representable(case) -> bool:
    """Whether the exact result of ``case`` is finite once rounded to the dtype it is measured in. The long regime is
    about how a sum accumulates, not about the range (the extreme regime's question): a draw whose exact sum itself
    overflows float16 is drawn again."""
    try:
        exact = oracle.evaluate(case)
    except ValueError:  # the judge reports it
        return True
    return all(mpmath.isfinite(dtypes.round_to(v, exact.ulp_dtype)) for v in np.asarray(exact.value, dtype=object).ravel())


def drawn(lossconf, test: str, cell, spec, regime: str, dtype: str, elementwise: bool, max_elements: int,
          draws: int | None = None):
    """Makes ``body(data, inputs, params, weights)`` a hypothesis test of one cell: the run's seed, the example
    database of ``test`` and ``cell`` (strategies.shared_database), and the loss's inputs drawn in ``regime`` (timed
    as the "draw" phase); ``draws`` examples where given, else the profile's. The value properties, the gradient
    tests and the gradient relations draw alike."""
    def wrap(body):
        @seed(lossconf.seed)
        @settings(suppress_health_check=list(HealthCheck), deadline=None, database=strategies.shared_database(test, cell),
                  **({"max_examples": draws} if draws else {}))
        @given(data=st.data())
        def check(data):
            with phases.timed("draw"):
                inputs, params, weights = data.draw(
                    strategies.loss_inputs(spec, regime, dtype, max_elements, elementwise,
                                           max_classes=MAX_CLASSES[lossconf.profile], max_work=MAX_WORK[lossconf.profile]),
                    label="inputs")
            body(data, inputs, params, weights)
        return check
    return wrap


def test_agrees_with_oracle(lossconf, property_axes):
    impl, variant, device, dtype, loss, regime = property_axes
    adapter = lossconf.adapter(impl)
    spec = specs.all_specs()[loss]
    semantics = adapter.semantics_for(loss) or "ideal"
    elementwise = spec.semantics(semantics)["axis_reduction"] == "none"
    cells = set()

    # one example database per (device, dtype, loss, regime), shared by every implementation and variant: with the
    # same seed they draw the same inputs, so results compare side by side, a worst case found for one is replayed
    # for the others, and implementations declaring the same semantics share the oracle's cached values
    @drawn(lossconf, "properties", property_axes[2:], spec, regime, dtype, elementwise, MAX_ELEMENTS[lossconf.profile])
    def check(data, inputs, params, weights):
        # every reduction on every draw (covered on purpose, not left to chance); the large regime draws one, the
        # long one one that sums (its point is the length of the sum)
        applicable = strategies.reductions_for(spec)
        if regime == "long":
            applicable = tuple(r for r in applicable if r != "none") or applicable
        reductions = [data.draw(st.sampled_from(applicable), label="reduction")] if regime in ("large", "long") else applicable
        failures, worst = [], 0.0
        for reduction in reductions:
            case = specs.make_case(loss, inputs=inputs, params=params, dtype=dtype, sample_weight=weights, reduction=reduction,
                             semantics=semantics, device=device, variant=variant, origin=f"seed={lossconf.seed} regime={regime}")
            draw = case.draw_key()  # the draw as drawn, before any re-expression: the port view pairs it across implementations
            case, _ = expressible.express(adapter, case)  # a form the API can spell, where the draw's is not
            if regime == "long":
                assume(_representable(case))
            with lossconf.timed(impl):
                record = judge.judge(adapter, case)
            assert record["kind"] == "conformance", f"the {regime} strategy drew an invalid input: {record.get('invalid_reason')}"
            record.update(regime=regime, test_id=f"{impl}-{variant}-{device}-{dtype}-{loss}-{regime}", draw=draw)
            failed = _failure(record)
            if not failed and _negative_where_nonnegative(record):
                record.update(verdict="numeric", explanation=f"returned a negative loss {min(record['got'])}; the loss is >= 0")
                failed = _failure(record)  # a recorded finding may excuse it, as any numeric verdict
            cells.add(session_mod.cell(record))
            session_mod.add_draw(lossconf, record, keep_full=failed)
            worst = max(worst, min(session_mod.severity(record), 1e6))
            if failed:
                failures.append(record)
        target(worst, label="ULP error / tolerance")
        assert not failures, "\n\n".join(outcome.message(r) for r in failures)

    try:
        check()
    finally:
        session_mod.flush_worst(lossconf, cells)
