"""PyTorch adapter: the canonical losses through ``torch.nn.functional`` (semantics ``torch``).

    binary_crossentropy              F.binary_cross_entropy / F.binary_cross_entropy_with_logits
    categorical_crossentropy         F.cross_entropy with probability targets (logits only)
    sparse_categorical_crossentropy  F.cross_entropy with int64 class-index targets (logits only)
    mean_squared_error               F.mse_loss
    every other loss with a ``torch`` semantics: one ``Call`` each in adapters/torch_losses.py, which also
    holds ``MEAN``, the table of what torch's reduction="mean" is per loss

Conventions worth knowing (see docs/semantics.md#torchnnfunctional):

* BCE and MSE are elementwise in torch (no mean over the last axis): the specs' ``torch`` semantics say
  ``axis_reduction: none``. Canonical sample weights align with the leading axes, so they are reshaped
  (``mapping.align_weights``) and broadcast to the input shape before being passed as ``weight=``.
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
* Variant ``compile`` makes the same calls through ``torch.compile(fn, dynamic=False, fullgraph=True)``,
  compiled afresh for each case after ``torch._dynamo.reset()`` (no recompile limit can fall back to eager
  silently; ``fullgraph`` makes a graph break an error). CPU inductor generates and builds C++ for every
  case (about a second each, more for the first), so it is listed in ``expensive_variants`` and runs
  with ``--profile full`` only. ``torch_tensor``, ``torch_to_numpy`` and ``torch_environment`` are shared
  with the Keras adapter on the torch backend.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from adapters import mapping, reproduce
from adapters.base import Adapter, Unsupported
from adapters.torch_losses import MEAN, Call, TorchLossesMixin, reduction as torch_reduction
from core import dtypes
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

    # -- setup and environment ------------------------------------------------------------------
    def setup(self) -> None:
        disable_tf32()

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

    def _compiled(self, fn, case: Case):
        """The function itself, or (variant compile) compiled afresh for this case: static shapes, one graph."""
        if case.variant != "compile":
            return fn
        torch = _torch()
        torch._dynamo.reset()  # no guards or recompile limits carried over from other cases
        return torch.compile(fn, dynamic=False, fullgraph=True)

    def _weights(self, case: Case, like):
        """Canonical sample weights aligned with the leading axes and broadcast to ``like``'s shape."""
        if case.sample_weight is None:
            return None
        w = mapping.align_weights(self._tensor(case.sample_weight, case), like.ndim)
        return _torch().broadcast_to(w, like.shape)

    @staticmethod
    def _class_axis_to_1(t, axis: int):
        """torch's class dim is 1 (0 for a single 1-D sample)."""
        return t if t.ndim < 2 else _torch().movedim(t, axis, 1)  # torch itself rejects an axis out of range

    # -- losses ---------------------------------------------------------------------------------
    def compute(self, case: Case) -> np.ndarray:
        build = getattr(self, f"_call_{case.loss}", None)  # the losses of torch_losses.py
        if build is None:
            return super().compute(case)
        return self.to_numpy(self._run(build(case), case), case)

    def _run(self, call: Call, case: Case):
        tensor = lambda a: self._tensor(a, case) if isinstance(a, np.ndarray) else a
        fn = self._compiled(getattr(_torch().nn.functional, call.fn), case)
        result = fn(*(tensor(a) for _, a in call.args), **{k: tensor(v) for k, v in call.kwargs.items()})
        return result if call.out_shape is None else result.reshape(call.out_shape)

    def binary_crossentropy(self, case: Case):
        F = _torch().nn.functional
        k = case.kwargs
        self.unsupported_unless(not k.get("label_smoothing"), "torch binary cross-entropy has no label_smoothing")
        # elementwise: there is no axis to pass, and an adapter must not drop a parameter silently
        self.unsupported_unless(k.get("axis", -1) == -1, "torch binary cross-entropy is elementwise and has no axis parameter")
        reduction = torch_reduction(case, weighted=case.sample_weight is not None)
        p, y = self._tensor(case.y_pred, case), self._tensor(case.y_true, case)
        fn = F.binary_cross_entropy_with_logits if k.get("from_logits") else F.binary_cross_entropy
        return self._compiled(fn, case)(p, y, weight=self._weights(case, p), reduction=reduction)

    def categorical_crossentropy(self, case: Case):
        F = _torch().nn.functional
        k = case.kwargs
        self.unsupported_unless(bool(k.get("from_logits")), _LOGITS_ONLY)
        self.unsupported_unless(case.sample_weight is None, _NO_SAMPLE_WEIGHT)
        reduction = torch_reduction(case)  # mean: sum / number of samples
        axis = k.get("axis", -1)
        z = self._class_axis_to_1(self._tensor(case.y_pred, case), axis)
        t = self._class_axis_to_1(self._tensor(case.y_true, case), axis)
        return self._compiled(F.cross_entropy, case)(z, t, label_smoothing=float(k.get("label_smoothing", 0.0)), reduction=reduction)

    def sparse_categorical_crossentropy(self, case: Case):
        F = _torch().nn.functional
        k = case.kwargs
        self.unsupported_unless(bool(k.get("from_logits")), _LOGITS_ONLY)
        self.unsupported_unless(case.sample_weight is None, _NO_SAMPLE_WEIGHT)
        class_weight = k.get("class_weight")
        reduction = torch_reduction(case, weighted=class_weight is not None)
        axis = k.get("axis", -1)
        pred = self._tensor(case.y_pred, case)
        labels = self._tensor(case.y_true, case)
        if labels.ndim == pred.ndim and -pred.ndim <= axis < pred.ndim and labels.shape[axis] == 1:  # (B, 1) labels: canonical, torch wants (B,)
            labels = labels.squeeze(axis % pred.ndim)
        weight = None if class_weight is None else self._tensor(dtypes.to_dtype(class_weight, case.dtype), case)
        ignore = k.get("ignore_class")
        return self._compiled(F.cross_entropy, case)(self._class_axis_to_1(pred, axis), labels, weight=weight,
                               ignore_index=-100 if ignore is None else int(ignore), reduction=reduction)

    def mean_squared_error(self, case: Case):
        F = _torch().nn.functional
        pred, target = self._tensor(case.y_pred, case), self._tensor(case.y_true, case)
        if case.sample_weight is None:
            return self._compiled(F.mse_loss, case)(pred, target, reduction=torch_reduction(case))
        self.unsupported_unless("weight" in inspect.signature(F.mse_loss).parameters,
                                f"torch {_torch().__version__} mse_loss has no weight= argument")
        reduction = torch_reduction(case, weighted=True)  # sum(w l)/sum(w): mean_with_sample_weight
        return self._compiled(F.mse_loss, case)(pred, target, weight=self._weights(case, pred), reduction=reduction)

    # -- reproducer -----------------------------------------------------------------------------
    def reproducer(self, case: Case) -> str:
        """``torch.nn.functional`` code for the case, with the same guards, axis moves and weights as the methods above."""
        try:
            body = self._reproducer_body(case)
        except Unsupported:
            return super().reproducer(case)
        return reproduce.script("torch", case, body + [reproduce.printed("torch", "loss")])

    def _reproducer_body(self, case: Case) -> list[str]:
        k, dev = case.kwargs, case.device
        R = reproduce.Source

        def tensor(value, name):
            return reproduce.array("torch", value, name, device=dev)

        def to_class_dim(name: str, ndim: int, axis: int) -> str:
            return name if ndim < 2 or axis % ndim == 1 else f"{name}.movedim({axis % ndim}, 1)"

        build = getattr(self, f"_call_{case.loss}", None)
        if build is not None:  # the losses of torch_losses.py: print the very Call that compute runs
            body, call = self._call_source(build(case), tensor)
            return self._compile_source(case, body, call)
        body = [tensor(case.y_true, "y_true"), tensor(case.y_pred, "y_pred")]
        weight = None
        if case.sample_weight is not None and case.loss in ("binary_crossentropy", "mean_squared_error"):
            body += [reproduce.comment("canonical sample weights align with the leading axes, broadcast to the input"),
                     tensor(mapping.align_weights(case.sample_weight, case.y_pred.ndim), "sample_weight")]
            weight = R("torch.broadcast_to(sample_weight, y_pred.shape)")
        if case.loss == "binary_crossentropy":
            self.unsupported_unless(not k.get("label_smoothing"), "torch binary cross-entropy has no label_smoothing")
            self.unsupported_unless(k.get("axis", -1) == -1, "torch binary cross-entropy is elementwise and has no axis parameter")
            fn = "binary_cross_entropy_with_logits" if k.get("from_logits") else "binary_cross_entropy"
            keywords = {"weight": weight, "reduction": torch_reduction(case, weighted=weight is not None)}
            call = f"F.{fn}({reproduce.call_args(['y_pred', 'y_true'], {n: v for n, v in keywords.items() if v is not None})})"
        elif case.loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
            self.unsupported_unless(bool(k.get("from_logits")), _LOGITS_ONLY)
            self.unsupported_unless(case.sample_weight is None, _NO_SAMPLE_WEIGHT)
            axis, nd = k.get("axis", -1), case.y_pred.ndim
            keywords = {}
            if case.loss == "categorical_crossentropy":
                target = to_class_dim("y_true", nd, axis)
                if k.get("label_smoothing"):
                    keywords["label_smoothing"] = float(k["label_smoothing"])
                keywords["reduction"] = torch_reduction(case)
            else:
                class_weight = k.get("class_weight")
                reduction = torch_reduction(case, weighted=class_weight is not None)
                labels = np.asarray(case.y_true)
                if labels.ndim == nd and labels.shape[axis % nd] == 1:
                    body[0] = reproduce.comment("(B, 1) class labels squeezed to the (B,) torch expects")
                    body.insert(1, tensor(labels.squeeze(axis % nd), "y_true"))
                target = "y_true"
                if class_weight is not None:
                    body.append(tensor(dtypes.to_dtype(class_weight, case.dtype), "class_weight"))
                    keywords["weight"] = R("class_weight")
                if k.get("ignore_class") is not None:
                    keywords["ignore_index"] = int(k["ignore_class"])
                keywords["reduction"] = reduction
            call = f"F.cross_entropy({reproduce.call_args([to_class_dim('y_pred', nd, axis), target], keywords)})"
        elif case.loss == "mean_squared_error":
            if weight is not None:
                self.unsupported_unless("weight" in inspect.signature(_torch().nn.functional.mse_loss).parameters,
                                        f"torch {_torch().__version__} mse_loss has no weight= argument")
            keywords = {**({} if weight is None else {"weight": weight}),
                        "reduction": torch_reduction(case, weighted=weight is not None)}
            call = f"F.mse_loss({reproduce.call_args(['y_pred', 'y_true'], keywords)})"
        else:
            raise Unsupported(f"no reproducer for {case.loss}")
        return self._compile_source(case, body, call)

    @staticmethod
    def _call_source(call: Call, tensor) -> tuple[list[str], str]:
        """A Call as source: its arrays as tensors named after the argument, then the F.<fn>(...) expression."""
        body = [reproduce.comment(note) for note in call.notes]
        positional, keywords = [], {}
        for name, value in call.args:
            body.append(tensor(value, name))
            positional.append(name)
        for name, value in call.kwargs.items():
            if isinstance(value, np.ndarray):
                body.append(tensor(value, name))
                keywords[name] = reproduce.Source(name)
            elif value is not None:
                keywords[name] = value
        expression = f"F.{call.fn}({reproduce.call_args(positional, keywords)})"
        return body, expression if call.out_shape is None else f"{expression}.reshape({tuple(call.out_shape)!r})"

    @staticmethod
    def _compile_source(case: Case, body: list[str], call: str) -> list[str]:
        if case.variant == "compile":  # the same call through torch.compile, compiled afresh as _compiled does
            fn, _, args = call.partition("(")
            body += ["torch._dynamo.reset()  # a fresh compilation, as lossconf makes for each case"]
            call = f"torch.compile({fn}, dynamic=False, fullgraph=True)({args}"
        return body + [f"loss = {call}"]
