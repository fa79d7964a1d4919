"""One group of linked indicators as the protection loop sees it: fixed for the search.

The cells of the group (:class:`~disclosure.linked.LinkedCells`), their true values,
how they are rounded, what each must hide, what withholding each costs, and where each
sits in the hierarchies. None of it changes while complements are sought
(:mod:`disclosure.search`); what changes is the pattern
(:class:`~disclosure.complements.Pattern`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zicht.boundaries.codes import DEPTH
from zicht.disclosure.knowledge import Knowledge
from zicht.disclosure.linked import OWN_LEVEL, LinkedCells, text_column
from zicht.disclosure.rounding import half_width
from zicht.disclosure.rules import PRIMARY_RULES, DisclosureParams
from zicht.disclosure.secondary import Children
from zicht.errors import DisclosureError


@dataclass(frozen=True)
class GroupCells:
    """The fixed facts of one group's cells (positions as in ``linked``).

    ``value`` is the true value (0 where ``unknown`` at the source: such a cell is left
    out of its parent's sum, and an attacker who reads the documentation treats it as
    exactly 0); ``upper``/``lower`` the protection levels; ``wanted`` the room an
    exposed cell needs; ``cost`` what losing a cell costs (as in the complement
    programs, a total is dearer than its parts); ``never`` the rests of SBI nodes,
    never published; ``fixed_shown`` and ``fixed_hidden`` the cells whose status an
    earlier release fixed (:data:`~disclosure.protect.FROZEN`): no complement changes it.
    """

    linked: LinkedCells
    params: DisclosureParams
    reason: np.ndarray
    value: np.ndarray
    unknown: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    count: np.ndarray
    base: np.ndarray
    half: np.ndarray
    primary: np.ndarray
    never: np.ndarray
    units: np.ndarray  # distinct units per cell (NaN where not known): singletons have 1
    wanted: np.ndarray
    cost: np.ndarray
    depth: np.ndarray
    sbi_depth: np.ndarray | None
    children: list[Children]  # of each cell, per hierarchy (areas, then SBI nodes)
    related: dict[int, list[int]]  # per cell, the cells a relation ties it to
    # cells an earlier release fixed (``frozen``): published, or withheld, for good
    fixed_shown: np.ndarray
    fixed_hidden: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame, linked: LinkedCells, params: DisclosureParams) -> GroupCells:
        """The group of the rows ``frame`` (as :func:`~disclosure.protect.protect` keeps
        them: ``value``, ``reason``, ``upper``, ``lower``, ``kind``, ...)."""
        raw = frame["value"].to_numpy(dtype=float)
        unknown = np.isnan(raw)
        value = np.nan_to_num(raw)
        reason = frame["reason"].to_numpy(dtype=object)
        upper = frame["upper"].to_numpy(dtype=float)
        count = (frame["kind"] == "count").to_numpy()
        half = np.where(
            count, half_width(params.count_base, True), half_width(params.sum_base, False)
        )
        parents = [linked.parent] + ([linked.sbi_parent] if linked.sbi_parent is not None else [])
        children = [Children(p) for p in parents]
        kids = sum(c.ends - c.starts for c in children)
        frozen = text_column(frame, "frozen", "")
        return cls(
            linked=linked,
            params=params,
            reason=reason,
            value=value,
            unknown=unknown,
            upper=upper,
            lower=frame["lower"].to_numpy(dtype=float),
            count=count,
            base=np.where(count, params.count_base, params.sum_base),
            half=np.where(unknown, 0.0, half),
            primary=np.isin(reason, PRIMARY_RULES),
            never=_never(frame),
            units=(
                frame["units"].to_numpy(dtype=float)
                if "units" in frame
                else np.full(len(frame), np.nan)
            ),
            wanted=np.maximum(upper, params.protection_min),
            cost=(1.0 + np.log1p(value)) * (1.0 + kids),
            depth=area_depth(frame["level"]),
            sbi_depth=frame["sbi_depth"].to_numpy() if linked.sbi_parent is not None else None,
            children=children,
            related=_relation_partners(linked),
            fixed_shown=frozen == "published",
            fixed_hidden=(frozen != "") & (frozen != "published"),
        )

    @property
    def two_way(self) -> bool:
        """A branche table: areas x SBI nodes."""
        return self.linked.sbi_parent is not None

    @property
    def parents(self) -> list[np.ndarray]:
        """The parent of each cell, per hierarchy (areas, then SBI nodes)."""
        sbi = self.linked.sbi_parent
        return [self.linked.parent] + ([sbi] if sbi is not None else [])

    def anchor(self, knowledge: Knowledge) -> tuple[np.ndarray, np.ndarray]:
        """The anchored programs' known solution (the true values, and the rests of the
        subset pairs) and the cells that move in them: the withheld ones, and an area's
        own cells within their rounding (a small part of a branche table, on which the
        protection of the area layers rests); branche cells are held as published."""
        linked, value = self.linked, self.value
        anchor = np.r_[value, value[linked.large] - value[linked.small]]
        free = np.isinf(knowledge.high) | np.r_[linked.own, np.zeros(linked.n_hidden, dtype=bool)]
        return anchor, free


def _never(frame: pd.DataFrame) -> np.ndarray:
    """The rests of SBI nodes: never published, withheld from the start at no cost."""
    if "never" not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame["never"].fillna(False).to_numpy(dtype=bool)


def area_depth(levels: pd.Series) -> np.ndarray:
    """The :data:`~zicht.boundaries.codes.DEPTH` of each area level (looked up by
    index: ``Series.map`` over the strings of a national table takes a second). Own
    areas (unions of buurten) count as deep as a wijk: never the finest."""
    levels = pd.Series(np.asarray(levels, dtype=object))
    own = levels.str.startswith(OWN_LEVEL).fillna(False).to_numpy(dtype=bool)
    if own.any():
        levels = levels.where(~own, "wijk")
    found = pd.Index(list(DEPTH)).get_indexer(levels)
    if (found < 0).any():
        unknown = sorted(set(levels[found < 0]))
        raise DisclosureError(f"unknown area level(s) {unknown}: expected one of {list(DEPTH)}")
    return np.array(list(DEPTH.values()))[found]


def _relation_partners(linked: LinkedCells) -> dict[int, list[int]]:
    """Per cell, the cells a relation between indicators ties it to: the other side of
    a subset pair, the total of a relation sum it is in, the members of one it totals."""
    partners: dict[int, list[int]] = {}
    for a, b in zip(linked.small.tolist(), linked.large.tolist()):
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    relation = linked.group >= linked.n_tree_groups
    for member, group in zip(linked.member[relation].tolist(), linked.group[relation].tolist()):
        total = int(linked.total[group])
        partners.setdefault(member, []).append(total)
        partners.setdefault(total, []).append(member)
    return partners
