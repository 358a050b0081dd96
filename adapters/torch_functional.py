"""PyTorch adapter: the canonical losses through ``torch.nn.functional`` (semantics ``torch``).

    binary_crossentropy              F.binary_cross_entropy / F.binary_cross_entropy_with_logits
    categorical_crossentropy         F.cross_entropy with probability targets (logits only)
    sparse_categorical_crossentropy  F.cross_entropy with int64 class-index targets (logits only)
    mean_squared_error               F.mse_loss
    every other loss with a ``torch`` semantics: one ``_call_<loss>`` each in adapters/torch_losses.py, which
    also holds ``MEAN``, the table of what torch's reduction="mean" is per loss

``plan`` is the loss's ``_call_<loss>(case)``: every guard (Unsupported), the reduction's spelling and the
layout of the arguments, on numpy arrays, touching no torch; it returns the ``Call`` of ``F.<fn>``
(``torch_losses.torch_call``). ``run`` makes the tensors and calls torch; ``source`` prints the same Call.
``gradient`` differentiates that very function with torch.autograd (``autodiff.torch_vjp``; in forward mode
torch.func.jacfwd, ``autodiff.torch_jacfwd``), its leaves made from the canonical inputs, so torch's own moves and
broadcasts map the gradient back to their layout; an input that reaches torch as a numpy copy (squeezed labels, rows
of a flattened input) or as integers has none (Unsupported); ``gradient_source`` prints it.
Whether this torch's ``F.<fn>`` takes ``weight=`` (``mse_loss``, ``l1_loss``, ``huber_loss`` gained it in 2.x)
is asked of torch once, in ``setup``.

Conventions worth knowing (see docs/semantics.md#torchnnfunctional):

* BCE and MSE are elementwise in torch (no mean over the last axis): the specs' ``torch`` semantics say
  ``axis_reduction: none``. Canonical sample weights align with the leading axes, so they are reshaped
  (``mapping.align_weights``) and broadcast to the input shape (by ``torch.broadcast_to``) before being
  passed as ``weight=``.
* torch's ``"mean"`` is a different canonical reduction per loss (``torch_losses.MEAN``): BCE = sum(w l)/numel
  (sum_over_batch_size, weights do not normalise); CE with probability targets = sum/N samples;
  CE with class indices = sum(c_y l)/sum(c_y) over non-ignored targets (weighted_mean); MSE without
  weights = sum/numel, with ``weight=`` = sum(w l)/sum(w) (mean_with_sample_weight); CTC divides each loss
  by its target length (mean_by_length). A reduction torch has no spelling for raises Unsupported.
* The class axis is moved to dim 1 (torch's class dim) with ``movedim``; 1-D inputs are one sample
  whose class dim is 0, as torch reads them.
* ``ignore_class=None`` maps to torch's default ``ignore_index=-100``, i.e. what a user calling torch
  gets: a label of -100 is then silently ignored where the spec calls it invalid.
* Tensors are made in the case dtype on the case device (bfloat16 via float32, exact) and results come
  back in the dtype torch returned, so a silent up/down-cast shows. TF32 is switched off in ``setup``.
* Variant ``compile`` (recorded by plan in the Call) makes the same calls through ``torch.compile(fn, dynamic=False, fullgraph=True)``,
  compiled afresh for each case after ``torch._dynamo.reset()`` (no recompile limit can fall back to eager
  silently; ``fullgraph`` makes a graph break an error). CPU inductor generates and builds C++ for every
  case (about a second each, more for the first), so it is listed in ``expensive_variants`` and runs
  with ``--profile full`` only. Its reverse-mode gradient differentiates the compiled call; its forward-mode one
  compiles the whole ``torch.func.jacfwd`` (torch.func cannot differentiate a compiled function called from eager
  code: dynamo raises "Unsupported functorch tracing attempt"). ``torch_tensor``, ``torch_to_numpy`` and
  ``torch_environment`` are shared with the Keras adapter on the torch backend.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from adapters import autodiff, reproduce
from adapters.base import Adapter, Call, Unsupported
from adapters.torch_losses import (MEAN, Broadcast, Moved, TorchLossesMixin, reduction as torch_reduction, torch_call,
                                   _class_weight, _labels)
from core.case import Case

_LOGITS_ONLY = "torch.nn.functional.cross_entropy takes logits; torch has no categorical cross-entropy from probabilities"
_NO_SAMPLE_WEIGHT = "torch.nn.functional.cross_entropy has no per-sample weights (only per-class weight=)"


@functools.lru_cache(maxsize=None)
def _torch():
    import torch  # lazy: importing this module must stay cheap

    return torch


def torch_environment() -> dict:
    """torch's numerical environment (shared with the Keras adapter on the torch backend)."""
    torch = _torch()
    cuda = torch.cuda.is_available()
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "flush_to_zero": torch.get_flush_denormal(),
        "cuda_available": cuda,
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "cuda_version": torch.version.cuda,
    }


def disable_tf32() -> None:
    # TF32 would round float32 matmul/conv inputs to 10 mantissa bits on Ampere+; none of these
    # losses should hit it, but a conformance run must not depend on that.
    torch = _torch()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def torch_tensor(array, dtype: str, device: str):
    """A numpy array as a torch tensor: class labels as int64, floats in ``dtype`` (bfloat16 via float32, exact)."""
    torch = _torch()
    array = np.asarray(array)
    if array.dtype.kind in "iu":  # class labels: torch wants int64
        return torch.as_tensor(array.astype(np.int64), device=device)
    # numpy has no bfloat16 torch understands: float32 holds every bfloat16 exactly, so this is lossless
    values = array.astype(np.float32) if dtype == "bfloat16" else array
    # ascontiguousarray makes a 0-d array 1-d: keep the shape (torch reads a 0-d target as one unbatched sample)
    return torch.as_tensor(np.ascontiguousarray(values).reshape(array.shape), device=device).to(getattr(torch, dtype))


def weighted_functions() -> frozenset[str]:
    """The ``torch.nn.functional`` functions of this torch that take ``weight=`` (mse_loss, l1_loss and huber_loss
    gained it in 2.x). Asked of torch once, in setup, so that planning a case need not import torch."""
    F = _torch().nn.functional
    names = set()
    for name in dir(F):
        fn = getattr(F, name)
        if name.startswith("_") or not callable(fn):
            continue
        try:
            parameters = inspect.signature(fn).parameters
        except (TypeError, ValueError):  # a builtin without a signature
            continue
        if "weight" in parameters:
            names.add(name)
    return frozenset(names)


def torch_to_numpy(value) -> np.ndarray:
    """A torch tensor as numpy in the dtype torch returned (bfloat16 via float32, exact)."""
    torch = _torch()
    value = value.detach().cpu()
    if value.dtype == torch.bfloat16:  # numpy cannot take a bfloat16 tensor; float32 -> bfloat16 is exact
        import ml_dtypes

        return value.float().numpy().astype(ml_dtypes.bfloat16)
    return value.numpy()


class TorchAdapter(TorchLossesMixin, Adapter):
    name = "torch"
    library = "torch"
    devices = ("cpu", "cuda")
    semantics = {loss: "torch" for loss in MEAN}  # every loss whose spec has a torch semantics
    # "compile": the same calls through torch.compile (CPU inductor generates and builds C++; seconds a case)
    variants = ("default", "compile")
    expensive_variants = ("compile",)
    gradient_modes = ("reverse", "forward")  # torch.autograd, torch.func.jacfwd

    _weighted: frozenset[str] | None = None  # weighted_functions() and torch.__version__, probed in setup
    _torch_version: str = ""

    # -- setup and environment ------------------------------------------------------------------
    def setup(self) -> None:
        disable_tf32()
        self._probe()

    def _probe(self) -> None:
        self._weighted, self._torch_version = weighted_functions(), _torch().__version__

    def available_devices(self) -> tuple[str, ...]:
        return ("cpu", "cuda") if _torch().cuda.is_available() else ("cpu",)

    def environment(self) -> dict:
        return {**torch_environment(), "dtype_policy": "computed in the input dtype",
                **({"torch_compile": "torch.compile(fn, dynamic=False, fullgraph=True) after torch._dynamo.reset(), "
                                     "per case (variant compile)"} if "compile" in self.variants else {})}

    # -- conversions ----------------------------------------------------------------------------
    def _tensor(self, array: np.ndarray, case: Case):
        return torch_tensor(array, case.dtype, case.device)

    @staticmethod
    def to_numpy(value, case: Case) -> np.ndarray:
        return torch_to_numpy(value)

    def _takes_weight(self, fn: str) -> bool:
        """Whether this torch's F.<fn> has a weight= argument (as setup found it)."""
        if self._weighted is None:  # planned before setup (a direct caller): the one plan that asks torch
            self._probe()
        return fn in self._weighted

    # -- plan: one _call_<loss> per loss, here and in torch_losses.py ----------------------------
    def plan(self, case: Case) -> Call:
        build = getattr(self, f"_call_{case.loss}", None)
        if build is None:
            raise Unsupported(f"{self.name} has no method for {case.loss}")
        return build(case)

    def _call_binary_crossentropy(self, case: Case) -> Call:
        k = case.kwargs
        if k.get("label_smoothing"):
            raise Unsupported("torch binary cross-entropy has no label_smoothing")
        # elementwise: there is no axis to pass, and an adapter must not drop a parameter silently
        if k.get("axis", -1) != -1:
            raise Unsupported("torch binary cross-entropy is elementwise and has no axis parameter")
        fn = "binary_cross_entropy_with_logits" if k.get("from_logits") else "binary_cross_entropy"
        return self._elementwise(fn, case, broadcast=True)  # mean: sum(w l) / numel

    @staticmethod
    def _cross_entropy_guards(case: Case) -> None:
        if not case.kwargs.get("from_logits"):
            raise Unsupported(_LOGITS_ONLY)
        if case.sample_weight is not None:
            raise Unsupported(_NO_SAMPLE_WEIGHT)

    def _call_categorical_crossentropy(self, case: Case) -> Call:
        self._cross_entropy_guards(case)
        k = case.kwargs
        reduction = torch_reduction(case)  # mean: sum / number of samples
        axis = k.get("axis", -1)
        return torch_call(case, "cross_entropy", [("y_pred", Moved(case.y_pred, axis)), ("y_true", Moved(case.y_true, axis))],
                          {"label_smoothing": float(k.get("label_smoothing", 0.0)), "reduction": reduction})

    def _call_sparse_categorical_crossentropy(self, case: Case) -> Call:
        self._cross_entropy_guards(case)
        k = case.kwargs
        class_weight = k.get("class_weight")
        reduction = torch_reduction(case, weighted=class_weight is not None)  # mean: sum(c_y l) / sum(c_y)
        axis, ignore = k.get("axis", -1), k.get("ignore_class")
        labels = _labels(case, axis)  # (B, 1) labels: canonical; torch wants (B,)
        notes = ["(B, 1) class labels squeezed to the (B,) torch expects"] if labels.ndim < np.ndim(case.y_true) else []
        return torch_call(case, "cross_entropy", [("y_pred", Moved(case.y_pred, axis)), ("y_true", labels)],
                          {"weight": _class_weight(class_weight, case), "ignore_index": -100 if ignore is None else int(ignore),
                           "reduction": reduction}, notes=notes)

    def _call_mean_squared_error(self, case: Case) -> Call:
        if case.sample_weight is not None and not self._takes_weight("mse_loss"):
            raise Unsupported(f"torch {self._torch_version} mse_loss has no weight= argument")
        return self._elementwise("mse_loss", case, broadcast=True)  # weight=: sum(w l)/sum(w), mean_with_sample_weight

    # -- run, gradient and source: the Call, executed, differentiated and printed ------------------
    def run(self, call: Call) -> np.ndarray:
        return self.to_numpy(self._loss(call)(), call.case)

    def gradient(self, call: Call, wrt: tuple[str, ...], cotangent, mode: str = "reverse") -> dict[str, np.ndarray]:
        """torch.autograd of the very function ``run`` calls (compiled the same way for ``compile``), or
        torch.func.jacfwd of it in forward mode (for ``compile``, the whole jacfwd compiled), its leaves made from the
        canonical arrays: moves, alignment and broadcasts happen inside, so the gradients come back in the canonical
        layout."""
        case, feeds = call.case, _feeds(call, wrt)
        leaves = {name: self._tensor(autodiff.wrt_array(case, name), case) for name in wrt}
        if mode == "forward":  # compile: the whole jacfwd compiled (torch.func cannot take a compiled function)
            return autodiff.torch_jacfwd(self._loss(call, feeds, compile_call=False), leaves, cotangent, torch_to_numpy,
                                         compile=_compiled if call.detail.compile else None)
        return autodiff.torch_vjp(self._loss(call, feeds), leaves, cotangent, torch_to_numpy)

    def _loss(self, call: Call, feeds: dict[str, str] | None = None, compile_call: bool = True):
        """The function ``run`` calls with no arguments: the Call's tensors made, then ``F.<fn>`` (through
        torch.compile for ``compile``, unless ``compile_call`` is False: the caller compiles a computation around
        it), the result reshaped to ``out_shape``. ``feeds`` ({argument: input}, see ``_feeds``) names the
        arguments made from the differentiated inputs, which it then takes as keywords."""
        case, detail, torch = call.case, call.detail, _torch()
        feeds = feeds or {}
        fn = getattr(torch.nn.functional, _function(call))
        if detail.compile and compile_call:
            fn = _compiled(fn)

        def argument(name, value):
            """The argument as a function of the leaves, its tensor made here, once: ``loss`` runs no numpy (a
            compiled derivative traces it)."""
            array = value.array if isinstance(value, (Moved, Broadcast)) else value
            if not isinstance(array, np.ndarray):
                return lambda leaves: value
            if name in feeds:
                leaf, shape = feeds[name], tuple(array.shape)
                tensor = lambda leaves: _shaped(leaves[leaf], shape)  # noqa: E731
            else:
                made = self._tensor(array, case)
                tensor = lambda leaves: made  # noqa: E731
            if not isinstance(value, Moved):
                return tensor
            axis = value.axis  # torch's class dim is 1 (0 for a single 1-D sample); torch rejects an axis out of range
            return lambda leaves: (lambda t: torch.movedim(t, axis, 1) if t.ndim >= 2 else t)(tensor(leaves))

        args = {name: argument(name, value) for name, value in detail.args}
        kwargs = {name: (argument(name, value), value.like if isinstance(value, Broadcast) else None)
                  for name, value in call.kwargs.items()}
        out_shape = detail.out_shape

        def loss(**leaves):
            given = {name: make(leaves) for name, make in args.items()}
            keywords = {name: make(leaves) if like is None else torch.broadcast_to(make(leaves), given[like].shape)
                        for name, (make, like) in kwargs.items()}
            result = fn(*given.values(), **keywords)
            return result if out_shape is None else result.reshape(out_shape)

        return loss

    def source(self, call: Call) -> str:
        """The Call as torch.nn.functional code: its arrays as tensors named after the argument, then the call."""
        body, computation = self._source_lines(call)
        return reproduce.script("torch", call.case, body + computation + [reproduce.printed("torch", "loss")])

    def gradient_source(self, call: Call, wrt: tuple[str, ...], cotangent, mode: str = "reverse") -> str:
        """``source``'s lines, the differentiated inputs defined in their canonical layout, then torch.autograd.grad
        of the call (torch.func.jacfwd of a function of them computing it, in forward mode)."""
        forward = mode == "forward"  # compile: the whole jacfwd compiled, as ``gradient`` runs it
        body, computation = self._source_lines(call, _feeds(call, wrt), compile_call=not forward)
        if forward:
            lines = autodiff.torch_jacfwd_source(list(wrt), computation, cotangent,
                                                 _compiled_source if call.detail.compile else None)
        else:
            lines = autodiff.torch_vjp_source(list(wrt), computation, cotangent)
        return reproduce.script("torch", call.case, body + lines)

    def _source_lines(self, call: Call, feeds: dict[str, str] | None = None,
                      compile_call: bool = True) -> tuple[list[str], list[str]]:
        """The lines that make the Call's tensors, and those that compute ``loss`` from them; an argument in
        ``feeds`` is made from its differentiated input, a leaf named after it (reshaped, as ``_loss`` reshapes it,
        in the computing lines: a derivative differentiates through them); ``compile_call`` as in ``_loss``."""
        case, detail, feeds = call.case, call.detail, feeds or {}
        body = [reproduce.comment(note) for note in detail.notes]
        computation = []

        def define(name, array) -> list[str]:
            if name not in feeds:
                return [reproduce.array("torch", array, name, device=case.device)]
            leaf = feeds[name]
            canonical = autodiff.wrt_array(case, leaf)
            if leaf != name:
                reshape = "" if canonical.shape == array.shape else f".reshape({tuple(array.shape)!r})"
                computation.append(f"{name} = {leaf}{reshape}")
            return [reproduce.array("torch", canonical, leaf, device=case.device)]

        positional, keywords = [], {}
        for name, value in detail.args:
            body += define(name, value.array if isinstance(value, Moved) else value)
            positional.append(_moved_source(name, value) if isinstance(value, Moved) else name)
        for name, value in call.kwargs.items():
            if isinstance(value, (np.ndarray, Broadcast)):
                body += define(name, value.array if isinstance(value, Broadcast) else value)
                keywords[name] = reproduce.Source(f"torch.broadcast_to({name}, {value.like}.shape)"
                                                  if isinstance(value, Broadcast) else name)
            elif value is not None:
                keywords[name] = value
        fn = call.target
        if detail.compile:  # the same call through torch.compile, compiled afresh as run does
            body.append("torch._dynamo.reset()  # a fresh compilation, as lossconf makes for each case")
            fn = _compiled_source(fn) if compile_call else fn
        expression = f"{fn}({reproduce.call_args(positional, keywords)})"
        if detail.out_shape is not None:
            expression += f".reshape({tuple(detail.out_shape)!r})"
        return body, computation + [f"loss = {expression}"]


def _feeds(call: Call, wrt: tuple[str, ...]) -> dict[str, str]:
    """{argument name: differentiated input} for the Call's arguments made from the inputs in ``wrt``: an argument
    that is the canonical array itself (plan passed it as it is, or ``Moved`` for torch to move), or the sample
    weights that torch broadcasts (``Broadcast``, aligned by a reshape). Any other input reached torch as a copy laid
    out on numpy (squeezed labels, CTC's label counts, rows of a flattened input...): Unsupported, saying so."""
    arguments = [*call.detail.args, *call.kwargs.items()]
    feeds = {}
    for name in wrt:
        canonical = autodiff.wrt_array(call.case, name)
        fed = [arg for arg, value in arguments if (name == "sample_weight" if isinstance(value, Broadcast) else
                                                   (value.array if isinstance(value, Moved) else value) is canonical)]
        if not fed:
            raise Unsupported(f"torch.nn.functional.{_function(call)} gets {name} as a copy the adapter laid out on "
                              "numpy, not the input itself: it has no gradient to give")
        feeds.update(dict.fromkeys(fed, name))
    return feeds


def _compiled(fn):
    """``fn`` through torch.compile, compiled afresh for this case: static shapes, one graph (a break raises)."""
    torch = _torch()
    torch._dynamo.reset()  # no guards or recompile limits carried over from other cases
    return torch.compile(fn, dynamic=False, fullgraph=True)


def _compiled_source(callee: str) -> str:
    """``_compiled`` as source text (the reproducer resets dynamo in a line of its own)."""
    return f"torch.compile({callee}, dynamic=False, fullgraph=True)"


def _shaped(tensor, shape: tuple):
    """A leaf as its argument's shape: the canonical sample weights aligned with the leading axes (a reshape)."""
    return tensor if tuple(tensor.shape) == tuple(shape) else tensor.reshape(shape)


def _function(call: Call) -> str:
    """The torch.nn.functional name of a torch Call (``torch_call`` makes its target ``F.<name>``)."""
    return call.target.removeprefix("F.")


def _moved_source(name: str, moved: Moved) -> str:
    """``name.movedim(axis, 1)`` as run moves it; the name alone where the move changes nothing."""
    nd, axis = np.ndim(moved.array), moved.axis
    return name if nd < 2 or (-nd <= axis < nd and axis % nd == 1) else f"{name}.movedim({axis}, 1)"
