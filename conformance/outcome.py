"""Turn a judged record into a pytest outcome, every failure in one message shape.

  pass                      -> passes (an entry in whose scope it is and which never fires is stale: the run's
                               audit, conformance.audit); a hazard passes, acknowledged or not (``verdict: hazard``),
                               and is counted in the run's summary
  unsupported               -> skipped, with the adapter's reason (and kept in the results)
  covered by an expectation -> xfail with the expectation's reason
  anything else             -> fails with: what, verdict, why, exact vs got, tolerance, how to reproduce
"""
from __future__ import annotations

import pytest

from conformance import expectations
from core import verdicts


def message(record: dict) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in (record.get("params") or {}).items())
    where = f"[{record['variant']}]" if record.get("variant") else ""
    device = f" device={record['device']}" if record.get("device") else ""
    lines = [
        f"{record.get('impl')}{where} {record['loss']}({params}) reduction={record.get('reduction')} "
        f"dtype={record.get('dtype')}{device}: {record['verdict']}",
        f"  why:       {record.get('explanation')}",
    ]
    if record.get("exact") is not None:
        lines.append(f"  exact:     {record['exact']}  ({record.get('semantics')} semantics, {record.get('certified_bits')} bits certified)")
    if record.get("got") is not None:
        lines.append(f"  got:       {record['got']}")
    if record.get("ulp_error") is not None:
        tol = record.get("tolerance_ulps")
        lines.append(f"  error:     {record['ulp_error']:.4g} ULPs of {record.get('ulp_dtype')}"
                     + (f" (tolerance {tol:.3g})" if tol is not None else ""))
    if record.get("raised"):
        lines.append(f"  raised:    {record['raised']}")
    if record.get("hazard"):
        lines.append(f"  hazard:    {record['hazard']}")
    lines.append(f"  origin:    {record.get('origin')}")
    if record.get("reproducer"):
        lines.append("  reproduce:\n    " + record["reproducer"].replace("\n", "\n    "))
    return "\n".join(lines)


def settle(record: dict, session) -> None:
    """Attach the expectation, record the result, then pass/skip/xfail/fail the running test."""
    verdict = record["verdict"]
    entry = expectations.note(record["impl"], record) if verdict != verdicts.UNSUPPORTED else None
    session.add(record)
    if verdict in (verdicts.PASS, verdicts.DOC_OK, verdicts.NO_PRINTED_VALUE):
        return  # in an entry's scope or not: the audit at the end of the run judges entries that never fire (stale)
    if verdict == verdicts.UNSUPPORTED:
        pytest.skip(f"unsupported: {record.get('explanation')}")
    if expectations.expects(entry, verdict):
        pytest.xfail(f"known {verdict}: {entry['reason']}")
    if entry:
        pytest.fail(f"expected {entry['verdict']} ({entry['reason']}) but got:\n" + message(record), pytrace=False)
    pytest.fail(message(record), pytrace=False)
