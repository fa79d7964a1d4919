"""Witness solutions: values the attacker cannot rule out, which decide cells at once.

Every solution of the attacker's program is a set of values consistent with all that
is published. The range a cell spans over a few solutions therefore lies inside its
exact interval: if that range already protects the cell, the exact programs
(:mod:`disclosure.programs`) would say so too, and need not be solved. A few programs
that push the undecided cells up and down together (:func:`witnessed`) decide most
cells of a table; the rest are solved exactly.

Two uses:

- :func:`attacker_bounds_decisive`, the audit's verdict (``zicht audit``, the
  estimates): the verdict of the exact programs, at a fraction of their cost;
- :func:`attacker_bounds_anchored`, inside the protection loop on branche tables:
  solutions that differ from the true values only in the withheld cells
  (:func:`anchored`), a narrower program over far fewer variables.

Inside the protection loop the true values are known, and with them how far each cell
must go for its interval to be enough (:class:`Reach`): there a witness pushes each
cell only that far, so that the cells of one sum share its room.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import highspy
import numpy as np

from zicht.disclosure.knowledge import Block, Knowledge, Sides, blocks
from zicht.disclosure.limits import LIMITS
from zicht.disclosure.programs import (
    DUAL,
    UNBOUNDED,
    attacker_bounds_lp,
    each_block,
    highs_model,
    linear_bounds,
    solve,
    solve_afresh,
)
from zicht.errors import DisclosureError

# whether intervals [low, high] of cells i are enough (holds for a narrower one too)
Criterion = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


class Reach(NamedTuple):
    """How far a solution must take each cell of a table for its interval to be
    enough, where the true values are known (the protection loop): a low side at or
    below ``low`` (``inf``: any), a high side at or above ``high`` (``-inf``: any),
    the two at least ``width`` apart; ``value``, the true values, is a solution.

    A witness program pushes each cell only that far (its bound moved there, never
    past the attacker's own): pushed to its end, a cell takes all the room of its sums,
    so that the cells of one sum were decided one per program; stopped where it is
    enough, it leaves the rest of the room to the others. A narrower program's
    solutions are still the attacker's, and the true values solve it."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    width: np.ndarray

    def bounds(
        self,
        cells: np.ndarray,
        down: np.ndarray,
        seen: tuple[np.ndarray, np.ndarray],
        columns: tuple[np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """The column bounds of a witness program that pushes ``cells`` down (where
        ``down``, else up), given the range ``seen`` so far and the program's own
        bounds ``columns`` of them: those bounds, narrowed on the pushed side to the
        goal (and never past the true value, so that every goal holds at once)."""
        value, col_low, col_high = self.value[cells], *columns
        seen_low, seen_high = seen
        goal_low = np.minimum(np.minimum(self.low[cells], seen_high - self.width[cells]), value)
        goal_high = np.maximum(np.maximum(self.high[cells], seen_low + self.width[cells]), value)
        # a margin past the goal: the simplex's solution may miss its bound by 1e-7
        low = np.maximum(col_low, goal_low - (1e-3 + 1e-6 * np.abs(goal_low)))
        high = np.minimum(col_high, goal_high + (1e-3 + 1e-6 * np.abs(goal_high)))
        low = np.where(down, np.minimum(low, col_high), col_low)
        high = np.where(down, col_high, np.maximum(high, col_low))
        return low, high


def attacker_bounds_decisive(
    k: Knowledge,
    cells: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    enough: Criterion,
    max_witnesses: int = LIMITS.decisive_witnesses,
    threads: int = 1,
    reach: Reach | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds for ``cells`` that decide ``enough(cells, low, high)`` (a criterion that
    holds for an interval if it holds for a narrower one) as the programs would, at a
    fraction of their cost.

    ``low``/``high`` are valid outer bounds (propagation). A few linear programs
    minimise and maximise the sum of the undecided cells; each solution is a set of
    values the attacker cannot rule out, so the range the solutions span lies inside
    every cell's exact interval. A cell whose spanned range is already enough keeps
    its outer bounds (the verdict is the same); the others get the exact programs.
    Blocks are solved on up to ``threads`` threads. ``reach`` (where the true values
    are known): how far each cell must go (:class:`Reach`).
    """
    k = k.within(low, high)
    low, high = low.copy(), high.copy()

    def decide(block: Block) -> np.ndarray:
        targets, sub, local = cells[block.which], block.knowledge, block.local
        lo, hi = low[targets].copy(), high[targets].copy()
        if sub.has_disjunctions:
            return np.stack(attacker_bounds_lp(sub, local))
        solver = highs_model(sub)
        undecided = ~witnessed(solver, sub, local, targets, enough, max_witnesses, reach=reach)[0]
        if undecided.any():
            lo[undecided], hi[undecided] = linear_bounds(solver, local[undecided])
        return np.stack([lo, hi])

    chosen = list(blocks(k, cells))
    for block, (lo, hi) in zip(chosen, each_block(decide, chosen, threads)):
        low[cells[block.which]], high[cells[block.which]] = lo, hi
    return low, high


def attacker_bounds_anchored(
    k: Knowledge,
    cells: np.ndarray,
    anchor: np.ndarray,
    enough: Criterion,
    withheld: np.ndarray,
    max_witnesses: int = LIMITS.anchored_witnesses,
    max_exact: int = LIMITS.max_exact_per_block,
    threads: int = 1,
    reach: Reach | None = None,
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
    solved on up to ``threads`` threads; ``reach``: how far each cell must go
    (:class:`Reach`). Also returns the range of each cell over those solutions (inside
    its exact interval; empty where none was found).
    """
    sub, position, _ = anchored(k, anchor, withheld)
    free = np.flatnonzero(position[cells] >= 0)  # a published cell is never in question

    def decide(block: Block) -> np.ndarray:
        originals = cells[free[block.which]]
        return _decide_block(block, originals, anchor, enough, max_witnesses, max_exact, reach)

    proven = np.zeros(len(cells), dtype=bool)
    inner_low, inner_high = np.full(len(cells), np.inf), np.full(len(cells), -np.inf)
    chosen = list(blocks(sub, position[cells[free]]))
    for block, (done, lo, hi) in zip(chosen, each_block(decide, chosen, threads)):
        mine = free[block.which]
        proven[mine], inner_low[mine], inner_high[mine] = done.astype(bool), lo, hi
    return proven, inner_low, inner_high


def _decide_block(
    block: Block,
    originals: np.ndarray,
    anchor: np.ndarray,
    enough: Criterion,
    max_witnesses: int,
    max_exact: int,
    reach: Reach | None,
) -> np.ndarray:
    """:func:`attacker_bounds_anchored` in one block of the anchored program: witnesses
    (the anchor counts as one), then exact programs for at most ``max_exact`` cells
    left; stacked as (decided, range low, range high)."""
    solver = highs_model(block.knowledge)
    done, seen_low, seen_high = witnessed(
        solver,
        block.knowledge,
        block.local,
        originals,
        enough,
        max_witnesses,
        anchor[originals],
        reach=reach,
    )
    left = np.flatnonzero(~done)
    if 0 < len(left) <= max_exact:
        asked = needed_sides(enough, originals[left], seen_low[left], seen_high[left])
        try:  # from the witnesses' last basis
            lo, hi = linear_bounds(solver, block.local[left], asked)
        except DisclosureError:  # numerical trouble: these programs only prove
            lo, hi = np.full(len(left), np.nan), np.full(len(left), np.nan)
        seen_low[left] = np.where(np.isnan(lo), seen_low[left], lo)
        seen_high[left] = np.where(np.isnan(hi), seen_high[left], hi)
        done[left] = np.asarray(enough(originals[left], seen_low[left], seen_high[left]))
    return np.stack([done, seen_low, seen_high])


def needed_sides(enough: Criterion, cells: np.ndarray, low: np.ndarray, high: np.ndarray) -> Sides:
    """Which side of each cell's interval a program must still find, given a range
    ``[low, high]`` inside its exact interval: where the range's own low end is
    enough (with any high end), only the maximum is needed, and the other way round
    (``enough`` holds for an interval if it holds for a narrower one)."""
    everything = np.full(len(cells), np.inf)
    return (
        ~np.asarray(enough(cells, low, everything), dtype=bool),
        ~np.asarray(enough(cells, -everything, high), dtype=bool),
    )


def anchored(
    k: Knowledge, anchor: np.ndarray, withheld: np.ndarray, cap_factor: float = LIMITS.cap_factor
) -> tuple[Knowledge, np.ndarray, np.ndarray]:
    """The attacker's knowledge with every published cell held at ``anchor``: one
    variable per withheld cell, and per sum group one more, fixed at what the held
    cells contribute. Returns it, each cell's position in it (-1: held), and the sum
    group of each fixed variable (they follow the withheld cells, in this order).

    ``k`` has no disjunctions here (the protection loop's knowledge never does: zicht
    publishes no reasons), so the anchored program is a linear one.
    """
    n = len(k.low)
    free = np.asarray(withheld, dtype=bool)
    position = np.full(n, -1, dtype=np.int64)
    position[free] = np.arange(int(free.sum()))
    low, high = k.low[free].copy(), k.high[free].copy()
    # a cell without an upper bound gets one far above every true value: a narrower
    # program, whose solutions are still the attacker's, with bounded sums
    high = np.minimum(high, cap_factor * (float(anchor[free].sum()) + 1.0))
    # subset pairs with one side held become bounds of the other
    small_free, large_free = free[k.small], free[k.large]
    only_small, only_large = small_free & ~large_free, large_free & ~small_free
    np.minimum.at(high, position[k.small[only_small]], anchor[k.large[only_small]])
    np.maximum.at(low, position[k.large[only_large]], anchor[k.small[only_large]])
    both = small_free & large_free
    constant, total, member, group, keep = _anchored_sums(k, anchor, free, position, len(low))
    sub = Knowledge(
        low=np.r_[low, constant],
        high=np.r_[high, constant],
        total=total,
        member=member,
        group=group,
        small=position[k.small[both]],
        large=position[k.large[both]],
    )
    return sub, position, np.flatnonzero(keep)


def _anchored_sums(
    k: Knowledge, anchor: np.ndarray, free: np.ndarray, position: np.ndarray, n_free: int
) -> tuple[np.ndarray, ...]:
    """The sum groups of :func:`anchored`: each group with a free cell keeps its free
    members and gets one fixed variable (after the ``n_free`` free ones) for what its
    held cells contribute. Returns the fixed values, the groups' totals, members and
    group numbers, and which of ``k``'s groups are kept."""
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
    fixed_of = n_free + np.cumsum(keep) - 1  # position of group g's constant
    m_free = free[k.member] & keep[k.group]
    new_total = np.where(total_free, position[k.total], fixed_of)[keep]
    with_member = keep & total_free
    member = np.concatenate([position[k.member[m_free]], fixed_of[with_member]])
    groups = np.concatenate([k.group[m_free], np.flatnonzero(with_member)])
    renumber = np.cumsum(keep) - 1
    return (
        constant[keep],
        new_total.astype(np.int64),
        member.astype(np.int64),
        renumber[groups].astype(np.int64),
        keep,
    )


def witnessed(
    solver: highspy.Highs,
    sub: Knowledge,
    local: np.ndarray,
    targets: np.ndarray,
    enough: Criterion,
    max_witnesses: int,
    start: np.ndarray | None = None,
    cap_factor: float = LIMITS.cap_factor,
    reach: Reach | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which of the block's cells solutions of the attacker's program (``solver``: a
    :func:`~disclosure.programs.highs_model` of ``sub``) show to be enough, and the
    range of each cell over those solutions (inside its exact interval; empty where
    none was found). The first two programs minimise and maximise the sum of the
    cells; later ones push each undecided cell towards the side of its interval still
    missing (up or down at random, a seeded draw, where both are), so that cells that
    compete within one sum each get their turn. Cells without an upper bound are
    capped (a narrower program, whose solutions are the attacker's too) so that the
    sums stay bounded; the solver is left as it came, from the last basis. ``start``:
    the cells' values in a solution known already (it counts as a witness);
    ``reach``: how far each cell must go (:class:`Reach`: a program pushes it no
    further)."""
    # every round changes the whole objective: dual simplex from the last basis is
    # three times faster there than primal (measured on a branche table)
    solver.setOptionValue("simplex_strategy", DUAL)
    # the solver's own bounds (not ``sub``'s: the caps and every push only narrow the
    # program the solver holds, and these are what it gets back)
    lp = solver.getLp()
    own_low = np.asarray(lp.col_lower_, dtype=float)[local]
    own_high = np.asarray(lp.col_upper_, dtype=float)[local]
    cap = cap_factor * (float(sub.high[np.isfinite(sub.high)].sum()) + 1.0)
    unbounded = np.isinf(own_high)
    columns = own_low, np.where(unbounded, own_low + cap, own_high)
    cols = local.astype(np.int32)
    solver.changeColsBounds(len(cols), cols, *columns)
    aim = None if reach is None else _Aim(reach, columns)
    try:
        return _witness_rounds(solver, local, targets, enough, max_witnesses, start, aim)
    finally:
        solver.changeColsBounds(len(cols), cols, own_low, own_high)
        solver.changeColsCost(len(cols), cols, np.zeros(len(cols)))


def _witness_rounds(
    solver: highspy.Highs,
    local: np.ndarray,
    targets: np.ndarray,
    enough: Criterion,
    max_witnesses: int,
    start: np.ndarray | None,
    aim: _Aim | None = None,
    max_idle: int = LIMITS.idle_witnesses,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rounds of :func:`witnessed`."""
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
            if aim is not None:
                aim.push(solver, todo, ~done, targets, signs > 0, (seen_low, seen_high))
            solved = _solved_bounded(solver)
        finally:
            if aim is not None:
                aim.release(solver, todo, ~done)
        if not solved:
            break
        solver.changeColsCost(len(todo), todo, np.zeros(len(todo)))
        x = np.asarray(solver.getSolution().col_value)[local]
        seen_low, seen_high = np.minimum(seen_low, x), np.maximum(seen_high, x)
        now = np.asarray(enough(targets, seen_low, seen_high), dtype=bool) & ~done
        done |= now
        idle = 0 if now.any() or round_ < 2 else idle + 1
        if done.all() or idle >= max_idle:
            break
    return done, seen_low, seen_high


class _Aim(NamedTuple):
    """A :class:`Reach` in one witness program: ``columns``, the program's bounds of
    the asked cells (in the order of ``local``), which each round narrows on the
    pushed side and then restores."""

    reach: Reach
    columns: tuple[np.ndarray, np.ndarray]

    def push(
        self,
        solver: highspy.Highs,
        todo: np.ndarray,
        undone: np.ndarray,
        targets: np.ndarray,
        down: np.ndarray,
        seen: tuple[np.ndarray, np.ndarray],
    ) -> None:
        """Narrow the bounds of the columns ``todo`` (the cells ``undone`` of
        ``local``)."""
        low, high = self.reach.bounds(
            targets[undone],
            down,
            (seen[0][undone], seen[1][undone]),
            (self.columns[0][undone], self.columns[1][undone]),
        )
        solver.changeColsBounds(len(todo), todo, low, high)

    def release(self, solver: highspy.Highs, todo: np.ndarray, undone: np.ndarray) -> None:
        """The program's own bounds back."""
        low, high = self.columns
        solver.changeColsBounds(len(todo), todo, low[undone], high[undone])


def _solved_bounded(solver: highspy.Highs) -> bool:
    """Solve a witness program; whether it has a (bounded) solution to read."""
    try:
        outcome = solve(solver)
        if outcome in UNBOUNDED:  # a warm start can end there wrongly
            outcome = solve_afresh(solver)
    except DisclosureError:  # the caps cut every solution off: the programs decide
        return False
    return outcome not in UNBOUNDED
