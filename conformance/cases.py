"""Where cases come from: the worked examples of the specs, and the invalid inputs to try."""
from __future__ import annotations

import specs
from core.case import Case


def doc_examples():
    """(spec, example) for every documented example, in a stable order."""
    for spec in specs.all_specs().values():
        for example in spec.examples:
            yield spec, example


def example_case_for(adapter, spec, example, variant: str, device: str, dtype: str) -> Case:
    """The example as ``adapter``'s test runs it: under the adapter's semantics of the loss (ideal if none)."""
    return example_case(spec, example, dtype=dtype, semantics=adapter.semantics_for(spec.name) or "ideal",
                        device=device, variant=variant)


def example_case(spec, example, *, dtype=None, semantics=None, device="cpu", variant="default") -> Case:
    return specs.make_case(
        spec.name, inputs=spec.example_inputs(example), params=example.get("params") or {},
        dtype=dtype or example["dtype"], sample_weight=example.get("sample_weight"),
        reduction=example["reduction"], semantics=semantics or example["semantics"],
        device=device, variant=variant, origin=f"example:{example['id']}",
    )
