"""pytest options of the lossconf suite (README.md, "Running the suite")."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from core import dtypes as _dtypes
from conformance import audit
from conformance.session import Session

# the report (the layer above the harness) renders the results JSON that the harness writes: a plugin, not an import
pytest_plugins = ("reports.pytest_plugin",)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
DEVICES = ("cpu", "cuda", "all")
PROFILES = ("quick", "full")


def pytest_addoption(parser):
    group = parser.getgroup("lossconf", "lossconf conformance options")
    group.addoption("--impl", action="append", default=[], metavar="NAME|module:Class",
                    help="implementation(s) under test: built-in names (numpy, tf = keras-tf, keras-jax, keras-torch, "
                         "tf-keras, tf1, torch, jax), an installed 'lossconf.adapters' entry point, or "
                         "package.module:Class; repeat or comma-separate for a side-by-side run (default: numpy)")
    group.addoption("--device", default="cpu", help="device(s) to run on: cpu, cuda or all (default: cpu)")
    group.addoption("--dtype", default="float16,bfloat16,float32,float64", metavar="LIST",
                    help="comma-separated dtypes among float16,bfloat16,float32,float64 (default: all four)")
    group.addoption("--expectations", action="append", default=[], metavar="PATH",
                    help="known discrepancies besides the built-in expectations/<impl>.yaml: a directory of <impl>.yaml "
                         "files, or one YAML file whose entries apply to every implementation (scope one with "
                         "match: {impl: NAME}); repeatable")
    group.addoption("--report", default=None, metavar="PATH",
                    help="write results JSON (and JSON lines while running) and the HTML report beside PATH, "
                         "e.g. reports/index.html -> reports/index.json + reports/index.html")
    group.addoption("--report-detail", default="summary", choices=("summary", "full"),
                    help="how much of each report cell the HTML lists: summary (default) lists the cases that did not "
                         "simply pass, the passing ones counted and in a histogram; full lists every case (the results "
                         "JSON holds every case either way)")
    group.addoption("--profile", default="quick", help="hypothesis settings profile: quick (CI) or full (a night run); default quick")
    group.addoption("--seed", default=0, type=int, help="seed of every generated case; the same seed gives the same cases (default: 0)")
    group.addoption("--isolation", default="process", choices=("process", "inprocess"),
                    help="run each implementation in a worker process, so a crash or hang costs one case (default), "
                         "or in the pytest process (faster to debug)")
    group.addoption("--case-timeout", default=120.0, type=float, metavar="SECONDS",
                    help="per-case time limit in a worker process; the worker is killed and restarted (default: 120)")


def _usage_error(message: str):
    raise pytest.UsageError(message)


def pytest_configure(config):
    import specs
    from adapters.registry import UnknownImplementation
    from conformance.implementations import IncompatibleImplementations, resolve_all

    for option, allowed in (("--device", DEVICES), ("--profile", PROFILES)):
        if config.getoption(option) not in allowed:
            _usage_error(f"{option} {config.getoption(option)}: unknown; known: {', '.join(allowed)}")
    try:
        specs.all_specs()  # a bad spec is one line naming its file and field, before any test runs
    except specs.SpecError as exc:
        _usage_error(f"spec error: {exc}")

    from conformance import expectations

    try:
        expectations.add(config.getoption("--expectations"))
    except expectations.ExpectationError as exc:
        _usage_error(str(exc))

    names = [n.strip() for opt in (config.getoption("--impl") or ["numpy"]) for n in opt.split(",") if n.strip()]
    isolation, timeout = config.getoption("--isolation"), config.getoption("--case-timeout")
    try:
        adapters = resolve_all(names, isolation=isolation, case_timeout=timeout)
    except (UnknownImplementation, IncompatibleImplementations) as exc:
        _usage_error(str(exc))
    dts = [d.strip() for d in config.getoption("--dtype").split(",") if d.strip()]
    for d in dts:
        if d not in _dtypes.FORMATS:
            _usage_error(f"--dtype {d}: unknown dtype; known: {', '.join(_dtypes.FORMATS)}")
    device = config.getoption("--device")
    report = config.getoption("--report") if not xdist_worker(config) else None  # the controller writes the report
    config.lossconf = Session(
        adapters=adapters,
        dtypes=dts,
        devices=["cpu", "cuda"] if device == "all" else [device],
        profile=config.getoption("--profile"),
        seed=config.getoption("--seed"),
        report=Path(report) if report else None,
        is_worker=xdist_worker(config),
    )
    try:
        from hypothesis import Phase, settings

        # quick (CI): 4 draws per (impl, loss, regime, dtype) cell, each judged under every reduction, on the
        # primary handle only (tests/conformance/conftest.py). It does not shrink: a failing draw is recorded in
        # full (arrays, seed, reproducer) as found, and shrinking large arrays through the oracle would cost
        # minutes. The night run (full) draws 300 per cell, on every handle, and shrinks.
        settings.register_profile("quick", max_examples=4, deadline=None, print_blob=True,
                                  phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])
        settings.register_profile("full", max_examples=300, deadline=None, print_blob=True)
        settings.load_profile(config.getoption("--profile"))
    except ImportError:  # pragma: no cover
        pass


    # CI systems stop a run with SIGTERM: turn it into an interrupt so the results gathered so far are written
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"stopped by signal {signal.Signals(signum).name}")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads the xdist_group marks into the node ids
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, the property and relation tests of one (dtype, loss) form one ``xdist_group`` (run with
    ``--dist loadgroup``). (The variants an adapter lists in ``expensive_variants``, torch.compile..., which run with
    --profile full only, are not parametrised otherwise: tests/conformance/conftest.py.)"""
    if getattr(config, "lossconf", None) is not None and config.pluginmanager.hasplugin("xdist"):
        _group_by_loss(items)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist and the terminal reporter read the items
def pytest_collection_finish(session):
    """The combinations the parametrisation left out (conformance.omitted) count where the run would have selected
    them: file arguments, --deselect and -k apply to them as to the items. A test function all of whose combinations
    were left out keeps only pytest's placeholder of an empty parametrisation, a skip that says nothing: dropped."""
    state = getattr(session.config, "lossconf", None)
    if state is not None:
        state.keep_omitted(_would_select(session))
        session.items[:] = [item for item in session.items if not _empty_parametrisation(item)]


def _empty_parametrisation(item) -> bool:
    return any(str(mark.kwargs.get("reason", "")).startswith("got empty parameter set")
               for mark in item.iter_markers("skip"))


def _would_select(session):
    """Whether the run would have selected an omitted combination's item: its test function has selected items, no
    --deselect prefix names it, and -k matches it with the names of one of its function's items (its module, class
    and marks), its own name in place of that item's."""
    from _pytest.mark import KeywordMatcher
    from _pytest.mark.expression import Expression

    templates = {}
    for item in session.items:
        templates.setdefault(item.nodeid.split("[", 1)[0], item)
    deselect = tuple(session.config.getoption("deselect") or ())
    keyword = session.config.getoption("keyword")
    expression = Expression.compile(keyword) if keyword else None

    def selected(omitted) -> bool:
        template = templates.get(omitted.function)
        if template is None or (deselect and omitted.nodeid.startswith(deselect)):
            return False
        if expression is None:
            return True
        names = (KeywordMatcher.from_item(template)._names - {template.name}) | {omitted.name}
        return expression.evaluate(KeywordMatcher(names))

    return selected


def _group_by_loss(items) -> None:
    """The property, gradient and relation tests of one (dtype, loss), whatever the implementation, variant, regime or
    relation, run on one worker in collection order. Each replays what a serial run replays (the tests sharing an
    example database, conformance.strategies.shared_database, are in one group), and the cases they share (the
    moderate regime's draws are every relation's) are compiled by JAX and evaluated by the oracle once."""
    from conformance.strategies import worker_group

    dtype_and_loss = {"property_axes": slice(3, 5), "gradient_axes": slice(3, 5), "relation_axes": slice(2, 4),
                      "gradient_relation_axes": slice(2, 4)}  # where each parametrisation holds them
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        # an empty parametrisation (every combination omitted) holds pytest's placeholder, not axes: it is dropped
        axes = next(((params[k], at) for k, at in dtype_and_loss.items() if isinstance(params.get(k), tuple)), None)
        if axes:
            item.add_marker(pytest.mark.xdist_group(worker_group(*axes[0][axes[1]])))
        elif isinstance(axes := params.get("impl_axes", params.get("agreement_axes")), tuple) and "invalid" in params:
            # each variant's record of an invalid input, then their agreement test, which compares them (an empty
            # parametrisation, of an implementation with one variant, has no axes)
            item.add_marker(pytest.mark.xdist_group(f"invalid-{axes[0]}-{axes[2]}-{params['invalid'].id}"))


def pytest_report_header(config):
    s = config.lossconf
    return [f"lossconf: impl={','.join(f'{a.name} ({a.version()})' for a in s.adapters)} "
            f"dtypes={','.join(s.dtypes)} devices={','.join(s.devices)} profile={s.profile} seed={s.seed} "
            f"isolation={config.getoption('--isolation')}"]


@pytest.fixture(scope="session")
def lossconf(pytestconfig) -> Session:
    return pytestconfig.lossconf


def pytest_sessionfinish(session, exitstatus):
    """Write the results even when the run was interrupted; stop the workers. An xdist worker hands its records
    to the controller instead (``pytest_testnodedown``), which writes one report of them all."""
    state = getattr(session.config, "lossconf", None)
    if state is None:
        return
    if xdist_worker(session.config):
        session.config.workeroutput["lossconf"] = state.handover()
    else:
        state.written = state.finish() if state.records else []
        state.audit = audit.audit(state.records)
        if audit.failing(state.audit) and not selection(session.config) and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a stale or broad expectation fails the run
    for adapter in state.adapters:
        getattr(adapter, "close", lambda: None)()


def xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def selection(config) -> bool:
    """The run is a selection (-k, -m, or test files or ids rather than the whole suite): the scopes it sees are cut
    arbitrarily (an entry fired by the property tests is idle in a run of the examples), so the audit only reports."""
    if config.getoption("keyword") or config.getoption("markexpr"):
        return True
    root = Path(__file__).resolve().parent
    whole = {root, root / "tests", root / "tests" / "conformance"}
    return not all(Path(str(arg).split("::")[0]).resolve() in whole for arg in config.args)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist, in the controller: a worker is done; its records join the run's (a crashed worker's are lost,
    and its tests are reported as crashed by xdist)."""
    state = getattr(node.config, "lossconf", None)
    handed = getattr(node, "workeroutput", {}).get("lossconf")
    if state is not None and handed:
        state.take_over(handed)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = getattr(config, "lossconf", None)
    if state is None or not (state.records or state.omitted):
        return
    terminalreporter.section("lossconf verdicts")
    for line in state.summary() + audit.lines(getattr(state, "audit", []), selection(config)):
        terminalreporter.write_line(line)
    for path in getattr(state, "written", []):
        terminalreporter.write_line(f"wrote {path}")
