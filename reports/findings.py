"""The report's findings: ``core.findings.group`` (one per implementation, verdict and cause, ranked by severity),
each with the overview cell of its worst case to link to. Every finding carries its reproducer on the page."""
from __future__ import annotations

from core import findings
from reports import matrix


def build(records: list[dict], impls: list[str], cell_ids: dict) -> list[dict]:
    rows = findings.group(records, impls)
    for f in rows:
        f["r"] = f["worst"]  # what the filters and badges read
        f["cell"] = matrix.cell_id(f["worst"], cell_ids)
        f["worst_text"] = findings.worst_text(f["worst"])
        f["unexplained"] = findings.unexplained(f)
        f["rank"] = findings.rank(f["label"])
    return rows
