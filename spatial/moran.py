"""Global Moran's I with a permutation pseudo p-value, of one column or of many.

The statistic is esda's ``Moran`` on row-standardised weights, with its folded
pseudo p-value (``p_sim``): each permutation shuffles the known values over the
areas (numpy's seeded ``Generator.permuted``, compiled in :mod:`spatial.shuffles`
to the same shuffles, in blocks of at most
:data:`~zicht.spatial.permutation.CHUNK_ELEMENTS` values).

A layer has a few dozen published columns over the same areas and weights.
:func:`global_morans` gives what :func:`global_moran` gives for each of them, bit for
bit, for much less work: the neighbour lists are built once (a column's are those of
all areas restricted to its known ones), and the seeded shuffles, which depend on
nothing but the seed and the number of values shuffled, are drawn once per number
of known values, as indices, and read by every column with that many values. The
shuffles hold no lock on the interpreter, so groups of columns run on threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from zicht.errors import AnalysisError
from zicht.spatial.hotspots import _folded, _known, _neighbours, _row_standardised
from zicht.spatial.permutation import CHUNK_ELEMENTS, Neighbours
from zicht.spatial.shuffles import permuted_indices

if TYPE_CHECKING:
    from zicht.spatial.weights import Weights

# a function from the centred values (n) to the blocks of their shuffles (n x block)
Shuffles = Callable[[np.ndarray], Iterable[np.ndarray]]


@dataclass
class GlobalMoran:
    """Global Moran's I with its permutation pseudo p-value (folded, as esda's ``p_sim``)."""

    I: float  # noqa: E741  (Moran's I, as esda names it)
    expected: float
    p: float
    z_sim: float
    permutations: int
    n: int


def global_moran(
    values: pd.Series, weights: Weights, permutations: int = 999, seed: int = 0
) -> GlobalMoran:
    """Global Moran's I on row-standardised weights, with a permutation pseudo p-value."""
    y = _known(values)
    return _moran(y, _neighbours(weights, y.index), permutations, _shuffled(permutations, seed))


def global_morans(
    columns: pd.DataFrame,
    weights: Weights,
    permutations: int = 999,
    seed: int = 0,
    threads: int = 1,
) -> dict[str, GlobalMoran]:
    """:func:`global_moran` of every column of ``columns`` (areas by code as index;
    each column's NaN left out), the same statistics, with the neighbour lists built
    once and the shuffles drawn once per number of known values, on ``threads``
    threads."""
    if columns.index.has_duplicates:
        raise AnalysisError("values must have unique area codes as index")
    every = _neighbours(weights, columns.index)
    known = {name: _known(columns[name]) for name in columns.columns}
    sizes: dict[int, list[str]] = {}
    for name, y in known.items():
        sizes.setdefault(len(y), []).append(name)

    def of_size(n: int) -> dict[str, GlobalMoran]:
        shuffles = _indexed(n, permutations, seed)
        return {
            name: _moran(known[name], _restricted(every, known[name].index), permutations, shuffles)
            for name in sizes[n]
        }

    out: dict[str, GlobalMoran] = {}
    # the largest first: the longest tasks start before the short ones
    order = sorted(sizes, reverse=True)
    if threads <= 1 or len(order) < 2:
        for n in order:
            out.update(of_size(n))
    else:
        with ThreadPoolExecutor(min(threads, len(order))) as pool:
            for found in pool.map(of_size, order):
                out.update(found)
    return {name: out[name] for name in columns.columns}


def _moran(y: pd.Series, nb: Neighbours, permutations: int, shuffles: Shuffles) -> GlobalMoran:
    n = len(y)
    w = _row_standardised(nb)
    z = y.to_numpy() - y.mean()
    s0 = w.sum()
    zz = float(z @ z)
    if zz == 0 or s0 == 0:
        return GlobalMoran(np.nan, -1.0 / (n - 1), np.nan, np.nan, permutations, n)
    moran = n / s0 * float(z @ (w @ z)) / zz
    sims = np.empty(permutations)
    start = 0
    for Z in shuffles(z):  # each column a random permutation of z
        count = Z.shape[1]
        sims[start : start + count] = n / s0 * np.einsum("ij,ij->j", Z, w @ Z) / zz
        start += count
    larger = int((sims >= moran).sum())
    p_sim = _folded(np.array([larger]), permutations)[0]
    z_sim = (moran - sims.mean()) / sims.std() if sims.std() > 0 else np.nan
    return GlobalMoran(moran, -1.0 / (n - 1), float(p_sim), float(z_sim), permutations, n)


def _blocks(n: int, permutations: int) -> Iterator[int]:
    """The number of shuffles in each block: at most CHUNK_ELEMENTS values a block."""
    step = max(1, CHUNK_ELEMENTS // max(n, 1))
    for start in range(0, permutations, step):
        yield min(step, permutations - start)


def _shuffled(permutations: int, seed: int) -> Shuffles:
    """The seeded shuffles of the values themselves, a block at a time: the values
    moved by :func:`_index_blocks` (what ``Generator.permuted`` of the values gives)."""

    def shuffles(z: np.ndarray) -> Iterator[np.ndarray]:
        return (z[block] for block in _index_blocks(len(z), permutations, seed))

    return shuffles


def _indexed(n: int, permutations: int, seed: int) -> Shuffles:
    """The same shuffles of any ``n`` values, drawn once (at the first column that
    needs them) as indices: a shuffle moves values by their positions alone, so
    ``z[indices]`` is ``z`` shuffled."""
    indices: list[np.ndarray] = []

    def shuffles(z: np.ndarray) -> Iterator[np.ndarray]:
        if not indices:
            indices.extend(_index_blocks(n, permutations, seed))
        return (z[block] for block in indices)

    return shuffles


def _index_blocks(n: int, permutations: int, seed: int) -> Iterator[np.ndarray]:
    """The seeded shuffles of positions ``0 .. n-1``, a block of columns at a time:
    numpy's ``Generator.permuted`` (Fisher-Yates, linear in n), compiled
    (:func:`~zicht.spatial.shuffles.permuted_indices`: the same shuffles, 40% faster)."""
    rng = np.random.default_rng(seed)
    for count in _blocks(n, permutations):
        yield permuted_indices(rng, n, count)


def _restricted(every: Neighbours, ids: pd.Index) -> Neighbours:
    """The neighbour lists of ``every`` area restricted to ``ids`` (in that order): what
    :func:`~zicht.spatial.hotspots._neighbours` builds for ``ids`` alone."""
    at = every.ids.get_indexer(ids)
    matrix = every.matrix()[at][:, at]
    matrix.sort_indices()
    return Neighbours(ids, matrix.indptr, matrix.indices, matrix.data)
