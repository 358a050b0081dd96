"""Parametrisation of the conformance tests over the run's implementations, variants, devices and dtypes.

A combination that cannot be a meaningful test (the implementation cannot express it, the relation does not apply,
the profile leaves the variant to the night run) is not parametrised: it is kept, with its reason, by the session
(conformance.omitted), and the record its test would have written is written all the same."""
from __future__ import annotations

import pytest

from conformance import cases, gradient_judge, invalid, judge
from conformance.omitted import Omitted

EXPENSIVE = "variant {variant} is expensive (the adapter's expensive_variants): it runs with --profile full"
NO_GRADIENTS = "{impl} does not implement the gradient part of the adapter contract"


def _omit(metafunc, test: str, item_id: str, impl: str, reason: str, record: dict | None = None) -> None:
    """Keep the combination whose item would have been ``item_id`` as omitted from ``test``."""
    nodeid = f"{metafunc.definition.nodeid}[{item_id}]"
    metafunc.config.lossconf.omit(Omitted(test, nodeid, impl, reason, record))


def _impl_axes(metafunc, test: str | None = None, what: str = "", dtypes=None):
    """(adapter, variant, device, dtype) of every variant the profile runs; the others are kept as omitted from
    ``test`` (of ``what``: an example's or invalid input's id; None: a test of the primary handle, which never meets
    them)."""
    s = metafunc.config.lossconf
    for adapter in s.adapters:
        run = s.run_variants(adapter)
        for variant in adapter.variants:
            for device in s.devices:
                for dtype in dtypes or s.dtypes:
                    if variant in run:
                        yield adapter, variant, device, dtype
                    elif test:
                        _omit(metafunc, test, f"{adapter.name}-{variant}-{device}-{dtype}-{what}", adapter.name,
                              EXPENSIVE.format(variant=variant))


def _support(config, impl: str, case) -> bool | str:
    """True where the test of ``case`` is to be made: the adapter can express it, or its device is not there (a test
    that skips saying so: that skip means something); else why the adapter cannot express it."""
    s = config.lossconf
    return True if not s.available(impl, case.device) else judge.supported(s.adapter(impl), case)


def _unsupported(metafunc, test: str, impl: str, case, test_id: str, **fields) -> bool:
    """Whether ``case`` is one ``impl`` cannot express; if so the session keeps it, with the record its test would
    have written (judge.unsupported, as judge.judge writes it)."""
    support = _support(metafunc.config, impl, case)
    if support is True:
        return False
    record = {**judge.unsupported(metafunc.config.lossconf.adapter(impl), case, support), "test_id": test_id, **fields}
    _omit(metafunc, test, test_id, impl, record["explanation"], record)
    return True


def _logic_dtype(config) -> str:
    """The one dtype of the tests about an implementation's logic (invalid inputs, relations): float32 where the
    run has it, since half precision mixes in rounding and overflow findings the property tests already judge."""
    return "float32" if "float32" in config.lossconf.dtypes else config.lossconf.dtypes[0]


def pytest_generate_tests(metafunc):
    config = metafunc.config
    if "example" in metafunc.fixturenames and "impl_axes" in metafunc.fixturenames:
        params, ids = [], []
        for spec, example in cases.doc_examples():
            for adapter, variant, device, dtype in _impl_axes(metafunc, "examples", example["id"]):
                test_id = f"{adapter.name}-{variant}-{device}-{dtype}-{example['id']}"
                case = cases.example_case_for(adapter, spec, example, variant, device, dtype)
                if _unsupported(metafunc, "examples", adapter.name, case, test_id):
                    continue
                params.append(((adapter.name, variant, device, dtype), (spec.name, example["id"])))
                ids.append(test_id)
        metafunc.parametrize("impl_axes,example", params, ids=ids)
    elif "invalid" in metafunc.fixturenames and "impl_axes" in metafunc.fixturenames:
        params, ids = [], []
        for inv in invalid.invalid_inputs(config.lossconf.seed):
            # an input's validity does not depend on the dtype: one dtype is enough
            for adapter, variant, device, dtype in _impl_axes(metafunc, "invalid inputs", inv.id, [_logic_dtype(config)]):
                test_id = f"{adapter.name}-{variant}-{device}-{dtype}-{inv.id}"
                case = invalid.case_of(inv, adapter, variant, device, dtype)
                if _unsupported(metafunc, "invalid inputs", adapter.name, case, test_id, invalid_class=inv.invalid_class):
                    continue
                params.append(((adapter.name, variant, device, dtype), inv))
                ids.append(test_id)
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
                    test_id = f"{adapter.name}-agreement-{device}-{dtype}-{inv.id}"
                    able = [v for v in variants if _support(config, adapter.name, invalid.case_of(inv, adapter, v, device, dtype)) is True]
                    if len(able) < 2:
                        _omit(metafunc, "variant agreement", test_id, adapter.name,
                              f"fewer than two variants of {adapter.name} can express it")
                        continue
                    params.append(((adapter.name, variants, device, dtype), inv))
                    ids.append(test_id)
        metafunc.parametrize("agreement_axes,invalid", params, ids=ids)
    elif "property_axes" in metafunc.fixturenames:
        import specs
        from conformance import strategies

        params, ids = [], []
        for adapter, variant, device, dtype in _impl_axes(metafunc):
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
        for adapter, variant, device, dtype in _impl_axes(metafunc):
            if config.lossconf.profile != "full" and variant != adapter.variants[0]:
                continue  # quick: the primary handle, as the value properties
            for loss, spec in specs.all_specs().items():
                if loss not in adapter.semantics:
                    continue
                for regime in regimes(spec):
                    if not strategies.regime_applies(regime, dtype, _logic_dtype(config)):
                        continue
                    test_id = f"{adapter.name}-{variant}-{device}-{dtype}-{loss}-{regime}"
                    if not adapter.implements_gradients():
                        _omit(metafunc, "gradients", test_id, adapter.name, NO_GRADIENTS.format(impl=adapter.name))
                        continue
                    if not gradient_judge.differentiable_inputs(spec):
                        _omit(metafunc, "gradients", test_id, adapter.name, f"{loss} has no differentiable input")
                        continue
                    params.append((adapter.name, variant, device, dtype, loss, regime))
                    ids.append(test_id)
        metafunc.parametrize("gradient_axes", params, ids=ids)
    elif "relation_axes" in metafunc.fixturenames:
        import specs
        from tests.conformance.test_relations import RELATIONS, applies

        params, ids = [], []
        dtype = _logic_dtype(config)
        for adapter in config.lossconf.adapters:
            variant = "class" if "class" in adapter.variants else adapter.variants[0]
            for loss, spec in specs.all_specs().items():
                if loss not in adapter.semantics:
                    continue
                for relation in RELATIONS:
                    test_id = f"{adapter.name}-{variant}-{dtype}-{loss}-{relation}"
                    if not applies(relation, spec, adapter, config.lossconf.run_variants(adapter)):
                        _omit(metafunc, "relations", test_id, adapter.name, f"{relation} does not apply")
                        continue
                    params.append((adapter.name, variant, dtype, loss, relation))
                    ids.append(test_id)
        metafunc.parametrize("relation_axes", params, ids=ids)
    elif "gradient_relation_axes" in metafunc.fixturenames:
        import specs
        from tests.conformance.test_gradient_relations import RELATIONS, applies, compiled_variant
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
                        test_id = f"{adapter.name}-{variant}-{dtype}-{loss}-{regime}-{relation}"
                        why = applies(relation, spec, adapter, variant, regime) if adapter.implements_gradients() \
                            else NO_GRADIENTS.format(impl=adapter.name)
                        if why is True and variant not in config.lossconf.run_variants(adapter):
                            why = EXPENSIVE.format(variant=variant)
                        if why is not True:
                            _omit(metafunc, "gradient relations", test_id, adapter.name, f"{relation} does not apply: {why}")
                            continue
                        params.append((adapter.name, variant, dtype, loss, regime, relation))
                        ids.append(test_id)
        metafunc.parametrize("gradient_relation_axes", params, ids=ids)
    elif "example" in metafunc.fixturenames:
        pairs = list(cases.doc_examples())
        metafunc.parametrize("example", [(s.name, e["id"]) for s, e in pairs], ids=[e["id"] for _, e in pairs])
