"""Result records: one JSON object per checked case, streamed as JSON lines while the run goes on and
gathered atomically into one results JSON at the end. Reports are made from that file alone.

File layout (``FORMAT``/``VERSION`` identify it; readers refuse other versions with a one-line error):

  {"format": "lossconf-results", "version": 1, "created": ISO time,
   "run": {"command": str, "seed": int|null, "profile": str, "dtypes": [...], "devices": [...],
           "implementations": [{"name", "library", "version", "environment": {...}}]},
   "records": [record, ...]}

A record has ``kind``:
  "conformance": an implementation judged against the oracle. Keys: impl, library, version, device,
     variant, loss, params, semantics, reduction, dtype, origin, verdict, explanation, ulp_error,
     tolerance_ulps, ulp_dtype, exact (40 digits; a list for reduction "none"), certified_bits, got,
     got_dtype, ideal_exact, ideal_ulp_error, hazard (null or a sentence), matched_semantics, raised,
     inputs (each input by its spec's name, and "sample_weight", as case.to_dict() arrays), reproducer (framework
     code), oracle_reproducer, expectation (null or {"reason", "link", "verdict"}), test_id
  "doc": a documentation example's printed value against the exact value. Keys: example, loss, source,
     semantics, reduction, params, dtype, printed, printed_decimals, exact, verdict ("doc_ok",
     "doc_drift" or "no_printed_value"), explanation, expectation
  "invalid": an invalid input tried on an implementation. Keys as "conformance" plus invalid_reason and
     invalid_class; verdict "pass" (raised, as it should, or propagated an inf/NaN of the input),
     "nonfinite_invalid" (inf/NaN made from finite input, without raising) or "accepted_invalid" (a finite ``got``)
  "agreement": whether the variants of one implementation treated one invalid input alike. Keys as "invalid",
     with ``variant`` naming every variant compared ("class+function+alias+xla") and ``outcomes`` mapping each to
     "raised", "inf/NaN", "finite" or "failed"; verdict "pass" or "variants_disagree"
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

FORMAT = "lossconf-results"
VERSION = 1


class IncompatibleResults(ValueError):
    pass


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return repr(value)  # JSON has no NaN/inf: keep them readable and parseable
    return value


def atomic_write(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


class ResultsWriter:
    """Appends each record to ``<stem>.jsonl`` as it comes, flushed, so a killed run keeps its results."""

    def __init__(self, jsonl_path: Path, run: dict):
        self.jsonl_path = Path(jsonl_path)
        self.jsonl_path.parent.mkdir(parents=True, exist_ok=True)
        self.run = run
        self._file = self.jsonl_path.open("w")
        self._write({"kind": "run", **run})

    def _write(self, obj: dict) -> None:
        self._file.write(json.dumps(_jsonable(obj)) + "\n")
        self._file.flush()

    def add(self, record: dict) -> None:
        self._write(record)

    def close(self) -> None:
        self._file.close()


def read_jsonl(path: Path) -> dict:
    """Rebuild a results document from a (possibly truncated) JSON-lines stream."""
    run, records = {}, []
    for line in Path(path).read_text().splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            break  # a line cut off by a killed run: everything before it is whole
        if obj.get("kind") == "run":
            run = {k: v for k, v in obj.items() if k != "kind"}
        else:
            records.append(obj)
    return document(run, records)


def document(run: dict, records: list) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "run": run,
        "records": records,
    }


def write_json(path: Path, doc: dict) -> None:
    atomic_write(path, json.dumps(_jsonable(doc), indent=1))


def load(path: Path) -> dict:
    path = Path(path)
    try:
        doc = read_jsonl(path) if path.suffix == ".jsonl" else json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise IncompatibleResults(f"{path}: cannot read results ({exc})") from None
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise IncompatibleResults(
            f"{path}: results format {doc.get('format')!r} version {doc.get('version')!r}; this lossconf reads {FORMAT!r} version {VERSION}"
        )
    return doc
