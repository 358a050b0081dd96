"""The oracle's own expression of a case: its inputs as a semantics reads them, its per-sample losses, and the memo
that shares them between the reductions of one draw.

Both the value (``oracle``) and the derivative (``oracle.gradient``, which differentiates this very expression) are
built on it; it sits below both, so neither imports the other's module to reach it.
"""
from __future__ import annotations

import collections

import mpmath
import numpy as np

import specs
from core import dtypes
from core.case import REDUCTIONS, Case
from core.semantics import Semantics, flushes, note_read, switches_read
from oracle import domain, reductions
from oracle.losses import LOSSES


def _mp_array(a: np.ndarray, dtype: str | None) -> np.ndarray:
    if a.dtype.kind in "iu":
        return a
    flat = [dtypes.exact(v) for v in np.asarray(a).ravel()]
    if dtype is not None:
        flat = [dtypes.round_to(v, dtype) for v in flat]
    return np.array(flat + [None], dtype=object)[:-1].reshape(a.shape)


def _inputs(case: Case, sem: Semantics) -> dict:
    """The case's float inputs as exact mpf arrays, as the semantics reads them: cast first when it casts
    inputs, weights in the dtype it reduces in, subnormals read as zero when it flushes them."""
    arrays = {}
    for f, a in [*case.inputs.items(), ("sample_weight", case.sample_weight)]:
        if a is None or a.dtype.kind in "iu":
            continue
        dtype = (sem["reduce_in"] if f == "sample_weight" else None) or sem["cast_inputs"]
        values = _mp_array(a, dtype)
        tiny = mpmath.ldexp(1, dtypes.float_format(dtype or case.dtype).min_exponent)
        subnormal = [v != 0 and abs(v) < tiny and mpmath.isfinite(v) for v in values.ravel()]
        # flush_subnormals is read only where it changes an input: elsewhere the convention is the same function
        # (oracle.cache's scoped entries, the judge's candidates)
        if any(subnormal) and flushes(sem, dtype or case.dtype):
            values = np.array([mpmath.mpf(0) if s else v for v, s in zip(values.ravel(), subnormal)]
                              + [None], dtype=object)[:-1].reshape(values.shape)
        arrays[f] = values
    return arrays


def _per_sample(spec, params, sem: Semantics, case: Case, arrays: dict):
    """(PerSample, effective weights broadcast to it or None, batch size) at the current precision."""
    inputs = {name: arrays.get(name, a) for name, a in case.inputs.items()}  # integer inputs stay as they are
    if spec.inputs["shapes"] == "sparse":
        inputs["y_true"] = domain.sparse_labels(case.y_true, case.y_pred, params.get("axis", -1))
    per = LOSSES[spec.name](*inputs.values(), sem, sem["cast_inputs"] or case.dtype, **params)
    w = None
    if "sample_weight" in arrays:
        w = reductions.broadcast_weights(arrays["sample_weight"], per.values.shape)
    if per.item_weights is not None:
        w = per.item_weights if w is None else w * per.item_weights
    # "batch size" (batchmean) is the leading axis of the per-sample losses, whatever the class axis
    return per, w, per.values.shape[0] if per.values.ndim else 1


_PER_SAMPLE_MEMO: "collections.OrderedDict" = collections.OrderedDict()
# A draw is judged under every reduction, and a miss under up to ~20 candidate conventions at two precisions each
# (conformance.judge): the memo must hold all of them, or every reduction recomputes every candidate.


_MEMO_SIZE = 160


def _per_sample_memoised(spec, params, sem: Semantics, case: Case, arrays: dict):
    """``_per_sample`` of the case's own inputs, shared by every reduction of the same draw: the per-sample
    losses do not depend on the reduction, and a property test judges each draw under all of them."""
    return _remember(_memo_key(case, sem, "per_sample"), lambda: _per_sample(spec, params, sem, case, arrays))


def prepare(case: Case):
    """(spec, resolved params, semantics) for a case, validating its inputs (ValueError if invalid)."""
    spec, fixed = specs.resolve(case.loss)
    given = case.kwargs
    for k, v in fixed.items():
        if k in given and given[k] != v:
            raise ValueError(f"{case.loss} fixes {k}={v!r}; got {k}={given[k]!r}")
    params = spec.resolve_params({**given, **fixed})
    if case.reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {case.reduction!r}; known: {', '.join(REDUCTIONS)}")
    if case.reduction not in spec.reductions:
        raise reductions.NotApplicable(f"reduction {case.reduction!r} does not apply to {spec.name} "
                                       f"(its reductions: {', '.join(spec.reductions)})")
    domain.validate(spec, params, case.inputs, case.sample_weight)
    return spec, params, spec.semantics(case.semantics)


def _ulp_dtype(sem: Semantics, case: Case) -> str:
    """The dtype whose ULPs measure the error: the case's, or a coarser one the semantics computes in."""
    forced = sem["reduce_in"] or sem["cast_inputs"]
    if forced and dtypes.float_format(forced).mantissa_bits < dtypes.float_format(case.dtype).mantissa_bits:
        return forced
    return case.dtype


def _memo_key(case: Case, sem: Semantics, what: str) -> tuple:
    """Identifies a draw's inputs and semantics, whatever the reduction (the per-sample work is shared)."""
    return (what, case.with_(reduction="none", variant="", device="cpu", origin="").key(), sem.name,
            repr(sorted(sem.switches.items())), mpmath.mp.prec)


def anonymous(case: Case) -> Case:
    """The case as the oracle's formulas see it: no declared semantics (the switches, passed apart, are all they read),
    variant, device or origin. What a scoped cache entry (oracle.cache) is keyed by, with the switches read."""
    return case.with_(semantics="", variant="", device="cpu", origin="")


def forget() -> None:
    """Drop the in-memory per-sample memo (the on-disk cache is separate: LOSSCONF_ORACLE_CACHE=off); a benchmark
    that evaluates the same case twice must pay twice."""
    _PER_SAMPLE_MEMO.clear()


def _remember(key: tuple, compute):
    """``compute()``, once per key; a remembered result reports the switches its computation read (``note_read``),
    so that a ``switches_read`` block around it is told what the computation it skips would have read."""
    if key in _PER_SAMPLE_MEMO:
        _PER_SAMPLE_MEMO.move_to_end(key)
        result, read = _PER_SAMPLE_MEMO[key]
        note_read(read)
        return result
    with switches_read() as read:
        result = compute()
    _PER_SAMPLE_MEMO[key] = (result, frozenset(read))
    while len(_PER_SAMPLE_MEMO) > _MEMO_SIZE:
        _PER_SAMPLE_MEMO.popitem(last=False)
    return result


_LABEL_KINDS = ("sign", "integer", "class_index", "count")  # labels and lengths, not measurements: nothing to perturb


def _measured(spec, base: dict) -> list[str]:
    """The float inputs whose rounding the tolerance charges: predictions and real-valued targets, not labels
    (the last input first: y_pred before y_true)."""
    return [n for n in reversed(spec.input_names) if n in base and base[n].ndim and spec.inputs[n] not in _LABEL_KINDS]
