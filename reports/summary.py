"""Conformance levels per implementation and loss, and the compact ``summary-<impl>.json`` a badge or dashboard reads.

Levels, from the judged records (kinds "conformance", "invalid" and "agreement") of one implementation and loss:

  exact       "exact semantics within tolerance": every checked case passes
  semantic    "semantic differences only": the failures are all ``semantic`` (another documented convention)
  numeric     "numeric failures": any numeric, nonfinite, error, accepted_invalid, nonfinite_invalid or
              variants_disagree verdict (or one this report does not know)
  unchecked   every case was unsupported: nothing was checked

Unsupported cases are counted but never checked. A failure covered by an expectation (a known, recorded
finding) still counts towards the level: the level says what the implementation does, ``expected`` says
how much of it is already known.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from core import results, verdicts
from reports.formatting import JUDGED, VERDICTS, is_expected, order
from reports.records import collect

FORMAT, VERSION = "lossconf-summary", 1
LEVELS = {
    "exact": "exact semantics within tolerance",
    "semantic": "semantic differences only",
    "numeric": "numeric failures",
    "unchecked": "nothing checked (every case unsupported)",
}
RANK = {"unchecked": -1, "exact": 0, "semantic": 1, "numeric": 2}
COLOR = {"exact": "brightgreen", "semantic": "yellow", "numeric": "red", "unchecked": "lightgrey"}


def level(records: list[dict]) -> str:
    checked = [r.get("verdict") for r in records if r.get("verdict") != verdicts.UNSUPPORTED]
    if not checked:
        return "unchecked"
    failures = {v for v in checked if v != verdicts.PASS}
    if not failures:
        return "exact"
    return "semantic" if failures == {verdicts.SEMANTIC} else "numeric"


def _counts(records: list[dict]) -> dict:
    counts = Counter(str(r.get("verdict")) for r in records)
    checked = sum(n for v, n in counts.items() if v != verdicts.UNSUPPORTED)
    return {
        "checked": checked,
        "unsupported": counts.get(verdicts.UNSUPPORTED, 0),
        "expected": sum(is_expected(r) and r.get("verdict") != verdicts.PASS for r in records),
        "verdicts": {v: counts[v] for v in order(counts, VERDICTS)},
    }


def impl_summary(impl: str, records: list[dict], meta: dict | None = None, created: str | None = None) -> dict:
    """The summary of one implementation from its judged records."""
    meta = meta or {}
    losses = {}
    for loss in order({str(r.get("loss")) for r in records}):
        mine = [r for r in records if str(r.get("loss")) == loss]
        lv = level(mine)
        losses[loss] = {"level": lv, "level_text": LEVELS[lv], **_counts(mine)}
    checked = [v["level"] for v in losses.values() if v["level"] != "unchecked"]
    overall = max(checked, key=RANK.get) if checked else "unchecked"
    per_level = Counter(v["level"] for v in losses.values())
    message = ", ".join(f"{per_level[k]} {k}" for k in LEVELS if per_level[k]) + f" of {len(losses)} losses"
    return {
        "format": FORMAT, "version": VERSION, "impl": impl,
        "library": meta.get("library"), "library_version": meta.get("version"), "created": created,
        "level": overall, "level_text": LEVELS[overall],
        "badge": {"schemaVersion": 1, "label": f"lossconf {impl}", "message": message, "color": COLOR[overall]},
        "totals": _counts(records),
        "losses": losses,
        "levels": LEVELS,
    }


def summaries(docs: list[dict]) -> list[dict]:
    """One summary per implementation found in the results documents, in the order they were run."""
    judged = [r for r in collect(docs) if r.get("kind") in JUDGED]
    metas = {}
    for d in docs:
        for i in (d.get("run") or {}).get("implementations") or []:
            if isinstance(i, dict):
                metas.setdefault(i.get("name"), i)
    created = max((str(d.get("created")) for d in docs if d.get("created")), default=None)
    impls = order({r.get("impl") for r in judged}, list(metas))
    return [impl_summary(str(impl), [r for r in judged if r.get("impl") == impl], metas.get(impl), created) for impl in impls]


def filename(impl: str, taken: set) -> str:
    """``summary-<impl>.json`` with the name reduced to [A-Za-z0-9._-]; distinct names stay distinct."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", impl).strip("._") or "impl"
    name, n = f"summary-{safe}.json", 2
    while name in taken:
        name, n = f"summary-{safe}-{n}.json", n + 1
    taken.add(name)
    return name


def write(docs: list[dict], directory) -> list[Path]:
    directory = Path(directory)
    written, taken = [], set()
    for s in summaries(docs):
        path = directory / filename(s["impl"], taken)
        results.atomic_write(path, json.dumps(s, indent=1) + "\n")
        written.append(path)
    return written
