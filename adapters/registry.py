"""Resolve an --impl name to an adapter: built-in names, entry points, or ``package.module:Class``."""
from __future__ import annotations

import importlib
import importlib.metadata

from adapters.base import Adapter

BUILTIN = {
    "numpy": "adapters.numpy_reference:NumpyReferenceAdapter",
    "tf": "adapters.keras_tensorflow:KerasTensorFlowAdapter",
    "tf1": "adapters.tf1:TF1Adapter",
    "torch": "adapters.torch_functional:TorchAdapter",
}
ENTRY_POINT_GROUP = "lossconf.adapters"


class UnknownImplementation(LookupError):
    pass


def _entry_points() -> dict:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def known() -> list[str]:
    return sorted(set(BUILTIN) | set(_entry_points()))


def _load_target(target: str):
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def resolve(spec: str, isolation: str = "inprocess", case_timeout: float = 120.0) -> Adapter:
    """An adapter for ``spec``: the adapter itself, or (isolation="process") a proxy running it in a worker."""
    if isolation == "process":
        from conformance.worker import IsolatedAdapter, IsolationFailure, WorkerRaised

        resolve_direct(spec)  # fail fast, in this process, with the one-line error for unknown names
        try:
            return IsolatedAdapter(spec, case_timeout=case_timeout)
        except (IsolationFailure, WorkerRaised) as exc:
            raise UnknownImplementation(f"--impl {spec}: cannot start it ({exc})") from None
    return resolve_direct(spec)


def resolve_direct(spec: str) -> Adapter:
    """An adapter instance for ``spec``; UnknownImplementation (one line) when it cannot be found."""
    if spec in BUILTIN:
        cls = _load_target(BUILTIN[spec])
    elif spec in _entry_points():
        cls = _entry_points()[spec].load()
    elif ":" in spec:
        try:
            cls = _load_target(spec)
        except (ImportError, AttributeError) as exc:
            raise UnknownImplementation(f"--impl {spec}: cannot import it ({exc})") from None
    else:
        raise UnknownImplementation(f"--impl {spec}: unknown implementation; known: {', '.join(known())}, or package.module:Class")
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise UnknownImplementation(f"--impl {spec}: {cls!r} is not a lossconf adapters.base.Adapter subclass")
    return cls()
