"""The port view: two built-in implementations with a known convention difference (the numpy reference declares the
ideal binary cross-entropy, a mean over the class axis; torch's is elementwise and clamps the log at -100), run side
by side and from two saved runs, name the difference and the switches that explain it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reports import html, port
from reports.records import collect

ROOT = Path(__file__).resolve().parents[2]
SELECTION = ["tests/conformance/test_properties.py", "-q", "-p", "no:cacheprovider", "--dtype", "float32",
             "-k", "binary_crossentropy and not focal and (boundary or moderate)"]


def run(tmp: Path, impl: str, name: str) -> dict:
    env = {**os.environ, "LOSSCONF_ORACLE_CACHE": str(tmp / "oracle"), "LOSSCONF_HYPOTHESIS_DB": str(tmp / name / "db")}
    proc = subprocess.run([sys.executable, "-m", "pytest", *SELECTION, "--impl", impl, "--report", str(tmp / name / "r.html")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((tmp / name / "r.json").read_text())


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory):
    return run(tmp_path_factory.mktemp("port"), "numpy,torch", "both")


def rows(docs: list[dict]) -> list[dict]:
    judged = [r for r in collect(docs) if r.get("kind") == "conformance"]
    return port.build(judged, ["numpy", "torch"])


def test_a_side_by_side_run_names_the_difference_and_the_switches_behind_it(side_by_side):
    (row,) = rows([side_by_side])
    assert (row["loss"], row["a"], row["b"], row["agree"]) == ("binary_crossentropy", "numpy", "torch", False)
    assert 0 < row["differ"] <= row["draws"]
    assert "numpy: ideal (" in row["conventions"] and "torch: torch (" in row["conventions"]
    assert "axis_reduction mean" in row["conventions"] and "axis_reduction none" in row["conventions"]
    assert "log_clamp -100" in row["conventions"]
    assert row["in_words"].startswith("largest difference ")
    page = html.render([side_by_side])
    assert '<h2 id="port">Port view (1 loss × pair)</h2>' in page and page.index('id="port"') < page.index('id="findings"')


def test_two_saved_runs_with_one_seed_give_the_same_view(side_by_side, tmp_path):
    separate = rows([run(tmp_path, "numpy", "numpy"), run(tmp_path, "torch", "torch")])
    together = rows([side_by_side])
    assert [(r["draws"], r["differ"], r["conventions"]) for r in separate] == [(r["draws"], r["differ"], r["conventions"]) for r in together]


def test_agreement_is_within_the_sum_of_the_tolerances():
    def record(impl, got, tol=2.0):
        return {"kind": "conformance", "impl": impl, "variant": "default", "loss": "hinge", "draw": "d1", "reduction": "sum",
                "dtype": "float32", "semantics": "ideal", "got": got, "tolerance_ulps": tol, "origin": "seed=0 regime=moderate"}
    one_ulp = 1.0 + 2.0 ** -23
    (row,) = port.build([record("a", [1.0]), record("b", [one_ulp])], ["a", "b"])
    assert row["agree"] and row["conventions"] == "both declare ideal"
    (row,) = port.build([record("a", [1.0], tol=0.25), record("b", [one_ulp], tol=0.25)], ["a", "b"])
    assert not row["agree"] and "1.2e-07 relative" in row["in_words"]
    (row,) = port.build([record("a", [1.0]), record("b", ["nan"])], ["a", "b"])
    assert not row["agree"] and "inf or NaN on one side only" in row["in_words"]
    assert port.build([record("a", [1.0])], ["a"]) == []  # one implementation: no port view
