"""Keras 3 on any of its backends (TensorFlow, JAX, torch), and what every Keras adapter shares.

One class, ``Keras3Adapter``, serves every backend. Keras 3 picks its backend from ``KERAS_BACKEND`` when it
is first imported, so one process holds one backend: the adapter reads the variable when it is made
(``--impl`` names carry it: ``tf`` = ``keras-tf`` -> tensorflow, ``keras-jax`` -> jax, ``keras-torch`` ->
torch; see ``adapters/registry.py``) and ``setup`` refuses to run if Keras was already imported with another.

    name         backend     semantics                                  compiled variant
    tf           tensorflow  keras+ftz; SCCE, binary focal keras_tf+ftz xla: tf.function(jit_compile=True)
    keras-jax    jax         keras+ftz; CTC keras_jax+ftz               jit: jax.jit
    keras-torch  torch       keras (torch keeps subnormals); CTC        none: with fullgraph=True torch.compile
                             keras_torch
                                                                         rejects the Loss call (a graph break at
                                                                         torch.cuda.is_available); the torch
                                                                         adapter has a compile variant

Handles per loss, each checked as its own variant:

  class     keras.losses.BinaryCrossentropy(..., reduction=..., dtype=case.dtype)(y, p, sample_weight=w)
  function  keras.losses.binary_crossentropy(y, p, ...)      per-sample losses, reduction "none" only
  alias     keras.losses.get("binary_crossentropy")(y, p, ...)   the string given to model.compile(loss=...)
  xla/jit   the class call compiled as a whole by the backend's compiler

Conventions worth knowing:
* The class gets ``dtype=case.dtype``; without it Keras casts every input (float64 included) to floatx=float32.
* On the TF backend the namespace is ``tf.keras.losses`` (``keras._tf_keras``: it has ``mse`` but no
  ``mean_squared_error``); on the others ``keras.losses`` (``mean_squared_error`` but no ``mse``). Both are
  the same function objects.
* Sample weights are aligned with the leading axes (``mapping.align_weights``) as the canonical contract says;
  Keras' own divisor for ``mean_with_sample_weight`` is the sum of the *un-broadcast* weights, which is what
  gets measured for (B,T) per-sample losses.
* Inputs are the backend's own tensors on the case device (``tf.constant``, ``jnp.asarray``, ``torch`` tensors),
  as a user of that backend passes them. On JAX, x64 is enabled before Keras is imported (float64 cases).
  On torch, every call runs inside ``keras.device(...)``: Keras moves tensors to its own default device
  (a GPU when there is one) otherwise.

Every canonical loss with a Keras semantics in its spec is mapped by data, not code: one row of ``LOSSES`` per
loss (a ``KerasLoss``) names its Loss class, its function, the compile string of the alias variant (every other
name comes from the spec's ``aliases``; ``no_alias`` says why a loss has none), the keywords the function and
the class take, ``required`` function keywords, ``renamed`` canonical parameters Keras spells otherwise
(Dice/Tversky ``axes`` -> ``axis``, categorical focal ``alpha_per_class`` -> a list ``alpha``) and ``fixed``
those Keras does not take at all (KL ``log_input``/``log_target``, Poisson ``log_input``/``full``, CTC
``from_logits``/``blank``/``zero_infinity``: a non-default value is Unsupported, with the reason);
``BACKEND_SEMANTICS`` gives the per-backend semantics names. Canonical CTC targets ``[T_b, labels..., -1
padding]`` become Keras' ``[labels..., 0 padding]`` (0 = mask_index); Keras takes every input length as T, so
other lengths are Unsupported. Sample weights align with the per-sample losses: (B,) for CTC, the axes left by
Dice/Tversky ``axes`` (none: a scalar), one axis fewer than y_pred otherwise.

``KerasLossesAdapter`` is the part Keras 2 (``adapters/tf_keras.py``) shares: the handle table, ``plan`` (every
guard, the handle, its keywords with the reduction spelled as Keras spells it, the targets and weights as Keras
takes them: plain numpy, no framework touched), ``run`` (the backend's tensors, under its device scope, the class
call compiled for the xla/jit variant), ``source`` (the reproducer of that same call), ``gradient`` and
``gradient_source`` (the backend's autodiff of that call: a GradientTape, jax.vjp or torch.autograd; in forward
mode ForwardAccumulator JVPs, jax.jacfwd or torch.func.jacfwd; the whole derivative compiled for the xla/jit
variant; the canonical inputs are the leaves, CTC's log_probs passed as y_pred and the sample weights aligned
inside the differentiated function; integer labels and CTC's rewritten targets are
Unsupported) and the handle identities. The backend specifics (tensors, devices, compilation, differentiation,
environment, reproducer spelling) live in small runtime classes, shared with the plain TF, JAX and torch adapters
through their helpers.
"""
from __future__ import annotations

import importlib.metadata
import inspect
import functools
import os
from dataclasses import dataclass, field, replace

import numpy as np

import specs
from adapters import autodiff, mapping, reproduce
from adapters.base import Adapter, Call, Unsupported
from core.case import Case


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


# -- backend runtimes: how one framework makes tensors, places, compiles and differentiates a call, and reports itself
class TensorFlowRuntime:
    backend, framework, ftz = "tensorflow", "tf", True  # Eigen's CPU kernels run with FTZ/DAZ set
    compiled_variant = "xla"
    array_namespace = "tf"  # the reproducers' module of array functions (tf.reshape)

    def __init__(self, imports: tuple[str, ...] = ()):
        self.imports = imports  # reproducer lines after "import tensorflow as tf"

    def setup(self) -> None:
        from adapters.tf_runtime import tf_module

        # TF32 would round float32 matmul inputs to 10 mantissa bits on Ampere+ GPUs
        tf_module().config.experimental.enable_tensor_float_32_execution(False)

    def available_devices(self) -> tuple[str, ...]:
        from adapters.tf_runtime import gpu_available

        return ("cpu", "cuda") if gpu_available() else ("cpu",)

    def environment(self) -> dict:
        from adapters.tf_runtime import tf_environment

        return tf_environment()

    def tensor(self, array, case: Case):
        from adapters.tf_runtime import tf_module

        return tf_module().constant(array)  # int64 labels stay int64, floats keep case.dtype

    def device(self, case: Case):
        from adapters.tf_runtime import tf_device

        return tf_device(case)

    def to_numpy(self, value) -> np.ndarray:
        return np.asarray(value.numpy())

    def compile(self, fn):
        from adapters.tf_runtime import tf_module

        return tf_module().function(fn, jit_compile=True)

    def reshape(self, tensor, shape: tuple[int, ...]):
        from adapters.tf_runtime import tf_module

        return tf_module().reshape(tensor, shape)

    def derivative(self, fn, leaves: dict, cotangent, compiled: bool, constants: dict,
                   mode: str) -> dict[str, np.ndarray]:
        """A GradientTape (forward mode: ForwardAccumulator JVPs); compiled: the whole derivative in one
        tf.function(jit_compile=True), which captures the ``constants`` (fn's other tensors) as it captures them in
        a reproducer."""
        differentiate = autodiff.tf_jacfwd if mode == "forward" else autodiff.tf_vjp
        return differentiate(functools.partial(fn, **constants), leaves, cotangent,
                             compile=self.compile if compiled else None)

    def reproducer_compile(self, callee: str) -> str:
        return f"tf.function({callee}, jit_compile=True)"

    def reproducer_gradient(self, names: list[str], expression: str, cotangent, compiled: bool,
                            constants: list[str], mode: str) -> list[str]:
        source = autodiff.tf_jacfwd_source if mode == "forward" else autodiff.tf_tape_source
        return source(names, expression, cotangent, self.reproducer_compile if compiled else None)

    def reproducer_device(self, case: Case) -> str | None:
        return "tf.device('/GPU:0')" if case.device == "cuda" else None

    def version(self) -> str:
        return f"tensorflow {_dist_version('tensorflow-cpu')}"


class JaxRuntime:
    backend, framework, ftz = "jax", "jax", True  # XLA's CPU code flushes subnormals (measured in environment())
    compiled_variant = "jit"
    array_namespace = "jnp"
    imports = ("import os", "os.environ['KERAS_BACKEND'] = 'jax'  # before keras is imported", "import keras")

    def setup(self) -> None:
        from adapters.jax_optax import jax_module

        jax_module()  # x64 on before Keras makes any array

    def available_devices(self) -> tuple[str, ...]:
        from adapters.jax_optax import jax_gpu_available

        return ("cpu", "cuda") if jax_gpu_available() else ("cpu",)

    def environment(self) -> dict:
        from adapters.jax_optax import jax_environment

        return jax_environment()

    def tensor(self, array, case: Case):
        from adapters.jax_optax import jax_tensor

        return jax_tensor(array)

    def device(self, case: Case):
        from adapters.jax_optax import jax_device

        return jax_device(case)

    def to_numpy(self, value) -> np.ndarray:
        return np.asarray(value)

    def compile(self, fn):
        from adapters.jax_optax import jax_module

        return jax_module().jit(fn)

    def reshape(self, tensor, shape: tuple[int, ...]):
        from adapters.jax_optax import jax_module

        return jax_module().numpy.reshape(tensor, shape)

    def derivative(self, fn, leaves: dict, cotangent, compiled: bool, constants: dict,
                   mode: str) -> dict[str, np.ndarray]:
        """jax.vjp (forward mode: jax.jacfwd); compiled: jax.jit of the whole derivative, the ``constants`` (fn's
        other tensors) its arguments as the jitted class call takes its inputs."""
        differentiate = autodiff.jax_jacfwd if mode == "forward" else autodiff.jax_vjp
        return differentiate(fn, leaves, cotangent, jit=compiled, constants=constants)

    def reproducer_compile(self, callee: str) -> str:
        return f"jax.jit({callee})"

    def reproducer_gradient(self, names: list[str], expression: str, cotangent, compiled: bool,
                            constants: list[str], mode: str) -> list[str]:
        source = autodiff.jax_jacfwd_source if mode == "forward" else autodiff.jax_source
        return source(names, f"lambda {', '.join(names)}: {expression}", cotangent, jit=compiled, constants=constants)

    def reproducer_device(self, case: Case) -> str | None:
        return "jax.default_device(jax.devices('gpu')[0])" if case.device == "cuda" else None

    def version(self) -> str:
        return f"jax {_dist_version('jax')}"


class TorchRuntime:
    backend, framework, ftz = "torch", "torch", False  # torch keeps subnormals
    compiled_variant = None
    array_namespace = "torch"
    imports = ("import os", "os.environ['KERAS_BACKEND'] = 'torch'  # before keras is imported", "import keras")

    def setup(self) -> None:
        from adapters.torch_functional import disable_tf32

        disable_tf32()

    def available_devices(self) -> tuple[str, ...]:
        from adapters.torch_functional import _torch

        return ("cpu", "cuda") if _torch().cuda.is_available() else ("cpu",)

    def environment(self) -> dict:
        from adapters.torch_functional import torch_environment

        return torch_environment()

    def tensor(self, array, case: Case):
        from adapters.torch_functional import torch_tensor

        return torch_tensor(array, case.dtype, case.device)

    def device(self, case: Case):
        import keras

        return keras.device(case.device)  # else Keras moves every tensor to its default device (cuda if present)

    def to_numpy(self, value) -> np.ndarray:
        from adapters.torch_functional import torch_to_numpy

        return torch_to_numpy(value)

    def reshape(self, tensor, shape: tuple[int, ...]):
        return tensor.reshape(shape)

    def derivative(self, fn, leaves: dict, cotangent, compiled: bool, constants: dict,
                   mode: str) -> dict[str, np.ndarray]:
        """torch.autograd.grad (forward mode: torch.func.jacfwd); no compiled variant: see the module docstring."""
        differentiate = autodiff.torch_jacfwd if mode == "forward" else autodiff.torch_vjp
        return differentiate(functools.partial(fn, **constants), leaves, cotangent, self.to_numpy)

    def reproducer_device(self, case: Case) -> str | None:
        return f"keras.device({case.device!r})"

    def reproducer_gradient(self, names: list[str], expression: str, cotangent, compiled: bool,
                            constants: list[str], mode: str) -> list[str]:
        source = autodiff.torch_jacfwd_source if mode == "forward" else autodiff.torch_vjp_source
        return source(names, [f"loss = {expression}"], cotangent)

    def version(self) -> str:
        return f"torch {_dist_version('torch')}"


RUNTIMES = {r.backend: r for r in (TensorFlowRuntime, JaxRuntime, TorchRuntime)}


# -- what every Keras adapter shares ----------------------------------------------------------------------
def _plain(kwargs: dict) -> bool:
    """Arguments whose repr is their value (numbers, strings, booleans, None, tuples of them): a cache key."""
    plain = lambda v: v is None or isinstance(v, (bool, int, float, str)) or (isinstance(v, tuple) and all(map(plain, v)))
    return all(map(plain, kwargs.values()))


@dataclass(frozen=True)
class KerasLoss:
    """One canonical loss in Keras: its handles, the keywords they take, and the canonical parameters Keras
    spells otherwise or does not take. A row of ``KerasLossesAdapter.LOSSES``."""
    cls: str  # the Loss class of the losses module
    params: tuple[str, ...] = ()  # the Keras keywords the function takes (after ``renamed``)
    alias: str | None = None  # the compile string given to model.compile(loss=...); None: the canonical name
    no_alias: str | None = None  # why the loss has no compile string at all (``alias`` is then None)
    function: str | None = None  # the function attribute of the losses module; None: the canonical name
    class_params: tuple[str, ...] | None = None  # where the Loss class takes fewer keywords than the function
    required: dict = field(default_factory=dict)  # function keywords without a default: the spec default
    # canonical parameter -> (Keras keyword, conversion: "axes" a tuple of ints, "floats" a list); None is not passed
    renamed: dict = field(default_factory=dict)
    # canonical parameters Keras does not take: name -> (the value Keras always computes with, canonical default)
    fixed: dict = field(default_factory=dict)


def _named(rows: dict[str, KerasLoss]) -> dict[str, KerasLoss]:
    """The rows with the canonical name filled in where a row names no function or compile string of its own."""
    return {loss: replace(row, function=row.function or loss, alias=None if row.no_alias else row.alias or loss)
            for loss, row in rows.items()}


@dataclass(frozen=True, eq=False)
class KerasCall:
    """``Call.detail`` of a Keras call: the handle, and the arrays as Keras takes them (plain numpy)."""
    handle: str  # "class" (the Loss class called), "function" or "alias" (losses.get(compile string))
    name: str  # the Loss class or function attribute of the losses module, or the compile string
    compiled: bool  # the class call compiled as a whole by the backend's compiler (the xla/jit variant)
    y_true: np.ndarray  # the inputs as Keras takes them (CTC: targets with 0 padding, log_probs as y_pred)
    y_pred: np.ndarray
    note: str  # how the canonical inputs became (y_true, y_pred), where they are not the case's own
    sample_weight: np.ndarray | None  # canonical weights aligned with the leading axes of the per-sample losses


class KerasLossesAdapter(Adapter):
    """The Keras handles of the canonical losses, how a case becomes a call to one, and its reproducer.

    A subclass sets ``runtime`` (a runtime instance), ``namespace`` (the source text of the losses module),
    ``flavour`` and the tables below where they differ, and implements ``losses_module``."""

    variants = ("class", "function", "alias")
    gradient_modes = ("reverse", "forward")  # every backend has forward mode (see the runtimes' ``derivative``)
    flavour = "keras 3"
    namespace = "keras.losses"
    reductions = mapping.KERAS3
    LOSSES = _named({  # canonical loss -> its keras.losses handles and keywords
        "binary_crossentropy": KerasLoss("BinaryCrossentropy", ("from_logits", "label_smoothing", "axis")),
        "binary_focal_crossentropy": KerasLoss(
            "BinaryFocalCrossentropy",
            ("apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing", "axis")),
        "categorical_crossentropy": KerasLoss("CategoricalCrossentropy", ("from_logits", "label_smoothing", "axis")),
        "categorical_focal_crossentropy": KerasLoss(
            "CategoricalFocalCrossentropy", ("alpha", "gamma", "from_logits", "label_smoothing", "axis"),
            renamed={"alpha_per_class": ("alpha", "floats")}),  # a list alpha replaces the scalar
        "sparse_categorical_crossentropy": KerasLoss(
            "SparseCategoricalCrossentropy", ("from_logits", "ignore_class", "axis")),
        "categorical_generalized_cross_entropy": KerasLoss(
            "CategoricalGeneralizedCrossEntropy", ("q",), required={"q": 0.5},
            no_alias="keras.losses.get rejects 'categorical_generalized_cross_entropy' and "
                     "'CategoricalGeneralizedCrossEntropy' (not in ALL_OBJECTS_DICT of keras 3.15.1): the loss cannot "
                     "be named in compile()"),
        "mean_squared_error": KerasLoss("MeanSquaredError", alias="mse"),
        "mean_absolute_error": KerasLoss("MeanAbsoluteError", alias="mae"),
        "mean_absolute_percentage_error": KerasLoss("MeanAbsolutePercentageError", alias="mape"),
        "mean_squared_logarithmic_error": KerasLoss("MeanSquaredLogarithmicError", alias="msle"),
        "cosine_similarity": KerasLoss("CosineSimilarity", ("axis",)),
        "huber": KerasLoss("Huber", ("delta",)),
        "log_cosh": KerasLoss("LogCosh"),
        "hinge": KerasLoss("Hinge"),
        "squared_hinge": KerasLoss("SquaredHinge"),
        "categorical_hinge": KerasLoss("CategoricalHinge"),
        "kl_divergence": KerasLoss("KLDivergence", fixed={"log_input": (False, False), "log_target": (False, False)}),
        "poisson": KerasLoss("Poisson", fixed={"log_input": (False, False), "full": (False, False)}),
        # Keras CTC takes logits, blank = mask_index = 0, and returns impossible alignments as they come
        "ctc": KerasLoss("CTC", fixed={"from_logits": (True, False), "blank": (0, 0), "zero_infinity": (False, False)}),
        "dice": KerasLoss("Dice", ("axis",), renamed={"axes": ("axis", "axes")}),
        "tversky": KerasLoss("Tversky", ("alpha", "beta", "axis"), renamed={"axes": ("axis", "axes")}),
        "circle": KerasLoss("Circle", ("gamma", "margin", "remove_diagonal")),
    })
    ALIASES_FROM = ("keras", "keras")  # (the specs' alias list, the distribution whose version filters it)
    MISSING: dict = {}  # canonical loss -> why this flavour of Keras has no handle for it
    UNREDUCED = ("the Keras function handle returns unreduced per-sample losses; "
                 "reductions and sample weights belong to the Loss class")
    scce_last_axis_only: str | None = None  # why sparse_categorical_crossentropy takes only axis=-1 here, if it does
    ARGUMENTS = {"log_probs": "y_pred"}  # the Keras argument an input is passed as, where it has another name (CTC)
    runtime = TensorFlowRuntime()

    # -- hooks ---------------------------------------------------------------------------------------
    def losses_module(self):
        raise NotImplementedError

    def class_keywords(self, case: Case) -> dict:
        """Constructor arguments of the Loss class beyond the loss's own parameters and the reduction."""
        return {}

    def compiled_variant(self) -> str | None:
        """The variant name of the compiled class call, if this adapter offers one."""
        return self.runtime.compiled_variant if self.runtime.compiled_variant in self.variants else None

    # -- shared contract -------------------------------------------------------------------------------
    def setup(self) -> None:
        self.runtime.setup()

    def available_devices(self) -> tuple[str, ...]:
        return self.runtime.available_devices()

    def supports(self, case: Case) -> bool | str:
        # MISSING losses are absent from ``semantics`` (no property or relation draws are spent on them), so the
        # base would answer "does not implement" before planning; their reason comes first, as plan gives it
        return self.MISSING.get(case.loss) or super().supports(case)

    def plan(self, case: Case) -> Call:
        """The handle, its keyword arguments (the reduction spelled as Keras spells it), and the arrays as Keras
        takes them; or Unsupported. Imports nothing."""
        if case.loss in self.MISSING:
            raise Unsupported(self.MISSING[case.loss])
        row = self.LOSSES.get(case.loss)
        if row is None:
            raise Unsupported(f"{self.name} has no method for {case.loss}")
        if case.variant in ("class", self.compiled_variant()):
            handle, name = "class", row.cls  # name: the attribute of the losses module the messages cite
        elif case.variant in ("function", "alias"):
            handle, name = case.variant, row.function
        else:
            raise Unsupported(f"{self.name} has no variant {case.variant!r}")
        kwargs = case.kwargs
        if kwargs.pop("class_weight", None) is not None:
            raise Unsupported("Keras losses take no class weights (SparseCategoricalCrossentropy has no class_weight)")
        if handle == "alias" and row.alias is None:
            raise Unsupported(row.no_alias)
        for param, (keras_value, default) in row.fixed.items():
            value = kwargs.pop(param, default)
            if value != keras_value:
                raise Unsupported(f"{self.flavour} {name} takes no {param} parameter: it always computes with "
                                  f"{param}={keras_value!r}, this case has {param}={value!r}")
        for param, (keyword, kind) in row.renamed.items():
            value = kwargs.pop(param, None)
            if value is not None:
                kwargs[keyword] = tuple(int(a) for a in value) if kind == "axes" else [float(a) for a in value]
        self._check_input_packing(case)
        params = row.class_params if handle == "class" and row.class_params is not None else row.params
        extra = sorted(set(kwargs) - set(params))
        if extra:
            raise Unsupported(f"{self.flavour} {name} takes no parameter(s) {', '.join(extra)}")
        if handle == "function":
            kwargs = {**row.required, **kwargs}
        if handle == "class":
            kwargs = {**kwargs, "reduction": mapping.reduction(self.reductions, case, self.flavour),
                      **self.class_keywords(case)}
        elif case.reduction != "none" or case.sample_weight is not None:
            raise Unsupported(self.UNREDUCED)
        if self.scce_last_axis_only and case.loss == "sparse_categorical_crossentropy" and "axis" in kwargs:
            if kwargs["axis"] not in (-1, case.y_pred.ndim - 1):
                raise Unsupported(self.scce_last_axis_only)
            kwargs["axis"] = -1  # the same axis, spelled the only way this backend accepts
        y_true, y_pred, note = self._keras_inputs(case)
        weights = None if handle != "class" or case.sample_weight is None else \
            mapping.align_weights(case.sample_weight, self._per_sample_ndim(case, y_pred))
        if handle == "alias":
            name = row.alias
        target = f"{self.namespace}.get({name!r})" if handle == "alias" else f"{self.namespace}.{name}"
        compiled = handle == "class" and case.variant != "class"
        return Call(case, target, kwargs, KerasCall(handle, name, compiled, y_true, y_pred, note, weights))

    def _check_input_packing(self, case: Case) -> None:
        """Unsupported where the canonical input packing says something the Keras call cannot."""
        if case.loss == "categorical_focal_crossentropy" and "alpha_per_class" in case.kwargs \
                and case.kwargs["alpha_per_class"] is not None:
            axis = case.kwargs.get("axis", -1)
            if axis not in (-1, case.y_pred.ndim - 1):
                raise Unsupported(f"{self.flavour} broadcasts a list alpha along the last axis whatever the class axis "
                                  f"is; alpha_per_class with axis={axis} cannot be expressed")
        if case.loss == "ctc" and np.ndim(case.inputs["log_probs"]) == 3:
            lengths, frames = np.asarray(case.inputs["input_lengths"]), case.inputs["log_probs"].shape[1]
            if np.any(lengths != frames):
                raise Unsupported(f"{self.flavour} CTC takes every input length as T = y_pred.shape[1] = {frames} "
                                  f"(no input_length argument); this case has input lengths {lengths.tolist()}")

    @staticmethod
    def _keras_inputs(case: Case) -> tuple[np.ndarray, np.ndarray, str]:
        """(y_true, y_pred) as Keras takes them, and a note where they are not the case's own: CTC's targets with
        -1 padding as 0 (Keras' mask_index: label_length counts the non-zero entries), its log_probs (logits) as
        y_pred."""
        if case.loss == "ctc":
            targets = np.asarray(case.inputs["targets"])
            return (np.where(targets < 0, 0, targets), case.inputs["log_probs"],
                    "Keras CTC: y_true = targets with their -1 padding as 0 (mask_index), y_pred = the logits")
        return case.y_true, case.y_pred, ""

    @staticmethod
    def _per_sample_ndim(case: Case, y_pred: np.ndarray) -> int:
        """Rank of the per-sample losses, as the loss's spec says (specs.Spec.per_sample_shape)."""
        spec, fixed = specs.resolve(case.loss)
        return len(spec.per_sample_shape(np.shape(y_pred), {**case.kwargs, **fixed}))

    def run(self, call: Call) -> np.ndarray:
        with self.runtime.device(call.case):
            value = self._invoke(call, self._callee(call, call.detail.compiled), **self._tensors(call))
        return self.runtime.to_numpy(value)

    def gradient(self, call: Call, wrt: tuple[str, ...], cotangent, mode: str = "reverse") -> dict[str, np.ndarray]:
        """The backend's autodiff of ``run``'s call in ``mode`` (the xla/jit variant: the whole derivative
        compiled). Each differentiated input is the canonical array; the sample weights are aligned inside the
        differentiated function, so their gradient comes back in the canonical shape."""
        case, detail = call.case, call.detail
        arguments = self._arguments(call, wrt)
        with self.runtime.device(case):
            tensors = self._tensors(call)
            constants = {k: tensors[k] for k in self._constants(call, arguments.values())}
            callee = self._callee(call, compiled=False)  # compiled, the derivative compiles the call with it
            leaves = {name: self.runtime.tensor(autodiff.wrt_array(case, name), case) for name in wrt}

            def loss(**given):  # the leaves by input name, the constants by Keras argument
                given = {arguments.get(n, n): t for n, t in given.items()}
                if "sample_weight" in arguments:  # canonical weights, aligned here
                    given["sample_weight"] = self.runtime.reshape(given["sample_weight"], detail.sample_weight.shape)
                return self._invoke(call, callee, **given)

            return self.runtime.derivative(loss, leaves, cotangent, detail.compiled, constants, mode)

    def _arguments(self, call: Call, wrt: tuple[str, ...]) -> dict[str, str]:
        """{input name: the Keras argument it is passed as} for the differentiated inputs, or Unsupported for one
        that is not a float array passed as it is."""
        arguments = {}
        for name in wrt:
            autodiff.wrt_array(call.case, name)  # Unsupported for an unknown or integer input, or absent weights
            arguments[name] = self.ARGUMENTS.get(name, name)
            if arguments[name] not in ("y_true", "y_pred", "sample_weight"):
                raise Unsupported(f"{self.flavour} {call.detail.name} is not passed {name} as it is "
                                  f"({call.detail.note or 'no such argument'}): not differentiable")
        return arguments

    @staticmethod
    def _constants(call: Call, differentiated) -> list[str]:
        """The Keras arguments the call is given that are not differentiated (the jit variant's other arguments)."""
        given = ("y_true", "y_pred") + (("sample_weight",) if call.detail.sample_weight is not None else ())
        return [name for name in given if name not in differentiated]

    def _tensors(self, call: Call) -> dict:
        """The backend's tensors ``run`` passes: y_true, y_pred and the aligned sample weights (None without)."""
        case, detail = call.case, call.detail
        weights = None if detail.sample_weight is None else self.runtime.tensor(detail.sample_weight, case)
        return {"y_true": self.runtime.tensor(detail.y_true, case), "y_pred": self.runtime.tensor(detail.y_pred, case),
                "sample_weight": weights}

    def _callee(self, call: Call, compiled: bool):
        """The Loss instance (compiled by the backend's compiler if ``compiled``), the function or the alias."""
        losses, detail = self.losses_module(), call.detail
        if detail.handle == "class":
            if compiled and _plain(call.kwargs):
                # one compiled call per loss and arguments: the compiler's own cache, keyed by the function, then
                # serves every draw of the same shapes again (the relations, the other reductions) without a retrace
                cache = self.__dict__.setdefault("_compiled", {})
                key = (detail.name, repr(sorted(call.kwargs.items())))
                if key not in cache:
                    cache[key] = self.runtime.compile(getattr(losses, detail.name)(**call.kwargs))
                return cache[key]
            loss = getattr(losses, detail.name)(**call.kwargs)
            return self.runtime.compile(loss) if compiled else loss
        return getattr(losses, detail.name) if detail.handle == "function" else losses.get(detail.name)

    @staticmethod
    def _invoke(call: Call, callee, y_true, y_pred, sample_weight=None):
        """The call of the handle: the class with its sample weights if any, the others with their keywords."""
        if call.detail.handle != "class":
            return callee(y_true, y_pred, **call.kwargs)
        if sample_weight is None:
            return callee(y_true, y_pred)
        return callee(y_true, y_pred, sample_weight=sample_weight)

    def source(self, call: Call) -> str:
        """Framework code for the call's handle (Loss class, compiled class call, function or compile alias), as
        ``run`` calls it."""
        case, fw = call.case, self.runtime.framework
        body, text = self._source_lines(call)
        body = reproduce.device_block(body + [f"loss = {text}"], self.runtime.reproducer_device(case))
        return reproduce.script(fw, case, body + [reproduce.printed(fw, "loss")], extra_imports=self.runtime.imports)

    def gradient_source(self, call: Call, wrt: tuple[str, ...], cotangent, mode: str = "reverse") -> str:
        """``source``'s call differentiated by the backend's autodiff, as ``gradient`` does; the leaves are named as
        Keras' arguments (CTC's log_probs is y_pred)."""
        names = list(self._arguments(call, wrt).values())
        body, text = self._source_lines(call, names)
        body += self.runtime.reproducer_gradient(names, text, cotangent, call.detail.compiled,
                                                 self._constants(call, names), mode)
        body = reproduce.device_block(body, self.runtime.reproducer_device(call.case))
        return reproduce.script(self.runtime.framework, call.case, body, extra_imports=self.runtime.imports)

    def _source_lines(self, call: Call, differentiated: list[str] | None = None) -> tuple[list[str], str]:
        """The lines making the inputs (and the Loss instance) as ``run`` does, and the text of the call.

        ``differentiated``: the Keras arguments a gradient reproducer differentiates. The call is then left
        uncompiled (the gradient computation is compiled as a whole) and differentiated sample weights are written
        in their canonical shape, aligned inside the call."""
        case, detail = call.case, call.detail
        fw = self.runtime.framework
        body = [reproduce.comment(detail.note)] if detail.note else []
        body += [reproduce.array(fw, detail.y_true, "y_true", device=case.device),
                 reproduce.array(fw, detail.y_pred, "y_pred", device=case.device)]
        kwargs = {k: reproduce.Source(repr(v)) if isinstance(v, tuple) else v for k, v in call.kwargs.items()}
        if detail.handle != "class":
            return body, f"{call.target}({reproduce.call_args(['y_true', 'y_pred'], kwargs)})"
        body.append(f"loss_fn = {call.target}({reproduce.call_args(keywords=kwargs)})")
        callee = self.runtime.reproducer_compile("loss_fn") if detail.compiled and differentiated is None else "loss_fn"
        if detail.sample_weight is None:
            return body, f"{callee}(y_true, y_pred)"
        if "sample_weight" in (differentiated or ()):
            body += [reproduce.comment("canonical sample weights, aligned with the leading axes of the losses in the "
                                       "call"),
                     reproduce.array(fw, case.sample_weight, "sample_weight", device=case.device)]
            weights = f"{self.runtime.array_namespace}.reshape(sample_weight, {tuple(detail.sample_weight.shape)})"
        else:
            body += [reproduce.comment("canonical sample weights align with the leading axes of the losses"),
                     reproduce.array(fw, detail.sample_weight, "sample_weight", device=case.device)]
            weights = "sample_weight"
        return body, f"{callee}(y_true, y_pred, sample_weight={weights})"

    def known_aliases(self) -> dict[str, list[str]]:
        """Every name the specs give each loss in this Keras, at the installed version (specs/<loss>.yaml ``aliases``)."""
        framework, distribution = self.ALIASES_FROM
        version = _dist_version(distribution)
        version = None if version == "not installed" else version
        return {loss: specs.all_specs()[loss].aliases(framework, version) for loss in self.LOSSES}

    def handle_identities(self) -> list[tuple[str, str, bool]]:
        """(alias, qualified name of what the alias reaches, whether that is the canonical handle): an attribute of
        the losses module, else what losses.get(alias) returns; the canonical function itself, or the Loss class
        (a class name given to losses.get comes back as a fresh instance of it)."""
        losses = self.losses_module()
        rows = []
        for loss, aliases in self.known_aliases().items():
            canonical, cls = getattr(losses, self.LOSSES[loss].function), getattr(losses, self.LOSSES[loss].cls)
            for alias in aliases:
                got = getattr(losses, alias, None) or losses.get(alias)
                kind = got if inspect.isfunction(got) or inspect.isclass(got) else type(got)
                same = got is canonical or got is cls or (not inspect.isfunction(got) and isinstance(got, cls))
                rows.append((alias, f"{kind.__module__}.{kind.__qualname__}", same))
        return rows


# -- Keras 3 ------------------------------------------------------------------------------------------------
_NAMES = {"tensorflow": "tf", "jax": "keras-jax", "torch": "keras-torch"}


class Keras3Adapter(KerasLossesAdapter):
    """Keras 3 on the backend named by ``KERAS_BACKEND`` (default tensorflow), read when the adapter is made."""

    library = "keras"
    devices = ("cpu", "cuda")
    semantics = {}  # per instance, from the backend

    def __init__(self, backend: str | None = None):
        backend = backend or os.environ.get("KERAS_BACKEND") or "tensorflow"
        if backend not in RUNTIMES:
            raise ValueError(f"Keras backend {backend!r} is not one lossconf's Keras adapter runs; "
                             f"known: {', '.join(RUNTIMES)}")
        self.backend = backend
        self.runtime = RUNTIMES[backend]()
        self.name = _NAMES[backend]
        ftz = "+ftz" if self.runtime.ftz else ""
        backend_semantics = self.BACKEND_SEMANTICS.get(backend, {})
        self.semantics = {loss: backend_semantics.get(loss, "keras") + ftz for loss in self.LOSSES}
        compiled = (self.runtime.compiled_variant,) if self.runtime.compiled_variant else ()
        self.variants = ("class", "function", "alias") + compiled
        if backend == "tensorflow":
            self.library, self.namespace = "tensorflow-cpu", "tf.keras.losses"
            self.LOSSES = {loss: replace(row, function=self.TF_FUNCTION.get(loss, row.function))
                           for loss, row in self.LOSSES.items()}
        if backend in self._SCCE_LAST_AXIS_ONLY:
            self.scce_last_axis_only = (f"keras sparse_categorical_crossentropy on the {backend} backend "
                                        f"{self._SCCE_LAST_AXIS_ONLY[backend]}")

    # the specs' semantics per backend where it is not "keras" (names of specs/<loss>.yaml semantics entries)
    BACKEND_SEMANTICS = {
        "tensorflow": {
            # clips then renormalises (sparse softmax of log p); the other backends renormalise first
            "sparse_categorical_crossentropy": "keras_tf",
            # ops.sigmoid attaches _keras_logits, so the from_logits BCE factor is exact (not clipped)
            "binary_focal_crossentropy": "keras_tf",
        },
        "jax": {"ctc": "keras_jax"},  # optax's forward recursion, log 0 = -1e5, computed in float64 under x64
        "torch": {"ctc": "keras_torch"},  # F.ctc_loss, float64 kept (the TF backend computes float64 in float32)
    }
    TF_FUNCTION = {  # tf.keras.losses (keras._tf_keras) spells these functions by their short names only
        "mean_squared_error": "mse",
        "mean_absolute_error": "mae",
        "mean_absolute_percentage_error": "mape",
        "mean_squared_logarithmic_error": "msle",
        "kl_divergence": "kld",
        "log_cosh": "logcosh",
    }

    _SCCE_LAST_AXIS_ONLY = {  # backends whose sparse_categorical_crossentropy takes the classes on the last axis only
        "tensorflow": "supports axis=-1 only (it raises 'Only axis=-1 is currently supported')",
        "jax": "supports axis=-1 only (its shape check compares the labels with output.shape[:-1] and raises "
               "for any other axis)",
    }

    def version(self) -> str:
        keras = f"keras {_dist_version('keras')}"
        # expectations' version ranges read the first number: TensorFlow's for tf (as before), Keras' for the others
        return f"{self.runtime.version()}, {keras}" if self.backend == "tensorflow" else f"{keras}, {self.runtime.version()}"

    def losses_module(self):
        if self.backend == "tensorflow":
            from adapters.tf_runtime import tf_module

            return tf_module().keras.losses
        import keras

        return keras.losses

    def _keras(self):
        import keras

        return keras

    def setup(self) -> None:
        self.runtime.setup()  # first: JAX's x64 must be on before Keras makes an array
        os.environ.setdefault("KERAS_BACKEND", self.backend)
        found = self._keras().backend.backend()
        if found != self.backend:
            raise RuntimeError(f"Keras in this process already runs the {found} backend; {self.name} needs "
                               f"KERAS_BACKEND={self.backend} (one backend per process: use --isolation=process)")

    def environment(self) -> dict:
        keras = self._keras()
        return {**self.runtime.environment(), "keras": _dist_version("keras"), "keras_backend": keras.backend.backend(),
                "epsilon": keras.backend.epsilon(), "floatx": keras.backend.floatx(),
                "dtype_policy": "Loss(dtype=case dtype): computed in the case's dtype",
                **({"compiled_variant": f"{self.compiled_variant()}: the Loss class call compiled by "
                                        + self.runtime.reproducer_compile("loss_fn")} if self.compiled_variant() else {})}

    def class_keywords(self, case: Case) -> dict:
        return {"dtype": case.dtype}
