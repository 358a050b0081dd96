"""Resolve an --impl name to an adapter: built-in names, entry points, or ``package.module:Class``.

A built-in name may carry an environment (``ENVIRONMENT``): variables its process needs before anything is
imported. Keras 3 reads ``KERAS_BACKEND`` once, at its first import, so each Keras backend is one name with
its own variable. Running an implementation in a worker process, or several in one process, is the harness's
business (conformance/implementations.py).

Candidates plug in without touching this file: ``--impl package.module:Class``, or an installed
distribution declaring an entry point in the group ``lossconf.adapters`` (``name = package.module:Class``),
after which ``--impl name`` works.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os

from adapters.base import Adapter

BUILTIN = {
    "numpy": "adapters.numpy_reference:NumpyReferenceAdapter",
    "tf": "adapters.keras3:Keras3Adapter",  # Keras 3 as tf.keras, on the TensorFlow backend
    "keras-jax": "adapters.keras3:Keras3Adapter",
    "keras-torch": "adapters.keras3:Keras3Adapter",
    "tf-keras": "adapters.tf_keras:TFKerasAdapter",  # Keras 2
    "tf1": "adapters.tf1:TF1Adapter",
    "torch": "adapters.torch_functional:TorchAdapter",
    "jax": "adapters.jax_optax:JaxOptaxAdapter",  # optax + jax.numpy
}
ALIASES = {"keras-tf": "tf"}  # the same implementation, reported under the name it is known by
ENVIRONMENT = {  # set before the implementation imports anything (its worker's environment, or this process's)
    "tf": {"KERAS_BACKEND": "tensorflow"},
    "keras-jax": {"KERAS_BACKEND": "jax"},
    "keras-torch": {"KERAS_BACKEND": "torch"},
}
ENTRY_POINT_GROUP = "lossconf.adapters"


class UnknownImplementation(LookupError):
    pass


def _entry_points() -> dict:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def known() -> list[str]:
    return sorted(set(BUILTIN) | set(ALIASES) | set(_entry_points()))


def canonical(spec: str) -> str:
    """The name an implementation is reported under (aliases resolved)."""
    return ALIASES.get(spec, spec)


def environment(spec: str) -> dict:
    """The environment variables a built-in implementation needs set before it imports anything."""
    return dict(ENVIRONMENT.get(canonical(spec), {}))


def _load_target(target: str):
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def adapter_class(spec: str) -> type:
    """The adapter class ``spec`` names (nothing instantiated, no environment set); UnknownImplementation otherwise."""
    spec = canonical(spec)
    if spec in BUILTIN:
        cls = _load_target(BUILTIN[spec])
    elif spec in _entry_points():
        try:
            cls = _entry_points()[spec].load()
        except (ImportError, AttributeError) as exc:
            raise UnknownImplementation(f"--impl {spec}: cannot load its entry point ({exc})") from None
    elif ":" in spec:
        try:
            cls = _load_target(spec)
        except (ImportError, AttributeError) as exc:
            raise UnknownImplementation(f"--impl {spec}: cannot import it ({exc})") from None
    else:
        raise UnknownImplementation(f"--impl {spec}: unknown implementation; known: {', '.join(known())}, or package.module:Class")
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise UnknownImplementation(f"--impl {spec}: {cls!r} is not a lossconf adapters.base.Adapter subclass")
    return cls


def resolve_direct(spec: str) -> Adapter:
    """An adapter instance for ``spec`` in this process, its environment set first; UnknownImplementation
    (one line) when it cannot be found."""
    spec = canonical(spec)
    cls = adapter_class(spec)
    os.environ.update(environment(spec))
    return cls()
