"""Hypothesis strategies for loss cases, generated from each spec's declared domains.

Small, composable and named after what they generate. Values are drawn as float64 and rounded to the
case dtype by ``Case.make``; edge regimes are explicit (a test names the regime it draws), not left to
chance:

  moderate      |logit| <= 8, probabilities in [0.01, 0.99], reals of order 1
  saturated     |logit| from 20 to 1e4
  infinite      some logits +-inf where the loss has a finite limit
  boundary      probabilities exactly 0 or 1, or within 4 ULPs of them
  extreme       subnormal and huge regression targets
  ignored       sparse labels where every label is the ignored class
  large         a reduction over many elements (up to 1e5 in the full profile)
  long          half precision only: a reduction of thousands of per-sample losses (from half the profile's
                element budget to all of it: 2048 to 4096 in the quick profile, up to 1e5 in the full one), a few
                distinct samples then one repeated, so that the sum is a long run of equal terms after a few others:
                where a running sum in float16 or bfloat16 stalls (a bfloat16 sum of ones sticks at 256), while a
                float32 accumulator is exact to a fraction of an ULP (tolerance.py, accumulation precision)
  degenerate    a batch with nothing to tell apart, drawn on purpose and never repaired away: every sample of one
                class (sparse labels, one-hot rows, binary or sign targets), all sample weights zero (an all-masked
                batch) half the time, CTC label sequences all of length zero and some inputs of zero frames.
                A logic regime: drawn in one dtype (the run's logic dtype), like the invalid inputs
"""
from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np
from hypothesis import assume, strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from conformance import loss_layouts, source_constants
from core import dtypes

source_constants.stop_harvesting()

REGIMES = ("moderate", "saturated", "infinite", "boundary", "extreme", "ignored", "large", "long", "degenerate")
LOGIC_REGIMES = ("degenerate",)  # about an implementation's logic, not its rounding: one dtype is enough
HALF_REGIMES = ("long",)  # about how half-precision sums accumulate: drawn in float16 and bfloat16 only
HALF_DTYPES = ("float16", "bfloat16")
LABELLED = ("class_index", "probability", "sign", "integer")  # target kinds a batch can hold one class of


def shared_database(test: str, cell) -> DirectoryBasedExampleDatabase:
    """The example database of one test and cell (device, dtype, loss, regime or relation), named alike by every
    implementation and variant: with the same seed they draw the same inputs. The suite's tests fix their seed, and
    hypothesis saves no example under a fixed seed (tests/meta/test_strategies.py checks it), so nothing is written
    and a failing draw of one implementation is not replayed for the next: the draws depend on the seed alone. It
    lives under $LOSSCONF_HYPOTHESIS_DB (default .hypothesis/lossconf in the working directory); the meta tests point
    it elsewhere."""
    digest = hashlib.sha256(repr((test, tuple(cell))).encode()).hexdigest()[:16]
    return DirectoryBasedExampleDatabase(Path(os.environ.get("LOSSCONF_HYPOTHESIS_DB", ".hypothesis/lossconf")) / digest)


def worker_group(dtype: str, loss: str) -> str:
    """The pytest-xdist group (``--dist loadgroup``) of the property and relation tests of one dtype and loss: they
    run on one worker in collection order, as a serial run would, and the draws they share (every relation draws the
    moderate regime's inputs) are computed once per worker."""
    return f"{dtype}-{loss}"


def regimes_for(spec) -> tuple[str, ...]:
    """The edge regimes that mean something for this loss's inputs."""
    prediction = spec.input_kind(spec.prediction)
    out = ["moderate", "large"]
    if not spec.inputs.get("batch_coupled"):  # every loss reads the whole batch: thousands of samples cost B**2 each
        out.append("long")
    if "from_logits" in spec.params or prediction == "logit":
        out.append("saturated")
        if spec.name not in loss_layouts.NO_INFINITE:
            out.append("infinite")
    if prediction == "probability":
        out.append("boundary")
    if prediction in ("real", "nonnegative") or any(spec.inputs[n] == "nonnegative" for n in spec.input_names):
        out.append("extreme")
    if "ignore_class" in spec.params:
        out.append("ignored")
    if spec.name in loss_layouts.DEGENERATE or (spec.inputs["shapes"] != "custom"
                                                 and spec.inputs.get("y_true") in LABELLED):
        out.append("degenerate")
    return tuple(r for r in REGIMES if r in out)


def regime_applies(regime: str, dtype: str, logic_dtype: str) -> bool:
    """Whether ``regime`` is drawn in ``dtype``: a logic regime in the run's logic dtype only, a half-precision one in
    float16 and bfloat16 only, the others in every dtype."""
    if regime in LOGIC_REGIMES:
        return dtype == logic_dtype
    return regime not in HALF_REGIMES or dtype in HALF_DTYPES


def reductions_for(spec) -> tuple[str, ...]:
    """The canonical reductions that apply to the loss (specs may add, e.g., CTC's mean by length)."""
    from core.case import REDUCTIONS

    return tuple(getattr(spec, "reductions", REDUCTIONS))


@st.composite
def shapes(draw, *, max_elements: int, min_rank: int = 1, max_rank: int = 3, min_classes: int = 2, max_classes: int = 1000,
           max_work: int | None = None):
    """(batch, ..., classes) shapes whose size stays within ``max_elements``; small sizes more likely.

    ``max_work`` bounds elements x classes: what the oracle's conditioning of a loss that couples each row
    (softmax, renormalisation) costs, one evaluation of every element per class."""
    rank = draw(st.integers(min_rank, max_rank))
    limit = max_elements if max_work is None else min(max_elements, max_work)
    classes = draw(st.one_of(st.integers(min_classes, 10), st.sampled_from([32, 100, 1000]))
                   .filter(lambda c: min_classes <= c <= max_classes and c * c <= (max_work or c * c)))
    middle = [draw(st.integers(1, 4)) for _ in range(rank - 2)]
    if max_work is not None:
        limit = min(limit, max_work // classes)
    room = max(1, limit // (classes * max(1, math.prod(middle))))
    batch = draw(st.integers(1, max(1, min(64, room))))
    return tuple([batch, *middle, classes][-rank:]) if rank > 1 else (classes,)


HEAD = 32  # elements of an array hypothesis draws one by one; the rest come from a generator seeded by one draw


@st.composite
def values_of(draw, n: int, element, fill):
    """``n`` values: the first ``HEAD`` drawn from the ``element`` strategy (hypothesis shrinks and targets them),
    the rest ``fill(rng, k)`` from numpy's generator seeded by one draw. Drawing thousands of values one by one
    dominated the quick profile's time; a seeded tail is as reproducible from hypothesis' choices."""
    head = draw(st.lists(element, min_size=min(n, HEAD), max_size=min(n, HEAD)))
    if n <= HEAD:
        return np.array(head)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return np.concatenate([np.array(head), fill(rng, n - HEAD)])


def uniform(lo: float, hi: float):
    """A ``values_of`` fill: uniform in [lo, hi]."""
    return lambda rng, k: rng.uniform(lo, hi, k)


def choice(pool, mixed_with=None):
    """A ``values_of`` fill: values of ``pool``, or, with ``mixed_with`` (a fill), each half of the time."""
    pool = np.asarray(pool)
    if mixed_with is None:
        return lambda rng, k: rng.choice(pool, k)
    return lambda rng, k: np.where(rng.random(k) < 0.5, rng.choice(pool, k), mixed_with(rng, k))


def _ulps_from(value: float, n: int, dtype: str) -> float:
    """The float ``n`` steps from ``value`` towards 0.5, in ``dtype``."""
    gap = float(dtypes.ulp(value if value else 1.0, dtype)) / (2 if value == 1.0 else 1)
    return value + n * gap if value == 0.0 else value - n * gap


@st.composite
def logits(draw, shape, regime: str, dtype: str):
    n = math.prod(shape)
    if regime == "saturated":
        magnitude = draw(values_of(n, st.floats(20, 1e4), uniform(20, 1e4)))
        signs = draw(values_of(n, st.sampled_from([-1.0, 1.0]), choice([-1.0, 1.0])))
        values = magnitude * signs
    else:
        values = draw(values_of(n, st.floats(-8, 8), uniform(-8, 8)))
    if regime == "infinite":
        mask = draw(values_of(n, st.booleans(), choice([False, True])))
        values = np.where(mask, np.where(values > 0, np.inf, -np.inf), values)
    return values.reshape(shape)


@st.composite
def probabilities(draw, shape, regime: str, dtype: str, normalised_axis: int | None = None):
    n = math.prod(shape)
    if regime == "boundary":
        edges = [0.0, 1.0] + [_ulps_from(e, k, dtype) for e in (0.0, 1.0) for k in (1, 2, 4)]
        values = draw(values_of(n, st.sampled_from(edges) | st.floats(0, 1), choice(edges, uniform(0, 1))))
    else:
        values = draw(values_of(n, st.floats(0.01, 0.99), uniform(0.01, 0.99)))
    values = values.reshape(shape)
    if normalised_axis is not None:
        total = values.sum(axis=normalised_axis, keepdims=True)
        values = np.where(total > 0, values / np.where(total > 0, total, 1), 1.0 / shape[normalised_axis])
    return values


@st.composite
def reals(draw, shape, regime: str, dtype: str):
    n = math.prod(shape)
    if regime == "extreme":
        fmt = dtypes.float_format(dtype)
        tiny = 2.0 ** (fmt.min_exponent - fmt.mantissa_bits + 2)  # subnormal in this dtype
        # huge, yet with every sum of (weighted) squares representable: an overflow then is the
        # implementation's, not the math's
        huge = math.sqrt(fmt.max_finite / n) / 8
        edges = [tiny, -tiny, 3 * tiny, huge, -huge, 1.0, 0.0]
        pool = st.sampled_from(edges) | st.floats(-huge, huge)
        return draw(values_of(n, pool, choice(edges, uniform(-huge, huge)))).reshape(shape)
    return draw(values_of(n, st.floats(-10, 10), uniform(-10, 10))).reshape(shape)


@st.composite
def binary_targets(draw, shape, soft: bool):
    n = math.prod(shape)
    if soft:
        return draw(values_of(n, st.floats(0, 1), uniform(0, 1))).reshape(shape)
    return draw(values_of(n, st.sampled_from([0.0, 1.0]), choice([0.0, 1.0]))).reshape(shape)


@st.composite
def one_hot_targets(draw, shape, axis: int, soft: bool):
    classes = shape[axis]
    rows = math.prod(shape) // classes
    if soft:
        raw = draw(values_of(rows * classes, st.floats(0, 1), uniform(0, 1))).reshape(rows, classes)
        raw[:, 0] += 1e-3  # never an all-zero target row
        table = raw / raw.sum(axis=1, keepdims=True)
    else:
        labels = draw(values_of(rows, st.integers(0, classes - 1), choice(range(classes)))).astype(np.int64)
        table = np.eye(classes)[labels]
    moved_shape = tuple(s for i, s in enumerate(shape) if i != axis % len(shape)) + (classes,)
    return np.moveaxis(table.reshape(moved_shape), -1, axis)


@st.composite
def sparse_labels(draw, shape, axis: int, ignore_class: int | None, all_ignored: bool):
    classes = shape[axis]
    label_shape = tuple(s for i, s in enumerate(shape) if i != axis % len(shape))
    n = math.prod(label_shape)
    if all_ignored and ignore_class is not None:
        return np.full(label_shape, ignore_class, dtype=np.int64)
    pool, fill = st.integers(0, classes - 1), choice(range(classes))
    if ignore_class is not None:
        pool, fill = pool | st.just(ignore_class), choice([ignore_class], fill)
    return draw(values_of(n, pool, fill)).astype(np.int64).reshape(label_shape)


@st.composite
def one_class(draw, y_true: np.ndarray, kind: str, axis: int, classes: int, rows: bool):
    """``y_true`` with every sample of one class, in its own encoding: sparse labels all ``c``; one-hot (or soft)
    rows all the one-hot row of ``c``; binary, 0/1 or sign targets all equal to one of the values the tensor uses
    (so a {-1, +1} or {0, 1} encoding stays what it was)."""
    y_true = np.asarray(y_true)
    if kind == "class_index":
        return np.full_like(y_true, draw(st.integers(0, classes - 1)))
    if kind == "probability" and rows:
        c = draw(st.integers(0, classes - 1))
        row = np.zeros(classes)
        row[c] = 1.0
        shape = [1] * y_true.ndim
        shape[axis] = classes
        return np.broadcast_to(row.reshape(shape), y_true.shape).copy()
    if kind == "probability":
        return np.full_like(y_true, draw(st.sampled_from([0.0, 1.0])), dtype=float)
    return np.full_like(y_true, draw(st.sampled_from(sorted(set(np.unique(y_true).tolist())))))


@st.composite
def all_masked(draw, weights, per_sample_shape: tuple):
    """Half the time, every sample weight zero (an all-masked batch); else ``weights`` as drawn."""
    return np.zeros(per_sample_shape) if per_sample_shape and draw(st.booleans()) else weights


@st.composite
def sample_weights(draw, per_sample_shape: tuple):
    """Absent, a scalar, one per sample, one per sample and timestep, or all zeros."""
    kind = draw(st.sampled_from(["absent", "scalar", "per_sample", "per_timestep", "zeros"]))
    if kind == "absent" or not per_sample_shape:
        return None
    if kind == "scalar":
        return np.array(draw(st.floats(0.125, 4)))
    shape = per_sample_shape if kind in ("per_timestep", "zeros") else per_sample_shape[:1]
    if kind == "zeros":
        return np.zeros(shape)
    return draw(values_of(math.prod(shape), st.floats(0, 4), uniform(0, 4))).reshape(shape)


def _keep_or_default(draw, name: str, value):
    """Leave the keyword out at random, so that defaults get tested too."""
    return {} if draw(st.booleans()) else {name: value}


@st.composite
def parameter_values(draw, spec, name: str):
    """A value of one declared parameter within its domain: the default, a multiple of it, or a round value."""
    p = spec.params[name]
    kind, default = p["type"], p["default"]
    if kind == "bool":
        return draw(st.booleans())
    if kind == "int":
        low = p.get("min", min(default, 0))
        return draw(st.integers(low, p.get("max", max(default, low) + 2)))
    if name in ("eps", "epsilon") and default and default < 1e-3:  # a guard: keep it a guard
        pool = [default, 10 * default]
    else:
        pool = [default, 0.5 * default, 2.0 * default, 0.0, 0.25, 1.0, 3.0]
    pool = [v for v in pool if p.get("min", -math.inf) <= v <= p.get("max", math.inf)
            and p.get("exclusive_min", -math.inf) < v < p.get("exclusive_max", math.inf)]
    return draw(st.sampled_from(sorted(set(pool))))


_HANDLED = {"from_logits", "axis", "label_smoothing", "ignore_class", "class_weight", "alpha_per_class", "axes", "blank"}


@st.composite
def _other_params(draw, spec) -> dict:
    """Every declared parameter the loss-specific code below does not draw, each left out at random."""
    params = {}
    for name in spec.params:
        if name not in _HANDLED:
            params.update(_keep_or_default(draw, name, draw(parameter_values(spec, name))))
    return params


@st.composite
def per_class_weights(draw, classes: int):
    return [float(w) for w in draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), min_size=classes, max_size=classes))]


def _values(kind: str, regime: str, dtype: str):
    """A strategy factory: shape -> array of ``kind`` values in ``regime``."""
    def make(shape):
        if kind == "logit" and regime in ("saturated", "infinite"):
            return logits(shape, regime, dtype)
        magnitudes = reals(shape, regime, dtype)
        return magnitudes.map(np.abs) if kind == "nonnegative" else magnitudes
    return make


LONG_SEED_ELEMENTS = 8  # the few samples a long run is made of: their classes stay few, so its oracle stays cheap


@st.composite
def long_run(draw, spec, dtype: str, max_elements: int, elementwise: bool = False):
    """The long regime: a moderate draw of a few samples (at most ``LONG_SEED_ELEMENTS`` elements), the last sample
    repeated until the batch holds ``n`` samples, ``n`` from ``max_elements // 2`` to ``max_elements``; sample
    weights follow their samples. The batch axis is axis 0 (a rank-1 draw of a layout by classes, one sample, is
    not used)."""
    inputs, params, weights = draw(loss_inputs(spec, "moderate", dtype, LONG_SEED_ELEMENTS, elementwise))
    batch = np.shape(inputs[spec.prediction])[0]
    rank = np.ndim(inputs[spec.prediction])
    # samples along axis 0, never the class axis: a rank-1 draw of a layout by classes is one sample (repeating its
    # classes would make a softmax of thousands of classes, which the oracle conditions a class at a time), and
    # per-class parameters are sized by the class axis; the custom layouts put their samples on axis 0
    assume(spec.name in loss_layouts.CUSTOM or (rank >= 2 and params.get("axis", -1) % rank != 0))
    n = draw(st.integers(max(batch, max_elements // 2), max(batch, max_elements)), label="long run length")
    order = np.concatenate([np.arange(batch - 1), np.full(n - batch + 1, batch - 1)])

    def repeated(a):
        return np.take(a, order, axis=0) if np.ndim(a) >= 1 and np.shape(a)[0] == batch else a
    return {name: repeated(a) for name, a in inputs.items()}, params, None if weights is None else repeated(weights)


@st.composite
def loss_inputs(draw, spec, regime: str, dtype: str, max_elements: int, elementwise: bool = False,
                max_classes: int = 1000, max_work: int | None = None):
    """(inputs by name, params, sample_weight) for ``spec`` in ``regime``; ``elementwise`` when the
    declared semantics keeps elementwise losses (so sample weights align with the full shape); ``max_classes``
    and ``max_work`` (elements x classes) bound the large regime's shapes."""
    if regime == "long":
        return draw(long_run(spec, dtype, max_elements, elementwise))
    kinds = spec.inputs
    params: dict = draw(_other_params(spec))
    has_logits = "from_logits" in spec.params
    from_logits = regime in ("saturated", "infinite") or (has_logits and regime != "boundary"
                                                          and draw(st.booleans()))
    if has_logits:
        params.update({"from_logits": True} if from_logits else _keep_or_default(draw, "from_logits", False))
    big = max_elements if regime == "large" else min(max_elements, 256)
    if spec.name in loss_layouts.CUSTOM:
        pred_kind = spec.input_kind(spec.prediction, from_logits)
        layout = loss_layouts.CUSTOM[spec.name]
        extra = (params,) if spec.name in loss_layouts.TAKES_PARAMS else ()
        inputs = draw(layout(_values(pred_kind, regime, dtype), big, *extra))
        per_sample = spec.per_sample_shape(inputs[spec.prediction].shape, params)
        weights = draw(sample_weights(per_sample))
        if regime == "degenerate":
            inputs = loss_layouts.DEGENERATE[spec.name](draw, inputs)
            weights = draw(all_masked(weights, per_sample))
        return inputs, params, weights
    min_rank = max(1 if kinds["shapes"] == "same" else 2, kinds.get("min_rank", 1))
    max_rank = kinds.get("max_rank", 3)
    shape = draw(shapes(max_elements=big, min_rank=min_rank, max_rank=max(min_rank, max_rank),
                        max_classes=max_classes if regime == "large" else 64,
                        max_work=max_work if regime == "large" else None))
    axis = -1
    if "axis" in spec.params and len(shape) >= 2 and draw(st.booleans()):
        axis = draw(st.sampled_from([0, len(shape) - 2]))
        params["axis"] = axis
    if "axes" in spec.params and draw(st.booleans()):
        params["axes"] = draw(st.sampled_from([None] + [[i] for i in range(1, len(shape))] + ([list(range(1, len(shape)))] if len(shape) > 2 else [])))
    if "label_smoothing" in spec.params and draw(st.booleans()):
        params.update(_keep_or_default(draw, "label_smoothing", draw(st.sampled_from([0.0, 0.1, 0.25, 1.0]))))
    ignore = None
    if "ignore_class" in spec.params and (regime == "ignored" or draw(st.booleans())):
        ignore = draw(st.sampled_from([-1, 0]))
        params["ignore_class"] = ignore
    for name in ("class_weight", "alpha_per_class"):
        if name in spec.params and draw(st.booleans()):
            params[name] = draw(per_class_weights(shape[axis]))
    normalised = axis if kinds.get("positive_row_sums") else None
    if from_logits:
        y_pred = draw(logits(shape, regime, dtype))
        if kinds.get("positive_row_sums"):  # a softmax row of -inf only has no limit: keep one class alive
            dead = np.all(np.isneginf(y_pred), axis=axis, keepdims=True)
            first = np.zeros_like(y_pred, dtype=bool)
            np.moveaxis(first, axis, 0)[0] = True
            y_pred = np.where(dead & first, 0.0, y_pred)
    elif kinds["y_pred"] == "probability":
        y_pred = draw(probabilities(shape, regime, dtype, normalised_axis=normalised))
    else:
        y_pred = draw(_values(kinds["y_pred"], regime, dtype)(shape))
    if kinds["y_true"] == "class_index":
        y_true = draw(sparse_labels(shape, axis, ignore, all_ignored=regime == "ignored"))
    elif kinds["y_true"] == "probability" and kinds.get("positive_row_sums"):
        y_true = draw(one_hot_targets(shape, axis, soft=draw(st.booleans())))
    elif kinds["y_true"] == "probability":
        soft = regime not in ("infinite",) and draw(st.booleans())
        y_true = draw(binary_targets(shape, soft=soft))
    elif kinds["y_true"] in ("sign", "integer"):
        y_true = draw(binary_targets(shape, soft=False)) * 2 - 1
    else:
        y_true = draw(_values(kinds["y_true"], regime if kinds["y_true"] != "logit" else "moderate", dtype)(shape))
    if spec.name in loss_layouts.ADJUST:
        y_true, y_pred = loss_layouts.ADJUST[spec.name](draw, y_true, y_pred, params, regime)
    if regime == "infinite" and kinds["y_true"] in ("probability", "sign", "integer") and not kinds.get("positive_row_sums"):
        # a saturated logit only has a finite limit when its target sits on the saturated side
        side = (y_pred > 0).astype(float)
        y_true = np.where(np.isinf(y_pred), side if kinds["y_true"] != "sign" else 2 * side - 1, y_true)
    per_sample = spec.per_sample_shape(shape, params, elementwise)
    weights = draw(sample_weights(per_sample))
    if regime == "degenerate":
        rows = bool(kinds.get("positive_row_sums")) or spec.name in loss_layouts.ONE_HOT_TARGETS
        y_true = draw(one_class(y_true, kinds["y_true"], axis, shape[axis], rows))
        weights = draw(all_masked(weights, per_sample))
    return {"y_true": y_true, "y_pred": y_pred}, params, weights
