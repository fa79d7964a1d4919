"""The attacker's exact programs: the minimum and maximum of a cell under everything known.

For every withheld cell the attacker minimises and maximises it subject to all of the
:class:`~disclosure.knowledge.Knowledge` (:func:`attacker_bounds_lp`: HiGHS, and
scipy's ``milp`` with binaries where cells are "0 or at least" something). A cell is
protected when that interval covers its protection interval (Hundepool et al., 2012,
*Statistical Disclosure Control*, section 4.3: the attacker's "feasibility
interval"). The programs are solved block by block (:func:`attacker_bounds_within`),
blocks side by side on threads: HiGHS lets go of the interpreter while it solves.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import highspy
import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from zicht.disclosure.knowledge import Block, Knowledge, Labels, Sides, blocks
from zicht.disclosure.limits import LIMITS
from zicht.errors import DisclosureError

T = TypeVar("T")  # a block (or its number)
R = TypeVar("R")  # what solving it gives

# HiGHS's simplex strategies: dual where each solve changes the whole objective,
# primal where one cost changes from solve to solve (measured on branche tables)
DUAL, PRIMAL = 1, 4
UNBOUNDED = (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible)
_INCONSISTENT = "the published cells are inconsistent with each other"


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
    if not k.has_disjunctions:
        return linear_bounds(highs_model(k), cells, sides)
    return _mixed_integer_bounds(k, cells)


def _mixed_integer_bounds(k: Knowledge, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`attacker_bounds_lp` with disjunctions: ``milp`` per cell and side."""
    either = np.flatnonzero(k.zero_or_at_least > 0)  # type: ignore[operator]
    n, m = len(k.low), len(either)
    constraints = _disjunctive_constraints(k, either)
    bounds = Bounds(np.r_[k.low, np.zeros(m)], np.r_[k.high, np.ones(m)])
    integrality = np.r_[np.zeros(n), np.ones(m)]
    low, high = np.full(len(cells), np.nan), np.full(len(cells), np.nan)
    for j, i in enumerate(cells):
        c = np.zeros(n + m)
        c[i] = 1.0
        for sign in (1.0, -1.0):
            result = milp(sign * c, integrality=integrality, bounds=bounds, constraints=constraints)
            if result.status == 2:
                raise DisclosureError(_INCONSISTENT)
            if result.status == 3 and sign < 0:  # unbounded: no maximum
                high[j] = np.inf
            elif result.x is None:  # out of time or numerical trouble: nothing proven
                raise DisclosureError(
                    f"HiGHS could not solve the attacker's program ({result.message})"
                )
            elif sign > 0:
                low[j] = result.fun
            else:
                high[j] = -result.fun
    return low, high


def _disjunctive_constraints(k: Knowledge, either: np.ndarray) -> list[LinearConstraint]:
    """The rows of :func:`constraints` and, per cell of ``either``, a binary b with
    two rows: ``x - M b <= 0`` and ``x - m b >= 0``."""
    rows, cols, data, lb, ub = constraints(k)
    n, m = len(k.low), len(either)
    finite = k.high[np.isfinite(k.high)]
    big_m = float(finite.sum() + 1.0) * LIMITS.cap_factor if len(finite) else 1e12
    first, binary = len(lb) + 2 * np.arange(m), n + np.arange(m)
    rows = np.r_[rows, first, first, first + 1, first + 1]
    cols = np.r_[cols, either, binary, either, binary]
    at_least = k.zero_or_at_least[either]  # type: ignore[index]
    data = np.r_[data, np.ones(m), np.full(m, -big_m), np.ones(m), -at_least]
    lb = np.r_[lb, np.tile([-np.inf, 0.0], m)]
    ub = np.r_[ub, np.tile([0.0, np.inf], m)]
    a = sparse.csr_matrix((data, (rows, cols)), shape=(len(lb), n + m))
    return [LinearConstraint(a, lb, ub)] if len(lb) else []


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
    :func:`~disclosure.knowledge.block_labels`, where known."""
    k = k.within(low, high)
    low, high = low.copy(), high.copy()
    solved = np.zeros(len(cells), dtype=bool)
    chosen = [
        b
        for b in blocks(k, cells, labels)
        if max_block is None or len(b.knowledge.low) <= max_block
    ]

    def bounds(block: Block) -> np.ndarray:
        asked = None if sides is None else (sides[0][block.which], sides[1][block.which])
        return np.stack(attacker_bounds_lp(block.knowledge, block.local, asked))

    for block, (lo, hi) in zip(chosen, each_block(bounds, chosen, threads)):
        mine = cells[block.which]
        low[mine] = np.where(np.isnan(lo), low[mine], lo)
        high[mine] = np.where(np.isnan(hi), high[mine], hi)
        solved[block.which] = True
    return low, high, solved


def each_block(solve: Callable[[T], R], blocks: Sequence[T], threads: int) -> Iterator[R]:
    """``solve`` for each block, in order, on up to ``threads`` threads: HiGHS lets go of
    the interpreter while it solves, so blocks solve side by side."""
    if threads <= 1 or len(blocks) < 2:
        yield from map(solve, blocks)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="zicht-audit") as pool:
        yield from pool.map(solve, blocks)


def constraints(k: Knowledge) -> tuple[np.ndarray, ...]:
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


def highs_model(k: Knowledge) -> highspy.Highs:
    """One HiGHS model of the attacker's linear program, with a zero objective."""
    rows, cols, data, lb, ub = constraints(k)
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


def solve(solver: highspy.Highs) -> highspy.HighsModelStatus:
    """Solve; once more from scratch, and once more with presolve (which rescales a
    program of euros and counts that troubles the simplex), before giving up; an
    infeasible program means the published cells contradict each other."""
    status = highspy.HighsModelStatus
    solver.run()
    outcome = solver.getModelStatus()
    for presolve in ("off", "on"):
        if outcome in (status.kOptimal, *UNBOUNDED):
            break
        solver.setOptionValue("presolve", presolve)
        solver.clearSolver()
        solver.run()
        outcome = solver.getModelStatus()
    solver.setOptionValue("presolve", "off")
    if outcome == status.kInfeasible:
        raise DisclosureError(_INCONSISTENT)
    if outcome not in (status.kOptimal, *UNBOUNDED):
        raise DisclosureError(f"HiGHS could not solve the attacker's program ({outcome})")
    return outcome


def linear_bounds(
    solver: highspy.Highs, cells: np.ndarray, sides: Sides | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of each cell by one HiGHS model (:func:`highs_model`), warm-started
    from cell to cell; only the ``sides`` asked for (NaN for the others)."""
    solver.setOptionValue("simplex_strategy", PRIMAL)  # one cost at a time
    low, high = np.full(len(cells), np.nan), np.full(len(cells), np.nan)
    for j, i in enumerate(cells):
        for sign in (1.0, -1.0):
            if sides is not None and not sides[0 if sign > 0 else 1][j]:
                continue
            solver.changeColCost(int(i), sign)
            outcome = solve(solver)
            if outcome in UNBOUNDED:  # a warm start can end there wrongly: an unbounded
                outcome = solve_afresh(solver)  # maximum read wrongly would be a leak
            if outcome in UNBOUNDED and sign > 0:  # only below 0 can the minimum run off
                raise DisclosureError("the attacker's program has no lower bound")
            value = solver.getInfo().objective_function_value
            if sign > 0:
                low[j] = value
            else:
                high[j] = np.inf if outcome in UNBOUNDED else -value
        solver.changeColCost(int(i), 0.0)
    return low, high


def solve_afresh(solver: highspy.Highs) -> highspy.HighsModelStatus:
    """Solve from scratch, and once more with presolve (which rescales a program of
    euros and counts), where a solve from the last basis ended unbounded: the simplex
    can wrongly end there on a badly scaled program (every program that reads an
    unbounded end does this first: :func:`linear_bounds`, the witnesses)."""
    status = highspy.HighsModelStatus
    outcome = status.kUnbounded
    for presolve in ("off", "on"):
        solver.setOptionValue("presolve", presolve)
        solver.clearSolver()
        outcome = solve(solver)
        if outcome not in UNBOUNDED:
            break
    solver.setOptionValue("presolve", "off")
    return outcome
