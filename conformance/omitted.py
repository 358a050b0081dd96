"""The combinations of a run that do not become pytest items, each kept with its reason.

A combination an implementation cannot express (an example or invalid input of a loss it does not provide, or with
a parameter or reduction a handle does not take), a relation that does not apply to a loss, a variant the quick
profile leaves to the night run: each used to be a pytest item that skipped, and ``tf``'s run read "2709 passed,
3295 skipped", the skips drowning the real checks. The parametrisation (tests/conformance/conftest.py) now leaves
them out and keeps them here:

- an example or invalid input as the ``unsupported`` record its test would have written: the coverage table, the
  verdict counts and the findings read it as before;
- every one counted by (implementation, test, reason) in the run's summary and its results JSON (``omitted``).

A pytest skip then means something real: a device that is not there, a relation that no draw could fit. Under
pytest-xdist every worker collects every item, so each finds the same combinations; the controller keeps the first
worker's (``Session.take_over``).
"""
from __future__ import annotations

import collections
from dataclasses import dataclass

SHOWN_REASONS = 3  # per implementation in the run's summary; the results JSON holds them all


@dataclass(frozen=True)
class Omitted:
    test: str  # what kind of test it would have been: "examples", "invalid inputs", "relations"...
    nodeid: str  # the node id it would have had: kept only where the run would have selected it (-k, --deselect)
    impl: str
    reason: str
    record: dict | None = None  # the unsupported record the test would have written, where it writes one

    @property
    def function(self) -> str:
        return self.nodeid.split("[", 1)[0]

    @property
    def name(self) -> str:
        """The name the item would have had (its function's and its parameters' id), as ``-k`` reads it."""
        return self.nodeid.rsplit("::", 1)[-1]


def counts(omitted) -> dict:
    """{impl: {test: {reason: n}}}, for the results JSON."""
    out: dict = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    for o in omitted:
        out[o.impl][o.test][o.reason] += 1
    return {impl: {test: dict(reasons.most_common()) for test, reasons in tests.items()} for impl, tests in out.items()}


def lines(omitted) -> list[str]:
    """One line per implementation: how many combinations were not made tests, by test, and the commonest reasons."""
    out = []
    for impl, tests in sorted(counts(omitted).items()):
        per_test = {test: sum(r.values()) for test, r in tests.items()}
        reasons = collections.Counter()
        for r in tests.values():
            reasons.update(r)
        out.append(f"{impl} not made tests: {sum(per_test.values())} combinations it cannot express or that do not "
                   f"apply ({', '.join(f'{n} {t}' for t, n in sorted(per_test.items(), key=lambda kv: -kv[1]))}); "
                   f"most: {'; '.join(f'{why} ({n})' for why, n in reasons.most_common(SHOWN_REASONS))}")
    return out
