"""ULP arithmetic and rounding into each format, checked against numpy/ml_dtypes casts."""
from __future__ import annotations

import ml_dtypes
import mpmath
import numpy as np
import pytest

from core import dtypes


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32"])
def test_round_to_matches_numpy_casts(name):
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(size=300) * 10.0 ** rng.integers(-8, 5, 300), [0.1, 1 - 1e-7, 1e-7, 65519.0, 70000.0]])
    target = np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)
    for v in values:
        expected = float(np.asarray(v).astype(target))
        assert float(dtypes.round_to(mpmath.mpf(float(v)), name)) == expected, v


def test_ulp_and_ulp_error():
    assert dtypes.ulp(1.0, "float32") == mpmath.ldexp(1, -23)
    assert dtypes.ulp(0.75, "float32") == mpmath.ldexp(1, -24)
    assert dtypes.ulp(0, "float32") == mpmath.ldexp(1, -149)  # subnormal spacing
    assert dtypes.ulp_error(1.0 + 2.0 ** -22, mpmath.mpf(1), "float32") == 2.0
    assert dtypes.ulp_error(float("nan"), mpmath.mpf(1), "float32") == float("inf")
    assert dtypes.ulp_error(float("inf"), mpmath.inf, "float32") == 0.0
