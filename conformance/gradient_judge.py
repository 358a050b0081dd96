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

import hashlib

import mpmath
import numpy as np

import oracle
from adapters.base import Adapter
from conformance import tolerance
from conformance.judge import base_record, got_list, outcome_of, supported, without_value
from core import dtypes, phases, verdicts
from core.case import Case
from oracle.gradient import evaluate_gradient, gradient_condition

_LABEL_KINDS = ("sign", "integer", "class_index", "count")


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
def compute_gradient(adapter: Adapter, case: Case, wrt, cotangent):
    try:
        return "value", adapter.compute_gradient(case, wrt, cotangent)
    except Exception as exc:
        return outcome_of(exc)


@phases.timed("framework")
def _reproducer(adapter: Adapter, case: Case, wrt, cotangent) -> str:
    try:
        return adapter.gradient_reproducer(case, wrt, cotangent)
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
def judge_gradient(adapter: Adapter, case: Case, wrt: tuple[str, ...]) -> dict:
    record = {**base_record(adapter, case, reproducer=""), "quantity": "gradient", "wrt": list(wrt), "kind": "conformance"}
    support = supported(adapter, case, gradient=True)
    if support is not True:
        return {**record, "verdict": verdicts.UNSUPPORTED, "explanation": str(support)}
    try:
        value = oracle.estimate(case)
    except oracle.NotApplicable as reason:
        return {**record, "verdict": verdicts.UNSUPPORTED, "explanation": str(reason)}
    cotangent = cotangent_for(case, np.shape(np.asarray(value.value, dtype=object)))
    exact = evaluate_gradient(case, wrt, cotangent)
    record.update(cotangent=None if cotangent is None else cotangent.tolist(), certified_bits=exact.certified_bits,
                  ulp_dtype=exact.ulp_dtype, reproducer=_reproducer(adapter, case, wrt, cotangent))
    record["exact"] = [_number(v) for n in wrt for v in exact.right[n].ravel()]
    if any(a != b for n in wrt for a, b in zip(exact.left[n].ravel(), exact.right[n].ravel())):
        record["exact_left"] = [_number(v) for n in wrt for v in exact.left[n].ravel()]
    outcome, payload = compute_gradient(adapter, case, wrt, cotangent)
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


def _verdict(record, case, exact, wrt, cotangent, got) -> dict:
    dtype, flush = exact.ulp_dtype, exact.flush
    needed = dtypes.float_format(dtype).mantissa_bits + 4
    judged, sides, skipped, taken, nonfinite = {}, {}, 0, [], []
    for n in wrt:
        # a NaN derivative (of a NaN value: an empty weighted mean) is no derivative: nothing to judge on that side
        lo, hi = ([None if v is None or mpmath.isnan(v) else v for v in side[n].ravel()] for side in (exact.left, exact.right))
        bits = exact.bits[n].ravel()
        keep = np.array([(a is not None or b is not None) and k >= needed for a, b, k in zip(lo, hi, bits)], dtype=bool)
        skipped += int((~keep).sum())
        for i in np.nonzero(keep)[0]:
            finite = [v for v in (lo[i], hi[i]) if v is not None and mpmath.isfinite(dtypes.round_to(v, dtype))]
            if finite and not np.isfinite(got[n][i]):
                nonfinite.append(f"{n}[{i}]")
            if lo[i] is not None and hi[i] is not None and lo[i] != hi[i]:
                g = got[n][i]
                taken.append("left" if g == float(lo[i]) else "right" if g == float(hi[i]) else "between")
        judged[n], sides[n] = keep, (lo, hi)
    if skipped:
        record["unjudged_components"] = skipped
    if taken:
        record["kink_sides"] = sorted(set(taken))
    if nonfinite:
        record["tolerance_basis"] = "lower bound without conditioning (an infinite error: no tolerance covers it)"
        return {**record, "verdict": verdicts.NONFINITE,
                "explanation": f"returned inf or NaN where the exact derivative is finite ({', '.join(nonfinite[:5])})"}
    errors = {n: np.array([_distance(got[n][i], sides[n][0][i], sides[n][1][i], dtype, flush)
                           if judged[n][i] else 0.0 for i in range(got[n].size)]) for n in wrt}
    tol, basis = {n: tolerance.derive_gradient(exact, n) for n in wrt}, "lower bound without conditioning (sufficient)"
    if any(np.any(errors[n] > tol[n].ulps) for n in wrt):
        kappa = gradient_condition(case, wrt, cotangent)
        tol, basis = {n: tolerance.derive_gradient(exact, n, kappa[n]) for n in wrt}, "derived with conditioning"
    record["tolerance_basis"] = basis
    ratios = [(float(errors[n][i] / tol[n].ulps[i]), n, i) for n in wrt for i in range(got[n].size)]
    if not ratios or not any(judged[n].any() for n in wrt):
        return {**record, "verdict": verdicts.UNSUPPORTED,
                "explanation": "no component of this gradient could be judged (the oracle certified none of them)"}
    worst, n, i = max(ratios)
    record.update(ulp_error=float(errors[n][i]), tolerance_ulps=float(tol[n].ulps[i]))
    if worst <= 1:
        return {**record, "verdict": verdicts.PASS, "explanation": f"within {record['tolerance_ulps']:.3g} ULPs"}
    return {**record, "verdict": verdicts.NUMERIC,
            "explanation": f"d/d{n}[{i}]: {errors[n][i]:.4g} ULPs from the exact derivative "
                           f"(tolerance {tol[n].ulps[i]:.3g})"}


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
        record["hazard"] = f"the {case.semantics} convention makes {blown} finite derivative(s) of the ideal loss infinite or undefined"
    elif zeroed:
        record["hazard"] = f"the {case.semantics} convention zeroes {zeroed} derivative(s) the ideal loss has (a clip that stalls training)"
