"""The report in a real browser: headless Chromium opens the page made from the fixture results (which holds a
hostile implementation name and a hostile exception message) and fails on any console error, uncaught
exception, JavaScript dialog (an ``alert`` that ran) or request for anything but the page itself. It also
drives the filters and a drill-down link, and saves a screenshot to ``reports/browser-check.png``.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: NUL-separated JSON
on file descriptors 3 and 4), so no websocket and nothing beyond the standard library is needed.
Without Chromium the test skips, saying why, unless ``LOSSCONF_REQUIRE_BROWSER=1`` (then it fails).
``LOSSCONF_CHROMIUM`` names the binary when it is not on PATH as chromium/chromium-browser/google-chrome.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import pytest

from core import results
from reports import html

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
SCREENSHOT = ROOT / "reports" / "browser-check.png"
FIRST_SCREEN = 900  # CSS pixels of a laptop's browser window: where the ranked findings must start
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--window-size=1400,2000", "--hide-scrollbars",
         "--remote-debugging-pipe"]


def chromium() -> str | None:
    named = os.environ.get("LOSSCONF_CHROMIUM")
    if named:
        return shutil.which(named) or (named if Path(named).exists() else None)
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"))), None)


class Chromium:
    """A headless Chromium and a minimal DevTools-protocol client on its pipe."""

    def __init__(self, binary: str, profile: Path, timeout: float = 60.0):
        self.deadline = time.monotonic() + timeout
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def plumb():  # in the child: the browser reads commands on fd 3 and writes replies on fd 4
            a = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
            b = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.log = profile.parent / "chromium.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=False,
                                         preexec_fn=plumb)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer, self._next_id, self.events = b"", 0, []

    def log_tail(self, n: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def _read_message(self) -> dict:
        while b"\0" not in self._buffer:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_browser], [], [], remaining)[0]:
                raise TimeoutError("no answer from chromium:\n" + self.log_tail())
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed its DevTools pipe:\n" + self.log_tail())
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        request = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self._to_browser, json.dumps(request).encode() + b"\0")
        while True:
            message = self._read_message()
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def _event(self, message: dict) -> None:
        self.events.append(message)
        if message.get("method") == "Page.javascriptDialogOpening":  # answer it, or the page stays blocked
            request = {"id": -len(self.events), "method": "Page.handleJavaScriptDialog", "params": {"accept": True},
                       "sessionId": message.get("sessionId")}
            os.write(self._to_browser, json.dumps(request).encode() + b"\0")

    def wait_for(self, method: str) -> dict:
        seen = next((e for e in self.events if e.get("method") == method), None)
        while seen is None:
            message = self._read_message()
            self._event(message)
            if message.get("method") == method:
                seen = message
        return seen

    def close(self) -> None:
        try:
            os.write(self._to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)


EXERCISE = r"""
new Promise(function (resolve) {
  var out = {};
  function visible(sel) {
    return Array.prototype.filter.call(document.querySelectorAll(sel), function (el) {
      return el.getClientRects().length > 0 && !el.classList.contains("off");
    }).length;
  }
  var top = document.querySelector("#findings-table tbody.finding");  // before anything scrolls the page
  out.top_finding_bottom = top ? top.getBoundingClientRect().bottom + window.scrollY : null;
  out.filters_shown = !document.getElementById("filters").hidden;
  out.pass_cells = visible('#matrix td.cell[data-v="pass"]');
  var pass = document.querySelector('#filters input[data-fv="pass"]');
  pass.click();
  out.pass_cells_unchecked = visible('#matrix td.cell[data-v="pass"]');
  pass.click();
  var first = document.querySelector('#filters input[data-fi="0"]');
  out.impl0_cells = visible('#matrix td[data-impl="0"]');
  first.click();
  out.impl0_cells_unchecked = visible('#matrix td[data-impl="0"]');
  out.impl0_findings_unchecked = visible('#findings-table tbody[data-impl="0"]');
  first.click();
  var box = document.getElementById("filter");
  box.value = "no such text anywhere";
  box.dispatchEvent(new Event("input"));
  out.findings_text_filtered = visible("#findings-table tbody.finding");
  box.value = "";
  box.dispatchEvent(new Event("input"));
  out.findings = visible("#findings-table tbody.finding");
  var link = Array.prototype.find.call(document.querySelectorAll("#matrix td.cell a"), function (a) {
    var target = document.getElementById(a.getAttribute("href").slice(1));
    return target && target.querySelector("figure.hist");  // a cell with a histogram (drawn when it opens)
  });
  out.svg_before_open = document.querySelectorAll("#cells svg").length;
  out.cell = link.getAttribute("href").slice(1);
  link.click();
  window.setTimeout(function () {
    var target = document.getElementById(out.cell);
    out.cell_opened = target.open;
    out.svg_bars = target.querySelectorAll("svg rect").length;
    out.svg_titles = Array.prototype.map.call(target.querySelectorAll("svg title"), function (t) { return t.textContent; });
    out.svg_labels = Array.prototype.map.call(target.querySelectorAll("svg text.xl, svg text.tl"), function (t) { return t.textContent; });
    var copy = target.querySelector("button[data-copy]");
    copy.click();
    window.setTimeout(function () { out.copy_label = copy.textContent; resolve(JSON.stringify(out)); }, 300);
  }, 300);
})
"""


def check_page(page: Path, screenshot: Path | None = None, binary: str | None = None) -> dict:
    """Open ``page`` in headless Chromium; return what happened (problems, the exercise's findings)."""
    binary = binary or chromium()
    with tempfile.TemporaryDirectory(prefix="lossconf-chromium-") as tmp:
        browser = Chromium(binary, Path(tmp) / "profile")
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.send(f"{domain}.enable", session=session)
            browser.send("Emulation.setDeviceMetricsOverride",
                         {"width": 1400, "height": 2000, "deviceScaleFactor": 1, "mobile": False}, session=session)
            browser.send("Page.navigate", {"url": page.as_uri()}, session=session)
            browser.wait_for("Page.loadEventFired")
            if screenshot is not None:
                shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            result = browser.send("Runtime.evaluate", {"expression": EXERCISE, "awaitPromise": True,
                                                       "returnByValue": True}, session=session)
            if screenshot is not None:  # the drill-down the exercise opened, for a person to look at
                shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
                screenshot.with_name(screenshot.stem + "-cell.png").write_bytes(base64.b64decode(shot["data"]))
            browser.send("Runtime.evaluate", {"expression": "1"}, session=session)  # drain pending events
        finally:
            browser.close()
        events = browser.events
    problems = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = p.get("exceptionDetails", {})
            problems.append(f"uncaught exception: {details.get('exception', {}).get('description') or details.get('text')}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            problems.append("console." + p["type"] + ": " + " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            problems.append(f"browser log error: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        elif method == "Page.javascriptDialogOpening":
            problems.append(f"a JavaScript {p.get('type')} dialog opened: {p.get('message')!r}")
        elif method == "Network.requestWillBeSent" and p.get("request", {}).get("url") != page.as_uri():
            problems.append(f"network request: {p.get('request', {}).get('url')}")
    if "exceptionDetails" in result:
        problems.append(f"the exercise failed: {result['exceptionDetails']}")
    exercise = json.loads(result.get("result", {}).get("value") or "{}")
    return {"problems": problems, "exercise": exercise}


def browser_or_skip() -> str:
    """The Chromium binary; without one, skip saying why (a warning too, so it shows without -rs), or fail
    when LOSSCONF_REQUIRE_BROWSER=1."""
    binary = chromium()
    if binary is None:
        reason = ("chromium not found (apt-get install chromium, or set LOSSCONF_CHROMIUM): "
                  "the report was not checked in a real browser")
        if os.environ.get("LOSSCONF_REQUIRE_BROWSER") == "1":
            pytest.fail("LOSSCONF_REQUIRE_BROWSER=1 but " + reason, pytrace=False)
        warnings.warn(reason)
        pytest.skip(reason)
    return binary


def test_report_in_headless_chromium(tmp_path):
    browser_binary = browser_or_skip()
    page = tmp_path / "index.html"
    results.atomic_write(page, html.render([results.load(FIXTURE)]))
    outcome = check_page(page, SCREENSHOT, browser_binary)
    assert outcome["problems"] == [], "\n".join(outcome["problems"])
    x = outcome["exercise"]
    assert 0 < x["top_finding_bottom"] <= FIRST_SCREEN  # the worst finding is the first thing a reader sees
    assert x["filters_shown"] and x["pass_cells"] > 0 and x["pass_cells_unchecked"] == 0
    assert x["impl0_cells"] > 0 and x["impl0_cells_unchecked"] == 0 and x["impl0_findings_unchecked"] == 0
    assert x["findings_text_filtered"] == 0 and x["findings"] > 0
    assert x["svg_before_open"] == 0 and x["cell_opened"] is True and x["svg_bars"] > 0  # drawn as it opened
    # laid out by the page's script from the cell's bins alone: one case of 37 ULPs against a tolerance of 4
    assert x["svg_titles"] == ["(32, 64]: 0 within tolerance, 1 beyond"]
    assert x["svg_labels"] == ["tolerance 4 (worst case)", "0.5", "1", "2", "4", "8", "16", "32", "64"]
    assert x["copy_label"] in ("copied", "selected: press Ctrl+C")
    assert SCREENSHOT.stat().st_size > 10_000  # a real picture of the page, not an empty one
