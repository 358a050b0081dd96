"""A drawn case re-expressed in a form the implementation can express, sharing the draw's values.

Draws are shared by every implementation (the same seed draws the same inputs), so a draw one API cannot spell was wasted on
it: optax takes logits only, so every probability draw of its cross-entropies ended ``unsupported``; Keras CTC takes
no input lengths and always applies log_softmax, so all its CTC draws did; torch losses take no per-sample weights,
so four draws in five of most torch losses did. ``express(adapter, case)`` instead tries, one at a time and least
change first, the rewrites below, keeping one when the adapter's refusal moves on to another reason or goes away,
and returns the first form the adapter supports with the rewrites it took, or the case as drawn (still unsupported,
with its own reason) when none gets there. Each rewrite keeps the case valid (the oracle's domain check has the last
word: a rewrite that leaves the domain is not taken) and keeps the draw's values wherever the meaning allows:

  without sample_weight     the weights dropped (for an API that takes none)
  <flag>=<value>            a representation flag flipped, the input converted to match: from_logits (probabilities
                            as logits: log p - log(1 - p), or log p along a softmax row; logits as probabilities:
                            their sigmoid or softmax; real-valued either way, e.g. CTC's log-probabilities, kept
                            as they are), log_input and log_target (p as log p, log p as p). A conversion that would
                            leave a finite value infinite (p = 0 as a logit) is not taken: that draw is the
                            boundary regime, which a logits-only API cannot express.
  class axis last           the axis a loss reduces or normalises over moved last, in every input that has it (an
                            API with no axis parameter)
  <param> at its default    a parameter the API does not take, left out
  every input length = T    CTC with every sequence as long as the frames (an API that reads T from the shape)

Only the primary reduction-independent reasons are worth rewriting: a reduction the API lacks is a fact of its
coverage, not of the draw, and the case stays unsupported. Pure: touches no framework, only ``adapter.supports``.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

import specs
from core import dtypes
from core.case import Case
from oracle import expression, reductions

MAX_REWRITES = 4  # a supported form more than this far from the draw would share little of it
CONVERTED_FLAGS = ("from_logits", "log_input", "log_target")


def _remake(case: Case, inputs: dict, params: dict, sample_weight) -> Case | None:
    """The case with new float64 inputs, params and weights, rounded as a draw is; None outside the loss's domain
    (as the oracle checks it, after the rounding: a logit of 1 - 2**-30 may not survive float16)."""
    rewritten = specs.make_case(case.loss, inputs=inputs, params=params, dtype=case.dtype, sample_weight=sample_weight,
                                reduction=case.reduction, semantics=case.semantics, device=case.device,
                                variant=case.variant, origin=case.origin)
    spec = specs.all_specs()[case.loss]
    elementwise = spec.semantics(case.semantics)["axis_reduction"] == "none"
    try:
        with np.errstate(all="ignore"):
            expression.prepare(rewritten)
            if rewritten.sample_weight is not None:  # aligned with the per-sample losses (the oracle checks it later)
                reductions.broadcast_weights(rewritten.sample_weight, spec.per_sample_shape(
                    rewritten.inputs[spec.prediction].shape, rewritten.kwargs, elementwise))
    except ValueError:  # DomainError among them
        return None
    return rewritten


def _as_float64(case: Case) -> dict:
    return {n: (np.asarray(a, dtype=np.float64) if np.issubdtype(np.asarray(a).dtype, np.floating) else np.asarray(a))
            for n, a in case.inputs.items()}


def _converted(spec, name: str, values: np.ndarray, old_kind: str, new_kind: str, softmax_axis: int | None):
    """``values`` of kind ``old_kind`` as ``new_kind`` (same meaning), or None where that needs an infinite value."""
    with np.errstate(all="ignore"):
        if old_kind == new_kind or {old_kind, new_kind} <= {"real", "logit"}:
            out = values
        elif (old_kind, new_kind) == ("probability", "logit"):
            out = np.log(values) if softmax_axis is not None else np.log(values) - np.log1p(-values)
        elif (old_kind, new_kind) == ("logit", "probability"):
            if softmax_axis is None:
                out = 1.0 / (1.0 + np.exp(-values))
            else:
                shifted = np.exp(values - np.max(values, axis=softmax_axis, keepdims=True))
                out = shifted / shifted.sum(axis=softmax_axis, keepdims=True)
        else:
            return None
    return out if np.all(np.isfinite(out) | ~np.isfinite(values)) else None


def _flag(case: Case, flag: str) -> Case | None:
    """``flag`` flipped, with the input it describes converted to the other representation."""
    spec = specs.all_specs()[case.loss]
    params = case.kwargs
    old = bool(params.get(flag, spec.params[flag]["default"]))
    params[flag] = not old
    inputs = _as_float64(case)
    if flag == "from_logits":
        name = spec.prediction
        kinds = (spec.input_kind(name, old), spec.input_kind(name, not old))
    else:  # log_input: the prediction holds log q; log_target: the target holds log p
        name = "y_pred" if flag == "log_input" else "y_true"
        kinds = ("log", "probability") if old else ("probability", "log")
    if kinds == ("probability", "log"):  # log-probabilities are finite here: a zero is the smallest normal's log
        out = np.log(np.maximum(inputs[name], 2.0 ** dtypes.float_format(case.dtype).min_exponent))
    elif kinds == ("log", "probability"):
        with np.errstate(over="ignore"):
            out = np.exp(inputs[name])
    else:
        axis = params.get("axis", -1) if spec.inputs.get("positive_row_sums") else None
        out = _converted(spec, name, inputs[name], *kinds, axis)
    if out is None:
        return None
    inputs[name] = out
    return _remake(case, inputs, params, case.sample_weight)


def _without_weights(case: Case) -> Case | None:
    return None if case.sample_weight is None else _remake(case, _as_float64(case), case.kwargs, None)


def _at_default(case: Case, param: str) -> Case | None:
    params = case.kwargs
    params.pop(param)
    return _remake(case, _as_float64(case), params, case.sample_weight)


def _axis_last(case: Case) -> Case | None:
    """The class (or reduced) axis moved last, in every input that has it, the other axes in their order: the same
    rows, so a per-sample shape without that axis (what the weights align with) is unchanged; elementwise weights
    move with their elements."""
    spec = specs.all_specs()[case.loss]
    params = case.kwargs
    prediction = np.asarray(case.inputs[spec.prediction])
    axis = params.get("axis", -1) % prediction.ndim
    if axis == prediction.ndim - 1:
        return None
    inputs = _as_float64(case)
    for name, a in inputs.items():
        if np.shape(a) == prediction.shape:
            inputs[name] = np.moveaxis(a, axis, -1)
    if spec.params["axis"].get("default") == -1:
        params.pop("axis")  # the default: an API with no axis parameter may refuse even axis=-1 spelled out
    else:
        params["axis"] = -1
    weights = case.sample_weight
    if weights is not None and np.shape(weights) == prediction.shape:  # elementwise weights move with their elements
        weights = np.moveaxis(np.asarray(weights, dtype=np.float64), axis, -1)
    return _remake(case, inputs, params, weights)


def _full_lengths(case: Case) -> Case | None:
    if "input_lengths" not in case.inputs:
        return None
    inputs = _as_float64(case)
    frames = np.asarray(inputs[specs.all_specs()[case.loss].prediction]).shape[1]
    if np.all(inputs["input_lengths"] == frames):
        return None
    inputs["input_lengths"] = np.full_like(inputs["input_lengths"], frames)
    return _remake(case, inputs, case.kwargs, case.sample_weight)


def rewrites(case: Case) -> Iterator[tuple[str, str, Callable[[], Case | None]]]:
    """(what it touches, name, thunk) of every rewrite that applies to ``case``, least change first; where the case
    has sample weights, each also without them (they align with a per-sample shape that a parameter may decide:
    the class axis)."""
    unweighted = case.with_(sample_weight=None) if case.sample_weight is not None else None
    for what, name, rewrite in _single_rewrites(case):
        yield what, name, rewrite
        if unweighted is not None and what != "sample_weight":
            yield what, f"{name}, without sample_weight", lambda name=name: _named(unweighted, name)


def _named(case: Case, name: str) -> Case | None:
    return next((rewrite() for _, n, rewrite in _single_rewrites(case) if n == name), None)


def _single_rewrites(case: Case) -> Iterator[tuple[str, str, Callable[[], Case | None]]]:
    spec = specs.all_specs()[case.loss]
    if case.sample_weight is not None:
        yield "sample_weight", "without sample_weight", lambda: _without_weights(case)
    params = case.kwargs
    for flag in CONVERTED_FLAGS:
        if flag in spec.params:
            value = not bool(params.get(flag, spec.params[flag]["default"]))
            yield flag, f"{flag}={value}", lambda flag=flag: _flag(case, flag)
    if "axis" in spec.params:
        yield "axis", "class axis last", lambda: _axis_last(case)
    for param in sorted(params):
        if param not in CONVERTED_FLAGS and params[param] != spec.params.get(param, {}).get("default", object()):
            yield param, f"{param} at its default", lambda param=param: _at_default(case, param)
    if "input_lengths" in case.inputs:
        yield "input_lengths", "every input length = T", lambda: _full_lengths(case)


def _refuses(reason: str, what: str) -> bool:
    """Whether a refusal is about ``what`` (a parameter, a flag, the sample weights): the adapter contract's reasons
    name what cannot be expressed. A rewrite answered by a refusal of the very thing it rewrote went the wrong way."""
    return (what if what != "sample_weight" else "weight") in reason


def express(adapter, case: Case) -> tuple[Case, tuple[str, ...]]:
    """(the case in a form ``adapter`` supports, the rewrites taken), or (``case``, ()) when it supports the draw as
    it is or no sequence of rewrites gets there.

    Each step takes a rewrite that makes the case supported, if one does; else the first whose refusal is one not
    met yet and not about what it rewrote (the API could spell that, and says what it cannot spell next). A flag
    flipped to a form the API refuses, or back to the form the draw had, is not a step."""
    reason = adapter.supports(case)
    if reason is True:
        return case, ()
    current, taken, touched, met = case, [], set(), {reason}
    while len(taken) < MAX_REWRITES:
        step = None
        for what, name, rewrite in rewrites(current):
            if what in touched:  # each thing rewritten once
                continue
            candidate = rewrite()
            if candidate is None:
                continue
            answer = adapter.supports(candidate)
            if answer is True:
                taken.append(name)
                return candidate.with_(origin=f"{case.origin} expressed: {'; '.join(taken)}".strip()), tuple(taken)
            if step is None and answer not in met and not _refuses(answer, what):
                step = (what, name, candidate, answer)
        if step is None:
            break
        what, name, current, reason = step
        taken.append(name)
        touched.add(what)
        met.add(reason)
    return case, ()
