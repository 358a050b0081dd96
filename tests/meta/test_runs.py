"""oracle.runs: arithmetic once per run of repeated rows gives exactly the elementwise result, on long runs of the
very objects a long regime repeats, with zeros, signed infinities, NaN and a term far below the others."""
import mpmath
import numpy as np
import pytest

from oracle import runs

VALUES = [mpmath.mpf(1) / 3, mpmath.mpf(-2) / 7, mpmath.mpf(0), mpmath.ldexp(3, -400), mpmath.mpf(5) / 11,
          mpmath.inf, -mpmath.inf, mpmath.nan]


def _long_runs(seed: int, finite: bool):
    """A few seed rows of VALUES' objects, the last repeated up to thousands of times (strategies.long_run's shape)."""
    rng = np.random.default_rng(seed)
    pool = VALUES[:5] if finite else VALUES
    width = tuple(rng.integers(1, 4, size=rng.integers(0, 3)))
    seeds = rng.integers(0, len(pool), size=(rng.integers(1, 4), *width))
    order = np.r_[np.arange(len(seeds) - 1), np.full(rng.integers(1, 3000), len(seeds) - 1)]
    return np.array(pool + [None], dtype=object)[:-1][seeds][order]


def _equal(a, b) -> bool:
    return (mpmath.isnan(a) and mpmath.isnan(b)) or a == b


@pytest.mark.parametrize("seed", range(60))
def test_array_sum_is_fsum(seed):
    values = _long_runs(seed, finite=seed % 3 != 0)
    for prec in (53, 96, 192):
        with mpmath.workprec(prec):
            assert _equal(runs.array_sum(values), mpmath.fsum(values.ravel()))


@pytest.mark.parametrize("seed", range(30))
def test_distinct_map_is_elementwise(seed):
    a, b = _long_runs(seed, finite=True), _long_runs(seed + 1000, finite=True)
    b = np.broadcast_to(b[:1], a.shape) if b.shape[1:] == a.shape[1:] else np.broadcast_to(VALUES[0], a.shape)
    fn = lambda x, y: x * y + abs(x)
    expected = np.frompyfunc(fn, 2, 1)(a, b)
    got = runs.distinct_map(fn, a, b)
    assert got.shape == a.shape and all(x == y for x, y in zip(got.ravel(), expected.ravel()))


def test_a_run_needs_the_same_objects_not_equal_values():
    # equal values held by different objects are computed apart (correct either way); the same object is one run
    equal = np.array([mpmath.mpf(1) / 3 for _ in range(100)] + [None], dtype=object)[:-1]
    assert len(runs.object_runs(equal)[0]) == 100
    same = np.array([equal[0]] * 100 + [None], dtype=object)[:-1]
    assert len(runs.object_runs(same)[0]) == 1


def test_same_and_count_nonzero():
    a = _long_runs(7, finite=True)
    assert runs.same(a, a.copy())
    moved = a.copy()
    moved[-1] = np.array([mpmath.mpf(7)] * moved[-1].size + [None], dtype=object)[:-1].reshape(moved[-1].shape)
    assert not runs.same(a, moved)
    assert runs.count_nonzero(a) == sum(1 for v in a.ravel() if v != 0)
