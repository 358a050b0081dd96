"""The renderer survives any results: generated records with extreme numbers (inf and NaN errors and tolerances, ULP
errors up to 1e308, numbers written as strings), missing fields, unknown verdicts, a single record, empty cells and
hostile strings render a page, the summaries, the findings and the run's summary lines, with every string escaped."""
from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings, strategies as st

from conformance.session import Session
from core import findings, results
from reports import __main__ as cli
from reports import html, summary

HOSTILE = st.sampled_from(["<script>alert(1)</script>", "</pre><img src=x onerror=alert(2)>", '"><svg onload=alert(3)>',
                           "x" * 300, "", "ünïcödé ∞", "a\nb\tc"])
NAMES = st.one_of(st.sampled_from(["tf", "torch", "jax", "numpy"]), HOSTILE)
NUMBER = st.one_of(st.none(), st.sampled_from([0.0, 1e-300, 5e-324, 1e308, 1.7976931348623157e308, math.inf, -math.inf,
                                               math.nan, "inf", "nan", "-inf", "1e308", "not a number", 3]),
                   st.floats(allow_nan=True, allow_infinity=True))
VALUE = st.one_of(NUMBER, st.lists(NUMBER, max_size=4), st.lists(st.lists(NUMBER, max_size=3), max_size=3), HOSTILE)
EXPECTATION = st.one_of(st.none(), st.fixed_dictionaries(
    {"id": st.one_of(st.none(), HOSTILE, st.just("tf.yaml#3")), "reason": HOSTILE,
     "verdict": st.one_of(st.sampled_from(["numeric", "nonfinite", "hazard"]), st.lists(st.sampled_from(["numeric", "semantic"]))),
     "link": st.one_of(st.none(), HOSTILE)}))


@st.composite
def records(draw):
    record = {
        "kind": draw(st.sampled_from(["conformance", "invalid", "agreement", "doc", "relation", "mystery"])),
        "impl": draw(NAMES), "variant": draw(NAMES), "device": draw(st.sampled_from(["cpu", "cuda"])),
        "loss": draw(st.one_of(st.sampled_from(["binary_crossentropy", "hinge"]), HOSTILE)),
        "reduction": draw(st.sampled_from(["none", "sum", "mean_with_sample_weight", "<b>r</b>"])),
        "dtype": draw(st.sampled_from(["float16", "bfloat16", "float32", "float64", "int8"])),
        "verdict": draw(st.sampled_from(["pass", "numeric", "semantic", "nonfinite", "error", "accepted_invalid",
                                         "nonfinite_invalid", "variants_disagree", "unsupported", "doc_drift", "doc_ok",
                                         "<new verdict>"])),
        "ulp_error": draw(NUMBER), "tolerance_ulps": draw(NUMBER), "ideal_ulp_error": draw(NUMBER),
        "exact": draw(VALUE), "got": draw(VALUE), "ideal_exact": draw(VALUE),
        "origin": draw(st.one_of(st.sampled_from(["seed=0 regime=extreme", "invalid:bce/negative", "example:keras#1"]), HOSTILE)),
        "explanation": draw(HOSTILE), "raised": draw(st.one_of(st.none(), HOSTILE)),
        "expectation": draw(EXPECTATION), "matched_semantics": draw(st.one_of(st.none(), HOSTILE)),
        "hazard": draw(st.one_of(st.none(), HOSTILE)), "hazard_kind": draw(st.one_of(st.none(), HOSTILE)),
        "params": draw(st.one_of(st.just({}), st.dictionaries(HOSTILE, VALUE, max_size=2))),
        "quantity": draw(st.sampled_from(["value", "gradient", None])), "mode": draw(st.sampled_from(["reverse", "forward", None])),
        "reproducer": draw(st.one_of(st.none(), HOSTILE)), "worst_case": draw(st.booleans()),
    }
    dropped = draw(st.sets(st.sampled_from(sorted(record)), max_size=6))  # any field may be missing
    return {k: v for k, v in record.items() if k not in dropped}


def document(recs: list[dict]) -> dict:
    return {"format": results.FORMAT, "version": results.VERSION, "created": "2026-12-07T00:00:00+00:00",
            "run": {"command": "<script>alert(9)</script>", "implementations": [{"name": "tf", "losses": ["hinge"]}]},
            "records": recs}


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(records(), min_size=0, max_size=12), st.sampled_from(html.DETAILS))
def test_any_records_render_a_whole_escaped_page(recs, detail):
    doc = json.loads(json.dumps(document(recs), default=str, allow_nan=True))  # as a results file holds them
    page = html.render([doc], detail)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for needle in ("<script>alert", "<img src=x", "<svg onload"):
        assert needle not in page
    for s in summary.summaries([doc]):
        json.dumps(s, allow_nan=False)  # a badge or dashboard reads strict JSON: no NaN or inf in it
        assert s["level"] in summary.LEVELS
    lines = findings.lines(findings.group(doc["records"]))
    assert len(lines) <= 22
    session = Session(adapters=[], dtypes=[], devices=[], profile="quick", seed=0, report=None)
    session.records = [r for r in doc["records"] if "verdict" in r]
    session.summary()


def test_the_cli_renders_a_single_record_and_an_empty_run(tmp_path):
    for name, recs in (("one", [{"kind": "conformance", "impl": "tf", "loss": "hinge", "verdict": "numeric",
                                 "ulp_error": 4.49e307, "tolerance_ulps": 2.0}]), ("empty", [])):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document(recs)))
        assert cli.main([str(path), "-o", str(tmp_path / f"{name}.html")]) == 0
        assert (tmp_path / f"{name}.html").read_text().rstrip().endswith("</html>")
