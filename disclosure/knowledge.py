"""The attacker's knowledge of a table of cells, and its blocks.

The attacker knows the rules and reads everything published. For a set of cells
(one or several related indicators, every level) that knowledge is a
:class:`Knowledge`:

- an interval per cell. A published cell lies within its rounding interval, and the
  publication rules narrow it further (:func:`published_interval`): a published
  sensitive count above 0 passed the frequency rule, so it holds at least
  ``min_units`` units and so at least ``min_units`` records; a published 0 is an
  exact 0 (a count of 1 or 2 would have been withheld). A withheld cell is
  ``[0, inf)``;
- sum groups: a total equals the sum of its members (a parent and its children on
  every level; a multi-year window and its years);
- subset relations between indicators, per area: ``x[small] <= x[large]`` (sales to
  legal persons are sales; subjects are at most reports);
- where the attacker has per-cell reasons (which zicht does not publish, see
  :mod:`disclosure.protect`): ``[1, min_units - 1]`` for a frequency cell, and the
  disjunction "0 or at least ``min_units``" for a complementary one.

No constraint links two blocks of cells (a gemeente's table, say): each block is
solved on its own (:func:`blocks`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

EMPTY = np.zeros(0, dtype=np.int64)

Sides = tuple[np.ndarray, np.ndarray]  # per cell: solve its minimum, its maximum


@dataclass(eq=False)
class Labels:
    """The blocks of cells linked by constraints: how many (``n``), and each cell's
    block (``block``). The table sorted by block (:meth:`index`) is kept: a caller
    that asks again with other intervals of the same constraints sorts nothing."""

    n: int
    block: np.ndarray
    _sorted: dict[tuple[int, ...], tuple[tuple[np.ndarray, ...], _Index]] = field(
        default_factory=dict, repr=False
    )

    def index(self, k: Knowledge) -> _Index:
        """The cells, sum entries and subset pairs of ``k`` sorted by block (``k``'s
        constraints are those of these labels)."""
        arrays = (k.total, k.group, k.small)
        key = tuple(id(a) for a in arrays)
        kept = self._sorted.get(key)
        if kept is None or any(a is not b for a, b in zip(kept[0], arrays)):
            kept = arrays, _Index.of(self, k)
            self._sorted[key] = kept  # the arrays are held: their ids stay theirs
        return kept[1]


class _Index(NamedTuple):
    """Cells (``order``), sum entries and subset pairs grouped by block: block b's are
    ``order[starts[b]:starts[b + 1]]``, and so on; ``rank``: a cell's position in its
    block."""

    order: np.ndarray
    starts: np.ndarray
    rank: np.ndarray
    entries: np.ndarray
    entry_starts: np.ndarray
    pairs: np.ndarray
    pair_starts: np.ndarray

    @classmethod
    def of(cls, labels: Labels, k: Knowledge) -> _Index:
        order, starts = _by_block(labels.block, labels.n)
        rank = np.empty(len(labels.block), dtype=np.int64)
        rank[order] = np.arange(len(labels.block)) - starts[labels.block[order]]
        entries, entry_starts = _by_block(labels.block[k.total][k.group], labels.n)
        pairs, pair_starts = _by_block(labels.block[k.small], labels.n)
        return cls(order, starts, rank, entries, entry_starts, pairs, pair_starts)


def _by_block(labels: np.ndarray, n_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions sorted by their block label, and where each block starts."""
    order = np.argsort(labels, kind="stable")
    return order, np.searchsorted(labels[order], np.arange(n_blocks + 1))


@dataclass
class Knowledge:
    """What the attacker knows about cells ``0..n-1`` (see the module docstring).

    ``total[g]`` equals the sum of the cells ``member[k]`` with ``group[k] == g``;
    ``x[small[k]] <= x[large[k]]``; ``zero_or_at_least[i] > 0`` says cell i is 0 or at
    least that much.
    """

    low: np.ndarray
    high: np.ndarray
    total: np.ndarray = field(default_factory=lambda: EMPTY)
    member: np.ndarray = field(default_factory=lambda: EMPTY)
    group: np.ndarray = field(default_factory=lambda: EMPTY)
    small: np.ndarray = field(default_factory=lambda: EMPTY)
    large: np.ndarray = field(default_factory=lambda: EMPTY)
    zero_or_at_least: np.ndarray | None = None

    @classmethod
    def of_tree(cls, parent: np.ndarray, low: np.ndarray, high: np.ndarray) -> Knowledge:
        """Knowledge of one hierarchy: every parent is the sum of its children."""
        total, member, group = tree_groups(parent)
        return cls(np.asarray(low, float), np.asarray(high, float), total, member, group)

    def within(self, low: np.ndarray, high: np.ndarray) -> Knowledge:
        """The same constraints with the intervals ``[low, high]`` (bounds found since)."""
        return dataclasses.replace(self, low=low, high=high)

    @property
    def has_disjunctions(self) -> bool:
        """Whether some cell is "0 or at least" something (mixed-integer programs)."""
        return self.zero_or_at_least is not None and bool((self.zero_or_at_least > 0).any())


def tree_groups(parent: np.ndarray, offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum groups of a hierarchy (``parent[i]``: position of i's parent, or -1): the
    totals, and the (member, group) pairs; positions shifted by ``offset``."""
    parent = np.asarray(parent, dtype=np.int64)
    child = np.flatnonzero(parent >= 0)
    totals, group = np.unique(parent[child], return_inverse=True)
    return totals + offset, child + offset, group.astype(np.int64)


def published_interval(
    published: np.ndarray, half: np.ndarray | float, count: np.ndarray | bool, min_units: float
) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's interval for each cell from its published value (NaN: withheld).

    A published value lies within ``half`` of the true one (rounding), and is not
    negative. A published count (``count``) above 0 passed the frequency rule and holds
    at least ``min_units`` records; a published count of 0 is exactly 0.
    """
    published = np.asarray(published, dtype=float)
    shape = published.shape
    half = np.broadcast_to(np.asarray(half, dtype=float), shape)
    count = np.broadcast_to(np.asarray(count, dtype=bool), shape)
    known = ~np.isnan(published)
    low = np.where(known, np.maximum(published - half, 0.0), 0.0)
    high = np.where(known, published + half, np.inf)
    positive = known & count & (published > 0)
    low = np.where(positive, np.maximum(low, min_units), low)
    high = np.where(known & count & (published == 0), 0.0, high)
    return low, high


def protected(
    value: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    tolerance: float = 1e-6,
) -> np.ndarray:
    """Whether the attacker's ``[low, high]`` covers ``[value - lower, value + upper]``
    (Hundepool et al., 2012, *Statistical Disclosure Control*, section 4.3: the
    attacker's "feasibility interval" covers the protection interval)."""
    return (low <= value - lower + tolerance) & (high >= value + upper - tolerance)


class Block(NamedTuple):
    """One block of cells linked by constraints (see :func:`blocks`)."""

    which: np.ndarray  # the asked cells in it, as indices into the asked array
    knowledge: Knowledge  # its own knowledge, positions renumbered
    local: np.ndarray  # the asked cells' positions in it
    inside: np.ndarray  # its positions in the whole table


def block_labels(k: Knowledge) -> Labels:
    """The blocks of cells linked by constraints (a gemeente's table, say): how many,
    and each cell's block. They depend on the constraints alone, not on the values:
    a caller that asks again with other intervals passes them on (``labels``)."""
    n = len(k.low)
    rows = np.r_[k.total[k.group], k.small]
    cols = np.r_[k.member, k.large]
    graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    n_blocks, block = connected_components(graph, directed=False)
    return Labels(int(n_blocks), block)


def restricted(k: Knowledge, inside: np.ndarray, rank: np.ndarray) -> Knowledge:
    """The knowledge of the cells ``inside`` (whole blocks), renumbered by ``rank``."""
    keep = rank >= 0
    entries = np.flatnonzero(keep[k.total[k.group]])
    return _sub_knowledge(k, inside, rank, entries, np.flatnonzero(keep[k.small]))


def _sub_knowledge(
    k: Knowledge, inside: np.ndarray, rank: np.ndarray, entries: np.ndarray, pairs: np.ndarray
) -> Knowledge:
    """The knowledge of the cells ``inside`` with their sum entries and subset pairs,
    positions renumbered by ``rank``."""
    totals, groups = np.unique(k.group[entries], return_inverse=True)
    return Knowledge(
        low=k.low[inside],
        high=k.high[inside],
        total=rank[k.total[totals]],
        member=rank[k.member[entries]],
        group=groups.astype(np.int64),
        small=rank[k.small[pairs]],
        large=rank[k.large[pairs]],
        zero_or_at_least=None if k.zero_or_at_least is None else k.zero_or_at_least[inside],
    )


def blocks(k: Knowledge, cells: np.ndarray, labels: Labels | None = None) -> Iterator[Block]:
    """Each block of cells linked by constraints that holds some of ``cells``. The
    blocks are found (unless ``labels`` has them) and sliced with one sort each (a
    national table has thousands)."""
    labels = labels or block_labels(k)
    ix = labels.index(k)
    asked, asked_starts = _by_block(labels.block[cells], labels.n)
    for b in np.unique(labels.block[cells]):
        inside = ix.order[ix.starts[b] : ix.starts[b + 1]]
        mine = ix.entries[ix.entry_starts[b] : ix.entry_starts[b + 1]]
        pair = ix.pairs[ix.pair_starts[b] : ix.pair_starts[b + 1]]
        which = asked[asked_starts[b] : asked_starts[b + 1]]
        sub = _sub_knowledge(k, inside, ix.rank, mine, pair)
        yield Block(which, sub, ix.rank[cells[which]], inside)
