"""The compiled shuffles (spatial/shuffles.py) are numpy's: the same permutations for
any seed, size and block, and the generator left where numpy leaves it."""

from __future__ import annotations

import numpy as np
import pytest

from zicht.spatial.shuffles import permuted_indices


def _numpys(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    column = np.arange(n, dtype=np.int32)[:, None]
    return rng.permuted(np.broadcast_to(column, (n, count)), axis=0)


# sizes around the masks' edges (a draw up to 2**k - 1 never rejects, 2**k often)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 8, 255, 256, 257, 4097, 12229])
@pytest.mark.parametrize("seed", [0, 1, 20261204])
def test_shuffles_are_numpys_bit_for_bit(n, seed):
    ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
    for count in (1, 7, 40):  # blocks one after another, from one generator
        mine = permuted_indices(ours, n, count)
        expected = _numpys(theirs, n, count)
        assert mine.dtype == expected.dtype and mine.flags.c_contiguous
        np.testing.assert_array_equal(mine, expected)
    assert ours.bit_generator.state == theirs.bit_generator.state
    assert ours.random() == theirs.random()  # and it goes on as numpy's would


def test_another_bit_generator_is_shuffled_by_numpy():
    ours = np.random.Generator(np.random.MT19937(5))
    theirs = np.random.Generator(np.random.MT19937(5))
    np.testing.assert_array_equal(permuted_indices(ours, 50, 3), _numpys(theirs, 50, 3))
