"""Derivatives through each framework's own autodiff, shared by the adapters' ``gradient``, in both modes:

    reverse (a vector-Jacobian product)                forward (Jacobian-vector products)
    torch_vjp(fn, leaves, cotangent, to_numpy)         torch_jacfwd(fn, leaves, cotangent, to_numpy, compile=None)
        torch.autograd.grad                                torch.func.jacfwd
    tf_vjp(fn, leaves, cotangent, compile=None)        tf_jacfwd(fn, leaves, cotangent, compile=None)
        tf.GradientTape                                    tf.autodiff.ForwardAccumulator, one JVP per element
    jax_vjp(fn, leaves, cotangent, jit=False, constants=None)
                                                       jax_jacfwd(fn, leaves, cotangent, jit=False, constants=None)
        jax.vjp                                            jax.jacfwd
    (``compile``/``jit``: the whole derivative computation compiled, as the compiled variants run it; torch's
    reverse mode differentiates the adapter's compiled function instead, as torch.compile meets autograd)

``fn(**leaves)`` computes the loss from the differentiated tensors (``leaves``: name -> framework tensor, in the
canonical layout: any move of an axis the framework needs happens inside ``fn``, so its derivative is the
framework's too). ``cotangent`` is the numpy array the result is contracted with (reduction ``none``), or None
for a scalar result. Each returns {name: numpy array in the dtype the framework gave the gradient}; an input
that the result does not depend on gets zeros (the framework's "unconnected" answer, made explicit).

Both modes compute the same quantity, the gradient of sum(cotangent * fn(leaves)) with respect to each leaf, with
the cotangent cast to the result's dtype (the "seed", ``_*_seed``). Reverse mode pulls the seed back; forward mode
differentiates that contracted scalar itself (``_*_contracted``; sum(fn(leaves)), the scalar result, without a
cotangent) along the one-hot basis of each leaf, so the contraction is differentiated too and its sums are taken
in another order than reverse mode's. Forward-mode tangents carry the result's dtype: a loss that casts its
inputs (float64 to float32) gives its forward-mode gradient in the result's dtype, where reverse mode casts back.

``*_source`` write the same computations as reproducer lines (reverse: after the lines that define the leaves and
``loss``; forward: given those that compute ``loss`` from the leaves, which become the body of the contracted
function); the names are the leaves' own. They print each gradient exactly, as ``reproduce.printed`` prints a value.
``wrt_array(case, name)`` is the canonical array a ``wrt`` name stands for (Unsupported for an integer input).
"""
from __future__ import annotations

import numpy as np

#: the cotangent as the result's dtype and shape (``loss`` in a reproducer), as the ``_*_seed`` helpers make it
_SEED = {"torch": "cotangent.to(loss.device, loss.dtype).reshape(loss.shape)",
         "jax": "cotangent.astype(loss.dtype).reshape(loss.shape)",
         "tf": "tf.reshape(tf.cast(cotangent, loss.dtype), tf.shape(loss))"}
#: the contracted scalar's sum (of ``{}``), as the ``_*_contracted`` helpers take it
_SUM = {"torch": "torch.sum({})", "jax": "jnp.sum({})", "tf": "tf.reduce_sum({})"}


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


def _contracted_source(framework: str, params, computation: list[str], cotangent) -> list[str]:
    """``def contracted(params)``: the ``computation`` lines (which set ``loss``), then the scalar forward mode
    differentiates, as the ``_*_contracted`` helpers return it."""
    scalar = _SUM[framework].format("loss" if cotangent is None else f"{_SEED[framework]} * loss")
    return [f"def contracted({', '.join(params)}):  # the scalar forward mode differentiates: sum(cotangent * loss)",
            *("    " + line.replace("\n", "\n    ") for line in computation), f"    return {scalar}"]


# -- torch --------------------------------------------------------------------------------------------------
def _torch_cotangent(cotangent):
    """The cotangent as a float64 tensor (None for a scalar result), made outside what a compiler traces."""
    import torch

    return None if cotangent is None else torch.as_tensor(np.asarray(cotangent, dtype=np.float64))


def _torch_seed(out, cotangent):
    """The cotangent tensor as ``out``'s device, dtype and shape (ones for a scalar result)."""
    import torch

    return torch.ones_like(out) if cotangent is None else cotangent.to(out.device, out.dtype).reshape(out.shape)


def _torch_contracted(fn, names, cotangent):
    """The scalar forward mode differentiates, as a function of the leaves in ``names``' order."""
    import torch

    cotangent = _torch_cotangent(cotangent)

    def contracted(*tensors):
        out = fn(**dict(zip(names, tensors)))
        return torch.sum(out if cotangent is None else _torch_seed(out, cotangent) * out)

    return contracted


def torch_vjp(fn, leaves: dict, cotangent, to_numpy) -> dict[str, np.ndarray]:
    """``to_numpy``: the adapter's tensor-to-numpy conversion (this module imports no adapter: they import it)."""
    import torch

    leaves = {n: t.detach().clone().requires_grad_(True) for n, t in leaves.items()}
    out = fn(**leaves)
    grads = torch.autograd.grad(out, list(leaves.values()), grad_outputs=_torch_seed(out, _torch_cotangent(cotangent)),
                                allow_unused=True)
    return {n: to_numpy(torch.zeros_like(t) if g is None else g) for (n, t), g in zip(leaves.items(), grads)}


def torch_jacfwd(fn, leaves: dict, cotangent, to_numpy, compile=None) -> dict[str, np.ndarray]:
    """torch.func.jacfwd of the contracted scalar; ``compile`` wraps the whole computation when given (torch.func
    cannot differentiate a compiled function from eager code: torch raises and says to compile the transform
    with it). An op without a forward-mode formula (or without the vmap rule jacfwd needs) raises, and that is
    torch's answer: it is not caught."""
    import torch

    names = list(leaves)
    derivative = torch.func.jacfwd(_torch_contracted(fn, names, cotangent), argnums=tuple(range(len(names))))
    grads = (compile(derivative) if compile else derivative)(*(t.detach() for t in leaves.values()))
    return {n: to_numpy(g) for n, g in zip(names, grads)}


def torch_source(names, cotangent) -> list[str]:
    """Lines after ``loss = ...`` (whose leaves were made with requires_grad=True) computing their gradients."""
    body = _cotangent_lines("torch", cotangent)
    seed = "torch.ones_like(loss)" if cotangent is None else _SEED["torch"]
    body.append(f"grads = torch.autograd.grad(loss, [{', '.join(names)}], grad_outputs={seed}, allow_unused=True, "
                "materialize_grads=True)")  # zeros, not None, for a leaf the loss does not depend on (as torch_vjp)
    body += _printed("torch", names)
    return body


def torch_vjp_source(names, computation: list[str], cotangent) -> list[str]:
    """torch_vjp as lines: the leaves ``names`` (defined before as plain tensors) made differentiable, then
    ``computation`` (the lines computing ``loss`` from them) and torch_source's."""
    return [f"{n}.requires_grad_(True)" for n in names] + computation + torch_source(names, cotangent)


def torch_jacfwd_source(names, computation: list[str], cotangent, compile=None) -> list[str]:
    """torch_jacfwd as lines: ``computation`` (the lines computing ``loss`` from the leaves ``names``, defined
    before as plain tensors) becomes the body of the contracted function; ``compile`` (callee source text -> its
    compiled callee's) wraps the jacfwd, as torch_jacfwd(compile=...) does."""
    body = _cotangent_lines("torch", cotangent) + _contracted_source("torch", names, computation, cotangent)
    derivative = f"torch.func.jacfwd(contracted, argnums={tuple(range(len(names)))!r})"
    body.append(f"grads = {compile(derivative) if compile else derivative}({', '.join(names)})")
    return body + _printed("torch", names)


# -- TensorFlow ---------------------------------------------------------------------------------------------
def _tf_seed(out, cotangent):
    """The cotangent as ``out``'s dtype and shape (None for a scalar result: the tape's own ones)."""
    from adapters.tf_runtime import tf_module

    tf = tf_module()
    if cotangent is None:
        return None
    return tf.reshape(tf.cast(tf.constant(np.asarray(cotangent, dtype=np.float64)), out.dtype), tf.shape(out))


def _tf_contracted(fn, names, cotangent):
    """The scalar forward mode differentiates, as a function of the leaves in ``names``' order."""
    from adapters.tf_runtime import tf_module

    tf = tf_module()

    def contracted(*tensors):
        out = fn(**dict(zip(names, tensors)))
        return tf.reduce_sum(out if cotangent is None else _tf_seed(out, cotangent) * out)

    return contracted


def _tf_derivative(gradients, leaves: dict, compile) -> dict[str, np.ndarray]:
    """``gradients(*leaves)`` (compiled by ``compile`` when given), as numpy by leaf name."""
    grads = (compile(gradients) if compile else gradients)(*leaves.values())
    return {n: np.asarray(g.numpy()) for n, g in zip(leaves, grads)}


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
        return tape.gradient(out, list(tensors), output_gradients=_tf_seed(out, cotangent),
                             unconnected_gradients=tf.UnconnectedGradients.ZERO)

    return _tf_derivative(gradients, leaves, compile)


def tf_jacfwd(fn, leaves: dict, cotangent, compile=None) -> dict[str, np.ndarray]:
    """The contracted scalar's derivative along each one-hot tangent of each leaf, one ForwardAccumulator JVP per
    element, the JVPs of a leaf run by tf.map_fn in one graph (a tf.function, eagerly or not): each is the very JVP
    a user's one ForwardAccumulator computes. tf.vectorized_map (pfor) would batch them, but converts the graph
    anew for every call, 2.4 times the cost; ``compile`` wraps the whole computation, as in tf_vjp."""
    from adapters.tf_runtime import tf_module

    tf = tf_module()
    contracted = _tf_contracted(fn, list(leaves), cotangent)

    def derivative(tensors, i):
        x = tensors[i]

        def along(tangent):
            with tf.autodiff.ForwardAccumulator(x, tf.reshape(tangent, tf.shape(x))) as acc:
                value = contracted(*tensors)
            return acc.jvp(value, unconnected_gradients=tf.UnconnectedGradients.ZERO)

        jvps = tf.function(lambda: tf.map_fn(along, tf.eye(tf.size(x), dtype=x.dtype),
                                             fn_output_signature=contracted(*tensors).dtype), autograph=False)
        return tf.reshape(jvps(), tf.shape(x))

    return _tf_derivative(lambda *tensors: [derivative(tensors, i) for i in range(len(tensors))], leaves, compile)


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


def tf_jacfwd_source(names, loss_expression: str, cotangent, compile=None) -> list[str]:
    """tf_jacfwd as lines: the contracted function of the leaves ``names`` (``loss_expression`` its loss), the JVPs
    along each element's one-hot tangent, and ``gradients`` of the leaves (compiled by ``compile``, as in
    tf_tape_source)."""
    body = _cotangent_lines("tf", cotangent)
    body += _contracted_source("tf", names, [f"loss = {loss_expression}"], cotangent)
    body += ["def derivative(leaves, i):  # one forward-mode JVP per element of leaves[i], along its one-hot tangent",
             "    x = leaves[i]",
             "    def along(tangent):",
             "        with tf.autodiff.ForwardAccumulator(x, tf.reshape(tangent, tf.shape(x))) as acc:",
             "            value = contracted(*leaves)",
             "        return acc.jvp(value, unconnected_gradients=tf.UnconnectedGradients.ZERO)",
             "    jvps = tf.function(lambda: tf.map_fn(along, tf.eye(tf.size(x), dtype=x.dtype),",
             "                                         fn_output_signature=contracted(*leaves).dtype), autograph=False)",
             "    return tf.reshape(jvps(), tf.shape(x))",
             f"def gradients({', '.join(names)}):",
             f"    return [derivative([{', '.join(names)}], i) for i in range({len(names)})]",
             f"grads = {compile('gradients') if compile else 'gradients'}({', '.join(names)})"]
    return body + _printed("tf", names)


def _tf_tape_gradient(names, cotangent) -> str:
    """The tape.gradient call of tf_vjp, as source text."""
    seed = "None" if cotangent is None else _SEED["tf"]
    return (f"tape.gradient(loss, [{', '.join(names)}], output_gradients={seed}, "
            "unconnected_gradients=tf.UnconnectedGradients.ZERO)")


# -- JAX ----------------------------------------------------------------------------------------------------
def _jax_seed(out, seed):
    """``seed`` (the cotangent, a float64 array) as ``out``'s dtype and shape (ones for a scalar result)."""
    import jax

    return jax.numpy.ones_like(out) if seed is None else seed.astype(out.dtype).reshape(out.shape)


def _jax_contracted(out, seed):
    """The scalar forward mode differentiates, from the result ``out``."""
    import jax

    return jax.numpy.sum(out if seed is None else _jax_seed(out, seed) * out)


def _jax_derivative(differentiate, fn, leaves: dict, cotangent, jit: bool, constants) -> dict[str, np.ndarray]:
    """``differentiate(f, tensors, seed)`` of ``f`` (``fn`` as a function of the leaves in order, the constants
    given), jax.jit of the whole computation for ``jit``, with the leaves, constants and cotangent its arguments."""
    import jax  # configured (x64) by the adapter's setup before any case

    names = list(leaves)

    def gradients(tensors, given, seed):
        return differentiate(lambda *xs: fn(**dict(zip(names, xs)), **given), tensors, seed)

    seed = None if cotangent is None else jax.numpy.asarray(np.asarray(cotangent, dtype=np.float64))
    grads = (jax.jit(gradients) if jit else gradients)(tuple(leaves.values()), dict(constants or {}), seed)
    return {n: np.asarray(g) for n, g in zip(names, grads)}


def jax_vjp(fn, leaves: dict, cotangent, jit: bool = False, constants: dict | None = None) -> dict[str, np.ndarray]:
    """``constants`` (name -> array): ``fn``'s other keyword arguments, not differentiated; under ``jit`` they are
    arguments of the compiled computation like the leaves and the cotangent (as a jitted loss takes its inputs), not
    values baked into it, which XLA could fold."""
    import jax

    def pullback(f, tensors, seed):
        out, pull = jax.vjp(f, *tensors)
        return pull(_jax_seed(out, seed))

    return _jax_derivative(pullback, fn, leaves, cotangent, jit, constants)


def jax_jacfwd(fn, leaves: dict, cotangent, jit: bool = False, constants: dict | None = None) -> dict[str, np.ndarray]:
    """jax.jacfwd of the contracted scalar over the leaves; ``jit`` and ``constants`` as in jax_vjp."""
    import jax

    def forward(f, tensors, seed):
        return jax.jacfwd(lambda *xs: _jax_contracted(f(*xs), seed), argnums=tuple(range(len(tensors))))(*tensors)

    return _jax_derivative(forward, fn, leaves, cotangent, jit, constants)


def jax_source(names, loss_lambda: str, cotangent, jit: bool = False, constants=()) -> list[str]:
    """Lines computing the gradients of ``loss_lambda`` (a lambda over ``names``) with jax.vjp; ``constants`` are the
    other variables it uses, which the jitted computation takes as arguments with the leaves and the cotangent, as
    jax_vjp passes them."""
    body = _cotangent_lines("jax", cotangent)
    pullback = f"jax.vjp({loss_lambda}, {', '.join(names)})"
    seed = "jnp.ones_like(loss)" if cotangent is None else _SEED["jax"]
    if jit:
        given = ", ".join(_jax_arguments(names, cotangent, constants))
        body.append(f"grads = jax.jit(lambda {given}: (lambda out, pb: pb("
                    f"{seed.replace('loss', 'out')}))(*{pullback}))({given})")
    else:
        body += [f"loss, pullback = {pullback}", f"grads = pullback({seed})"]
    body += _printed("jax", names)
    return body


def jax_jacfwd_source(names, loss_lambda: str, cotangent, jit: bool = False, constants=()) -> list[str]:
    """jax_jacfwd as lines: the contracted function takes the leaves, the ``constants`` and the cotangent (the
    arguments of the jitted computation, as in jax_source), jax.jacfwd over the leaves."""
    given = _jax_arguments(names, cotangent, constants)
    body = _cotangent_lines("jax", cotangent)
    body += _contracted_source("jax", given, [f"loss = ({loss_lambda})({', '.join(names)})"], cotangent)
    body += [f"derivative = jax.jacfwd(contracted, argnums={tuple(range(len(names)))!r})",
             f"grads = {'jax.jit(derivative)' if jit else 'derivative'}({', '.join(given)})"]
    return body + _printed("jax", names)


def _jax_arguments(names, cotangent, constants) -> list[str]:
    """The arguments of the jitted derivative computation: the leaves, the constants, the cotangent."""
    return [*names, *constants, *(["cotangent"] if cotangent is not None else [])]
