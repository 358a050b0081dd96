"""The per-phase time of a run: a phase's seconds exclude the phases nested in it."""
from __future__ import annotations

import time

from core import phases


def test_nested_phases_are_counted_once(monkeypatch):
    monkeypatch.setattr(phases, "totals", phases.totals.__class__())
    with phases.timed("judge"):
        time.sleep(0.02)
        with phases.timed("oracle"):
            time.sleep(0.05)
    assert 0.05 <= phases.totals["oracle"] < 0.07
    assert 0.02 <= phases.totals["judge"] < 0.04  # its own time only, not the oracle's
    line = phases.line(0.1)
    assert line.startswith("time: oracle ") and "judge " in line and line.endswith("of 0.1s wall")
