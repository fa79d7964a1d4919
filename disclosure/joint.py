"""The complement program over a whole linked table at once: every sum of every
hierarchy and relation in one mixed-integer program.

Where :mod:`disclosure.secondary` solves the subtables of one hierarchy at a time (a
parent and its children, level by level: tau-Argus's modular method), this program
sees every sum group of the linked table together (:class:`~disclosure.linked.LinkedCells`:
the area hierarchy, a branche table's SBI hierarchy, the subset pairs through their
rest cells, the sums over years), so that one complement can serve a row and a column
at once, and a complement is chosen only where it is not left alone in a sum of its
own (Fischetti and Salazar-Gonzalez, 1999, *Models and algorithms for the
2-dimensional cell suppression problem*: the local model behind their cuts):

    minimise   sum_j cost_j x_j                                  (x_j = 1: withhold j)
    subject to, in every sum group g (total t, members M) holding cell i:
      room     sum_{k in M, k != i} value_k x_k + need_i x_t >= need_i   (i a member)
               sum_{k in M} value_k x_k >= min(need_i, sum_{k in M} value_k)  (i = t)
                                                     for each withheld i with a need,
      partner  sum_{k in g, k != i} x_k >= x_i         for every cell i that may be withheld.

The rest cell of a subset pair (larger minus smaller, never published) may hide
something only where one side of the pair is withheld: ``x_rest <= x_small + x_large``.
The program is local (each sum on its own); the attacker's programs check the whole
table afterwards, and the loop adds what they still find exposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from zicht.disclosure.group import GroupCells
from zicht.disclosure.limits import LIMITS, SearchLimits
from zicht.disclosure.programs import each_block


class _Rows:
    """Rows of a sparse program, gathered as coordinates."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.data: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.n = 0

    def add(
        self,
        row: np.ndarray,
        col: np.ndarray,
        data: np.ndarray,
        n_rows: int,
        lower: np.ndarray | float,
        upper: np.ndarray | float,
    ) -> None:
        """``n_rows`` rows; ``row`` counts from 0 within them."""
        self.rows.append(row + self.n)
        self.cols.append(col)
        self.data.append(np.asarray(data, dtype=float) * np.ones(len(row)))
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), n_rows))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), n_rows))
        self.n += n_rows

    def constraint(self, n_cols: int) -> LinearConstraint:
        a = sparse.csr_matrix(
            (np.concatenate(self.data), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.n, n_cols),
        )
        return LinearConstraint(a, np.concatenate(self.lower), np.concatenate(self.upper))


class Joint(NamedTuple):
    """What :func:`joint_complements` found: the new suppression mask (a superset of
    the pattern it was given), whether every block found a solution in its time
    (``complete``; a block out of time keeps its pattern as it was), and which of the
    free columns (cells never published, rests of subset pairs: withheld anyway, at no
    cost) the solution withholds (``free``, per cell and rest)."""

    suppressed: np.ndarray
    complete: bool
    free: np.ndarray


@dataclass
class JointMemo:
    """What the joint program keeps from call to call on one linked table (``table``):
    the rounds of a protection loop, and the company rule's passes over the table. Its
    :class:`JointStructure`, and the free columns its last solution withheld
    (:attr:`Joint.free`)."""

    table: object | None = None
    inputs: tuple[np.ndarray, ...] = ()  # what else the structure is made of
    structure: JointStructure | None = None
    free: np.ndarray | None = None

    def structure_of(self, group: GroupCells) -> JointStructure:
        """The structure of ``group``'s program, built once per table (and again where
        the group's values, costs or fixed cells are not those it was built of)."""
        inputs = (group.value, group.cost, group.never, group.unknown, group.fixed_shown)
        same = self.table is group.linked and all(
            np.array_equal(a, b) for a, b in zip(self.inputs, inputs)
        )
        if self.structure is None or not same:
            self.table, self.inputs = group.linked, tuple(a.copy() for a in inputs)
            self.structure, self.free = JointStructure.of(group), None
        return self.structure


def joint_complements(
    group: GroupCells,
    suppressed: np.ndarray,
    need: np.ndarray,
    limits: SearchLimits = LIMITS,
    threads: int = 1,
    near: np.ndarray | None = None,
    structure: JointStructure | None = None,
    free: np.ndarray | None = None,
) -> Joint:
    """The cheapest complements for the whole linked table of ``group`` (see the module
    docstring). ``need`` is what each withheld cell must hide (its upper protection
    level, or what the loop gave it); cells unknown at the source are never withheld.

    No row links two blocks (a gemeente's table, with its wijken and branches), so the
    program is the sum of one program per block: each block whose rows the pattern
    breaks is solved on its own, side by side on ``threads``, each within
    ``limits.complement_time_limit``; the others keep their pattern. A national table
    of every SBI division is hundreds of small programs, not one that runs out of time.
    With ``near`` (cells), only the blocks of those cells are solved. ``structure``:
    the rows that do not depend on the pattern (:class:`JointStructure`), where the
    caller has them from an earlier call on the same group; ``free``: the free columns
    the last solution withheld (``Joint.free``). With them the pattern that solution
    left is seen to satisfy its block's rows, and the block is not solved again.
    """
    st = structure or JointStructure.of(group)
    n, n_real = st.n, len(suppressed)
    # the rests of SBI nodes, never published, are withheld anyway: in the program they
    # are free, at no cost, and hide something only where they are not alone in a sum
    low = np.r_[suppressed & ~group.never, np.zeros(n - n_real, dtype=bool)].astype(float)
    room = _Rows()
    sums = st.sums
    cell, of, member = sums.cell, sums.of, sums.member
    _room_rows(room, cell, of, member, sums.value, need, suppressed, st.total, st.h_col, st.h_max)
    h_low = _total_room(cell, of, member, need, suppressed, st.h_max, sums.n_groups)
    rooms = room.constraint(st.n_columns)
    program = _Program(
        cost=st.cost,
        integrality=st.integrality,
        low=np.r_[low, h_low, np.zeros(sums.n_groups)],
        high=st.high,
        constraint=LinearConstraint(
            sparse.vstack([st.before.A, rooms.A, st.after.A], format="csr"),
            np.r_[st.before.lb, rooms.lb, st.after.lb],
            np.r_[st.before.ub, rooms.ub, st.after.ub],
        ),
    )
    free = np.zeros(n, dtype=bool) if free is None else free
    broken = _broken_blocks(program, sums, st.column_block, np.maximum(low, free))
    if near is not None:
        broken = np.intersect1d(broken, st.block[near])
    if not len(broken):
        return Joint(suppressed, True, free)  # the program's optimum is the pattern itself
    row_block = np.r_[st.before_blocks, _row_blocks(rooms.A, st.column_block), st.after_blocks]
    x, complete = program.solve_blocks(st.column_block, row_block, broken, limits, threads)
    solved = np.isin(st.block, broken)
    free = np.where(solved, (x[:n] > 0.5) & st.free, free)
    return Joint(suppressed | (x[:n_real] > 0.5), complete, free)


class JointStructure(NamedTuple):
    """What the program of :func:`joint_complements` is for a group whatever its
    pattern: the sums, the columns' costs and bounds, the rows that define ``H_g`` and
    ``P_g`` (``before`` the room rows) and the partner and rest rows (``after``), and
    the block of each cell, column and row. A protection loop builds it once."""

    sums: _Sums
    n: int  # cells and rests
    total: np.ndarray
    h_col: np.ndarray
    h_max: np.ndarray
    cost: np.ndarray
    integrality: np.ndarray
    high: np.ndarray
    before: LinearConstraint
    after: LinearConstraint
    block: np.ndarray
    column_block: np.ndarray
    before_blocks: np.ndarray
    after_blocks: np.ndarray
    free: np.ndarray  # per cell and rest: withheld anyway, at no cost

    @property
    def n_columns(self) -> int:
        return self.n + 2 * self.sums.n_groups

    @classmethod
    def of(cls, group: GroupCells) -> JointStructure:
        linked = group.linked
        n_real, n_rest = linked.n_cells, linked.n_hidden
        n = n_real + n_rest
        sums = _sums(group)
        n_groups = sums.n_groups
        n_columns = n + 2 * n_groups
        possible = np.r_[~(group.unknown | group.fixed_shown), np.ones(n_rest, dtype=bool)]
        before, after = _Rows(), _Rows()
        h_max = _definition_rows(before, sums, possible, n)
        _partner_rows(
            after, sums.cell, sums.of, possible, n_groups, n + n_groups + np.arange(n_groups)
        )
        _rest_rows(after, group)
        block = _blocks(sums, group)
        column_block = np.r_[block, block[linked.total], block[linked.total]]
        before_rows, after_rows = before.constraint(n_columns), after.constraint(n_columns)
        return cls(
            sums=sums,
            n=n,
            total=linked.total,
            h_col=n + np.arange(n_groups),
            h_max=h_max,
            cost=np.r_[np.where(group.never, 0.0, group.cost), np.zeros(n_rest + 2 * n_groups)],
            integrality=np.r_[np.ones(n), np.zeros(2 * n_groups)],
            high=np.r_[possible.astype(float), np.full(2 * n_groups, np.inf)],
            before=before_rows,
            after=after_rows,
            block=block,
            column_block=column_block,
            before_blocks=_row_blocks(before_rows.A, column_block),
            after_blocks=_row_blocks(after_rows.A, column_block),
            free=np.r_[group.never, np.ones(n_rest, dtype=bool)],
        )


class _Program(NamedTuple):
    """The mixed-integer program of :func:`joint_complements`, whole."""

    cost: np.ndarray
    integrality: np.ndarray
    low: np.ndarray
    high: np.ndarray
    constraint: LinearConstraint

    def solve_blocks(
        self,
        column_block: np.ndarray,
        row_block: np.ndarray,
        blocks: np.ndarray,
        limits: SearchLimits,
        threads: int,
    ) -> tuple[np.ndarray, bool]:
        """The program's solution with the columns of ``blocks`` solved (each block on
        its own) and the others at their lower bounds (the pattern as it is); and
        whether every block found a solution in its time."""
        a = self.constraint.A.tocsr()
        # the asked blocks' columns and rows only (a cover asks for a few blocks of a
        # national table), in block order (stable: a block keeps its own order), so
        # that a block's program is one contiguous slice
        columns = np.flatnonzero(np.isin(column_block, blocks))
        columns = columns[np.argsort(column_block[columns], kind="stable")]
        rows = np.flatnonzero(np.isin(row_block, blocks))
        rows = rows[np.argsort(row_block[rows], kind="stable")]
        a = a[rows][:, columns]
        col_starts = np.searchsorted(column_block[columns], blocks, side="left")
        col_ends = np.searchsorted(column_block[columns], blocks, side="right")
        row_starts = np.searchsorted(row_block[rows], blocks, side="left")
        row_ends = np.searchsorted(row_block[rows], blocks, side="right")
        options = {"time_limit": limits.complement_time_limit, "mip_rel_gap": limits.complement_gap}

        def solve(k: int) -> np.ndarray | None:
            cols = columns[col_starts[k] : col_ends[k]]
            r = rows[row_starts[k] : row_ends[k]]
            result = milp(
                self.cost[cols],
                integrality=self.integrality[cols],
                bounds=Bounds(self.low[cols], self.high[cols]),
                constraints=LinearConstraint(
                    a[row_starts[k] : row_ends[k], col_starts[k] : col_ends[k]],
                    self.constraint.lb[r],
                    self.constraint.ub[r],
                ),
                options=options,
            )
            # no solution in time, or none at all (a block whose released cells leave
            # no room): the block keeps its pattern, and the loop's other steps and the
            # audit decide it
            return result.x

        x, complete = self.low.copy(), True
        for k, found in enumerate(each_block(solve, range(len(blocks)), threads)):
            if found is None:
                complete = False  # out of time: the block keeps its pattern
            else:
                x[columns[col_starts[k] : col_ends[k]]] = found
        return x, complete


def _row_blocks(a: sparse.csr_matrix, column_block: np.ndarray) -> np.ndarray:
    """The block of each row (the block of its first column: no row spans two); -1 for
    a row without entries."""
    filled = np.diff(a.indptr) > 0
    first = a.indices[np.minimum(a.indptr[:-1], max(len(a.indices) - 1, 0))]
    return np.where(filled, column_block[first] if len(a.indices) else -1, -1)


class _Sums(NamedTuple):
    """Every sum group of a linked table as entries: ``cell`` is in group ``of``, as a
    ``member`` or as its total; ``value`` per cell, the rests of subset pairs (larger
    minus smaller) after the cells."""

    cell: np.ndarray
    of: np.ndarray
    member: np.ndarray
    value: np.ndarray
    n_groups: int


def _sums(group: GroupCells) -> _Sums:
    """The sum groups of ``group``'s linked table (:class:`_Sums`)."""
    linked = group.linked
    n_groups = len(linked.total)
    rest = np.maximum(group.value[linked.large] - group.value[linked.small], 0)
    return _Sums(
        cell=np.r_[linked.total, linked.member],
        of=np.r_[np.arange(n_groups), linked.group],
        member=np.r_[np.zeros(n_groups, dtype=bool), np.ones(len(linked.member), dtype=bool)],
        value=np.r_[group.value, rest],
        n_groups=n_groups,
    )


def _definition_rows(rows: _Rows, sums: _Sums, possible: np.ndarray, n: int) -> np.ndarray:
    """The rows that define, per sum g, ``H_g`` (what its withheld members can fall by)
    and ``P_g`` (how many of its cells are withheld), columns ``n + g`` and
    ``n + n_groups + g``; returns the most each ``H_g`` can be."""
    cell, of, member, value, n_groups = sums
    groups = np.arange(n_groups)
    rows.add(
        np.r_[groups, of[member]],
        np.r_[n + groups, cell[member]],
        np.r_[np.ones(n_groups), -value[cell[member]]],
        n_groups,
        0.0,
        0.0,
    )
    rows.add(
        np.r_[groups, of],
        np.r_[n + n_groups + groups, cell],
        np.r_[np.ones(n_groups), -np.ones(len(cell))],
        n_groups,
        0.0,
        0.0,
    )
    shown_value = np.where(member & possible[cell], value[cell], 0.0)
    return np.bincount(of, weights=shown_value, minlength=n_groups)


def _rest_rows(rows: _Rows, group: GroupCells) -> None:
    """A subset pair's rest hides something only where one side of the pair is withheld
    (``x_rest <= x_small + x_large``)."""
    linked = group.linked
    n_rest = linked.n_hidden
    rest = linked.n_cells + np.arange(n_rest)
    k = np.arange(n_rest)
    rows.add(
        np.r_[k, k, k],
        np.r_[rest, linked.small, linked.large],
        np.r_[np.ones(n_rest), -np.ones(2 * n_rest)],
        n_rest,
        -np.inf,
        0.0,
    )


def _blocks(sums: _Sums, group: GroupCells) -> np.ndarray:
    """The block of each cell and rest (cells linked by sums: a gemeente's table)."""
    cell, of, member = sums.cell, sums.of, sums.member
    total = cell[~member]
    linked = group.linked
    n = linked.n_cells + linked.n_hidden
    rest = linked.n_cells + np.arange(linked.n_hidden)
    graph = sparse.coo_matrix(
        (
            np.ones(len(cell) + 2 * len(rest)),
            (np.r_[total[of], rest, rest], np.r_[cell, linked.small, linked.large]),
        ),
        shape=(n, n),
    )
    return connected_components(graph, directed=False)[1]


def _broken_blocks(
    program: _Program, sums: _Sums, column_block: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """The blocks where the pattern as it is (``x``, per cell and rest: nothing more
    withheld than the pattern and the free columns the last solution withheld) breaks
    a row or a bound: only there can the program add anything (costs fall on the
    pattern's cells alone: a point that keeps them and satisfies the rows is optimal)."""
    cell, of, member, value, n_groups = sums
    h = np.bincount(of[member], weights=value[cell[member]] * x[cell[member]], minlength=n_groups)
    p = np.bincount(of, weights=x[cell], minlength=n_groups)
    point = np.r_[x, h, p]
    a = program.constraint.A.tocsr()
    ax = a @ point
    tolerance = 1e-6
    broken = (ax < program.constraint.lb - tolerance) | (ax > program.constraint.ub + tolerance)
    columns = a[np.flatnonzero(broken)].indices
    columns = np.r_[columns, np.flatnonzero(point < program.low - tolerance)]
    return np.unique(column_block[columns])


def _room_rows(
    rows: _Rows,
    cell: np.ndarray,
    of: np.ndarray,
    member: np.ndarray,
    value: np.ndarray,
    need: np.ndarray,
    suppressed: np.ndarray,
    total: np.ndarray,
    h_col: np.ndarray,
    h_max: np.ndarray,
) -> None:
    """For each withheld member ``i`` with a need, in each sum it is in: the other
    withheld members can fall by the need, or the total is withheld
    (``H_g + need_i x_t >= need_i + value_i``, as far as the sum allows)."""
    n_real = len(suppressed)
    real = cell < n_real
    mine = np.flatnonzero(member & real)
    mine = mine[suppressed[cell[mine]] & (need[cell[mine]] > 0)]
    i, g = cell[mine], of[mine]
    wanted = np.minimum(need[i] + value[i], h_max[g] + need[i])
    k = np.arange(len(mine))
    rows.add(
        np.r_[k, k],
        np.r_[h_col[g], total[g]],
        np.r_[np.ones(len(k)), need[i]],
        len(k),
        wanted,
        np.inf,
    )


def _total_room(
    cell: np.ndarray,
    of: np.ndarray,
    member: np.ndarray,
    need: np.ndarray,
    suppressed: np.ndarray,
    h_max: np.ndarray,
    n_groups: int,
) -> np.ndarray:
    """The least each ``H_g`` must be: a withheld total with a need must be able to
    fall by it, so its withheld members must (as far as they hold it)."""
    n_real = len(suppressed)
    tops = np.flatnonzero(~member & (cell < n_real))
    low = np.zeros(n_groups)
    t = cell[tops]
    demanding = tops[suppressed[t] & (need[t] > 0)]
    low[of[demanding]] = np.minimum(need[cell[demanding]], h_max[of[demanding]])
    return low


def _partner_rows(
    rows: _Rows,
    cell: np.ndarray,
    of: np.ndarray,
    possible: np.ndarray,
    n_groups: int,
    p_col: np.ndarray,
) -> None:
    """Every cell that may be withheld has a withheld partner in each sum it is in
    (``P_g >= 2 x_i``), where the sum has another cell that may be withheld."""
    count = np.bincount(of, weights=possible[cell].astype(float), minlength=n_groups)
    e = np.flatnonzero(possible[cell] & (count[of] >= 2))
    k = np.arange(len(e))
    rows.add(
        np.r_[k, k],
        np.r_[p_col[of[e]], cell[e]],
        np.r_[np.ones(len(e)), -2.0 * np.ones(len(e))],
        len(e),
        0.0,
        np.inf,
    )
