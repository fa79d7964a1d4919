"""Which cells of a linked table hold which: the edges an insider's knowledge follows.

A cell holds the cells below it: its finer areas and SBI nodes, the indicators that are
subsets or parts of it in its area (:class:`Edges`). The records of a unit lie in a
cell and in every cell that holds it; a whole is at least the sum of its parts in any
one way it splits, and a cell that is all of a whole (the only buurt of a wijk) is that
whole. :mod:`disclosure.insiders` reads what a unit knows along them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zicht.disclosure.group import GroupCells


@dataclass(frozen=True)
class Edges:
    """Per cell, the cells it holds (``below``: finer areas and SBI nodes, subsets and
    parts in its area), those that hold it (``above``), and the ways it splits into
    cells that do not overlap (``splits``: its finer areas, its finer SBI nodes, the
    parts of a sum it totals, a subset alone)."""

    below: list[list[int]]
    above: list[list[int]]
    splits: list[list[np.ndarray]]
    has_unit: np.ndarray  # cells that may hold a unit (an unknown count may)
    part_of: list[list[tuple[int, int]]]  # per cell: (a cell it splits, which split)
    sole: list[list[int]]  # per cell: the cells that are all of it (a wijk's only buurt)
    height: list[int]  # a cell's longest chain of cells below it (parts come first)
    cyclic: bool  # whether the cells below a cell can lead back to it

    @classmethod
    def of(cls, group: GroupCells) -> Edges:
        """The edges of ``group``'s hierarchies and relations."""
        linked, n = group.linked, len(group.value)
        below: list[list[int]] = [[] for _ in range(n)]
        above: list[list[int]] = [[] for _ in range(n)]
        pairs = [(int(p[c]), int(c)) for p in group.parents for c in np.flatnonzero(p >= 0)]
        pairs += list(zip(linked.large.tolist(), linked.small.tolist()))
        relation = linked.group >= linked.n_tree_groups
        totals = linked.total[linked.group[relation]].tolist()
        pairs += list(zip(totals, linked.member[relation].tolist()))
        for big, small in pairs:
            if big < n and small < n:  # not the hidden rests of subset pairs
                below[big].append(small)
                above[small].append(big)
        splits, sole = _splits(group, relation)
        part_of: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for whole, ways in enumerate(splits):
            for k, parts in enumerate(ways):
                for p in parts.tolist():
                    part_of[p].append((whole, k))
        height, cyclic = _heights(below, above)
        has_unit = np.nan_to_num(group.units, nan=2.0) >= 1
        return cls(below, above, splits, has_unit, part_of, sole, height, cyclic)


def _splits(
    group: GroupCells, relation: np.ndarray
) -> tuple[list[list[np.ndarray]], list[list[int]]]:
    """Per cell, the ways it splits into cells that do not overlap (see :class:`Edges`),
    and the cells that are all of it (the one part of a sum: a subset alone is not);
    ``relation``: which entries of the linked table's sums are relations."""
    linked, n = group.linked, len(group.value)
    splits: list[list[np.ndarray]] = [[] for _ in range(n)]
    for p in group.parents:
        children = np.flatnonzero(p >= 0)
        order = np.argsort(p[children], kind="stable")
        children = children[order]
        starts = np.flatnonzero(np.r_[True, np.diff(p[children]) != 0])
        for kids in np.split(children, starts[1:]) if len(children) else []:
            splits[int(p[kids[0]])].append(kids)
    entries = np.flatnonzero(relation)
    entries = entries[np.argsort(linked.group[entries], kind="stable")]
    groups = linked.group[entries]
    starts = np.flatnonzero(np.r_[True, np.diff(groups) != 0])
    sole: list[list[int]] = [[int(kids[0]) for kids in ways if len(kids) == 1] for ways in splits]
    for one in np.split(entries, starts[1:]) if len(entries) else []:
        parts, total = linked.member[one], int(linked.total[linked.group[one[0]]])
        splits[total].append(parts[parts < n])  # not the hidden rests
        if len(parts) == 1 and parts[0] < n:
            sole[total].append(int(parts[0]))
    for big, small in zip(linked.large.tolist(), linked.small.tolist()):
        if big < n and small < n:
            splits[big].append(np.array([small]))
    return splits, sole


def _heights(below: list[list[int]], above: list[list[int]]) -> tuple[list[int], bool]:
    """Per cell, the longest chain of cells below it (0 for a cell with none), and
    whether some chain is a cycle (its cells then keep height 0)."""
    height = [0] * len(below)
    waiting = [len(b) for b in below]
    ready = [c for c, w in enumerate(waiting) if w == 0]
    done = 0
    while ready:
        c = ready.pop()
        done += 1
        for up in above[c]:
            height[up] = max(height[up], height[c] + 1)
            waiting[up] -= 1
            if waiting[up] == 0:
                ready.append(up)
    return height, done < len(below)
