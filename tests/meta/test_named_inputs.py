"""Cases carry each input by the name its spec gives it, from the spec to the report: no loss packs two inputs
into one array, the oracle and the adapters read the names, and results and reproducers show them."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

import oracle
import specs
from adapters.numpy_reference import NumpyReferenceAdapter
from conformance import cases, judge, loss_layouts
from core.case import Case

NAMED = {
    "margin_ranking": ("input1", "input2", "target"),
    "gaussian_nll": ("input", "target", "var"),
    "cosine_embedding": ("input1", "input2", "target"),
    "triplet_margin": ("anchor", "positive", "negative"),
    "ctc": ("log_probs", "targets", "input_lengths"),
}


def test_the_losses_of_more_than_two_inputs_name_them():
    for loss, names in NAMED.items():
        spec = specs.all_specs()[loss]
        assert spec.input_names == names, loss
        assert loss in loss_layouts.CUSTOM  # the strategies draw them by name too
    assert specs.all_specs()["ctc"].integer_inputs == ("targets", "input_lengths")


def test_every_other_loss_takes_y_true_and_y_pred():
    for name, spec in specs.all_specs().items():
        if name not in NAMED:
            assert spec.input_names == ("y_true", "y_pred"), name


@pytest.mark.parametrize("loss", sorted(NAMED))
def test_examples_round_trip_by_name(loss):
    spec = specs.all_specs()[loss]
    for example in spec.examples:
        case = cases.example_case(spec, example)
        assert tuple(case.inputs) == spec.input_names
        again = Case.from_dict(case.to_dict())
        assert again == case and again.key() == case.key()
        for name in spec.integer_inputs:
            assert again.inputs[name].dtype == np.int64
        assert oracle.evaluate(again).value is not None


def test_positional_and_named_inputs_make_the_same_case():
    x1, x2, t = [1.0, 2.0], [2.0, 0.5], [1.0, -1.0]
    positional = specs.make_case("margin_ranking", x1, x2, t, params={"margin": 0.5})
    named = specs.make_case("margin_ranking", inputs={"target": t, "input2": x2, "input1": x1}, params={"margin": 0.5})
    assert named == positional and tuple(named.inputs) == ("input1", "input2", "target")
    assert oracle.evaluate_loss("margin_ranking", x1, x2, t, margin=0.5).value.tolist() == [1.5, 2]  # t = -1: 1.5 + 0.5


def test_wrong_inputs_are_one_line_errors():
    with pytest.raises(TypeError, match=r"margin_ranking takes 3 inputs \(input1, input2, target\); got 2"):
        specs.make_case("margin_ranking", [1.0], [2.0])
    with pytest.raises(ValueError, match=r"missing \['target'\]; unknown \['y_true'\]"):
        specs.make_case("margin_ranking", inputs={"input1": [1.0], "input2": [2.0], "y_true": [1.0]})
    case = specs.make_case("ctc", np.zeros((1, 2, 3)), [[1]], [2])
    with pytest.raises(KeyError, match="ctc has no input 'y_pred'; its inputs: log_probs, targets, input_lengths"):
        case.y_pred


def test_results_and_reproducers_show_each_input_by_name():
    spec = specs.all_specs()["margin_ranking"]
    case = cases.example_case(spec, spec.examples[0], semantics="ideal")
    record = judge.judge(NumpyReferenceAdapter(), case)
    assert list(record["inputs"]) == ["input1", "input2", "target", "sample_weight"]
    assert record["inputs"]["input2"]["data"] == [2.0, 2.0, 1.0]
    for name in ("input1", "input2", "target"):
        assert f"{name} = np.array(" in record["oracle_reproducer"]
        assert f"{name} = np.array(" in record["reproducer"]
    namespace = {}
    exec(record["oracle_reproducer"].replace("print(", "result = ("), namespace)  # the reproducer runs as printed
    assert namespace["result"].tolist() == [1.5, 0, 0]


SPEC = """\
    name: two_named
    title: A loss of named inputs
    formula: l = |a - b|
    params: {}
    inputs: {a: real, b: real, shapes: custom, per_sample: element}
    semantics:
      ideal: {citation: "the mathematics"}
    examples:
      - {id: two-named, source: made up, semantics: ideal, dtype: float32, reduction: none, a: [1.0], b: [2.0], printed: null}
"""


def test_a_spec_example_must_give_exactly_the_named_inputs(tmp_path):
    path = tmp_path / "two_named.yaml"
    path.write_text(textwrap.dedent(SPEC))
    assert specs.load_file(path).input_names == ("a", "b")
    path.write_text(textwrap.dedent(SPEC).replace(", b: [2.0]", ""))  # an example without b
    with pytest.raises(specs.SpecError, match="examples/0: the inputs are a, b; got a"):
        specs.load_file(path)
    path.write_text(textwrap.dedent(SPEC).replace("shapes: custom", "shapes: same"))  # same/sparse: y_true, y_pred
    with pytest.raises(specs.SpecError, match="shapes same takes exactly y_true and y_pred"):
        specs.load_file(path)
