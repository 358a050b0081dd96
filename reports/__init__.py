"""Reports made from results JSON alone.

  python -m reports RESULTS.json [MORE.json ...] -o OUT.html [--detail full]

``write_all(json_paths, html_path, detail)`` writes the self-contained HTML report and, beside it, one
``summary-<impl>.json`` per implementation (conformance level per loss, for badges and dashboards; see
``reports.summary``). It returns every path written, the HTML first.
"""
from __future__ import annotations

from pathlib import Path


def write_all(json_paths, html_path, detail: str = "summary") -> list[Path]:
    from core import results
    from reports import html, summary  # late: importing the package stays cheap

    html_path = Path(html_path)
    model = html.build(html.load_all(json_paths), detail)  # the page and the summaries from one reading of the records
    results.atomic_write(html_path, html.page(model))
    return [html_path, *summary.write(model["summaries"], html_path.parent)]
