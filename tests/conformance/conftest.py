"""Parametrisation of the conformance tests over the run's implementations, variants, devices and dtypes."""
from __future__ import annotations

import pytest

from conformance import cases, invalid


def _impl_axes(config):
    s = config.lossconf
    for adapter in s.adapters:
        for variant in adapter.variants:
            for device in s.devices:
                for dtype in s.dtypes:
                    yield adapter, variant, device, dtype


def _logic_dtype(config) -> str:
    """The one dtype of the tests about an implementation's logic (invalid inputs, relations): float32 where the
    run has it, since half precision mixes in rounding and overflow findings the property tests already judge."""
    return "float32" if "float32" in config.lossconf.dtypes else config.lossconf.dtypes[0]


def pytest_generate_tests(metafunc):
    config = metafunc.config
    if "example" in metafunc.fixturenames and "impl_axes" in metafunc.fixturenames:
        params, ids = [], []
        for spec, example in cases.doc_examples():
            for adapter, variant, device, dtype in _impl_axes(config):
                params.append(((adapter.name, variant, device, dtype), (spec.name, example["id"])))
                ids.append(f"{adapter.name}-{variant}-{device}-{dtype}-{example['id']}")
        metafunc.parametrize("impl_axes,example", params, ids=ids)
    elif "invalid" in metafunc.fixturenames and "impl_axes" in metafunc.fixturenames:
        params, ids = [], []
        for inv in invalid.invalid_inputs(config.lossconf.seed):
            for adapter, variant, device, dtype in _impl_axes(config):
                if dtype != _logic_dtype(config):
                    continue  # an input's validity does not depend on the dtype: one dtype is enough
                params.append(((adapter.name, variant, device, dtype), inv))
                ids.append(f"{adapter.name}-{variant}-{device}-{dtype}-{inv.id}")
        metafunc.parametrize("impl_axes,invalid", params, ids=ids)
    elif "invalid" in metafunc.fixturenames and "agreement_axes" in metafunc.fixturenames:
        params, ids = [], []
        dtype = _logic_dtype(config)
        for inv in invalid.invalid_inputs(config.lossconf.seed):
            for adapter in config.lossconf.adapters:
                variants = config.lossconf.run_variants(adapter)
                if len(variants) < 2:
                    continue
                for device in config.lossconf.devices:
                    params.append(((adapter.name, variants, device, dtype), inv))
                    ids.append(f"{adapter.name}-agreement-{device}-{dtype}-{inv.id}")
        metafunc.parametrize("agreement_axes,invalid", params, ids=ids)
    elif "property_axes" in metafunc.fixturenames:
        import specs
        from conformance import strategies

        params, ids = [], []
        for adapter, variant, device, dtype in _impl_axes(config):
            if config.lossconf.profile != "full" and variant != adapter.variants[0]:
                continue  # quick: the primary handle; the others meet the examples, invalid inputs and relations
            for loss, spec in specs.all_specs().items():
                if loss not in adapter.semantics:
                    continue  # reported as unsupported by the example tests; no draws to spend here
                for regime in strategies.regimes_for(spec):
                    if not strategies.regime_applies(regime, dtype, _logic_dtype(config)):
                        continue
                    params.append((adapter.name, variant, device, dtype, loss, regime))
                    ids.append(f"{adapter.name}-{variant}-{device}-{dtype}-{loss}-{regime}")
        metafunc.parametrize("property_axes", params, ids=ids)
    elif "gradient_axes" in metafunc.fixturenames:
        import specs
        from conformance import strategies
        from tests.conformance.test_gradients import regimes

        params, ids = [], []
        for adapter, variant, device, dtype in _impl_axes(config):
            if config.lossconf.profile != "full" and variant != adapter.variants[0]:
                continue  # quick: the primary handle, as the value properties
            for loss, spec in specs.all_specs().items():
                if loss not in adapter.semantics:
                    continue
                for regime in regimes(spec):
                    if not strategies.regime_applies(regime, dtype, _logic_dtype(config)):
                        continue
                    params.append((adapter.name, variant, device, dtype, loss, regime))
                    ids.append(f"{adapter.name}-{variant}-{device}-{dtype}-{loss}-{regime}")
        metafunc.parametrize("gradient_axes", params, ids=ids)
    elif "relation_axes" in metafunc.fixturenames:
        import specs
        from tests.conformance.test_relations import RELATIONS

        params, ids = [], []
        dtype = _logic_dtype(config)
        for adapter in config.lossconf.adapters:
            variant = "class" if "class" in adapter.variants else adapter.variants[0]
            for loss in specs.all_specs():
                if loss not in adapter.semantics:
                    continue
                for relation in RELATIONS:
                    params.append((adapter.name, variant, dtype, loss, relation))
                    ids.append(f"{adapter.name}-{variant}-{dtype}-{loss}-{relation}")
        metafunc.parametrize("relation_axes", params, ids=ids)
    elif "gradient_relation_axes" in metafunc.fixturenames:
        import specs
        from tests.conformance.test_gradient_relations import RELATIONS, compiled_variant
        from tests.conformance.test_gradients import regimes

        params, ids = [], []
        dtype = _logic_dtype(config)
        for adapter in config.lossconf.adapters:
            for loss, spec in specs.all_specs().items():
                if loss not in adapter.semantics:
                    continue
                for regime in regimes(spec):
                    for relation in RELATIONS:  # each on the primary handle, but the compiled one against it
                        compiled = relation == "compiled_equals_eager" and compiled_variant(adapter)
                        variant = compiled or adapter.variants[0]
                        params.append((adapter.name, variant, dtype, loss, regime, relation))
                        ids.append(f"{adapter.name}-{variant}-{dtype}-{loss}-{regime}-{relation}")
        metafunc.parametrize("gradient_relation_axes", params, ids=ids)
    elif "example" in metafunc.fixturenames:
        pairs = list(cases.doc_examples())
        metafunc.parametrize("example", [(s.name, e["id"]) for s, e in pairs], ids=[e["id"] for _, e in pairs])
