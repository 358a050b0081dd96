"""The 200-bit test modules scope their precision to each test: importing them, or running a test under the
``prec200`` fixture, leaves mpmath's working precision (53 bits by default) to the tests that follow."""
from __future__ import annotations

import mpmath

from tests.meta import test_oracle_closed_forms, test_oracle_torch_family

AT_200_BITS = (test_oracle_closed_forms, test_oracle_torch_family)  # imported above: must not change mp.prec


def test_importing_the_200_bit_modules_leaves_the_precision_alone():
    assert mpmath.mp.prec == 53
    assert all(m.pytestmark.args == ("prec200",) for m in AT_200_BITS)  # their tests run at 200 bits


def test_prec200_holds_inside_its_test(prec200):
    assert mpmath.mp.prec == 200


def test_the_precision_is_back_after_a_prec200_test():
    assert mpmath.mp.prec == 53
