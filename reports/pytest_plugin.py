"""The report of a pytest run: once the harness has written the results JSON (``--report PATH``), the HTML report
and, beside it, summary-<impl>.json per implementation (for CI badges and dashboards).

The report is the top layer, so the harness never imports it: the root conftest names this module in
``pytest_plugins``, and pytest calls the hook below after the harness's own ``pytest_sessionfinish``.
"""
from __future__ import annotations

import pytest

from core import phases
from reports import write_all


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    state = getattr(session.config, "lossconf", None)
    written = getattr(state, "written", None)
    if state is None or state.report is None or not written:
        return
    with phases.timed("report"):
        detail = session.config.getoption("--report-detail", "summary")
        state.written = [*written, *write_all(written[:1], state.report.with_suffix(".html"), detail)]
