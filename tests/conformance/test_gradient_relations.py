"""Relations an implementation's gradients must satisfy with themselves, judged without the oracle.

Each relation compares, component by component, two gradients the implementation computes of the same function
(or a combination of them: A and B); it holds when |A - B| is within tolerance.derive_relation, both computations'
rounding bounded from the magnitudes the component is computed from. Framework against framework: no exact
derivative is needed, so these run on every draw at the cost of a few gradients, and they catch what an exact
derivative cannot tell apart from a convention (a wrong factor on one reduction, a weight used nonlinearly, a
batch read in order, a softmax gradient that does not sum to zero, a forward mode or a compiled variant that
differs from the eager reverse one). Every comparison is recorded (kind "relation", quantity "gradient"), a
violation with both cases.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume
from hypothesis.errors import Unsatisfiable

import specs
from conformance import gradient_judge, judge, outcome, strategies, tolerance
from conformance.session import COMPACT_DROP
from core import dtypes, verdicts
from core.case import Case
from core.semantics import flushes
from tests.conformance.test_gradients import max_elements
from tests.conformance.test_properties import _failure, drawn
from tests.conformance.test_relations import DRAWS, Side, _batch_free, batch_order, make, run_counted

RELATIONS = ("sum_of_per_sample", "weight_linearity", "batch_permutation", "softmax_gradient_sums_to_zero",
             "forward_equals_reverse", "compiled_equals_eager")
COMPILED = ("compile", "jit", "xla")  # the adapters' compiled variants: torch.compile, jax.jit / Keras jit, Keras xla


def _param(spec, params: dict, name: str):
    value = params.get(name, spec.params[name]["default"])
    return spec.params[name]["default"] if value is None else value


def _largest(values) -> float:
    """The largest magnitude among ``values`` (None or empty: 1)."""
    values = np.abs(np.asarray([1.0] if values is None else values, dtype=np.float64)).ravel()
    return float(values.max()) if values.size else 1.0


# Losses whose prediction enters only through a softmax over its class axis (the specs' formulas: "p = softmax(z)
# when from_logits", or logits by kind): adding a constant to a row of logits changes nothing, so the gradient
# sums to zero over the row, whatever the targets (l = -sum_k t_k log p_k gives g_j = c ((sum t) p_j - t_j)).
# Each maps to a bound of |p_k dl/dp_k| per unit of target, the factor of the targets' part of the magnitudes
# (_target_part; class weights are the coefficient's): 1 for a cross-entropy, 1 + |epsilon| for Poly-1
# (-t log p + epsilon t (1 - p)), alpha (1 + gamma) for the focal loss (|p f'(p)| of f = -alpha (1 - p)^gamma log p
# is at most alpha (1 + gamma): p |log p| <= 1/e and (1 - p)^(gamma-1) p |log p| <= 1).
SOFTMAX_OF_LOGITS = {
    "categorical_crossentropy": lambda spec, params: 1.0,
    "sparse_categorical_crossentropy": lambda spec, params: 1.0,
    "categorical_focal_crossentropy": lambda spec, params: (
        (1.0 if params.get("alpha_per_class") else _param(spec, params, "alpha")) * (1 + _param(spec, params, "gamma"))),
    "poly_loss_cross_entropy": lambda spec, params: 1.0 + abs(_param(spec, params, "epsilon")),
    "ranking_softmax_loss": lambda spec, params: 1.0,
    "ctc": lambda spec, params: 1.0,  # softmax(log_probs) when from_logits; its targets: each frame's posteriors
}


def compiled_variant(adapter) -> str | None:
    return next((v for v in adapter.variants if v in COMPILED), None)


def applies(relation: str, spec, adapter, variant: str, regime: str = "moderate") -> bool | str:
    """True, or why ``relation`` does not apply to ``spec`` on ``adapter`` in ``regime`` (a draw that does not fit,
    such as one without a batch to permute, is assumed away)."""
    if not gradient_judge.differentiable_inputs(spec):
        return f"{spec.name} has no differentiable input"
    reductions = strategies.reductions_for(spec)
    if relation == "sum_of_per_sample":  # the vjp of the unreduced losses with ones is the sum's gradient
        return True if {"sum", "none"} <= set(reductions) else "needs reductions sum and none"
    if relation == "weight_linearity":  # the weights multiply each sample's loss: d/dx sum(w l) is linear in w
        return True if "sum" in reductions else "needs reduction sum"
    if relation == "batch_permutation":  # as the value relation: every input leads with the batch (per draw)
        return True if {"sum", "sum_over_batch_size"} & set(reductions) else "needs reduction sum or sum_over_batch_size"
    if relation == "softmax_gradient_sums_to_zero":  # a constant added to a row of logits changes no softmax
        if spec.name not in SOFTMAX_OF_LOGITS:
            return "the prediction does not enter through a softmax over a class axis"
        return "the boundary regime draws probabilities, not logits" if regime == "boundary" else True
    if relation == "forward_equals_reverse":
        return True if "forward" in adapter.gradient_modes else \
            f"{adapter.name} has no forward-mode derivative (its modes: {', '.join(adapter.gradient_modes)})"
    if relation == "compiled_equals_eager":
        return True if variant in COMPILED and variant != adapter.variants[0] else \
            f"{adapter.name} has no compiled variant (its variants: {', '.join(adapter.variants)})"
    raise ValueError(f"unknown gradient relation {relation!r}")


# -- the gradients ---------------------------------------------------------------------------------------

@dataclass
class Gradient:
    """One gradient the implementation computed: the case, the cotangent (None for a scalar), the mode, and the
    gradient per differentiated input as float64."""
    case: Case
    cotangent: np.ndarray | None
    mode: str
    values: dict

    def describe(self) -> str:
        return (f"reduction={self.case.reduction}, variant={self.case.variant}, mode={self.mode}"
                + ("" if self.cotangent is None else f", cotangent={np.asarray(self.cotangent).tolist()}"))


class Raised(Exception):
    """A computation raised on a valid case: the relation's verdict is ``error``."""
    def __init__(self, case: Case, mode: str, why: str):
        super().__init__(why)
        self.case, self.mode, self.why = case, mode, why


def gradients(adapter, wrt, *asked) -> list[Gradient]:
    """The gradient of each (case, cotangent, mode) in ``asked``, once every one is known to be supported: a draw
    one side cannot express is refused (test_relations.Side.refuse) before the other pays for it."""
    for case, _, mode in asked:
        support = judge.supported(adapter, case, gradient=mode)
        if support is not True:
            Side.refuse(case, str(support))
    out = []
    for case, cotangent, mode in asked:
        result, payload = gradient_judge.compute_gradient(adapter, case, wrt, cotangent, mode)
        if result == "unsupported":
            Side.refuse(case, payload)
        if result != "value":
            raise Raised(case, mode, str(payload))
        for n in wrt:
            if np.shape(payload.get(n)) != np.shape(case.inputs[n]):
                raise Raised(case, mode, f"the gradient with respect to {n} has shape {np.shape(payload.get(n))}, "
                                         f"the input {np.shape(case.inputs[n])}")
        Side.computed += 1
        out.append(Gradient(case, cotangent, mode, {n: np.asarray(payload[n], dtype=np.float64) for n in wrt}))
    return out


def result_shape(adapter, case: Case) -> tuple:
    """The shape of the unreduced result, from the implementation's own value (what its cotangent must match)."""
    result, payload = judge.compute(adapter, case)
    if result == "unsupported":
        Side.refuse(case, payload)
    if result != "value":
        Side.raised.add(str(payload)[:200])  # judged as an error by the value tests
    assume(result == "value")
    return np.shape(payload)


# -- the magnitudes a component is computed from -----------------------------------------------------------

def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z - np.max(z, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)


def _targets(spec, case: Case, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """|t| per element of the prediction and its row sum over ``axis``: the targets a derivative of the form
    c (p - t) subtracts (soft targets plus label smoothing, class labels one-hot; a CTC frame's posteriors, at most
    1 each and 1 in all)."""
    x = case.inputs[spec.prediction]
    if spec.name == "ctc":
        return np.ones(x.shape), np.ones(np.delete(x.shape, axis % x.ndim))
    if spec.inputs["shapes"] == "sparse":
        labels = np.expand_dims(case.inputs["y_true"], axis)
        classes = np.arange(x.shape[axis]).reshape([-1 if a == axis % x.ndim else 1 for a in range(x.ndim)])
        t = (labels == classes).astype(np.float64)
    else:
        t = np.abs(np.asarray(case.inputs["y_true"], dtype=np.float64))
    t = t + float(case.kwargs.get("label_smoothing") or 0)
    return t, np.sum(t, axis=axis)


def _coefficient(spec, case: Case, cotangent) -> float:
    """A bound of |c_i|, what each sample's loss is multiplied by: the cotangent, the weights, the class weights."""
    bound = _largest(None if cotangent is None else np.ravel(cotangent))
    if case.sample_weight is not None:
        bound *= _largest(np.ravel(case.sample_weight))
    for name in ("class_weight", "alpha_per_class"):
        if case.kwargs.get(name):
            bound *= _largest(case.kwargs[name])
    return bound


def _target_part(spec, g: Gradient, name: str) -> np.ndarray:
    """The part of a component's magnitude that the targets carry, beyond |g|: where the derivative with respect to
    the prediction is a difference c (p - t) (a sigmoid's or softmax's p against its target), p is rounded relative
    to itself, |g| + |c t| (0 for the other inputs and layouts). Through a softmax, the backward pass computes
    p_j (v_j - sum_k p_k v_k) from the upstream v = c dl/dp: p_j |v_j| + p_j |sum_k p_k v_k| <= c F (t_j + p_j sum t),
    F the loss's bound of |p dl/dp| per unit of target (SOFTMAX_OF_LOGITS)."""
    case = g.case
    x = np.asarray(case.inputs[name])
    axis = case.kwargs.get("axis", -1)
    if name == spec.prediction and spec.name in SOFTMAX_OF_LOGITS and x.ndim and (
            case.kwargs.get("from_logits") or spec.input_kind(name) == "logit"):
        t, total = _targets(spec, case, axis)
        p = _softmax(x.astype(np.float64), axis)
        factor = SOFTMAX_OF_LOGITS[spec.name](spec, case.kwargs)
        return _coefficient(spec, case, g.cotangent) * factor * (t + p * np.expand_dims(total, axis))
    if name == spec.prediction and spec.two_inputs and x.ndim:  # a difference c (f(x) - t)
        return _coefficient(spec, case, g.cotangent) * _targets(spec, case, axis)[0]
    return np.zeros(x.shape)


def magnitude(spec, g: Gradient, name: str) -> np.ndarray:
    """What each component of ``g``'s gradient with respect to ``name`` is computed from (tolerance.derive_relation)."""
    return np.abs(g.values[name]) + _target_part(spec, g, name)


def row_terms(spec, case: Case, elementwise: bool) -> int:
    """How many terms the sums inside one per-sample loss add up (derive_gradient's r): its class row (or the whole
    sample of a custom layout), the whole batch for a loss that couples it, 1 for an elementwise loss."""
    x = np.asarray(case.inputs[spec.prediction])
    if spec.inputs.get("batch_coupled"):
        return max(1, x.size)
    if elementwise or x.ndim == 0:
        return 1
    if spec.two_inputs and "axes" not in case.kwargs:
        return x.shape[case.kwargs.get("axis", -1) % x.ndim] if x.ndim >= 1 else 1
    return max(1, x.size // max(1, x.shape[0]))


# -- judging one comparison -------------------------------------------------------------------------------

@dataclass
class Comparison:
    """A against B per component (flattened), the magnitude each is computed from and the allowance in ULPs of the
    dtype at that magnitude; ``what`` says what A and B are, ``a`` and ``b`` the gradients they came from."""
    what: str
    got: np.ndarray
    other: np.ndarray
    magnitude: np.ndarray
    allowed: np.ndarray
    a: Gradient
    b: Gradient


def _judge(c: Comparison, dtype: str, flush: bool) -> dict:
    """The verdict fields of one comparison: nonfinite where one side is inf or NaN and the other not (or another
    inf), numeric beyond the allowance, else pass; with the worst component's ULP error and allowance."""
    got, other = c.got.ravel(), c.other.ravel()
    finite = np.isfinite(got) & np.isfinite(other)
    same = (got == other) | (np.isnan(got) & np.isnan(other))
    odd = np.nonzero(~finite & ~same)[0]
    fields = {"got": [float(v) for v in got], "other_got": [float(v) for v in other]}
    if odd.size:
        i = int(odd[0])
        return {**fields, "verdict": verdicts.NONFINITE,
                "explanation": f"{c.what}: component {i}: {got[i]!r} vs {other[i]!r} (inf or NaN on one side only; "
                               f"{odd.size} component(s))"}
    worst, at, error, allowed = -1.0, 0, 0.0, 1.0
    for i in np.nonzero(finite & ~same)[0]:
        e = float(abs(got[i] - other[i]) / dtypes.ulp(float(c.magnitude[i]), dtype, flush))
        if e / c.allowed[i] > worst:
            worst, at, error, allowed = e / c.allowed[i], int(i), e, float(c.allowed[i])
    fields.update(ulp_error=error, tolerance_ulps=allowed, ulp_dtype=dtype)
    if worst <= 1:
        return {**fields, "verdict": verdicts.PASS, "explanation": f"{c.what}: within {allowed:.3g} ULPs"}
    return {**fields, "verdict": verdicts.NUMERIC,
            "explanation": f"{c.what}: component {at}: {got[at]!r} vs {other[at]!r}, {error:.4g} ULPs of {dtype} at the "
                           f"magnitude {float(c.magnitude[at]):.4g} it is computed from (allowed {allowed:.3g})"}


def record_of(adapter, relation: str, c: Comparison, fields: dict, test_id: str, wrt) -> dict:
    """A relation record: case A's fields (judge.base_record), the relation, case B's inputs and how it differs."""
    b = c.b.case.to_dict()
    record = {**judge.base_record(adapter, c.a.case, reproducer=""), "quantity": "gradient", "kind": "relation",
              "relation": relation, "mode": c.a.mode, "wrt": list(wrt), "test_id": test_id,
              "other": c.b.describe(), "other_inputs": {**b["inputs"], "sample_weight": b["sample_weight"]},
              "cotangent": None if c.a.cotangent is None else np.asarray(c.a.cotangent).tolist(), **fields}
    record["explanation"] = (f"relation {relation} {'holds' if fields['verdict'] == verdicts.PASS else 'violated'}: "
                             f"{fields['explanation']}; case A: {c.a.describe()}; case B: {c.b.describe()}")
    if record["verdict"] != verdicts.PASS:
        record["reproducer"] = gradient_judge._reproducer(adapter, c.a.case, wrt, c.a.cotangent, c.a.mode)
        record["other_reproducer"] = gradient_judge._reproducer(adapter, c.b.case, wrt, c.b.cotangent, c.b.mode)
    return record


def error_record(adapter, relation: str, raised: Raised, test_id: str, wrt) -> dict:
    return {**judge.base_record(adapter, raised.case, reproducer=""), "quantity": "gradient", "kind": "relation",
            "relation": relation, "mode": raised.mode, "wrt": list(wrt), "test_id": test_id, "verdict": verdicts.ERROR,
            "raised": raised.why[:2000], "explanation": f"relation {relation}: raised computing the gradient of a valid "
                                                        f"input ({raised.mode} mode)",
            "reproducer": gradient_judge._reproducer(adapter, raised.case, wrt, None, raised.mode)}


# -- the relations ----------------------------------------------------------------------------------------

@dataclass
class Draw:
    """What every relation of one draw needs: the spec, the adapter, the inputs and the case maker."""
    adapter: object
    spec: object
    base: dict
    seed: int
    elementwise: bool
    wrt: tuple

    def case(self, reduction: str, **changes) -> Case:
        return make(self.spec, reduction, **{**self.base, **changes})

    @property
    def dtype(self) -> str:
        return self.base["dtype"]

    @property
    def flush(self) -> bool:
        return flushes(self.spec.semantics(self.base["semantics"]), self.dtype)

    def gaps(self, magnitudes: np.ndarray) -> np.ndarray:
        """The ULP of the dtype at each magnitude, as float64 (never 0: the subnormal spacing at 0)."""
        ulp = np.frompyfunc(lambda v: float(dtypes.ulp(float(v), self.dtype, self.flush)), 1, 1)
        return np.asarray(ulp(np.asarray(magnitudes, dtype=np.float64)), dtype=np.float64).reshape(np.shape(magnitudes))

    def compare(self, what: str, got: dict, other: dict, a: Gradient, b: Gradient, extra: dict, results: int) -> list:
        """One Comparison per input: ``got`` against ``other`` (float64 arrays by input), the magnitudes ``extra``
        (by input) of every gradient combined, ``results`` of them."""
        terms = row_terms(self.spec, a.case, self.elementwise)
        out = []
        for n in self.wrt:
            m = np.asarray(extra[n], dtype=np.float64).ravel()
            allowed = tolerance.derive_relation(m, self.dtype, self.flush, terms, results).ulps
            out.append(Comparison(f"{what} (d/d{n})", np.asarray(got[n]).ravel(), np.asarray(other[n]).ravel(), m,
                                  allowed, a, b))
        return out


def sum_of_per_sample(d: Draw) -> list:
    """grad of reduction sum = the vector-Jacobian product of reduction none with a cotangent of ones."""
    total, none = d.case("sum"), d.case("none")
    ones = np.ones(result_shape(d.adapter, none))
    a, b = gradients(d.adapter, d.wrt, (total, None, "reverse"), (none, ones, "reverse"))
    extra = {n: magnitude(d.spec, a, n) + magnitude(d.spec, b, n) for n in d.wrt}
    return d.compare("sum against the unreduced losses contracted with ones", a.values, b.values, a, b, extra, 2)


def weight_linearity(d: Draw) -> list:
    """grad(w1) + grad(w2) = grad(w1 + w2) for reduction sum, the weights small nonnegative integers (exact in
    every dtype, and so is their sum), one per sample, from numpy's generator seeded by the run's seed."""
    x = d.base["inputs"][d.spec.prediction]
    per_sample = d.spec.per_sample_shape(np.shape(x), d.base["params"], d.elementwise)[:1]
    assume(per_sample)  # the loss of this draw takes no per-sample weights (no batch axis left)
    rng = np.random.default_rng([d.seed, 2, *per_sample])
    w1, w2 = (rng.integers(0, 4, size=per_sample).astype(np.float64) for _ in range(2))
    w1[0], w2[-1] = max(w1[0], 1), max(w2[-1], 1)  # neither all zero
    g1, g2, g12 = gradients(d.adapter, d.wrt, *((d.case("sum", sample_weight=w), None, "reverse") for w in (w1, w2, w1 + w2)))
    extra = {n: magnitude(d.spec, g1, n) + magnitude(d.spec, g2, n) + magnitude(d.spec, g12, n) for n in d.wrt}
    return d.compare(f"weights {w1.tolist()} plus {w2.tolist()} against their sum",
                     {n: g1.values[n] + g2.values[n] for n in d.wrt}, g12.values, g1, g12, extra, 3)


def batch_permutation(d: Draw) -> list:
    """Permuting the batch (every input and the weights along axis 0) permutes the gradient the same way."""
    inputs, weights = d.base["inputs"], d.base["sample_weight"]
    assume(_batch_free(d.spec, inputs, d.base["params"].get("axis", -1)))
    order = batch_order(inputs[d.spec.prediction].shape[0], d.seed)
    permuted = {n: x[order] for n, x in inputs.items()}
    w = weights if weights is None or np.ndim(weights) == 0 else weights[order]
    out = []
    for reduction in ("sum", "sum_over_batch_size"):
        if reduction not in strategies.reductions_for(d.spec):
            continue
        a, b = gradients(d.adapter, d.wrt, (d.case(reduction), None, "reverse"),
                         (d.case(reduction, inputs=permuted, sample_weight=w), None, "reverse"))
        extra = {n: magnitude(d.spec, a, n)[order] + magnitude(d.spec, b, n) for n in d.wrt}
        out += d.compare(f"{reduction}: the permuted batch's gradient against the gradient permuted ({order.tolist()})",
                         b.values, {n: a.values[n][order] for n in d.wrt}, b, a, extra, 2)
    return out


def softmax_gradient_sums_to_zero(d: Draw) -> list:
    """The gradient with respect to the logits sums to zero over the class axis, per sample and position. The
    allowance of a row sum is the sum of its components' (each one result, the row's K terms, K u sum_k m_k of
    them the softmax normaliser's rounding, common to the row); expressed in ULPs at sum_k m_k."""
    spec, params = d.spec, d.base["params"]
    if "from_logits" in spec.params:
        assume(params.get("from_logits"))
    name = spec.prediction
    (g,) = gradients(d.adapter, (name,), (d.case("sum"), None, "reverse"))
    x = g.values[name]
    axis = params.get("axis", -1) % x.ndim if x.ndim else 0
    k = x.shape[axis] if x.ndim else 1
    m = magnitude(spec, g, name)
    allowed = tolerance.derive_relation(m, d.dtype, d.flush, k, 1).ulps.reshape(m.shape) * d.gaps(m)  # absolute
    rows, row_magnitude = np.sum(x, axis=axis), np.sum(m, axis=axis)
    return [Comparison(f"the gradient with respect to {name} summed over the class axis {axis}", rows.ravel(),
                       np.zeros(rows.size), row_magnitude.ravel(),
                       np.maximum(np.sum(allowed, axis=axis) / d.gaps(row_magnitude), 1).ravel(), g, g)]


def forward_equals_reverse(d: Draw) -> list:
    """The forward-mode gradient (from Jacobian-vector products) agrees with the reverse-mode one, for a scalar
    reduction and for the unreduced losses contracted with a cotangent."""
    out = []
    for reduction in ("sum", "none"):
        if reduction not in strategies.reductions_for(d.spec):
            continue
        case = d.case(reduction)
        cotangent = None if reduction != "none" else gradient_judge.cotangent_for(case, result_shape(d.adapter, case))
        f, r = gradients(d.adapter, d.wrt, (case, cotangent, "forward"), (case, cotangent, "reverse"))
        extra = {n: magnitude(d.spec, f, n) + magnitude(d.spec, r, n) for n in d.wrt}
        out += d.compare(f"{reduction}: forward mode against reverse mode", f.values, r.values, f, r, extra, 2)
    return out


def compiled_equals_eager(d: Draw) -> list:
    """The compiled variant's gradient (the whole derivative computation compiled) agrees with the primary one's."""
    out = []
    compiled, eager = d.base["variant"], d.adapter.variants[0]
    for reduction in ("sum", "none"):
        if reduction not in strategies.reductions_for(d.spec):
            continue
        case = d.case(reduction)
        cotangent = None if reduction != "none" else gradient_judge.cotangent_for(case, result_shape(d.adapter, case))
        a, b = gradients(d.adapter, d.wrt, (case, cotangent, "reverse"), (case.with_(variant=eager), cotangent, "reverse"))
        extra = {n: magnitude(d.spec, a, n) + magnitude(d.spec, b, n) for n in d.wrt}
        out += d.compare(f"{reduction}: variant {compiled} against {eager}", a.values, b.values, a, b, extra, 2)
    return out


CHECKS = {f.__name__: f for f in (sum_of_per_sample, weight_linearity, batch_permutation, softmax_gradient_sums_to_zero,
                                   forward_equals_reverse, compiled_equals_eager)}


def relation_records(relation: str, d: Draw, test_id: str) -> list[dict]:
    """Every record of ``relation`` on one draw: one per comparison, or one error where a computation raised."""
    try:
        comparisons = CHECKS[relation](d)
    except Raised as raised:
        return [error_record(d.adapter, relation, raised, test_id, d.wrt)]
    return [record_of(d.adapter, relation, c, _judge(c, d.dtype, d.flush), test_id, d.wrt) for c in comparisons
            if c.got.size]


def test_gradient_relation(lossconf, gradient_relation_axes):
    impl, variant, dtype, loss, regime, relation = gradient_relation_axes
    adapter = lossconf.adapter(impl)
    spec = specs.all_specs()[loss]
    semantics = adapter.semantics_for(loss) or "ideal"
    elementwise = spec.semantics(semantics)["axis_reduction"] == "none"
    wrt = gradient_judge.differentiable_inputs(spec)
    test_id = f"{impl}-{variant}-{dtype}-{loss}-{regime}-{relation}"

    @drawn(lossconf, "gradient_relations", gradient_relation_axes[2:], spec, regime, dtype, elementwise,
           max_elements(spec, lossconf.profile), draws=DRAWS[lossconf.profile])
    def run(data, inputs, params, weights):
        base = dict(inputs=inputs, params=params, sample_weight=weights, dtype=dtype, semantics=semantics,
                    variant=variant, origin=f"seed={lossconf.seed} regime={regime} gradient relation={relation}")
        with lossconf.timed(impl):
            records = relation_records(relation, Draw(adapter, spec, base, lossconf.seed, elementwise, wrt), test_id)
        failures = [r for r in records if _failure(r)]
        for r in records:
            lossconf.add(r if r in failures else {k: v for k, v in r.items() if k not in COMPACT_DROP + ("other_inputs",)})
        assert not failures, "\n\n".join(outcome.message(r) for r in failures)

    try:
        run_counted(run, relation, impl, loss, dtype)
    except Unsatisfiable:  # nothing refused, raised or inf: the draws of this regime never fit the relation
        pytest.skip(f"no draw of the {regime} regime fits {relation} for {loss} (e.g. no batch axis to permute)")
