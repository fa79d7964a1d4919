"""Branche cells: an indicator of unit-level records per area x SBI node.

Every record with an SBI code counts in its deepest node of the SBI tree
(:mod:`engine.sbi`) and in every node above it, on every configured area
level. The table is dense (every area x every node, zeros included): a missing row
would say "nothing here" as surely as a published 0, so every combination is a
cell that disclosure control decides on. The area's own cell (node ``totaal``) is
the indicator's area cell and is not repeated here.

Cells keep what disclosure control needs, as area cells do (:mod:`engine.cells`):
the value, the distinct holders (companies, or their enterprise groups) and the
three largest contributions of one holder; and ``sbi``, ``sbi_parent``,
``sbi_depth`` and ``never`` (a node's rest, which is protected but never published).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zicht.boundaries import Boundaries
from zicht.boundaries.codes import PARENT_LEVEL
from zicht.engine.sbi import TOTAL, SbiTree, roll_up_codes
from zicht.engine.sources.microdata import Placement, contributions

BRANCHE_FIELDS = ["sbi", "sbi_parent", "sbi_depth", "never"]


def branche_cells(
    placement: Placement,
    boundaries: Boundaries,
    levels: list[str],
    mask: np.ndarray,
    measure: str,
    leaves: np.ndarray,
    tree: SbiTree,
    amount: np.ndarray | None = None,
) -> pd.DataFrame:
    """The cells of one indicator per area x SBI node (every node but the total).

    ``mask`` selects the indicator's records, ``leaves`` is each record's deepest SBI
    node (:meth:`SbiTree.leaves`); ``measure`` as in
    :func:`engine.sources.microdata.microdata_cells`. Returns one row per (level,
    area, node) with ``level``, ``code``, ``parent`` (the area one level up), the
    :data:`BRANCHE_FIELDS` and ``value``, ``units``, ``top1`` to ``top3``.
    """
    nodes = [n for n in tree.nodes if n != TOTAL]
    node_index = pd.Series(np.arange(len(nodes)), index=nodes)
    chosen = np.flatnonzero(mask)
    record, node = roll_up_codes(leaves[chosen], tree)
    keep = node != TOTAL
    record, node_i = chosen[record[keep]], node_index[node[keep]].to_numpy()
    frames = []
    for level in levels:
        areas = boundaries.levels[level]
        position = placement.position[level][record]
        placed = position >= 0
        cell = position[placed] * len(nodes) + node_i[placed]
        n_cells = len(areas) * len(nodes)
        weight = amount[record[placed]] if amount is not None else None
        value, units, top = contributions(cell, placement.holders[record[placed]], weight, n_cells)
        if measure == "units":
            value = contributions(cell, placement.unit[record[placed]], None, n_cells)[1]
            top = np.where(np.isnan(top), np.nan, 1.0)
        frames.append(_frame(areas, levels, level, nodes, tree, value, units, top))
    return pd.concat(frames, ignore_index=True)


def _frame(
    areas: pd.DataFrame,
    levels: list[str],
    level: str,
    nodes: list[str],
    tree: SbiTree,
    value: np.ndarray,
    units: np.ndarray,
    top: np.ndarray,
) -> pd.DataFrame:
    """One level's cells, area by area and node by node (the order of ``value``)."""
    parent_level = PARENT_LEVEL.get(level)
    parent = (
        areas[f"{parent_level}code"].to_numpy(dtype=object)
        if parent_level in levels
        else np.full(len(areas), None, dtype=object)
    )
    n = len(areas)
    return pd.DataFrame(
        {
            "level": level,
            "code": np.repeat(areas.index.to_numpy(dtype=object), len(nodes)),
            "parent": np.repeat(parent, len(nodes)),
            "sbi": np.tile(np.array(nodes, dtype=object), n),
            "sbi_parent": np.tile(np.array([tree.parent[x] for x in nodes], dtype=object), n),
            "sbi_depth": np.tile([tree.depth(x) for x in nodes], n),
            "never": np.tile([tree.is_rest(x) for x in nodes], n),
            "value": value,
            "units": units,
            "top1": top[:, 0],
            "top2": top[:, 1],
            "top3": top[:, 2],
        }
    )
