"""Size and load time of a report rendered from saved results: the targets of the report issue are one implementation
at most 3 MB of HTML, all eight built-ins side by side at most 15 MB, the first screen in headless Chromium in at most
2 s.

    python benchmarks/report_size.py reports/tf.json [more results files ...] [-o page.html] [--no-browser]

Renders the files as one report (``python -m reports`` does the same), prints the render time, the page's size and
each section's share, then opens the page in headless Chromium (the meta tests' DevTools client) and prints its
first contentful paint and load event, in seconds from navigation. Run it on the results of ``make test``
(``reports/<impl>.json``) to get the README's figures.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reports import html  # noqa: E402
from tests.meta.test_browser import Chromium, chromium  # noqa: E402

TIMING = """JSON.stringify({fcp: (performance.getEntriesByName("first-contentful-paint")[0] || {}).startTime,
                       load: performance.getEntriesByType("navigation")[0].loadEventEnd})"""


def sections(page: str) -> list[tuple[str, int]]:
    """(anchor, bytes) of each ``<h2 id>`` section up to the next, and of the histograms' data."""
    starts = [(m.start(), m.group(1)) for m in re.finditer(r'<h2 id="([^"]+)"', page)] + [(len(page), "")]
    out = [(name, len(page[a:b].encode())) for (a, name), (b, _) in zip(starts, starts[1:])]
    data = re.search(r'<script type="application/json" id="histograms">.*?</script>', page, re.S)
    return out + [("histograms data (in the last)", len(data.group(0).encode()) if data else 0)]


def browser_timing(page: Path) -> dict:
    import json

    with tempfile.TemporaryDirectory(prefix="lossconf-bench-") as tmp:
        browser = Chromium(chromium(), Path(tmp) / "profile", timeout=300)
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            browser.send("Page.enable", session=session)
            browser.send("Emulation.setDeviceMetricsOverride",
                         {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
            browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
            browser.wait_for("Page.loadEventFired")
            got = browser.send("Runtime.evaluate", {"expression": TIMING, "returnByValue": True}, session=session)
            return {k: (v or 0) / 1000 for k, v in json.loads(got["result"]["value"]).items()}
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", help="results files (reports/<impl>.json)")
    parser.add_argument("-o", "--out", type=Path, help="where to write the page (default: a temporary file)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium timing")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    page = html.render(html.load_all(args.results))
    rendered = time.perf_counter() - start
    size = len(page.encode())
    print(f"{len(args.results)} results file(s): rendered in {rendered:.1f} s, {size / 1e6:.2f} MB of HTML")
    for name, n in sections(page):
        print(f"  {name:32s} {n / 1e6:6.2f} MB")
    if args.no_browser:
        return 0
    if chromium() is None:
        print("no Chromium found (LOSSCONF_CHROMIUM names one): no load timing", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="lossconf-page-") as tmp:
        out = args.out or Path(tmp) / "page.html"
        out.write_text(page, encoding="utf-8")
        t = browser_timing(out)
    print(f"headless Chromium: first contentful paint {t['fcp']:.2f} s, load event {t['load']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
