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
# an input's kind is its domain: the values the loss is defined for (oracle/domain.py checks them, the strategies
# draw inside them and conformance/invalid.py steps outside)
KINDS = {
    "probability": "[0, 1]",
    "logit": "[-inf, +inf] (an infinite logit is a limit the loss is defined at; not NaN)",
    "real": "(-inf, +inf), finite",
    "nonnegative": "[0, +inf), finite",
    "sign": "{-1, +1}",
    "integer": "finite integers",
    "class_index": "integers: class indices in [0, C), or the loss's padding (-1) or ignored class",
    "count": "integers in [0, +inf): lengths",
}
INTEGER_KINDS = ("class_index", "count")  # inputs kept as int64: class indices, lengths
SHAPE_KEYS = ("shapes", "positive_row_sums", "min_rank", "max_rank", "per_sample", "batch_coupled")
EXAMPLE_KEYS = ("id", "source", "semantics", "dtype", "params", "reduction", "sample_weight", "printed",
                "printed_decimals", "note")

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
        # every input by name, in the order the loss takes them, with its kind (KINDS); "<name>_from_logits" gives
        # the input's kind when from_logits is set; the other keys below describe shapes
        "inputs": {
            "type": "object",
            "required": ["shapes"],
            "properties": {
                "shapes": {"enum": ["same", "sparse", "custom"]},  # custom: the loss module's CHECKS validate shapes
                "positive_row_sums": {"type": "boolean"},
                # the input ranks the loss takes (default 1 or, for sparse labels, 2; at most 3 are drawn)
                "min_rank": {"type": "integer", "minimum": 1},
                "max_rank": {"type": "integer", "minimum": 1},
                # the shape of the per-sample losses, which sample weights align with: the prediction's shape without
                # the class/feature axis (``axis`` parameter, else the last), the batch axis alone, without the axes
                # the ``axes`` parameter names (none: one value), or the prediction's shape itself (elementwise)
                "per_sample": {"enum": ["drop_axis", "batch", "drop_axes", "element"]},
                # each per-sample loss depends on the whole batch (pairwise losses: ntxent, circle), so batch
                # independence is not a property of the loss
                "batch_coupled": {"type": "boolean"},
            },
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
            "additionalProperties": {"enum": list(KINDS)},
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
                # and one key per input, named as ``inputs`` names them (checked in _validate)
                "required": ["id", "source", "semantics", "dtype", "reduction", "printed"],
                "additionalProperties": _array,
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]*$"},
                    "source": {"type": "string", "minLength": 1},
                    "semantics": {"type": "string"},
                    "dtype": {"enum": ["float16", "bfloat16", "float32", "float64"]},
                    "params": {"type": "object"},
                    "reduction": {"type": "string"},
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
    def input_names(self) -> tuple[str, ...]:
        """The loss's inputs by name, in the order it takes them (``y_true, y_pred`` for most losses)."""
        return tuple(k for k in self.inputs if k not in SHAPE_KEYS and not k.endswith("_from_logits"))

    @property
    def two_inputs(self) -> bool:
        """Whether the loss takes ``y_true, y_pred`` (a target and a prediction of one layout), as most do; the
        others (margin ranking, CTC, triplet margin, ...) name their inputs."""
        return self.input_names == ("y_true", "y_pred")

    def input_kind(self, name: str, from_logits: bool = False) -> str:
        """The kind of input ``name`` (KINDS); with ``from_logits``, its ``<name>_from_logits`` kind where given."""
        return self.inputs.get(f"{name}_from_logits", self.inputs[name]) if from_logits else self.inputs[name]

    @property
    def integer_inputs(self) -> tuple[str, ...]:
        """The inputs held as int64 (class indices, lengths)."""
        return tuple(n for n in self.input_names if self.inputs[n] in INTEGER_KINDS)

    @property
    def prediction(self) -> str:
        """The input that carries the batch: ``y_pred``, else the first input."""
        return "y_pred" if "y_pred" in self.input_names else self.input_names[0]

    def per_sample_shape(self, shape: tuple, params: dict, elementwise: bool = False) -> tuple:
        """The shape of the per-sample losses (what sample weights align with) for a prediction of ``shape``: the
        spec's ``inputs.per_sample``, or the input shape itself where the semantics keeps elementwise losses
        (``elementwise``, two-input layouts only)."""
        per_sample = self.inputs.get("per_sample", "drop_axis")
        if per_sample == "element" or (elementwise and self.inputs["shapes"] == "same"):
            return tuple(shape)
        if per_sample == "batch":
            return tuple(shape[:1])
        if per_sample == "drop_axes":
            axes = params.get("axes")
            if axes is None:
                return ()
            dropped = {int(a) % len(shape) for a in axes}
            return tuple(s for i, s in enumerate(shape) if i not in dropped)
        axis = params.get("axis", -1) if "axis" in self.params else -1
        return tuple(s for i, s in enumerate(shape) if i != axis % len(shape))

    def example_inputs(self, example: dict) -> dict:
        """A documented example's inputs by name."""
        return {name: example[name] for name in self.input_names}

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
    inputs = data["inputs"]
    names = [k for k in inputs if k not in SHAPE_KEYS and not k.endswith("_from_logits")]
    if inputs["shapes"] in ("same", "sparse") and names != ["y_true", "y_pred"]:
        raise SpecError(f"{path.name}: field inputs: shapes {inputs['shapes']} takes exactly y_true and y_pred (in this "
                        f"order); got {names}")
    for key in inputs:
        if key.endswith("_from_logits") and key.removesuffix("_from_logits") not in names:
            raise SpecError(f"{path.name}: field inputs/{key}: no input {key.removesuffix('_from_logits')!r}")
        if key in SHAPE_KEYS and key in names:  # pragma: no cover - SHAPE_KEYS are never names
            raise SpecError(f"{path.name}: field inputs/{key}: reserved")
    for key in names:
        if key in EXAMPLE_KEYS:
            raise SpecError(f"{path.name}: field inputs/{key}: {key!r} names an example field, not an input")
    for i, ex in enumerate(data["examples"]):
        given = [k for k in ex if k not in EXAMPLE_KEYS]
        if sorted(given) != sorted(names):
            raise SpecError(f"{path.name}: field examples/{i}: the inputs are {', '.join(names)}; got {', '.join(given) or 'none'}")
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


def make_case(loss: str, *arrays, inputs: dict | None = None, **kw) -> Case:
    """``Case.make`` with the inputs named and typed as the loss's spec names them: ``arrays`` in the spec's order
    (``y_true, y_pred`` for most losses) or ``inputs`` by name; class indices and lengths are kept int64."""
    try:
        spec = resolve(loss)[0]
    except ValueError:  # an unknown loss is the oracle's error to give, with the known names
        spec = None
    names = spec.input_names if spec is not None else ("y_true", "y_pred")
    if inputs is None:
        if len(arrays) != len(names):
            raise TypeError(f"{loss} takes {len(names)} inputs ({', '.join(names)}); got {len(arrays)}")
        inputs = dict(zip(names, arrays))
    elif arrays:
        raise TypeError("give the inputs positionally or as inputs=, not both")
    elif spec is not None and list(inputs) != list(names):
        missing, extra = [n for n in names if n not in inputs], [n for n in inputs if n not in names]
        if missing or extra:
            raise ValueError(f"{loss} takes the inputs {', '.join(names)}; "
                             + "; ".join(p for p in (f"missing {missing}" if missing else "",
                                                     f"unknown {extra}" if extra else "") if p))
        inputs = {n: inputs[n] for n in names}
    return Case.make(loss, inputs, integer=spec.integer_inputs if spec is not None else (), **kw)


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
