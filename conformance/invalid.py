"""Invalid inputs, generated from each spec's declared domains (input kinds, shapes, parameter ranges).

Each generator takes a valid base case of a loss and breaks one thing. The oracle rejects every result
with a ValueError; the suite records whether each implementation raised (as it should) or returned a
number (``accepted_invalid``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import specs

BATCH, CLASSES = 4, 3


@dataclass(frozen=True)
class InvalidInput:
    id: str  # e.g. "sparse_categorical_crossentropy/label-at-num-classes"
    loss: str
    why: str
    inputs: dict  # name -> array, as the spec names the loss's inputs
    params: dict
    sample_weight: np.ndarray | None = None

    @property
    def invalid_class(self) -> str:
        """What is wrong with it, whatever the loss: "label-at-num-classes"."""
        return self.id.split("/", 1)[1]


def case_of(invalid: InvalidInput, adapter, variant: str, device: str, dtype: str):
    """The invalid input as ``adapter``'s test runs it: reduction sum, under the adapter's semantics of the loss."""
    return specs.make_case(invalid.loss, inputs=invalid.inputs, params=invalid.params, dtype=dtype,
                           sample_weight=invalid.sample_weight, reduction="sum",
                           semantics=adapter.semantics_for(invalid.loss) or "ideal", device=device, variant=variant,
                           origin=f"invalid:{invalid.id}")


def _base(spec, rng, from_logits: bool):
    """A valid {y_true, y_pred} of shape (BATCH, CLASSES) for the spec's input kinds (two-input layouts)."""
    kinds = spec.inputs
    if from_logits:
        y_pred = rng.normal(size=(BATCH, CLASSES))
    elif kinds["y_pred"] == "probability":
        raw = rng.uniform(0.05, 1.0, size=(BATCH, CLASSES))
        y_pred = raw / raw.sum(axis=-1, keepdims=True) if kinds.get("positive_row_sums") else raw
    else:
        y_pred = rng.normal(size=(BATCH, CLASSES))
        if kinds["y_pred"] == "nonnegative":
            y_pred = np.abs(y_pred)
    labels = rng.integers(0, CLASSES, size=BATCH)
    if kinds["y_true"] == "class_index":
        y_true = labels
    elif kinds["y_true"] == "probability":
        y_true = np.eye(CLASSES)[labels] if kinds.get("positive_row_sums") else rng.integers(0, 2, size=(BATCH, CLASSES)).astype(float)
    elif kinds["y_true"] in ("sign", "integer"):
        y_true = rng.choice([-1.0, 1.0], size=(BATCH, CLASSES))
    else:
        y_true = rng.normal(size=(BATCH, CLASSES))
        if kinds["y_true"] == "nonnegative":
            y_true = np.abs(y_true)
    return {"y_true": y_true, "y_pred": y_pred}


def _example_base(spec, from_logits: bool):
    """The first documented example with the wanted from_logits whose inputs the oracle accepts: the base
    for losses whose custom layouts or per-loss rules the generic base above does not satisfy."""
    for example in spec.examples:
        params = dict(example.get("params") or {})
        if ("from_logits" in spec.params) and bool(params.get("from_logits")) != from_logits:
            continue
        inputs = {name: np.asarray(a, dtype=None if name in spec.integer_inputs else float)
                  for name, a in spec.example_inputs(example).items()}
        if inputs[spec.prediction].ndim >= 1 and _valid(spec, inputs, params):
            return inputs, params
    return None


def _two_inputs(mutate):
    """A breakage written on (y_true, y_pred) as one on the inputs by name."""
    def on_inputs(inputs, rng):
        y_true, y_pred, weights, params = mutate(inputs["y_true"], inputs["y_pred"], rng)
        return {"y_true": y_true, "y_pred": y_pred}, weights, params
    return on_inputs


def _named_breakages(spec):
    """The generic breakages of a layout of named inputs: a NaN in each float input, an infinity in each one
    measured on the real line (not in a logit, where it is a limit the loss is defined at, nor in a sign)."""
    out = []
    for name in spec.input_names:
        kind = spec.inputs[name]
        if kind in specs.INTEGER_KINDS:
            continue
        out.append((f"nan-{name}", f"a NaN in {name}", False,
                    lambda inputs, r, name=name: ({**inputs, name: _set(inputs[name], np.nan)}, None, {})))
        if kind not in ("logit", "sign"):
            out.append((f"inf-{name}", f"an infinity in {name}", kind == "probability",
                        lambda inputs, r, name=name: ({**inputs, name: _set(inputs[name], np.inf)}, None, {})))
    return out


def _breakages(spec):
    """(id, why, needs_probabilities, mutate) where mutate(inputs, rng) -> (inputs, weights, params)."""
    if not spec.two_inputs:
        return _named_breakages(spec)
    return [(name, why, needs, _two_inputs(mutate)) for name, why, needs, mutate in _two_input_breakages(spec)]


def _two_input_breakages(spec):
    """(id, why, needs_probabilities, mutate) where mutate(y_true, y_pred, rng) -> (y_true, y_pred, weights, params)."""
    kinds = spec.inputs
    same = kinds["shapes"] == "same"
    custom = kinds["shapes"] == "custom"  # the loss module's CHECKS know its shapes; only generic breakages here
    out = []
    add = lambda *a: out.append(a)
    if kinds["y_true"] == "class_index" and kinds["shapes"] == "sparse":
        add("label-at-num-classes", "a label equal to the number of classes", False,
            lambda t, p, r: (np.r_[CLASSES, t[1:]], p, None, {}))
        add("label-negative", "a negative label", False, lambda t, p, r: (np.r_[-2, t[1:]], p, None, {}))
        add("label-minus-one", "label -1 where it is not the ignore value", False, lambda t, p, r: (np.r_[-1, t[1:]], p, None, {}))
        add("label-minus-100", "label -100 (torch's default ignore_index) where nothing is ignored", False,
            lambda t, p, r: (np.r_[-100, t[1:]], p, None, {}))
        add("one-hot-where-sparse-expected", "one-hot targets given to a sparse loss", False,
            lambda t, p, r: (np.eye(CLASSES, dtype=np.int64)[t], p, None, {}))
    if same and kinds.get("positive_row_sums"):
        add("sparse-where-one-hot-expected", "integer labels of shape (N, 1) given to a dense loss", False,
            lambda t, p, r: (r.integers(0, CLASSES, size=(BATCH, 1)), p, None, {}))
    if same:
        add("column-against-flat", "targets of shape (N, 1) against predictions of shape (N,)", False,
            lambda t, p, r: (t[:, :1], p[:, 0], None, {}))
    if kinds["y_true"] == "probability":
        add("target-above-one", "a target above 1", False, lambda t, p, r: (_set(t, 1.5), p, None, {}))
        add("target-negative", "a negative target", False, lambda t, p, r: (_set(t, -0.5), p, None, {}))
    if kinds["y_pred"] == "probability":
        add("probability-above-one", "a predicted probability above 1", True, lambda t, p, r: (t, _set(p, 1.5), None, {}))
        add("probability-negative", "a negative predicted probability", True, lambda t, p, r: (t, _set(p, -0.5), None, {}))
    add("nan-prediction", "a NaN prediction", False, lambda t, p, r: (t, _set(p, np.nan), None, {}))
    if kinds["y_pred"] != "logit":  # an infinite logit is a limit the loss is defined at; an infinite probability is not
        add("inf-prediction", "an infinite prediction", kinds["y_pred"] == "probability", lambda t, p, r: (t, _set(p, np.inf), None, {}))
    if kinds["y_true"] != "class_index":
        add("nan-target", "a NaN target", False, lambda t, p, r: (_set(t, np.nan), p, None, {}))
    if custom:
        return [b for b in out if b[0] in ("nan-prediction", "inf-prediction", "nan-target")]
    add("empty-batch", "an empty batch", False, lambda t, p, r: (t[:0], p[:0], None, {}))
    add("negative-weight", "a negative sample weight", False, lambda t, p, r: (t, p, np.r_[-1.0, np.ones(len(p) - 1)], {}))
    add("nan-weight", "a NaN sample weight", False, lambda t, p, r: (t, p, np.r_[np.nan, np.ones(len(p) - 1)], {}))
    add("weight-wrong-shape", "sample weights of the wrong length", False, lambda t, p, r: (t, p, np.ones(len(p) + 1), {}))
    for name, p in spec.params.items():
        high, low = p.get("max", p.get("exclusive_max")), p.get("min", p.get("exclusive_min"))
        if p["type"] == "float" and high is not None:
            add(f"{name}-above-range", f"{name} above its range {spec.param_bounds(name)}", False,
                lambda t, pr, r, name=name, v=high + 0.5: (t, pr, None, {name: v}))
        if p["type"] == "float" and low is not None:
            add(f"{name}-below-range", f"{name} below its range {spec.param_bounds(name)}", False,
                lambda t, pr, r, name=name, v=low - 0.5: (t, pr, None, {name: v}))
        if name == "axis":
            add("axis-out-of-range", "an axis the predictions do not have", False, lambda t, pr, r: (t, pr, None, {"axis": 2}))
    # last, so that the breakages above keep their random bases (one generator per spec, drawn in this order)
    if same:
        add("flat-against-column", "targets of shape (N,) against predictions of shape (N, 1)", False,
            lambda t, p, r: (t[:, 0], p[:, :1], None, {}))
    if kinds["y_pred"] == "probability" and kinds.get("positive_row_sums"):
        add("all-zero-probability-row", "a row of predicted probabilities that are all 0 (no distribution to normalise)",
            True, lambda t, p, r: (t, np.vstack([np.zeros_like(p[:1]), p[1:]]), None, {}))
    return out


def _set(a: np.ndarray, value) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.flat[0] = value
    return a


def _valid(spec, inputs: dict, params) -> bool:
    """Whether the oracle accepts the unbroken base: a breakage only means something on a valid base."""
    import oracle

    try:
        oracle.prepare(specs.make_case(spec.name, inputs=inputs, params=params))
        return True
    except ValueError:
        return False


def invalid_inputs(seed: int = 0):
    """Every invalid input of every spec, in a stable order determined by ``seed``.

    The base is generic (drawn from the input kinds), or else the spec's first valid documented example
    (packed layouts, per-loss rules); a spec with neither gets none: its own domain checks are tested by
    its meta tests instead.
    """
    for spec in specs.all_specs().values():
        rng = np.random.default_rng([seed, sum(map(ord, spec.name))])
        has_logits = "from_logits" in spec.params
        for name, why, needs_probabilities, mutate in _breakages(spec):
            from_logits = has_logits and not needs_probabilities
            inputs = _base(spec, rng, from_logits) if spec.two_inputs else None
            base_params = {"from_logits": from_logits} if has_logits else {}
            if inputs is None or not _valid(spec, inputs, base_params):
                example = _example_base(spec, from_logits)
                if example is None:
                    break
                inputs, params = example
                base_params = {**params, **base_params}
            try:
                inputs, weights, params = mutate(inputs, rng)
            except (IndexError, ValueError):  # this breakage does not apply to these shapes
                continue
            yield InvalidInput(f"{spec.name}/{name}", spec.name, why, {n: np.asarray(a) for n, a in inputs.items()},
                               {**base_params, **params}, weights)
