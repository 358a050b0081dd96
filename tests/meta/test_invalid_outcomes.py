"""Invalid input, three outcomes per variant: raised (pass), inf/NaN made from finite input (``nonfinite_invalid``)
or a finite value (``accepted_invalid``); an inf/NaN of the input that reaches the result passes (propagation). And
the variants of one implementation must agree on each invalid input (``variants_disagree``)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from adapters.numpy_reference import NumpyReferenceAdapter
from conformance import agreement, judge
import specs
from tests.meta.broken import SilentWhenCompiled

ROOT = Path(__file__).resolve().parents[2]
LOGITS = [[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]]


def sparse_case(labels, variant="default", y_pred=LOGITS):
    return specs.make_case("sparse_categorical_crossentropy", labels, y_pred, params={"from_logits": True},
                           reduction="sum", semantics="ideal", variant=variant, origin="invalid:meta")


def test_nan_made_from_finite_invalid_input_is_nonfinite_invalid():
    record = judge.judge(SilentWhenCompiled(), sparse_case([3, 1], variant="compiled"))
    assert record["kind"] == "invalid" and record["verdict"] == "nonfinite_invalid"
    assert "without raising" in record["explanation"]


def test_raising_on_invalid_input_passes():
    record = judge.judge(SilentWhenCompiled(), sparse_case([3, 1]))
    assert record["verdict"] == "pass" and record["raised"]


def test_nan_of_the_input_reaching_the_result_passes_as_propagation():
    class Propagates(NumpyReferenceAdapter):  # no input check: the NaN logit flows through the arithmetic
        def compute(self, case):
            z = case.y_pred.astype(np.float64)
            return np.asarray(np.sum(np.log(np.exp(z).sum(-1)) - z[np.arange(len(z)), case.y_true]), case.y_pred.dtype)

    record = judge.judge(Propagates(), sparse_case([0, 1], y_pred=[[np.nan, 0.2, 0.3], [1.0, -1.0, 0.5]]))
    assert record["kind"] == "invalid" and record["verdict"] == "pass" and "propagated" in record["explanation"]


def _records(adapter, labels):
    return [judge.judge(adapter, sparse_case(labels, variant=v)) for v in adapter.variants]


def test_variants_that_raise_and_return_nan_disagree():
    record = agreement.agreement_record(_records(SilentWhenCompiled(), [3, 1]))
    assert record["kind"] == "agreement" and record["verdict"] == "variants_disagree"
    assert record["outcomes"] == {"default": "raised", "compiled": "inf/NaN"}
    assert record["variant"] == "default+compiled"
    assert "# default (raised)" in record["reproducer"] and "# compiled (inf/NaN)" in record["reproducer"]


def test_variants_that_all_raise_agree():
    class BothRaise(SilentWhenCompiled):
        sparse_categorical_crossentropy = NumpyReferenceAdapter.sparse_categorical_crossentropy

    record = agreement.agreement_record(_records(BothRaise(), [3, 1]))
    assert record["verdict"] == "pass" and record["outcomes"] == {"default": "raised", "compiled": "raised"}


def test_one_expressible_variant_has_nothing_to_agree_with():
    records = _records(SilentWhenCompiled(), [3, 1])
    records[1] = {**records[1], "verdict": "unsupported", "raised": None}
    assert agreement.agreement_record(records) is None


def test_the_suite_reports_both_findings_of_a_silent_compiled_variant():
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/conformance/test_invalid_inputs.py",
                             "--impl=tests.meta.broken:SilentWhenCompiled", "--dtype=float32", "-q", "-p", "no:cacheprovider",
                             "-p", "no:xdist", "-k", "sparse_categorical_crossentropy and label"],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 1, result.stdout[-2000:]
    summary = next(line for line in result.stdout.splitlines() if line.startswith("broken-silent-compiled variant agreement"))
    assert "variants_disagree" in summary
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert any("compiled-cpu-float32-sparse_categorical_crossentropy/label-at-num-classes" in f for f in failed)
    assert any("agreement-cpu-float32-sparse_categorical_crossentropy/label-at-num-classes" in f for f in failed)
    assert not any("default-cpu-float32" in f for f in failed)  # the eager variant raised, as it should


def test_shape_mismatches_are_tried_in_both_directions_and_all_zero_rows_are_tried():
    from conformance import invalid

    ids = {inv.id for inv in invalid.invalid_inputs(0)}
    column = {i.split("/")[0] for i in ids if i.endswith("/column-against-flat")}
    flat = {i.split("/")[0] for i in ids if i.endswith("/flat-against-column")}
    assert column and column == flat
    zero_rows = {i.split("/")[0] for i in ids if i.endswith("/all-zero-probability-row")}
    assert {"categorical_crossentropy", "sparse_categorical_crossentropy"} <= zero_rows
