"""The torch.nn.functional losses beyond the cross-entropies and MSE, each planned once as a ``Call``.

Each ``_call_<loss>(case)`` is part of ``TorchAdapter.plan``: it touches no torch, raises Unsupported for
what torch cannot express, and returns the ``adapters.base.Call`` of ``F.<fn>`` (``torch_call``): its
keywords, and in ``detail`` (``TorchDetail``) its positional inputs, with every tensor still a numpy array
in the case dtype (int64 for labels and lengths). ``TorchAdapter.run`` runs that Call through torch (or
``torch.compile``) and ``TorchAdapter.source`` prints it as a reproducer, so what is computed and what is
printed cannot differ. Laying a canonical case out as torch's arguments happens here, on numpy arrays, and
is layout only (axis moves, broadcasts, label counts): no arithmetic on the values. The inputs are named as
in the specs (oracle/losses/torch_family.py and ctc.py):

  mean_absolute_error   F.l1_loss(y_pred, y_true, weight=sample weights)
  huber                 F.huber_loss(y_pred, y_true, delta=, weight=sample weights)
  smooth_l1             F.smooth_l1_loss(y_pred, y_true, beta=)
  kl_divergence         F.kl_div(y_pred = log q, y_true, log_target=)            (log_input=True only)
  poisson, poisson_nll  F.poisson_nll_loss(y_pred, y_true, log_input=, full= [, eps=])
  gaussian_nll          F.gaussian_nll_loss(input, target, var, full=, eps=)
  hinge_embedding       F.hinge_embedding_loss(y_pred, y_true, margin=)
  margin_ranking        F.margin_ranking_loss(input1, input2, target, margin=)
  multi_margin          F.multi_margin_loss(y_pred, labels, p=, margin=, weight=class weights)
  multilabel_margin     F.multilabel_margin_loss(y_pred, y_true)                 (-1-padded label rows)
  multilabel_soft_margin F.multilabel_soft_margin_loss(y_pred, y_true, weight=class weights)
  soft_margin           F.soft_margin_loss(y_pred, y_true)
  cosine_embedding      F.cosine_embedding_loss(input1, input2, target, margin=)
  cosine_similarity     F.cosine_embedding_loss(y_pred, y_true, ones, margin=0): 1 - cos, the spec's torch semantics
  triplet_margin        F.triplet_margin_loss(anchor, positive, negative, margin=, p=, eps=, swap=)
  nll                   F.nll_loss(y_pred with its class axis at 1, labels, weight=, ignore_index=)
  ctc                   F.ctc_loss(log_probs.movedim(0, 1), targets, input_lengths, label counts, blank=, zero_infinity=)

``MEAN`` is the one table of what torch's reduction="mean" computes per loss (for the four losses of
torch_functional.py too).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import specs
from adapters import mapping
from adapters.base import Call, Unsupported
from core import dtypes
from core.case import Case

SOBS, MWSW, WM = "sum_over_batch_size", "mean_with_sample_weight", "weighted_mean"


@dataclass(frozen=True)
class Mean:
    """The canonical reductions torch's ``reduction="mean"`` computes for one loss (several where they coincide)."""

    plain: tuple[str, ...]  # without weight=
    weighted: tuple[str, ...] = ()  # with weight= (sample or class weights); () where the loss takes none
    other: dict = field(default_factory=dict)  # further torch spellings: {canonical: torch}
    note: str = ""  # what the mean is, said when a reduction has no torch spelling


_BY_CLASS_WEIGHTS = "with weight=, torch's mean divides by the summed class weights, not by the number of targets"
_BY_WEIGHTS = "with weight=, torch's mean divides by sum(weight), not by the element count"

# What torch's "mean" divides by, per loss (docs/semantics.md#torch-reductions; each checked against torch 2.13.0).
MEAN = {
    "binary_crossentropy": Mean((SOBS,), (SOBS,)),  # sum(w l) / numel: weights do not normalise
    "categorical_crossentropy": Mean((SOBS,)),  # probability targets: sum / number of samples
    # class indices: sum(c_y l) / sum(c_y) over non-ignored targets, the number of them when every c_y is 1
    "sparse_categorical_crossentropy": Mean((SOBS, WM), (WM,), note=_BY_CLASS_WEIGHTS),
    "nll": Mean((SOBS, WM), (WM,), note=_BY_CLASS_WEIGHTS),
    "mean_squared_error": Mean((SOBS,), (MWSW,), note=_BY_WEIGHTS),  # weight=: sum(w l) / sum(w)
    "mean_absolute_error": Mean((SOBS,), (MWSW,), note=_BY_WEIGHTS),  # weight=: sum(w l) / sum(w)
    "huber": Mean((SOBS,), (SOBS,), note="with weight=, torch's mean is sum(w l) / numel"),  # unlike mse/l1_loss
    "smooth_l1": Mean((SOBS,)),
    "kl_divergence": Mean((SOBS,), other={"batchmean": "batchmean"}),  # mean: / numel; batchmean: / input.size(0)
    "poisson": Mean((SOBS,)),
    "poisson_nll": Mean((SOBS,)),
    "gaussian_nll": Mean((SOBS,)),
    "hinge_embedding": Mean((SOBS,)),
    "margin_ranking": Mean((SOBS,)),
    "multi_margin": Mean((SOBS,), (SOBS,)),  # class weight c_y multiplies each loss; the mean divides by N
    "multilabel_margin": Mean((SOBS,)),
    "multilabel_soft_margin": Mean((SOBS,), (SOBS,)),  # class weights inside each sample's sum; mean over N
    "soft_margin": Mean((SOBS,)),
    "cosine_embedding": Mean((SOBS,)),
    "cosine_similarity": Mean((SOBS,)),
    "triplet_margin": Mean((SOBS,)),
    "ctc": Mean(("mean_by_length",), note="torch's mean divides each loss by its target length first"),
}


def reduction(case: Case, weighted: bool = False) -> str:
    """torch's spelling of ``case.reduction`` for this loss (``weighted``: weight= is passed), or Unsupported."""
    mean = MEAN[case.loss]
    means = mean.weighted if weighted else mean.plain
    table = {**{k: v for k, v in mapping.TORCH.items() if v != "mean"}, **{r: "mean" for r in means}, **mean.other}
    try:
        return mapping.reduction(table, case, "torch")
    except Unsupported as exc:  # the note says why where the request is a mean torch spells otherwise
        explains = mean.note and case.reduction in (SOBS, *mean.plain, *mean.weighted)
        raise Unsupported(f"{exc}; {mean.note}" if explains else str(exc)) from None


@dataclass(frozen=True, eq=False)
class Moved:
    """A tensor whose ``axis`` ``torch.movedim`` moves to dim 1: torch's class dim (a 1-D tensor is one sample
    whose class dim is 0: left as it is), or CTC's batch dim of (T, B, C). The move is torch's (a view), as a torch
    user writes it, so the array stays the canonical input itself and its gradient comes back in its layout."""

    array: np.ndarray
    axis: int


@dataclass(frozen=True, eq=False)
class Broadcast:
    """A ``weight=`` that ``torch.broadcast_to`` spreads to the shape of the positional argument ``like`` (a view);
    ``array`` holds the canonical sample weights already aligned with the leading axes."""

    array: np.ndarray
    like: str = "y_pred"


@dataclass(frozen=True, eq=False)
class TorchDetail:
    """``Call.detail`` of a torch call (its ``target`` is ``F.<fn>``, its ``kwargs`` the keywords: numpy arrays,
    ``Broadcast`` or plain Python values)."""

    args: tuple  # ((name, numpy array or Moved), ...) positional, in order
    out_shape: tuple | None = None  # reshape the result to this (a loss run on flattened rows)
    notes: tuple = ()  # comment lines for the reproducer
    compile: bool = False  # variant compile: run through torch.compile, compiled afresh


def torch_call(case: Case, fn: str, args, kwargs: dict, *, out_shape: tuple | None = None, notes=()) -> Call:
    """The Call of ``torch.nn.functional.<fn>(*args, **kwargs)`` for ``case`` (its variant decides compile)."""
    return Call(case, f"F.{fn}", kwargs, TorchDetail(tuple(args), out_shape, tuple(notes), compile=case.variant == "compile"))


def _params(case: Case) -> dict:
    """The loss's parameters with the spec's defaults filled in (torch's own defaults may differ)."""
    spec, fixed = specs.resolve(case.loss)
    return spec.resolve_params({**case.kwargs, **fixed})


def _no_sample_weight(case: Case, fn: str) -> None:
    if case.sample_weight is not None:
        raise Unsupported(f"torch.nn.functional.{fn} has no per-sample weights")


def _class_weight(values, case: Case):
    return None if values is None else dtypes.to_dtype(np.asarray(values, dtype=float), case.dtype)


def _inputs(case: Case, *names: str) -> list[tuple[str, np.ndarray]]:
    """The named inputs, as torch's positional arguments of the same names."""
    return [(name, case.inputs[name]) for name in names]


def _axis_last(array, axis: int) -> np.ndarray:
    """``array`` with ``axis`` moved last: the input itself where it is last already (then it reaches torch as it is,
    and has a gradient), else a numpy copy laid out for torch."""
    array = np.asarray(array)
    return array if array.ndim and axis in (-1, array.ndim - 1) else np.moveaxis(array, axis, -1)


def _labels(case: Case, axis: int = -1) -> np.ndarray:
    """Sparse class labels as torch wants them: a trailing size-1 label axis ((B, 1) canonical) squeezed."""
    labels, nd = np.asarray(case.y_true), np.ndim(case.y_pred)
    if labels.ndim == nd and -nd <= axis < nd and labels.shape[axis] == 1:
        labels = labels.squeeze(axis % nd)
    return labels


class TorchLossesMixin:
    """``_call_<loss>(case) -> Call`` for each loss, the per-loss part of ``TorchAdapter.plan``; the adapter
    supplies ``_takes_weight(fn)``: whether this torch's F.<fn> has a weight= argument (probed in its setup)."""

    def _elementwise(self, fn: str, case: Case, broadcast: bool = False, **params) -> Call:
        """F.<fn>(y_pred, y_true, ...) elementwise, with sample weights as weight= where this torch has it;
        ``broadcast``: the weights are broadcast by torch (binary cross-entropy, MSE), else passed at full shape."""
        kwargs = dict(params)
        notes = ()
        if case.sample_weight is not None:
            if not self._takes_weight(fn):
                raise Unsupported(f"torch.nn.functional.{fn} has no weight= argument in this torch version")
            # canonical sample weights align with the leading axes; torch wants weight of the input's shape
            aligned = mapping.align_weights(case.sample_weight, case.y_pred.ndim)
            kwargs["weight"] = Broadcast(aligned) if broadcast else np.broadcast_to(aligned, case.y_pred.shape)
            notes = ("canonical sample weights align with the leading axes, broadcast to the input",)
        kwargs["reduction"] = reduction(case, weighted=case.sample_weight is not None)
        return torch_call(case, fn, [("y_pred", case.y_pred), ("y_true", case.y_true)], kwargs, notes=notes)

    def _call_mean_absolute_error(self, case: Case) -> Call:
        return self._elementwise("l1_loss", case)

    def _call_huber(self, case: Case) -> Call:
        return self._elementwise("huber_loss", case, delta=float(_params(case)["delta"]))

    def _call_smooth_l1(self, case: Case) -> Call:
        _no_sample_weight(case, "smooth_l1_loss")
        return self._elementwise("smooth_l1_loss", case, beta=float(_params(case)["beta"]))

    def _call_kl_divergence(self, case: Case) -> Call:
        p = _params(case)
        if not p["log_input"]:
            raise Unsupported("torch kl_div takes log-probabilities as input (log_input=True, the kl_div alias); "
                              "probabilities would need a log outside the library")
        _no_sample_weight(case, "kl_div")
        return self._elementwise("kl_div", case, log_target=bool(p["log_target"]))

    def _call_poisson(self, case: Case) -> Call:
        # the canonical poisson is torch's poisson_nll_loss with the spec's default log_input=False; eps stays torch's 1e-8
        p = _params(case)
        _no_sample_weight(case, "poisson_nll_loss")
        return self._elementwise("poisson_nll_loss", case, log_input=bool(p["log_input"]), full=bool(p["full"]))

    def _call_poisson_nll(self, case: Case) -> Call:
        p = _params(case)
        _no_sample_weight(case, "poisson_nll_loss")
        return self._elementwise("poisson_nll_loss", case, log_input=bool(p["log_input"]), full=bool(p["full"]),
                                 eps=float(p["eps"]))

    def _call_hinge_embedding(self, case: Case) -> Call:
        _no_sample_weight(case, "hinge_embedding_loss")
        return self._elementwise("hinge_embedding_loss", case, margin=float(_params(case)["margin"]))

    def _call_soft_margin(self, case: Case) -> Call:
        _no_sample_weight(case, "soft_margin_loss")
        return self._elementwise("soft_margin_loss", case)

    def _call_multilabel_margin(self, case: Case) -> Call:
        _no_sample_weight(case, "multilabel_margin_loss")
        return self._elementwise("multilabel_margin_loss", case)

    def _call_multilabel_soft_margin(self, case: Case) -> Call:
        _no_sample_weight(case, "multilabel_soft_margin_loss")
        weight = _class_weight(_params(case)["class_weight"], case)
        return torch_call(case, "multilabel_soft_margin_loss", [("y_pred", case.y_pred), ("y_true", case.y_true)],
                          {"weight": weight, "reduction": reduction(case, weighted=weight is not None)})

    def _call_multi_margin(self, case: Case) -> Call:
        _no_sample_weight(case, "multi_margin_loss")
        p = _params(case)
        weight = _class_weight(p["class_weight"], case)
        return torch_call(case, "multi_margin_loss", [("y_pred", case.y_pred), ("labels", _labels(case))],
                          {"p": int(p["p"]), "margin": float(p["margin"]), "weight": weight,
                           "reduction": reduction(case, weighted=weight is not None)})

    def _call_nll(self, case: Case) -> Call:
        _no_sample_weight(case, "nll_loss")
        p = _params(case)
        axis = p["axis"]
        weight = _class_weight(p["class_weight"], case)
        # torch's class dim is 1 (0 for one 1-D sample); ignore_class=None is torch's default ignore_index=-100
        ignore = p["ignore_class"]
        return torch_call(case, "nll_loss", [("y_pred", Moved(case.y_pred, axis)), ("labels", _labels(case, axis))],
                          {"weight": weight, "ignore_index": -100 if ignore is None else int(ignore),
                           "reduction": reduction(case, weighted=weight is not None)})

    def _call_gaussian_nll(self, case: Case) -> Call:
        _no_sample_weight(case, "gaussian_nll_loss")
        p = _params(case)
        return torch_call(case, "gaussian_nll_loss", _inputs(case, "input", "target", "var"),
                          {"full": bool(p["full"]), "eps": float(p["eps"]), "reduction": reduction(case)})

    def _call_margin_ranking(self, case: Case) -> Call:
        _no_sample_weight(case, "margin_ranking_loss")
        return torch_call(case, "margin_ranking_loss", _inputs(case, "input1", "input2", "target"),
                          {"margin": float(_params(case)["margin"]), "reduction": reduction(case)})

    def _call_cosine_embedding(self, case: Case) -> Call:
        _no_sample_weight(case, "cosine_embedding_loss")
        return torch_call(case, "cosine_embedding_loss", _inputs(case, "input1", "input2", "target"),
                          {"margin": float(_params(case)["margin"]), "reduction": reduction(case)})

    def _call_cosine_similarity(self, case: Case) -> Call:
        # the spec's torch semantics: cosine_embedding_loss with target 1, i.e. 1 - cos per row. It takes rows
        # of a 2-D input, so the feature axis goes last and the leading axes are flattened (and restored).
        _no_sample_weight(case, "cosine_embedding_loss")
        axis = _params(case)["axis"]
        pred, true = (_axis_last(a, axis) for a in (case.y_pred, case.y_true))
        rows = pred.shape[:-1]
        flat = (lambda a: a) if len(rows) <= 1 else (lambda a: a.reshape(-1, a.shape[-1]))
        ones = np.ones(flat(pred).shape[:-1], dtype=pred.dtype)
        return torch_call(case, "cosine_embedding_loss", [("y_pred", flat(pred)), ("y_true", flat(true)), ("target", ones)],
                          {"margin": 0.0, "reduction": reduction(case)},
                          out_shape=rows if len(rows) > 1 and case.reduction == "none" else None,
                          notes=["cosine_similarity as torch writes it: cosine_embedding_loss with target 1 (1 - cos)"])

    def _call_triplet_margin(self, case: Case) -> Call:
        _no_sample_weight(case, "triplet_margin_loss")
        p = _params(case)
        return torch_call(case, "triplet_margin_loss", _inputs(case, "anchor", "positive", "negative"),
                          {"margin": float(p["margin"]), "p": float(p["p"]), "eps": float(p["eps"]), "swap": bool(p["swap"]),
                           "reduction": reduction(case)})

    def _call_ctc(self, case: Case) -> Call:
        _no_sample_weight(case, "ctc_loss")
        p = _params(case)
        if p["from_logits"]:
            raise Unsupported("torch ctc_loss takes log-probabilities (used as they are); from_logits would need a "
                              "log_softmax outside the loss")
        labels = np.asarray(case.inputs["targets"], dtype=np.int64)
        # the label count of each row: its entries before the first -1 (the canonical padding)
        padded = np.concatenate([labels, np.full((labels.shape[0], 1), -1, dtype=np.int64)], axis=1)
        counts = np.argmax(padded < 0, axis=1).astype(np.int64)
        return torch_call(case, "ctc_loss", [("log_probs", Moved(case.inputs["log_probs"], 0)), ("targets", labels),
                                             ("input_lengths", case.inputs["input_lengths"]), ("target_lengths", counts)],
                          {"blank": int(p["blank"]), "reduction": reduction(case), "zero_infinity": bool(p["zero_infinity"])},
                          notes=["log_probs is batch-major (B, T, C): torch takes (T, B, C); a row of targets is its labels, "
                                 "then -1 padding"])
