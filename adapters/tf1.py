"""TensorFlow 1 losses: ``tf.compat.v1.losses`` called eagerly in TF 2.21.

Every function of ``tf.compat.v1.losses`` is one row of ``_FUNCTIONS``: the canonical loss it computes, its
names for (y_true, y_pred), the rank of its elementwise losses, the canonical parameters it takes (and the
keyword each goes to), and the parameter values it implies (``fixed``). Adding a loss is adding a row.

  binary_crossentropy              sigmoid_cross_entropy(multi_class_labels, logits, label_smoothing)  from_logits
                                   log_loss(labels, predictions, epsilon=1e-7)                          from probabilities
  categorical_crossentropy         softmax_cross_entropy(onehot_labels, logits, label_smoothing)       logits, last axis
  sparse_categorical_crossentropy  sparse_softmax_cross_entropy(labels, logits)                        logits, last axis
  mean_squared_error               mean_squared_error(labels, predictions)
  mean_absolute_error              absolute_difference(labels, predictions)
  huber                            huber_loss(labels, predictions, delta)
  hinge                            hinge_loss(labels, logits)                                           0/1 labels
  cosine_distance                  cosine_distance(labels, predictions, axis)
  mean_pairwise_squared_error      mean_pairwise_squared_error(labels, predictions)                    no reduction: sum

Conventions worth knowing:
* Losses are elementwise (no mean over the last axis) except the softmax ones (per row) and cosine_distance
  (the summed axis kept with size 1).
* ``weights`` must be a scalar or have the rank of the elementwise losses, so canonical (B,) sample weights go
  through ``mapping.align_weights`` ((B,) -> (B,1) for (B,C) losses). Without sample weights the Python float 1.0
  is passed, which is what a user writes (and what makes ``num_present`` take its scalar shortcut).
* ``compute_weighted_loss`` reduces in float32 and casts back, even for float64 inputs; the regression, hinge,
  log and cosine losses cast their inputs to float32 first. The default reduction is SUM_BY_NONZERO_WEIGHTS;
  MEAN is the canonical ``mean_with_sample_weight``.
* mean_pairwise_squared_error takes no reduction: it returns sum_b w_b l_b (canonical ``sum``), in float32.
  Called eagerly with a scalar weight it counts the pairs of the whole batch (spec: semantics ``tf1_eager``);
  the adapter declares the documented ``tf1`` and the eager miscount is a recorded finding.

Gradients (``gradient``/``gradient_source``): a GradientTape (forward mode: ``tf.autodiff.ForwardAccumulator``
JVPs, ``autodiff.tf_jacfwd``) around the same eager call, the canonical inputs as leaves and the sample weights
aligned inside the differentiated function. softmax_cross_entropy stops the gradient of its
labels (``labels_stop_gradient`` in losses_impl.py): their gradient is TF's zero.

Binary cross-entropy has two TF1 spellings, chosen by ``from_logits``. An adapter declares one semantics per
loss and the suite asks for it before any parameter is drawn (``semantics_for(loss)``; variants never reach
it), so neither a variant nor a parameter can switch semantics. It declares ``tf1_log_loss``: on probabilities
that is log_loss exactly (eps inside the logs, inputs cast to float32); on logits its probability switches are
inert and it equals ``tf1`` except for the float32 input cast, which is exact for float32 and narrower inputs
(sigmoid_cross_entropy computes in float16/bfloat16, whose results the float32 cast represents exactly) and,
for float64 logits, rounds the input where TF rounds the result (a difference the conditioning-scaled
tolerance covers).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adapters import autodiff, mapping, reproduce
from adapters.base import Adapter, Call, Unsupported
from adapters.tf_runtime import gpu_available, tf_device, tf_environment, tf_module
from core.case import Case

_LAST = "last"  # a ``fixed`` axis value: the last axis, however spelt


@dataclass(frozen=True)
class _Function:
    loss: str                       # canonical loss
    name: str                       # tf.compat.v1.losses.<name>
    args: tuple[str, str]           # its names for y_true, y_pred
    rank: int = 0                   # rank of its elementwise losses minus y_pred's (-1: one loss per row)
    params: dict = field(default_factory=dict)  # canonical parameter -> its keyword
    fixed: dict = field(default_factory=dict)   # canonical parameter -> the only value it can express
    reductions: bool = True         # False: no reduction argument, it always returns the canonical "sum"
    keepdims: str | None = None     # the parameter naming an axis the losses keep with size 1


_ELEMENTWISE = {"axis": _LAST}  # elementwise losses have no axis to reduce: only the default can be expressed
_FUNCTIONS = (
    _Function("binary_crossentropy", "sigmoid_cross_entropy", ("multi_class_labels", "logits"),
              params={"label_smoothing": "label_smoothing"}, fixed={"from_logits": True, **_ELEMENTWISE}),
    _Function("binary_crossentropy", "log_loss", ("labels", "predictions"),
              fixed={"from_logits": False, "label_smoothing": 0.0, **_ELEMENTWISE}),
    _Function("categorical_crossentropy", "softmax_cross_entropy", ("onehot_labels", "logits"), rank=-1,
              params={"label_smoothing": "label_smoothing"}, fixed={"from_logits": True, "axis": _LAST}),
    _Function("sparse_categorical_crossentropy", "sparse_softmax_cross_entropy", ("labels", "logits"), rank=-1,
              fixed={"from_logits": True, "axis": _LAST, "ignore_class": None, "class_weight": None}),
    _Function("mean_squared_error", "mean_squared_error", ("labels", "predictions")),
    _Function("mean_absolute_error", "absolute_difference", ("labels", "predictions")),
    _Function("huber", "huber_loss", ("labels", "predictions"), params={"delta": "delta"}),
    _Function("hinge", "hinge_loss", ("labels", "logits")),
    _Function("cosine_distance", "cosine_distance", ("labels", "predictions"), params={"axis": "axis"},
              keepdims="axis"),
    _Function("mean_pairwise_squared_error", "mean_pairwise_squared_error", ("labels", "predictions"),
              reductions=False),
)
_NO_REDUCTION = {"sum": None}


def _function(case: Case) -> _Function:
    """The row computing ``case``, or Unsupported saying which parameter value no TF1 function expresses."""
    rows = [f for f in _FUNCTIONS if f.loss == case.loss]
    logits = bool(case.kwargs.get("from_logits", False))
    for f in rows:
        if f.fixed.get("from_logits", logits) == logits:
            return f
    if rows:
        raise Unsupported(f"tf.compat.v1.losses.{rows[0].name} takes logits only (from_logits=True)")
    raise Unsupported(f"tf.compat.v1.losses has no function for {case.loss}")


def _axis(case: Case, name: str = "axis") -> int:
    ndim = max(case.y_pred.ndim, 1)
    return case.kwargs.get(name, -1) % ndim


@dataclass(frozen=True)
class _Detail:
    """What ``run`` and ``source`` both read besides the keywords (``Call.detail``)."""
    args: tuple[str, str]                  # the function's names for y_true, y_pred
    reduction: str | None                  # attribute of tf.compat.v1.losses.Reduction (None: no such argument)
    weights: tuple[int, ...] | None        # the shape canonical sample weights take (None: the float 1.0)


class TF1Adapter(Adapter):
    name = "tf1"
    library = "tensorflow-cpu"
    semantics = {f.loss: "tf1+ftz" for f in _FUNCTIONS} | {"binary_crossentropy": "tf1_log_loss+ftz"}
    devices = ("cpu", "cuda")
    gradient_modes = ("reverse", "forward")  # GradientTape, ForwardAccumulator

    def setup(self) -> None:
        tf_module()

    def available_devices(self) -> tuple[str, ...]:
        return ("cpu", "cuda") if gpu_available() else ("cpu",)

    def environment(self) -> dict:
        return {**tf_environment(), "dtype_policy": "regression, hinge, log and cosine losses cast inputs to float32; "
                                                    "every reduction in float32"}

    # -- the contract ----------------------------------------------------------------------------
    def plan(self, case: Case) -> Call:
        """The function, its keywords, the reduction's spelling and the weights' shape; Unsupported for what
        tf.compat.v1.losses cannot express. Imports nothing."""
        f = _function(case)
        for param, value in case.kwargs.items():
            if param in f.params:
                continue
            if param not in f.fixed:
                raise Unsupported(f"tf.compat.v1.losses.{f.name} takes no parameter {param}")
            wanted = f.fixed[param]
            if wanted == _LAST:
                if _axis(case, param) != max(case.y_pred.ndim, 1) - 1:
                    raise Unsupported(f"tf.compat.v1.losses.{f.name} has no {param} parameter: "
                                      f"only the last axis can be expressed (got {param}={value})")
            elif value != wanted:
                raise Unsupported(f"tf.compat.v1.losses.{f.name} cannot express {param}={value!r} (only {wanted!r})")
        if f.reductions:
            reduction = mapping.reduction(mapping.TF1, case, "tf.compat.v1.losses")
        else:
            reduction = mapping.reduction(_NO_REDUCTION, case, f"tf.compat.v1.losses.{f.name} (it returns the weighted sum)")
        return Call(case, f"tf.compat.v1.losses.{f.name}", self._keywords(case, f),
                    _Detail(f.args, reduction, self._weights(case, f)))

    @staticmethod
    def _weights(case: Case, f: _Function) -> tuple[int, ...] | None:
        """The shape of canonical sample weights aligned with the function's elementwise losses (None: no
        sample weights). Only the shape changes: ``weights`` is ``case.sample_weight`` reshaped."""
        if case.sample_weight is None:
            return None
        if f.keepdims:  # aligned with the per-sample losses, then the kept axis put back with size 1
            w = mapping.align_weights(case.sample_weight, case.y_pred.ndim - 1)
            return np.expand_dims(w, _axis(case, f.keepdims)).shape
        return mapping.align_weights(case.sample_weight, case.y_pred.ndim + f.rank).shape

    @staticmethod
    def _keywords(case: Case, f: _Function) -> dict:
        """The function's keyword arguments: the case's parameters, the spec's defaults for those not given
        (cosine_distance has no default axis; the others' defaults are the canonical ones)."""
        import specs

        defaults = specs.all_specs()[case.loss].params
        return {kw: case.kwargs.get(p, defaults[p]["default"]) for p, kw in f.params.items()}

    def run(self, call: Call) -> np.ndarray:
        with tf_device(call.case):
            return self.to_numpy(self._loss(call, **self._tensors(call)), call.case)

    def gradient(self, call: Call, wrt: tuple[str, ...], cotangent, mode: str = "reverse") -> dict[str, np.ndarray]:
        """A GradientTape (forward mode: ForwardAccumulator JVPs) around ``run``'s eager call. Each differentiated
        input is the canonical array; the sample weights are aligned inside the differentiated function, so their
        gradient comes back in the canonical shape."""
        case, d = call.case, call.detail
        arrays = {name: autodiff.wrt_array(case, name) for name in wrt}  # Unsupported for an integer input
        tf = tf_module()
        with tf_device(case):
            given = self._tensors(call)
            leaves = {name: tf.constant(array) for name, array in arrays.items()}

            def loss(**differentiated):
                tensors = {**given, **{n: t for n, t in differentiated.items() if n != "sample_weight"}}
                if "sample_weight" in differentiated:
                    tensors["weights"] = tf.reshape(differentiated["sample_weight"], d.weights)
                return self._loss(call, **tensors)

            return (autodiff.tf_jacfwd if mode == "forward" else autodiff.tf_vjp)(loss, leaves, cotangent)

    @staticmethod
    def _tensors(call: Call) -> dict:
        """The tensors ``run`` passes: y_true, y_pred and the aligned weights (the float 1.0 without sample weights)."""
        tf, case, d = tf_module(), call.case, call.detail
        weights = 1.0 if d.weights is None else tf.constant(case.sample_weight.reshape(d.weights))
        return {"y_true": tf.constant(case.y_true), "y_pred": tf.constant(case.y_pred), "weights": weights}

    @staticmethod
    def _loss(call: Call, y_true, y_pred, weights):
        """The tf.compat.v1.losses function called eagerly with the call's keywords and reduction."""
        v1 = tf_module().compat.v1.losses
        d = call.detail
        keywords = {} if d.reduction is None else {"reduction": getattr(v1.Reduction, d.reduction)}
        return getattr(v1, call.target.rpartition(".")[2])(y_true, y_pred, weights=weights, loss_collection=None,
                                                          **keywords, **call.kwargs)

    def source(self, call: Call) -> str:
        """``tf.compat.v1.losses`` code for the call, as ``run`` makes it (weights aligned, reduction spelled)."""
        body, text = self._source_lines(call)
        body = reproduce.device_block(body + [f"loss = {text}"], self._reproducer_device(call.case))
        return reproduce.script("tf", call.case, body + [reproduce.printed("tf", "loss")])

    def gradient_source(self, call: Call, wrt: tuple[str, ...], cotangent, mode: str = "reverse") -> str:
        """``source``'s call under a GradientTape (forward mode: in the function whose JVPs are taken), as
        ``gradient`` runs it; the leaves are named as the function's
        arguments (labels, predictions or logits, weights)."""
        for name in wrt:
            autodiff.wrt_array(call.case, name)  # Unsupported as ``gradient`` raises it
        labels, predictions = call.detail.args
        names = [{"y_true": labels, "y_pred": predictions, "sample_weight": "weights"}[n] for n in wrt]
        body, text = self._source_lines(call, names)
        derivative = autodiff.tf_jacfwd_source if mode == "forward" else autodiff.tf_tape_source
        body = reproduce.device_block(body + derivative(names, text, cotangent),
                                      self._reproducer_device(call.case))
        return reproduce.script("tf", call.case, body)

    @staticmethod
    def _reproducer_device(case: Case) -> str | None:
        return "tf.device('/GPU:0')" if case.device == "cuda" else None

    @staticmethod
    def _source_lines(call: Call, differentiated: list[str] = ()) -> tuple[list[str], str]:
        """The lines making the inputs as ``run`` does, and the text of the call. ``differentiated``: the arguments a
        gradient reproducer differentiates; differentiated weights are written in their canonical shape, aligned
        inside the call."""
        case, d = call.case, call.detail
        labels, predictions = d.args
        body = [reproduce.array("tf", case.y_true, labels), reproduce.array("tf", case.y_pred, predictions)]
        keywords = {"weights": reproduce.Source("1.0")}
        if d.weights is not None and "weights" in differentiated:
            body += [reproduce.comment("canonical sample weights, aligned with the leading axes of the losses in the "
                                       "call"),
                     reproduce.array("tf", case.sample_weight, "weights")]
            keywords["weights"] = reproduce.Source(f"tf.reshape(weights, {tuple(d.weights)})")
        elif d.weights is not None:
            body += [reproduce.comment("canonical sample weights align with the leading axes of the losses"),
                     reproduce.array("tf", case.sample_weight.reshape(d.weights), "weights")]
            keywords["weights"] = reproduce.Source("weights")
        if d.reduction is not None:
            keywords["reduction"] = reproduce.Source(f"tf.compat.v1.losses.Reduction.{d.reduction}")
        keywords["loss_collection"] = None
        keywords.update(call.kwargs)
        return body, f"{call.target}({reproduce.call_args([labels, predictions], keywords)})"
