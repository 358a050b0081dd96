"""Findings: the distinct problems a run found, one per cause, ranked by severity.

A finding is (implementation, loss, label, cause): every case whose verdict did not simply pass, or that an
expectation covers, or that is a hazard, grouped by what explains it rather than by its drawn inputs. The cause is

  - the expectation entry that explains the case (``expectation tf.yaml#12``): one recorded problem is one finding,
    whatever dtypes, reductions, variants and parameters it reaches;
  - for a hazard, its kind under its declared convention (``hazard moved under keras``);
  - for an unexplained failure, the convention it matches instead (``matches tf1``), the exception it raised
    (``raised ValueError: Shapes (#, #) and (#, #) are incompatible``), the invalid input it was given (``invalid input: target-negative``), the documentation
    example it reproduces, or the edge regime it was drawn in (``regime extreme``).

Findings rank by ``RANKS``, the issue's order of what hurts a user most: a non-finite result on valid input, an error
raised on valid input, a hazard, a numeric error (worst ratio to its tolerance first), a semantic difference, the
variants disagreeing on an invalid input, an invalid input returning inf/NaN, an invalid input accepted, documentation
drift. Within a rank, an unexplained finding comes before a recorded one (that is what a CI log must show first),
then the worst. Unsupported cases are coverage, never findings.

A run may write one hypothesis draw twice, compactly as it is judged and in full (``worst_case``) when it is its cell's
worst; ``distinct`` keeps the full copy only, so each case counts once and its reproducer is at hand.
"""
from __future__ import annotations

import json
import math
import re

from core import verdicts

HAZARD = verdicts.HAZARD
#: severity classes, worst first
RANKS = (verdicts.NONFINITE, verdicts.ERROR, HAZARD, verdicts.NUMERIC, verdicts.SEMANTIC, verdicts.VARIANTS_DISAGREE,
         verdicts.NONFINITE_INVALID, verdicts.ACCEPTED_INVALID, verdicts.DOC_DRIFT,
         verdicts.PASS)  # last: a passing case an expectation still covers (xpass), a hint the entry may be stale
#: record kinds whose verdicts can be findings: an implementation's judged cases and the documentation's examples
KINDS = ("conformance", "invalid", "agreement", "doc")
FULL_ONLY = ("inputs", "reproducer", "oracle_reproducer", "worst_case")
FACETS = ("dtype", "reduction", "variant", "device")  # what a finding lists it reaches


def _twin_key(r: dict) -> str:
    return json.dumps({k: v for k, v in r.items() if k not in FULL_ONLY}, sort_keys=True, default=str)


def distinct(records) -> list[dict]:
    """Every record (dicts only), a ``worst_case`` record standing in for its earlier compact copy."""
    records = [r for r in records if isinstance(r, dict)]
    full = {_twin_key(r) for r in records if r.get("worst_case")}
    if not full:
        return records
    return [r for r in records if r.get("worst_case") or _twin_key(r) not in full]


def label(r: dict) -> str:
    """The verdict a finding shows: ``hazard`` for a conforming result whose convention moves it from the ideal."""
    if r.get("hazard") and r.get("verdict") == verdicts.PASS:
        return HAZARD
    return str(r.get("verdict"))


def expectation_id(r: dict) -> str | None:
    e = r.get("expectation")
    if isinstance(e, dict) and e.get("id"):
        return str(e["id"])
    if isinstance(e, dict) and e.get("reason"):
        return f"({str(e['reason'])[:60]})"
    return "(no id)" if e else None


def is_finding(r: dict) -> bool:
    if r.get("kind") not in KINDS or r.get("verdict") in (verdicts.UNSUPPORTED, verdicts.DOC_OK, verdicts.NO_PRINTED_VALUE):
        return False
    return r.get("verdict") != verdicts.PASS or bool(r.get("expectation")) or label(r) == HAZARD


def _regime(origin: str) -> str | None:
    found = re.search(r"regime=(\w+)", origin)
    return found.group(1) if found else None


def cause(r: dict) -> str:
    """What explains the case (see the module docstring), in a few words."""
    known = expectation_id(r)
    if known:
        return f"expectation {known}"
    if label(r) == HAZARD:
        return f"hazard {r.get('hazard_kind') or 'unnamed'} under {r.get('semantics')}"
    if r.get("verdict") == verdicts.SEMANTIC and r.get("matched_semantics"):
        return f"matches {r['matched_semantics']}"
    origin = str(r.get("origin") or "")
    if r.get("kind") == "doc":
        return f"documentation example {r.get('example')}"
    if r.get("kind") in ("invalid", "agreement"):
        return "invalid input: " + (origin.split("/", 1)[1] if origin.startswith("invalid:") and "/" in origin
                                    else str(r.get("invalid_reason") or origin))
    if r.get("verdict") == verdicts.ERROR and r.get("raised"):  # the message, its draw's numbers and shapes aside
        return "raised " + re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "#", str(r["raised"]).strip().splitlines()[0])[:120]
    if origin.startswith("example:"):
        return "documentation example " + origin.split(":", 1)[1]
    regime = _regime(origin)
    return f"regime {regime}" if regime else (origin or "unknown origin")


def subject(r: dict) -> str:
    """The loss's value, or its gradient (reverse or forward mode): each a finding of its own."""
    loss = str(r.get("loss"))
    if r.get("quantity") != "gradient":
        return loss
    return f"{loss} (gradient, forward mode)" if r.get("mode") == "forward" else f"{loss} (gradient)"


def ratio(r: dict) -> float:
    """How far beyond its tolerance a case is (a hazard: how far its convention moved it from the ideal): inf/NaN
    results and raised errors first, cases without an error last."""
    def number(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return None
    err, tol = number(r.get("ideal_ulp_error" if label(r) == HAZARD else "ulp_error")), number(r.get("tolerance_ulps"))
    if err is None:
        return math.inf if r.get("verdict") in (verdicts.NONFINITE, verdicts.ERROR) else -1.0
    if math.isnan(err):
        return math.inf
    return err / tol if tol and math.isfinite(tol) and tol > 0 else err


def rank(verdict: str) -> int:
    """A severity class's place in ``RANKS``: 0 is the worst; a verdict this module does not know ranks first."""
    return RANKS.index(verdict) if verdict in RANKS else -1


def _one_loss(why: str) -> bool:
    """Whether a cause is the loss's own: an expectation entry is one cause across every loss it names; a hazard, a
    matched convention, an exception or a regime is a problem of that loss's code."""
    return not why.startswith("expectation ")


def group(records, impls=()) -> list[dict]:
    """The findings of ``records`` ranked, worst first. Each: impl, label, cause, recorded (an expectation explains
    it), count, losses and the other FACETS it reaches (sorted lists under their plural names), worst (the case
    furthest beyond its tolerance), example (the worst case that carries its reproducer, else the worst), members."""
    order = {name: i for i, name in enumerate(impls)}
    groups: dict[tuple, list[dict]] = {}
    for r in distinct(records):
        if is_finding(r):
            why = cause(r)
            groups.setdefault((str(r.get("impl", "docs")), label(r), why, subject(r) if _one_loss(why) else ""),
                              []).append(r)
    findings = []
    for (impl, verdict, why, _), members in groups.items():
        worst = max(members, key=ratio)
        example = max((m for m in members if m.get("reproducer")), key=ratio, default=worst)
        findings.append({"impl": impl, "label": verdict, "cause": why, "count": len(members),
                         "recorded": any(expectation_id(m) for m in members), "worst": worst, "example": example,
                         "members": members, "losses": sorted({subject(m) for m in members}),
                         **{f"{facet}s": sorted({str(m.get(facet)) for m in members if m.get(facet) is not None})
                            for facet in FACETS}})
    findings.sort(key=lambda f: (rank(f["label"]), f["recorded"], -ratio(f["worst"]), -f["count"],
                                 order.get(f["impl"], len(order)), f["impl"], f["losses"], f["cause"]))
    return findings


def worst_text(r: dict) -> str:
    """The worst case's error against its tolerance, in a few words."""
    if r.get("raised"):
        return "raised " + str(r["raised"]).splitlines()[0][:60]
    if r.get("kind") == "doc":
        return f"printed {r.get('printed')}, exact {str(r.get('exact'))[:20]}"
    hazard = label(r) == HAZARD
    err, tol = r.get("ideal_ulp_error" if hazard else "ulp_error"), r.get("tolerance_ulps")
    if err is None:
        return "returned " + (str(r.get("got"))[:40] if r.get("got") is not None else "no value")
    try:
        text = f"{float(err):.3g} ULPs{' from the ideal' if hazard else ''}"
        return text + (f" (tolerance {float(tol):.3g})" if tol is not None else "")
    except (TypeError, ValueError):
        return f"{err} ULPs"


def losses_text(losses: list[str], most: int = 3) -> str:
    return ", ".join(losses[:most]) + (f" and {len(losses) - most} more" if len(losses) > most else "")


def unexplained(finding: dict) -> bool:
    """A failure no expectation explains: it fails the run (a hazard fails nothing and needs none)."""
    return not finding["recorded"] and finding["label"] != HAZARD


def lines(findings: list[dict], limit: int = 20) -> list[str]:
    """The ranked findings as terminal lines, at most ``limit`` of them and one more saying what was left out."""
    if not findings:
        return []
    cases = sum(f["count"] for f in findings)
    out = [f"findings: {len(findings)} distinct causes over {cases} cases, worst first "
           f"({sum(unexplained(f) for f in findings)} failing with no expectation to explain them):"]
    for i, f in enumerate(findings[:limit], 1):
        reductions = f["reductions"] if len(f["reductions"]) <= 2 else [f"{len(f['reductions'])} reductions"]
        reach = "/".join(f["dtypes"] + reductions)
        out.append(f"{i:3d}. {f['label']}{' UNEXPLAINED' if unexplained(f) else ''}  {f['impl']}  "
                   f"{losses_text(f['losses'])}  [{f['cause']}]  {f['count']} case{'s' if f['count'] != 1 else ''}, "
                   f"{reach}; worst {worst_text(f['worst'])}")
    if len(findings) > limit:
        out.append(f"     ... {len(findings) - limit} more in the report")
    return out
