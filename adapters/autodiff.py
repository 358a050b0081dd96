"""Reverse-mode derivatives through each framework's own autodiff, shared by the adapters' ``gradient``.

    torch_vjp(fn, leaves, cotangent, to_numpy)  torch.autograd.grad
    tf_vjp(fn, leaves, cotangent)               tf.GradientTape
    jax_vjp(fn, leaves, cotangent, jit=False, constants=None)
                                                jax.vjp (jax.jit of the whole pullback for ``jit``)

``fn(**leaves)`` computes the loss from the differentiated tensors (``leaves``: name -> framework tensor, in the
canonical layout: any move of an axis the framework needs happens inside ``fn``, so its derivative is the
framework's too). ``cotangent`` is the numpy array the result is contracted with (reduction ``none``), or None
for a scalar result. Each returns {name: numpy array in the dtype the framework gave the gradient}; an input
that the result does not depend on gets zeros (the framework's "unconnected" answer, made explicit).

``*_source`` write the same computation as reproducer lines, after the lines that define the leaves and
``loss`` (the names are the leaves' own); they print each gradient exactly, as ``reproduce.printed`` prints a value.
``wrt_array(case, name)`` is the canonical array a ``wrt`` name stands for (Unsupported for an integer input).
"""
from __future__ import annotations

import numpy as np


def wrt_array(case, name: str) -> np.ndarray:
    """The canonical array a ``wrt`` name stands for (the case's input of that name, or its sample weights), whose
    shape and layout the gradient comes back in; Unsupported where there is nothing to differentiate."""
    from adapters.base import Unsupported

    if name == "sample_weight":
        if case.sample_weight is None:
            raise Unsupported("the case has no sample weights to differentiate")
        return case.sample_weight
    if name not in case.inputs:
        raise Unsupported(f"{case.loss} has no input {name!r}; its inputs: {', '.join(case.inputs)}")
    array = case.inputs[name]
    if array.dtype.kind in "iub":
        raise Unsupported(f"{name} holds integers (class indices, labels or lengths): it has no derivative")
    return array


def _cotangent_lines(framework: str, cotangent) -> list[str]:
    from adapters import reproduce

    if cotangent is None:
        return []
    return [reproduce.comment("the cotangent the result is contracted with (reduction none)"),
            reproduce.array(framework, np.asarray(cotangent), "cotangent")]


def _printed(framework: str, names) -> list[str]:
    """One print line per gradient: its name, then its values exactly as ``reproduce.printed`` writes a result
    (the float64 repr of each value), so a reproducer's output can be compared bit for bit with the adapter's."""
    from adapters import reproduce

    return [reproduce.printed(framework, f"grads[{i}]").replace("print(", f"print({n!r}, ", 1)
            for i, n in enumerate(names)]


# -- torch --------------------------------------------------------------------------------------------------
def torch_vjp(fn, leaves: dict, cotangent, to_numpy) -> dict[str, np.ndarray]:
    """``to_numpy``: the adapter's tensor-to-numpy conversion (this module imports no adapter: they import it)."""
    import torch

    leaves = {n: t.detach().clone().requires_grad_(True) for n, t in leaves.items()}
    out = fn(**leaves)
    seed = torch.ones_like(out) if cotangent is None else \
        torch.as_tensor(np.asarray(cotangent, dtype=np.float64), device=out.device).to(out.dtype).reshape(out.shape)
    grads = torch.autograd.grad(out, list(leaves.values()), grad_outputs=seed, allow_unused=True)
    return {n: to_numpy(torch.zeros_like(t) if g is None else g) for (n, t), g in zip(leaves.items(), grads)}


def torch_source(names, cotangent) -> list[str]:
    """Lines after ``loss = ...`` (whose leaves were made with requires_grad=True) computing their gradients."""
    body = _cotangent_lines("torch", cotangent)
    seed = "torch.ones_like(loss)" if cotangent is None else "cotangent.to(loss.dtype).reshape(loss.shape)"
    body.append(f"grads = torch.autograd.grad(loss, [{', '.join(names)}], grad_outputs={seed}, allow_unused=True, "
                "materialize_grads=True)")  # zeros, not None, for a leaf the loss does not depend on (as torch_vjp)
    body += _printed("torch", names)
    return body


# -- TensorFlow ---------------------------------------------------------------------------------------------
def tf_vjp(fn, leaves: dict, cotangent, compile=None) -> dict[str, np.ndarray]:
    """``compile``: wraps the whole gradient computation (e.g. tf.function(jit_compile=True)) when given."""
    from adapters.tf_runtime import tf_module

    tf = tf_module()
    names = list(leaves)

    def gradients(*tensors):
        with tf.GradientTape() as tape:
            for t in tensors:
                tape.watch(t)
            out = fn(**dict(zip(names, tensors)))
        seed = None if cotangent is None else tf.reshape(tf.cast(tf.constant(np.asarray(cotangent, dtype=np.float64)),
                                                                 out.dtype), tf.shape(out))
        return tape.gradient(out, list(tensors), output_gradients=seed,
                             unconnected_gradients=tf.UnconnectedGradients.ZERO)

    grads = (compile(gradients) if compile else gradients)(*leaves.values())
    return {n: np.asarray(g.numpy()) for n, g in zip(names, grads)}


def tf_source(names, cotangent) -> list[str]:
    """Lines computing the gradients with a tape: the caller indents ``loss = ...`` under ``with tape:``."""
    body = _cotangent_lines("tf", cotangent)
    body.append(f"grads = {_tf_tape_gradient(names, cotangent)}")
    body += _printed("tf", names)
    return body


def tf_tape_source(names, loss_expression: str, cotangent, compile=None) -> list[str]:
    """The whole tape computation of ``loss_expression`` (source text over the leaves ``names``): the tape block
    and tf_source's lines; with ``compile`` (function source text -> its compiled callee's, e.g.
    ``tf.function(f, jit_compile=True)``) the tape and its gradient are one compiled function of the leaves, as
    tf_vjp(compile=...) runs them."""
    tape = ["with tf.GradientTape() as tape:", *(f"    tape.watch({n})" for n in names), f"    loss = {loss_expression}"]
    if compile is None:
        return tape + tf_source(names, cotangent)
    body = _cotangent_lines("tf", cotangent)
    body += [f"def gradients({', '.join(names)}):", *("    " + line for line in tape),
             f"    return {_tf_tape_gradient(names, cotangent)}",
             f"grads = {compile('gradients')}({', '.join(names)})"]
    body += _printed("tf", names)
    return body


def _tf_tape_gradient(names, cotangent) -> str:
    """The tape.gradient call of tf_vjp, as source text."""
    seed = "None" if cotangent is None else "tf.reshape(tf.cast(cotangent, loss.dtype), tf.shape(loss))"
    return (f"tape.gradient(loss, [{', '.join(names)}], output_gradients={seed}, "
            "unconnected_gradients=tf.UnconnectedGradients.ZERO)")


# -- JAX ----------------------------------------------------------------------------------------------------
def jax_vjp(fn, leaves: dict, cotangent, jit: bool = False, constants: dict | None = None) -> dict[str, np.ndarray]:
    """``constants`` (name -> array): ``fn``'s other keyword arguments, not differentiated; under ``jit`` they are
    arguments of the compiled computation like the leaves and the cotangent (as a jitted loss takes its inputs), not
    values baked into it, which XLA could fold."""
    import jax  # configured (x64) by the adapter's setup before any case

    names = list(leaves)

    def gradients(tensors, given, seed):
        out, pullback = jax.vjp(lambda *xs: fn(**dict(zip(names, xs)), **given), *tensors)
        return pullback(jax.numpy.ones_like(out) if seed is None else seed.astype(out.dtype).reshape(out.shape))

    seed = None if cotangent is None else jax.numpy.asarray(np.asarray(cotangent, dtype=np.float64))
    grads = (jax.jit(gradients) if jit else gradients)(tuple(leaves.values()), dict(constants or {}), seed)
    return {n: np.asarray(g) for n, g in zip(names, grads)}


def jax_source(names, loss_lambda: str, cotangent, jit: bool = False, constants=()) -> list[str]:
    """Lines computing the gradients of ``loss_lambda`` (a lambda over ``names``) with jax.vjp; ``constants`` are the
    other variables it uses, which the jitted computation takes as arguments with the leaves and the cotangent, as
    jax_vjp passes them."""
    body = _cotangent_lines("jax", cotangent)
    pullback = f"jax.vjp({loss_lambda}, {', '.join(names)})"
    seed = "jnp.ones_like(loss)" if cotangent is None else "cotangent.astype(loss.dtype).reshape(loss.shape)"
    if jit:
        given = ", ".join([*names, *constants, *(["cotangent"] if cotangent is not None else [])])
        body.append(f"grads = jax.jit(lambda {given}: (lambda out, pb: pb("
                    f"{seed.replace('loss', 'out')}))(*{pullback}))({given})")
    else:
        body += [f"loss, pullback = {pullback}", f"grads = pullback({seed})"]
    body += _printed("jax", names)
    return body
