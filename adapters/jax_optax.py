"""JAX adapter: the canonical losses through optax, reduced with jax.numpy (semantics ``optax+ftz``).

    binary_crossentropy              optax.sigmoid_binary_cross_entropy(logits, labels)            elementwise
    categorical_crossentropy         optax.softmax_cross_entropy(logits, labels, axis)             per row
                                     (label smoothing: optax.smooth_labels(labels, alpha, axis))
    sparse_categorical_crossentropy  optax.softmax_cross_entropy_with_integer_labels(logits, labels, axis)
    mean_squared_error               optax.squared_error(predictions, targets)                     elementwise

Conventions worth knowing (see /work/shared/reference/semantics.md section 5):

* optax has no reductions, weights or masks: an optax user reduces with jax.numpy, and so does this
  adapter, with nothing but those building blocks (``mapping.JAX_NUMPY``): ``none`` = ``l * w``,
  ``sum`` = ``jnp.sum(l * w)``, ``sum_over_batch_size`` = ``jnp.mean(l * w)``, ``mean_with_sample_weight`` =
  ``jnp.average(l, weights=w)`` (sum(l w) / sum(w)). Sample weights are therefore supported by a jnp
  multiply (what the optax docs tell users to write), aligned with the leading axes (``mapping.align_weights``)
  and broadcast by jnp. ``sum_by_nonzero_weights``, class weights and ignored classes have no optax or
  jnp building block and are reported unsupported.
* The cross-entropies take logits only (optax has no cross-entropy from probabilities); binary
  cross-entropy has no label smoothing in optax (``smooth_labels`` mixes with 1/K over the class axis, not
  with 1/2) and is elementwise, so it refuses an ``axis`` other than -1 rather than dropping it.
* float64 needs ``jax_enable_x64``, set in ``setup`` (so in the worker process before any array exists)
  and recorded in ``environment()``; without it JAX would silently compute float64 cases in float32.
* XLA on CPU flushes subnormal results to zero like TensorFlow (``flush_to_zero`` in ``environment()`` is
  measured): hence ``+ftz``.
* Variants: ``default`` runs the expression op by op (each jnp/optax op is dispatched eagerly), ``jit``
  compiles the whole expression, reduction included, with ``jax.jit`` (XLA may fuse and reorder).

The computation is one expression over ``y_true``, ``y_pred`` and ``sample_weight`` (``_expression``); the
adapter evaluates that very text and the reproducer prints it, so the two cannot drift apart.
``jax_module``, ``jax_tensor``, ``jax_device`` and ``jax_environment`` are shared with the Keras adapter on
the JAX backend.
"""
from __future__ import annotations

import functools
import os

import numpy as np

from adapters import mapping, reproduce
from adapters.base import Adapter, Unsupported
from conformance.case import Case


@functools.lru_cache(maxsize=None)
def jax_module():
    """jax, imported once, with x64 enabled before any array is made (float64 cases stay float64)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def jax_gpu_available() -> bool:
    try:
        return bool(jax_module().devices("gpu"))
    except RuntimeError:  # no GPU backend in this jaxlib
        return False


def jax_device(case: Case):
    """A scope placing new arrays and computations on the case's device."""
    jax = jax_module()
    return jax.default_device(jax.devices("gpu" if case.device == "cuda" else "cpu")[0])


def jax_tensor(array):
    """A numpy array as a jax array of the same dtype (bfloat16 is ml_dtypes' own, int64 kept under x64)."""
    return jax_module().numpy.asarray(array)


def jax_environment() -> dict:
    jax = jax_module()
    jnp = jax.numpy
    tiny = jnp.asarray(np.float32(2e-38)) - jnp.asarray(np.float32(1.9e-38))  # a subnormal difference
    return {
        "jax": jax.__version__,
        "jaxlib": _version("jaxlib"),
        "jax_enable_x64": bool(jax.config.jax_enable_x64),
        "default_backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        # measured, not assumed: XLA's CPU code runs with FTZ/DAZ set
        "flush_to_zero": bool(tiny == 0),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", "unset"),
        "cpu_count": os.cpu_count(),
    }


def _version(name: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


_LOGITS_ONLY = "optax {} takes logits only; optax has no cross-entropy from probabilities"
_FUNCTION = {
    "binary_crossentropy": "sigmoid_binary_cross_entropy",
    "categorical_crossentropy": "softmax_cross_entropy",
    "sparse_categorical_crossentropy": "softmax_cross_entropy_with_integer_labels",
    "mean_squared_error": "squared_error",
}
_PARAMS = {
    "binary_crossentropy": ("from_logits", "label_smoothing", "axis"),
    "categorical_crossentropy": ("from_logits", "label_smoothing", "axis"),
    "sparse_categorical_crossentropy": ("from_logits", "axis", "ignore_class", "class_weight"),
    "mean_squared_error": (),
}


class JaxOptaxAdapter(Adapter):
    name = "jax"
    library = "optax"
    semantics = {loss: "optax+ftz" for loss in _FUNCTION}
    devices = ("cpu", "cuda")
    variants = ("default", "jit")

    def version(self) -> str:
        return f"optax {_version('optax')}, jax {_version('jax')}"

    def setup(self) -> None:
        jax_module()

    def available_devices(self) -> tuple[str, ...]:
        return ("cpu", "cuda") if jax_gpu_available() else ("cpu",)

    def environment(self) -> dict:
        return {**jax_environment(), "optax": _version("optax"),
                "dtype_policy": "computed in the input dtype (x64 on); jnp.sum/mean of half precision accumulate in float32"}

    # -- the contract ----------------------------------------------------------------------------
    def _expression(self, case: Case) -> tuple[str, dict]:
        """(expression over y_true, y_pred, sample_weight; the numpy inputs it takes), or Unsupported.

        Imports nothing: ``supports`` uses it too."""
        k, fn = case.kwargs, _FUNCTION[case.loss]
        extra = sorted(set(k) - set(_PARAMS[case.loss]))
        if extra:
            raise Unsupported(f"optax.{fn} takes no parameter(s) {', '.join(extra)}")
        if case.loss != "mean_squared_error" and not k.get("from_logits", False):
            raise Unsupported(_LOGITS_ONLY.format(fn))
        if k.get("class_weight") is not None:
            raise Unsupported(f"optax.{fn} has no class weights")
        if k.get("ignore_class") is not None:
            raise Unsupported(f"optax.{fn} has no ignored class (its where= masks classes, not samples)")
        jnp_reduction = mapping.reduction(mapping.JAX_NUMPY, case, "optax with jax.numpy")
        y_true, y_pred = case.y_true, case.y_pred
        axis = k.get("axis", -1)
        if case.loss == "binary_crossentropy":
            if k.get("label_smoothing"):
                raise Unsupported("optax has no binary label smoothing (smooth_labels mixes with 1/K over a class axis, not 1/2)")
            if axis != -1:  # elementwise: there is no axis to pass, and an adapter must not drop a parameter silently
                raise Unsupported("optax.sigmoid_binary_cross_entropy is elementwise and has no axis parameter")
            loss, loss_shape = f"optax.{fn}(y_pred, y_true)", y_pred.shape
        elif case.loss == "mean_squared_error":
            loss, loss_shape = f"optax.{fn}(y_pred, y_true)", y_pred.shape
        else:
            if not -y_pred.ndim <= axis < max(y_pred.ndim, 1):
                raise Unsupported(f"axis {axis} is out of range for {y_pred.ndim}-d logits")  # optax would index wrongly
            loss_shape = tuple(n for i, n in enumerate(y_pred.shape) if i != axis % y_pred.ndim)
            axis_arg = "" if axis == -1 else f", axis={axis}"
            labels = "y_true"
            if case.loss == "categorical_crossentropy":
                if k.get("label_smoothing"):
                    labels = f"optax.smooth_labels(y_true, {reproduce.value(float(k['label_smoothing']))}{axis_arg})"
            elif y_true.shape != loss_shape and y_true.size == int(np.prod(loss_shape)):
                y_true = y_true.reshape(loss_shape)  # (B, 1) labels: optax wants the logits' shape without the class axis
            loss = f"optax.{fn}(y_pred, {labels}{axis_arg})"
        inputs = {"y_true": y_true, "y_pred": y_pred}
        weighted = loss
        if case.sample_weight is not None:
            inputs["sample_weight"] = mapping.align_weights(case.sample_weight, len(loss_shape))
            weighted = f"{loss} * sample_weight"
        if jnp_reduction is None:
            return weighted, inputs
        if jnp_reduction == "average":
            if case.sample_weight is None:
                return f"jnp.average({loss})", inputs
            return f"jnp.average({loss}, weights=jnp.broadcast_to(sample_weight, {tuple(loss_shape)!r}))", inputs
        return f"jnp.{jnp_reduction}({weighted})", inputs

    def supports(self, case: Case) -> bool | str:
        ok = super().supports(case)
        if ok is not True:
            return ok
        try:
            self._expression(case)
        except Unsupported as exc:
            return str(exc)
        return True

    def compute(self, case: Case) -> np.ndarray:
        self.unsupported_unless(case.loss in _FUNCTION, f"{self.name} has no method for {case.loss}")
        expression, inputs = self._expression(case)
        jax = jax_module()
        import optax

        names = ", ".join(inputs)
        fn = eval(f"lambda {names}: {expression}", {"jnp": jax.numpy, "optax": optax})  # the reproducer's text
        if case.variant == "jit":
            fn = jax.jit(fn)
        with jax_device(case):
            return np.asarray(fn(**{n: jax_tensor(a) for n, a in inputs.items()}))

    def reproducer(self, case: Case) -> str:
        """jax/optax code for the case: the expression ``compute`` evaluates, over literal inputs."""
        try:
            expression, inputs = self._expression(case)
        except Unsupported:
            return super().reproducer(case)
        body = [reproduce.array("jax", a, n) for n, a in inputs.items()]
        if "sample_weight" in inputs:
            body.insert(2, reproduce.comment("canonical sample weights align with the leading axes of the losses"))
        if case.variant == "jit":
            names = ", ".join(inputs)
            body.append(f"loss = jax.jit(lambda {names}: {expression})({names})")
        else:
            body.append(f"loss = {expression}")
        if case.device == "cuda":
            body = reproduce.device_block(body, "jax.default_device(jax.devices('gpu')[0])")
        return reproduce.script("jax", case, body + [reproduce.printed("jax", "loss")], extra_imports=["import optax"])
