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

Every canonical loss with a Keras semantics in its spec is mapped by data, not code: ``CLASS`` / ``FUNCTION`` /
``ALIAS`` names the compile string of the alias variant (every other name comes from the spec's ``aliases``), ``PARAMS`` / ``CLASS_PARAMS`` the keywords they take,
``RENAMED`` the canonical parameters Keras spells otherwise (Dice/Tversky ``axes`` -> ``axis``, categorical focal
``alpha_per_class`` -> a list ``alpha``), ``FIXED`` those Keras does not take at all (KL ``log_input``/``log_target``,
Poisson ``log_input``/``full``, CTC ``from_logits``/``blank``/``zero_infinity``: a non-default value is
Unsupported, with the reason), ``BACKEND_SEMANTICS`` the per-backend semantics names. Canonical CTC targets
``[T_b, labels..., -1 padding]`` become Keras' ``[labels..., 0 padding]`` (0 = mask_index); Keras takes every input
length as T, so other lengths are Unsupported. Sample weights align with the per-sample losses: (B,) for CTC, the
axes left by Dice/Tversky ``axes`` (none: a scalar), one axis fewer than y_pred otherwise.

``KerasLossesAdapter`` is the part Keras 2 (``adapters/tf_keras.py``) shares: the handle tables, how a case
becomes a call, the handle identities, and the reproducer. The backend specifics (tensors, devices,
compilation, environment, reproducer spelling) live in small runtime classes, shared with the plain
TF, JAX and torch adapters through their helpers.
"""
from __future__ import annotations

import importlib.metadata
import inspect
import os

import numpy as np

import specs
from adapters import mapping, reproduce
from adapters.base import Adapter, Unsupported
from core.case import Case


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


# -- backend runtimes: how one framework makes tensors, places and compiles a call, and reports itself --------
class TensorFlowRuntime:
    backend, framework, ftz = "tensorflow", "tf", True  # Eigen's CPU kernels run with FTZ/DAZ set
    compiled_variant = "xla"

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

    def reproducer_compile(self, callee: str) -> str:
        return f"tf.function({callee}, jit_compile=True)"

    def reproducer_device(self, case: Case) -> str | None:
        return "tf.device('/GPU:0')" if case.device == "cuda" else None

    def version(self) -> str:
        return f"tensorflow {_dist_version('tensorflow-cpu')}"


class JaxRuntime:
    backend, framework, ftz = "jax", "jax", True  # XLA's CPU code flushes subnormals (measured in environment())
    compiled_variant = "jit"
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

    def reproducer_compile(self, callee: str) -> str:
        return f"jax.jit({callee})"

    def reproducer_device(self, case: Case) -> str | None:
        return "jax.default_device(jax.devices('gpu')[0])" if case.device == "cuda" else None

    def version(self) -> str:
        return f"jax {_dist_version('jax')}"


class TorchRuntime:
    backend, framework, ftz = "torch", "torch", False  # torch keeps subnormals
    compiled_variant = None
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

    def reproducer_device(self, case: Case) -> str | None:
        return f"keras.device({case.device!r})"

    def version(self) -> str:
        return f"torch {_dist_version('torch')}"


RUNTIMES = {r.backend: r for r in (TensorFlowRuntime, JaxRuntime, TorchRuntime)}


# -- what every Keras adapter shares ----------------------------------------------------------------------
class KerasLossesAdapter(Adapter):
    """The Keras handles of the canonical losses, how a case becomes a call to one, and its reproducer.

    A subclass sets ``runtime`` (a runtime instance), ``namespace`` (the source text of the losses module),
    ``flavour`` and the tables below where they differ, and implements ``losses_module``."""

    variants = ("class", "function", "alias")
    flavour = "keras 3"
    namespace = "keras.losses"
    reductions = mapping.KERAS3
    CLASS = {  # the keras.losses Loss class of each canonical loss
        "binary_crossentropy": "BinaryCrossentropy",
        "binary_focal_crossentropy": "BinaryFocalCrossentropy",
        "categorical_crossentropy": "CategoricalCrossentropy",
        "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
        "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
        "categorical_generalized_cross_entropy": "CategoricalGeneralizedCrossEntropy",
        "mean_squared_error": "MeanSquaredError",
        "mean_absolute_error": "MeanAbsoluteError",
        "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
        "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
        "cosine_similarity": "CosineSimilarity",
        "huber": "Huber",
        "log_cosh": "LogCosh",
        "hinge": "Hinge",
        "squared_hinge": "SquaredHinge",
        "categorical_hinge": "CategoricalHinge",
        "kl_divergence": "KLDivergence",
        "poisson": "Poisson",
        "ctc": "CTC",
        "dice": "Dice",
        "tversky": "Tversky",
        "circle": "Circle",
    }
    FUNCTION = {loss: loss for loss in CLASS}  # attribute of the losses module (keras.losses uses the canonical names)
    ALIAS = {  # what a user writes in model.compile(loss=...); a loss absent here has no string losses.get resolves
        **{loss: loss for loss in CLASS if loss != "categorical_generalized_cross_entropy"},
        "mean_squared_error": "mse",
        "mean_absolute_error": "mae",
        "mean_absolute_percentage_error": "mape",
        "mean_squared_logarithmic_error": "msle",
    }
    NO_ALIAS = {  # why a loss has no compile string
        "categorical_generalized_cross_entropy": "keras.losses.get rejects 'categorical_generalized_cross_entropy' and "
                                                 "'CategoricalGeneralizedCrossEntropy' (not in ALL_OBJECTS_DICT of keras "
                                                 "3.15.1): the loss cannot be named in compile()",
    }
    ALIASES_FROM = ("keras", "keras")  # (the specs' alias list, the distribution whose version filters it)
    PARAMS = {  # the Keras keywords each loss takes (after RENAMED), function handle
        "binary_crossentropy": ("from_logits", "label_smoothing", "axis"),
        "binary_focal_crossentropy": ("apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing", "axis"),
        "categorical_crossentropy": ("from_logits", "label_smoothing", "axis"),
        "categorical_focal_crossentropy": ("alpha", "gamma", "from_logits", "label_smoothing", "axis"),
        "sparse_categorical_crossentropy": ("from_logits", "ignore_class", "axis"),
        "categorical_generalized_cross_entropy": ("q",),
        "cosine_similarity": ("axis",),
        "huber": ("delta",),
        "dice": ("axis",),
        "tversky": ("alpha", "beta", "axis"),
        "circle": ("gamma", "margin", "remove_diagonal"),
        **{loss: () for loss in ("mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                                 "mean_squared_logarithmic_error", "log_cosh", "hinge", "squared_hinge",
                                 "categorical_hinge", "kl_divergence", "poisson", "ctc")},
    }
    CLASS_PARAMS: dict = {}  # where the Loss class takes fewer parameters than the function
    REQUIRED = {"categorical_generalized_cross_entropy": {"q": 0.5}}  # function keywords without a default: the spec default
    RENAMED = {  # canonical parameter -> (Keras keyword, conversion); a None value (the default) is not passed
        "dice": {"axes": ("axis", "axes")},
        "tversky": {"axes": ("axis", "axes")},
        "categorical_focal_crossentropy": {"alpha_per_class": ("alpha", "floats")},  # a list alpha replaces the scalar
    }
    FIXED = {  # canonical parameters Keras does not take: the value it always computes with (default when absent)
        "kl_divergence": {"log_input": (False, False), "log_target": (False, False)},
        "poisson": {"log_input": (False, False), "full": (False, False)},
        # Keras CTC takes logits, blank = mask_index = 0, and returns impossible alignments as they come
        "ctc": {"from_logits": (True, False), "blank": (0, 0), "zero_infinity": (False, False)},
    }  # name: (Keras' value, canonical default)
    MISSING: dict = {}  # canonical loss -> why this flavour of Keras has no handle for it
    UNREDUCED = ("the Keras function handle returns unreduced per-sample losses; "
                 "reductions and sample weights belong to the Loss class")
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

    def _is_class_call(self, case: Case) -> bool:
        return case.variant == "class" or (case.variant is not None and case.variant == self.compiled_variant())

    def _handle(self, case: Case) -> str:
        return self.CLASS[case.loss] if self._is_class_call(case) else self.FUNCTION[case.loss]

    def _plan(self, case: Case) -> tuple[dict, object]:
        """(keyword arguments, reduction) for the case, or Unsupported; imports nothing."""
        if case.loss in self.MISSING:
            raise Unsupported(self.MISSING[case.loss])
        kwargs = case.kwargs
        if kwargs.get("class_weight") is not None:
            raise Unsupported("Keras losses take no class weights (SparseCategoricalCrossentropy has no class_weight)")
        kwargs.pop("class_weight", None)
        if case.variant == "alias" and case.loss not in self.ALIAS:
            raise Unsupported(self.NO_ALIAS.get(case.loss, f"{self.flavour} has no compile string for {case.loss}"))
        for name, (keras_value, default) in self.FIXED.get(case.loss, {}).items():
            value = kwargs.pop(name, default)
            if value != keras_value:
                raise Unsupported(f"{self.flavour} {self._handle(case)} takes no {name} parameter: it always computes "
                                  f"with {name}={keras_value!r}, this case has {name}={value!r}")
        for name, (keyword, kind) in self.RENAMED.get(case.loss, {}).items():
            value = kwargs.pop(name, None)
            if value is not None:
                kwargs[keyword] = tuple(int(a) for a in value) if kind == "axes" else [float(a) for a in value]
        self._check_input_packing(case)
        is_class = self._is_class_call(case)
        params = self.CLASS_PARAMS.get(case.loss, self.PARAMS[case.loss]) if is_class else self.PARAMS[case.loss]
        extra = sorted(set(kwargs) - set(params))
        if extra:
            raise Unsupported(f"{self.flavour} {self._handle(case)} takes no parameter(s) {', '.join(extra)}")
        if case.variant == "function":
            kwargs = {**self.REQUIRED.get(case.loss, {}), **kwargs}
        if is_class:
            return kwargs, mapping.reduction(self.reductions, case, self.flavour)
        if case.reduction != "none" or case.sample_weight is not None:
            raise Unsupported(self.UNREDUCED)
        return kwargs, None

    def _check_input_packing(self, case: Case) -> None:
        """Unsupported where the canonical input packing says something the Keras call cannot."""
        if case.loss == "categorical_focal_crossentropy" and "alpha_per_class" in case.kwargs \
                and case.kwargs["alpha_per_class"] is not None:
            axis = case.kwargs.get("axis", -1)
            if axis not in (-1, case.y_pred.ndim - 1):
                raise Unsupported(f"{self.flavour} broadcasts a list alpha along the last axis whatever the class axis "
                                  f"is; alpha_per_class with axis={axis} cannot be expressed")
        if case.loss == "ctc" and case.y_true.ndim == 2 and case.y_pred.ndim == 3 and case.y_true.shape[1] >= 1:
            lengths = case.y_true[:, 0]
            if np.any(lengths != case.y_pred.shape[1]):
                raise Unsupported(f"{self.flavour} CTC takes every input length as T = y_pred.shape[1] = "
                                  f"{case.y_pred.shape[1]} (no input_length argument); this case has input lengths "
                                  f"{lengths.tolist()}")

    def _y_true(self, case: Case):
        """The targets as Keras takes them: CTC labels without the canonical length column, -1 padding as 0
        (Keras' mask_index: label_length counts the non-zero entries)."""
        if case.loss == "ctc" and case.y_true.ndim == 2:
            labels = case.y_true[:, 1:]
            return np.where(labels < 0, 0, labels)
        return case.y_true

    def supports(self, case: Case) -> bool | str:
        return self.MISSING.get(case.loss) or super().supports(case)

    def check(self, case: Case) -> None:
        self._plan(case)

    def _per_sample_ndim(self, case: Case) -> int:
        """Rank of the per-sample losses: one axis reduced, except CTC and Circle (one loss per sequence or anchor)
        and Dice/Tversky (the ``axes`` summed; none given: every axis, one scalar for the batch)."""
        if case.loss in ("ctc", "circle"):
            return 1
        if case.loss in ("dice", "tversky"):
            axes = case.kwargs.get("axes")
            return 0 if axes is None else case.y_pred.ndim - len(axes)
        return case.y_pred.ndim - 1

    def _weights(self, case: Case):
        """Canonical (B,) weights aligned with the leading axes of the per-sample losses."""
        return mapping.align_weights(case.sample_weight, self._per_sample_ndim(case))

    def _run(self, case: Case):
        kwargs, reduction = self._plan(case)
        losses = self.losses_module()
        with self.runtime.device(case):
            y_true = self.runtime.tensor(self._y_true(case), case)
            y_pred = self.runtime.tensor(case.y_pred, case)
            if self._is_class_call(case):
                loss = getattr(losses, self.CLASS[case.loss])(**kwargs, reduction=reduction, **self.class_keywords(case))
                call = loss if case.variant == "class" else self.runtime.compile(loss)
                if case.sample_weight is None:
                    return call(y_true, y_pred)
                return call(y_true, y_pred, sample_weight=self.runtime.tensor(self._weights(case), case))
            fn = getattr(losses, self.FUNCTION[case.loss]) if case.variant == "function" else losses.get(self.ALIAS[case.loss])
            return fn(y_true, y_pred, **kwargs)

    def compute(self, case: Case) -> np.ndarray:
        if case.loss not in self.CLASS:
            raise Unsupported(f"{self.name} has no method for {case.loss}")
        return self.to_numpy(self._run(case), case)

    def to_numpy(self, value, case: Case) -> np.ndarray:
        return self.runtime.to_numpy(value)

    def known_aliases(self) -> dict[str, list[str]]:
        """Every name the specs give each loss in this Keras, at the installed version (specs/<loss>.yaml ``aliases``)."""
        framework, distribution = self.ALIASES_FROM
        version = _dist_version(distribution)
        version = None if version == "not installed" else version
        return {loss: specs.all_specs()[loss].aliases(framework, version) for loss in self.CLASS}

    def handle_identities(self) -> list[tuple[str, str, bool]]:
        """(alias, qualified name of what the alias reaches, whether that is the canonical handle): an attribute of
        the losses module, else what losses.get(alias) returns; the canonical function itself, or the Loss class
        (a class name given to losses.get comes back as a fresh instance of it)."""
        losses = self.losses_module()
        rows = []
        for loss, aliases in self.known_aliases().items():
            canonical, cls = getattr(losses, self.FUNCTION[loss]), getattr(losses, self.CLASS[loss])
            for alias in aliases:
                got = getattr(losses, alias, None) or losses.get(alias)
                kind = got if inspect.isfunction(got) or inspect.isclass(got) else type(got)
                same = got is canonical or got is cls or (not inspect.isfunction(got) and isinstance(got, cls))
                rows.append((alias, f"{kind.__module__}.{kind.__qualname__}", same))
        return rows

    def reproducer(self, case: Case) -> str:
        """Framework code for the case's handle (Loss class, compiled class call, function or compile alias),
        as ``_run`` calls it."""
        try:
            kwargs, reduction = self._plan(case)
        except Unsupported:
            return super().reproducer(case)
        fw, ns = self.runtime.framework, self.namespace
        y_true = self._y_true(case)
        body = ([reproduce.comment("Keras CTC labels: the canonical length column dropped, -1 padding as 0 (mask_index)")]
                if y_true is not case.y_true else [])
        body += [reproduce.array(fw, y_true, "y_true", device=case.device),
                 reproduce.array(fw, case.y_pred, "y_pred", device=case.device)]
        kwargs = {k: reproduce.Source(repr(v)) if isinstance(v, tuple) else v for k, v in kwargs.items()}
        if self._is_class_call(case):
            make = reproduce.call_args(keywords={**kwargs, "reduction": reduction, **self.class_keywords(case)})
            body.append(f"loss_fn = {ns}.{self.CLASS[case.loss]}({make})")
            callee = "loss_fn" if case.variant == "class" else self.runtime.reproducer_compile("loss_fn")
            call = f"{callee}(y_true, y_pred)"
            if case.sample_weight is not None:
                body += [reproduce.comment("canonical sample weights align with the leading axes of the losses"),
                         reproduce.array(fw, self._weights(case), "sample_weight", device=case.device)]
                call = f"{callee}(y_true, y_pred, sample_weight=sample_weight)"
        else:
            fn = f"{ns}.{self.FUNCTION[case.loss]}" if case.variant == "function" else f"{ns}.get({self.ALIAS[case.loss]!r})"
            call = f"{fn}({reproduce.call_args(['y_true', 'y_pred'], kwargs)})"
        body = reproduce.device_block(body + [f"loss = {call}"], self.runtime.reproducer_device(case))
        return reproduce.script(fw, case, body + [reproduce.printed(fw, "loss")], extra_imports=self.runtime.imports)


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
        self.semantics = {loss: backend_semantics.get(loss, "keras") + ftz for loss in self.CLASS}
        compiled = (self.runtime.compiled_variant,) if self.runtime.compiled_variant else ()
        self.variants = ("class", "function", "alias") + compiled
        if backend == "tensorflow":
            self.library, self.namespace = "tensorflow-cpu", "tf.keras.losses"
            self.FUNCTION = {**KerasLossesAdapter.FUNCTION, **self.TF_FUNCTION}

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

    _SCCE_LAST_AXIS_ONLY = {  # backends whose sparse_categorical_crossentropy takes the classes on the last axis only
        "tensorflow": "supports axis=-1 only (it raises 'Only axis=-1 is currently supported')",
        "jax": "supports axis=-1 only (its shape check compares the labels with output.shape[:-1] and raises "
               "for any other axis)",
    }

    def _plan(self, case: Case) -> tuple[dict, object]:
        kwargs, reduction = super()._plan(case)
        limit = self._SCCE_LAST_AXIS_ONLY.get(self.backend)
        if limit and case.loss == "sparse_categorical_crossentropy" and "axis" in kwargs:
            if kwargs["axis"] not in (-1, case.y_pred.ndim - 1):
                raise Unsupported(f"keras sparse_categorical_crossentropy on the {self.backend} backend {limit}")
            kwargs["axis"] = -1  # the same axis, spelled the only way these backends accept
        return kwargs, reduction
