"""JAX adapter: the canonical losses through optax, reduced with jax.numpy (semantics ``optax+ftz``).

    binary_crossentropy              optax.losses.sigmoid_binary_cross_entropy(logits, labels)      elementwise
    categorical_crossentropy         optax.losses.softmax_cross_entropy(logits, labels, axis)       per row
                                     (label smoothing: optax.losses.smooth_labels(labels, alpha, axis))
    sparse_categorical_crossentropy  optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels, axis)
    mean_squared_error               optax.losses.squared_error(predictions, targets)               elementwise
    every other loss with an ``optax`` semantics (22 in all): one call each in adapters/optax_losses.py
    (``CALLS``), with the input layouts of the ``shapes: custom`` losses (ctc, triplet_margin, ntxent)

Conventions worth knowing (see docs/semantics.md#optax):

* optax has no reductions, weights or masks: an optax user reduces with jax.numpy, and so does this
  adapter, with nothing but those building blocks (``mapping.JAX_NUMPY``): ``none`` = ``l * w``,
  ``sum`` = ``jnp.sum(l * w)``, ``sum_over_batch_size`` = ``jnp.mean(l * w)``, ``mean_with_sample_weight`` =
  ``jnp.average(l, weights=w)`` (sum(l w) / sum(w)). Sample weights are therefore supported by a jnp
  multiply (what the optax docs tell users to write), aligned with the leading axes (``mapping.align_weights``)
  and broadcast by jnp. ``sum_by_nonzero_weights``, class weights and ignored classes have no optax or
  jnp building block and are reported unsupported.
* The cross-entropies take logits only (optax has no cross-entropy from probabilities); binary
  cross-entropy has no label smoothing in optax (``smooth_labels`` mixes with 1/K over the class axis, not
  with 1/2) and is elementwise, so it refuses an ``axis`` other than -1 rather than dropping it. Each such
  rule is a line of ``optax_losses.CALLS`` (``only``): a parameter optax cannot express raises Unsupported.
* ``ntxent`` returns its mean over the positive pairs, the canonical ``sum_over_batch_size``: the only
  reduction it supports, without sample weights. ``ranking_softmax_loss`` runs with ``reduce_fn=None`` and is
  reduced with jax.numpy like every other loss.
* float64 needs ``jax_enable_x64``, set in ``setup`` (so in the worker process before any array exists)
  and recorded in ``environment()``; without it JAX would silently compute float64 cases in float32.
* XLA on CPU flushes subnormal results to zero like TensorFlow (``flush_to_zero`` in ``environment()`` is
  measured): hence ``+ftz``.
* Variants: ``default`` runs the expression op by op (each jnp/optax op is dispatched eagerly), ``jit``
  compiles the whole expression, reduction included, with ``jax.jit`` (XLA may fuse and reorder).

``plan`` writes the computation as one expression over the optax call's inputs and ``sample_weight`` (the Call's
``detail``, with the prepared numpy inputs as its ``kwargs``); ``run`` evaluates that very text and ``source``
prints it, so the two cannot drift apart. ``gradient`` is ``jax.vjp`` of the same expression (``autodiff.jax_vjp``;
in forward mode ``jax.jacfwd``, ``autodiff.jax_jacfwd``; the whole derivative jitted for ``jit``) with respect to
the inputs optax receives as they are, the canonical sample weights aligned inside it; ``gradient_source`` prints it.
An input laid out on numpy before the call (reshaped labels or rows, CTC's paddings) or holding integers has no
gradient (Unsupported).
``jax_module``, ``jax_tensor``, ``jax_device`` and ``jax_environment`` are shared with the Keras adapter on
the JAX backend.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adapters import autodiff, mapping, reproduce
from adapters.base import Adapter, Call, Unsupported
from adapters.optax_losses import CALLS, optax_call
from core.case import Case


# XLA's persistent compilation cache: eager dispatch compiles every primitive again for each new shape (about 0.1 s
# each on this machine, most of a JAX run's time), and the framework worker processes, the xdist workers and the
# JAX-backed implementations (jax, keras-jax) draw the same shapes from the same seed. The cache holds the very
# executables XLA compiled, so what runs is unchanged. LOSSCONF_JAX_CACHE=off disables it, a directory moves it;
# JAX_COMPILATION_CACHE_DIR, where the user set it, wins.
JAX_CACHE = Path(__file__).resolve().parents[1] / ".jax-cache"


@functools.lru_cache(maxsize=None)
def jax_module():
    """jax, imported once, with x64 enabled before any array is made (float64 cases stay float64) and the
    persistent compilation cache on (``JAX_CACHE``)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    where = os.environ.get("LOSSCONF_JAX_CACHE", str(JAX_CACHE))
    if where.lower() != "off" and not jax.config.jax_compilation_cache_dir:  # JAX_COMPILATION_CACHE_DIR sets it
        jax.config.update("jax_compilation_cache_dir", where)
        # every executable, however small or quick to compile: those are the ones eager dispatch makes
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
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


@dataclass(frozen=True)
class _Expression:
    """How a planned case runs: ``text`` is one expression over the Call's input names (``optax`` is the optax call
    in it, ``reduction`` the ``mapping.JAX_NUMPY`` spelling that reduces it, None when unreduced or when optax
    reduced it itself); ``jit`` compiles it whole with ``jax.jit`` (the ``jit`` variant)."""

    optax: str
    text: str
    reduction: str | None
    jit: bool

    def as_function(self, inputs, reshaped: dict | None = None) -> str:
        """The expression as a lambda over the inputs' names, in their order (any other name it uses is free: the
        caller's variable); ``reshaped`` ({name: shape}) reshapes those inputs first, inside the lambda."""
        text = self.text
        for name, shape in (reshaped or {}).items():
            text = f"(lambda {name}: {text})({name}.reshape({tuple(shape)!r}))"
        return f"lambda {', '.join(inputs)}: {text}"


class JaxOptaxAdapter(Adapter):
    name = "jax"
    library = "optax"
    semantics = {loss: "optax+ftz" for loss in CALLS}
    devices = ("cpu", "cuda")
    variants = ("default", "jit")
    gradient_modes = ("reverse", "forward")  # jax.vjp, jax.jacfwd

    def version(self) -> str:
        return f"optax {_version('optax')}, jax {_version('jax')}"

    def setup(self) -> None:
        jax_module()

    def available_devices(self) -> tuple[str, ...]:
        return ("cpu", "cuda") if jax_gpu_available() else ("cpu",)

    def environment(self) -> dict:
        return {**jax_environment(), "optax": _version("optax"),
                "dtype_policy": "computed in the input dtype (x64 on); jnp.sum/mean of half precision accumulate in float32"}

    # -- the contract: plan, run, source ----------------------------------------------------------
    def plan(self, case: Case) -> Call:
        """The optax call (``optax_losses.optax_call``), weighted and reduced with jax.numpy, as one expression.

        The Call: ``target`` the optax function, ``kwargs`` the prepared numpy inputs by name (the expression's
        free variables, ``sample_weight`` last), ``detail`` the expression text and how it runs (``_Expression``).
        Imports nothing."""
        if case.loss not in CALLS:
            raise Unsupported(f"{self.name} has no method for {case.loss}")
        loss, inputs, loss_shape = optax_call(case)
        target = loss.split("(", 1)[0]
        jit = case.variant == "jit"
        if CALLS[case.loss].reductions is not None:  # optax reduced it already (optax_call checked the reduction)
            return Call(case, target, inputs, _Expression(loss, loss, None, jit))
        jnp_reduction = mapping.reduction(mapping.JAX_NUMPY, case, "optax with jax.numpy")
        weighted = loss
        if case.sample_weight is not None:
            inputs["sample_weight"] = mapping.align_weights(case.sample_weight, len(loss_shape))
            weighted = f"{loss} * sample_weight"
        if jnp_reduction is None:
            expression = weighted
        elif jnp_reduction == "average":
            expression = (f"jnp.average({loss})" if case.sample_weight is None else
                          f"jnp.average({loss}, weights=jnp.broadcast_to(sample_weight, {tuple(loss_shape)!r}))")
        else:
            expression = f"jnp.{jnp_reduction}({weighted})"
        return Call(case, target, inputs, _Expression(loss, expression, jnp_reduction, jit))

    def run(self, call: Call) -> np.ndarray:
        """Evaluates the very text ``source`` prints (``jax.jit`` of it for the ``jit`` variant)."""
        text = call.detail.as_function(call.kwargs)
        fn = _jitted(text) if call.detail.jit else _evaluate(text)
        with jax_device(call.case):
            return np.asarray(fn(**{n: jax_tensor(a) for n, a in call.kwargs.items()}))

    def gradient(self, call: Call, wrt: tuple[str, ...], cotangent, mode: str = "reverse") -> dict[str, np.ndarray]:
        """jax.vjp (jax.jacfwd in forward mode) of the expression ``run`` evaluates, with respect to the
        differentiated inputs in their canonical shape (sample weights aligned inside); the other inputs are
        arguments too, so that ``jit`` compiles the whole derivative over all its inputs as ``run`` compiles the
        expression."""
        case, leaves = call.case, _leaves(call, wrt)
        constants = [n for n in call.kwargs if n not in leaves]
        fn = _evaluate(call.detail.as_function([*leaves, *constants], _aligned(call, leaves)))
        derivative = autodiff.jax_jacfwd if mode == "forward" else autodiff.jax_vjp
        with jax_device(case):
            grads = derivative(fn, {v: jax_tensor(autodiff.wrt_array(case, name)) for v, name in leaves.items()},
                               cotangent, jit=call.detail.jit,
                               constants={n: jax_tensor(call.kwargs[n]) for n in constants})
        return {leaves[v]: g for v, g in grads.items()}

    def source(self, call: Call) -> str:
        """jax/optax code for the case: the expression ``run`` evaluates, over literal inputs."""
        inputs = call.kwargs
        if call.detail.jit:
            loss = f"jax.jit({call.detail.as_function(inputs)})({', '.join(inputs)})"
        else:
            loss = call.detail.text
        return _script(call, inputs, [f"loss = {loss}"], [reproduce.printed("jax", "loss")])

    def gradient_source(self, call: Call, wrt: tuple[str, ...], cotangent, mode: str = "reverse") -> str:
        """jax/optax code for the gradient: the inputs (the differentiated ones in their canonical shape), then
        jax.vjp (jax.jacfwd in forward mode) of the lambda ``gradient`` differentiates."""
        leaves = _leaves(call, wrt)
        inputs = {**call.kwargs, **{v: autodiff.wrt_array(call.case, name) for v, name in leaves.items()}}
        renamed = [reproduce.comment(f"{v} is the loss's input {name}") for v, name in leaves.items() if v != name]
        derivative = autodiff.jax_jacfwd_source if mode == "forward" else autodiff.jax_source
        lines = derivative(list(leaves), call.detail.as_function(leaves, _aligned(call, leaves)), cotangent,
                           jit=call.detail.jit, constants=[n for n in call.kwargs if n not in leaves])
        return _script(call, inputs, renamed + lines)


@functools.lru_cache(maxsize=1024)
def _evaluate(function: str):
    """A lambda's text as a function (its free names: jnp and optax); one function per text, so that jax's caches,
    keyed by the function, serve every call of the same expression."""
    import optax

    return eval(function, {"jnp": jax_module().numpy, "optax": optax})


@functools.lru_cache(maxsize=1024)
def _jitted(function: str):
    """jax.jit of the lambda ``function``: one per text, so that a draw's shapes, met again (the judge's relations,
    a permuted batch, another reduction of the same expression), reuse the trace and the executable."""
    return jax_module().jit(_evaluate(function))


def _leaves(call: Call, wrt: tuple[str, ...]) -> dict[str, str]:
    """{expression variable: differentiated input}: the variable bound to the canonical array itself (optax_call may
    name it otherwise, e.g. CTC's log_probs as logits), or ``sample_weight`` (aligned inside, see ``_aligned``).
    An input the plan laid out on numpy (reshaped labels or rows, CTC's paddings) reaches optax as a copy:
    Unsupported, saying so."""
    leaves = {}
    for name in wrt:
        canonical = autodiff.wrt_array(call.case, name)
        found = ["sample_weight"] if name == "sample_weight" else [v for v, a in call.kwargs.items() if a is canonical]
        if not found:
            raise Unsupported(f"{call.target} gets {name} as a copy the adapter laid out on numpy, not the input "
                              "itself: it has no gradient to give")
        leaves[found[0]] = name
    return leaves


def _aligned(call: Call, leaves: dict[str, str]) -> dict[str, tuple]:
    """{variable: shape} for differentiated sample weights: the expression aligns the canonical weights with the
    losses' leading axes itself (the reshape plan made, ``as_function(reshaped=)``), so their gradient comes back
    in the canonical shape."""
    return {v: call.kwargs[v].shape for v, name in leaves.items()
            if name == "sample_weight" and call.kwargs[v].shape != call.case.sample_weight.shape}


def _script(call: Call, inputs: dict, lines: list[str], after: list[str] = ()) -> str:
    """A jax/optax reproducer: ``inputs`` as literals, then ``lines`` (on the case's device), then ``after``."""
    body = [reproduce.array("jax", a, n) for n, a in inputs.items()]
    if "sample_weight" in inputs:
        body.insert(len(body) - 1, reproduce.comment("canonical sample weights align with the leading axes of the losses"))
    body += lines
    if call.case.device == "cuda":
        body = reproduce.device_block(body, "jax.default_device(jax.devices('gpu')[0])")
    return reproduce.script("jax", call.case, [*body, *after], extra_imports=["import optax"])
