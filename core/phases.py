"""Where a run's time goes, per phase: draw, oracle, framework, judge, report.

``timed(phase)`` adds the seconds spent inside it to that phase, less what nested phases took (an oracle call
made by the judge counts as oracle time, not judge time). The terminal summary prints the totals, so a user, and
the next optimisation, sees where the minutes went. Time outside every phase (pytest, hypothesis's own
bookkeeping, worker start-up) is the rest of the wall time.
"""
from __future__ import annotations

import collections
import contextlib
import time

PHASES = ("draw", "oracle", "framework", "judge", "report")
totals: collections.Counter = collections.Counter()
_nested: list[float] = []  # per open phase: seconds its nested phases took


@contextlib.contextmanager
def timed(phase: str):
    start = time.perf_counter()
    _nested.append(0.0)
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        totals[phase] += elapsed - _nested.pop()
        if _nested:
            _nested[-1] += elapsed


def line(wall: float, workers: int = 0) -> str:
    """One line: each phase's seconds and share of ``wall``, then the rest. With ``workers`` (pytest-xdist) the
    phases are summed over the workers, whose time is ``workers`` x ``wall``."""
    budget = wall * max(workers, 1)
    shown = [p for p in PHASES if totals[p]] + sorted(set(totals) - set(PHASES))
    parts = [f"{p} {totals[p]:.1f}s ({100 * totals[p] / budget:.0f}%)" for p in shown] if budget > 0 else []
    rest = budget - sum(totals.values())
    if workers:
        return (f"time, summed over {workers} workers: " + ", ".join(parts + [f"other {max(rest, 0):.1f}s of "
                f"{workers} x {wall:.1f}s wall"]))
    return "time: " + ", ".join(parts + [f"other {max(rest, 0):.1f}s of {wall:.1f}s wall"])
