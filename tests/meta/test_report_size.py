"""The report stays small however many cases pass: a cell's passing cases are its counts and histogram, not rows of
their own (``--report-detail full`` lists them); what did not simply pass is listed, and the results JSON keeps all."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core import results
from reports import html

ROOT = Path(__file__).resolve().parents[2]
LOSSES = ("binary_crossentropy", "hinge", "huber", "log_cosh")
REDUCTIONS = ("none", "sum", "sum_over_batch_size")
DTYPES = ("float16", "float32", "float64")


def record(i: int, loss: str, reduction: str, dtype: str, verdict: str = "pass") -> dict:
    return {"kind": "conformance", "impl": "numpy", "variant": "default", "device": "cpu", "loss": loss, "params": {},
            "reduction": reduction, "dtype": dtype, "semantics": "keras", "origin": f"seed=0 regime=moderate draw-{i}",
            "verdict": verdict, "ulp_error": 0.25 + (i % 7) if verdict == "pass" else 99.0, "tolerance_ulps": 8.0,
            "exact": f"0.{i:040d}", "got": 0.5, "explanation": "within tolerance" if verdict == "pass" else "beyond",
            "expectation": None}


def doc(passes_per_cell: int) -> dict:
    records = [record(i, loss, reduction, dtype) for loss in LOSSES for reduction in REDUCTIONS for dtype in DTYPES
               for i in range(passes_per_cell)]
    records.append(record(10**6, "hinge", "sum", "float16", verdict="numeric"))
    return {"format": results.FORMAT, "version": results.VERSION, "created": "2026-12-07T00:00:00+00:00",
            "run": {"command": "pytest tests/conformance --impl numpy", "seed": 0, "profile": "quick"}, "records": records}


def test_passing_cases_are_counted_not_listed_unless_full_detail_is_asked_for():
    summary, full = html.render([doc(20)]), html.render([doc(20)], detail="full")
    assert "draw-13<" not in summary and "draw-13<" in full  # a passing case's own row only in full detail
    assert "draw-1000000<" in summary and "draw-1000000<" in full  # the failure is listed either way
    assert "20 case(s) of this cell that passed or are unsupported are in its counts and histogram" in summary
    assert 'n=20</span>' in summary  # ... and counted in its cell


def test_the_page_does_not_grow_with_the_number_of_passing_cases():
    small, large = len(html.render([doc(10)])), len(html.render([doc(200)]))
    assert large < small * 1.02, (small, large)  # 20 times the passing cases, the same page give or take their counts
    assert len(html.render([doc(200)], detail="full")) > 2 * large


def test_the_cli_and_pytest_take_the_detail(tmp_path):
    path = tmp_path / "run.json"
    results.write_json(path, doc(3))
    proc = subprocess.run([sys.executable, "-m", "reports", path, "-o", tmp_path / "full.html", "--detail", "full"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "draw-2<" in (tmp_path / "full.html").read_text()
    proc = subprocess.run([sys.executable, "-m", "reports", path, "-o", tmp_path / "x.html", "--detail", "every"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice: 'every'" in proc.stderr
    help_text = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], cwd=ROOT,
                               capture_output=True, text=True).stdout
    assert "--report-detail" in help_text


def test_a_cell_an_expectation_explains_shows_its_worst_case_once_and_the_others_beside_it():
    known = {"id": "numpy.yaml#1", "reason": "known", "verdict": "numeric"}
    expected = [{**record(10**6 + i, "hinge", "sum", "float32", verdict="numeric"), "ulp_error": 99.0 + i,
                 "expectation": known} for i in range(5)]
    page = html.render([{**doc(2), "records": doc(2)["records"] + expected}])
    cell = page[page.index("<b>hinge</b> · sum — <b>numpy</b> · cpu · float32"):]
    cell = cell[:cell.index("</details>")]
    assert "Worst: " in cell and cell.count("draw-1000004<") == 1  # the worst (103 ULPs) in its own line only
    assert all(f"draw-100000{i}<" in cell for i in (1, 2, 3)) and "draw-1000000<" not in cell and "… 1 more" in cell
