"""Verdict names: the one vocabulary that the judge writes, expectations match and reports rank.

A verdict says what an implementation did with one case (see the README, "Verdicts"):

- ``pass``: within tolerance of the exact value under the declared semantics;
- ``numeric``: beyond tolerance of the exact value;
- ``semantic``: beyond tolerance, but matches another documented convention (the record names it);
- ``nonfinite``: returned inf or NaN where the exact value is finite;
- ``error``: raised (or crashed) on valid input;
- ``accepted_invalid``: returned a number for an input outside the loss's domain instead of raising;
- ``unsupported``: the implementation cannot express the case; shown, never dropped.

Documented examples that are checked against the printed value (not an implementation) get a doc verdict.
"""
from __future__ import annotations

PASS = "pass"
NUMERIC = "numeric"
SEMANTIC = "semantic"
NONFINITE = "nonfinite"
ERROR = "error"
ACCEPTED_INVALID = "accepted_invalid"
UNSUPPORTED = "unsupported"

VERDICTS = (PASS, NUMERIC, SEMANTIC, NONFINITE, ERROR, ACCEPTED_INVALID, UNSUPPORTED)
#: verdicts that are findings (a failure unless an expectation explains it)
FAILURES = (NUMERIC, SEMANTIC, NONFINITE, ERROR, ACCEPTED_INVALID)

DOC_OK = "doc_ok"
DOC_DRIFT = "doc_drift"
NO_PRINTED_VALUE = "no_printed_value"
DOC_VERDICTS = (DOC_OK, DOC_DRIFT, NO_PRINTED_VALUE)

#: rank in a report, worst last
SEVERITY = {PASS: 0, UNSUPPORTED: 1, SEMANTIC: 2, NUMERIC: 3, ACCEPTED_INVALID: 4, NONFINITE: 5, ERROR: 6}
