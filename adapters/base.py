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

and implements three steps:

  plan(case)   -> Call   pure: decides what to call and with what, touching no framework; raises
                         Unsupported(reason) for what the library cannot express (a reduction it lacks, a
                         parameter it does not take, a layout it cannot read)
  run(call)    -> the value(s) the library returned, a numpy array in its own dtype
  source(call) -> str    the reproducer: the text of what ``run`` runs, a few lines a user can paste

and, to have its gradients checked (optional; without it every gradient case is ``unsupported``, with the reason):

  gradient(call, wrt, cotangent, mode)        -> {input name: array}  the framework's own derivative of what
                                                 ``run`` returns (its autodiff, never a formula of the adapter's)
  gradient_source(call, wrt, cotangent, mode) -> str   the reproducer: framework code that computes that gradient

  ``mode`` is one of ``gradient_modes``: "reverse" (vjp, grad: every adapter with gradients) and, where the
  framework has it, "forward" (the same derivative built from forward-mode products: jacfwd, torch.func.jacfwd,
  tf.autodiff.ForwardAccumulator). Each mode is judged, and reported, on its own.

``supports(case)`` is "the plan succeeds" (after the loss, device and variant checks below) and is asked
before the oracle, so an unsupported case costs no exact evaluation. ``compute(case)`` is ``run(plan(case))``
and ``reproducer(case)`` is ``source(plan(case))``: the harness calls these three.

``run`` receives plain numpy inputs already rounded to ``case.dtype``; it must call the library under test and
nothing else (no reference arithmetic of its own). Any exception it raises is recorded as the library raising
on that input: the right outcome for invalid inputs, an ``error`` for valid ones.

The simplest adapter writes one method per loss, named after it (``def mean_squared_error(self, case)``): the
default plan calls that method, which may still raise Unsupported while it runs. Copy
``adapters/numpy_reference.py`` to start a new adapter.
"""
from __future__ import annotations

import functools
import importlib.metadata
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import numpy as np

from core import dtypes
from core.case import Case


class Unsupported(Exception):
    """The implementation cannot express this case; the message says why."""


@dataclass(frozen=True)
class Call:
    """What an adapter will run for one case, decided by ``plan`` without touching the framework.

    ``target`` names the callable as the reproducer writes it; ``kwargs`` are its keyword arguments (plain
    values); ``detail`` holds whatever else the adapter's ``run`` and ``source`` both read (plain data)."""
    case: Case
    target: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    detail: Any = None


@functools.lru_cache(maxsize=None)
def _distribution_version(library: str) -> str:
    """The installed version of a distribution (read once: the metadata lookup costs ~10 ms, and every record asks)."""
    try:
        return importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


class Adapter:
    name: ClassVar[str] = ""
    library: ClassVar[str] = ""
    semantics: ClassVar[dict[str, str]] = {}
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    variants: ClassVar[tuple[str, ...]] = ("default",)
    expensive_variants: ClassVar[tuple[str, ...]] = ()

    # -- identity and environment ----------------------------------------------------------------
    def version(self) -> str:
        return _distribution_version(self.library) if self.library else "n/a"

    def setup(self) -> None:
        """Import the library and configure it; called once before the first case."""

    def available_devices(self) -> tuple[str, ...]:
        """The declared devices that exist on this machine."""
        return tuple(d for d in self.devices if d == "cpu")

    def environment(self) -> dict:
        """The numerical environment the results depend on (threads, TF32, flush-to-zero...)."""
        return {"threads": os.cpu_count()}

    def semantics_for(self, loss: str) -> str | None:
        return self.semantics.get(loss)

    # -- the contract: plan, run, source ---------------------------------------------------------
    def plan(self, case: Case) -> Call:
        """The call for ``case``, or Unsupported. Default: the method named after the loss."""
        if not callable(getattr(self, case.loss, None)):
            raise Unsupported(f"{self.name} has no method for {case.loss}")
        return Call(case, f"{type(self).__name__}().{case.loss}")

    def run(self, call: Call) -> np.ndarray:
        return self.to_numpy(getattr(self, call.case.loss)(call.case), call.case)

    # -- the gradient part of the contract (optional) --------------------------------------------
    gradient_modes: tuple[str, ...] = ("reverse",)

    def implements_gradients(self) -> bool:
        """Whether this adapter overrides ``gradient``: without it every gradient case is unsupported, for one reason,
        so the suite makes no gradient test of it and counts the combinations as not made, with that reason."""
        return type(self).gradient is not Adapter.gradient

    def gradient(self, call: Call, wrt: tuple[str, ...], cotangent: np.ndarray | None,
                 mode: str = "reverse") -> dict[str, np.ndarray]:
        """The vector-Jacobian product of what ``run(call)`` returns, through the framework's own autodiff in
        ``mode`` (one of ``gradient_modes``; forward mode builds the same product from Jacobian-vector products).

        ``wrt`` names the differentiated inputs by the spec's names (``sample_weight`` for the weights); each
        gradient comes back in that input's canonical layout and shape, as a numpy array in the dtype the framework
        returned. ``cotangent`` is an array shaped like the result (reduction ``none``), or None for a scalar result,
        whose gradient is then the plain derivative. An input the result does not depend on has a zero gradient."""
        raise Unsupported(f"{self.name} does not implement the gradient part of the adapter contract")

    def gradient_source(self, call: Call, wrt: tuple[str, ...], cotangent: np.ndarray | None, mode: str = "reverse") -> str:
        """Default: replay the gradient case through this adapter; framework adapters return their framework's code."""
        return (
            "import numpy as np\nfrom core.case import Case\nfrom adapters.registry import resolve_direct\n"
            f"adapter = resolve_direct({self.name!r}); adapter.setup()\n"
            f"case = Case.from_dict({call.case.to_dict()!r})\n"
            f"cotangent = {None if cotangent is None else f'np.array({np.asarray(cotangent).tolist()!r})'}\n"
            f"print(adapter.compute_gradient(case, {tuple(wrt)!r}, cotangent, {mode!r}))"
        )

    def source(self, call: Call) -> str:
        """Default: replay the case through this adapter; framework adapters return their framework's code."""
        return (
            "from core.case import Case\nfrom adapters.registry import resolve_direct\n"
            f"adapter = resolve_direct({self.name!r}); adapter.setup()\n"
            f"case = Case.from_dict({call.case.to_dict()!r})\nprint(adapter.compute(case))"
        )

    # -- what the harness asks -------------------------------------------------------------------
    def supports(self, case: Case) -> bool | str:
        """True, or why the case cannot be expressed: the loss, device and variant, then the plan."""
        if case.loss not in self.semantics:
            return f"{self.name} does not implement {case.loss}"
        if case.device not in self.available_devices():
            return f"device {case.device!r} is not available to {self.name} here"
        if case.variant not in self.variants:
            return f"{self.name} has no variant {case.variant!r}"
        try:
            self.plan(case)
        except Unsupported as exc:
            return str(exc)
        return True

    def gradient_support(self, case: Case, mode: str = "reverse") -> bool | str:
        """True, or why the gradient of ``case`` cannot be asked for in ``mode``: the gradient part of the contract,
        the mode, then ``supports``. Asked before the oracle, so an adapter without gradients costs no exact derivative."""
        if type(self).gradient is Adapter.gradient:
            return f"{self.name} does not implement the gradient part of the adapter contract"
        if mode not in self.gradient_modes:
            return f"{self.name} has no {mode}-mode derivative (its modes: {', '.join(self.gradient_modes)})"
        return self.supports(case)

    def compute(self, case: Case) -> np.ndarray:
        return self.run(self.plan(case))

    def reproducer(self, case: Case) -> str:
        try:
            call = self.plan(case)
        except Unsupported:
            return Adapter.source(self, Call(case, ""))
        return self.source(call)

    def compute_gradient(self, case: Case, wrt: tuple[str, ...], cotangent: np.ndarray | None,
                         mode: str = "reverse") -> dict[str, np.ndarray]:
        return self.gradient(self.plan(case), tuple(wrt), cotangent, mode)

    def gradient_reproducer(self, case: Case, wrt: tuple[str, ...], cotangent: np.ndarray | None, mode: str = "reverse") -> str:
        try:
            call = self.plan(case)
        except Unsupported:
            return Adapter.gradient_source(self, Call(case, ""), tuple(wrt), cotangent, mode)
        return self.gradient_source(call, tuple(wrt), cotangent, mode)

    # -- helpers for subclasses ------------------------------------------------------------------
    @staticmethod
    def to_numpy(value, case: Case) -> np.ndarray:
        """The library's result as a numpy array (its dtype kept, so a silent up/down-cast shows)."""
        if hasattr(value, "numpy"):
            value = value.detach().cpu().numpy() if hasattr(value, "detach") else value.numpy()
        return np.asarray(value)

    @staticmethod
    def numpy_dtype(case: Case) -> np.dtype:
        return dtypes.float_format(case.dtype).numpy
