"""The implementations of one run: --impl names resolved to adapters, each in its own worker process
(the default: a crash or hang costs one case) or in this process.

With process isolation each implementation runs in a worker whose environment holds its variables
(adapters.registry.environment); in-process, only names whose environments agree can share the one process.
"""
from __future__ import annotations

from adapters.base import Adapter
from adapters.registry import UnknownImplementation, adapter_class, canonical, environment, resolve_direct
from conformance.worker import IsolatedAdapter, IsolationFailure, WorkerRaised


class IncompatibleImplementations(ValueError):
    """Implementations that cannot share one process (different values of a variable read at import)."""


def resolve(spec: str, isolation: str = "inprocess", case_timeout: float = 120.0) -> Adapter:
    """An adapter for ``spec``: the adapter itself, or (isolation="process") a proxy running it in a worker
    whose environment holds ``environment(spec)``."""
    spec = canonical(spec)
    if isolation == "process":
        cls = adapter_class(spec)  # fail fast, in this process, with the one-line error for unknown names
        try:
            adapter = IsolatedAdapter(spec, env=environment(spec), case_timeout=case_timeout)
        except (IsolationFailure, WorkerRaised) as exc:
            raise UnknownImplementation(f"--impl {spec}: cannot start it ({exc})") from None
        adapter.expensive_variants = tuple(getattr(cls, "expensive_variants", ()))
        return adapter
    return resolve_direct(spec)


def resolve_all(specs, isolation: str = "process", case_timeout: float = 120.0) -> list[Adapter]:
    """Adapters for the --impl names (aliases merged, order kept); in-process, only names whose environments
    agree: IncompatibleImplementations (one line) otherwise."""
    names = list(dict.fromkeys(canonical(s) for s in specs))
    if isolation == "inprocess":
        claimed: dict[str, tuple[str, str]] = {}
        for name in names:
            for var, value in environment(name).items():
                other, wanted = claimed.setdefault(var, (name, value))
                if wanted != value:
                    raise IncompatibleImplementations(
                        f"--isolation=inprocess: {other} and {name} need different {var} ({wanted}, {value}) and one process "
                        f"imports Keras once; run them with --isolation=process (the default)")
    return [resolve(n, isolation=isolation, case_timeout=case_timeout) for n in names]
