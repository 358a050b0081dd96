"""The records of one or more results documents, as every part of the report reads them: each case once, a
``worst_case`` record (written in full with its arrays and reproducers) standing in for its compact copy
(``core.findings.distinct``)."""
from __future__ import annotations

import json

from core.findings import FULL_ONLY, distinct  # noqa: F401  (FULL_ONLY re-exported)
from reports.formatting import order


def implementations(docs: list[dict], judged: list[dict]) -> tuple[list[str], dict]:
    """The implementations of ``judged`` in the order the runs list them (then by name), and each one's run entry
    (name, library, version, environment, the losses it provides), the first run's where several list it."""
    metas: dict = {}
    for d in docs:
        for i in _run_implementations(d):
            metas.setdefault(i.get("name"), i)
    return order({r.get("impl") for r in judged}, list(metas)), metas


def _run_implementations(doc: dict) -> list[dict]:
    """The run entries (name, library, version ...) of the implementations a results document tested."""
    return [i for i in (doc.get("run") or {}).get("implementations") or [] if isinstance(i, dict)]


def _shared_key(r: dict, tested: set) -> str | None:
    """What identifies a record of no implementation under test (the documentation's check of its own printed values,
    which every run writes alike), so that several runs side by side show it once; None for any other record."""
    if not isinstance(r, dict) or r.get("impl") in tested:
        return None
    return json.dumps(r, sort_keys=True, default=str)


def collect(docs: list[dict]) -> list[dict]:
    """Every record of ``docs`` (dicts only), each case once: a record of no implementation under test that an earlier
    document holds too is left out."""
    kept, seen = [], set()
    for d in docs:
        tested = {i.get("name") for i in _run_implementations(d)}
        keys = set()
        for r in d.get("records") or []:
            key = _shared_key(r, tested)
            if key is None or key not in seen:
                kept.append(r)
            keys.add(key)
        seen |= keys - {None}
    return distinct(kept)
