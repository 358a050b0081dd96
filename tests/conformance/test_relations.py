"""Relations an implementation must satisfy with itself, judged with the oracle's tolerances.

Each relation compares two computations A and B of the implementation; it holds when
|A - B| <= tol(A) + tol(B) (+ |exact(A) - exact(B)| where the two are different mathematics), each
tolerance derived by the oracle for its own case. As in the judge, the tolerance without the conditioning
term is tried first: it is a lower bound of the full one, so a relation it settles holds, and the (costly)
conditioning is computed only for the differences beyond it. A violation is recorded with both cases.
"""
from __future__ import annotations

import functools

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

import oracle
import specs
from conformance import agreement, expectations, judge, outcome, strategies, tolerance
from core import dtypes, phases, verdicts
from core.case import Case

GIVE_UP = 20  # unsupported draws in a row, none computed: the relation does not apply to this implementation (a refused
# draw costs only its drawing; optax computes binary focal loss on about one draw in eight)
DRAWS = {"quick": 4, "full": 40}  # draws per (loss, relation); relations are about logic, not numerics
RELATIONS = ("reduction_consistency", "batch_permutation", "batch_independence", "weight_linearity",
             "zero_smoothing", "from_logits_consistency", "variants_agree")


def applies(relation: str, spec, adapter, variants: tuple[str, ...]) -> bool:
    if relation == "zero_smoothing":
        return "label_smoothing" in spec.params
    if relation == "from_logits_consistency":  # logits in y_pred against their probabilities (not CTC's log_probs)
        return "from_logits" in spec.params and spec.two_inputs
    if relation == "variants_agree":  # eager and compiled, class, function and alias: one loss, one value
        return len(variants) >= 2
    if relation == "batch_independence":
        return not spec.inputs.get("batch_coupled")  # pairwise losses: each sample's loss reads the whole batch
    return True


class Side:
    """One computation: the case, what the implementation returned, and its allowance per element.

    The implementation runs at once (an unsupported or raising draw is rejected before anything costly); the
    oracle's value and tolerance are computed when a relation first reads them."""

    unsupported: set = set()  # why draws could not be expressed, to explain a relation with no usable draw
    raised: set = set()  # what the implementation raised on valid draws (judged as errors by the other tests)
    nonfinite = 0  # draws the implementation answered with inf or NaN (judged by the property tests)
    refused = computed = 0  # per relation test: draws refused as unsupported, sides computed

    def __init__(self, adapter, case: Case, computed: tuple | None = None):
        self.case = case
        outcome_, payload = computed or judge.compute(adapter, case)  # sides() asked supports() already
        if outcome_ == "unsupported":
            Side.refuse(case, payload)
        if outcome_ in ("raised", "failed"):
            Side.raised.add(str(payload)[:200])
        assume(outcome_ == "value")  # unsupported or raising draws say nothing about a relation
        Side.computed += 1
        self.got = [mpmath.mpf(float(v)) for v in np.asarray(payload, dtype=np.float64).ravel()]
        if not all(mpmath.isfinite(g) for g in self.got):
            Side.nonfinite += 1
        assume(all(mpmath.isfinite(g) for g in self.got))

    @staticmethod
    def refuse(case: Case, reason: str) -> None:
        Side.unsupported.add(reason)
        Side.refused += 1
        if Side.refused >= GIVE_UP and not Side.computed:  # the relation needs what the adapter cannot express
            pytest.skip(f"unsupported: {case.loss} needs cases the implementation cannot express: "
                        f"{'; '.join(sorted(Side.unsupported))[:300]}")
        assume(False)

    @functools.cached_property
    def exact(self):
        return oracle.evaluate(self.case)

    @functools.cached_property
    def values(self) -> list:
        values = list(np.asarray(self.exact.value, dtype=object).ravel())
        assume(all(mpmath.isfinite(v) for v in values))
        return values

    @functools.cached_property
    def _tolerance(self) -> tolerance.LazyTolerance:
        return tolerance.LazyTolerance(self.exact, lambda: oracle.condition(self.case))

    def allowance(self, conditioned: bool) -> list:
        """The allowed absolute error per element: with the conditioning term, or without it (a lower bound)."""
        tol = self._tolerance.full() if conditioned else self._tolerance.lower
        return [t * dtypes.ulp(v, self.exact.ulp_dtype, self.exact.flush) for t, v in zip(tol.ulps, self.values)]


def sides(adapter, *cases: Case, computed: list | None = None) -> list[Side]:
    """A Side per case, computed only once every case is known to be supported: a draw one side cannot
    express is rejected before the other side pays for it (a JAX compilation costs seconds per shape).
    ``computed``: each case's (outcome, payload) where the caller has them already."""
    for case in cases:
        support = judge.supported(adapter, case)
        if support is not True:
            Side.refuse(case, str(support))
    return [Side(adapter, case, c) for case, c in zip(cases, computed or [None] * len(cases))]


def check_outcomes_agree(lossconf, impl: str, adapter, cases: list[Case], computed: list) -> None:
    """The variants of one valid case either all return finite values, all inf/NaN, or all raise; a difference is a
    ``variants_disagree`` finding (one variant raising where another computes is the compiled path's classic bug)."""
    pairs = [(c, r) for c, r in zip(cases, computed) if r[0] != "unsupported"]  # a variant that cannot express it
    outcomes = {c.variant: agreement.call_outcome(r) for c, r in pairs}
    if len(set(outcomes.values())) < 2:
        return
    said = "; ".join(f"{c.variant}: {outcomes[c.variant]}" + (f" ({str(r[1])[:160]})" if r[0] != "value" else "")
                     for c, r in pairs)
    record = judge.base_record(adapter, cases[0])
    record.update(kind="conformance", relation="variants_agree", verdict=verdicts.VARIANTS_DISAGREE, outcomes=outcomes,
                  test_id=f"{impl}-{cases[0].variant}-{cases[0].dtype}-{cases[0].loss}-variants_agree",
                  explanation=f"the variants treat this valid case differently ({said})")
    entry = expectations.note(impl, record)
    lossconf.add(record)
    if not expectations.expects(entry, verdicts.VARIANTS_DISAGREE):
        raise AssertionError(outcome.message(record))


def holds(a, b, allowance) -> bool:
    return abs(a - b) <= allowance


def check(relation: str, lossconf, impl, a: Side, b: Side, a_value, b_value, allowance, what: str):
    """``allowance(conditioned)`` is the allowed difference; without conditioning it is a lower bound."""
    if a_value == b_value:  # holds whatever the tolerance: no oracle evaluation needed
        return
    if holds(a_value, b_value, allowance(False)):
        return
    allowance = allowance(True)
    if holds(a_value, b_value, allowance):
        return
    record = judge.judge(lossconf.adapter(impl), a.case)
    record.update(verdict="numeric", relation=relation, test_id=f"{impl}-{a.case.variant}-{a.case.dtype}-{a.case.loss}-{relation}",
                  explanation=f"relation {relation} violated: {what}: {mpmath.nstr(a_value, 12)} vs {mpmath.nstr(b_value, 12)}, "
                              f"allowed {mpmath.nstr(allowance, 3)} (other case: {b.case.to_dict()})")
    entry = expectations.note(impl, record)
    if expectations.expects(entry, "numeric"):
        lossconf.add(record)
        return
    lossconf.add(record)
    raise AssertionError(outcome.message(record))


def make(spec, reduction: str, **fields) -> Case:
    """A case of ``spec``; every field (inputs, params, sample_weight, variant, ...) by keyword."""
    return specs.make_case(spec.name, reduction=reduction, **fields)


def _batch_free(spec, inputs: dict, axis: int) -> bool:
    """Whether every input leads with a batch of at least two samples: in two-input layouts the class axis may be
    the leading one instead; custom layouts always lead with their batch."""
    if spec.inputs["shapes"] != "custom":
        y_pred = inputs["y_pred"]
        return y_pred.ndim >= 2 and (axis % y_pred.ndim) != 0 and y_pred.shape[0] >= 2
    return inputs[spec.prediction].ndim >= 1 and inputs[spec.prediction].shape[0] >= 2


def batch_order(n: int, seed: int) -> np.ndarray:
    """A permutation of ``n >= 2`` samples that moves at least one, from numpy's generator seeded by the run's seed.
    Not a hypothesis draw: every relation then consumes the same choices per example, so the relations of a loss
    draw the same inputs (the same shapes: JAX compiles once per shape, the oracle evaluates each case once)."""
    order = np.random.default_rng([seed, n]).permutation(n)
    return order if np.any(order != np.arange(n)) else order[::-1]


def test_relation(lossconf, relation_axes):
    impl, variant, dtype, loss, relation = relation_axes
    adapter = lossconf.adapter(impl)
    spec = specs.all_specs()[loss]
    variants = lossconf.run_variants(adapter)
    semantics = adapter.semantics_for(loss) or "ideal"
    elementwise = spec.semantics(semantics)["axis_reduction"] == "none"
    origin = f"seed={lossconf.seed} relation={relation}"

    @seed(lossconf.seed)
    @settings(suppress_health_check=list(HealthCheck), deadline=None, max_examples=DRAWS[lossconf.profile],
              database=strategies.shared_database("relations", relation_axes[2:]))  # the same draws for every implementation
    @given(data=st.data())
    def run(data):
        with phases.timed("draw"):
            # the moderate regime of the property tests, whose draws these are (the same seed, the same choices):
            # every relation of a loss computes the same cases, so JAX compiles and the oracle evaluates them once
            inputs, params, weights = data.draw(strategies.loss_inputs(spec, "moderate", dtype, 256, elementwise))
        axis = params.get("axis", -1)
        batch_axis_free = _batch_free(spec, inputs, axis)
        base = dict(inputs=inputs, params=params, sample_weight=weights, dtype=dtype,
                    semantics=semantics, variant=variant, origin=origin)
        new = lambda reduction, **changes: make(spec, reduction, **{**base, **changes})
        if relation == "reduction_consistency":
            total, none = sides(adapter, new("sum"), new("none"))
            check(relation, lossconf, impl, total, none, total.got[0], mpmath.fsum(none.got),
                  lambda c: total.allowance(c)[0] + mpmath.fsum(none.allowance(c)), "sum against the sum of the unreduced losses")
        elif relation == "batch_permutation":
            assume(batch_axis_free)
            order = batch_order(inputs[spec.prediction].shape[0], lossconf.seed)
            w = None if weights is None or np.ndim(weights) == 0 else weights[order]
            a, b = sides(adapter, new("sum", sample_weight=weights),
                         new("sum", inputs={n: x[order] for n, x in inputs.items()}, sample_weight=w if w is not None else weights))
            check(relation, lossconf, impl, a, b, a.got[0], b.got[0], lambda c: a.allowance(c)[0] + b.allowance(c)[0],
                  "sum over a permuted batch")
        elif relation == "batch_independence":
            assume(batch_axis_free)
            # the other samples change (rolled through the batch, each still valid); the first stays
            swapped = {n: np.roll(x, 1, axis=0) for n, x in inputs.items()}
            for n, x in inputs.items():
                swapped[n][0] = x[0]
            assume(not np.array_equal(swapped[spec.prediction], inputs[spec.prediction]))
            a, b = sides(adapter, new("none", sample_weight=None),
                         new("none", inputs=swapped, sample_weight=None))
            per_row = len(a.got) // inputs[spec.prediction].shape[0]
            for i in range(per_row):  # the first sample's losses must not depend on the other samples
                check(relation, lossconf, impl, a, b, a.got[i], b.got[i], lambda c: a.allowance(c)[i] + b.allowance(c)[i],
                      "the first sample's loss")
        elif relation == "weight_linearity":
            assume(weights is not None)
            a, b = sides(adapter, new("sum"), new("sum", sample_weight=np.asarray(weights) * 2))
            check(relation, lossconf, impl, a, b, 2 * a.got[0], b.got[0], lambda c: 2 * a.allowance(c)[0] + b.allowance(c)[0],
                  "doubling every weight")
        elif relation == "zero_smoothing":
            plain = {k: v for k, v in params.items() if k != "label_smoothing"}
            a, b = sides(adapter, new("sum", params={**plain, "label_smoothing": 0.0}), new("sum", params=plain))
            check(relation, lossconf, impl, a, b, a.got[0], b.got[0], lambda c: a.allowance(c)[0] + b.allowance(c)[0],
                  "label_smoothing=0 against none")
        elif relation == "from_logits_consistency":
            assume(params.get("from_logits"))
            probabilities = _exact_probabilities(spec, inputs["y_pred"], axis, dtype)
            a, b = sides(adapter, new("sum"), new("sum", inputs={**inputs, "y_pred": probabilities},
                                                  params={**params, "from_logits": False}))
            gap = abs(a.values[0] - b.values[0])  # rounding sigma(z) to the dtype is a different input
            check(relation, lossconf, impl, a, b, a.got[0], b.got[0], lambda c: a.allowance(c)[0] + b.allowance(c)[0] + gap,
                  "logits against their exactly computed, rounded probabilities")
        elif relation == "variants_agree":
            # every other variant against the relation's own (the primary handle): the same value within both
            # allowances, even where each is within the oracle's tolerance of its own convention
            own = new("none", sample_weight=None)
            cases = [new("none", sample_weight=None, variant=v) for v in variants if v != variant]
            cases = [c for c in cases if judge.supported(adapter, c) is True]  # a variant that cannot express it
            if not cases or judge.supported(adapter, own) is not True:
                Side.refuse(own, f"fewer than two variants of {impl} can express this case")
            computed = [judge.compute(adapter, c) for c in (own, *cases)]
            check_outcomes_agree(lossconf, impl, adapter, [own, *cases], computed)
            a, *others = sides(adapter, own, *cases, computed=computed)
            for b in others:
                for i, (x, y) in enumerate(zip(a.got, b.got)):
                    check(relation, lossconf, impl, a, b, x, y, lambda c: a.allowance(c)[i] + b.allowance(c)[i],
                          f"element {i}, {variant} against {b.case.variant}")

    run_counted(run, relation, impl, loss, dtype)


def run_counted(run, relation: str, impl: str, loss: str, dtype: str) -> None:
    """``run()`` (a hypothesis test drawing Sides) with Side's counters fresh; where no draw was usable, a skip that
    says why (unsupported, raised, inf or NaN), else hypothesis's Unsatisfiable."""
    Side.unsupported, Side.raised, Side.refused, Side.computed, Side.nonfinite = set(), set(), 0, 0, 0
    try:
        run()
    except Unsatisfiable:
        if Side.unsupported:
            pytest.skip(f"unsupported: {relation} needs cases {impl} cannot express: {'; '.join(sorted(Side.unsupported))[:300]}")
        if Side.raised:  # the example and property tests record these raises as errors on valid input
            pytest.skip(f"no usable draw: {impl} raised on every valid draw of {loss} ({dtype}): {'; '.join(sorted(Side.raised))[:300]}")
        if Side.nonfinite:  # the property tests judge inf and NaN against the oracle
            pytest.skip(f"no usable draw: {impl} returned inf or NaN on {Side.nonfinite} draws of {loss} ({dtype}) and a "
                        "finite value on none it could compare")
        raise


def _exact_probabilities(spec, z: np.ndarray, axis: int, dtype: str) -> np.ndarray:
    """sigmoid(z) (binary) or softmax(z) along the class axis, computed exactly, rounded to the dtype."""
    with mpmath.workprec(200):
        if not spec.inputs.get("positive_row_sums"):
            flat = [1 / (1 + mpmath.exp(-mpmath.mpf(float(v)))) for v in z.ravel()]
            return np.array([float(dtypes.round_to(v, dtype)) for v in flat]).reshape(z.shape)
        moved = np.moveaxis(z, axis, -1)
        rows = moved.reshape(-1, moved.shape[-1])
        out = []
        for row in rows:
            exps = [mpmath.exp(mpmath.mpf(float(v))) for v in row]
            total = mpmath.fsum(exps)
            out.append([float(dtypes.round_to(e / total, dtype)) for e in exps])
        return np.moveaxis(np.array(out).reshape(moved.shape), -1, axis)
