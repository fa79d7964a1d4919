"""Indicator cells per area and level, and their aggregation buurt -> wijk -> gemeente.

A cell is one indicator's value for one area, with what disclosure control needs:
the numerator and denominator it was computed from, the number of contributing
units, and the largest contributions (for dominance rules). Additive indicators
(``count``, ``sum``) add up; every other kind is recomputed from summed numerator
and denominator, so a wijk's share is never the plain average of its buurten' shares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from boundaries import Boundaries
from boundaries.codes import LEVELS
from engine.config import ADDITIVE, Config, IndicatorSpec, TableSpec
from engine.tables import JoinReport, TableError, join_report, read_table, to_number

CELL_COLUMNS = ["value", "numerator", "denominator", "units", "top1", "top2", "top3"]


@dataclass
class IndicatorCells:
    """One indicator's cells on every level: ``levels[level]`` is indexed by area code."""

    spec: IndicatorSpec
    levels: dict[str, pd.DataFrame]
    source: str
    synthetic: bool

    def values(self, level: str) -> pd.Series:
        return self.levels[level]["value"].rename(self.spec.id)


def table_indicators(config: Config, boundaries: Boundaries
                     ) -> tuple[dict[str, IndicatorCells], list[JoinReport]]:
    """Cells for every indicator that comes from an area table, on every level.

    Raises :class:`engine.tables.TableError` when a table's codes match fewer areas than
    its ``min_match``, or a column is missing or not numeric.
    """
    areas = boundaries.areas
    finest = boundaries.finest
    frames: dict[str, pd.DataFrame] = {}
    reports: list[JoinReport] = []
    for spec in config.tables:
        if not any(d.table == spec.id for d in config.indicators):
            continue
        frame = read_table(spec.path, spec.key, spec.layer)
        report = join_report(spec.id, spec.path, frame, areas.index, finest)
        reports.append(report)
        if report.match_rate < spec.min_match:
            raise TableError(f"{report.describe()}; below min_match {spec.min_match:.0%} "
                             f"(the codes may be from another year or level)")
        frames[spec.id] = frame

    tables = {t.id: t for t in config.tables}
    finest_cells: dict[str, pd.DataFrame] = {}
    for spec in _in_dependency_order(config.indicators):
        if spec.table is not None and spec.table not in frames:
            continue
        if spec.table is not None:
            table = tables[spec.table]
            raw = _column(frames[spec.table], table, spec).reindex(areas.index)
            finest_cells[spec.id] = _column_cells(spec, raw, finest_cells)
        elif spec.numerator in finest_cells and spec.denominator in finest_cells:
            finest_cells[spec.id] = ratio_cells(finest_cells[spec.numerator]["value"],
                                                finest_cells[spec.denominator]["value"], spec.per)

    parents = areas[["wijkcode", "gemeentecode"]]
    out = {}
    for indicator_id, cells in finest_cells.items():
        spec = config.indicator(indicator_id)
        levels = {finest: cells}
        for level in LEVELS[LEVELS.index(finest) + 1:]:
            levels[level] = roll_up(cells, parents[f"{level}code"], spec)
            levels[level] = levels[level].reindex(boundaries.levels[level].index)
        source_tables = _source_tables(spec, config)
        out[indicator_id] = IndicatorCells(
            spec, levels,
            source="; ".join(tables[t].source or tables[t].path.name for t in source_tables),
            synthetic=any(tables[t].synthetic for t in source_tables))
    return out, reports


def _in_dependency_order(specs: tuple[IndicatorSpec, ...]) -> list[IndicatorSpec]:
    # Weights, numerators and denominators are additive (the config checks it), so
    # additive indicators first, then everything derived from them.
    return sorted(specs, key=lambda d: (d.kind not in ADDITIVE, d.table is None))


def _source_tables(spec: IndicatorSpec, config: Config) -> list[str]:
    if spec.table is not None:
        return [spec.table]
    found = []
    for ref in (spec.numerator, spec.denominator):
        found += _source_tables(config.indicator(ref), config)
    return sorted(set(found))


def _column(frame: pd.DataFrame, table: TableSpec, spec: IndicatorSpec) -> pd.Series:
    if spec.column not in frame.columns:
        raise TableError(f"{table.path}: no column {spec.column!r} (indicator {spec.id!r}); "
                         f"columns are {list(frame.columns)}")
    where = f"{table.path}, column {spec.column!r} (indicator {spec.id!r})"
    return to_number(frame[spec.column], where, non_negative=spec.kind in ADDITIVE)


def empty_cells(index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(np.nan, index=index, columns=CELL_COLUMNS)


def _column_cells(spec: IndicatorSpec, raw: pd.Series,
                  known: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cells = empty_cells(raw.index)
    cells["value"] = raw
    if spec.kind in ADDITIVE:
        cells["numerator"] = raw
        return cells
    weight = known[spec.weight]["value"]
    both = raw.notna() & weight.notna()
    cells["numerator"] = (raw * weight).where(both)
    cells["denominator"] = weight.where(both)
    return cells


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
    per = spec.per if spec.is_ratio else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out["value"] = (out["numerator"] / out["denominator"] * per).where(out["denominator"] > 0)
    return out
