"""Known, accepted discrepancies: one YAML file per implementation under ``expectations/``.

Each entry is a predicate over the record (loss, params, reduction, dtype, device, variant, origin, ...),
the verdict observed, a reason, an upstream link where one exists and the library versions it applies to:

  - match: {loss: binary_crossentropy, dtype: [float16, bfloat16], params: {from_logits: false}}
    verdict: semantic
    reason: "..."
    link: https://github.com/...
    versions: ">=2.21,<2.22"

A match value may be a list (any of); so may ``verdict``. ``verdict: hazard`` acknowledges a hazard (a conforming
result whose declared convention moves it from the ideal, core.verdicts.HAZARD_KINDS): match it on ``hazard_kind``.
An entry is about values unless its match says ``quantity: gradient`` (then only about derivatives).

The verdict is never part of ``match``: the match says which cases an entry is about (its *scope*), ``verdict``
what they do. A case in scope that fails with that verdict *fires* the entry; one that passes does not, and is no
failure. Where several entries have a case in scope, the first that expects its verdict explains it. At the end of
a run each entry is audited on the cases in its scope (conformance.audit): one that never fired is *stale*, one
that fired on too small a share of them is *broad*, and either fails the run, unless the entry says why it must be
broad (``broad_because: ...``).

Beside the built-in ``expectations/<impl>.yaml``, ``--expectations PATH`` (repeatable) adds a vendor's own: a
directory holding ``<impl>.yaml`` files, or one file whose entries apply to every implementation of the run
(scope an entry to one with ``match: {impl: NAME}``). Built-in entries are tried first, then the added ones in
the order given.
"""
from __future__ import annotations

import functools
from pathlib import Path

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

import specs
from core import verdicts

DIRECTORY = Path(__file__).resolve().parent.parent / "expectations"
_FIELDS = {"match", "verdict", "reason", "link", "versions", "broad_because"}


_ADDED: list[Path] = []  # --expectations PATH, in the order given


class ExpectationError(ValueError):
    pass


def add(paths) -> None:
    """Use the expectations at ``paths`` (directories of <impl>.yaml, or files for every implementation) too;
    each is read now, so a missing or malformed one is an ExpectationError (one line) before any test runs."""
    for path in map(Path, paths):
        if not path.exists():
            raise ExpectationError(f"--expectations {path}: no such file or directory")
        for file in sorted(path.glob("*.yaml")) if path.is_dir() else [path]:
            _read(file)
        _ADDED.append(path)
    load.cache_clear()


def added() -> list[Path]:
    return list(_ADDED)


@functools.lru_cache(maxsize=None)
def _read(path: Path) -> tuple:
    try:
        entries = yaml.safe_load(path.read_text()) or []
    except yaml.YAMLError as exc:
        raise ExpectationError(f"{path}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(entries, list):
        raise ExpectationError(f"{path}: a list of entries is expected")
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not {"match", "verdict", "reason"} <= set(e) or set(e) - _FIELDS:
            raise ExpectationError(f"{path.name}: entry {i + 1}: needs match, verdict, reason (optional link, versions, "
                                   "broad_because) and nothing else")
        if not isinstance(e["match"], dict) or "verdict" in e["match"]:
            raise ExpectationError(f"{path.name}: entry {i + 1}: the verdict is never part of match (state it in verdict: "
                                   "a case in the entry's scope that passes simply does not fire it)")
    name = path.name if path.parent == DIRECTORY else str(path)
    return tuple({**e, "id": f"{name}#{i + 1}"} for i, e in enumerate(entries))


@functools.lru_cache(maxsize=None)
def load(impl: str) -> tuple:
    """Every entry that applies to ``impl``: the built-in file's, then the added ones'."""
    files = [DIRECTORY / f"{impl}.yaml"] + [p / f"{impl}.yaml" if p.is_dir() else p for p in _ADDED]
    return tuple(e for path in files if path.exists() for e in _read(path))


def _matches(value, wanted) -> bool:
    if isinstance(wanted, dict):
        return isinstance(value, dict) and all(_matches(value.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return any(_matches(value, w) for w in wanted)
    return value == wanted


def _version_ok(entry: dict, version: str | None) -> bool:
    if "versions" not in entry or not version:
        return True
    try:
        # versions like "tensorflow 2.21.0, keras 3.15.1": the first number is the library's
        number = next(tok for tok in version.replace(",", " ").split() if tok[:1].isdigit())
        return Version(number.split("+")[0]) in SpecifierSet(entry["versions"])
    except (StopIteration, InvalidVersion, InvalidSpecifier):
        return False


def expects(entry: dict | None, verdict: str) -> bool:
    """Whether ``entry`` (one verdict, or a list of them) expects ``verdict``."""
    if not entry:
        return False
    wanted = entry["verdict"]
    return verdict in wanted if isinstance(wanted, list) else verdict == wanted


def covering(impl: str, record: dict) -> list[dict]:
    """The entries whose scope holds ``record``. An entry speaks of values unless its match says ``quantity:
    gradient``: a finding about a loss's value never excuses one about its derivative, nor back."""
    quantity = record.get("quantity", "value")
    tagged = {**record, "quantity": quantity, "params": _with_defaults(record)}
    return [entry for entry in load(impl) if entry["match"].get("quantity", "value") == quantity
            and _matches(tagged, entry["match"]) and _version_ok(entry, record.get("version"))]


def _with_defaults(record: dict) -> dict | None:
    """The record's parameters with every declared one it leaves out at its default: a parameter left out is its
    default, so ``params: {from_logits: false}`` holds a draw that omits from_logits."""
    params = record.get("params")
    spec = specs.all_specs().get(record.get("loss"))
    if spec is None or not isinstance(params, dict):
        return params
    try:
        return spec.resolve_params(params)
    except ValueError:  # a parameter the spec does not declare: matched as recorded
        return params


def _verdict_of(record: dict) -> str:
    """What an entry must expect to explain ``record``: its verdict, or ``hazard`` for a conforming hazard."""
    return verdicts.HAZARD if record.get("verdict") == verdicts.PASS and record.get("hazard") else record["verdict"]


def note(impl: str, record: dict) -> dict | None:
    """The entry explaining ``record`` (the first in scope expecting its verdict), else the first in scope, if any;
    written on the record: the ids of the entries it is in the scope of (``expectation_scope``: what the audit
    counts) and, when one explains it, that entry (``expectation``: the entry has fired)."""
    scope = covering(impl, record)
    explaining = next((e for e in scope if expects(e, _verdict_of(record))), None)
    if scope:
        record["expectation_scope"] = [e["id"] for e in scope]
    if explaining:
        record["expectation"] = {k: explaining.get(k) for k in ("id", "verdict", "reason", "link", "versions")}
    return explaining or (scope[0] if scope else None)
