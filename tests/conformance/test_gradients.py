"""Gradient conformance: each framework's own derivative of each loss, judged against the oracle's exact one.

The draws are the value properties' (the same strategies, regimes and seed), and every draw is judged under every
reduction and in every autodiff mode the adapter has (reverse, and forward where the framework has it): the
derivative with respect to each differentiable input (conformance.gradient_judge), contracted with a cotangent for
reduction ``none``. An adapter without the gradient part of the contract has every case reported
``unsupported`` with the reason.
"""
from __future__ import annotations

from hypothesis import target

import specs
from conformance import expressible, gradient_judge, outcome, session as session_mod, strategies
from tests.conformance.test_properties import _failure, drawn

# The large and long regimes differentiate thousands of elements in mpmath (the oracle's derivative costs one
# evaluation of every row per column), and the infinite one has no finite step to take: none is drawn for gradients yet.
SKIPPED_REGIMES = ("large", "long", "infinite")
# Elements per input: the oracle differentiates a column (a CTC frame and class) at a time, each through every
# sample, at two precisions; a CTC draw of 240 elements costs it 12 s. The value tests draw up to 256.
MAX_ELEMENTS = {"quick": 64, "full": 256}
# A batch-coupled loss (every sample's loss reads the whole batch: ntxent, circle) is differentiated an element at a
# time through every loss, a cost that grows with the cube of the batch: a draw of 64 elements cost a circle test
# minutes, most of them in the conventions tried on a failing one.
COUPLED_MAX_ELEMENTS = {"quick": 24, "full": 96}

# Forward mode builds the gradient from one Jacobian-vector product per input element (TF: a tf.map_fn graph traced
# for each call): judged on the first draw of each test in the quick profile, every draw in the full one.
FORWARD_DRAWS = {"quick": 1, "full": None}


def max_elements(spec, profile: str) -> int:
    return (COUPLED_MAX_ELEMENTS if spec.inputs.get("batch_coupled") else MAX_ELEMENTS)[profile]


def regimes(spec) -> tuple[str, ...]:
    return tuple(r for r in strategies.regimes_for(spec) if r not in SKIPPED_REGIMES)


def test_gradient_agrees_with_oracle(lossconf, gradient_axes):
    impl, variant, device, dtype, loss, regime = gradient_axes
    adapter = lossconf.adapter(impl)
    spec = specs.all_specs()[loss]
    semantics = adapter.semantics_for(loss) or "ideal"
    elementwise = spec.semantics(semantics)["axis_reduction"] == "none"
    wrt = gradient_judge.differentiable_inputs(spec)
    cells, draws = set(), []

    @drawn(lossconf, "gradients", gradient_axes[2:], spec, regime, dtype, elementwise, max_elements(spec, lossconf.profile))
    def check(data, inputs, params, weights):
        failures, worst = [], 0.0
        draws.append(1)
        forward = FORWARD_DRAWS[lossconf.profile]
        # every mode the adapter has, each judged against the same exact derivative
        modes = adapter.gradient_modes if forward is None or len(draws) <= forward else ("reverse",)
        for reduction in strategies.reductions_for(spec):
            case = specs.make_case(loss, inputs=inputs, params=params, dtype=dtype, sample_weight=weights, reduction=reduction,
                                   semantics=semantics, device=device, variant=variant,
                                   origin=f"seed={lossconf.seed} regime={regime} gradient")
            case, _ = expressible.express(adapter, case)
            for mode in modes:
                with lossconf.timed(impl):
                    record = gradient_judge.judge_gradient(adapter, case, wrt, mode)
                record.update(regime=regime, test_id=f"{impl}-{variant}-{device}-{dtype}-{loss}-{regime}")
                failed = _failure(record)
                cells.add(session_mod.cell(record))
                session_mod.add_draw(lossconf, record, keep_full=failed)
                worst = max(worst, min(session_mod.severity(record), 1e6))
                if failed:
                    failures.append(record)
        target(worst, label="gradient ULP error / tolerance")
        assert not failures, "\n\n".join(outcome.message(r) for r in failures)

    try:
        check()
    finally:
        session_mod.flush_worst(lossconf, cells)
