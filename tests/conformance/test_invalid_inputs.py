"""Inputs outside a loss's domain: the oracle rejects them, and an implementation should raise too."""
from __future__ import annotations

import pytest

import oracle
from conformance import judge, outcome
from conformance.case import Case


def test_invalid_input_is_rejected(lossconf, impl_axes, invalid):
    impl, variant, device, dtype = impl_axes
    adapter = lossconf.adapter(impl)
    name, loss, params, y_true, y_pred = invalid
    case = Case.make(loss, y_true, y_pred, params=params, dtype=dtype, reduction="sum_over_batch_size",
                     semantics=adapter.semantics_for(loss) or "ideal", device=device, variant=variant,
                     origin=f"invalid:{name}")
    with pytest.raises(ValueError):  # the oracle's side of the contract, checked on every run
        oracle.evaluate(case)
    with lossconf.timed(impl):
        record = judge.judge(adapter, case)
    record["test_id"] = f"{impl}-{variant}-{device}-{dtype}-{name}"
    outcome.settle(record, lossconf)
