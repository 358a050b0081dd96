"""Loss specifications: one YAML file per loss, validated against SCHEMA on load.

A spec names a loss, its aliases per framework, its formula, parameters and input domains, the
semantics that apply (switch values with citations) and the worked examples from the frameworks'
documentation. YAML is read with the safe loader only.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from core.case import LOSS_SPECIFIC_REDUCTIONS, REDUCTIONS, Case
from core.semantics import MODIFIERS, SWITCHES, Semantics

SPEC_DIR = Path(__file__).parent
SPEC_DIRS: tuple[Path, ...] = (SPEC_DIR,)  # where all_specs() looks (a test may add a directory of its own)
# the frameworks a spec names aliases for, and the module whose __version__ decides which of them it has
ALIAS_FRAMEWORKS = {"keras": "keras", "keras2": "tf_keras", "tf1": "tensorflow", "torch": "torch", "optax": "optax"}
KINDS = ("probability", "logit", "real", "nonnegative", "sign", "integer", "class_index")

_number = {"type": "number"}
_array = {}  # nested lists of numbers, validated by numpy when used
SCHEMA = {
    "type": "object",
    "required": ["name", "title", "formula", "params", "inputs", "semantics", "examples"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "title": {"type": "string"},
        "formula": {"type": "string"},
        "reference": {"type": "string"},
        # framework -> the names it spells the loss by; {name, versions} for a name that comes or goes with a version
        # of the framework (ALIAS_FRAMEWORKS), e.g. {name: huber_loss, versions: "<3"}
        "aliases": {
            "type": "object",
            "propertyNames": {"enum": list(ALIAS_FRAMEWORKS)},
            "additionalProperties": {"type": "array", "items": {"oneOf": [
                {"type": "string"},
                {"type": "object", "required": ["name"], "additionalProperties": False,
                 "properties": {"name": {"type": "string"}, "versions": {"type": "string", "minLength": 1},
                                "note": {"type": "string"}}},
            ]}},
        },
        "alias_params": {"type": "object", "additionalProperties": {"type": "object"}},
        # canonical reductions beyond the base ones that apply to this loss (they need something only it has)
        "extra_reductions": {"type": "array", "items": {"enum": list(LOSS_SPECIFIC_REDUCTIONS)}, "uniqueItems": True},
        "params": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["type", "default"],
                "additionalProperties": False,
                "properties": {
                    "type": {"enum": ["bool", "float", "int", "int_or_null", "float_list_or_null"]},
                    "default": {},
                    "min": _number,  # inclusive bounds
                    "max": _number,
                    "exclusive_min": _number,  # the value must be greater than this
                    "exclusive_max": _number,  # the value must be less than this
                    "doc": {"type": "string"},
                },
            },
        },
        "inputs": {
            "type": "object",
            "required": ["y_true", "y_pred", "shapes"],
            "additionalProperties": False,
            "properties": {
                "y_true": {"enum": list(KINDS)},
                "y_pred": {"enum": list(KINDS)},
                "y_pred_from_logits": {"enum": list(KINDS)},
                "shapes": {"enum": ["same", "sparse", "custom"]},  # custom: the loss module's CHECKS validate shapes
                "positive_row_sums": {"type": "boolean"},
                # the input ranks the loss takes (default 1 or, for sparse labels, 2; at most 3 are drawn)
                "min_rank": {"type": "integer", "minimum": 1},
                "max_rank": {"type": "integer", "minimum": 1},
                # the shape of the per-sample losses, which sample weights align with: the input shape without the
                # class/feature axis (``axis`` parameter, else the last), the batch axis alone, or without the axes
                # the ``axes`` parameter names (none: one value)
                "per_sample": {"enum": ["drop_axis", "batch", "drop_axes"]},
                # each per-sample loss depends on the whole batch (pairwise losses: ntxent, circle), so batch
                # independence is not a property of the loss
                "batch_coupled": {"type": "boolean"},
            },
        },
        "semantics": {
            "type": "object",
            "required": ["ideal"],
            "additionalProperties": {
                "type": "object",
                "required": ["citation"],
                "additionalProperties": False,
                "properties": {
                    "switches": {"type": "object"},  # names checked against the oracle's registry in _validate
                    "citation": {"type": "string", "minLength": 1},
                    "note": {"type": "string"},
                },
            },
        },
        "examples": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "source", "semantics", "dtype", "reduction", "y_true", "y_pred", "printed"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]*$"},
                    "source": {"type": "string", "minLength": 1},
                    "semantics": {"type": "string"},
                    "dtype": {"enum": ["float16", "bfloat16", "float32", "float64"]},
                    "params": {"type": "object"},
                    "reduction": {"type": "string"},
                    "y_true": _array,
                    "y_pred": _array,
                    "sample_weight": _array,
                    "printed": {},
                    "printed_decimals": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "array", "items": {"type": "integer", "minimum": 0}}]},
                    "note": {"type": "string"},
                },
            },
        },
    },
}


class SpecError(ValueError):
    """A spec file that does not satisfy the schema; the message names the file and the field."""


@dataclass(frozen=True)
class Spec:
    name: str
    data: dict
    path: Path

    @property
    def params(self) -> dict:
        return self.data["params"]

    @property
    def inputs(self) -> dict:
        return self.data["inputs"]

    @property
    def examples(self) -> list:
        return self.data["examples"]

    def semantics(self, name: str) -> Semantics:
        """A semantics by name; "base+modifier" adds an environment modifier (core.semantics.MODIFIERS)."""
        base, *modifiers = name.split("+")
        try:
            entry = self.data["semantics"][base]
        except KeyError:
            raise ValueError(
                f"{self.name} has no semantics {base!r}; known: {', '.join(self.data['semantics'])}"
            ) from None
        switches, citations = dict(entry.get("switches") or {}), [entry["citation"]]
        for modifier in modifiers:
            if modifier not in MODIFIERS:
                raise ValueError(f"unknown semantics modifier {modifier!r}; known: {', '.join(MODIFIERS)}")
            switches.update(MODIFIERS[modifier][0])
            citations.append(MODIFIERS[modifier][1])
        return Semantics(name, switches, "; ".join(citations), entry.get("note", ""))

    @property
    def reductions(self) -> tuple[str, ...]:
        """The canonical reductions that apply to this loss: every base reduction, plus the loss-specific ones
        (core.case.LOSS_SPECIFIC_REDUCTIONS) its spec lists under ``extra_reductions``."""
        extra = set(self.data.get("extra_reductions") or ())
        return tuple(r for r in REDUCTIONS if r not in LOSS_SPECIFIC_REDUCTIONS or r in extra)

    def aliases(self, framework: str, version: str | None = None) -> list[str]:
        """The names ``framework`` spells this loss by; at ``version`` of it, only those it has there."""
        names = []
        for alias in self.data.get("aliases", {}).get(framework, []):
            if isinstance(alias, str):
                names.append(alias)
            elif version is None or "versions" not in alias or Version(version.split("+")[0]) in SpecifierSet(alias["versions"]):
                names.append(alias["name"])
        return names

    def param_bounds(self, name: str) -> str:
        """The parameter's range as text: [0, 1), (0, inf), ..."""
        p = self.params[name]
        low = f"({p['exclusive_min']}" if "exclusive_min" in p else f"[{p['min']}" if "min" in p else "(-inf"
        high = f"{p['exclusive_max']})" if "exclusive_max" in p else f"{p['max']}]" if "max" in p else "inf)"
        return f"{low}, {high}"

    @property
    def semantics_names(self) -> list[str]:
        return list(self.data["semantics"])

    def resolve_params(self, given: dict) -> dict:
        unknown = set(given) - set(self.params)
        if unknown:
            raise ValueError(f"{self.name}: unknown parameter(s) {sorted(unknown)}; known: {sorted(self.params)}")
        resolved = {k: p["default"] for k, p in self.params.items()}
        resolved.update(given)
        return resolved


def _validate(data: Any, path: Path) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        field = "/".join(str(p) for p in e.path) or "(top level)"
        raise SpecError(f"{path.name}: field {field}: {e.message}")
    if data["name"] != path.stem:
        raise SpecError(f"{path.name}: field name: {data['name']!r} does not match the file name")
    for name, entry in data["semantics"].items():
        unknown = sorted(set(entry.get("switches") or {}) - set(SWITCHES))
        if unknown:
            raise SpecError(f"{path.name}: field semantics/{name}/switches: unknown switch(es) {unknown}; known: {sorted(SWITCHES)}")
    for name, p in data["params"].items():
        for inclusive, exclusive in (("min", "exclusive_min"), ("max", "exclusive_max")):
            if inclusive in p and exclusive in p:
                raise SpecError(f"{path.name}: field params/{name}: give {inclusive} or {exclusive}, not both")
    for framework, aliases in (data.get("aliases") or {}).items():
        for i, alias in enumerate(aliases):
            try:
                isinstance(alias, dict) and SpecifierSet(alias.get("versions", ""))
            except InvalidSpecifier:
                raise SpecError(f"{path.name}: field aliases/{framework}/{i}/versions: not a version range: {alias['versions']!r}") from None
    for i, ex in enumerate(data["examples"]):
        if ex["semantics"].split("+")[0] not in data["semantics"]:
            raise SpecError(f"{path.name}: field examples/{i}/semantics: unknown semantics {ex['semantics']!r}")


def load_file(path: Path) -> Spec:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SpecError(f"{Path(path).name}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    _validate(data, Path(path))
    return Spec(data["name"], data, Path(path))


@functools.lru_cache(maxsize=None)
def all_specs() -> dict[str, Spec]:
    return {p.stem: load_file(p) for directory in SPEC_DIRS for p in sorted(Path(directory).glob("*.yaml"))}


def make_case(loss: str, y_true, y_pred, **kw) -> Case:
    """``Case.make`` with y_true kept as integer class indices where the loss's spec says its targets are labels."""
    try:
        labels = resolve(loss)[0].inputs["y_true"] == "class_index"
    except ValueError:  # an unknown loss is the oracle's error to give, with the known names
        labels = False
    return Case.make(loss, y_true, y_pred, labels=labels, **kw)


def resolve(name: str) -> tuple[Spec, dict]:
    """A canonical name or a framework alias -> (spec, parameters the alias fixes)."""
    specs = all_specs()
    if name in specs:
        return specs[name], {}
    for spec in specs.values():
        fixed = spec.data.get("alias_params", {})
        if name in fixed:
            return spec, dict(fixed[name])
        if any(name in spec.aliases(framework) for framework in spec.data.get("aliases", {})):
            return spec, {}
    raise ValueError(f"unknown loss {name!r}; known: {', '.join(specs)}")
