"""The attacker's audit: can a withheld value be recovered from what is published?

The attacker knows the rules and reads everything published. For a set of cells
(one or several related indicators, every level) that knowledge is
(:class:`Knowledge`):

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

For every withheld cell the attacker minimises and maximises it subject to all of
that (:func:`attacker_bounds_lp`: HiGHS through scipy's ``milp``, with binaries for
the disjunctions). A cell is protected when that interval covers its protection
interval ``[value - lower, value + upper]`` (Hundepool et al., 2012, *Statistical
Disclosure Control*, section 4.3: the attacker's "feasibility interval").

:func:`attacker_bounds` gets bounds by propagation (each constraint in turn narrows
the intervals, to a fixed point), at a fraction of the cost. They always hold every
value the attacker cannot rule out. On a tree of sum constraints they equal the linear
programs (Fischetti and Salazar-Gonzalez, 1999), and the tests check that they do on
random linked tables with one subset per indicator. Where constraints form cycles
(two subsets of one indicator, sums over years) propagation can be wider than the
programs; :func:`attacker_bounds_decisive` then lets solutions of the programs decide
most cells at once and solves the rest exactly.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import highspy
import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from zicht.errors import DisclosureError

PARENT_LEVEL = {"buurt": "wijk", "wijk": "gemeente"}
_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass
class Knowledge:
    """What the attacker knows about cells ``0..n-1`` (see the module docstring).

    ``total[g]`` equals the sum of the cells ``member[k]`` with ``group[k] == g``;
    ``x[small[k]] <= x[large[k]]``; ``zero_or_at_least[i] > 0`` says cell i is 0 or at
    least that much.
    """

    low: np.ndarray
    high: np.ndarray
    total: np.ndarray = field(default_factory=lambda: _EMPTY)
    member: np.ndarray = field(default_factory=lambda: _EMPTY)
    group: np.ndarray = field(default_factory=lambda: _EMPTY)
    small: np.ndarray = field(default_factory=lambda: _EMPTY)
    large: np.ndarray = field(default_factory=lambda: _EMPTY)
    zero_or_at_least: np.ndarray | None = None

    @classmethod
    def of_tree(cls, parent: np.ndarray, low: np.ndarray, high: np.ndarray) -> Knowledge:
        """Knowledge of one hierarchy: every parent is the sum of its children."""
        return cls(np.asarray(low, float), np.asarray(high, float), *tree_groups(parent))


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


def attacker_bounds(k: Knowledge, max_rounds: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's interval for every cell, by propagation to a fixed point."""
    low, high = k.low.astype(float).copy(), k.high.astype(float).copy()
    n_groups = len(k.total)
    either = k.zero_or_at_least
    for _ in range(max_rounds):
        before_low, before_high = low.copy(), high.copy()
        if n_groups:
            _propagate_sums(low, high, k.total, k.member, k.group, n_groups)
        if len(k.small):
            np.minimum.at(high, k.small, high[k.large])
            np.maximum.at(low, k.large, low[k.small])
        if either is not None:
            has = either > 0
            high = np.where(has & (high < either), 0.0, high)
            low = np.where(has & (low > 0), np.maximum(low, either), low)
        if np.any(low > high + 1e-6):
            raise DisclosureError("the published cells are inconsistent with each other")
        if np.array_equal(low, before_low) and np.array_equal(high, before_high):
            break
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


Sides = tuple[np.ndarray, np.ndarray]  # per cell: solve its minimum, its maximum


def attacker_bounds_lp(
    k: Knowledge, cells: np.ndarray, sides: Sides | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's programs (HiGHS) for the given cell positions: min and max
    (linear programs: only the ``sides`` asked for, NaN for the others).

    Linear programs, solved by one HiGHS model whose objective alone changes from cell
    to cell (each solve starts from the last basis); mixed-integer programs through
    scipy's ``milp`` where ``zero_or_at_least`` sets disjunctions (a binary per such
    cell: ``x <= M b``, ``x >= m b``).
    """
    either = np.flatnonzero(k.zero_or_at_least > 0) if k.zero_or_at_least is not None else _EMPTY
    if not len(either):
        return _linear_bounds(_highs_model(k), cells, sides)
    rows, cols, data, lb, ub = _constraints(k)
    n, m = len(k.low), len(either)
    n_vars = n + m
    finite = k.high[np.isfinite(k.high)]
    big_m = float(finite.sum() + 1.0) * 10 if len(finite) else 1e12
    # per disjunction two rows: x - M b <= 0 and x - m b >= 0
    first, binary = len(lb) + 2 * np.arange(m), n + np.arange(m)
    rows = np.r_[rows, first, first, first + 1, first + 1]
    cols = np.r_[cols, either, binary, either, binary]
    data = np.r_[data, np.ones(m), np.full(m, -big_m), np.ones(m), -k.zero_or_at_least[either]]  # type: ignore[index]
    lb = np.r_[lb, np.tile([-np.inf, 0.0], m)]
    ub = np.r_[ub, np.tile([0.0, np.inf], m)]
    r = len(lb)
    a = sparse.csr_matrix((data, (rows, cols)), shape=(r, n_vars))
    constraints = [LinearConstraint(a, lb, ub)] if r else []
    bounds = Bounds(np.r_[k.low, np.zeros(len(either))], np.r_[k.high, np.ones(len(either))])
    integrality = np.r_[np.zeros(n), np.ones(len(either))]
    low, high = np.full(len(cells), np.nan), np.full(len(cells), np.nan)
    for j, i in enumerate(cells):
        c = np.zeros(n_vars)
        c[i] = 1.0
        for sign in (1.0, -1.0):
            result = milp(sign * c, integrality=integrality, bounds=bounds, constraints=constraints)
            if result.status == 2:
                raise DisclosureError("the published cells are inconsistent with each other")
            if sign > 0:
                low[j] = result.fun
            else:
                high[j] = np.inf if result.status == 3 or result.x is None else -result.fun
    return low, high


_BANNER_SHOWN = False
_BANNER_LOCK = threading.Lock()


def _highs() -> highspy.Highs:
    """A HiGHS solver. The first one of a process prints a banner on the C-level stdout,
    which would end up in ``zicht audit``'s report: that one is built with stdout
    pointed at the null device."""
    global _BANNER_SHOWN
    with _BANNER_LOCK:  # threads of the audit: one of them silences it
        if _BANNER_SHOWN:
            return highspy.Highs()
        sys.stdout.flush()
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            return highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(null)
            os.close(saved)
            _BANNER_SHOWN = True


def _constraints(k: Knowledge) -> tuple[np.ndarray, ...]:
    """Rows of the attacker's programs: each sum group (total - members = 0) and each
    subset pair (small - large <= 0), as coordinates (rows, columns, values) and row
    bounds (lower, upper)."""
    n_groups, n_pairs = len(k.total), len(k.small)
    pair_rows = n_groups + np.arange(n_pairs)
    rows = np.concatenate([np.arange(n_groups), k.group, pair_rows, pair_rows])
    cols = np.concatenate([k.total, k.member, k.small, k.large])
    data = np.concatenate(
        [np.ones(n_groups), -np.ones(len(k.member)), np.ones(n_pairs), -np.ones(n_pairs)]
    )
    lb = np.r_[np.zeros(n_groups), np.full(n_pairs, -np.inf)]
    ub = np.zeros(n_groups + n_pairs)
    return rows, cols, data, lb, ub


def _highs_model(k: Knowledge) -> highspy.Highs:
    """One HiGHS model of the attacker's linear program, with a zero objective."""
    rows, cols, data, lb, ub = _constraints(k)
    n = len(k.low)
    a = sparse.csc_matrix((data, (rows, cols)), shape=(len(lb), n))
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(lb)
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.asarray(k.low, dtype=float)
    lp.col_upper_ = np.where(np.isinf(k.high), inf, k.high)
    lp.row_lower_ = np.where(np.isinf(lb), -inf, lb)
    lp.row_upper_ = ub
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    solver = _highs()
    solver.setOptionValue("output_flag", False)
    # the programs are solved over and over with another objective, each from the last
    # basis: presolve would only repeat itself
    solver.setOptionValue("presolve", "off")
    solver.passModel(lp)
    return solver


def _run(solver: highspy.Highs) -> highspy.HighsModelStatus:
    """Solve; once more from scratch, and once more with presolve (which rescales a
    program of euros and counts that troubles the simplex), before giving up; an
    infeasible program means the published cells contradict each other."""
    status = highspy.HighsModelStatus
    solver.run()
    outcome = solver.getModelStatus()
    for presolve in ("off", "on"):
        if outcome in (status.kOptimal, *_UNBOUNDED):
            break
        solver.setOptionValue("presolve", presolve)
        solver.clearSolver()
        solver.run()
        outcome = solver.getModelStatus()
    solver.setOptionValue("presolve", "off")
    if outcome == status.kInfeasible:
        raise DisclosureError("the published cells are inconsistent with each other")
    if outcome not in (status.kOptimal, *_UNBOUNDED):
        raise DisclosureError(f"HiGHS could not solve the attacker's program ({outcome})")
    return outcome


# HiGHS's simplex strategies: dual where each solve changes the whole objective,
# primal where one cost changes from solve to solve (measured on branche tables)
_DUAL, _PRIMAL = 1, 4
_UNBOUNDED = (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible)


def _linear_bounds(
    solver: highspy.Highs, cells: np.ndarray, sides: Sides | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of each cell by one HiGHS model (:func:`_highs_model`), warm-started
    from cell to cell; only the ``sides`` asked for (NaN for the others)."""
    solver.setOptionValue("simplex_strategy", _PRIMAL)  # one cost at a time
    low, high = np.full(len(cells), np.nan), np.full(len(cells), np.nan)
    for j, i in enumerate(cells):
        for sign in (1.0, -1.0):
            if sides is not None and not sides[0 if sign > 0 else 1][j]:
                continue
            solver.changeColCost(int(i), sign)
            outcome = _run(solver)
            if outcome in _UNBOUNDED and sign > 0:  # only below 0 can the minimum run off
                raise DisclosureError("the attacker's program has no lower bound")
            value = solver.getInfo().objective_function_value
            if sign > 0:
                low[j] = value
            else:
                high[j] = np.inf if outcome in _UNBOUNDED else -value
        solver.changeColCost(int(i), 0.0)
    return low, high


class Block(NamedTuple):
    """One block of cells linked by constraints (see :func:`_blocks`)."""

    which: np.ndarray  # the asked cells in it, as indices into the asked array
    knowledge: Knowledge  # its own knowledge, positions renumbered
    local: np.ndarray  # the asked cells' positions in it
    inside: np.ndarray  # its positions in the whole table


Labels = tuple[int, np.ndarray]


def block_labels(k: Knowledge) -> Labels:
    """The blocks of cells linked by constraints (a gemeente's table, say): how many,
    and each cell's block. They depend on the constraints alone, not on the values:
    a caller that asks again with other intervals passes them on (``labels``)."""
    n = len(k.low)
    rows = np.r_[k.total[k.group], k.small]
    cols = np.r_[k.member, k.large]
    graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)


def attacker_bounds_again(
    k: Knowledge,
    before: Knowledge,
    bounds: tuple[np.ndarray, np.ndarray],
    blocks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`attacker_bounds` of ``k``, given the ``bounds`` it found for ``before``
    (the same constraints; some cells' intervals changed): only the blocks (``blocks``:
    from :func:`block_labels`) with a changed cell are propagated again, the others
    keep their bounds (no constraint links two blocks)."""
    changed = (k.low != before.low) | (k.high != before.high)
    low, high = bounds[0].copy(), bounds[1].copy()
    if changed.any():
        inside = np.flatnonzero(np.isin(blocks, np.unique(blocks[changed])))
        rank = np.full(len(k.low), -1, dtype=np.int64)
        rank[inside] = np.arange(len(inside))
        low[inside], high[inside] = attacker_bounds(_restricted(k, inside, rank))
    return low, high


def _restricted(k: Knowledge, inside: np.ndarray, rank: np.ndarray) -> Knowledge:
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
        k.low[inside],
        k.high[inside],
        rank[k.total[totals]],
        rank[k.member[entries]],
        groups.astype(np.int64),
        rank[k.small[pairs]],
        rank[k.large[pairs]],
        None if k.zero_or_at_least is None else k.zero_or_at_least[inside],
    )


def _blocks(k: Knowledge, cells: np.ndarray, labels: Labels | None = None) -> Iterator[Block]:
    """Each block of cells linked by constraints that holds some of ``cells``. The
    blocks are found (unless ``labels`` has them) and sliced with one sort each (a
    national table has thousands)."""
    n = len(k.low)
    n_blocks, block = labels or block_labels(k)

    def by_block(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(labels, kind="stable")
        return order, np.searchsorted(labels[order], np.arange(n_blocks + 1))

    order, starts = by_block(block)
    rank = np.empty(n, dtype=np.int64)  # position within its block
    rank[order] = np.arange(n) - starts[block[order]]
    entries, entry_starts = by_block(block[k.total][k.group])
    pairs, pair_starts = by_block(block[k.small])
    asked, asked_starts = by_block(block[cells])
    for b in np.unique(block[cells]):
        inside = order[starts[b] : starts[b + 1]]
        mine = entries[entry_starts[b] : entry_starts[b + 1]]
        pair = pairs[pair_starts[b] : pair_starts[b + 1]]
        which = asked[asked_starts[b] : asked_starts[b + 1]]
        sub = _sub_knowledge(k, inside, rank, mine, pair)
        yield Block(which, sub, rank[cells[which]], inside)


def attacker_bounds_exact(
    k: Knowledge, cells: np.ndarray, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's programs for ``cells``, block by block (cells linked by no
    constraint are solved apart). ``low``/``high`` are valid bounds already known
    (from propagation); the result replaces them for ``cells``."""
    low, high, _ = attacker_bounds_within(k, cells, low, high)
    return low, high


def attacker_bounds_within(
    k: Knowledge,
    cells: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    max_block: int | None = None,
    threads: int = 1,
    sides: Sides | None = None,
    labels: Labels | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`attacker_bounds_exact`, skipping blocks of more than ``max_block``
    cells: their cells keep the known bounds. Also returns which of ``cells`` were
    solved. Blocks are solved on up to ``threads`` threads; of each cell only the
    ``sides`` asked for (the others keep the known bound). ``labels``: ``k``'s
    :func:`block_labels`, where known."""
    k = Knowledge(low, high, k.total, k.member, k.group, k.small, k.large, k.zero_or_at_least)
    low, high = low.copy(), high.copy()
    solved = np.zeros(len(cells), dtype=bool)
    blocks = [
        b
        for b in _blocks(k, cells, labels)
        if max_block is None or len(b.knowledge.low) <= max_block
    ]

    def bounds(block: Block) -> np.ndarray:
        asked = None if sides is None else (sides[0][block.which], sides[1][block.which])
        return np.stack(attacker_bounds_lp(block.knowledge, block.local, asked))

    for block, (lo, hi) in zip(blocks, _each(bounds, blocks, threads)):
        mine = cells[block.which]
        low[mine] = np.where(np.isnan(lo), low[mine], lo)
        high[mine] = np.where(np.isnan(hi), high[mine], hi)
        solved[block.which] = True
    return low, high, solved


def attacker_bounds_decisive(
    k: Knowledge,
    cells: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    enough: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    max_witnesses: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds for ``cells`` that decide ``enough(cells, low, high)`` (a criterion that
    holds for an interval if it holds for a narrower one) as the programs would, at a
    fraction of their cost.

    ``low``/``high`` are valid outer bounds (propagation). A few linear programs
    minimise and maximise the sum of the undecided cells; each solution is a set of
    values the attacker cannot rule out, so the range the solutions span lies inside
    every cell's exact interval. A cell whose spanned range is already enough keeps
    its outer bounds (the verdict is the same); the others get the exact programs.
    """
    k = Knowledge(low, high, k.total, k.member, k.group, k.small, k.large, k.zero_or_at_least)
    low, high = low.copy(), high.copy()
    for which, sub, local, _ in _blocks(k, cells):
        targets = cells[which]
        if sub.zero_or_at_least is not None and (sub.zero_or_at_least > 0).any():
            low[targets], high[targets] = attacker_bounds_lp(sub, local)  # disjunctions
            continue
        solver = _highs_model(sub)
        undecided = ~_witnessed(solver, sub, local, targets, enough, max_witnesses)[0]
        if undecided.any():
            exact = _linear_bounds(solver, local[undecided])
            low[targets[undecided]], high[targets[undecided]] = exact
    return low, high


def attacker_bounds_anchored(
    k: Knowledge,
    cells: np.ndarray,
    anchor: np.ndarray,
    enough: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    withheld: np.ndarray,
    max_witnesses: int = 30,
    max_exact: int = 500,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which of ``cells`` the attacker's programs show to be ``enough``, proven with
    solutions that differ from a known solution (``anchor``: the true values) only in
    the cells marked ``withheld`` (those withheld, and any that may move within their
    published interval).

    Every such solution is one the attacker cannot rule out, so the range they span
    lies inside each cell's exact interval: a cell found enough is enough. The
    programs are over the withheld cells alone (the published ones held at their true
    values), which keeps large two-way tables fast; a cell they cannot show to be
    enough is reported as not enough, which costs a complement but never a leak.
    ``k``'s bounds must be valid for the attacker (propagated ones are). Blocks are
    solved on up to ``threads`` threads. Also returns the range of each cell over
    those solutions (inside its exact interval; empty where none was found).
    """
    sub, position, _ = _anchored(k, anchor, withheld)
    free = np.flatnonzero(position[cells] >= 0)  # a published cell is never in question

    def decide(block: Block) -> np.ndarray:
        originals = cells[free[block.which]]
        solver = _highs_model(block.knowledge)
        # the anchor is a solution: it counts as a witness
        found = _witnessed(
            solver,
            block.knowledge,
            block.local,
            originals,
            enough,
            max_witnesses,
            anchor[originals],
        )
        done, seen_low, seen_high = found
        left = np.flatnonzero(~done)
        if 0 < len(left) <= max_exact:
            asked = needed_sides(enough, originals[left], seen_low[left], seen_high[left])
            try:  # from the witnesses' last basis
                lo, hi = _linear_bounds(solver, block.local[left], asked)
            except DisclosureError:  # numerical trouble: these programs only prove
                lo, hi = np.full(len(left), np.nan), np.full(len(left), np.nan)
            seen_low[left] = np.where(np.isnan(lo), seen_low[left], lo)
            seen_high[left] = np.where(np.isnan(hi), seen_high[left], hi)
            done[left] = np.asarray(enough(originals[left], seen_low[left], seen_high[left]))
        return np.stack([done, seen_low, seen_high])

    proven = np.zeros(len(cells), dtype=bool)
    inner_low, inner_high = np.full(len(cells), np.inf), np.full(len(cells), -np.inf)
    blocks = list(_blocks(sub, position[cells[free]]))
    for block, (done, lo, hi) in zip(blocks, _each(decide, blocks, threads)):
        mine = free[block.which]
        proven[mine], inner_low[mine], inner_high[mine] = done.astype(bool), lo, hi
    return proven, inner_low, inner_high


def needed_sides(
    enough: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    cells: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> Sides:
    """Which side of each cell's interval a program must still find, given a range
    ``[low, high]`` inside its exact interval: where the range's own low end is
    enough (with any high end), only the maximum is needed, and the other way round
    (``enough`` holds for an interval if it holds for a narrower one)."""
    everything = np.full(len(cells), np.inf)
    return (
        ~np.asarray(enough(cells, low, everything), dtype=bool),
        ~np.asarray(enough(cells, -everything, high), dtype=bool),
    )


def _each(
    solve: Callable[[Block], np.ndarray], blocks: list[Block], threads: int
) -> Iterator[np.ndarray]:
    """``solve`` for each block, in order, on up to ``threads`` threads: HiGHS lets go of
    the interpreter while it solves, so blocks solve side by side."""
    if threads <= 1 or len(blocks) < 2:
        yield from map(solve, blocks)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="zicht-audit") as pool:
        yield from pool.map(solve, blocks)


@dataclass(frozen=True)
class Pins:
    """What holds a cell at its bound in the attacker's program: the published
    ``cells`` on the constraints that bind there, the ``direction`` in which each would
    have to move to give it room (+1 up, -1 down), and per cell its binding constraint
    (``item``): withholding one cell of an item relaxes that constraint. ``bound`` is
    the cell's bound (NaN: none found)."""

    bound: float
    cells: np.ndarray = field(default_factory=lambda: _EMPTY)
    direction: np.ndarray = field(default_factory=lambda: _EMPTY)
    item: np.ndarray = field(default_factory=lambda: _EMPTY)


def attacker_pins(
    k: Knowledge,
    anchor: np.ndarray,
    withheld: np.ndarray,
    cells: np.ndarray,
    signs: np.ndarray,
    labels: Labels | None = None,
) -> list[Pins]:
    """What pins each of ``cells`` when the attacker minimises it (``signs`` +1) or
    maximises it (-1), in the program of :func:`attacker_bounds_anchored` (published
    cells held at ``anchor``, except those marked ``withheld``; ``labels``: ``k``'s
    :func:`block_labels`, where known).

    At the optimum of a linear program its reduced costs are a certificate of the
    bound: a variable with a non-zero reduced cost sits on a bound that limits the
    optimum, and moving it by t moves the optimum by the reduced cost times t
    (Chvátal, 1983, *Linear Programming*, ch. 10; the same sensitivity that tau-Argus's
    audit reads, Hundepool et al., 2012, section 4.3). Here such a variable is a
    published cell moving within its interval, a withheld one held by a published
    subset partner, or the fixed part of a sum group that published cells make up:
    withholding one of those published cells lets the cell move further.
    """
    withheld = np.asarray(withheld, dtype=bool)
    pins = [Pins(np.nan)] * len(cells)
    for which, table, local, inside in _blocks(k, cells, labels):  # a gemeente's table
        found = _pins_in_block(table, anchor[inside], withheld[inside], local, signs[which])
        for q, p in zip(which.tolist(), found):
            pins[q] = Pins(p.bound, inside[p.cells], p.direction, p.item)
    return pins


def _pins_in_block(
    k: Knowledge, anchor: np.ndarray, withheld: np.ndarray, cells: np.ndarray, signs: np.ndarray
) -> list[Pins]:
    """:func:`attacker_pins` within one block of the table."""
    sub, position, kept = _anchored(k, anchor, withheld)
    free_cells = np.flatnonzero(withheld)
    pins = [Pins(np.nan)] * len(cells)
    asked = np.flatnonzero(position[cells] >= 0)
    for which, block, local, inside in _blocks(sub, position[cells[asked]]):
        # bounded: the anchored program caps every cell it lets move
        solver = _highs_model(block)
        solver.setOptionValue("simplex_strategy", _PRIMAL)  # one cost at a time
        for q, j in zip(asked[which].tolist(), local.tolist()):
            sign = float(signs[q])
            solver.changeColCost(j, sign)
            try:
                outcome = _run(solver)
            except DisclosureError:  # numerical trouble: no certificate for this cell
                solver.changeColCost(j, 0.0)
                continue
            reduced = np.asarray(solver.getSolution().col_dual)
            bound = sign * solver.getInfo().objective_function_value
            solver.changeColCost(j, 0.0)
            if outcome in _UNBOUNDED:
                continue
            binding = np.flatnonzero(np.abs(reduced) > 1e-9)
            binding = binding[binding != j]
            moves = -np.sign(reduced[binding])
            pins[q] = _published_pins(k, withheld, free_cells, kept, inside[binding], moves, bound)
    return pins


def _published_pins(
    k: Knowledge,
    withheld: np.ndarray,
    free_cells: np.ndarray,
    kept: np.ndarray,
    variables: np.ndarray,
    moves: np.ndarray,
    bound: float,
) -> Pins:
    """The published cells behind binding variables of the anchored program
    (:func:`_anchored`), each with the direction that relaxes its constraint."""
    n = len(k.low)
    found: list[tuple[int, float, int]] = []  # (cell, direction, item)
    for v, move in zip(variables.tolist(), moves.tolist()):
        if v >= len(free_cells):  # the fixed part of a sum group: its published cells
            g = int(kept[v - len(free_cells)])
            members = k.member[k.group == g]
            held = members[~withheld[members]]
            total = int(k.total[g])
            if withheld[total]:  # fixed part = the published members
                found += [(int(c), move, n + g) for c in held]
            else:  # fixed part = the published total - the published members
                found += [(total, move, n + g)] + [(int(c), -move, n + g) for c in held]
            continue
        cell = int(free_cells[v])
        if np.isfinite(k.high[cell]):  # published, moving within its interval
            found.append((cell, move, cell))
        elif move > 0:  # held below a published superset
            found += [(int(c), 1.0, int(c)) for c in k.large[k.small == cell] if not withheld[c]]
        else:  # held above a published subset
            found += [(int(c), -1.0, int(c)) for c in k.small[k.large == cell] if not withheld[c]]
    if not found:
        return Pins(bound)
    cells, direction, item = (np.array(column) for column in zip(*found))
    return Pins(bound, cells.astype(np.int64), direction.astype(float), item.astype(np.int64))


def _anchored(
    k: Knowledge, anchor: np.ndarray, withheld: np.ndarray
) -> tuple[Knowledge, np.ndarray, np.ndarray]:
    """The attacker's knowledge with every published cell held at ``anchor``: one
    variable per withheld cell, and per sum group one more, fixed at what the held
    cells contribute. Returns it, each cell's position in it (-1: held), and the sum
    group of each fixed variable (they follow the withheld cells, in this order)."""
    n = len(k.low)
    free = np.asarray(withheld, dtype=bool)
    position = np.full(n, -1, dtype=np.int64)
    position[free] = np.arange(int(free.sum()))
    low, high = k.low[free].copy(), k.high[free].copy()
    # a cell without an upper bound gets one far above every true value: a narrower
    # program, whose solutions are still the attacker's, with bounded sums
    high = np.minimum(high, 10.0 * (float(anchor[free].sum()) + 1.0))
    # subset pairs with one side held become bounds of the other
    small_free, large_free = free[k.small], free[k.large]
    np.minimum.at(
        high, position[k.small[small_free & ~large_free]], anchor[k.large[small_free & ~large_free]]
    )
    np.maximum.at(
        low, position[k.large[large_free & ~small_free]], anchor[k.small[large_free & ~small_free]]
    )
    both = small_free & large_free
    n_groups = len(k.total)
    held_members = np.bincount(
        k.group, weights=np.where(free[k.member], 0.0, anchor[k.member]), minlength=n_groups
    )
    total_free = free[k.total]
    # the constant of each group, a fixed variable: a member where the total is free
    # (total = free members + held ones), else the total (held total - held members)
    constant = np.where(total_free, held_members, anchor[k.total] - held_members)
    constant = np.maximum(constant, 0.0)
    has_free = np.bincount(k.group[free[k.member]], minlength=n_groups) > 0
    keep = has_free | total_free
    fixed_of = len(low) + np.cumsum(keep) - 1  # position of group g's constant
    m_free = free[k.member] & keep[k.group]
    new_total = np.where(total_free, position[k.total], fixed_of)[keep]
    members = [position[k.member[m_free]]]
    groups = [k.group[m_free]]
    with_member = keep & total_free
    members.append(fixed_of[with_member])
    groups.append(np.flatnonzero(with_member))
    renumber = np.cumsum(keep) - 1
    member = np.concatenate(members).astype(np.int64)
    group = renumber[np.concatenate(groups)].astype(np.int64)
    low = np.r_[low, constant[keep]]
    high = np.r_[high, constant[keep]]
    sub = Knowledge(
        low,
        high,
        new_total.astype(np.int64),
        member,
        group,
        position[k.small[both]],
        position[k.large[both]],
    )
    return sub, position, np.flatnonzero(keep)


def _witnessed(
    solver: highspy.Highs,
    sub: Knowledge,
    local: np.ndarray,
    targets: np.ndarray,
    enough: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    max_witnesses: int,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which of the block's cells solutions of the attacker's program (``solver``: a
    :func:`_highs_model` of ``sub``) show to be enough, and the range of each cell over
    those solutions (inside its exact interval; empty where none was found). The first
    two programs minimise and maximise the sum of the cells; later ones push each
    undecided cell towards the side of its interval still missing (up or down at
    random, a seeded draw, where both are), so that cells that compete within one sum
    each get their turn. Cells without an upper bound are capped (a narrower program,
    whose solutions are the attacker's too) so that the sums stay bounded; the solver
    is left as it came, from the last basis. ``start``: the cells' values in a solution
    known already (it counts as a witness)."""
    # every round changes the whole objective: dual simplex from the last basis is
    # three times faster there than primal (measured on a branche table)
    solver.setOptionValue("simplex_strategy", _DUAL)
    capped = local[np.isinf(sub.high[local])]
    cap = 10.0 * (float(sub.high[np.isfinite(sub.high)].sum()) + 1.0)
    for i in capped:
        solver.changeColBounds(int(i), float(sub.low[i]), float(sub.low[i] + cap))
    try:
        return _witness_rounds(solver, local, targets, enough, max_witnesses, start)
    finally:
        for i in capped:
            solver.changeColBounds(int(i), float(sub.low[i]), highspy.kHighsInf)
        solver.changeColsCost(len(local), local.astype(np.int32), np.zeros(len(local)))


def _witness_rounds(
    solver: highspy.Highs,
    local: np.ndarray,
    targets: np.ndarray,
    enough: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    max_witnesses: int,
    start: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rounds of :func:`_witnessed`."""
    seen_low = np.full(len(local), np.inf) if start is None else start.astype(float)
    seen_high = np.full(len(local), -np.inf) if start is None else start.astype(float)
    done = np.zeros(len(local), dtype=bool)
    rng = np.random.default_rng(0)
    idle = 0
    for round_ in range(max_witnesses):
        todo = local[~done].astype(np.int32)
        signs = np.full(len(todo), 1.0 if round_ % 2 == 0 else -1.0)
        if round_ >= 2:
            down, up = needed_sides(enough, targets[~done], seen_low[~done], seen_high[~done])
            either = rng.choice([-1.0, 1.0], size=len(todo))
            signs = np.where(down & ~up, 1.0, np.where(up & ~down, -1.0, either))
        solver.changeColsCost(len(todo), todo, signs)
        try:
            outcome = _run(solver)
            if outcome in _UNBOUNDED:  # a warm start can end there wrongly: once afresh
                solver.clearSolver()
                outcome = _run(solver)
            if outcome in _UNBOUNDED:
                break
        except DisclosureError:  # the caps cut every solution off: the programs decide
            break
        solver.changeColsCost(len(todo), todo, np.zeros(len(todo)))
        x = np.asarray(solver.getSolution().col_value)[local]
        seen_low, seen_high = np.minimum(seen_low, x), np.maximum(seen_high, x)
        now = np.asarray(enough(targets, seen_low, seen_high), dtype=bool) & ~done
        done |= now
        idle = 0 if now.any() or round_ < 2 else idle + 1
        if done.all() or idle >= 5:
            break
    return done, seen_low, seen_high


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
