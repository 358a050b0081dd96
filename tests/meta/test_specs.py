"""Every spec loads and validates; a bad spec is one clear error naming its file and field."""
from __future__ import annotations

import textwrap

import pytest

import specs
from core.semantics import SWITCHES


def test_every_spec_loads_with_unique_example_ids():
    loaded = specs.all_specs()
    assert set(loaded) >= {"binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "mean_squared_error"}
    ids = [e["id"] for s in loaded.values() for e in s.examples]
    assert len(ids) == len(set(ids))
    for spec in loaded.values():
        for name in spec.semantics_names:
            sem = spec.semantics(name)
            assert sem.citation and set(sem.switches) <= set(SWITCHES)


def _write(tmp_path, name, body):
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(body))
    return path


GOOD = """\
    name: toy
    title: Toy
    formula: l = 0
    params: {}
    inputs: {y_true: real, y_pred: real, shapes: same}
    semantics: {ideal: {citation: math}}
    examples: []
"""


def test_a_valid_minimal_spec_loads(tmp_path):
    assert specs.load_file(_write(tmp_path, "toy", GOOD)).name == "toy"


@pytest.mark.parametrize("change, field", [
    (("shapes: same", "shapes: ragged"), "inputs/shapes"),
    (("{ideal: {citation: math}}", "{ideal: {citation: math, switches: {clip_eps: 1}}}"), "semantics/ideal/switches"),
    (("    title: Toy\n", ""), "(top level)"),
    (("examples: []", "examples: [{id: x}]"), "examples/0"),
])
def test_a_bad_spec_names_file_and_field(tmp_path, change, field):
    path = _write(tmp_path, "toy", GOOD.replace(*change))
    with pytest.raises(specs.SpecError) as info:
        specs.load_file(path)
    assert str(info.value).startswith(f"toy.yaml: field {field}")
    assert "\n" not in str(info.value)


def test_yaml_is_loaded_safely(tmp_path):
    path = _write(tmp_path, "toy", GOOD.replace("title: Toy", "title: !!python/object/apply:os.system ['echo pwned']"))
    with pytest.raises(specs.SpecError, match="not valid YAML"):
        specs.load_file(path)
