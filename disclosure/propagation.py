"""The attacker's bounds by propagation: each constraint in turn narrows the intervals.

Propagation gets, at a fraction of the cost of the programs
(:mod:`disclosure.programs`), bounds that always hold every value the attacker cannot
rule out. On a tree of sum constraints they equal the linear programs (Fischetti and
Salazar-Gonzalez, 1999), and the tests check that they do on random linked tables with
one subset per indicator. Where constraints form cycles (two subsets of one indicator,
sums over years, a second hierarchy) propagation can be wider than the programs.
"""

from __future__ import annotations

import numpy as np

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
