"""Secondary (complementary) suppression over the hierarchy buurt -> wijk -> gemeente.

If one buurt of a wijk is suppressed and the wijk total is published, the buurt is
the total minus its published siblings. Complementary suppressions prevent that. They
are chosen by a mixed-integer program (HiGHS through scipy's ``milp``) per level of
subtables (a parent and its children), minimising the information lost:

    minimise   sum_j cost_j * s_j            (s_j = 1: suppress cell j)
    subject to sum_{j in children, j != i} value_j * s_j + upl_i * s_parent >= upl_i
               for every unsafe child i of every subtable,

so that, for each unsafe cell, the other suppressed cells of its subtable can hide
at least its protection level (or the parent total is suppressed). The cost of a
cell is ``1 + log(1 + value)`` (tau-Argus's logarithmic cost: many small cells are
cheaper to lose than one large one), and a parent costs as much as all its children
together, so wijk totals are kept where buurten can do the job.

Subtables are solved bottom-up: a suppressed wijk must in turn be protected among
the wijken of its gemeente. A wijk chosen as a complement only hides something if
its own buurten do not pin it down (wijk = sum of buurten), so it gets a need of its
own, and the next pass requires its buurten to hide as much
(``sum_k value_k * s_k >= need_wijk``). The attacker's audit
(:mod:`disclosure.audit`) checks the result; where a cell is still exposed the
caller raises the needs and repeats.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from zicht.disclosure.limits import LIMITS, SearchLimits
from zicht.errors import DisclosureError


class Children:
    """The children of every cell in one hierarchy (``parent[i]``, -1 at the top), by
    one sort: ``of(i)`` without a scan of the whole table per cell."""

    def __init__(self, parent: np.ndarray) -> None:
        child = np.flatnonzero(parent >= 0)
        self.order = child[np.argsort(parent[child], kind="stable")]
        cells = np.arange(len(parent))
        self.starts = np.searchsorted(parent[self.order], cells)
        self.ends = np.searchsorted(parent[self.order], cells, side="right")

    def of(self, i: int) -> np.ndarray:
        return self.order[self.starts[i] : self.ends[i]] if i >= 0 else self.order[:0]


def suppress_complements(
    value: np.ndarray,
    parent: np.ndarray,
    depth: np.ndarray,
    suppressed: np.ndarray,
    need: np.ndarray,
    children_of: Children | None = None,
    limits: SearchLimits = LIMITS,
) -> tuple[np.ndarray, np.ndarray]:
    """Choose complementary suppressions for one indicator's tree of cells.

    Parameters
    ----------
    value, parent
        True values (non-negative); each cell's parent's position, -1 at the top level.
    depth
        0 for the top level (gemeente), 1 for wijk, 2 for buurt.
    suppressed, need
        Cells suppressed so far (primary, and earlier complements), and the upper
        protection level each suppressed cell needs (0 where none).
    children_of, limits
        :class:`Children` of ``parent`` if known; the programs' time limit and gap.

    Returns
    -------
    tuple of numpy.ndarray
        The new suppression mask (a superset of ``suppressed``) and the needs, raised
        for cells that must now hide something themselves.
    """
    suppressed = suppressed.copy()
    need = need.copy()
    value = np.nan_to_num(np.asarray(value, dtype=float))
    children_of = children_of or Children(parent)
    has_children = children_of.ends > children_of.starts
    # (bincount, not unique: this runs every round over the whole table)
    for level in np.flatnonzero(np.bincount(depth[parent >= 0]))[::-1]:
        children = np.flatnonzero((depth == level) & (parent >= 0))
        demand = children[suppressed[children] & (need[children] > 0)]
        # suppressed parents that must not be pinned down by their published children
        pinned = np.flatnonzero(has_children & (depth == level - 1) & suppressed & (need > 0))
        if len(demand) == 0 and len(pinned) == 0:
            continue
        tables = _marked(len(value), parent[demand], pinned)
        tables = tables[~_satisfied(value, parent, children, tables, suppressed, need)]
        if len(tables) == 0:
            continue
        chosen = _solve(value, parent, children, tables, suppressed, need, limits)
        # complements chosen among children that have children of their own must be
        # unpinned from below by as much as the most demanding cell of their subtable
        newly_children = np.flatnonzero(chosen & ~suppressed & (depth == level))
        need[newly_children] = np.maximum(
            need[newly_children], _most_demanding(need, parent, children)[parent[newly_children]]
        )
        suppressed |= chosen
        # a parent suppressed to protect its children must itself be protected one
        # level up, by as much as the most demanding child needed
        held = suppressed & (depth == level - 1)
        need[held] = np.maximum(need[held], _most_demanding(need, parent, children)[held])
    return suppressed, need


def _most_demanding(need: np.ndarray, parent: np.ndarray, children: np.ndarray) -> np.ndarray:
    """Per cell, the largest need among its ``children`` (0 without any)."""
    most = np.zeros(len(need))
    np.maximum.at(most, parent[children], need[children])
    return most


def _marked(n: int, *positions: np.ndarray) -> np.ndarray:
    """The distinct ``positions`` (< ``n``), sorted: by a mask, not a sort."""
    mark = np.zeros(n, dtype=bool)
    for p in positions:
        mark[p] = True
    return np.flatnonzero(mark)


def _in_tables(parent: np.ndarray, children: np.ndarray, tables: np.ndarray) -> np.ndarray:
    """The ``children`` whose parent is one of ``tables``."""
    mark = np.zeros(len(parent), dtype=bool)
    mark[tables] = True
    return children[mark[parent[children]]]


def _satisfied(
    value: np.ndarray,
    parent: np.ndarray,
    children: np.ndarray,
    tables: np.ndarray,
    suppressed: np.ndarray,
    need: np.ndarray,
) -> np.ndarray:
    """Per subtable, whether the cells suppressed already meet every constraint of
    :func:`_solve` (then nothing needs choosing there, and later rounds stay cheap)."""
    position = np.full(len(value), -1, dtype=np.int64)
    position[tables] = np.arange(len(tables))
    kids = _in_tables(parent, children, tables)
    table_of = position[parent[kids]]
    hidden = np.where(suppressed[kids], value[kids], 0.0)
    hidden_sum = np.bincount(table_of, weights=hidden, minlength=len(tables))
    total = np.bincount(table_of, weights=value[kids], minlength=len(tables))
    ok = np.ones(len(tables), dtype=bool)
    pinned = suppressed[tables] & (need[tables] > 0)
    ok &= ~pinned | (hidden_sum >= np.minimum(need[tables], total) - 1e-9)
    demanding = suppressed[kids] & (need[kids] > 0)
    others = hidden_sum[table_of] - hidden
    met = (others >= need[kids] - 1e-9) | suppressed[tables][table_of]
    ok &= np.bincount(table_of[demanding & ~met], minlength=len(tables)) == 0
    return ok


def _solve(
    value: np.ndarray,
    parent: np.ndarray,
    children: np.ndarray,
    tables: np.ndarray,
    suppressed: np.ndarray,
    need: np.ndarray,
    limits: SearchLimits,
) -> np.ndarray:
    """One MILP over the given subtables (block-diagonal: HiGHS separates the blocks),
    its rows built for all subtables at once."""
    kids = _in_tables(parent, children, tables)
    position = np.full(len(value), -1, dtype=np.int64)
    position[tables] = np.arange(len(tables))
    table_of = position[parent[kids]]
    order = np.argsort(table_of, kind="stable")  # the children of each subtable together
    kids, table_of = kids[order], table_of[order]
    cells = np.concatenate([kids, tables])
    n_kids = np.bincount(table_of, minlength=len(tables))
    cost = 1.0 + np.log1p(value[cells])
    kid_cost = np.bincount(table_of, weights=cost[: len(kids)], minlength=len(tables))
    cost[len(kids) :] = cost[len(kids) :] * (1 + n_kids) + kid_cost
    # a suppressed parent must not be the plain sum of published children
    is_pinned = suppressed[tables] & (need[tables] > 0) & (n_kids > 0)
    pinned = np.flatnonzero(is_pinned)
    in_pinned = np.flatnonzero(is_pinned[table_of])
    kid_sum = np.bincount(table_of, weights=value[kids], minlength=len(tables))
    pinned_rows = (np.searchsorted(pinned, table_of[in_pinned]), in_pinned)
    pinned_lower = np.minimum(need[tables[pinned]], kid_sum[pinned])
    # each demanding child: hidden by its suppressed siblings, or by its parent
    demanding = np.flatnonzero(suppressed[kids] & (need[kids] > 0))
    row, col = _siblings(demanding, table_of[demanding], n_kids)
    lacking = need[kids[demanding]]
    parent_entry = (np.arange(len(demanding)), len(kids) + table_of[demanding])
    a = sparse.csr_matrix(
        (
            np.r_[value[kids[in_pinned]], value[kids[col]], lacking],
            (
                np.r_[pinned_rows[0], len(pinned) + np.r_[row, parent_entry[0]]],
                np.r_[pinned_rows[1], col, parent_entry[1]],
            ),
        ),
        shape=(len(pinned) + len(demanding), len(cells)),
    )
    fixed = suppressed[cells].astype(float)
    result = milp(
        cost,
        integrality=np.ones(len(cells)),
        bounds=Bounds(fixed, np.ones(len(cells))),
        constraints=LinearConstraint(a, lb=np.r_[pinned_lower, lacking], ub=np.inf),
        options={"time_limit": limits.complement_time_limit, "mip_rel_gap": limits.complement_gap},
    )
    if result.x is None:
        raise DisclosureError(f"secondary suppression found no solution ({result.message})")
    chosen = suppressed.copy()
    chosen[cells] |= result.x > 0.5
    return chosen


def _siblings(
    child: np.ndarray, table: np.ndarray, n_kids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each ``child`` (a position among children sorted by subtable; ``table``: its
    subtable, ``n_kids``: children per subtable), the positions of its siblings: as
    (index into ``child``, sibling position) pairs."""
    first = np.cumsum(n_kids) - n_kids
    length = n_kids[table]
    row = np.repeat(np.arange(len(child)), length)
    col = np.repeat(first[table], length) + (
        np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    )
    other = col != np.repeat(child, length)
    return row[other], col[other]
