"""The HTML report and the summaries: every section renders, drill-downs carry what a person acts on, hostile
record data stays escaped, nothing is fetched from the network, and summary-<impl>.json says the level per loss."""
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import reports
from core import results
from conformance.session import Session
from reports import findings, histogram, html, matrix, pytest_plugin, summary
from reports.records import collect

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
HOSTILE_RAW = ("<script>alert(1)</script>", "<img src=x", "<svg onload", "<b>bold</b>", "<u>x</u>", "</pre><script>", "<i>hostile</i>",
               "evil<lib>", "<b>key</b>", "<u>value</u>", "<script>alert(5)")
TEMPLATES = ROOT / "reports" / "templates"


@pytest.fixture(scope="module")
def page():
    return html.render([results.load(FIXTURE)])


@pytest.fixture(scope="module")
def full_page():
    """The page with ``--report-detail full``: every cell's drill-down in full, every case listed."""
    return html.render([results.load(FIXTURE)], detail="full")


def histogram_data(page: str, block: str) -> list:
    """The compact layout the page's script draws the histogram of a drill-down ``block`` from."""
    index = int(re.search(r'<figure class="hist" data-h="(\d+)">', block).group(1))
    return json.loads(re.search(r'<script type="application/json" id="histograms">(.*?)</script>', page, re.S).group(1))[index]


def section(page: str, anchor: str) -> str:
    """The markup from the <h2 id=anchor> up to the next <h2>."""
    start = page.index(f'<h2 id="{anchor}"')
    end = page.find("<h2", start + 4)
    return page[start:] if end < 0 else page[start:end]


def drill(page: str, title_part: str) -> str:
    """The drill-down <details> whose summary contains ``title_part``."""
    for block in re.findall(r'<details class="drill".*?</div>\n</details>', page, re.S):
        if title_part in block.split("</summary>", 1)[0]:
            return block
    raise AssertionError(f"no drill-down titled {title_part!r}")


def test_page_renders_all_sections(page):
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for anchor in ("summary", "overview", "cells", "findings", "hazards", "examples", "coverage", "environment"):
        assert f'<h2 id="{anchor}"' in page and f'href="#{anchor}"' in page
    assert "pytest tests/conformance --impl numpy,keras-tf" in page and "1234" in page and "quick" in page


def test_environment_block_names_every_facet(page):
    env = section(page, "environment")
    for facet in ("library", "devices", "dtypes checked", "hypothesis profile", "seed", "dtype policy", "TF32",
                  "flush-to-zero", "threads", "determinism"):
        assert f"<td>{facet}</td>" in env, facet
    assert "threads: 8" in env and "<td>1234</td>" in env and "<td>quick</td>" in env
    assert re.search(r'<td>flush-to-zero</td>(<td class="muted">not recorded</td>){3}</tr>', env)  # a facet no adapter reported says so
    assert "tf32: False" in env and "<td>&lt;b&gt;key&lt;/b&gt;</td>" in env  # other keys listed too, escaped


@pytest.mark.parametrize("verdict", ["numeric", "semantic", "error", "accepted_invalid"])
def test_findings_show_each_unexpected_verdict(page, verdict):
    assert f'<span class="badge v-{verdict}">{verdict}</span>' in section(page, "findings")


def test_unsupported_cases_are_coverage_not_findings(page):
    assert '<span class="badge v-unsupported">unsupported</span>' not in section(page, "findings")
    assert "1 unsupported</span>" in section(page, "coverage")


def test_expected_failure_is_shown_as_xfail_with_reason(page):
    found = section(page, "findings")
    assert '<span class="badge v-xfail">xfail</span><br><small>recorded nonfinite</small>' in found
    assert "float16 clip bound rounds to 1" in found and "keras-team/keras/issues/0000" in found
    assert 'class="cell v-xfail" data-impl="1" data-v="xfail"' in section(page, "overview")


def test_matrix_cells_carry_verdict_ulps_median_and_link(page):
    overview = section(page, "overview")
    assert re.search(r'class="cell v-pass" data-impl="0" data-v="pass" title="[^"]*"><a href="#cell-\d+">pass'
                     r'<span class="ulp">0.5 / 4</span><span class="med">med 0.375 · n=2</span>', overview)
    assert '>numeric<span class="ulp">37 / 4</span><span class="med">med 37 · n=1</span>' in overview
    assert "<th>cuda</th>" not in overview and '>cuda</th>' in overview  # a device row when several devices ran
    assert '>xpass<span class="ulp">1.5 / 4</span>' in overview  # a stale expectation shows as xpass


def test_cell_label_prefers_new_failures_then_stale_then_known():
    known = {"verdict": "nonfinite", "expectation": {"reason": "r"}, "ulp_error": "nan", "tolerance_ulps": 4}
    assert matrix.cell([known, {"verdict": "pass", "ulp_error": 1, "tolerance_ulps": 4}])["cls"] == "v-xfail"
    mixed = matrix.cell([known, {"verdict": "numeric", "ulp_error": 9, "tolerance_ulps": 4}])
    assert (mixed["label"], mixed["ulp"]) == ("numeric", "nan / 4")
    stale = {"verdict": "pass", "expectation": {"reason": "r"}, "ulp_error": 1, "tolerance_ulps": 4}
    assert matrix.cell([known, stale])["key"] == "xpass"
    unsupported = {"verdict": "unsupported", "expectation": {"reason": "broad match"}}
    assert matrix.cell([unsupported])["key"] == "unsupported"  # an expectation never makes a skip a finding
    hostile = matrix.cell([{"verdict": "<script>x</script>"}])
    assert (hostile["cls"], hostile["key"]) == ("v-unknown", "unknown")


def test_drilldown_has_worst_case_oracle_values_reproducer_and_histogram(page):
    d = drill(page, "sum_over_batch_size — <b>numpy</b> · cpu · float16")
    assert "0.6931471805599453094172321214581765680755" in d  # the oracle to 40 digits
    assert "<td>numpy returned</td>" in d and "0.6943359375" in d
    assert "<b>37</b> / 4 ULPs of float16" in d
    assert "37 ULPs beyond a tolerance of 4" in d and "none covers this case" in d
    assert '<div class="codehead"><b>Reproducer (numpy)</b>' in d and "bce(y_true, y_pred)" in d
    assert "<b>y_pred</b> <small>float16 (1,)</small><pre>[0.5]</pre>" in d
    factor, nbins, bins, nonfinite, mark, worst = histogram_data(page, d)
    assert (factor, nbins, mark, worst, nonfinite) == (2, 8, 4, 1, 0)  # bins up to (32, 64]; the worst case's tolerance
    assert bins == [[7, 0, 1]]  # 37 ULPs in (32, 64], beyond its tolerance; the empty bins are left out


def test_drilldown_explains_semantic_and_invalid_verdicts_and_expectations(page, full_page):
    semantic = drill(page, "mean_squared_error</b> · none — <b>numpy</b> · cpu · float32")
    assert "<b>Semantic convention matched:</b> torch (declared: keras)" in semantic
    invalid = drill(page, "sum — <b>numpy</b> · cpu · float32")
    assert "<b>Invalid input accepted:</b> y_pred = 1.5 is outside [0, 1]" in invalid
    # a cell whose failures an expectation explains points to its finding, which holds the reason and a reproducer
    known = drill(page, "— <b>keras-tf</b> · cpu · float16")
    assert re.search(r'Explained by <a href="#finding-(\d+)">finding \1</a>', known) and "<svg" not in known
    number = re.search(r'#finding-(\d+)', known).group(1)
    finding = re.search(rf'<tbody id="finding-{number}".*?</tbody>', section(page, "findings"), re.S).group(0)
    assert "float16 clip bound rounds to 1" in finding and '<div class="codehead"><b>Reproducer' in finding
    assert histogram_data(page, known)[2:4] == [[], 1]  # one inf or NaN error, no finite one
    known = drill(full_page, "— <b>keras-tf</b> · cpu · float16")
    assert "float16 clip bound rounds to 1" in known and "(recorded verdict: nonfinite)" in known


def test_drilldown_lists_the_value_every_implementation_returned(full_page):
    d = drill(full_page, "sum_over_batch_size — <b>keras-tf</b> · cuda · float32")
    siblings = re.search(r'<table class="siblings">.*?</table>', d, re.S).group(0)
    # the cuda case's origin is its own; the cpu cell shares the example with numpy
    shared = re.search(r'<table class="siblings">.*?</table>',
                       drill(full_page, "sum_over_batch_size — <b>keras-tf</b> · cpu · float32"), re.S).group(0)
    assert "[0.81493574]" in shared and "[0.8149356]" in shared and "<td>numpy</td>" in shared
    assert "[0.81493628]" in siblings


def test_documentation_examples_join_implementation_values(page):
    docs = section(page, "examples")
    row = re.search(r'<tr class="drift"><td class="ex">keras.losses.binary_crossentropy#1.*?</tr>', docs, re.S).group(0)
    assert "<code>0.916</code>" in row and "0.8149356163" in row
    assert 'title="pass: [0.8149356]">0.8149356</code>' in row  # numpy, in the example's dtype
    assert 'title="xpass: [0.81493574]">0.81493574</code>' in row  # keras-tf: its cpu record carries the example's origin
    mse = re.search(r"<tr><td class=\"ex\">keras.losses.mean_squared_error#1.*?</tr>", docs, re.S).group(0)
    assert "[0.5, 0.25]" in mse and "(in float64)" in mse  # the example's float32 was not run: float64 shown
    assert "printed 0.916 differs from the exact value at 3 decimals" in docs


def test_hazards_and_coverage(page, full_page):
    assert "rounded to float16" not in section(page, "hazards")  # a failing case's hazard is in its finding
    hazards = section(full_page, "hazards")  # every case with a hazard, in full detail
    assert "rounded to float16" in hazards and '<td class="n">nan</td>' in hazards
    assert "mean_squared_error" not in hazards  # an empty hazard string is no hazard
    coverage = section(page, "coverage")
    assert "1 unsupported</span> <small>1 reason</small>" in coverage
    assert "1× label_smoothing is not expressible in the numpy reference" in coverage


def test_hostile_strings_appear_only_escaped(page):
    for raw in HOSTILE_RAW:
        assert raw not in page, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "ValueError: &lt;b&gt;bold&lt;/b&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in page
    # the page's own script and the histograms' data (JSON, its "<" written \u003c), nothing from records
    assert page.count("<script") == 2 and page.count('<script type="application/json" id="histograms">') == 1


def test_filters_cover_verdicts_and_implementations(page):
    bar = re.search(r'<div id="filters".*?</div>', page, re.S).group(0)
    for v in ("pass", "numeric", "semantic", "error", "accepted_invalid", "unsupported", "xfail", "xpass"):
        assert f'data-fv="{v}"' in bar, v
    assert 'data-fi="2" checked>&lt;script&gt;alert(1)&lt;/script&gt;</label>' in bar


def test_templates_never_mark_data_safe_and_static_files_hold_no_template_syntax():
    for template in TEMPLATES.glob("*.j2"):
        assert not re.search(r"\|\s*safe|Markup|autoescape\s+false", template.read_text()), template
    for static in (TEMPLATES / "report.css", TEMPLATES / "report.js"):
        assert not re.search(r"\{[{%#]", static.read_text()), static  # they are included verbatim


def test_page_loads_nothing_from_the_network(page):
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"""@import|url\(\s*["']?\s*(?:https?:)?//|<link\b|<iframe\b""", page, re.I)


def test_histogram_layout():
    recs = [{"ulp_error": e, "tolerance_ulps": 4} for e in (0.1, 0.5, 0.9, 4.0, 5.0, 100.0)] + [{"ulp_error": "inf", "tolerance_ulps": 4}]
    h = histogram.histogram(recs + [{"ulp_error": None}])
    assert h["within"] == [2, 1, 0, 1, 0, 0, 0, 0, 0]  # [0,.5] (.5,1] (1,2] (2,4] (4,8] ... (64,128]
    assert h["beyond"] == [0, 0, 0, 0, 1, 0, 0, 0, 1]  # 5 is beyond its tolerance, 4 within (bins hold their upper edge)
    assert h["nonfinite"] == 1 and h["without_error"] == 1 and (h["mark"], h["mark_is_worst"]) == (4, False)
    assert histogram.compact(h) == [2, 9, [[0, 2, 0], [1, 1, 0], [3, 1, 0], [4, 0, 1], [8, 0, 1]], 1, 4, 0]
    wide = histogram.histogram([{"ulp_error": 1e9, "tolerance_ulps": 10}], 10)
    assert len(wide["edges"]) <= histogram.MAX_BINS and wide["factor"] == 4 and wide["mark_is_worst"]
    assert histogram.histogram([{"verdict": "unsupported"}]) is None


def test_findings_group_the_cases_one_exception_explains():
    base = {"kind": "conformance", "impl": "x", "loss": "l", "verdict": "error", "raised": "E: boom at (3, 4)", "origin": "seed=0"}
    rows = findings.build([{**base, "ulp_error": None}, {**base, "raised": "E: boom at (5, 1)"}, {**base, "raised": "E: other"},
                           {**base, "verdict": "pass"}], ["x"], {})
    assert sorted((f["count"], f["cause"]) for f in rows) == [(1, "raised E: other"), (2, "raised E: boom at (#, #)")]


def test_worst_case_record_replaces_its_compact_twin():
    compact = {"kind": "conformance", "impl": "x", "verdict": "numeric", "ulp_error": 9}
    full = {**compact, "inputs": {"y_true": None}, "reproducer": "code", "worst_case": True}
    assert collect([{"records": [compact, {**compact, "ulp_error": 1}, full]}]) == [{**compact, "ulp_error": 1}, full]


def test_summary_levels():
    assert summary.level([{"verdict": "pass"}, {"verdict": "unsupported"}]) == "exact"
    assert summary.level([{"verdict": "pass"}, {"verdict": "semantic"}]) == "semantic"
    for bad in ("numeric", "nonfinite", "error", "accepted_invalid", "<new verdict>"):
        assert summary.level([{"verdict": "semantic"}, {"verdict": bad}]) == "numeric", bad
    assert summary.level([{"verdict": "unsupported"}]) == "unchecked"
    assert summary.filename("<script>alert(1)</script>", set()) == "summary-script_alert_1_script.json"
    taken = set()
    assert [summary.filename(n, taken) for n in ("a/b", "a b")] == ["summary-a_b.json", "summary-a_b-2.json"]


def test_write_all_writes_the_page_and_a_summary_per_implementation(tmp_path):
    written = reports.write_all([FIXTURE], tmp_path / "out" / "index.html")
    assert [p.name for p in written] == ["index.html", "summary-numpy.json", "summary-keras-tf.json",
                                         "summary-script_alert_1_script.json"]
    numpy = json.loads(written[1].read_text())
    assert numpy["format"] == "lossconf-summary" and numpy["impl"] == "numpy" and numpy["library_version"] == "2.1.3"
    levels = {loss: v["level"] for loss, v in numpy["losses"].items()}
    assert levels == {"binary_crossentropy": "numeric", "categorical_crossentropy": "unchecked", "mean_squared_error": "semantic"}
    bce = numpy["losses"]["binary_crossentropy"]
    assert bce["level_text"] == "numeric failures" and bce["checked"] == 4
    assert bce["verdicts"] == {"pass": 2, "numeric": 1, "accepted_invalid": 1}
    assert numpy["level"] == "numeric" and numpy["badge"]["color"] == "red"
    keras = json.loads(written[2].read_text())
    assert keras["losses"]["binary_crossentropy"]["expected"] == 1  # the known nonfinite still counts, and is known
    hostile = json.loads(written[3].read_text())
    assert hostile["impl"] == "<script>alert(1)</script>"


def test_session_finish_writes_results_then_the_plugin_html_and_summaries(tmp_path):
    session = Session(adapters=[], dtypes=["float32"], devices=["cpu"], profile="quick", seed=0, report=tmp_path / "index.html")
    for record in results.load(FIXTURE)["records"]:
        session.add(record)
    session.written = session.finish()
    assert [p.name for p in session.written] == ["index.json"]
    pytest_plugin.pytest_sessionfinish(SimpleNamespace(config=SimpleNamespace(lossconf=session, getoption=lambda name, default=None: default)), 0)
    written = session.written
    assert [p.name for p in written[:2]] == ["index.json", "index.html"]
    assert {p.name for p in written[2:]} == {"summary-numpy.json", "summary-keras-tf.json", "summary-script_alert_1_script.json"}
    assert all(p.exists() for p in written)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "reports", *map(str, args)], cwd=ROOT, capture_output=True, text=True)


def test_cli_writes_the_page_and_summaries(tmp_path):
    out = tmp_path / "report.html"
    proc = run_cli(FIXTURE, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(out)] + [str(tmp_path / f"summary-{n}.json") for n in ("numpy", "keras-tf", "script_alert_1_script")]
    # the unsupported case is coverage; the documentation's drift is a finding of its own
    assert '<h2 id="findings">Findings (8 causes, 8 cases)</h2>' in out.read_text()


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
    assert not (tmp_path / "out.html").exists() and not list(tmp_path.glob("summary-*.json"))


def test_the_invalid_input_matrix_says_what_each_implementation_did(page):
    matrix = section(page, "invalid")
    assert "v-accepted_invalid" in matrix and "accepted " in matrix


def test_histogram_of_errors_near_the_largest_float_is_strict_json():
    """Errors of 1e308 ULPs (a float64 gradient off by the largest float) make the last bin's edge overflow: the page's
    data carries the factor and bin count, never the infinite edge (the script labels it "inf")."""
    from reports import histogram

    h = histogram.histogram([{"ulp_error": 1.7e308, "tolerance_ulps": 4.0}, {"ulp_error": 2.0, "tolerance_ulps": 4.0}])
    assert h["edges"][-1] == math.inf and h["within"][-1] == 0 and h["beyond"][-1] == 1
    assert json.loads(json.dumps(histogram.compact(h), allow_nan=False))[2][-1] == [len(h["edges"]) - 1, 0, 1]


def test_levels_say_why_citing_the_findings_by_their_number_in_the_report():
    def rec(loss, verdict="pass", **kw):
        return {"kind": "conformance", "impl": "x", "variant": "default", "device": "cpu", "loss": loss, "reduction": "sum",
                "dtype": "float32", "origin": "seed=0 regime=moderate", "verdict": verdict, "ulp_error": 9.0,
                "tolerance_ulps": 2.0, "expectation": None, **kw}
    known = {"id": "x.yaml#1", "verdict": "numeric", "reason": "r"}
    records = [rec("a"), rec("a", "numeric", expectation=known),
               rec("b"), rec("b", hazard="moved", hazard_kind="moved", semantics="keras"),
               rec("c", "semantic", matched_semantics="torch"),
               rec("d", "unsupported", explanation="x does not implement d"),
               rec("e", "unsupported", explanation="no float16 here"),
               rec("f", "numeric", ulp_error=1e6), rec("f", "numeric", expectation=known)]
    doc = {"created": "2026-12-07", "run": {"implementations": [{"name": "x"}]}, "records": records}
    (s,) = summary.summaries([doc])
    number = {f["cause"] + " " + ",".join(f["losses"]): n for n, f in enumerate(findings.build(collect([doc]), ["x"], {}), 1)}
    level = {loss: (v["level"], v["reason"]) for loss, v in s["losses"].items()}
    assert level["a"] == ("known", f"conforms except known finding {number['expectation x.yaml#1 a,f']}")
    assert level["b"] == ("exact", f"conforms; hazards: finding {number['hazard moved under keras b']}")
    assert level["c"] == ("semantic", f"differs by convention: matches torch (findings {number['matches torch c']})")
    assert level["d"] == ("not_provided", "x does not provide d")
    assert level["e"] == ("unchecked", "nothing checked: no float16 here")
    assert level["f"] == ("numeric", f"numeric failures: findings {number['regime moderate f']}; known: {number['expectation x.yaml#1 a,f']}")
    assert s["level"] == "numeric" and s["badge"]["message"] == "1 exact, 1 known, 1 semantic, 1 numeric, 1 unchecked, 1 not_provided of 6 losses"
    # a run that lists what each implementation provides decides it from that list, whatever the reasons say
    doc["run"]["implementations"][0]["losses"] = ["a", "b", "c", "d", "f"]
    (s,) = summary.summaries([doc])
    assert s["losses"]["d"]["level"] == "unchecked" and s["losses"]["e"]["level"] == "not_provided"
    page = html.render([doc])
    assert "not provided by this library (1 cases)" in section(page, "coverage")


def test_two_runs_side_by_side_show_each_documentation_example_once():
    """Every run writes the documentation's check of its own printed values (no implementation under test) alike:
    side by side, the examples table and the documentation-drift finding hold it once, not once per run."""
    whole = results.load(FIXTURE)
    tested = whole["run"]["implementations"]
    runs = [{**whole, "run": {**whole["run"], "implementations": [meta]},
             "records": [r for r in whole["records"] if r.get("impl") in (meta["name"], None)]} for meta in tested]
    assert all(sum(r["kind"] == "doc" for r in run["records"]) == 2 for run in runs)
    from reports.records import collect
    assert len(collect(runs)) == len(collect([whole]))
    split, single = html.render(runs), html.render([whole])
    assert '<h2 id="examples">Documentation examples (2)</h2>' in split
    drift = [f for f in findings.build(collect(runs), ["numpy"], {}) if f["label"] == "doc_drift"]
    assert [f["count"] for f in drift] == [1]
    assert section(split, "examples") == section(single, "examples")
