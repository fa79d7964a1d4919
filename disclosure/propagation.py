"""The attacker's bounds by propagation: each constraint in turn narrows the intervals.

Propagation gets, at a fraction of the cost of the programs
(:mod:`disclosure.programs`), bounds that always hold every value the attacker cannot
rule out. On a tree of sum constraints they equal the linear programs (Fischetti and
Salazar-Gonzalez, 1999), and the tests check that they do on random linked tables with
one subset per indicator. Where constraints form cycles (two subsets of one indicator,
sums over years, a second hierarchy) propagation can be wider than the programs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from zicht.disclosure.knowledge import Knowledge, restricted
from zicht.disclosure.limits import LIMITS
from zicht.errors import DisclosureError


def attacker_bounds(
    k: Knowledge, max_rounds: int = LIMITS.propagation_rounds
) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's interval for every cell, by propagation to a fixed point."""
    low, high = k.low.astype(float).copy(), k.high.astype(float).copy()
    for _ in range(max_rounds):
        before_low, before_high = low.copy(), high.copy()
        low, high = _one_pass(k, low, high)
        if np.any(low > high + 1e-6):
            raise DisclosureError("the published cells are inconsistent with each other")
        if np.array_equal(low, before_low) and np.array_equal(high, before_high):
            break
    return low, high


def _one_pass(k: Knowledge, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One pass over every constraint: the sums, the subset pairs, the disjunctions."""
    if len(k.total):
        _propagate_sums(low, high, k.total, k.member, k.group, len(k.total))
    if len(k.small):
        np.minimum.at(high, k.small, high[k.large])
        np.maximum.at(low, k.large, low[k.small])
    either = k.zero_or_at_least
    if either is not None:
        has = either > 0
        high = np.where(has & (high < either), 0.0, high)
        low = np.where(has & (low > 0), np.maximum(low, either), low)
    return low, high


def _propagate_sums(
    low: np.ndarray,
    high: np.ndarray,
    total: np.ndarray,
    member: np.ndarray,
    group: np.ndarray,
    n_groups: int,
) -> None:
    """One pass over the sum groups: a total lies within the sum of its members'
    intervals (upward); a member is its total minus what the others can be (downward)."""
    m_low, m_high = low[member], high[member]
    infinite = np.isinf(m_high)
    finite_high = np.where(infinite, 0.0, m_high)
    sum_low = np.bincount(group, weights=m_low, minlength=n_groups)
    sum_high = np.bincount(group, weights=finite_high, minlength=n_groups)
    n_infinite = np.bincount(group, weights=infinite.astype(float), minlength=n_groups)
    np.maximum.at(low, total, sum_low)
    np.minimum.at(high, total, np.where(n_infinite == 0, sum_high, np.inf))
    t_low, t_high = low[total][group], high[total][group]
    others_infinite = (n_infinite[group] - infinite) > 0
    new_low = np.where(others_infinite, -np.inf, t_low - (sum_high[group] - finite_high))
    new_high = t_high - (sum_low[group] - m_low)
    np.maximum.at(low, member, new_low)
    np.minimum.at(high, member, new_high)


def attacker_bounds_again(
    k: Knowledge,
    before: Knowledge,
    bounds: tuple[np.ndarray, np.ndarray],
    blocks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`attacker_bounds` of ``k``, given the ``bounds`` it found for ``before``
    (the same constraints; some cells' intervals changed): only the blocks (``blocks``:
    from :func:`~disclosure.knowledge.block_labels`) with a changed cell are propagated
    again, the others keep their bounds (no constraint links two blocks)."""
    changed = (k.low != before.low) | (k.high != before.high)
    low, high = bounds[0].copy(), bounds[1].copy()
    if changed.any():
        inside = np.flatnonzero(np.isin(blocks, np.unique(blocks[changed])))
        rank = np.full(len(k.low), -1, dtype=np.int64)
        rank[inside] = np.arange(len(inside))
        low[inside], high[inside] = attacker_bounds(restricted(k, inside, rank))
    return low, high


@dataclass(frozen=True)
class Incidence:
    """Which constraints each cell of a :class:`~disclosure.knowledge.Knowledge` is in
    (sum groups, as total or member; subset pairs), and the entries of each sum group:
    what :func:`attacker_bounds_near` looks up to follow a change. Each is a sparse
    0/1 matrix in compressed rows (``indptr``, ``indices``), read with :func:`_rows`."""

    groups: tuple[np.ndarray, np.ndarray]  # cell x sum group
    entries: tuple[np.ndarray, np.ndarray]  # sum group x entry
    pairs: tuple[np.ndarray, np.ndarray]  # cell x subset pair

    @classmethod
    def of(cls, k: Knowledge) -> Incidence:
        """The incidence of ``k``'s constraints."""
        n, n_groups, n_pairs = len(k.low), len(k.total), len(k.small)
        return cls(
            _incidence(np.r_[k.member, k.total], np.r_[k.group, np.arange(n_groups)], n, n_groups),
            _incidence(k.group, np.arange(len(k.member)), n_groups, len(k.member)),
            _incidence(np.r_[k.small, k.large], np.tile(np.arange(n_pairs), 2), n, n_pairs),
        )


def _incidence(
    rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int
) -> tuple[np.ndarray, np.ndarray]:
    """The compressed rows of a 0/1 matrix with ones at (``rows``, ``cols``)."""
    ones = np.ones(len(rows), dtype=np.int8)
    matrix = sparse.csr_matrix((ones, (rows, cols)), shape=(n_rows, n_cols))
    return matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64)


def _rows(matrix: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ones of ``rows`` of a compressed 0/1 matrix: for each, the position in
    ``rows`` of its row and its column (scipy's row slicing costs a millisecond a call;
    this is the inner step of :func:`attacker_bounds_near`)."""
    indptr, indices = matrix
    starts, lengths = indptr[rows], indptr[rows + 1] - indptr[rows]
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return np.repeat(np.arange(len(rows)), lengths), indices[offsets + np.arange(lengths.sum())]


def attacker_bounds_near(
    k: Knowledge,
    fixed: list[np.ndarray],
    values: list[np.ndarray],
    incidence: Incidence,
    max_rounds: int = LIMITS.propagation_rounds,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """:func:`attacker_bounds` of ``k`` (intervals at a fixed point of propagation)
    with, in each of several variants, some cells fixed: ``fixed[j]`` at ``values[j]``
    in variant ``j``. Only the constraints a change reaches are propagated again, wave
    by wave, as far as it goes, in all variants at once. The same fixed point as
    :func:`attacker_bounds` (tested), at the cost of what the changes move: an insider
    who knows a few cells (:mod:`disclosure.insiders`) moves few. Returns ``low`` and
    ``high``, one row per variant, and per variant the cells whose interval may differ
    from ``k``'s (sorted positions: the fixed cells and those a wave moved). Many
    calls on one ``k``: :class:`NearBounds`."""
    return NearBounds(k, incidence, len(fixed), max_rounds)(fixed, values)


class NearBounds:
    """:func:`attacker_bounds_near`, called again and again on one ``k`` with up to
    ``copies`` variants a call: the variants' bounds are kept from call to call, and
    each call first puts back only what the last one moved (copying a national
    group's bounds for every batch of insiders cost more than propagating)."""

    def __init__(
        self,
        k: Knowledge,
        incidence: Incidence,
        copies: int,
        max_rounds: int = LIMITS.propagation_rounds,
    ) -> None:
        self.k, self.incidence, self.max_rounds = k, incidence, max_rounds
        self.base_low, self.base_high = k.low.astype(float), k.high.astype(float)
        self.low, self.high = np.tile(self.base_low, copies), np.tile(self.base_high, copies)
        self.moved = np.zeros(0, dtype=np.int64)  # positions the last call moved

    def __call__(
        self, fixed: list[np.ndarray], values: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """The bounds with ``fixed[j]`` at ``values[j]`` in variant ``j`` (see
        :func:`attacker_bounds_near`). The arrays returned are this workspace's own:
        valid until the next call."""
        k, n, copies = self.k, len(self.k.low), len(fixed)
        low, high = self.low[: copies * n], self.high[: copies * n]
        self.low[self.moved], self.high[self.moved] = (
            self.base_low[self.moved % n],
            self.base_high[self.moved % n],
        )
        at = np.concatenate([j * n + np.asarray(f, dtype=np.int64) for j, f in enumerate(fixed)])
        low[at] = high[at] = np.concatenate(values)
        cells = _distinct(at, len(low))
        moved = [cells]
        for _ in range(self.max_rounds):
            if not len(cells):
                break
            cells = _wave(k, self.incidence, low, high, cells, copies)
            moved.append(cells)
        self.moved = _distinct(np.concatenate(moved), len(low))
        ends = np.searchsorted(self.moved, np.arange(1, copies + 1) * n)
        each = [cells % n for cells in np.split(self.moved, ends[:-1])]
        return low.reshape(copies, n), high.reshape(copies, n), each


def _wave(
    k: Knowledge,
    incidence: Incidence,
    low: np.ndarray,
    high: np.ndarray,
    cells: np.ndarray,
    copies: int,
) -> np.ndarray:
    """One wave of :class:`NearBounds`: the constraints of the cells that moved
    (``cells``, positions in the variants' bounds) narrow their cells, in place;
    returns the cells that moved now."""
    n, n_groups, n_pairs = len(k.low), len(k.total), max(len(k.small), 1)
    copy, cell = np.divmod(cells, n)
    row, group = _rows(incidence.groups, cell)
    groups = _distinct(copy[row] * n_groups + group, copies * n_groups)
    g_copy, g_base = np.divmod(groups, n_groups)
    e_row, entry = _rows(incidence.entries, g_base)
    totals = g_copy * n + k.total[g_base]
    members = g_copy[e_row] * n + k.member[entry]
    row, pair = _rows(incidence.pairs, cell)
    pairs = _distinct(copy[row] * n_pairs + pair, copies * n_pairs)
    p_copy, p_base = np.divmod(pairs, n_pairs)
    small, large = p_copy * n + k.small[p_base], p_copy * n + k.large[p_base]
    touched = _distinct(np.r_[totals, members, small, large], len(low))
    before_low, before_high = low[touched], high[touched]
    _propagate_sums(low, high, totals, members, e_row, len(g_base))
    np.minimum.at(high, small, high[large])
    np.maximum.at(low, large, low[small])
    if k.zero_or_at_least is not None:
        _either(k.zero_or_at_least[touched % n], touched, low, high)
    if np.any(low[touched] > high[touched] + 1e-6):
        raise DisclosureError("the published cells are inconsistent with each other")
    return touched[(low[touched] != before_low) | (high[touched] != before_high)]


def _distinct(values: np.ndarray, size: int) -> np.ndarray:
    """The distinct ``values`` (integers below ``size``), sorted: by marking, which
    beats sorting or hashing the hundreds of thousands of a batch's wave; where they
    are few (the last waves of a change, a national group's millions) by hashing, then
    sorting what is left (three times as fast as sorting them all: a wave repeats a
    cell once per constraint it is on)."""
    if len(values) * 32 < size:
        return np.sort(pd.unique(values))
    mark = np.zeros(size, dtype=bool)
    mark[values] = True
    return np.flatnonzero(mark)


def _either(either: np.ndarray, cells: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
    """The disjunctions "0 or at least ``either``" of ``cells``, in place."""
    lo, hi = low[cells], high[cells]
    has = either > 0
    high[cells] = np.where(has & (hi < either), 0.0, hi)
    low[cells] = np.where(has & (lo > 0), np.maximum(lo, either), lo)
