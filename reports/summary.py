"""Conformance levels per implementation and loss, and the compact ``summary-<impl>.json`` a badge or dashboard reads.

Levels, from the judged records (kinds "conformance", "invalid" and "agreement") of one implementation and loss, each
with a short reason naming the report's findings (their numbers in its ranked list):

  exact         "conforms": every checked case passes (a hazard, conforming by definition, is named in the reason)
  known         "conforms except known findings": every failure is one an expectation explains ("conforms except
                known findings 3, 7")
  semantic      "differs by convention": the failures no expectation explains all match another documented convention
  numeric       "numeric failures": a numeric, nonfinite, error, accepted_invalid, nonfinite_invalid or
                variants_disagree verdict (or one this report does not know) that no expectation explains
  unchecked     every case was unsupported though the library provides the loss: nothing was checked
  not_provided  "not provided by this library": the implementation declares no semantics for the loss (the run's
                ``implementations[].losses``), so every case is unsupported for that one reason

Unsupported cases are counted but never checked; ``expected`` counts the failures an expectation explains.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from core import findings, results, verdicts
from reports.formatting import JUDGED, VERDICTS, is_expected, order
from reports.records import collect, implementations

FORMAT, VERSION = "lossconf-summary", 1
LEVELS = {
    "exact": "conforms",
    "known": "conforms except known findings",
    "semantic": "differs by convention",
    "numeric": "numeric failures",
    "unchecked": "nothing checked (every case unsupported)",
    "not_provided": "not provided by this library",
}
RANK = {"not_provided": -2, "unchecked": -1, "exact": 0, "known": 1, "semantic": 2, "numeric": 3}
COLOR = {"exact": "brightgreen", "known": "green", "semantic": "yellow", "numeric": "red", "unchecked": "lightgrey",
         "not_provided": "lightgrey"}


def level(records: list[dict], provided: bool = True) -> str:
    if not provided:
        return "not_provided"
    checked = [r for r in records if r.get("verdict") != verdicts.UNSUPPORTED]
    if not checked:
        return "unchecked"
    failures = [r for r in checked if r.get("verdict") != verdicts.PASS]
    if not failures:
        return "exact"
    new = {r.get("verdict") for r in failures if not is_expected(r)}
    if not new:
        return "known"
    return "semantic" if new == {verdicts.SEMANTIC} else "numeric"


def _numbers(numbers) -> str:
    numbers = sorted(numbers)
    return ", ".join(map(str, numbers[:8])) + (f" and {len(numbers) - 8} more" if len(numbers) > 8 else "")


def reason(lv: str, impl: str, loss: str, records: list[dict], numbered: dict) -> str:
    """A level's short reason: which findings (by their number in the report) make it what it is."""
    mine = numbered.get((impl, loss), {})
    if lv == "not_provided":
        return f"{impl} does not provide {loss}"
    if lv == "unchecked":
        why = Counter(str(r.get("explanation") or "no reason given") for r in records).most_common(1)
        return "nothing checked: " + (why[0][0] if why else "no case")
    hazards = [n for n, f in mine.items() if f["label"] == findings.HAZARD]
    hazard_text = f"; hazards: finding{'s' if len(hazards) > 1 else ''} {_numbers(hazards)}" if hazards else ""
    if lv == "exact":
        return "conforms" + hazard_text
    failing = {n: f for n, f in mine.items() if f["label"] != findings.HAZARD}
    if lv == "known":
        return f"conforms except known finding{'s' if len(failing) > 1 else ''} {_numbers(failing)}" + hazard_text
    new = {n: f for n, f in failing.items() if findings.unexplained(f)}
    if lv == "semantic":
        conventions = sorted({f["cause"].removeprefix("matches ") for f in new.values()})
        return f"differs by convention: matches {', '.join(conventions)} (findings {_numbers(new)})"
    known = sorted(set(failing) - set(new))
    return f"numeric failures: findings {_numbers(new)}" + (f"; known: {_numbers(known)}" if known else "")


def _counts(records: list[dict]) -> dict:
    counts = Counter(str(r.get("verdict")) for r in records)
    checked = sum(n for v, n in counts.items() if v != verdicts.UNSUPPORTED)
    return {
        "checked": checked,
        "unsupported": counts.get(verdicts.UNSUPPORTED, 0),
        "expected": sum(is_expected(r) and r.get("verdict") != verdicts.PASS for r in records),
        "verdicts": {v: counts[v] for v in order(counts, VERDICTS)},
    }


def _not_implemented(impl: str, loss: str, records: list[dict]) -> bool:
    """For results whose run does not list the losses an implementation provides: every case unsupported with the
    adapter contract's own reason for a loss it has no semantics for (``adapters.base.Adapter.supports``)."""
    return bool(records) and all(r.get("verdict") == verdicts.UNSUPPORTED and r.get("explanation") == f"{impl} does not implement {loss}"
                                 for r in records)


def numbered(ranked: list[dict]) -> dict:
    """{(impl, loss): {finding number: finding}} from the report's ranked findings (numbered from 1)."""
    out: dict = {}
    for n, f in enumerate(ranked, 1):
        for m in f["members"]:
            out.setdefault((str(m.get("impl", "docs")), str(m.get("loss"))), {})[n] = f
    return out


def impl_summary(impl: str, records: list[dict], meta: dict | None = None, created: str | None = None,
                 ranked: list[dict] | None = None) -> dict:
    """The summary of one implementation from its judged records; ``ranked``: the report's findings, which the
    reasons cite by number (computed from ``records`` alone when not given)."""
    meta = meta or {}
    provides = meta.get("losses")  # absent from results written before runs listed them: told from the reasons
    numbers = numbered(findings.group(records, [impl]) if ranked is None else ranked)
    losses = {}
    for loss in order({str(r.get("loss")) for r in records}):
        mine = [r for r in records if str(r.get("loss")) == loss]
        lv = level(mine, provided=loss in provides if provides is not None else not _not_implemented(impl, loss, mine))
        losses[loss] = {"level": lv, "level_text": LEVELS[lv], "reason": reason(lv, impl, loss, mine, numbers),
                        **_counts(mine)}
    checked = [v["level"] for v in losses.values() if RANK[v["level"]] >= 0]
    overall = max(checked, key=RANK.get) if checked else "unchecked"
    per_level = Counter(v["level"] for v in losses.values())
    message = ", ".join(f"{per_level[k]} {k}" for k in LEVELS if per_level[k]) + f" of {len(losses)} losses"
    return {
        "format": FORMAT, "version": VERSION, "impl": impl,
        "library": meta.get("library"), "library_version": meta.get("version"), "created": created,
        "level": overall, "level_text": LEVELS[overall],
        "badge": {"schemaVersion": 1, "label": f"lossconf {impl}", "message": message, "color": COLOR[overall]},
        "totals": _counts(records),
        # combinations not made tests (cannot be expressed, do not apply), by test and reason
        "not_made_tests": meta.get("not_made_tests") or {},
        "losses": losses,
        "levels": LEVELS,
    }


def summaries(docs: list[dict], records: list[dict] | None = None, ranked: list[dict] | None = None) -> list[dict]:
    """One summary per implementation found in the results documents, in the order they were run; the reasons cite
    the findings by their numbers in the report of the same documents. ``records`` (``collect(docs)``) and ``ranked``
    (their findings), where the report has them already."""
    records = collect(docs) if records is None else records
    judged = [r for r in records if r.get("kind") in JUDGED]
    impls, metas = implementations(docs, judged)
    ranked = findings.group(records, impls) if ranked is None else ranked
    created = max((str(d.get("created")) for d in docs if d.get("created")), default=None)
    return [impl_summary(str(impl), [r for r in judged if r.get("impl") == impl], metas.get(impl), created, ranked)
            for impl in impls]


def filename(impl: str, taken: set) -> str:
    """``summary-<impl>.json`` with the name reduced to [A-Za-z0-9._-]; distinct names stay distinct."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", impl).strip("._") or "impl"
    name, n = f"summary-{safe}.json", 2
    while name in taken:
        name, n = f"summary-{safe}-{n}.json", n + 1
    taken.add(name)
    return name


def write(computed: list[dict], directory) -> list[Path]:
    """``summary-<impl>.json`` for each of the ``summaries`` computed, in ``directory``."""
    directory = Path(directory)
    written, taken = [], set()
    for s in computed:
        path = directory / filename(s["impl"], taken)
        results.atomic_write(path, json.dumps(s, indent=1) + "\n")
        written.append(path)
    return written
