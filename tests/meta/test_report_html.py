"""The HTML report: renders every section, escapes hostile record data, loads nothing from the network."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import results
from reports import html

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
HOSTILE_RAW = ("<script>alert(1)</script>", "<img src=x", "<svg onload", "<b>bold</b>", "<u>x</u>", "</pre><script>", "<i>hostile</i>", "evil<lib>")


@pytest.fixture(scope="module")
def page():
    return html.render([results.load(FIXTURE)])


def section(page: str, title: str) -> str:
    """The markup from the <h2> starting with ``title`` up to the next <h2>."""
    start = page.index(f"<h2>{title}")
    end = page.find("<h2>", start + 4)
    return page[start:] if end < 0 else page[start:end]


def test_page_renders_all_sections(page):
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for title in ("Implementations", "Summary", "Matrix", "Findings", "Hazards", "Documentation examples", "Coverage"):
        assert f"<h2>{title}" in page
    assert "pytest tests/conformance --impl numpy,keras-tf" in page and "1234" in page and "quick" in page
    assert "<td>tf32</td><td>False</td>" in page  # environment table


@pytest.mark.parametrize("verdict", ["numeric", "semantic", "error", "accepted_invalid", "unsupported"])
def test_findings_show_each_unexpected_verdict(page, verdict):
    assert f'<span class="badge v-{verdict}">{verdict}</span>' in section(page, "Findings")


def test_expected_failure_is_shown_as_xfail_with_reason(page):
    findings = section(page, "Findings")
    assert '<span class="badge v-xfail">xfail</span> <small>nonfinite</small>' in findings
    assert "float16 clip bound rounds to 1" in findings and "keras-team/keras/issues/0000" in findings
    assert '<td class="cell v-xfail" title="1 case(s), 1 expected">xfail: nonfinite<span class="ulp">inf / 4</span>' in section(page, "Matrix")


def test_matrix_cells_carry_worst_verdict_and_ulps(page):
    matrix = section(page, "Matrix")
    assert 'class="cell v-pass" title="1 case(s)">pass<span class="ulp">0.5 / 4</span>' in matrix
    assert 'class="cell v-numeric" title="1 case(s)">numeric<span class="ulp">37 / 4</span>' in matrix


def test_cell_prefers_unexpected_failures_over_expected_ones():
    known = {"verdict": "nonfinite", "expectation": {"reason": "r"}, "ulp_error": "nan", "tolerance_ulps": 4}
    assert html.cell([known, {"verdict": "pass", "ulp_error": 1, "tolerance_ulps": 4}])["cls"] == "v-xfail"
    mixed = html.cell([known, {"verdict": "numeric", "ulp_error": 9, "tolerance_ulps": 4}])
    assert (mixed["label"], mixed["ulp"]) == ("numeric", "nan / 4")


def test_hazards_docs_and_coverage(page):
    hazards = section(page, "Hazards")
    assert "rounded to float16" in hazards and "<td class=\"n\">nan</td>" in hazards
    assert "mean_squared_error" not in hazards  # an empty hazard string is no hazard
    docs = section(page, "Documentation examples")
    assert '<tr class="drift"><td>keras.losses.binary_crossentropy#1</td>' in docs
    assert '<span class="badge v-doc_drift">doc_drift</span>' in docs and "(3 decimals)" in docs
    coverage = section(page, "Coverage")
    assert "1 unsupported</span><br><small>label_smoothing is not expressible in the numpy reference</small>" in coverage


def test_hostile_strings_appear_only_escaped(page):
    for raw in HOSTILE_RAW:
        assert raw not in page, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "ValueError: &lt;b&gt;bold&lt;/b&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("<script") == 1  # the page's own filter script, nothing from records


def test_templates_never_mark_data_safe():
    for template in (ROOT / "reports" / "templates").glob("*.j2"):
        assert not re.search(r"\|\s*safe|Markup", template.read_text()), template


def test_page_loads_nothing_from_the_network(page):
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"""@import|url\(\s*["']?\s*(?:https?:)?//|<link\b|<iframe\b""", page, re.I)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "reports", *map(str, args)], cwd=ROOT, capture_output=True, text=True)


def test_cli_writes_the_page(tmp_path):
    out = tmp_path / "report.html"
    proc = run_cli(FIXTURE, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "<h2>Findings (6)</h2>" in out.read_text()


def test_cli_reads_a_jsonl_stream(tmp_path):
    doc = results.load(FIXTURE)
    writer = results.ResultsWriter(tmp_path / "run.jsonl", doc["run"])
    for record in doc["records"][:2]:
        writer.add(record)
    writer.close()
    assert run_cli(tmp_path / "run.jsonl", "-o", tmp_path / "out.html").returncode == 0
    assert "numeric" in (tmp_path / "out.html").read_text()


@pytest.mark.parametrize("content", [{"format": "lossconf-results", "version": 99, "run": {}, "records": []}, {"format": "other"}, [1, 2], "{not json"])
def test_cli_rejects_incompatible_file_with_one_line(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_text(content if isinstance(content, str) else json.dumps(content))
    proc = run_cli(bad, "-o", tmp_path / "out.html")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr
    assert not (tmp_path / "out.html").exists()
