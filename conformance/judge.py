"""Judge one case: run it on an adapter, compare with the oracle, and produce its result record.

Every case is judged twice (docs/semantics.md#conformance-and-fidelity): against the semantics the adapter
declares (the conformance verdict) and against the idealised twin of that semantics (the fidelity: how far the
convention itself moves the value; a convention that makes a finite value infinite, or moves it by
more than the tolerance, is a hazard even when the implementation conforms to it).
"""
from __future__ import annotations

import dataclasses
import traceback

import mpmath
import numpy as np

import oracle
from adapters.base import Adapter, Unsupported
from conformance import tolerance
from core import dtypes, phases, verdicts
from core.case import Case
from core.semantics import accumulation_format
from conformance.worker import IsolationFailure, WorkerRaised
from oracle import reductions


def got_list(got: np.ndarray) -> list:
    return [float(v) for v in np.asarray(got, dtype=np.float64).ravel()]


def _errors(got: np.ndarray, exact_values: np.ndarray, dtype: str, flush: bool = False) -> np.ndarray:
    g = np.asarray(got, dtype=np.float64).ravel()
    return np.array([dtypes.ulp_error(a, b, dtype, flush) for a, b in zip(g, exact_values.ravel())])


def _within(got, exact, tol: tolerance.Tolerance) -> bool:
    values = np.asarray(exact.value, dtype=object)
    if np.asarray(got).size != values.size:
        return False
    return bool(np.all(_errors(got, values, exact.ulp_dtype, exact.flush) <= tol.ulps))


def candidate_semantics(case: Case) -> list:
    """The other documented conventions a miss is tried against (values and gradients): the declared semantics'
    idealised twin, the loss's other named semantics, and the declared one with one switch of
    ``core.semantics.ALTERNATIVES`` set otherwise."""
    spec, _, declared = oracle.prepare(case)
    return ([declared.idealised()] + [spec.semantics(n) for n in spec.semantics_names if n != case.semantics.split("+")[0]]
            + list(declared.variations()))


def _matching_semantics(case: Case, got, exact, tol: tolerance.Tolerance) -> str | None:
    """Another documented convention of this loss that explains ``got`` within tolerance.

    Candidates are judged in the declared ULP dtype: a convention that computes in a coarser dtype
    would otherwise "explain" any result that is merely accurate.
    """
    spec, _, declared = oracle.prepare(case)
    for sem in candidate_semantics(case):
        try:  # ruled out at one precision first; only a candidate that seems to match is certified
            if not _within(got, dataclasses.replace(oracle.estimate(case, sem), ulp_dtype=exact.ulp_dtype), tol):
                continue
            other = dataclasses.replace(oracle.evaluate(case, sem), ulp_dtype=exact.ulp_dtype)
        except (oracle.DomainError, ArithmeticError):
            continue
        if _within(got, other, tol):
            return sem.describe()
    # a reduction is no semantics switch: the declared semantics under another reduction of this loss
    for reduction, meaning in reductions.ALTERNATIVES.get(case.reduction, {}).items():
        if reduction in spec.reductions:
            other = dataclasses.replace(oracle.evaluate(case.with_(reduction=reduction)), ulp_dtype=exact.ulp_dtype)
            if _within(got, other, tol):
                return f"{declared.describe()} with reduction={reduction}: {meaning}"
    return None


@phases.timed("framework")
def _reproducer(adapter: Adapter, case: Case) -> str | None:
    try:
        return adapter.reproducer(case)
    except Exception as exc:  # a reproducer is a courtesy: never let it cost the case
        return f"# no reproducer: {type(exc).__name__}: {exc}"


def base_record(adapter: Adapter, case: Case, reproducer: str | None = None) -> dict:
    """The fields every record of ``case`` has; ``reproducer`` given (a gradient's), the value's is not asked for."""
    return {
        "impl": adapter.name,
        "library": adapter.library,
        "version": adapter.version(),
        "device": case.device,
        "variant": case.variant,
        "loss": case.loss,
        "params": case.kwargs,
        "semantics": case.semantics,
        "reduction": case.reduction,
        "dtype": case.dtype,
        "origin": case.origin,
        "inputs": {**case.to_dict()["inputs"], "sample_weight": case.to_dict()["sample_weight"]},  # by the spec's names
        "oracle_reproducer": case.reproducer(),
        "reproducer": _reproducer(adapter, case) if reproducer is None else reproducer,
        "expectation": None,
        "hazard": None,
        "hazard_kind": None,
        "matched_semantics": None,
        "raised": None,
        "got": None,
        "ulp_error": None,
        "tolerance_ulps": None,
    }


def run(adapter: Adapter, case: Case):
    """Ask the adapter, then call it: ("value", array) | ("unsupported", reason) | ("raised", "Type: message")
    | ("failed", why): its worker hung or died, which is never a clean rejection."""
    try:
        support = adapter.supports(case)
    except Exception as exc:
        return outcome_of(exc)
    return ("unsupported", str(support)) if support is not True else compute(adapter, case)


@phases.timed("framework")
def compute(adapter: Adapter, case: Case):
    """``run`` for a case already known to be supported: the adapter's compute, as an outcome."""
    try:
        return "value", adapter.compute(case)
    except Exception as exc:
        return outcome_of(exc)


def outcome_of(exc: Exception):
    if isinstance(exc, Unsupported):
        return "unsupported", str(exc)
    if isinstance(exc, IsolationFailure):
        return "failed", str(exc)
    if isinstance(exc, WorkerRaised):
        return "raised", str(exc)
    return "raised", f"{type(exc).__name__}: {exc}".strip()[:2000]  # the library raised: an outcome, not a crash


@phases.timed("framework")
def supported(adapter: Adapter, case: Case, gradient: str | None = None) -> bool | str:
    """``adapter.supports(case)`` (``gradient_support(case, mode)`` for a gradient in that autodiff mode); a worker
    that dies answering counts as supported, so that the computation reports the death as an error on the case
    (never a lost run)."""
    try:
        return adapter.gradient_support(case, gradient) if gradient else adapter.supports(case)
    except Unsupported as exc:
        return str(exc)
    except Exception:
        return True


def unsupported(adapter: Adapter, case: Case, reason) -> dict:
    """The record of a case ``adapter`` cannot express (``reason``: what ``supported`` said): nothing to compare."""
    return {**base_record(adapter, case), "kind": "conformance", "verdict": verdicts.UNSUPPORTED,
            "explanation": str(reason)}


@phases.timed("judge")
def judge(adapter: Adapter, case: Case) -> dict:
    support = supported(adapter, case)
    if support is not True:  # nothing to compare: spare the oracle
        return unsupported(adapter, case, support)
    record = base_record(adapter, case)
    try:
        exact = oracle.evaluate(case)
    except oracle.DomainError as invalid:  # any other error of the oracle's is a bug, and surfaces as one
        return _judge_invalid(record, adapter, case, str(invalid))
    except oracle.NotApplicable as reason:  # e.g. mean_by_length of a loss without lengths: nothing to check
        return {**record, "kind": "conformance", "verdict": verdicts.UNSUPPORTED, "explanation": str(reason)}
    record["kind"] = "conformance"
    record["exact"] = exact.digits(40)
    record["certified_bits"] = exact.certified_bits
    record["ulp_dtype"] = exact.ulp_dtype
    outcome, payload = compute(adapter, case)
    if outcome != "value":
        return without_value(record, outcome, payload, raised=(verdicts.ERROR, "raised on valid input"))
    got = np.asarray(payload)
    record["got"] = got_list(got)
    record["got_dtype"] = str(got.dtype)
    values = np.asarray(exact.value, dtype=object)
    lazy = tolerance.LazyTolerance(exact, lambda: oracle.condition(case))
    _fidelity(record, case, exact, lazy)
    if got.size != values.size:
        return {**record, "verdict": verdicts.ERROR, "explanation": f"returned shape {got.shape}, expected {values.shape}"}
    errors = _errors(got, values, exact.ulp_dtype, exact.flush)
    record["ulp_error"] = float(np.max(errors)) if errors.size else 0.0
    # finite, and still finite once correctly rounded to the dtype (beyond the largest float, inf is right)
    exact_finite = np.array([bool(mpmath.isfinite(dtypes.round_to(v, exact.ulp_dtype))) for v in values.ravel()])
    got_finite = np.isfinite(np.asarray(got, dtype=np.float64).ravel())
    if np.any(exact_finite & ~got_finite):  # no tolerance covers it: the conditioning would change nothing
        record["tolerance_basis"] = "lower bound without conditioning (an infinite error: no tolerance covers it)"
        return {**record, "verdict": verdicts.NONFINITE, "explanation": "returned inf or NaN where the exact value is finite"}
    tol, record["tolerance_basis"] = lazy.settle(errors)
    _accumulation_hazard(record, case, exact, lazy, errors)
    worst = int(np.argmax(errors / tol.ulps)) if errors.size else 0
    record["tolerance_ulps"] = float(tol.ulps[worst]) if tol.ulps.size else 0.0
    if np.all(errors <= tol.ulps):
        return {**record, "verdict": verdicts.PASS, "explanation": f"within {record['tolerance_ulps']:.3g} ULPs"}
    matched = _matching_semantics(case, got, exact, tol)
    if matched:
        return {**record, "verdict": verdicts.SEMANTIC, "matched_semantics": matched,
                "explanation": f"misses {case.semantics} by {errors[worst]:.3g} ULPs but matches {matched}"}
    return {**record, "verdict": verdicts.NUMERIC,
            "explanation": f"{errors[worst]:.4g} ULPs from the exact value (tolerance {tol.ulps[worst]:.3g}) at element {worst}"}


def _fidelity(record: dict, case: Case, exact, lazy: tolerance.LazyTolerance) -> None:
    """Fill ideal_exact / ideal_ulp_error / hazard: what the declared convention does to the value."""
    sem = exact.semantics
    if sem.idealised().switches == sem.switches:  # no guards: the convention is its own ideal
        record["ideal_exact"], record["ideal_ulp_error"] = record.get("exact"), 0.0
        return
    try:
        ideal = oracle.evaluate(case, exact.semantics.idealised())
    except (oracle.DomainError, ArithmeticError):
        return
    ideal_values = np.asarray(ideal.value, dtype=object).ravel()
    declared = np.asarray(exact.value, dtype=object).ravel()
    distances = np.array([dtypes.ulp_error(d, i, exact.ulp_dtype, exact.flush)
                          for d, i in zip(declared, ideal_values)])
    record["ideal_exact"] = ideal.digits(40)
    record["ideal_ulp_error"] = float(np.max(distances)) if distances.size else 0.0
    finite_made_infinite = any(mpmath.isfinite(i) and not mpmath.isfinite(d) for d, i in zip(declared, ideal_values))
    rounding_defeats_guard = False
    if sem["clip_epsilon"] is not None or sem["log_offset"] is not None:  # only they have constants to round
        written = np.asarray(oracle.evaluate(case, sem.as_written()).value, dtype=object).ravel()
        rounding_defeats_guard = any(mpmath.isfinite(w) and not mpmath.isfinite(d) for d, w in zip(declared, written))
    if finite_made_infinite:
        record["hazard_kind"] = verdicts.HAZARD_NONFINITE
        record["hazard"] = f"the {case.semantics} convention turns a finite ideal value into inf or NaN"
    elif rounding_defeats_guard:
        record["hazard_kind"] = verdicts.HAZARD_GUARD_ROUNDING
        record["hazard"] = (f"the {case.semantics} guard constants rounded to {case.dtype} no longer keep the loss "
                            "finite (e.g. 1 - 1e-7 rounds to 1): the value is infinite where the convention as written is finite")
    elif distances.size and np.any(distances > lazy.lower.ulps):  # only then can the (costly) full tolerance matter
        tol, _ = lazy.settle(distances)
        if np.any(distances > tol.ulps):
            record["hazard_kind"] = verdicts.HAZARD_MOVED
            record["hazard"] = (f"the {case.semantics} convention moves the value {record['ideal_ulp_error']:.3g} ULPs "
                                f"from the ideal (tolerance {float(np.max(tol.ulps)):.3g})")


def _accumulation_hazard(record: dict, case: Case, exact, lazy: tolerance.LazyTolerance, errors: np.ndarray) -> None:
    """Flag a declared accumulation narrower than float32 (``+running_sum``) where it moved this result: beyond the
    tolerance a float32 accumulator gets (the idealised semantics'), whatever the declaration allows itself."""
    sem = exact.semantics
    wide = sem.idealised()
    if record.get("hazard") or accumulation_format(sem, exact.ulp_dtype) == accumulation_format(wide, exact.ulp_dtype):
        return
    as_float32 = dataclasses.replace(exact, semantics=wide)
    if not errors.size or np.all(errors <= tolerance.derive(as_float32, [mpmath.mpf(0)] * errors.size).ulps):
        return  # within even the lower bound: the conditioning cannot change it
    allowed = tolerance.derive(as_float32, lazy.condition()).ulps
    if np.any(errors > allowed):
        worst = int(np.argmax(errors / allowed))
        record["hazard_kind"] = verdicts.HAZARD_ACCUMULATION
        record["hazard"] = (f"the declared {sem['accumulation']} accumulation of {case.dtype} sums moves the value "
                            f"{errors[worst]:.3g} ULPs from the exact one, beyond the {allowed[worst]:.3g} ULPs a float32 "
                            "accumulator allows")


def without_value(record: dict, outcome: str, payload: str, raised: tuple[str, str]) -> dict:
    """The record of a call that returned no value: unsupported, failed (hung or died), or raised —
    whose verdict depends on whether the input was valid (``raised`` = (verdict, explanation))."""
    if outcome == "unsupported":
        return {**record, "verdict": verdicts.UNSUPPORTED, "explanation": payload}
    if outcome == "failed":
        return {**record, "verdict": verdicts.ERROR, "raised": payload, "explanation": payload}
    return {**record, "verdict": raised[0], "raised": payload, "explanation": raised[1]}


def _judge_invalid(record: dict, adapter: Adapter, case: Case, reason: str) -> dict:
    record.update(kind="invalid", invalid_reason=reason)
    outcome, payload = run(adapter, case)
    if outcome != "value":
        return without_value(record, outcome, payload, raised=(verdicts.PASS, f"raised on invalid input ({reason})"))
    record["got"] = got_list(payload)
    if np.all(np.isfinite(np.asarray(payload, dtype=np.float64))):
        return {**record, "verdict": verdicts.ACCEPTED_INVALID,
                "explanation": f"returned a finite value for invalid input: {reason}"}
    if _has_nonfinite_input(case):
        # the input's own NaN or inf reached the result: IEEE arithmetic tells the caller, as it intends
        return {**record, "verdict": verdicts.PASS, "explanation": f"propagated the inf/NaN of its input ({reason})"}
    # every input number is finite, so the loss made this NaN or inf itself, and nothing raised: it flows silently
    # into a training step
    return {**record, "verdict": verdicts.NONFINITE_INVALID,
            "explanation": f"returned inf/NaN, without raising, for finite invalid input: {reason}"}


def _has_nonfinite_input(case: Case) -> bool:
    arrays = [*case.inputs.values(), case.sample_weight]
    return any(a is not None and np.asarray(a).dtype.kind not in "iub"  # integer labels are always finite
               and not np.all(np.isfinite(np.asarray(a, dtype=np.float64))) for a in arrays)


def crash_record(adapter: Adapter, case: Case, exc: BaseException) -> dict:
    """The record of a case where the suite itself failed (never lost, never silent)."""
    return {**base_record(adapter, case), "kind": "conformance", "verdict": verdicts.ERROR,
            "explanation": "lossconf failed on this case: " + "".join(traceback.format_exception_only(type(exc), exc)).strip()}
