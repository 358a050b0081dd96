"""Every documented example, on every implementation, judged against the oracle in ULPs."""
from __future__ import annotations

import specs
from conformance import cases, judge, outcome


def _example(name: str, example_id: str):
    spec = specs.all_specs()[name]
    return spec, next(e for e in spec.examples if e["id"] == example_id)


def test_example_against_oracle(lossconf, impl_axes, example):
    impl, variant, device, dtype = impl_axes
    adapter = lossconf.adapter(impl)
    spec, ex = _example(*example)
    case = cases.example_case_for(adapter, spec, ex, variant, device, dtype)
    with lossconf.timed(impl):
        record = judge.judge(adapter, case)
    record["test_id"] = f"{impl}-{variant}-{device}-{dtype}-{ex['id']}"
    outcome.settle(record, lossconf)
