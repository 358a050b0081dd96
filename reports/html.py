"""The HTML report: one self-contained page made from results JSON files alone.

``render(docs)`` turns loaded results documents (see ``core.results``) into HTML; ``write(paths, out)``
loads, renders and writes atomically. The view model is assembled here from modules with one job each
(``records``, ``matrix``, ``histogram``, ``findings``, ``examples``, ``environment``, ``summary``). Everything
printed from records goes through Jinja2's autoescape: the filters return plain ``str`` (never ``Markup``) and
the templates never use ``|safe``. CSS and JavaScript are inlined from ``templates/``; the page fetches nothing.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from jinja2 import ChainableUndefined, Environment, FileSystemLoader

from core import results, verdicts
from reports import environment, examples, findings, histogram, invalid, matrix, port, summary
from reports.records import collect, implementations
from reports.formatting import (EXPLAIN, JUDGED, LABELS, VERDICTS, array_text, badge, fmt, g, is_expected, lines, order,
                                params, shape_text, subject, ulp_vs_tol, vclass, vkey)

cell = matrix.cell  # kept importable from here
#: how much of each cell the page lists: ``summary`` lists the cases that did not simply pass (a passing case is in the
#: cell's counts and histogram); ``full`` lists every case. Either way the results JSON holds every record.
DETAILS = ("summary", "full")


def _coverage(judged: list[dict], impls: list[str], levels: dict) -> list[dict]:
    """Per loss (value and gradient rows) and implementation: cases checked, and the unsupported ones by reason; a
    loss the implementation does not provide says so instead (its summary level)."""
    rows = []
    for loss in order({subject(r) for r in judged}):  # value and gradient: a row each
        cells = []
        for impl in impls:
            mine = [r for r in judged if subject(r) == loss and r.get("impl") == impl]
            unsup = Counter(str(r.get("explanation") or "(no reason given)") for r in mine if r.get("verdict") == verdicts.UNSUPPORTED)
            level = ((levels.get(impl) or {}).get("losses") or {}).get(mine[0].get("loss") if mine else None) or {}
            provided = level.get("level") != "not_provided"
            cells.append({"run": bool(mine), "provided": provided, "checked": len(mine) - sum(unsup.values()), "unsupported": sum(unsup.values()),
                          "reasons": sorted(unsup.items(), key=lambda kv: (-kv[1], kv[0]))})
        rows.append({"loss": loss, "cells": cells})
    return rows


def build(docs: list[dict], detail: str = "summary") -> dict:
    """The page's view model from loaded results documents."""
    runs = [{"created": d.get("created"), **(d.get("run") or {})} for d in docs]
    records = collect(docs)
    judged = [r for r in records if r.get("kind") in JUDGED]
    impls_meta = [i for run in runs for i in run.get("implementations") or [] if isinstance(i, dict)]
    impls, _ = implementations(docs, judged)  # the order summary.summaries numbers the findings in
    shown = order([r.get("verdict") for r in judged], VERDICTS)

    counts = []
    for impl in impls:
        mine = [r for r in judged if r.get("impl") == impl]
        c = {v: [sum(r.get("verdict") == v for r in mine), sum(r.get("verdict") == v and is_expected(r) for r in mine)]
             for v in shown}
        counts.append({"impl": impl, "total": len(mine), "counts": c})
    overview = matrix.build(judged, impls, detail)
    histograms = []  # the page's script draws each when its drill-down opens
    for c in overview["cells"]:
        if c["histogram"]:
            c["hist_index"] = len(histograms)
            histograms.append(histogram.compact(c["histogram"]))
    grouped = findings.build(records, impls, overview["ids"])
    summaries = summary.summaries(docs, records, grouped)  # their reasons cite these findings by number
    levels = {s["impl"]: s for s in summaries}
    return {
        "summaries": summaries,
        "runs": runs,
        "impls": list(enumerate(impls)),
        "impl_index": {name: i for i, name in enumerate(impls)},
        "verdicts": shown,
        "counts": counts,
        "levels": {"losses": order({loss for s in levels.values() for loss in s["losses"]}),
                   "impls": [levels.get(str(i)) for i in impls], "legend": summary.LEVELS},
        "matrix": overview,
        "filter_labels": order({c["key"] for row in overview["rows"] for c in row["cells"] if c} | {vkey(badge(f["r"])) for f in grouped}, LABELS),
        "explain": EXPLAIN,
        "findings": grouped,
        "n_findings": sum(f["count"] for f in grouped),
        # the per-case table in full detail only: the findings hold the hazards one per cause
        "hazards": [r for r in judged if isinstance(r.get("hazard"), str) and r["hazard"].strip()] if detail == "full" else [],
        "hazard_findings": [(n, f) for n, f in enumerate(grouped, 1) if f["label"] == verdicts.HAZARD],
        "detail": detail,
        "port": port.build(judged, impls),
        "histograms": histograms,
        "examples": examples.build(records, impls),
        "coverage": _coverage(judged, impls, levels),
        "invalid": invalid.build(judged, impls),
        "environment": environment.build(runs, impls_meta, judged),
        "n_records": len(records),
    }


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True, undefined=ChainableUndefined)
    env.policies["json.dumps_kwargs"] = {"separators": (",", ":")}  # |tojson: the histograms' data, compactly
    env.filters.update(fmt=fmt, short=examples.short, params=params, vclass=vclass, vkey=vkey, ulp=ulp_vs_tol, g=g, lines=lines,
                       array_text=array_text, shape_text=shape_text)
    env.globals.update(badge=badge, is_expected=is_expected)
    return env


def render(docs: list[dict], detail: str = "summary") -> str:
    return page(build(docs, detail))


def page(model: dict) -> str:
    """The HTML of a view model from ``build``."""
    number = {id(m): n for n, f in enumerate(model["findings"], 1) for m in f["members"]}
    return _environment().get_template("report.html.j2").render(**model, finding_of=lambda r: number.get(id(r)))


def load_all(paths) -> list[dict]:
    """Load results files; anything that is not a results document is ``IncompatibleResults``."""
    docs = []
    for path in paths:
        try:
            doc = results.load(Path(path))
        except (AttributeError, TypeError):  # valid JSON that is not an object
            raise results.IncompatibleResults(f"{path}: not a lossconf results document") from None
        if not isinstance(doc.get("records"), list) or not isinstance(doc.get("run"), dict):
            raise results.IncompatibleResults(f"{path}: results document lacks 'run' or 'records'")
        docs.append(doc)
    return docs


def write(result_paths, out_path) -> Path:
    out_path = Path(out_path)
    results.atomic_write(out_path, render(load_all(result_paths)))
    return out_path
