"""Inputs outside a loss's domain (generated from the specs): the oracle rejects them, and an
implementation should raise too; returning a number is recorded as accepted_invalid."""
from __future__ import annotations

import pytest

import oracle
from conformance import judge, outcome
import specs


def test_invalid_input_is_rejected(lossconf, impl_axes, invalid):
    impl, variant, device, dtype = impl_axes
    adapter = lossconf.adapter(impl)
    case = specs.make_case(invalid.loss, inputs=invalid.inputs, params=invalid.params, dtype=dtype,
                     sample_weight=invalid.sample_weight, reduction="sum",
                     semantics=adapter.semantics_for(invalid.loss) or "ideal", device=device, variant=variant,
                     origin=f"invalid:{invalid.id}")
    with pytest.raises(ValueError):  # the oracle's side of the contract, checked on every run
        oracle.evaluate(case)
    with lossconf.timed(impl):
        record = judge.judge(adapter, case)
    record["test_id"] = f"{impl}-{variant}-{device}-{dtype}-{invalid.id}"
    record["invalid_class"] = invalid.id.split("/", 1)[1]
    outcome.settle(record, lossconf)
