"""Floating-point formats of the cases: rounding into a dtype, and ULP arithmetic on exact values.

Everything here works on exact values (mpmath ``mpf``) so that an ULP distance is itself exact:
``ulp(x)`` is the gap between the two floats of the dtype around ``x`` (subnormal spacing near zero).
"""
from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import mpmath
import numpy as np


@dataclass(frozen=True)
class FloatFormat:
    name: str
    mantissa_bits: int  # precision p, the implicit bit included
    min_exponent: int  # exponent of the smallest normal number: 2**min_exponent
    max_finite: float

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(ml_dtypes.bfloat16) if self.name == "bfloat16" else np.dtype(self.name)

    @property
    def unit_roundoff(self) -> mpmath.mpf:
        return mpmath.ldexp(1, -self.mantissa_bits)


FORMATS = {
    "float16": FloatFormat("float16", 11, -14, 65504.0),
    "bfloat16": FloatFormat("bfloat16", 8, -126, float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)),
    "float32": FloatFormat("float32", 24, -126, float(np.finfo(np.float32).max)),
    "float64": FloatFormat("float64", 53, -1022, float(np.finfo(np.float64).max)),
}


def float_format(name: str) -> FloatFormat:
    try:
        return FORMATS[str(name)]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; known: {', '.join(FORMATS)}") from None


def to_dtype(values, dtype: str) -> np.ndarray:
    """Round ``values`` to ``dtype`` (round to nearest even), as a numpy array of that dtype."""
    return np.asarray(np.asarray(values, dtype=np.float64), dtype=float_format(dtype).numpy)


def exact(value) -> mpmath.mpf:
    """The exact value of one float (any numpy float, bfloat16 included) as an mpf."""
    return mpmath.mpf(float(value))  # every float16/bfloat16/float32 value is exactly a float64


def ulp(x, dtype: str, flush: bool = False) -> mpmath.mpf:
    """Gap between the two floats of ``dtype`` that enclose ``x``; for a float x, the gap above |x|.

    With ``flush`` (a format without subnormals, as under FTZ) the gap below the smallest normal is the
    smallest normal itself.
    """
    fmt = float_format(dtype)
    if flush and abs(mpmath.mpf(x)) < mpmath.ldexp(1, fmt.min_exponent):
        return mpmath.ldexp(1, fmt.min_exponent)
    x = abs(mpmath.mpf(x))
    if x == 0 or not mpmath.isfinite(x):
        e = fmt.min_exponent
    else:
        _, e = mpmath.frexp(x)  # x = m * 2**e, 0.5 <= m < 1
        e = max(int(e) - 1, fmt.min_exponent)
    return mpmath.ldexp(1, e - fmt.mantissa_bits + 1)


def round_to(x, dtype: str) -> mpmath.mpf:
    """Round an exact value to the nearest float of ``dtype`` (ties to even), overflowing to inf."""
    fmt = float_format(dtype)
    x = mpmath.mpf(x)
    if not mpmath.isfinite(x) or x == 0:
        return x
    _, _, lowest, bits = x._mpf_  # x = odd mantissa of ``bits`` bits times 2**lowest
    if bits <= fmt.mantissa_bits and lowest > fmt.min_exponent - fmt.mantissa_bits and abs(x) <= fmt.max_finite:
        return x  # already a float of the format (subnormals included): nothing to round
    return _round(x, fmt, dtype, bits)


def _round(x, fmt, dtype, bits):
    with mpmath.workprec(max(bits, 53) + 64):  # exact: x's own bits plus room for the quotient
        return _round_exact(x, fmt, dtype)


def _round_exact(x, fmt, dtype):
    step = ulp(x, dtype)
    q = x / step
    n = mpmath.floor(q)
    frac = q - n
    if frac > 0.5 or (frac == 0.5 and int(n) % 2 == 1):
        n += 1
    r = n * step
    limit = mpmath.mpf(fmt.max_finite) + ulp(fmt.max_finite, dtype) / 2
    if abs(r) >= limit:
        return mpmath.inf if r > 0 else -mpmath.inf
    return r


def ulp_error(got, exact_value, dtype: str, flush: bool = False) -> float:
    """|got - exact| in ULPs of ``dtype`` at the exact value; inf when got is not finite and exact is.

    An exact value beyond the largest float is measured against its correct rounding, +-inf.
    """
    e = mpmath.mpf(exact_value)
    g = got if isinstance(got, mpmath.mpf) else mpmath.mpf(float(got))
    if mpmath.isfinite(e) and not mpmath.isfinite(round_to(e, dtype)):
        e = round_to(e, dtype)
    if mpmath.isnan(g) or mpmath.isnan(e):
        return 0.0 if (mpmath.isnan(g) and mpmath.isnan(e)) else float("inf")
    if mpmath.isinf(e) or mpmath.isinf(g):
        return 0.0 if g == e else float("inf")
    return float(abs(g - e) / ulp(e, dtype, flush))
