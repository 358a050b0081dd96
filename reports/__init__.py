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
    docs = html.load_all(json_paths)
    results.atomic_write(html_path, html.render(docs, detail))
    return [html_path, *summary.write(docs, html_path.parent)]
