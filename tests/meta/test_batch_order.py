"""The batch permutation of the relation tests: a permutation that moves a sample, the same for the same seed."""
from __future__ import annotations

import numpy as np

from tests.conformance.test_relations import batch_order


def test_batch_order_moves_a_sample_and_is_reproducible():
    for n in range(2, 65):
        for seed in range(4):
            order = batch_order(n, seed)
            assert sorted(order.tolist()) == list(range(n))
            assert np.any(order != np.arange(n)), (n, seed)
            assert np.array_equal(order, batch_order(n, seed))
    assert any(not np.array_equal(batch_order(8, 0), batch_order(8, s)) for s in range(1, 4))
