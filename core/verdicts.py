"""Verdict names: the one vocabulary that the judge writes, expectations match and reports rank.

A verdict says what an implementation did with one case (see the README, "Verdicts"):

- ``pass``: within tolerance of the exact value under the declared semantics;
- ``numeric``: beyond tolerance of the exact value;
- ``semantic``: beyond tolerance, but matches another documented convention (the record names it);
- ``nonfinite``: returned inf or NaN where the exact value is finite;
- ``error``: raised (or crashed) on valid input;
- ``accepted_invalid``: returned a finite number for an input outside the loss's domain instead of raising;
- ``nonfinite_invalid``: returned inf or NaN, without raising, for an input outside the loss's domain whose numbers are
  all finite (a label out of range, a negative probability, mismatched shapes). The loss made the NaN, and it flows
  silently into a training step: a NaN is not an error message. (A NaN or inf *in* the input that propagates to the
  result is IEEE arithmetic telling the caller, and passes.)
- ``variants_disagree``: two variants of one implementation (eager and compiled, class and function) treat one
  invalid input differently: one raises where another returns a number, or one returns inf/NaN where another
  returns a finite value (the record lists each variant's outcome);
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
NONFINITE_INVALID = "nonfinite_invalid"
VARIANTS_DISAGREE = "variants_disagree"
UNSUPPORTED = "unsupported"

VERDICTS = (PASS, NUMERIC, SEMANTIC, NONFINITE, ERROR, ACCEPTED_INVALID, NONFINITE_INVALID, VARIANTS_DISAGREE, UNSUPPORTED)
#: verdicts that are findings (a failure unless an expectation explains it)
FAILURES = (NUMERIC, SEMANTIC, NONFINITE, ERROR, ACCEPTED_INVALID, NONFINITE_INVALID, VARIANTS_DISAGREE)

#: A hazard is not a verdict: the result conforms to its declared convention, but the convention moves it from the
#: ideal loss. Each is a finding of its own kind (ranked after inf/NaN and errors on valid input, before numeric errors:
#: ``core.findings.RANKS``);
#: it needs no expectation, but one can acknowledge it (``verdict: hazard``, matched on ``hazard_kind``).
HAZARD = "hazard"
HAZARD_NONFINITE = "nonfinite"  # the convention turns a finite ideal value (or derivative) into inf or NaN
HAZARD_GUARD_ROUNDING = "guard_rounding"  # its guard constants, rounded to the dtype, no longer keep the value finite
HAZARD_MOVED = "moved"  # it moves the value beyond the dtype's precision (the tolerance) from the ideal
HAZARD_ZEROED = "zeroed_derivative"  # it zeroes a derivative the ideal loss has (a clip that stalls training)
HAZARD_ACCUMULATION = "accumulation"  # its declared half-precision accumulation moved the result beyond a float32 accumulator's
HAZARD_KINDS = (HAZARD_NONFINITE, HAZARD_GUARD_ROUNDING, HAZARD_MOVED, HAZARD_ZEROED, HAZARD_ACCUMULATION)

DOC_OK = "doc_ok"
DOC_DRIFT = "doc_drift"
NO_PRINTED_VALUE = "no_printed_value"
DOC_VERDICTS = (DOC_OK, DOC_DRIFT, NO_PRINTED_VALUE)

#: rank in a report, worst last
SEVERITY = {PASS: 0, UNSUPPORTED: 1, SEMANTIC: 2, NUMERIC: 3, VARIANTS_DISAGREE: 4, NONFINITE_INVALID: 5,
            ACCEPTED_INVALID: 6, NONFINITE: 7, ERROR: 8}
