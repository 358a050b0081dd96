"""pytest options of the lossconf suite (design.md, Contracts: Command line)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conformance import dtypes as _dtypes
from conformance.session import Session

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
DEVICES = ("cpu", "cuda", "all")
PROFILES = ("quick", "full")


def pytest_addoption(parser):
    group = parser.getgroup("lossconf", "lossconf conformance options")
    group.addoption("--impl", action="append", default=[], metavar="NAME|module:Class",
                    help="implementation(s) under test: built-in names (numpy, tf, tf1, torch), an installed "
                         "'lossconf.adapters' entry point, or package.module:Class; repeat or comma-separate "
                         "for a side-by-side run (default: numpy)")
    group.addoption("--device", default="cpu", choices=DEVICES, help="device(s) to run on (default: cpu)")
    group.addoption("--dtype", default="float32,float64", metavar="LIST",
                    help="comma-separated dtypes among float16,bfloat16,float32,float64 (default: float32,float64)")
    group.addoption("--report", default=None, metavar="PATH",
                    help="write results JSON (and JSON lines while running) and the HTML report beside PATH, "
                         "e.g. reports/index.html -> reports/index.json + reports/index.html")
    group.addoption("--profile", default="quick", choices=PROFILES, help="hypothesis settings profile (default: quick)")


def _usage_error(message: str):
    raise pytest.UsageError(message)


def pytest_configure(config):
    from adapters.registry import UnknownImplementation, resolve

    names = [n.strip() for opt in (config.getoption("--impl") or ["numpy"]) for n in opt.split(",") if n.strip()]
    try:
        adapters = [resolve(n) for n in dict.fromkeys(names)]
    except UnknownImplementation as exc:
        _usage_error(str(exc))
    dts = [d.strip() for d in config.getoption("--dtype").split(",") if d.strip()]
    for d in dts:
        if d not in _dtypes.FORMATS:
            _usage_error(f"--dtype {d}: unknown dtype; known: {', '.join(_dtypes.FORMATS)}")
    device = config.getoption("--device")
    report = config.getoption("--report")
    config.lossconf = Session(
        adapters=adapters,
        dtypes=dts,
        devices=["cpu", "cuda"] if device == "all" else [device],
        profile=config.getoption("--profile"),
        seed=None,
        report=Path(report) if report else None,
    )
    try:
        from hypothesis import settings

        settings.register_profile("quick", max_examples=25, deadline=None)
        settings.register_profile("full", max_examples=1000, deadline=None)
        settings.load_profile(config.getoption("--profile"))
    except ImportError:  # pragma: no cover
        pass


def pytest_report_header(config):
    s = config.lossconf
    return [f"lossconf: impl={','.join(f'{a.name} ({a.version()})' for a in s.adapters)} "
            f"dtypes={','.join(s.dtypes)} devices={','.join(s.devices)} profile={s.profile}"]


@pytest.fixture(scope="session")
def lossconf(pytestconfig) -> Session:
    return pytestconfig.lossconf


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "lossconf", None)
    if session is None or not session.records:
        return
    terminalreporter.section("lossconf verdicts")
    for line in session.summary():
        terminalreporter.write_line(line)
    for path in session.finish():
        terminalreporter.write_line(f"wrote {path}")
