"""Every canonical loss with an ``optax`` semantics, written once as an optax call (``CALLS``).

Each entry is the text of one ``optax.losses`` call over named inputs, with the loss's parameters filled in as
exact literals; the ``plan`` of ``adapters/jax_optax.py`` adds the sample weights and the jax.numpy reduction, its
``run`` evaluates that text and its ``source`` prints it, so what is computed and what is printed cannot differ.
Laying a canonical case out as optax's arguments happens here, on numpy arrays, and is layout only (reshapes,
padding masks from lengths): no arithmetic on the values. The inputs are named as in the specs:

  binary_crossentropy              sigmoid_binary_cross_entropy(y_pred, y_true)                 (from_logits only)
  binary_focal_crossentropy        sigmoid_focal_loss(y_pred, y_true, alpha=, gamma=)           (alpha=None unless balancing)
  categorical_crossentropy         softmax_cross_entropy(y_pred, labels, axis=)                 (optax; not optax_safe)
                                   labels = smooth_labels(y_true, label_smoothing, axis=) when smoothing
  sparse_categorical_crossentropy  softmax_cross_entropy_with_integer_labels(y_pred, y_true, axis=)
  cosine_similarity                cosine_distance(y_pred, y_true, axis=)                       (1 - cos: the spec's optax form)
  ctc                              ctc_loss(logits = log_probs, logit_paddings, targets, label_paddings, blank_id=)
  generalized_kl_divergence        generalized_kl_divergence(y_pred = log q, y_true, axis=)
  hinge                            hinge_loss(y_pred, y_true)                                   (targets used as given)
  huber                            huber_loss(y_pred, y_true, delta=)
  kl_divergence                    kl_divergence(y_pred = log q, y_true) / kl_divergence_with_log_targets   (log_input only)
  l2_loss, log_cosh                l2_loss / log_cosh(y_pred, y_true)
  mean_squared_error               squared_error(y_pred, y_true)
  multiclass_hinge_loss, multiclass_perceptron_loss, multiclass_sparsemax_loss    <fn>(scores, labels)
  ntxent                           ntxent(embeddings, labels, temperature=)                     (a scalar: the mean)
  perceptron_loss, sparsemax_loss  <fn>(y_pred, y_true)
  poly_loss_cross_entropy          poly_loss_cross_entropy(y_pred, y_true, epsilon=, axis=)
  ranking_softmax_loss             ranking_softmax_loss(y_pred, y_true, reduce_fn=None)         (jnp reduces, as for every loss)
  triplet_margin                   triplet_margin_loss(anchor, positive, negative, norm_degree=p, margin=, eps=)

Layouts: sparse labels of shape (B, 1) are reshaped to the per-sample shape optax wants; multiclass_sparsemax_loss
vmaps over the first axis only, so scores of rank 3 run as rows (-1, C) and the result is reshaped back; CTC's
input_lengths T_b become logit_paddings[b, t] = (t >= T_b) and its targets' -1 padding label_paddings =
(label < 0), both in the logits' dtype, the targets keeping their -1 padding (a padding equal to the last label would
make optax's repeat test suppress the final transition).

What optax cannot express raises Unsupported naming what it lacks (``ONLY``: the one value of a canonical parameter
optax computes; ``reductions``: losses optax returns reduced). Parameter values enter the call as Python scalars,
as an optax user writes them (JAX converts them to the logits' dtype: the specs' ``round_params``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import specs
from adapters import reproduce
from adapters.base import Unsupported
from core.case import Case

_LOGITS_ONLY = (True, "{fn} takes logits only; optax has no version of it from probabilities")


@dataclass(frozen=True)
class OptaxLoss:
    """One optax call: ``call`` is source text over the inputs' names and ``{fields}`` (every parameter, as an
    exact literal, plus what ``fields`` derives); ``per_sample`` says the shape of what it returns."""

    call: str
    per_sample: str = "element"  # "element": y_pred's shape; "axis": y_pred's without the axis param (or -1); "scalar"
    only: dict = field(default_factory=dict)  # canonical param -> (the only value optax computes, what it lacks)
    fields: Callable[[dict], dict] | None = None  # params -> further template fields (source text)
    layout: Callable | None = None  # (case, params) -> (inputs, per-sample shape): layouts optax reads differently
    reductions: tuple[str, ...] | None = None  # the reductions optax applies itself (None: jax.numpy reduces)
    rows: bool = False  # optax takes (B, C) only: other ranks run as rows (-1, C), the result reshaped back


def _sparse(case: Case, params: dict):
    """Integer labels with the logits' shape less the class axis ((B, 1) -> (B,))."""
    y_pred, axis = case.y_pred, params.get("axis", -1)
    shape = tuple(n for i, n in enumerate(y_pred.shape) if i != axis % max(y_pred.ndim, 1))
    y_true = case.y_true
    if y_true.shape != shape and y_true.size == int(np.prod(shape)):
        y_true = y_true.reshape(shape)
    return {"y_pred": y_pred, "y_true": y_true}, shape


def _ctc(case: Case, params: dict):
    logits, targets = case.inputs["log_probs"], np.asarray(case.inputs["targets"])
    frames = np.arange(logits.shape[1])[None, :] >= np.asarray(case.inputs["input_lengths"])[:, None]
    return {"logits": logits, "logit_paddings": frames.astype(logits.dtype), "targets": targets,
            "label_paddings": (targets < 0).astype(logits.dtype)}, (logits.shape[0],)


def _triplet(case: Case, params: dict):
    return dict(case.inputs), case.inputs["anchor"].shape[:-1]


def _smoothed(p: dict) -> dict:
    if not p["label_smoothing"]:
        return {"labels": "y_true"}
    return {"labels": f"optax.losses.smooth_labels(y_true, {reproduce.value(float(p['label_smoothing']))}, axis={p['axis']})"}


_BINARY = {"from_logits": _LOGITS_ONLY,
           "label_smoothing": (0.0, "optax has no binary label smoothing (smooth_labels mixes with 1/K over a class "
                                    "axis, not with 1/2)"),
           "axis": (-1, "{fn} is elementwise and has no axis parameter")}

CALLS = {
    "binary_crossentropy": OptaxLoss("optax.losses.sigmoid_binary_cross_entropy(y_pred, y_true)", only=_BINARY),
    "binary_focal_crossentropy": OptaxLoss(
        "optax.losses.sigmoid_focal_loss(y_pred, y_true, alpha={alpha}, gamma={gamma})", only=_BINARY,
        fields=lambda p: {"alpha": reproduce.value(float(p["alpha"])) if p["apply_class_balancing"] else "None"}),
    "categorical_crossentropy": OptaxLoss(
        "optax.losses.softmax_cross_entropy(y_pred, {labels}, axis={axis})", "axis",
        only={"from_logits": _LOGITS_ONLY}, fields=_smoothed),
    "sparse_categorical_crossentropy": OptaxLoss(
        "optax.losses.softmax_cross_entropy_with_integer_labels(y_pred, y_true, axis={axis})", "axis", layout=_sparse,
        only={"from_logits": _LOGITS_ONLY, "class_weight": (None, "{fn} has no class weights"),
              "ignore_class": (None, "{fn} has no ignored class (its where= masks classes, not samples)")}),
    "cosine_similarity": OptaxLoss("optax.losses.cosine_distance(y_pred, y_true, axis={axis})", "axis"),
    "ctc": OptaxLoss(
        "optax.losses.ctc_loss(logits, logit_paddings, targets, label_paddings, blank_id={blank})", layout=_ctc,
        only={"from_logits": (True, "{fn} applies log_softmax to its logits; it cannot take "
                                    "log-probabilities used as they are"),
              "zero_infinity": (False, "{fn} has no zero_infinity (an impossible alignment costs about "
                                       "-log_epsilon = 1e5)")}),
    "generalized_kl_divergence": OptaxLoss("optax.losses.generalized_kl_divergence(y_pred, y_true, axis={axis})", "axis"),
    "hinge": OptaxLoss("optax.losses.hinge_loss(y_pred, y_true)"),
    "huber": OptaxLoss("optax.losses.huber_loss(y_pred, y_true, delta={delta})"),
    "kl_divergence": OptaxLoss(
        "optax.losses.{fn}(y_pred, y_true)", "axis",
        only={"log_input": (True, "{fn} takes log-probabilities as predictions (log_input=True); "
                                  "probabilities would need a log outside the library")},
        fields=lambda p: {"fn": "kl_divergence_with_log_targets" if p["log_target"] else "kl_divergence"}),
    "l2_loss": OptaxLoss("optax.losses.l2_loss(y_pred, y_true)"),
    "log_cosh": OptaxLoss("optax.losses.log_cosh(y_pred, y_true)"),
    "mean_squared_error": OptaxLoss("optax.losses.squared_error(y_pred, y_true)"),
    "multiclass_hinge_loss": OptaxLoss("optax.losses.multiclass_hinge_loss(y_pred, y_true)", layout=_sparse),
    "multiclass_perceptron_loss": OptaxLoss("optax.losses.multiclass_perceptron_loss(y_pred, y_true)", layout=_sparse),
    "multiclass_sparsemax_loss": OptaxLoss("optax.losses.multiclass_sparsemax_loss(y_pred, y_true)", layout=_sparse,
                                           rows=True),
    "ntxent": OptaxLoss("optax.losses.ntxent(y_pred, y_true, temperature={temperature})", "scalar",
                        reductions=("sum_over_batch_size",)),
    "perceptron_loss": OptaxLoss("optax.losses.perceptron_loss(y_pred, y_true)"),
    "poly_loss_cross_entropy": OptaxLoss(
        "optax.losses.poly_loss_cross_entropy(y_pred, y_true, epsilon={epsilon}, axis={axis})", "axis"),
    "ranking_softmax_loss": OptaxLoss("optax.losses.ranking_softmax_loss(y_pred, y_true, reduce_fn=None)", "axis"),
    "sparsemax_loss": OptaxLoss("optax.losses.sparsemax_loss(y_pred, y_true)"),
    "triplet_margin": OptaxLoss(
        "optax.losses.triplet_margin_loss(anchor, positive, negative, norm_degree={p}, margin={margin}, eps={eps})",
        layout=_triplet, only={"swap": (False, "{fn} has no swap (the anchor-negative distance only)")}),
}


def optax_call(case: Case) -> tuple[str, dict, tuple]:
    """(the optax call as source text, its numpy inputs by name, the per-sample shape it returns), or Unsupported.

    Imports nothing: the adapter's ``plan`` (hence ``supports``) is built on it."""
    entry = CALLS[case.loss]
    spec, fixed = specs.resolve(case.loss)
    params = spec.resolve_params({**case.kwargs, **fixed})
    text = {k: reproduce.value(float(v) if isinstance(v, (float, np.floating)) else v) for k, v in params.items()}
    call = entry.call.format_map({**text, **(entry.fields(params) if entry.fields else {})})
    fn = call.split("(", 1)[0]
    for name, (value, lacks) in entry.only.items():
        if params[name] != value:
            raise Unsupported(lacks.format(fn=fn) + f" ({name}={params[name]!r})")
    if entry.reductions is not None:
        if case.reduction not in entry.reductions:
            raise Unsupported(f"{fn} returns only its own mean, the canonical {' / '.join(entry.reductions)}, "
                              f"not {case.reduction!r}")
        if case.sample_weight is not None:
            raise Unsupported(f"{fn} returns one reduced value and takes no sample weights")
    if "y_pred" not in case.inputs:  # a layout of named inputs (ctc, triplet_margin)
        inputs, shape = entry.layout(case, params)
        return call, inputs, tuple(shape)
    y_pred, axis = case.y_pred, params.get("axis", -1)
    if entry.per_sample == "axis" and not -y_pred.ndim <= axis < max(y_pred.ndim, 1):
        raise Unsupported(f"axis {axis} is out of range for {y_pred.ndim}-d input")  # optax would index wrongly
    if entry.layout is not None:
        inputs, shape = entry.layout(case, params)
    else:
        inputs = {"y_pred": y_pred, "y_true": case.y_true}
        shape = {"element": y_pred.shape, "scalar": (),
                 "axis": tuple(n for i, n in enumerate(y_pred.shape) if i != axis % max(y_pred.ndim, 1))}[entry.per_sample]
    if entry.rows and y_pred.ndim != 2:
        inputs = {"y_pred": y_pred.reshape(-1, y_pred.shape[-1]), "y_true": inputs["y_true"].reshape(-1)}
        call = f"{call}.reshape({tuple(shape)!r})"
    return call, inputs, tuple(shape)
