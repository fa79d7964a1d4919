"""Indicator cells and how they aggregate from buurt to wijk and gemeente.

A cell is one indicator's value for one area, with what disclosure control needs:
the numerator and denominator it was computed from, the number of contributing
units, and the three largest contributions (for dominance rules). Additive
indicators (``count``, ``sum``) add up; every other kind is recomputed from summed
numerator and denominator, so a wijk's share is never the plain average of its
buurten' shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zicht.engine.config import ADDITIVE, IndicatorSpec, RasterIndicator, RatioIndicator

CELL_COLUMNS = ["value", "numerator", "denominator", "units", "top1", "top2", "top3"]


@dataclass(kw_only=True)
class IndicatorCells:
    """One indicator's cells on every level: ``levels[level]`` is indexed by area code."""

    spec: IndicatorSpec
    levels: dict[str, pd.DataFrame]
    source: str
    synthetic: bool
    sensitive: bool = False  # from unit-level or confidential data: disclosure control applies
    unit_type: str | None = None  # person, address or company
    # own areas (unions of buurten): cells per set of own areas, indexed by own code
    own: dict[str, pd.DataFrame] = field(default_factory=dict)

    def values(self, level: str) -> pd.Series:
        return self.levels[level]["value"].rename(self.spec.id)


def empty_cells(index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(np.nan, index=index, columns=CELL_COLUMNS)


def value_scale(spec: IndicatorSpec) -> float:
    """What numerator / denominator is multiplied by to give the value."""
    if isinstance(spec, RatioIndicator):
        return spec.per
    if isinstance(spec, RasterIndicator) and spec.statistic == "share_above":
        return 100.0
    return 1.0


def ratio_cells(numerator: pd.Series, denominator: pd.Series, per: float) -> pd.DataFrame:
    """Cells of a rate or share: ``numerator / denominator * per`` where both are known."""
    cells = empty_cells(numerator.index)
    both = numerator.notna() & denominator.notna()
    cells["numerator"] = numerator.where(both)
    cells["denominator"] = denominator.where(both)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = cells["numerator"] / cells["denominator"] * per
    cells["value"] = value.where(cells["denominator"] > 0)
    return cells


def weighted_cells(values: pd.Series, weight: pd.Series) -> pd.DataFrame:
    """Cells of a mean or share given per area, weighted by ``weight`` when aggregated."""
    cells = empty_cells(values.index)
    cells["value"] = values
    both = values.notna() & weight.notna()
    cells["numerator"] = (values * weight).where(both)
    cells["denominator"] = weight.where(both)
    return cells


def additive_cells(values: pd.Series) -> pd.DataFrame:
    cells = empty_cells(values.index)
    cells["value"] = values
    cells["numerator"] = values
    return cells


def roll_up(cells: pd.DataFrame, parent: pd.Series, spec: IndicatorSpec) -> pd.DataFrame:
    """Aggregate finer cells to their parents (``parent`` maps child code -> parent code).

    Counts and sums add (unknown children are left out, not taken as zero; a parent
    whose children are all unknown stays unknown). Other kinds are recomputed from
    summed numerator and denominator. Units and largest contributions cannot be
    derived from finer cells, so they stay unknown here; sources that have unit-level
    records compute them on every level directly.
    """
    grouped = cells[["numerator", "denominator"]].groupby(parent.reindex(cells.index))
    sums = grouped.sum(min_count=1)
    out = empty_cells(sums.index)
    out["numerator"] = sums["numerator"]
    if spec.kind in ADDITIVE:
        out["value"] = sums["numerator"]
        return out
    out["denominator"] = sums["denominator"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["value"] = (out["numerator"] / out["denominator"] * value_scale(spec)).where(
            out["denominator"] > 0
        )
    return out
