"""Inputs outside a loss's domain (generated from the specs): the oracle rejects them, and an implementation should
raise too. Returning a finite number is recorded as accepted_invalid; returning inf/NaN made from finite input, as
nonfinite_invalid. The variants of one implementation should then treat each input alike (variants_disagree)."""
from __future__ import annotations

import pytest

import oracle
from conformance import agreement, judge, outcome
from conformance import invalid as invalid_mod


def judged_invalid(lossconf, impl: str, variant: str, device: str, dtype: str, invalid) -> dict:
    """One variant's record of one invalid input (kept by the session for the variant-agreement test)."""
    key = (impl, variant, device, dtype, invalid.id)
    if key in lossconf.invalid_seen:
        return lossconf.invalid_seen[key]
    adapter = lossconf.adapter(impl)
    case = invalid_mod.case_of(invalid, adapter, variant, device, dtype)
    with pytest.raises(ValueError):  # the oracle's side of the contract, checked on every run
        oracle.evaluate(case)
    with lossconf.timed(impl):
        record = judge.judge(adapter, case)
    record["test_id"] = f"{impl}-{variant}-{device}-{dtype}-{invalid.id}"
    record["invalid_class"] = invalid.invalid_class
    lossconf.invalid_seen[key] = record
    return record


def test_invalid_input_is_rejected(lossconf, impl_axes, invalid):
    impl, variant, device, dtype = impl_axes
    outcome.settle(judged_invalid(lossconf, impl, variant, device, dtype, invalid), lossconf)


def test_variants_agree_on_invalid_input(lossconf, agreement_axes, invalid):
    """Runs after the variants' own tests, on their worker (one xdist group), so it compares their records; a
    variant not seen in this process (a ``-k`` selection) is judged here."""
    impl, variants, device, dtype = agreement_axes
    records = [judged_invalid(lossconf, impl, variant, device, dtype, invalid) for variant in variants]
    record = agreement.agreement_record(records)
    if record is None:
        pytest.skip(f"fewer than two variants of {impl} can express {invalid.id}")
    record["test_id"] = f"{impl}-agreement-{device}-{dtype}-{invalid.id}"
    outcome.settle(record, lossconf)
