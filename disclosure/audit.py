"""The attacker's audit: can a suppressed value be recovered from what is published?

For one additive indicator, the published cells of all levels and the hierarchy
(every parent equals the sum of its children) define what an attacker knows: each
published cell lies within its rounding interval, every cell is non-negative, and
each suppressed cell is unknown. For every suppressed cell the attacker minimises and
maximises it subject to all of that (:func:`attacker_bounds_lp`, HiGHS through
scipy's ``linprog``). A cell is protected when that interval covers its protection
interval ``[value - lower, value + upper]``.

The hierarchy is a tree, and on a tree of sum constraints over intervals, bound
propagation (an upward and a downward pass, repeated to a fixed point) gives the
same bounds as the linear programs, at a fraction of the cost
(:func:`attacker_bounds`); the tests check that the two agree on random tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from boundaries.errors import DisclosureError

PARENT_LEVEL = {"buurt": "wijk", "wijk": "gemeente"}


def parent_positions(level: np.ndarray, code: np.ndarray, parent_code: np.ndarray) -> np.ndarray:
    """For cells given by (level, code), the position of each one's parent cell (the
    cell of the next level up with code ``parent_code``), or -1 where there is none."""
    position = pd.Series(np.arange(len(code)), index=pd.MultiIndex.from_arrays([level, code]))
    parent_key = pd.MultiIndex.from_arrays(
        [
            [PARENT_LEVEL.get(lv, "") for lv in level],
            pd.Series(parent_code, dtype=object).fillna(""),
        ]
    )
    return position.reindex(parent_key).fillna(-1).to_numpy(dtype=np.int64)


@dataclass
class Tree:
    """One indicator's cells: ``parent[i]`` is the position of i's parent, or -1.

    ``low``/``high`` are what the attacker knows of each cell before using the
    hierarchy: the rounding interval of a published cell, ``[0, inf)`` of a
    suppressed one.
    """

    parent: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def from_published(
        cls, parent: np.ndarray, published: np.ndarray, half: np.ndarray | float
    ) -> Tree:
        published = np.asarray(published, dtype=float)
        known = ~np.isnan(published)
        half = np.broadcast_to(np.asarray(half, dtype=float), published.shape)
        low = np.where(known, np.maximum(published - half, 0.0), 0.0)
        high = np.where(known, published + half, np.inf)
        return cls(np.asarray(parent, dtype=np.int64), low, high)


def attacker_bounds(tree: Tree, max_rounds: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """The tightest interval the attacker can derive for every cell (bound propagation)."""
    low, high = tree.low.copy(), tree.high.copy()
    n = len(low)
    child = np.flatnonzero(tree.parent >= 0)
    par = tree.parent[child]
    for _ in range(max_rounds):
        before_low, before_high = low.copy(), high.copy()
        sum_low = np.bincount(par, weights=low[child], minlength=n)
        finite_high = np.where(np.isinf(high[child]), 0.0, high[child])
        sum_high = np.bincount(par, weights=finite_high, minlength=n)
        inf_count = np.bincount(par, weights=np.isinf(high[child]).astype(float), minlength=n)
        has_children = np.bincount(par, minlength=n) > 0
        # upward: a parent lies within the sum of its children's intervals
        low = np.where(has_children, np.maximum(low, sum_low), low)
        high = np.where(has_children & (inf_count == 0), np.minimum(high, sum_high), high)
        # downward: a child is its parent minus what its siblings can be
        sibling_high_inf = (inf_count[par] - np.isinf(high[child])) > 0
        sibling_high = sum_high[par] - finite_high
        sibling_low = sum_low[par] - low[child]
        new_low = np.where(
            sibling_high_inf, low[child], np.maximum(low[child], low[par] - sibling_high)
        )
        new_high = np.minimum(high[child], high[par] - sibling_low)
        low[child], high[child] = new_low, new_high
        if np.array_equal(low, before_low) and np.array_equal(high, before_high):
            break
    return low, high


def attacker_bounds_lp(tree: Tree, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's linear programs (HiGHS) for the given cell positions: min and max."""
    n = len(tree.low)
    child = np.flatnonzero(tree.parent >= 0)
    parents = np.unique(tree.parent[child])
    row_of = {p: r for r, p in enumerate(parents)}
    rows = [row_of[p] for p in parents] + [row_of[tree.parent[c]] for c in child]
    cols = list(parents) + list(child)
    data = [1.0] * len(parents) + [-1.0] * len(child)
    a_eq = sparse.csr_matrix((data, (rows, cols)), shape=(len(parents), n))
    b_eq = np.zeros(len(parents))
    bounds = list(zip(tree.low, [None if np.isinf(h) else h for h in tree.high]))
    low, high = np.full(len(cells), np.nan), np.full(len(cells), np.nan)
    for k, i in enumerate(cells):
        c = np.zeros(n)
        c[i] = 1.0
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if lo.status == 2 or hi.status == 2:
            raise DisclosureError("the published cells are inconsistent with the hierarchy")
        low[k] = lo.fun
        high[k] = np.inf if hi.status == 3 else -hi.fun
    return low, high


def protected(
    value: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    tolerance: float = 1e-6,
) -> np.ndarray:
    """Whether the attacker's ``[low, high]`` covers ``[value - lower, value + upper]``."""
    return (low <= value - lower + tolerance) & (high >= value + upper - tolerance)
