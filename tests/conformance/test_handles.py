"""Handles of one loss agree: the string aliases users pass to compile() resolve to the canonical function
(or an instance of the canonical Loss class). Values of the class and function handles are each judged
against the oracle in test_examples (variants "class", "function", "alias")."""
from __future__ import annotations

import pytest


def test_compile_aliases_resolve_to_the_canonical_handle(lossconf):
    checked = 0
    for adapter in lossconf.adapters:
        identities = getattr(lossconf.adapter(adapter.name), "handle_identities", None)
        if identities is None:
            continue
        rows = identities()
        assert rows, f"{adapter.name} declares handle_identities but lists none"
        wrong = [f"{alias!r} -> {target}" for alias, target, same in rows if not same]
        assert not wrong, f"{adapter.name}: aliases that do not resolve to the canonical handle: {wrong}"
        checked += len(rows)
    if not checked:
        pytest.skip("no implementation in this run exposes string aliases (handle_identities)")
