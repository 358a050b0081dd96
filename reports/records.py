"""The records of one or more results documents, as every part of the report reads them.

A run may write a hypothesis draw twice: compactly (without its arrays and reproducers) as it is judged,
and once more in full, flagged ``worst_case``, when it is the worst draw of its cell. The full copy stands
in for its earlier copy, so each case is counted once and the report can show its arrays.
"""
from __future__ import annotations

import json

FULL_ONLY = ("inputs", "reproducer", "oracle_reproducer", "worst_case")


def _twin_key(r: dict) -> str:
    return json.dumps({k: v for k, v in r.items() if k not in FULL_ONLY}, sort_keys=True, default=str)


def collect(docs: list[dict]) -> list[dict]:
    """Every record (dicts only); a ``worst_case`` record replaces its earlier copy (compact or not)."""
    records = [r for d in docs for r in d.get("records") or [] if isinstance(r, dict)]
    full = {_twin_key(r) for r in records if r.get("worst_case")}
    if not full:
        return records
    return [r for r in records if r.get("worst_case") or _twin_key(r) not in full]
