"""The canonical reductions (docs/semantics.md#canonical-reductions), evaluated exactly.

``l`` are the per-element losses after the loss's own axis reduction, ``w`` the weights broadcast to
``l`` (sample weights times class weights), ``m`` the mask of elements that count (ignored labels are
not elements of ``l``: they contribute nothing and are not counted).

``mean_by_length`` (torch ctc_loss's "mean") is mean_b(w_b l_b / max(len_b, 1)) over the counted elements:
each loss is divided by its own length (the number of labels of a CTC sequence; an empty sequence counts as
length 1) and the results are averaged. Weights multiply each term, as in ``sum_over_batch_size``; they do not
enter the denominator. It applies only to losses whose per-sample result carries lengths (``PerSample.lengths``,
listed as ``extra_reductions`` in the spec); for any other loss it raises ``NotApplicable``.
"""
from __future__ import annotations

import collections
import functools

import mpmath
import numpy as np

from oracle import runs
from oracle.domain import DomainError
from core.semantics import Semantics


class NotApplicable(ValueError):
    """The reduction does not apply to this loss (e.g. mean_by_length of a loss without lengths): not a domain
    error of the inputs (no implementation is expected to raise), so the judge reports the case as unsupported."""


# Convention detection (conformance.judge): a reduction an implementation may compute where another is declared,
# with the name a report gives it. Only the alternatives in the loss's spec.reductions are tried.
ALTERNATIVES = {
    "sum_over_batch_size": {"mean_by_length": "the per-target-length CTC mean, mean_b(l_b / max(len_b, 1))"},
    "mean_by_length": {"sum_over_batch_size": "the plain batch mean, not divided by the target lengths"},
}


def length_divisors(lengths, shape: tuple, reduction: str) -> np.ndarray | None:
    """What each element of ``l`` is divided by before the reduction averages: max(len, 1) for mean_by_length,
    None (nothing) for every other reduction."""
    if reduction != "mean_by_length":
        return None
    if lengths is None:
        raise NotApplicable("reduction mean_by_length divides each loss by its length; this loss has no lengths "
                            "(only losses whose spec lists it under extra_reductions, such as ctc)")
    return np.broadcast_to(np.array([mpmath.mpf(max(int(n), 1)) for n in np.ravel(lengths)] + [None], dtype=object)[:-1]
                           .reshape(np.shape(lengths)), shape)


def broadcast_weights(weights, shape: tuple) -> np.ndarray:
    """Align a weight array with the leading axes of ``l`` (scalar, (B,), (B,T)... against (B,T,...))."""
    w = np.asarray(weights, dtype=object)
    if w.ndim > len(shape) or any(a not in (1, b) for a, b in zip(w.shape, shape)):
        raise DomainError(f"sample_weight of shape {w.shape} cannot be aligned with per-sample losses of shape {shape}")
    return np.broadcast_to(w.reshape(w.shape + (1,) * (len(shape) - w.ndim)), shape)


def _divide(total, denominator, sem: Semantics):
    if denominator == 0:
        if sem["empty_mean"] == "zero":
            return mpmath.mpf(0)
        return mpmath.nan if total == 0 else mpmath.inf * mpmath.sign(total)
    return total / denominator


_RECENT: "collections.OrderedDict" = collections.OrderedDict()


def _same_arrays(fn):
    """``fn`` of arrays, remembered for the very same array objects at the same working precision: the oracle judges
    a draw under every reduction and candidate convention, each time on the per-sample arrays its memo shares
    (oracle.expression), and a long run makes every sum over them costly. The arguments are kept alive with the
    result, so their ids cannot be reused; the oracle's arrays are values, never changed in place."""
    @functools.wraps(fn)
    def remembered(*args):
        key = (fn.__name__, mpmath.mp.prec, *map(id, args))
        if key in _RECENT:
            _RECENT.move_to_end(key)
            return _RECENT[key][1]
        result = fn(*args)
        _RECENT[key] = (args, result)
        while len(_RECENT) > 32:
            _RECENT.popitem(last=False)
        return result
    return remembered


def forget() -> None:
    """Drop the arrays remembered by identity (oracle.forget)."""
    _RECENT.clear()


@_same_arrays
def _weighted(l: np.ndarray, w: np.ndarray | None, m: np.ndarray | None):
    """(w l where m counts, else 0; its exact-at-this-precision sum; w and m filled in)."""
    m = np.ones(l.shape, dtype=bool) if m is None else m
    # unit weights multiply nothing (l is already at the working precision, so l * 1 is l)
    products = l if w is None else runs.distinct_map(lambda a, b: a * b, l, np.broadcast_to(w, l.shape))
    w = np.full(l.shape, mpmath.mpf(1), dtype=object) if w is None else w
    weighted = np.where(m, products, mpmath.mpf(0)) if l.size else l
    return weighted, array_sum(weighted), w, m


def reduce(l: np.ndarray, w: np.ndarray | None, m: np.ndarray | None, reduction: str, sem: Semantics, batch: int,
           raw_weight_total=None, lengths=None):
    """Reduce exactly; returns an mpf, or an object array for ``none``. ``raw_weight_total`` is the sum of the
    sample-weight array as passed, before broadcasting (the weight_denominator="raw" convention); ``lengths``
    the per-element lengths mean_by_length divides by."""
    weighted, total, w, m = _weighted(l, w, m)
    zero = np.asarray(w == 0, dtype=bool) if sem["zero_weight_guard"] else None
    if zero is not None and zero.any():  # 0, not 0 * NaN
        weighted = np.where(zero, mpmath.mpf(0), weighted)
        total = array_sum(weighted)
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return total
    if reduction == "sum_over_batch_size":
        return _divide(total, int(m.sum()), sem)
    if reduction == "mean_with_sample_weight" and sem["weight_denominator"] == "raw" and raw_weight_total is not None:
        return _divide(total, raw_weight_total, sem)
    if reduction in ("mean_with_sample_weight", "weighted_mean"):
        return _divide(total, mpmath.fsum(w[m].ravel()), sem)
    if reduction == "sum_by_nonzero_weights":
        return _divide(total, runs.count_nonzero(np.where(m, w, mpmath.mpf(0))), sem)
    if reduction == "batchmean":
        return _divide(total, batch, sem)
    if reduction == "mean_by_length":
        divisors = length_divisors(lengths, l.shape, reduction)
        by_length = np.where(m, weighted / divisors, mpmath.mpf(0)) if l.size else l
        return _divide(mpmath.fsum(by_length.ravel()), int(m.sum()), sem)
    raise ValueError(f"unknown reduction {reduction!r}")


@_same_arrays
def magnitudes(l: np.ndarray, w: np.ndarray | None, m: np.ndarray | None, normaliser: np.ndarray | None) -> np.ndarray:
    """Per element, |w l| plus |w| times the normaliser magnitude (0 where masked): what a summation
    of this element's terms may round against (the rounding allowance of tolerance.py)."""
    one, zero = mpmath.mpf(1), mpmath.mpf(0)
    w = np.full(l.shape, one, dtype=object) if w is None else np.broadcast_to(w, l.shape)
    norm = np.full(l.shape, zero, dtype=object) if normaliser is None else np.broadcast_to(normaliser, l.shape)
    keep = np.full(l.shape, one, dtype=object) if m is None else np.where(m, one, zero)  # objects: part of the runs
    return runs.distinct_map(lambda a, b, c, k: abs(a * b) + abs(b) * c if k and mpmath.isfinite(a) else zero,
                             l, w, norm, keep)


array_sum = _same_arrays(runs.array_sum)
