"""The records of one or more results documents, as every part of the report reads them: each case once, a
``worst_case`` record (written in full with its arrays and reproducers) standing in for its compact copy
(``core.findings.distinct``)."""
from __future__ import annotations

from core.findings import FULL_ONLY, distinct  # noqa: F401  (FULL_ONLY re-exported)


def collect(docs: list[dict]) -> list[dict]:
    """Every record of ``docs`` (dicts only), each case once."""
    return distinct(r for d in docs for r in d.get("records") or [])
