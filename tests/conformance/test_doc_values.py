"""The value each documentation example prints, against the exact value under that framework's semantics.

A printed value that the exact value contradicts beyond its printed precision is a documentation
discrepancy: a finding, recorded in expectations/docs.yaml with its reason, never hidden by a tolerance.
"""
from __future__ import annotations

from decimal import Decimal

import mpmath
import numpy as np

import oracle
import specs
from conformance import cases, outcome


def _agrees(printed, exact, decimals: int) -> bool:
    """|printed - exact| <= half a unit of the last printed decimal (exact comparison)."""
    half_unit = mpmath.mpf(1) / (2 * mpmath.mpf(10) ** decimals)
    return abs(mpmath.mpf(str(Decimal(str(printed)))) - exact) <= half_unit


def test_printed_value(lossconf, example):
    spec = specs.all_specs()[example[0]]
    ex = next(e for e in spec.examples if e["id"] == example[1])
    exact = oracle.evaluate(cases.example_case(spec, ex))
    values = list(np.asarray(exact.value, dtype=object).ravel())
    record = {"kind": "doc", "impl": "docs", "example": ex["id"], "loss": spec.name, "source": ex["source"],
              "semantics": ex["semantics"], "reduction": ex["reduction"], "params": ex.get("params") or {},
              "dtype": ex["dtype"], "printed": ex["printed"], "printed_decimals": ex.get("printed_decimals"),
              "exact": exact.digits(40), "certified_bits": exact.certified_bits, "origin": f"example:{ex['id']}",
              "expectation": None}
    if ex["printed"] is None:
        record.update(verdict="no_printed_value", explanation="the source prints no value; implementations are still checked")
    else:
        printed = list(np.ravel(ex["printed"]))
        assert len(printed) == len(values), f"{ex['id']}: printed {len(printed)} values, the loss gives {len(values)}"
        decimals = np.broadcast_to(ex["printed_decimals"], len(printed))
        bad = [(p, mpmath.nstr(v, 8)) for p, v, d in zip(printed, values, decimals) if not _agrees(p, v, int(d))]
        if bad:
            record.update(verdict="doc_drift", explanation="printed value(s) contradict the exact value beyond the printed precision: "
                          + "; ".join(f"printed {p}, exact {v}" for p, v in bad))
        else:
            record.update(verdict="doc_ok", explanation=f"agrees to {ex['printed_decimals']} decimals")
    outcome.settle(record, lossconf)
