"""Certified evaluation: run a computation at p and at 2p bits and keep only the bits both agree on.

A value whose certified bits fall short of what is required is recomputed at a higher precision,
never used. Exact zeros and infinities that both precisions reproduce count as fully certified.
"""
from __future__ import annotations

from typing import Callable

import mpmath
import numpy as np

START_BITS = 96
REQUIRED_BITS = 64  # ULP errors are measured in float64 at most, to 1/2**11 of an ULP
MAX_BITS = 3072


class UncertifiedError(ArithmeticError):
    """The oracle could not certify enough bits of a value within MAX_BITS of working precision."""


def agreeing_bits(a, b, prec: int) -> int:
    """Leading bits on which two evaluations agree (prec when identical, NaN-NaN included)."""
    if mpmath.isnan(a) or mpmath.isnan(b):
        return prec if (mpmath.isnan(a) and mpmath.isnan(b)) else 0
    if a == b:
        return prec
    if mpmath.isinf(a) or mpmath.isinf(b):
        return 0
    scale = max(abs(a), abs(b))
    with mpmath.workprec(64):
        return max(0, int(mpmath.floor(-mpmath.log(abs(a - b) / scale, 2))))


def _flat(value) -> list:
    return list(np.asarray(value, dtype=object).ravel()) if isinstance(value, np.ndarray) else [value]


def certify(compute: Callable[[], object], required: int = REQUIRED_BITS) -> tuple[object, int]:
    """Evaluate ``compute()`` (a scalar mpf or an object array of mpf) with certified bits.

    Returns the value from the higher precision and the minimum certified bits over its elements.
    """
    prec = START_BITS
    while prec <= MAX_BITS:
        with mpmath.workprec(prec):
            low = compute()
        with mpmath.workprec(2 * prec):
            high = compute()
        bits = min((agreeing_bits(a, b, prec) for a, b in zip(_flat(low), _flat(high))), default=prec)
        if bits >= required:
            return high, bits
        prec *= 2
    raise UncertifiedError(f"fewer than {required} bits certified at {MAX_BITS} bits of working precision")
