"""The expectations' audit at the end of a run: every entry judged on the cases in its scope.

An entry's *scope* is the cases its match covers (each record lists the entries it is in the scope of,
``expectation_scope``; unsupported cases are in no scope); the entry *fires* on those whose verdict it expects and
explains (``expectation``). Its *precision* is the share of its scope it fired on.

- **stale**: cases in scope, and it fired on none: the behaviour it records is gone. Remove the entry or narrow it.
- **broad**: its precision is below ``PRECISION_FLOOR`` and it gives no ``broad_because``: its match is wider than
  its cause, and would hide the next regression in the part of its scope that passes today.

Either fails the run, unless the run is a selection (``-k``, ``-m``, or test files rather than the whole suite),
where a scope is cut arbitrarily; the audit is then printed only. An entry with no case in scope this run says nothing: another implementation, dtype or
selection exercises it.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass

from conformance import expectations

#: Why 1/4: a property entry's scope is a cell (loss, dtype, regime, parameters, reduction...) of seeded random
#: draws, and a real finding fails on a share of them only (the draws that reach the saturated logit, the boundary
#: probability, the long row). Measured on a CI-order run of every implementation (stop 17), the 417 audited entries
#: that give no broad_because fire on a median of 100% of their scope, nine in ten of them on at least 45%; the 33
#: that fired on less than a quarter were whole-dtype or whole-loss blankets (narrowed since) or findings that only
#: some values trigger. An entry that must be that broad (no field of the record tells its failing draws apart:
#: they are the ones whose sum overflows, whose weight is subnormal...) says why in ``broad_because``.
PRECISION_FLOOR = 0.25


@dataclass
class EntryAudit:
    impl: str
    id: str
    in_scope: int
    fired: int
    broad_because: str | None

    @property
    def precision(self) -> float:
        return self.fired / self.in_scope if self.in_scope else 0.0

    @property
    def status(self) -> str:
        if self.fired == 0:
            return "stale"
        if self.precision < PRECISION_FLOOR and not self.broad_because:
            return "broad"
        return "ok"


def audit(records) -> list[EntryAudit]:
    """One audit per entry with at least one case in scope in ``records``."""
    scope, fired, impl_of = collections.Counter(), collections.Counter(), {}
    for r in records:
        if r.get("worst_case"):
            continue  # a cell's worst draw, written again in full: counted once, as the draw it is
        for entry_id in r.get("expectation_scope") or ():
            key = (r.get("impl"), entry_id)
            scope[key] += 1
            fired[key] += (r.get("expectation") or {}).get("id") == entry_id
            impl_of[key] = r.get("impl")
    entries = {}
    for impl in {impl for impl, _ in scope}:
        entries.update({(impl, e["id"]): e for e in expectations.load(str(impl))})
    return [EntryAudit(str(impl), entry_id, scope[impl, entry_id], fired[impl, entry_id],
                       (entries.get((impl, entry_id)) or {}).get("broad_because"))
            for impl, entry_id in sorted(scope)]


def failing(audits: list[EntryAudit]) -> list[EntryAudit]:
    return [a for a in audits if a.status != "ok"]


def lines(audits: list[EntryAudit], selection: bool) -> list[str]:
    """The run summary's lines: totals, then each stale or broad entry (one line each)."""
    if not audits:
        return []
    bad = failing(audits)
    head = (f"expectations: {len(audits)} entries with cases in scope, {sum(a.fired > 0 for a in audits)} fired; "
            f"{sum(a.status == 'stale' for a in audits)} stale, {sum(a.status == 'broad' for a in audits)} broad "
            f"(precision below {PRECISION_FLOOR:g} without broad_because)"
            + (" [a selection of the suite: reported, not failed]" if selection and bad else ""))
    return [head, *(f"  {a.status}: {a.id} ({a.impl}): fired on {a.fired} of {a.in_scope} cases in its scope"
                    + (f" (precision {a.precision:.2f})" if a.status == "broad" else "") for a in bad)]
