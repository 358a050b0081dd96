"""pytest's JUnit XML works with lossconf's test ids: CI systems that read it see every case, the reason of each
skip and xfail, and a failure message that says what failed and how to reproduce it; and each record of the
results JSON names the JUnit test case it came from (a combination the implementation cannot express is a record
but no test case: conformance.omitted)."""
from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest

from tests.meta.conftest import SuiteRun, run_suite_into

BROKEN = '''
    """A candidate whose MSE is a little off and which implements nothing else."""
    from adapters.base import Adapter, Unsupported


    class Broken(Adapter):
        name = "broken"
        library = "numpy"
        semantics = {"mean_squared_error": "ideal"}

        def mean_squared_error(self, case):
            if case.y_true.shape != case.y_pred.shape or case.sample_weight is not None:
                raise ValueError("not for this")
            per_sample = ((case.y_true - case.y_pred) ** 2).mean(axis=-1) * (1 + 2.0 ** -20)
            reduce = {"none": lambda x: x, "sum": lambda x: x.sum(), "sum_over_batch_size": lambda x: x.mean()}
            if case.reduction not in reduce:
                raise Unsupported(f"broken has no reduction {case.reduction}")
            return reduce[case.reduction](per_sample)
'''


def read(run: SuiteRun):
    """(the process, its JUnit test cases, its report's records)."""
    assert run.junit.exists(), run.proc.stdout[-3000:] + run.proc.stderr[-3000:]
    cases = list(ET.parse(run.junit).getroot().iter("testcase"))
    records = json.loads(run.report.with_suffix(".json").read_text())["records"]
    return run.proc, cases, records


def outcome(case: ET.Element) -> tuple[str, str, str]:
    """(tag, type, message) of a test case: ("passed", "", "") when it has no child element."""
    for child in case:
        if child.tag in ("skipped", "failure", "error"):
            return child.tag, child.get("type") or "", (child.get("message") or "") + (child.text or "")
    return "passed", "", ""


def param_id(case: ET.Element) -> str:
    name = case.get("name", "")
    return name.split("[", 1)[1][:-1] if "[" in name else ""


@pytest.mark.xdist_group("numpy-suite")
def test_junit_xml_of_the_numpy_suite(numpy_suite):
    proc, cases, records = read(numpy_suite)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert len(cases) > 50
    ids = {param_id(c) for c in cases}
    assert {"tests.conformance.test_examples", "tests.conformance.test_invalid_inputs",
            "tests.conformance.test_doc_values"} <= {c.get("classname") for c in cases}
    # every judged record names the JUnit case it came from: lossconf's ids survive pytest's XML unchanged; what
    # numpy cannot express is a record but no test (conformance.omitted), so no JUnit case
    judged = [r for r in records if r["kind"] in ("conformance", "invalid")]
    test_ids = {r["test_id"] for r in judged if r["verdict"] != "unsupported"}
    assert test_ids and test_ids <= ids, sorted(test_ids - ids)[:5]
    not_made = {r["test_id"] for r in judged if r["verdict"] == "unsupported"
                and str(r.get("origin")).startswith(("example:", "invalid:"))}
    assert not_made and not (not_made & ids)
    assert any(i.startswith("numpy-default-cpu-float32-") for i in ids)
    xfails = [outcome(c) for c in cases if outcome(c)[1] == "pytest.xfail"]
    assert xfails and all(message.startswith("known doc_drift: ") and len(message) > 40 for _, _, message in xfails)
    skips = [outcome(c) for c in cases if outcome(c)[1] == "pytest.skip"]
    assert all(message.strip() for _, _, message in skips)


def test_junit_xml_carries_failures_and_unsupported_reasons(tmp_path):
    package = tmp_path / "brokenpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "adapter.py").write_text(textwrap.dedent(BROKEN))
    proc, cases, records = read(run_suite_into(tmp_path, "--impl=brokenpkg.adapter:Broken", "--dtype=float64",
                                               env={"PYTHONPATH": str(tmp_path)}))
    assert proc.returncode == 1  # the suite fails, and says where
    failures = [outcome(c)[2] for c in cases if outcome(c)[0] == "failure"]
    assert failures and any("broken[default] mean_squared_error" in f and ": numeric" in f for f in failures)
    numeric = next(f for f in failures if ": numeric" in f)
    for part in ("why:", "exact:", "got:", "error:", "origin:", "reproduce:"):
        assert part in numeric, part
    # what the adapter cannot express is no JUnit case (conformance.omitted): its record keeps the reason
    skips = [outcome(c)[2] for c in cases if outcome(c)[1] == "pytest.skip"]
    assert not any(s.startswith("unsupported: broken does not implement") for s in skips)
    assert any(r.get("explanation") == "broken does not implement binary_crossentropy" for r in records)
    judged_ids = {r["test_id"] for r in records if r.get("test_id") and r["verdict"] != "unsupported"}
    assert judged_ids and judged_ids <= {param_id(c) for c in cases}
    assert {r["test_id"] for r in records if r.get("verdict") == "numeric"} <= {
        param_id(c) for c in cases if outcome(c)[0] == "failure"}  # each numeric record failed its JUnit case
