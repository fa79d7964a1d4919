"""Related indicators as one linked table, as the attacker sees them.

Indicators are not independent: companies in risk sectors are companies, subjects of
reports are at most the reports, a three-year window is the sum of its years. An
attacker who knows that (it is in the data dictionary) combines the published cells
of all of them. :class:`Relations` declares the relations; :func:`Relations.groups`
splits the indicators into groups that are linked to each other, and
:class:`LinkedCells` turns one group's cells into the attacker's
:class:`~disclosure.knowledge.Knowledge`: the hierarchy of every indicator, the subset
relations and the sums, per area.

>>> cells = pd.DataFrame({"indicator": ["all", "all", "part", "part"],
...                       "level": ["wijk", "buurt", "wijk", "buurt"],
...                       "code": ["WK036300", "BU03630000"] * 2,
...                       "parent": [None, "WK036300", None, "WK036300"]})
>>> linked = LinkedCells(cells, Relations(subsets=(("part", "all"),)))
>>> linked.parent.tolist(), linked.small.tolist(), linked.large.tolist()
([-1, 0, -1, 2], [2, 3], [0, 1])
>>> linked.n_hidden  # part's complement in all, per area: all = part + rest
2
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zicht.boundaries.codes import PARENT_LEVEL
from zicht.disclosure.knowledge import Knowledge, published_interval, tree_groups

TOTAL = "totaal"  # the SBI node of an area's own cell (all branches)
# Own areas (police basisteams, a gemeente's districts) are unions of buurten: the
# level of their cells starts with this, and ``members`` lists their buurten
OWN_LEVEL = "eigen:"
MEMBER_LEVEL = "buurt"


@dataclass(frozen=True)
class Relations:
    """Relations between indicators that hold in every area.

    ``subsets``: (smaller, larger) pairs, ``smaller <= larger``. ``sums``: (total,
    parts) pairs, ``total = sum(parts)`` (a window and its years).
    """

    subsets: tuple[tuple[str, str], ...] = ()
    sums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # (total, part, nodes): the total's cell of an area equals the sum of the part's
    # cells of the same area at these SBI nodes (companies in the risk branches)
    node_sums: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def groups(self, indicators: list[str]) -> list[list[str]]:
        """The indicators in groups linked by relations (connected components), each in
        the given order; an indicator without relations is a group of its own."""
        root = {i: i for i in indicators}

        def find(i: str) -> str:
            while root[i] != i:
                root[i] = root[root[i]]
                i = root[i]
            return i

        pairs = list(self.subsets) + [(t, p) for t, parts in self.sums for p in parts]
        pairs += [(t, p) for t, p, _ in self.node_sums]
        for a, b in pairs:
            if a in root and b in root:
                root[find(a)] = find(b)
        groups: dict[str, list[str]] = {}
        for i in indicators:
            groups.setdefault(find(i), []).append(i)
        return list(groups.values())

    def closed(self) -> Relations:
        """The same relations with subsets closed transitively (a <= b <= c adds a <= c):
        propagation over the closed pairs equals the linear programs (tested)."""
        pairs = set(self.subsets)
        while True:
            more = {(a, d) for a, b in pairs for c, d in pairs if b == c and a != d} - pairs
            if not more:
                return Relations(tuple(sorted(pairs)), self.sums, self.node_sums)
            pairs |= more

    def among(self, indicators: list[str]) -> Relations:
        """Only the relations whose indicators are all in ``indicators``."""
        have = set(indicators)
        return Relations(
            tuple(p for p in self.subsets if set(p) <= have),
            tuple(s for s in self.sums if {s[0], *s[1]} <= have),
            tuple(s for s in self.node_sums if {s[0], s[1]} <= have),
        )


class LinkedCells:
    """The cells of a group of related indicators as one linked table.

    ``cells`` has one row per (indicator, level, code) with ``parent`` (the code of
    the area one level up). Positions are the rows of ``cells`` in order. Branche
    tables add a second hierarchy: rows with ``sbi`` (the node; ``totaal`` for the
    area's own cell) and ``sbi_parent`` (the node one level up), so that every cell
    is the sum of its finer areas *and* of its finer SBI nodes. Own areas add a
    hierarchy not nested in the first: rows with ``members`` (the codes of their
    buurten, separated by spaces) are the sum of those buurten' cells.
    """

    def __init__(self, cells: pd.DataFrame, relations: Relations) -> None:
        self._indicator = cells["indicator"].to_numpy(dtype=object)
        self._sbi = text_column(cells, "sbi", TOTAL)
        self._position = _Positions(
            self._indicator,
            cells["level"].to_numpy(dtype=object),
            cells["code"].to_numpy(dtype=object),
            self._sbi,
        )
        self._hierarchies(cells)
        relations = relations.closed()
        # Propagation is exact on one hierarchy with at most one subset per indicator
        # (tested against the programs). Sums over a second dimension (years, SBI nodes)
        # make a two-way table, and two subsets of one indicator (overlapping, or a
        # chain once closed) make cycles where it is not: such groups need the
        # attacker's programs.
        bigger = [big for _, big in relations.subsets]
        listed = text_column(cells, "members", "")
        self.needs_programs = (
            bool(relations.sums or relations.node_sums)
            or bool((listed != "").any())
            or len(bigger) > len(set(bigger))
            or self.sbi_parent is not None
        )
        small = self._subset_pairs(relations)
        self.n_cells = len(cells)
        self.n_hidden = len(self.small)
        totals, members, groups = self._tree_sums(small)
        self._relation_sums(relations, totals, members, groups)
        self._own_area_sums(listed, totals, members, groups)
        self.total = np.concatenate(totals).astype(np.int64)
        self.member = np.concatenate(members).astype(np.int64)
        self.group = np.concatenate(groups).astype(np.int64)

    def _lookup(self, ind: str, rows: np.ndarray, node: str | None = None) -> np.ndarray:
        """The cells of indicator ``ind`` of the areas of ``rows``, at their SBI node or
        at ``node``."""
        position = self._position
        _, own_level, own_code, own_sbi = position.codes
        nodes = own_sbi[rows] if node is None else position.code(3, node, len(rows))
        return position.of(position.code(0, ind, len(rows)), own_level[rows], own_code[rows], nodes)

    def _hierarchies(self, cells: pd.DataFrame) -> None:
        """``parent`` (the same indicator's cell of the area one level up), ``own`` and,
        for branche tables, ``sbi_parent`` (the cell of the SBI node one level up)."""
        position = self._position
        own_indicator, own_level, own_code, own_sbi = position.codes
        levels = position.values[1]
        parent_level = position.code(1, levels.map(lambda lv: PARENT_LEVEL.get(lv, "")))
        parent_code = position.code(2, text_column(cells, "parent", ""))
        self.parent = position.of(own_indicator, parent_level[own_level], parent_code, own_sbi)
        self.own = self._sbi == TOTAL  # an area's own cell (not a branche's)
        sbi_parent = text_column(cells, "sbi_parent", "")
        self.sbi_parent: np.ndarray | None = None
        if (sbi_parent != "").any():
            self.sbi_parent = position.of(
                own_indicator, own_level, own_code, position.code(3, sbi_parent)
            )

    def _subset_pairs(self, relations: Relations) -> list[np.ndarray]:
        """``small`` and ``large``: the cells of each subset pair, per area; returns the
        smaller cells of each relation apart."""
        small, large = [], []
        for smaller, larger in relations.subsets:
            rows = np.flatnonzero(self._indicator == smaller)
            match = self._lookup(larger, rows)
            small.append(rows[match >= 0])
            large.append(match[match >= 0])
        self.small = np.concatenate(small) if small else np.zeros(0, dtype=np.int64)
        self.large = np.concatenate(large) if large else np.zeros(0, dtype=np.int64)
        return small

    def _tree_sums(self, small: list[np.ndarray]) -> tuple[list[np.ndarray], ...]:
        """The sum groups of the hierarchies and of the subset pairs: totals, members and
        group numbers, in lists that the relation sums extend.

        Each subset pair gets a hidden "rest" cell (larger minus smaller: never
        negative, additive over the hierarchy like the two), so that larger = smaller
        + rest is one more sum group. Propagation over these sums sees what the pairs
        alone hide (the tests check it against the linear programs)."""
        rest_of = self.n_cells + np.arange(self.n_hidden)  # the rest cell of pair k
        rest_parent, offset = [], 0
        for rows in small:
            rest = np.full(self.n_cells, -1, dtype=np.int64)  # cell -> its pair's rest cell
            rest[rows] = rest_of[offset : offset + len(rows)]
            up = self.parent[rows]
            rest_parent.append(np.where(up >= 0, rest[np.maximum(up, 0)], -1))
            offset += len(rows)
        full_parent = np.concatenate([self.parent, *rest_parent]).astype(np.int64)
        tree_total, tree_member, tree_group = tree_groups(full_parent)
        totals, members, groups = [tree_total], [tree_member], [tree_group]
        n_groups = len(tree_total)
        if self.sbi_parent is not None:
            sbi_total, sbi_member, sbi_group = tree_groups(self.sbi_parent)
            totals.append(sbi_total)
            members.append(sbi_member)
            groups.append(sbi_group + n_groups)
            n_groups += len(sbi_total)
        self.n_tree_groups = n_groups  # groups after these are relation sums
        totals.append(self.large)
        pair_group = n_groups + np.arange(len(self.small))
        members += [self.small, rest_of]
        groups += [pair_group, pair_group]
        return totals, members, groups

    def _relation_sums(
        self,
        relations: Relations,
        totals: list[np.ndarray],
        members: list[np.ndarray],
        groups: list[np.ndarray],
    ) -> None:
        """Extend the sum groups with the relation sums: years hold per SBI node too;
        risk branches only for an area's own cell."""
        n_groups = self.n_tree_groups + len(self.small)
        sums: list[tuple[str, list[tuple[str, str | None]]]] = [
            (t, [(p, None) for p in parts]) for t, parts in relations.sums
        ]
        sums += [(t, [(p, node) for node in nodes]) for t, p, nodes in relations.node_sums]
        for total, parts in sums:
            per_node = parts[0][1] is None
            rows = np.flatnonzero((self._indicator == total) & (per_node | (self._sbi == TOTAL)))
            found = [self._lookup(p, rows, node) for p, node in parts]
            complete = np.all([f >= 0 for f in found], axis=0) if found else rows < 0
            rows = rows[complete]
            totals.append(rows)
            for f in found:
                members.append(f[complete])
                groups.append(n_groups + np.arange(len(rows)))
            n_groups += len(rows)

    def _own_area_sums(
        self,
        listed: np.ndarray,
        totals: list[np.ndarray],
        members: list[np.ndarray],
        groups: list[np.ndarray],
    ) -> None:
        """Extend the sum groups with the own areas: the cell of an own area (a row
        with ``members``) is the sum of the same indicator's cells of its buurten at
        the same SBI node. An own area with a buurt not in the table is left out (a
        cut keeps only own areas wholly inside it). After the relation sums, so that
        the search sees an own area and its buurten as related cells."""
        rows = np.flatnonzero(listed != "")
        if not len(rows):
            return
        split = [str(m).split() for m in listed[rows]]
        total_of = np.repeat(rows, [len(s) for s in split])
        position = self._position
        indicator, _, _, sbi = position.codes
        found = position.of(
            indicator[total_of],
            position.code(1, MEMBER_LEVEL, len(total_of)),
            position.code(2, np.concatenate(split)),
            sbi[total_of],
        )
        complete = pd.Series(found >= 0).groupby(total_of).all()
        keep = complete.reindex(total_of).to_numpy(dtype=bool)
        whole = complete.index[complete.to_numpy()].to_numpy(dtype=np.int64)
        n_groups = max((int(g.max()) + 1 for g in groups if len(g)), default=0)
        totals.append(whole)
        members.append(found[keep])
        groups.append(n_groups + np.searchsorted(whole, total_of[keep]))

    def knowledge(
        self,
        published: np.ndarray,
        half: np.ndarray | float,
        count: np.ndarray | bool,
        min_units: float,
    ) -> Knowledge:
        """What the attacker knows, given the published values (NaN: withheld); the
        first ``n_cells`` positions are the cells, the rest the hidden rest cells."""
        low, high = published_interval(published, half, count, min_units)
        low = np.r_[low, np.zeros(self.n_hidden)]
        high = np.r_[high, np.full(self.n_hidden, np.inf)]
        return Knowledge(
            low=low,
            high=high,
            total=self.total,
            member=self.member,
            group=self.group,
            small=self.small,
            large=self.large,
        )


class _Positions:
    """Row positions by (indicator, level, code, SBI node): each column coded once
    against its distinct values, and the four codes joined into one integer key (a
    national branche table has 700,000 rows, looked up several times). Keys are
    given by their columns' codes (:meth:`code`; ``codes`` has the rows' own)."""

    def __init__(self, *columns: np.ndarray) -> None:
        self.values = [pd.Index(pd.unique(column)) for column in columns]
        self.codes = [values.get_indexer(column) for values, column in zip(self.values, columns)]
        self.rows = pd.Index(self._key(self.codes))

    def code(self, column: int, values: object, length: int | None = None) -> np.ndarray:
        """The codes of ``values`` in column ``column`` (-1: no row has it); one value
        is repeated ``length`` times."""
        if length is not None:
            return np.full(length, self.values[column].get_indexer([values])[0])
        return self.values[column].get_indexer(values)

    def _key(self, codes: list[np.ndarray] | tuple[np.ndarray, ...]) -> np.ndarray:
        key = np.zeros(len(codes[0]), dtype=np.int64)
        known = np.ones(len(codes[0]), dtype=bool)
        for values, code in zip(self.values, codes):
            known &= code >= 0
            key = key * (len(values) + 1) + code
        return np.where(known, key, -1)

    def of(self, *codes: np.ndarray) -> np.ndarray:
        """The row of each key, -1 where there is none."""
        key = self._key(codes)
        return np.where(key >= 0, self.rows.get_indexer(key), -1).astype(np.int64)


def text_column(cells: pd.DataFrame, name: str, default: str) -> np.ndarray:
    """A text column as an object array, ``default`` where missing or absent."""
    if name not in cells:
        return np.full(len(cells), default, dtype=object)
    return pd.Series(cells[name].to_numpy(), dtype=object).fillna(default).to_numpy()
