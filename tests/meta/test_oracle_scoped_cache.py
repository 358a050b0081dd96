"""The oracle's scoped cache: a derivative computed under one convention is reused under another only where the
two agree on every switch the computation read, and the reused numbers are the ones a fresh computation gives."""
from __future__ import annotations

import numpy as np
import pytest

import specs
from oracle import cache, expression, gradient

FLOAT32_SUBNORMAL = np.float32(1e-40)


@pytest.fixture
def disk(tmp_path, monkeypatch):
    """A scoped cache of its own, and no in-process memo: every lookup goes to this directory."""
    monkeypatch.setenv("LOSSCONF_ORACLE_CACHE", str(tmp_path))
    cache._connection.cache_clear()
    expression.forget()
    yield
    cache._connection.cache_clear()
    expression.forget()


def _bce(semantics: str, y_pred) -> object:
    y_true = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    return specs.make_case("binary_crossentropy", inputs={"y_true": y_true, "y_pred": np.asarray(y_pred, np.float32)},
                           params={}, dtype="float32", reduction="sum", semantics=semantics)


def _computations(monkeypatch) -> list:
    """Counts the certified partials actually computed (not read back)."""
    made = []
    real = gradient._partials

    def counting(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(gradient, "_partials", counting)
    return made


def _partials(case):
    spec, params, sem = expression.prepare(case)
    partials, bits = gradient._certified_partials(spec, params, sem, case, "y_pred")
    return partials.left, partials.right, bits


def _rows() -> int:
    return cache._connection().execute("select count(*) from scoped").fetchone()[0]


def test_a_convention_differing_only_in_an_unread_switch_reuses_the_partials(disk, monkeypatch):
    made = _computations(monkeypatch)
    normal = [[0.25, 0.5], [0.75, 0.125]]
    first = _partials(_bce("keras+ftz", normal))
    computed = len(made)
    expression.forget()
    second = _partials(_bce("keras", normal))  # flush_subnormals differs, but no input is subnormal: not read
    assert len(made) == computed and _rows() == 1
    for a, b in zip(first, second):
        assert np.array_equal(a, b)


def test_a_switch_that_was_read_separates_the_entries(disk, monkeypatch):
    made = _computations(monkeypatch)
    tiny = [[0.25, FLOAT32_SUBNORMAL], [0.75, 0.125]]
    _partials(_bce("keras+ftz", tiny))
    computed = len(made)
    expression.forget()
    _partials(_bce("keras", tiny))  # the subnormal is read as 0 under ftz only: another function
    assert len(made) > computed and _rows() == 2
    expression.forget()
    _partials(_bce("torch", [[0.25, 0.5], [0.75, 0.125]]))  # other switches read (torch's log clamp)
    assert _rows() == 3


def test_reused_partials_are_the_ones_computed_afresh(disk, monkeypatch):
    normal = [[0.25, 0.5], [0.75, 0.125]]
    _partials(_bce("keras+ftz", normal))
    expression.forget()
    reused = _partials(_bce("keras", normal))
    monkeypatch.setattr(cache, "get_scoped", lambda base, semantics: None)
    expression.forget()
    fresh = _partials(_bce("keras", normal))
    for a, b in zip(reused, fresh):
        assert np.array_equal(a, b)


def test_a_value_is_shared_but_measured_in_its_own_convention(disk, monkeypatch):
    import oracle

    evaluations = []
    real = oracle._evaluate
    monkeypatch.setattr(oracle, "_evaluate", lambda *a, **k: evaluations.append(1) or real(*a, **k))
    normal = [[0.25, 0.5], [0.75, 0.125]]
    flushed = oracle.evaluate(_bce("keras+ftz", normal))
    made = len(evaluations)
    expression.forget()
    plain = oracle.evaluate(_bce("keras", normal))
    assert len(evaluations) == made  # read back, not evaluated
    assert plain.value == flushed.value and plain.certified_bits == flushed.certified_bits
    assert plain.semantics.name == "keras" and flushed.flush and not plain.flush
    expression.forget()
    monkeypatch.setattr(cache, "get_scoped", lambda base, semantics: None)
    assert oracle.evaluate(_bce("keras", [[0.25, 0.5], [0.75, 0.25]])).value != plain.value  # another draw: computed
    assert len(evaluations) > made
