"""What one pytest run of the suite holds: the adapters, the options, the records and where they go."""
from __future__ import annotations

import base64
import collections
import pickle
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from conformance import omitted as omitted_mod
from core import findings, phases, results, verdicts


def command_line(argv: list[str]) -> str:
    """The command as a person would retype it: ``python -m pytest`` and the pytest script are both spelt
    ``pytest`` (argv[0] is then the path of pytest's __main__.py, or of a virtual environment's script)."""
    first = Path(argv[0]) if argv else Path("pytest")
    if first.name in ("pytest", "py.test") or (first.name == "__main__.py" and first.parent.name == "pytest"):
        argv = ["pytest", *argv[1:]]
    return shlex.join(argv)


@dataclass(repr=False)
class Session:
    adapters: list
    dtypes: list[str]
    devices: list[str]
    profile: str
    seed: int | None
    report: Path | None
    records: list = field(default_factory=list)
    seconds: collections.Counter = field(default_factory=collections.Counter)
    _writer: results.ResultsWriter | None = None
    _ready: set = field(default_factory=set)
    started: float = field(default_factory=time.perf_counter)
    workers: int = 0  # pytest-xdist workers whose records this (controller) session took over
    is_worker: bool = False  # a pytest-xdist worker: it hands its records to the controller
    omitted: list = field(default_factory=list)  # combinations not made pytest items (conformance.omitted)
    _pending: list = field(default_factory=list)  # omitted while collecting, before the selection is known
    _devices: dict = field(default_factory=dict)  # impl -> its available devices (Session.available)
    # invalid-input records by (impl, variant, device, dtype, input id): what the variant-agreement test compares
    invalid_seen: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        # pytest prints the test's arguments with every failure and xfail: the dataclass repr of every record so far
        # cost a quarter of a run's time, growing with the run
        return f"<lossconf session: {', '.join(a.name for a in self.adapters)}; {len(self.records)} records>"

    def run_variants(self, adapter) -> tuple[str, ...]:
        """The variants of ``adapter`` this run exercises: all with --profile full, else all but the expensive ones."""
        expensive = () if self.profile == "full" else getattr(adapter, "expensive_variants", ())
        return tuple(v for v in adapter.variants if v not in expensive)

    def adapter(self, name: str):
        adapter = next(a for a in self.adapters if a.name == name)
        if name not in self._ready:
            adapter.setup()
            self._ready.add(name)
        return adapter

    def run_info(self) -> dict:
        omitted = omitted_mod.counts(self.omitted)
        return {
            "command": command_line(sys.argv),
            "seed": self.seed,
            "profile": self.profile,
            "dtypes": self.dtypes,
            "devices": self.devices,
            "python": platform.python_version(),
            "implementations": [
                {"name": a.name, "library": a.library, "version": a.version(),
                 "environment": self._environment(a),
                 "losses": sorted(a.semantics),  # what it provides: a report tells "not provided" from "unsupported"
                 "not_made_tests": omitted.get(a.name, {})}  # {test: {reason: n}}: combinations not made pytest items
                for a in self.adapters
            ],
        }

    def _environment(self, adapter) -> dict:
        try:
            return self.adapter(adapter.name).environment()
        except Exception as exc:  # an environment probe must not cost the run
            return {"error": f"{type(exc).__name__}: {exc}"}

    def omit(self, omitted: omitted_mod.Omitted) -> None:
        """Note a combination the parametrisation leaves out; kept once collection says its function runs."""
        self._pending.append(omitted)

    def keep_omitted(self, selected) -> None:
        """Keep the omitted combinations that ``selected(omitted)`` says the run would have selected, and write the
        records their tests would have written (a worker's are written by the controller: every worker collects the
        same)."""
        for omitted in self._pending:
            if selected(omitted):
                self._keep(omitted)
        self._pending = []

    def _keep(self, omitted: omitted_mod.Omitted) -> None:
        self.omitted.append(omitted)
        if omitted.record is not None and not self.is_worker:
            self.add(omitted.record)

    def available(self, impl: str, device: str) -> bool:
        """Whether ``device`` exists for ``impl`` here (asked once per implementation)."""
        if impl not in self._devices:
            self._devices[impl] = tuple(self.adapter(impl).available_devices())
        return device in self._devices[impl]

    def add(self, record: dict) -> None:
        self.records.append(record)
        if self.report is not None:
            if self._writer is None:
                self._writer = results.ResultsWriter(self.report.with_suffix(".jsonl"), self.run_info())
            self._writer.add(record)

    # -- pytest-xdist: a worker's records and times, handed to the controller ----------------------------
    def handover(self) -> str:
        """What a worker hands the controller: its records (exactly, NaN and all), seconds and phase times, as text
        (xdist's channel carries plain types only)."""
        return base64.b64encode(pickle.dumps({"records": self.records, "seconds": dict(self.seconds),
                                              "phases": dict(phases.totals), "omitted": self.omitted})).decode()

    def take_over(self, handed: str) -> None:
        """Add a worker's handover to this (the controller's) session."""
        data = pickle.loads(base64.b64decode(handed))
        if not self.workers:  # every worker omitted the same combinations: one worker's are kept
            for o in data["omitted"]:
                self._keep(o)
        for record in data["records"]:
            self.add(record)
        self.seconds.update(data["seconds"])
        phases.totals.update(data["phases"])
        self.workers += 1

    def timed(self, impl: str):
        session = self

        class _Timer:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                session.seconds[impl] += time.perf_counter() - self.start

        return _Timer()

    def finish(self) -> list[Path]:
        """Write the results JSON beside the report path; returns it (in a list: every path written). The HTML
        report and the summaries are made from it by reports.pytest_plugin, a layer above this one."""
        if self.report is None:
            return []
        if self._writer:
            self._writer.close()
        with phases.timed("report"):
            doc = results.document(self.run_info(), self.records)
            json_path = self.report.with_suffix(".json")
            results.write_json(json_path, doc)
        return [json_path]

    def summary(self) -> list[str]:
        # each case once: a cell's worst draw is written twice, compactly as it is judged and in full at the end
        records = findings.distinct(self.records)
        counts = collections.defaultdict(collections.Counter)
        for r in records:
            who = r.get("impl", "docs") + (f" gradients{' (forward mode)' if r.get('mode') == 'forward' else ''}"
                                           if r.get("quantity") == "gradient" and r.get("kind") != "relation" else
                                           " gradient relations" if r.get("kind") == "relation" else
                                           " variant agreement" if r.get("kind") == "agreement" else "")
            counts[who][r["verdict"] + ("(expected)" if r.get("expectation") else "")] += 1
        return [
            *(f"{impl}: " + ", ".join(f"{n} {v}" for v, n in sorted(c.items()))
            + (f"  [{self.seconds[impl]:.1f}s in the implementation and judge]" if impl in self.seconds else "")
              for impl, c in sorted(counts.items())),
            *omitted_mod.lines(self.omitted),
            *hazard_lines(records),
            # the distinct causes, ranked: what a CI log says is wrong without opening the report
            *findings.lines(findings.group(records, [a.name for a in self.adapters]), limit=FINDINGS_SHOWN),
            phases.line(time.perf_counter() - self.started, self.workers),  # where the time went, per phase
        ]


def hazard_lines(records) -> list[str]:
    """One line per implementation with hazards: conforming results (so no verdict fails) whose declared convention
    moves them from the ideal loss, by kind, and the causes with the most cases (loss, quantity, dtype, kind)."""
    kinds, causes, known = (collections.defaultdict(collections.Counter) for _ in range(3))
    for r in records:
        if r.get("hazard") and r.get("verdict") == verdicts.PASS:
            impl, kind = r.get("impl"), r.get("hazard_kind") or "unnamed"
            kinds[impl][kind] += 1
            causes[impl][f"{r.get('loss')}{' gradient' if r.get('quantity') == 'gradient' else ''} {r.get('dtype')} {kind}"] += 1
            known[impl]["acknowledged"] += bool(r.get("expectation"))
    return [f"{impl} hazards: {sum(kinds[impl].values())} conforming results their declared convention moves from the "
            f"ideal ({', '.join(f'{n} {k}' for k, n in kinds[impl].most_common())}; {known[impl]['acknowledged']} "
            f"acknowledged); most: {', '.join(f'{c} ({n})' for c, n in causes[impl].most_common(3))}"
            for impl in sorted(kinds)]


FINDINGS_SHOWN = 20  # lines of ranked findings in the run's summary; the report lists them all

COMPACT_DROP = ("inputs", "reproducer", "oracle_reproducer")


def cell(record: dict) -> tuple:
    """The report cell a record belongs to: (impl, variant, device, loss, reduction, dtype, quantity, mode)."""
    return tuple(record.get(k) for k in ("impl", "variant", "device", "loss", "reduction", "dtype", "quantity", "mode"))


def severity(record: dict) -> float:
    """How far beyond its tolerance a record is (errors first, then the ULP error over tolerance)."""
    if record["verdict"] in (verdicts.ERROR, verdicts.NONFINITE, verdicts.ACCEPTED_INVALID):
        return float("inf")
    err, tol = record.get("ulp_error"), record.get("tolerance_ulps")
    return float(err) / float(tol) if isinstance(err, (int, float)) and tol else 0.0


def add_draw(session: Session, record: dict, keep_full: bool) -> None:
    """Record one hypothesis draw: compactly, unless it failed; remember the worst draw of its cell."""
    worst = session.__dict__.setdefault("worst", {})
    key = cell(record)
    if key not in worst or severity(record) > severity(worst[key]):
        worst[key] = record
    session.add(record if keep_full else {k: v for k, v in record.items() if k not in COMPACT_DROP})


def flush_worst(session: Session, keys) -> None:
    """Write the worst draw of each cell in full, flagged, so the report can show its arrays."""
    worst = session.__dict__.get("worst", {})
    for key in keys:
        if key in worst and worst[key]["verdict"] != verdicts.UNSUPPORTED:
            session.add({**worst.pop(key), "worst_case": True})
