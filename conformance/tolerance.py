"""The tolerance of a case, derived from the oracle — the one place it is written down.

For a result f in a format with unit roundoff u (2**-24 for float32), an implementation may be off by

    tol_abs = u * ( ELEMENTWISE_ULPS * (cond + |f|)  +  (n - 1) * S )

  cond  = sum_i |df/dx_i * x_i| over every floating input (oracle.condition): a backward-stable
          evaluation that perturbs each input and each elementwise function by a few units of
          roundoff moves f by at most a few u * cond;
  |f|   = the final rounding and the error of the transcendental functions (log, exp, log1p) relative
          to the result itself;
  n, S  = the number of terms that the loss's axis reduction and the reduction add up, and the sum of
          their magnitudes scaled by the reduction's denominator: the worst case of a plain recursive
          sum is (n - 1) * u * S (Higham, Accuracy and Stability of Numerical Algorithms, §4.2).
          Sums *inside* the loss count too: a softmax or a renormalisation takes the log of a row sum
          of C terms (sum exp(z - max) or sum p), whose rounding moves each log p by up to (C - 1) u;
          so each element's magnitude is |w l| + |w| * sum_k |y'_k| for those losses (oracle.Exact).

Accumulation precision. A sum of half-precision terms (float16, bfloat16) is accumulated in the format the semantics
declares (core.semantics ``accumulation``): every built-in framework keeps a float32 accumulator and rounds the sum
once at the end (docs/semantics.md#accumulation-precision), so its additions commit u_acc = 2**-24 each, not the
u of the dtype, and each term is rounded to the dtype before it is added (the loss term, then its product with the
weight), twice u of the dtype per term; the one final rounding of the result is part of |f| above. So the
summation part reads

    (n - 1) * u_acc * S  +  2 * u * S      (n > 1; u_acc = u and no separate rounding where the sum runs in the dtype)

and a running sum in the dtype itself (``accumulation: running``, a candidate's declaration) keeps (n - 1) * u * S:
at 256 bfloat16 terms that already admits any result of the right order.

plus, for gradual underflow, (ELEMENTWISE_ULPS + n * max(1, 1/D)) * eta, where eta is half the gap between 0 and
the smallest positive float (an operation whose result is subnormal errs by up to eta absolutely, not
relatively: fl(x op y) = (x op y)(1 + delta) + eta, Higham §2.1) and D the reduction's denominator (a weighted
mean divides the n terms' absolute errors by the sum of the weights, which tiny weights make far below 1: 9846
products of a loss near 1 and a weight of 2**-23 are subnormal in float16); under flush-to-zero eta is half the
smallest normal. The tolerance in ULPs is tol_abs / ulp(f) in the dtype that the semantics computes in. For
reduction "none" each element gets its own tolerance from its own conditioning. Nothing here is
tuned per framework or per test, and nothing may be loosened to make one pass: a case beyond its
tolerance is a finding.

A derivative g (one component of a gradient, oracle.gradient) gets, in the same terms,

    tol_abs = u * ( GRADIENT_ULPS * (kappa + |g|)  +  (r - 1) * (|g| + N)  +  (d - 1) * |g| )

  kappa = sum_j |dg/dx_j * x_j| (oracle.gradient.gradient_condition): the derivative's own conditioning;
  GRADIENT_ULPS = 2 * ELEMENTWISE_ULPS: the backward pass evaluates each elementwise function's derivative after
          the function itself, about twice the roundings of the value;
  r, N  = the terms each per-sample loss sums (a row of C classes: C), and the part of the loss's normalising sum
          that the derivative carries (oracle.gradient: a softmax's p_k, a renormalisation's sum of targets): the
          derivative of a log of a sum carries that sum's rounding;
  d     = the weights summed into the denominator of a weighted mean (its rounding scales every derivative);

plus (GRADIENT_ULPS + r) * eta for gradual underflow. Any value between the two one-sided derivatives conforms
(a kink's subdifferential); the error is the distance to the nearer of them.

Two gradients an implementation computes of the same function (a gradient relation, judged without the oracle:
tests/conformance/test_gradient_relations.py) may differ, per component, by the sum of both errors above; with no
exact derivative at hand, each is bounded from the magnitudes that component is computed from (derive_relation).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import mpmath
import numpy as np

from core import dtypes
from core.semantics import accumulation_format

# Correctly rounded arithmetic gives 1/2 ULP per operation; libm/Eigen/SLEEF log, exp and log1p are
# within 1-2 ULPs; one elementwise loss term chains a few of them.
ELEMENTWISE_ULPS = 4
GRADIENT_ULPS = 2 * ELEMENTWISE_ULPS


@dataclass(frozen=True)
class Tolerance:
    ulps: np.ndarray  # float64 array, one per output element (a single one for scalar results)
    elementwise: np.ndarray  # the part from conditioning and function error, in ULPs
    summation: np.ndarray  # the part from summing n terms, in ULPs


def summation_roundoff(accumulator: str | None, dtype: str) -> tuple:
    """(u_acc, u_terms): the unit roundoff of each addition of a sum of ``dtype`` terms accumulated in the format
    ``accumulator`` (core.semantics.accumulation_format; None: ``dtype``), and the roundoff of each term rounded to
    ``dtype`` before a wider accumulator adds it (0 where the sum runs in ``dtype``: that rounding is then one of the
    additions). An accumulator no wider than ``dtype`` is ``dtype`` itself (a candidate convention measured in the
    declared dtype keeps its own accumulator: float32's for float64 terms would loosen the sums)."""
    u = dtypes.float_format(dtype).unit_roundoff
    if accumulator is None or dtypes.float_format(accumulator).mantissa_bits <= dtypes.float_format(dtype).mantissa_bits:
        return u, mpmath.mpf(0)
    return dtypes.float_format(accumulator).unit_roundoff, u


def _sum_allowance(n: int, magnitude, u_acc, u_terms):
    """The rounding a sum of ``n`` terms of total magnitude ``magnitude`` may commit (module docstring)."""
    if n <= 1:
        return mpmath.mpf(0)
    return ((n - 1) * u_acc + 2 * u_terms) * magnitude


def derive(exact, cond) -> Tolerance:
    """The tolerance of every output element of ``exact`` (oracle.Exact) given its conditioning."""
    dtype = exact.ulp_dtype
    u = dtypes.float_format(dtype).unit_roundoff
    u_acc, u_terms = summation_roundoff(accumulation_format(exact.semantics, dtype), dtype)
    values = np.asarray(exact.value, dtype=object).ravel()
    conds = np.asarray(cond, dtype=object).ravel()
    mags = np.asarray(exact.abs_terms, dtype=object).ravel()
    if values.size == 0:
        empty = np.zeros(0)
        return Tolerance(empty, empty, empty)
    per_element_terms = max(1, getattr(exact, "inner_terms", 1))
    elementwise, summation = [], []
    for i, (value, c) in enumerate(zip(values, conds)):
        magnitude = abs(value) if mpmath.isfinite(value) else mpmath.mpf(0)
        gap = dtypes.ulp(magnitude, dtype, getattr(exact, "flush", False))
        if mags.size == 1:
            n, s, scale = exact.n_terms, mags[0], max(mpmath.mpf(1), getattr(exact, "denominator_scale", 1))
        else:  # reduction "none": each element sums only its own axis terms
            n, s, scale = per_element_terms, mags[i], 1
        eta = dtypes.ulp(0, dtype, getattr(exact, "flush", False)) / 2
        elementwise.append(float((ELEMENTWISE_ULPS * u * (c + magnitude) + ELEMENTWISE_ULPS * eta) / gap))
        summation.append(float((_sum_allowance(n, s, u_acc, u_terms) + n * eta * scale) / gap))
    e, s = np.array(elementwise), np.array(summation)
    # at least one ULP: a correctly rounded result may sit half an ULP away, and the exact value
    # itself is only known to its certified bits
    return Tolerance(np.maximum(e + s, 1.0), e, s)


@dataclass
class LazyTolerance:
    """The tolerance, with the conditioning computed only when it can change a verdict.

    The tolerance grows with cond, so an error within the tolerance derived *without* cond is within the
    full tolerance too; only errors beyond that lower bound need the (costly) conditioning.
    """
    exact: object
    condition: Callable[[], object]
    _full: Tolerance | None = field(default=None, repr=False)

    def __post_init__(self):
        values = np.asarray(self.exact.value, dtype=object).ravel()
        self.lower = derive(self.exact, [mpmath.mpf(0)] * max(1, values.size))

    def full(self) -> Tolerance:
        if self._full is None:
            self._full = derive(self.exact, self.condition())
        return self._full

    def settle(self, errors: np.ndarray) -> tuple[Tolerance, str]:
        """The tolerance to judge ``errors`` by, and its basis ("lower bound" or "derived")."""
        if errors.size and np.all(errors <= self.lower.ulps):
            return self.lower, "lower bound without conditioning (sufficient)"
        return self.full(), "derived with conditioning"


def derive_gradient(exact, name: str, kappa=None) -> Tolerance:
    """The tolerance of every component of the gradient with respect to input ``name`` of ``exact``
    (oracle.gradient.ExactGradient), given the derivative's conditioning ``kappa`` (None: zero, a lower bound)."""
    dtype, flush = exact.ulp_dtype, exact.flush
    u = dtypes.float_format(dtype).unit_roundoff
    u_acc, u_terms = summation_roundoff(exact.accumulator, dtype)
    eta = dtypes.ulp(0, dtype, flush) / 2
    left = np.asarray(exact.left[name], dtype=object).ravel()
    right = np.asarray(exact.right[name], dtype=object).ravel()
    scale = np.asarray(exact.normaliser_share[name], dtype=object).ravel()
    kappas = np.full(left.size, mpmath.mpf(0), dtype=object) if kappa is None else np.asarray(kappa, dtype=object).ravel()
    r, d = exact.row_terms, exact.denominator_terms
    elementwise, summation = [], []
    for lo, hi, n, k in zip(left, right, scale, kappas):
        sides = [abs(v) for v in (lo, hi) if v is not None and mpmath.isfinite(v)]
        magnitude = max(sides) if sides else mpmath.mpf(0)
        gap = dtypes.ulp(magnitude, dtype, flush)
        elementwise.append(float((GRADIENT_ULPS * u * (k + magnitude) + GRADIENT_ULPS * eta) / gap))
        summation.append(float((_sum_allowance(r, magnitude + n, u_acc, u_terms) + _sum_allowance(d, magnitude, u_acc, u_terms)
                                + r * eta) / gap))
    e, s = np.array(elementwise), np.array(summation)
    return Tolerance(np.maximum(e + s, 1.0), e, s)


def derive_relation(magnitude, dtype: str, flush: bool = False, terms: int = 1, results: int = 2) -> Tolerance:
    """The allowed |A - B| per component, in ULPs of ``dtype`` at ``magnitude``, between two combinations A and B
    of ``results`` gradients the implementation computed of the same function (a gradient relation).

    Each computed gradient G_j is within derive_gradient's tolerance of the exact one, without its conditioning
    term (both sides differentiate the same function at the same inputs, or at inputs related exactly: no rounding
    of an input separates them) and with both |g| and the normaliser share N bounded by m_j, the magnitude of
    what that component of G_j is computed from (|G_j| itself, plus the targets' part where the derivative is a
    difference such as p - y: its rounding is relative to p, not to the difference; the caller knows which):

        |G_j - g_j|  <=  u * (GRADIENT_ULPS + terms - 1) * m_j  +  (GRADIENT_ULPS + terms) * eta

    with ``terms`` = r + d - 1 (the row terms and weighted-mean denominator terms of derive_gradient: how many
    terms the sums inside the derivative add up). The exact sides agree by the relation, so
    |A - B| <= sum_j |G_j - g_j|, which with ``magnitude`` = sum_j m_j is

        tol_abs = u * (GRADIENT_ULPS + terms - 1) * magnitude  +  results * (GRADIENT_ULPS + terms) * eta.

    For two results of similar size (magnitude ~ 2 max(|A|, |B|)) that is 2 * GRADIENT_ULPS ULPs of the larger,
    plus the rounding of the sums, plus the subnormal spacing. The caller combines the G_j in float64 (sums of
    at most a few float32/float64 values: exact or within 2**-53 relative, far below u), so nothing is added for
    it. At least one ULP: two correctly rounded results of the same value may sit one ULP apart."""
    u = dtypes.float_format(dtype).unit_roundoff
    eta = dtypes.ulp(0, dtype, flush) / 2
    magnitudes = np.asarray(magnitude, dtype=np.float64).ravel()
    elementwise, summation = [], []
    for m in magnitudes:
        m = mpmath.mpf(float(m)) if np.isfinite(m) else mpmath.mpf(0)
        gap = dtypes.ulp(m, dtype, flush)
        elementwise.append(float((GRADIENT_ULPS * u * m + results * GRADIENT_ULPS * eta) / gap))
        summation.append(float(((terms - 1) * u * m + results * terms * eta) / gap))
    e, s = np.array(elementwise), np.array(summation)
    return Tolerance(np.maximum(e + s, 1.0), e, s)
