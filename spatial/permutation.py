"""Conditional permutation for local statistics: draws, counts and sequential testing.

For every area the neighbours are replaced by random other areas (never the area
itself) and the permuted neighbour sums are compared with the observed one, as esda
does: one matrix of random draws is shared by all areas. Local Moran's I and Gi* are
both monotone in the (weighted) neighbour sum, so one pass of counts serves both.

:func:`permutation_counts` fuses drawing, summing and comparing in one loop compiled by
numba (no matrix of sums is ever built): about 0.1 s for the national buurten with 999
permutations, against 0.6 s for the vectorised numpy gathers of
:func:`permutation_counts_numpy`, which stays as the reference (the tests check that
both give identical counts) and serves weighted rows. :func:`sequential_counts` adds
permutations only where the decision is still open (Besag and Clifford, 1991).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from scipy import sparse

CHUNK_ELEMENTS = 4_000_000  # values per numpy block: bounds memory at about 64 MB


@dataclass
class Neighbours:
    """CSR neighbour lists (no self-links) aligned with ``ids``; weights as given."""

    ids: pd.Index
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray

    @property
    def cardinality(self) -> np.ndarray:
        return np.diff(self.indptr)

    def matrix(self) -> sparse.csr_matrix:
        n = len(self.ids)
        return sparse.csr_matrix((self.weights, self.indices, self.indptr), shape=(n, n))

    def binary(self) -> Neighbours:
        return Neighbours(self.ids, self.indptr, self.indices, np.ones_like(self.weights))


@dataclass
class Counts:
    """Per area: permuted neighbour sums at least (``ge``) and at most (``le``) the
    observed one, out of ``total`` permutations (ties count in both)."""

    ge: np.ndarray
    le: np.ndarray
    total: np.ndarray
    first_ge: np.ndarray  # the counts of the first ``permutations`` (esda's p_sim)
    first_le: np.ndarray

    def two_sided(self) -> np.ndarray:
        """Two-sided mid-p value: each tail counts the ties (and the observed value
        itself) as half, so a tie is neither all-extreme nor all-inside; twice the
        smaller tail. An area whose neighbourhood ties with most permutations (all
        zeros among rare counts) gets about 1, not the smallest p possible."""
        ties = self.ge + self.le - self.total
        upper = (self.ge - ties + 0.5 * (ties + 1)) / (self.total + 1)
        lower = (self.le - ties + 0.5 * (ties + 1)) / (self.total + 1)
        return np.minimum(1.0, 2.0 * np.minimum(upper, lower))


def draws(n_other: int, max_card: int, permutations: int, seed: int) -> np.ndarray:
    """``permutations`` rows of ``max_card`` distinct ids from ``range(n_other)``.

    Rows are drawn with replacement, and rows with a repeated id are drawn again
    until none has one (rejection sampling: uniform over tuples of distinct ids),
    at a cost linear in the output.
    """
    rng = np.random.default_rng(seed)
    out = rng.integers(0, n_other, size=(permutations, max_card))
    if max_card < 2:
        return out
    if max_card > n_other:
        raise ValueError("more neighbours than other areas")
    redo = np.arange(permutations)
    while len(redo):
        ordered = np.sort(out[redo], axis=1)
        redo = redo[(ordered[:, 1:] == ordered[:, :-1]).any(axis=1)]
        out[redo] = rng.integers(0, n_other, size=(len(redo), max_card))
    return out


def permutation_counts(
    values: np.ndarray,
    nb: Neighbours,
    permutations: int,
    seed: int,
    observed: np.ndarray,
    weighted: bool,
    only: np.ndarray | None = None,
    with_self: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """For each area (or the areas in ``only``), how many permuted neighbour sums are
    >= and <= the observed one. Values are compared exactly (up to rounding noise), so
    ties in count data stay ties. Weighted rows use :func:`permutation_counts_numpy`.

    ``with_self``: total randomisation, the null of Gi*'s z-score (Getis and Ord, 1995):
    the area's own value is drawn too, so each permuted sum is of ``card + 1`` distinct
    values from all areas and ``observed`` is the sum with the area's own value. (The
    conditional scheme holds the own value fixed: a Gi* tested so ignores it.)"""
    if weighted:
        return permutation_counts_numpy(
            values, nb, permutations, seed, observed, True, only, with_self
        )
    n = len(values)
    extra = int(with_self)
    card = nb.cardinality
    ge = np.zeros(n, dtype=np.int64)
    le = np.zeros(n, dtype=np.int64)
    if n < 2 or card.max(initial=0) == 0:
        return ge, le
    ids = draws(n - 1 + extra, int(card.max()) + extra, permutations, seed).astype(np.int32)
    areas = np.flatnonzero(card > 0) if only is None else only[card[only] > 0]
    tolerance = 1e-9 * max(1.0, float(np.abs(values).max()))
    kernel = _fused_by_area if ids.nbytes <= 1 << 20 else _fused_by_row
    kernel(
        np.asarray(values, dtype=np.float64),
        np.where(card > 0, card + extra, 0).astype(np.int64),
        1 - extra,  # conditional: the ids skip the area itself
        ids,
        np.asarray(observed, dtype=np.float64),
        areas.astype(np.int64),
        tolerance,
        ge,
        le,
    )
    return ge, le


@numba.njit(cache=True, nogil=True)
def _fused_by_area(values, card, shift, ids, observed, areas, tolerance, ge, le):  # type: ignore[no-untyped-def]
    # area by area, all rows of draws each (fast while the draws fit in the cache):
    # shift the ids past the area itself (conditional), sum, compare
    for i in range(areas.shape[0]):
        a = areas[i]
        k = card[a]
        low, high = observed[a] - tolerance, observed[a] + tolerance
        g = 0
        lt = 0
        for p in range(ids.shape[0]):
            total = 0.0
            for j in range(k):
                d = ids[p, j]
                total += values[d + shift if d >= a else d]
            if total >= low:
                g += 1
            if total <= high:
                lt += 1
        ge[a] += g
        le[a] += lt


@numba.njit(cache=True, nogil=True)
def _fused_by_row(values, card, shift, ids, observed, areas, tolerance, ge, le):  # type: ignore[no-untyped-def]
    # row by row of draws (each read once, shared by every area: for many rows and
    # few areas, as in the sequential rounds)
    low = observed[areas] - tolerance
    high = observed[areas] + tolerance
    for p in range(ids.shape[0]):
        row = ids[p]
        for i in range(areas.shape[0]):
            a = areas[i]
            total = 0.0
            for j in range(card[a]):
                d = row[j]
                total += values[d + shift if d >= a else d]
            if total >= low[i]:
                ge[a] += 1
            if total <= high[i]:
                le[a] += 1


def permutation_counts_numpy(
    values: np.ndarray,
    nb: Neighbours,
    permutations: int,
    seed: int,
    observed: np.ndarray,
    weighted: bool,
    only: np.ndarray | None = None,
    with_self: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The same counts by vectorised numpy gathers, area blocks of equal cardinality at
    a time (the reference for :func:`permutation_counts`, and weighted rows; with
    ``with_self`` binary rows only)."""
    if weighted and with_self:
        raise ValueError("total randomisation (with_self) is for binary weights (Gi*)")
    n = len(values)
    extra = int(with_self)
    card = nb.cardinality
    ge = np.zeros(n, dtype=np.int64)
    le = np.zeros(n, dtype=np.int64)
    if n < 2 or card.max(initial=0) == 0:
        return ge, le
    ids_all = draws(n - 1 + extra, int(card.max()) + extra, permutations, seed)
    tolerance = 1e-9 * max(1.0, float(np.abs(values).max()))
    chosen = np.ones(n, dtype=bool) if only is None else np.isin(np.arange(n), only)
    for k in np.unique(card[chosen & (card > 0)]):
        areas = np.flatnonzero(chosen & (card == k))
        ids = ids_all[:, : k + extra]
        step = max(1, CHUNK_ELEMENTS // (permutations * (k + extra)))
        for start in range(0, len(areas), step):
            block = areas[start : start + step]
            # ids index the values with the area itself removed: shift those >= i by one
            idx = ids[None, :, :] + (1 - extra) * (ids[None, :, :] >= block[:, None, None])
            gathered = values[idx]
            if weighted:
                w = np.stack([nb.weights[nb.indptr[i] : nb.indptr[i + 1]] for i in block])
                sums = np.einsum("cpk,ck->cp", gathered, w)
            else:
                sums = gathered.sum(axis=2)
            obs = observed[block, None]
            ge[block] = (sums >= obs - tolerance).sum(axis=1)
            le[block] = (sums <= obs + tolerance).sum(axis=1)
    return ge, le


@dataclass(frozen=True)
class Sequential:
    """When an area draws permutations beyond the first pass (Besag and Clifford, 1991,
    "Sequential Monte Carlo p-values", Biometrika 78: 301-304).

    ``max_permutations``: the most an area draws in all (no more than the first pass:
    no sequential rounds). ``thresholds``: the p-values the decisions are made at, given
    the current p-values of all areas (the false-discovery thresholds of the confidence
    levels); without them an area is open while it has fewer than ``exceedances``
    permuted sums in its smaller tail. ``budget``: the extra draws are at most this
    many times those of the first pass.
    """

    max_permutations: int
    thresholds: Callable[[np.ndarray], np.ndarray] | None = None
    exceedances: int = 10
    budget: float = 1.0

    def closeness(self, counts: Counts) -> np.ndarray:
        """How far each area's p-value is from its decision: open below 1.

        With thresholds, the distance to the nearest in standard errors over 3.3 (the
        99.9% confidence interval of the p-value straddles it below 1).
        """
        p = counts.two_sided()
        if self.thresholds is None:
            return p / 2 * (counts.total + 1) / self.exceedances
        q = np.clip(p / 2, 0.5 / (counts.total + 1), 0.5)
        se = 2 * np.sqrt(q * (1 - q) / (counts.total + 1))
        cut = self.thresholds(p)
        return (np.abs(p[:, None] - cut[None, :]) / se[:, None]).min(axis=1) / 3.3


def sequential_counts(
    values: np.ndarray,
    nb: Neighbours,
    permutations: int,
    seed: int,
    observed: np.ndarray,
    weighted: bool,
    rule: Sequential,
    with_self: bool = False,
) -> Counts:
    """Permutation counts, sequential where ``rule.max_permutations`` > ``permutations``.

    After the first ``permutations``, an area keeps drawing, in batches that double up
    to ``rule.max_permutations``, while its decision is open: while the 99.9% confidence
    interval of its two-sided p-value straddles one of the ``rule.thresholds``, or,
    without thresholds, while it has fewer than ``rule.exceedances`` permuted sums in
    its smaller tail (Besag and Clifford, 1991). ``with_self``: total randomisation
    (see :func:`permutation_counts`). Areas far from significance stop at
    once, clearly significant ones once that is clear; the resolution goes where the
    decision is made (down to about 2 / ``max_permutations``). The extra draws are at
    most ``rule.budget`` times those of the first pass; when a round cannot serve every
    open area, the areas with the smallest p-values go first.
    """
    ge, le = permutation_counts(values, nb, permutations, seed, observed, weighted, None, with_self)
    counts = Counts(
        ge.copy(), le.copy(), np.full(len(values), permutations, dtype=np.int64), ge, le
    )
    batch, round_ = permutations, 1
    card = nb.cardinality
    left = rule.budget * permutations * float(card.sum())
    while left > 0:
        open_ = np.flatnonzero(
            (rule.closeness(counts) < 1) & (card > 0) & (counts.total < rule.max_permutations)
        )
        if not len(open_):
            break
        batch = min(2 * batch, rule.max_permutations - int(counts.total[open_].min()))
        affordable = int(left // (batch * max(float(card[open_].mean()), 1.0)))
        if affordable < len(open_):
            # the smallest p-values first: they are the discoveries to be made
            p = counts.two_sided()
            open_ = open_[np.argsort(p[open_], kind="stable")[:affordable]]
        if not len(open_):
            break
        left -= batch * float(card[open_].sum())
        more_ge, more_le = permutation_counts(
            values, nb, batch, seed + 7919 * round_, observed, weighted, open_, with_self
        )
        counts.ge[open_] += more_ge[open_]
        counts.le[open_] += more_le[open_]
        counts.total[open_] += batch
        round_ += 1
    return counts
