"""The oracle's own expression of a case: its inputs as a semantics reads them, its per-sample losses, and the memo
that shares them between the reductions of one draw.

Both the value (``oracle``) and the derivative (``oracle.gradient``, which differentiates this very expression) are
built on it; it sits below both, so neither imports the other's module to reach it.
"""
from __future__ import annotations

import collections
import dataclasses

import mpmath
import numpy as np

import specs
from core import dtypes
from core.case import REDUCTIONS, Case
from core.semantics import Semantics, flushes, note_read, switches_read
from oracle import domain, reductions, runs
from oracle.losses import LOSSES, common


def _exact_values(a: np.ndarray, dtype: str | None) -> tuple[list, np.ndarray]:
    """(the distinct values of float array ``a`` as exact mpf, rounded to ``dtype`` where given; per element of ``a``,
    the index of its value): each distinct float is converted once (a long run of one sample repeats most of them)."""
    values, inverse = np.unique(np.asarray(a, dtype=np.float64).ravel(), return_inverse=True)  # exact: all fit float64
    exact = [dtypes.exact(v) for v in values]
    if dtype is not None:
        exact = [dtypes.round_to(v, dtype) for v in exact]
    return exact, inverse.ravel()


def _object_array(values: list, inverse: np.ndarray, shape: tuple) -> np.ndarray:
    return np.array(values + [None], dtype=object)[:-1][inverse].reshape(shape)


def _mp_array(a: np.ndarray, dtype: str | None) -> np.ndarray:
    if a.dtype.kind in "iu":
        return a
    return _object_array(*_exact_values(a, dtype), a.shape)


def _inputs(case: Case, sem: Semantics) -> dict:
    """The case's float inputs as exact mpf arrays, as the semantics reads them: cast first when it casts
    inputs, weights in the dtype it reduces in, subnormals read as zero when it flushes them."""
    arrays = {}
    for f, a in [*case.inputs.items(), ("sample_weight", case.sample_weight)]:
        if a is None or a.dtype.kind in "iu":
            continue
        dtype = (sem["reduce_in"] if f == "sample_weight" else None) or sem["cast_inputs"]
        values, inverse = _exact_values(a, dtype)
        tiny = mpmath.ldexp(1, dtypes.float_format(dtype or case.dtype).min_exponent)
        subnormal = [v != 0 and abs(v) < tiny and mpmath.isfinite(v) for v in values]
        # flush_subnormals is read only where it changes an input: elsewhere the convention is the same function
        # (oracle.cache's scoped entries, the judge's candidates)
        if any(subnormal) and flushes(sem, dtype or case.dtype):
            values = [mpmath.mpf(0) if s else v for v, s in zip(values, subnormal)]
        arrays[f] = _object_array(values, inverse, np.shape(a))
    return arrays


def _distinct_samples(spec, params, sem: Semantics, case: Case, inputs: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """(first, inverse): the first occurrence of each distinct sample along the batch axis (axis 0 of every input) and,
    per sample, the index of its distinct one; None when no sample repeats, or when a sample's loss may read other
    samples (a batch-coupled loss, a loss axis at 0, TF1's whole-batch pair count). A sample's loss is a function of
    its own inputs, and any tensor-wide property a formula reads (every label 0 or 1, ...) is a property of the set
    of values, which the distinct samples share with the batch: the repeated ones are copies, not recomputations."""
    arrays = list(inputs.values())
    rank = np.ndim(inputs[spec.prediction])
    by_classes = spec.inputs["shapes"] != "custom"  # a custom layout has its samples on axis 0 at every rank
    if (spec.inputs.get("batch_coupled") or (by_classes and (rank < 2 or params.get("axis", -1) % rank == 0))
            or 0 in (params.get("axes") or ())):
        return None
    batch = np.shape(arrays[0])[0] if np.ndim(arrays[0]) else 0
    if batch < 2 or any(np.ndim(a) == 0 or np.shape(a)[0] != batch for a in arrays):
        return None
    first, inverse = _repeats(case, batch)
    if len(first) == batch or sem["pairwise_count"] == "whole_batch":
        return None
    if not all(runs.same(np.take(np.take(a, first, axis=0), inverse, axis=0), a) for a in arrays):
        return None
    return first, inverse


_LAST_REPEATS: list = [None, None]  # (case, its repeats): conditioning asks again for every column it moves


def _repeats(case: Case, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(first, inverse) of the case's own samples, compared by the bytes of each row (fast, and exact: -0.0 is not
    0.0); ``_distinct_samples`` checks them on the arrays it is given, which may be moved (conditioning,
    derivatives) in ways that separate what the case repeats."""
    if _LAST_REPEATS[0] is not case:
        rows = np.concatenate([np.ascontiguousarray(a).reshape(batch, a.size // batch).view(np.uint8)
                               .reshape(batch, a.nbytes // batch) for a in case.inputs.values()], axis=1)
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        _LAST_REPEATS[:] = [case, (first, inverse.ravel())]
    return _LAST_REPEATS[1]


def _expanded(per, inverse: np.ndarray):
    """The PerSample of the distinct samples, each array field taken back to the whole batch."""
    fields = {f.name: getattr(per, f.name) for f in dataclasses.fields(per)}
    return dataclasses.replace(per, **{name: np.take(value, inverse, axis=0) for name, value in fields.items()
                                       if isinstance(value, np.ndarray) and value.ndim >= 1})


def _per_sample(spec, params, sem: Semantics, case: Case, arrays: dict):
    """(PerSample, effective weights broadcast to it or None, batch size) at the current precision."""
    inputs = {name: arrays.get(name, a) for name, a in case.inputs.items()}  # integer inputs stay as they are
    if spec.inputs["shapes"] == "sparse":
        inputs["y_true"] = domain.sparse_labels(case.y_true, case.y_pred, params.get("axis", -1))
    dtype = sem["cast_inputs"] or case.dtype
    distinct = _distinct_samples(spec, params, sem, case, inputs)
    if distinct is None:
        per = LOSSES[spec.name](*inputs.values(), sem, dtype, **params)
    else:  # a long run of one sample (strategies' long regime): each distinct sample evaluated once
        first, inverse = distinct
        per = LOSSES[spec.name](*(np.take(a, first, axis=0) for a in inputs.values()), sem, dtype, **params)
        per = _expanded(per, inverse)
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
    reductions.forget()
    common.forget()


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
