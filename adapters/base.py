"""The adapter contract: how lossconf talks to an implementation under test.

An adapter is one small class. It declares

  name        the --impl name it answers to
  library     the distribution whose version is reported (importlib.metadata)
  semantics   {canonical loss: semantics name} it promises, e.g. {"binary_crossentropy": "keras"};
              losses absent from the mapping are reported as unsupported, never dropped
  devices     the devices it can run on ("cpu", "cuda")
  variants    the handles or modes it offers, each checked separately (e.g. "class", "function", "jit")
  expensive_variants
              the variants too slow for a CI run (e.g. "compile" for torch.compile): the suite skips
              them, saying so, unless --profile full

and implements

  supports(case)  -> True, or a string saying why the case cannot be expressed
  check(case)     raises Unsupported(reason) for a case it cannot express; the default supports() calls it
  compute(case)   -> numpy array holding the loss value(s) in case.dtype

``compute`` receives plain numpy inputs already rounded to ``case.dtype``; it must call the library
under test and nothing else (no reference arithmetic of its own). The default ``compute`` dispatches to
a method named after the canonical loss, so an adapter is a handful of methods like

    def binary_crossentropy(self, case): ...

Raise ``Unsupported(reason)`` from such a method for a combination the library cannot express
(a reduction it lacks, a parameter it does not take). Any other exception is recorded as the library
raising on that input, which is the right outcome for invalid inputs and an ``error`` for valid ones.
Copy ``adapters/numpy_reference.py`` to start a new adapter.
"""
from __future__ import annotations

import importlib.metadata
import os
from typing import ClassVar

import numpy as np

from core import dtypes
from core.case import Case


class Unsupported(Exception):
    """The implementation cannot express this case; the message says why."""


class Adapter:
    name: ClassVar[str] = ""
    library: ClassVar[str] = ""
    semantics: ClassVar[dict[str, str]] = {}
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    variants: ClassVar[tuple[str, ...]] = ("default",)
    expensive_variants: ClassVar[tuple[str, ...]] = ()

    # -- identity and environment ----------------------------------------------------------------
    def version(self) -> str:
        try:
            return importlib.metadata.version(self.library) if self.library else "n/a"
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    def setup(self) -> None:
        """Import the library and configure it; called once before the first case."""

    def available_devices(self) -> tuple[str, ...]:
        """The declared devices that exist on this machine."""
        return tuple(d for d in self.devices if d == "cpu")

    def environment(self) -> dict:
        """The numerical environment the results depend on (threads, TF32, flush-to-zero...)."""
        return {"threads": os.cpu_count()}

    # -- the contract ----------------------------------------------------------------------------
    def semantics_for(self, loss: str) -> str | None:
        return self.semantics.get(loss)

    def supports(self, case: Case) -> bool | str:
        if case.loss not in self.semantics:
            return f"{self.name} does not implement {case.loss}"
        if case.device not in self.available_devices():
            return f"device {case.device!r} is not available to {self.name} here"
        if case.variant not in self.variants:
            return f"{self.name} has no variant {case.variant!r}"
        try:
            self.check(case)
        except Unsupported as exc:
            return str(exc)
        return True

    def check(self, case: Case) -> None:
        """Raise Unsupported (with the reason) for a case this adapter cannot express: a parameter, reduction or
        layout its library lacks. Called by ``supports`` once the loss, device and variant are known."""

    def compute(self, case: Case) -> np.ndarray:
        method = getattr(self, case.loss, None)
        if method is None:
            raise Unsupported(f"{self.name} has no method for {case.loss}")
        return self.to_numpy(method(case), case)

    def reproducer(self, case: Case) -> str:
        """A few lines that recompute this case through the adapter; adapters may return framework code."""
        return (
            "from core.case import Case\nfrom adapters.registry import resolve_direct\n"
            f"adapter = resolve_direct({self.name!r}); adapter.setup()\n"
            f"case = Case.from_dict({case.to_dict()!r})\nprint(adapter.compute(case))"
        )

    # -- helpers for subclasses ------------------------------------------------------------------
    @staticmethod
    def to_numpy(value, case: Case) -> np.ndarray:
        """The library's result as a numpy array (its dtype kept, so a silent up/down-cast shows)."""
        if hasattr(value, "numpy"):
            value = value.detach().cpu().numpy() if hasattr(value, "detach") else value.numpy()
        return np.asarray(value)

    @staticmethod
    def unsupported_unless(condition: bool, reason: str) -> None:
        if not condition:
            raise Unsupported(reason)

    @staticmethod
    def numpy_dtype(case: Case) -> np.dtype:
        return dtypes.float_format(case.dtype).numpy
