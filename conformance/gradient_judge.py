"""Judge one gradient case: the framework's own derivative against the oracle's exact one-sided derivatives.

The record is a conformance record (``judge.base_record``) with ``quantity: gradient`` and ``wrt``, judged per
component in ULPs of the result dtype (tolerance.derive_gradient):

- ``nonfinite``: inf or NaN where the exact derivative (either side) is finite;
- ``numeric``: beyond tolerance of both one-sided derivatives;
- ``pass``: within tolerance of the interval between them; at a kink the record says which side was taken.

Components whose derivative the oracle cannot certify to the dtype's precision (a kink within its step), or that
have no derivative on either side (an infinite loss), are not judged, and the record says how many. As for values,
a declared convention that zeroes or blows up a derivative the ideal loss has is a hazard, even when the
implementation conforms to it: it is what silently stalls training.
"""
from __future__ import annotations

import dataclasses
import hashlib

import mpmath
import numpy as np

import oracle
from adapters.base import Adapter
from conformance import tolerance
from conformance.judge import base_record, candidate_semantics, got_list, outcome_of, supported, without_value
from core import dtypes, phases, verdicts
from core.case import Case
from oracle import reductions
from oracle.gradient import REDUCTION_SWITCHES, evaluate_gradient, gradient_condition, switches_read

_LABEL_KINDS = ("sign", "integer", "class_index", "count")
# The values of the semantics switch ``subgradient``, in the order a failing gradient is tried against them: a side
# before the interval that contains it, so that the record names the side taken.
SUBGRADIENTS = ("left", "right", "interval")


def differentiable_inputs(spec) -> tuple[str, ...]:
    """The inputs a model's parameters flow into: every floating input but the targets (``y_true``, ``target``)."""
    return tuple(n for n in spec.input_names if spec.inputs[n] not in _LABEL_KINDS and n not in ("y_true", "target"))


def cotangent_for(case: Case, shape: tuple) -> np.ndarray | None:
    """The cotangent a non-scalar result is contracted with: nonzero small integers (exact in every dtype, so the
    contraction adds no rounding of its own), drawn from the case itself so that a rerun draws the same."""
    if case.reduction != "none":
        return None
    seed = int.from_bytes(hashlib.sha256(case.key().encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    return (rng.integers(1, 4, size=shape) * rng.choice([-1, 1], size=shape)).astype(np.float64)


@phases.timed("framework")
def compute_gradient(adapter: Adapter, case: Case, wrt, cotangent, mode: str = "reverse"):
    try:
        return "value", adapter.compute_gradient(case, wrt, cotangent, mode)
    except Exception as exc:
        return outcome_of(exc)


@phases.timed("framework")
def _reproducer(adapter: Adapter, case: Case, wrt, cotangent, mode: str) -> str:
    try:
        return adapter.gradient_reproducer(case, wrt, cotangent, mode)
    except Exception as exc:  # a courtesy: never let it cost the case
        return f"# no reproducer: {type(exc).__name__}: {exc}"


def _number(v) -> str | None:
    return None if v is None else mpmath.nstr(v, 17)


def _distance(got: float, lo, hi, dtype: str, flush: bool) -> float:
    """ULPs from ``got`` to the interval between the one-sided derivatives (0 inside it)."""
    sides = [v for v in (lo, hi) if v is not None]
    if len(sides) == 2 and np.isfinite(got) and min(sides) <= got <= max(sides):
        return 0.0
    return min(dtypes.ulp_error(got, v, dtype, flush) for v in sides)


@phases.timed("judge")
def judge_gradient(adapter: Adapter, case: Case, wrt: tuple[str, ...], mode: str = "reverse") -> dict:
    """``mode``: the autodiff mode the adapter computes the gradient in ("reverse", or "forward": the same
    derivative from Jacobian-vector products), judged against the same exact derivative."""
    record = {**base_record(adapter, case, reproducer=""), "quantity": "gradient", "mode": mode, "wrt": list(wrt),
              "kind": "conformance"}
    support = supported(adapter, case, gradient=mode)
    if support is not True:
        return {**record, "verdict": verdicts.UNSUPPORTED, "explanation": str(support)}
    try:
        value = oracle.estimate(case)
    except oracle.NotApplicable as reason:
        return {**record, "verdict": verdicts.UNSUPPORTED, "explanation": str(reason)}
    cotangent = cotangent_for(case, np.shape(np.asarray(value.value, dtype=object)))
    exact = evaluate_gradient(case, wrt, cotangent)
    record.update(cotangent=None if cotangent is None else cotangent.tolist(), certified_bits=exact.certified_bits,
                  ulp_dtype=exact.ulp_dtype, reproducer=_reproducer(adapter, case, wrt, cotangent, mode))
    record["exact"] = [_number(v) for n in wrt for v in exact.right[n].ravel()]
    if any(a != b for n in wrt for a, b in zip(exact.left[n].ravel(), exact.right[n].ravel())):
        record["exact_left"] = [_number(v) for n in wrt for v in exact.left[n].ravel()]
    outcome, payload = compute_gradient(adapter, case, wrt, cotangent, mode)
    if outcome != "value":
        return without_value(record, outcome, payload, raised=(verdicts.ERROR, "raised computing the gradient of a valid input"))
    for n in wrt:
        got = np.asarray(payload.get(n))
        if got.shape != np.shape(case.inputs[n]):
            return {**record, "verdict": verdicts.ERROR, "got_shape": list(got.shape),
                    "explanation": f"the gradient with respect to {n} has shape {got.shape}, the input {np.shape(case.inputs[n])}"}
    got = {n: np.asarray(payload[n], dtype=np.float64).ravel() for n in wrt}
    record["got"] = [v for n in wrt for v in got_list(got[n])]
    record["got_dtype"] = str(np.asarray(payload[wrt[0]]).dtype) if wrt else None
    _fidelity(record, case, exact, wrt, cotangent)
    return _verdict(record, case, exact, wrt, cotangent, got)


@dataclasses.dataclass
class _Comparison:
    """``got`` against one exact gradient: per input, which components are judged, the interval between the sides,
    the ULP distance to it, and the components that are inf or NaN where that gradient is finite."""
    judged: dict
    sides: dict
    errors: dict
    nonfinite: list
    taken: list
    skipped: int


def _compare(exact, wrt, got, subgradient: str = "interval") -> _Comparison:
    """``subgradient``: at a kink, any value between the sides conforms ('interval'), or only the one side named."""
    dtype, flush = exact.ulp_dtype, exact.flush
    needed = dtypes.float_format(dtype).mantissa_bits + 4
    judged, sides, errors, skipped, taken, nonfinite = {}, {}, {}, 0, [], []
    for n in wrt:
        # a NaN derivative (of a NaN value: an empty weighted mean) is no derivative: nothing to judge on that side
        lo, hi = ([None if v is None or mpmath.isnan(v) else v for v in side[n].ravel()] for side in (exact.left, exact.right))
        kink = [a is not None and b is not None and a != b for a, b in zip(lo, hi)]
        if subgradient != "interval":  # the declared side alone
            chosen = lo if subgradient == "left" else hi
            lo, hi = ([c if k else v for c, k, v in zip(chosen, kink, side)] for side in (lo, hi))
        bits = exact.bits[n].ravel()
        keep = np.array([(a is not None or b is not None) and k >= needed for a, b, k in zip(lo, hi, bits)], dtype=bool)
        skipped += int((~keep).sum())
        errors[n] = np.zeros(got[n].size)
        for i in np.nonzero(keep)[0]:
            finite = [v for v in (lo[i], hi[i]) if v is not None and mpmath.isfinite(dtypes.round_to(v, dtype))]
            if finite and not np.isfinite(got[n][i]):
                nonfinite.append(f"{n}[{i}]")
                errors[n][i] = np.inf
                continue
            if kink[i]:
                left, right = exact.left[n].ravel()[i], exact.right[n].ravel()[i]
                g = got[n][i]
                taken.append("left" if g == float(left) else "right" if g == float(right) else "between")
            errors[n][i] = _distance(got[n][i], lo[i], hi[i], dtype, flush)
        judged[n], sides[n] = keep, (lo, hi)
    return _Comparison(judged, sides, errors, nonfinite, taken, skipped)


def _verdict(record, case, exact, wrt, cotangent, got) -> dict:
    seen = _compare(exact, wrt, got, oracle.prepare(case)[2]["subgradient"])
    if seen.skipped:
        record["unjudged_components"] = seen.skipped
    if seen.taken:
        record["kink_sides"] = sorted(set(seen.taken))
    if not any(seen.judged[n].any() for n in wrt):
        return {**record, "verdict": verdicts.UNSUPPORTED,
                "explanation": "no component of this gradient could be judged (the oracle certified none of them)"}
    if seen.nonfinite:
        record["tolerance_basis"] = "lower bound without conditioning (an infinite error: no tolerance covers it)"
        tol = {n: tolerance.derive_gradient(exact, n) for n in wrt}
        failed = {**record, "verdict": verdicts.NONFINITE,
                  "explanation": f"returned inf or NaN where the exact derivative is finite ({', '.join(seen.nonfinite[:5])})"}
        return _convention(failed, case, exact, wrt, cotangent, got, tol, _missed(seen, tol, wrt))
    tol, basis = {n: tolerance.derive_gradient(exact, n) for n in wrt}, "lower bound without conditioning (sufficient)"
    beyond = {n: seen.errors[n] > tol[n].ulps for n in wrt}
    if any(b.any() for b in beyond.values()):
        # conditioning only where the lower bound is missed: elsewhere it could only widen a tolerance already met
        kappa = gradient_condition(case, wrt, cotangent, where=beyond)
        tol, basis = {n: tolerance.derive_gradient(exact, n, kappa[n]) for n in wrt}, "derived with conditioning"
    record["tolerance_basis"] = basis
    worst, n, i = max((float(seen.errors[n][i] / tol[n].ulps[i]), n, i) for n in wrt for i in range(got[n].size))
    record.update(ulp_error=float(seen.errors[n][i]), tolerance_ulps=float(tol[n].ulps[i]))
    if worst <= 1:
        return {**record, "verdict": verdicts.PASS, "explanation": f"within {record['tolerance_ulps']:.3g} ULPs"}
    failed = {**record, "verdict": verdicts.NUMERIC,
              "explanation": f"d/d{n}[{i}]: {seen.errors[n][i]:.4g} ULPs from the exact derivative "
                            f"(tolerance {tol[n].ulps[i]:.3g})"}
    return _convention(failed, case, exact, wrt, cotangent, got, tol, _missed(seen, tol, wrt))


def _missed(seen: _Comparison, tol, wrt) -> dict:
    """Per input, the components beyond tolerance (inf or NaN included): what another convention must explain."""
    return {n: seen.judged[n] & (seen.errors[n] > tol[n].ulps) for n in wrt}


def _explains(other, wrt, got, tol, subgradient: str, missed: dict) -> bool:
    """Whether ``got`` is, component by component, within tolerance of the exact gradient ``other`` of another
    convention, its inf and NaN included (inf or NaN only where ``other`` has no finite derivative either). ``other``
    must judge every component the declared convention ``missed``, and have a derivative wherever ``got`` is finite: a
    convention whose loss is infinite there explains nothing. The tolerance is the larger of the declared one and
    ``other``'s own lower bound: a convention whose derivative is three times the declared one rounds three times
    larger."""
    seen = _compare(other, wrt, got, subgradient)
    if seen.nonfinite or not any(seen.judged[n].any() for n in wrt):
        return False
    for n in wrt:
        if np.any(missed[n] & ~seen.judged[n]):
            return False
        lo, hi = seen.sides[n]
        if any(a is None and b is None and np.isfinite(g) for a, b, g in zip(lo, hi, got[n])):
            return False
    own = {n: np.maximum(tol[n].ulps, tolerance.derive_gradient(other, n).ulps) for n in wrt}
    return all(np.all(seen.errors[n][seen.judged[n]] <= own[n][seen.judged[n]]) for n in wrt)


def _candidates(case: Case):
    """The conventions a failing gradient is tried against, cheapest first: the declared semantics with one
    reduction switch changed (they share its partial derivatives), then its ideal twin, this loss's other named
    semantics and the declared one with one other switch changed (the value judge's candidates). A candidate that
    agrees with the declared semantics on every switch its formula reads on this draw computes the same function:
    it is not tried (each costs a certified derivative, element by element for a batch-coupled loss)."""
    declared = oracle.prepare(case)[2]
    read = switches_read(case, declared) | set(REDUCTION_SWITCHES)
    reduction_only = [v for v in declared.variations() if any(v[k] != declared[k] for k in REDUCTION_SWITCHES)]
    yield from reduction_only
    yield from (sem for sem in candidate_semantics(case) if sem not in reduction_only and any(sem[k] != declared[k] for k in read))


def _convention(failed: dict, case: Case, exact, wrt, cotangent, got, tol, missed: dict) -> dict:
    """``failed`` as ``semantic`` when another documented convention's exact gradient explains ``got`` (judged in
    the declared ULP dtype, with the declared tolerance, as values are), or the declared one with another side taken
    at its kinks; else ``failed`` unchanged."""
    spec, _, declared = oracle.prepare(case)
    for side in SUBGRADIENTS:
        if side != declared["subgradient"] and _explains(exact, wrt, got, tol, side, missed):
            return {**failed, "verdict": verdicts.SEMANTIC, "matched_semantics": f"{declared.describe()} with subgradient={side}",
                    "explanation": f"takes subgradient={side} at a kink, not the declared "
                                   f"{declared['subgradient']} ({failed['explanation']})"}
    for sem in _candidates(case):
        try:
            other = evaluate_gradient(case, wrt, cotangent, sem)
        except (oracle.DomainError, oracle.NotApplicable, ArithmeticError):
            continue
        other = dataclasses.replace(other, ulp_dtype=exact.ulp_dtype, flush=exact.flush)
        if _explains(other, wrt, got, tol, sem["subgradient"], missed):
            return {**failed, "verdict": verdicts.SEMANTIC, "matched_semantics": sem.describe(),
                    "explanation": f"matches {sem.name}, not the declared {case.semantics} "
                                   f"({failed['explanation']})"}
    for reduction, meaning in reductions.ALTERNATIVES.get(case.reduction, {}).items():  # the same partials, reduced
        if reduction in spec.reductions:                                                 # otherwise
            other = dataclasses.replace(evaluate_gradient(case.with_(reduction=reduction), wrt, cotangent),
                                        ulp_dtype=exact.ulp_dtype, flush=exact.flush)
            if _explains(other, wrt, got, tol, declared["subgradient"], missed):
                return {**failed, "verdict": verdicts.SEMANTIC,
                        "matched_semantics": f"{declared.describe()} with reduction={reduction}: {meaning}",
                        "explanation": f"matches reduction={reduction} ({meaning}), not {case.reduction} "
                                       f"({failed['explanation']})"}
    return failed


def _fidelity(record: dict, case: Case, exact, wrt, cotangent) -> None:
    """``hazard`` where the declared convention zeroes or blows up a derivative the ideal loss has (both sides)."""
    sem = oracle.prepare(case)[2]
    if sem.idealised().switches == sem.switches:  # no guards: the convention is its own ideal
        return
    declared = [d for n in wrt for d in exact.right[n].ravel()]
    if all(d is not None and d != 0 and mpmath.isfinite(d) for d in declared):
        return  # nothing zeroed or blown up: no need for the ideal's derivative
    try:
        ideal = evaluate_gradient(case, wrt, cotangent, sem.idealised())
    except (oracle.DomainError, ArithmeticError):
        return
    zeroed = blown = 0
    for n in wrt:
        for d, i in zip(exact.right[n].ravel(), ideal.right[n].ravel()):
            if i is None or not mpmath.isfinite(i):
                continue
            if d is None or not mpmath.isfinite(d):
                blown += 1
            elif d == 0 and i != 0:
                zeroed += 1
    if blown:
        record["hazard_kind"] = verdicts.HAZARD_NONFINITE
        record["hazard"] = f"the {case.semantics} convention makes {blown} finite derivative(s) of the ideal loss infinite or undefined"
    elif zeroed:
        record["hazard_kind"] = verdicts.HAZARD_ZEROED
        record["hazard"] = f"the {case.semantics} convention zeroes {zeroed} derivative(s) the ideal loss has (a clip that stalls training)"
