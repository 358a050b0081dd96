"""Arithmetic on object arrays of mpf that repeat whole rows: the long regime's batches (conformance.strategies).

A long run is a few samples, the last repeated thousands of times. The oracle evaluates each distinct sample once
(oracle.expression) and takes its per-sample values back to the batch, so a repeated row holds the very same mpf
*objects*: what costs is the arithmetic a reduction does on each of them again. Here consecutive rows (along axis 0)
that hold the same objects in every array are one run, computed once and counted n times.

Everything is keyed by identity, never by value: a run is only ever the same objects again, so each result is
exactly the elementwise one (a sum is mpmath's, added as integers and rounded once). The identities are read as
the object pointers the array stores (in CPython, an object's id); every object is alive in its array meanwhile.
"""
from __future__ import annotations

import ctypes

import mpmath
import numpy as np
from mpmath.libmp import bitcount, mpf_sum


def _pointers_by_id(a: np.ndarray) -> np.ndarray:
    return np.frompyfunc(id, 1, 1)(a.ravel()).astype(np.int64) if a.size else np.zeros(0, np.int64)


def _pointers_by_address(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=object)  # a broadcast view becomes a copy of its pointers, as it should
    if not a.size:
        return np.zeros(0, np.int64)
    return np.ctypeslib.as_array((ctypes.c_ssize_t * a.size).from_address(a.ctypes.data)).astype(np.int64)


def _reads_addresses() -> bool:
    probe = np.array([mpmath.mpf(1), mpmath.mpf(2), None, "x"], dtype=object)
    try:
        return _pointers_by_address(probe).tolist() == _pointers_by_id(probe).tolist()
    except (TypeError, ValueError, AttributeError):  # pragma: no cover - another interpreter or numpy
        return False


pointers = _pointers_by_address if _reads_addresses() else _pointers_by_id  # pragma: no branch


def object_runs(*arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, run): the first row of each run of consecutive rows (axis 0) that hold the same *objects* in every
    array, and per row the index of its run. Arrays of one leading length; a 0-d array is one row. (core.case.row_runs
    finds a case's runs of equal bits in its inputs; these are the runs the oracle's own arrays kept.)"""
    rows = len(arrays[0]) if np.ndim(arrays[0]) else 1
    if rows < 2:
        return np.zeros(min(rows, 1), np.intp), np.zeros(rows, np.intp)
    keys = np.concatenate([pointers(np.asarray(a, dtype=object)).reshape(rows, -1) for a in arrays], axis=1)
    new = np.ones(rows, bool)
    new[1:] = np.any(keys[1:] != keys[:-1], axis=1)
    return np.flatnonzero(new), np.cumsum(new) - 1


def distinct_map(fn, *arrays: np.ndarray) -> np.ndarray:
    """``fn`` applied elementwise to same-shaped object arrays, once per run of repeated rows."""
    shape = np.shape(arrays[0])
    if not arrays[0].size:
        return np.empty(shape, dtype=object)
    if not shape:  # 0-d
        return np.array([fn(*(a[()] for a in arrays)), None], dtype=object)[:1].reshape(())
    starts, run = object_runs(*arrays)
    firsts = [np.asarray(a, dtype=object)[starts] for a in arrays]
    flat = [f.ravel() for f in firsts]
    out = np.array([fn(*args) for args in zip(*flat)] + [None], dtype=object)[:-1].reshape(firsts[0].shape)
    return out[run]


def array_sum(values: np.ndarray):
    """mpmath.fsum of an object array of mpf at the working precision, each run's row added once times its length
    (its mantissas times the count, exactly: mpf_sum adds mantissas as integers and rounds at the end)."""
    values = np.asarray(values, dtype=object)
    flat = values.ravel()
    if values.ndim == 0 or flat.size < 64:
        return mpmath.fsum(flat)
    starts, _ = object_runs(values)
    if 4 * len(starts) > len(values):  # hardly any repeats: no gain
        return mpmath.fsum(flat)
    lengths = np.diff(np.append(starts, len(values)))
    terms, specials = [], []
    for start, n in zip(starts, lengths):
        for v in np.asarray(values[start], dtype=object).ravel():
            if not isinstance(v, mpmath.mpf):
                return mpmath.fsum(flat)
            if not mpmath.isfinite(v):
                specials.append(v)
                continue
            sign, man, exp, _ = v._mpf_
            if man:
                terms.append((sign, man * int(n), exp, bitcount(man * int(n))))
    if specials:  # fsum's rule: the sum of the infinities and NaNs alone (inf + inf is inf, however many)
        return mpmath.fsum(specials)
    return mpmath.mpf(mpf_sum(terms, *mpmath.mp._prec_rounding))


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Elementwise equality of two arrays of one shape; the same object is equal to itself without arithmetic."""
    if a.dtype != object or b.dtype != object:
        return bool(np.all(a == b))
    differ = pointers(a) != pointers(b)
    return bool(np.all(a.ravel()[differ] == b.ravel()[differ]))


def count_nonzero(values: np.ndarray) -> int:
    """How many elements of an object array are not 0, each run's row compared once."""
    values = np.asarray(values, dtype=object)
    if values.ndim == 0:
        return int(values[()] != 0)
    starts, _ = object_runs(values)
    lengths = np.diff(np.append(starts, len(values)))
    return int(sum(int(n) * sum(1 for x in np.asarray(values[s], dtype=object).ravel() if x != 0)
                   for s, n in zip(starts, lengths)))
