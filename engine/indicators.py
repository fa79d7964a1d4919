"""Compute every configured indicator on every level, from all four kinds of source.

Order: area tables (buurt figures), then synthetic records (driven by those figures),
then unit-level records and rasters, then rates and shares derived from them. Cells
of the finest level are rolled up to wijk and gemeente (see :mod:`engine.cells`),
except those computed from records, which are computed on every level directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from boundaries import Boundaries
from boundaries.codes import LEVELS
from engine import microdata as md
from engine.cells import (IndicatorCells, additive_cells, ratio_cells, roll_up, weighted_cells)
from engine.config import ADDITIVE, Config, IndicatorSpec
from engine.rasters import zonal_cells
from engine.synthetic import Context, Drivers, SyntheticData, generate
from engine.tables import JoinReport, TableError, join_report, read_table, to_number

log = logging.getLogger("zicht")


@dataclass
class IndicatorResult:
    """All indicator cells, and what the sources reported on the way."""

    cells: dict[str, IndicatorCells]
    joins: list[JoinReport] = field(default_factory=list)
    placements: dict[str, md.Placement] = field(default_factory=dict)
    synthetic: dict[str, SyntheticData] = field(default_factory=dict)


def compute_indicators(config: Config, boundaries: Boundaries) -> IndicatorResult:
    """Cells of every indicator in ``config`` on every level of ``boundaries``.

    Raises :class:`~engine.tables.TableError`, :class:`~engine.microdata.MicrodataError`
    or :class:`~engine.rasters.RasterError` naming the file and column at fault.
    """
    areas = boundaries.areas
    finest = boundaries.finest
    result = IndicatorResult(cells={})
    finest_cells: dict[str, pd.DataFrame] = {}
    per_level: dict[str, dict[str, pd.DataFrame]] = {}
    sources: dict[str, tuple[str, bool]] = {}
    sensitivity: dict[str, tuple[bool, str | None]] = {}

    # 1. area tables
    tables = {t.id: t for t in config.tables}
    frames = {}
    for spec in config.tables:
        if not any(d.table == spec.id for d in config.indicators):
            continue
        frame = read_table(spec.path, spec.key, spec.layer)
        report = join_report(spec.id, spec.path, frame, areas.index, finest)
        result.joins.append(report)
        log.info("%s", report.describe())
        if report.match_rate < spec.min_match:
            raise TableError(f"{report.describe()}; below min_match {spec.min_match:.0%} "
                             f"(the codes may be from another year or level)")
        frames[spec.id] = frame
    for spec in sorted((d for d in config.indicators if d.table), key=lambda d: d.kind not in ADDITIVE):
        table = tables[spec.table]
        if spec.column not in frames[spec.table].columns:
            raise TableError(f"{table.path}: no column {spec.column!r} (indicator {spec.id!r}); "
                             f"columns are {list(frames[spec.table].columns)}")
        where = f"{table.path}, column {spec.column!r} (indicator {spec.id!r})"
        raw = to_number(frames[spec.table][spec.column], where,
                        non_negative=spec.kind in ADDITIVE,
                        na_values=table.na_values).reindex(areas.index)
        finest_cells[spec.id] = (additive_cells(raw) if spec.kind in ADDITIVE
                                 else weighted_cells(raw, finest_cells[spec.weight]["value"]))
        sources[spec.id] = (table.source or table.path.name, table.synthetic)
        sensitivity[spec.id] = (not table.public, table.unit_type)

    # 2. unit-level records, generated where the source is synthetic
    context = None
    for spec in config.microdata:
        used = [d for d in config.indicators if d.microdata == spec.id]
        if not used:
            continue
        if spec.generator is not None:
            if context is None:
                context = _synthetic_context(config, boundaries, finest_cells)
            data = generate(spec.generator, areas, context.drivers, config.seed, context=context)
            result.synthetic[spec.id] = data
            records, unit, amount_column = data.records, data.unit, data.amount
            unit_type = spec.unit_type or data.unit_type
            placement = md.place_records(records, boundaries, unit,
                                         *(("x", "y") if "x" in records else (None, None)),
                                         code="buurtcode" if "x" not in records else None,
                                         where=f"synthetic {spec.generator}")
            where = f"synthetic microdata {spec.id!r}"
        else:
            records = md.read_records(spec)
            amount_column = spec.amount
            unit_type = spec.unit_type or "person"
            where = f"{spec.path} (microdata {spec.id!r})"
            placement = md.place_records(records, boundaries, spec.unit, spec.x, spec.y,
                                         spec.crs, spec.code, where=where)
        result.placements[spec.id] = placement
        log.info("%s", placement.describe(spec.id))
        source = spec.source or (spec.path.name if spec.path else spec.generator)
        for d in used:
            if d.measure == "amount" and amount_column is None:
                raise md.MicrodataError(f"{where}: indicator {d.id!r} sums amounts, but the "
                                        "records have no amount column ('amount' key)")
            amount = (md.amounts(records, amount_column, where) if d.measure == "amount"
                      else None)
            mask = md.record_mask(records, d, where)
            per_level[d.id] = md.microdata_cells(placement, boundaries, mask, d.measure, amount)
            finest_cells[d.id] = per_level[d.id][finest]
            sources[d.id] = (source, spec.synthetic)
            sensitivity[d.id] = (True, unit_type)

    # 3. rasters
    rasters = {r.id: r for r in config.rasters}
    for d in config.indicators:
        if d.raster is not None:
            r = rasters[d.raster]
            finest_cells[d.id] = zonal_cells(r.path, areas, d.statistic, r.band, d.threshold)
            sources[d.id] = (r.source or r.path.name, r.synthetic)
            sensitivity[d.id] = (not r.public, None)

    # 4. rates, shares and means from a numerator and a denominator
    for d in config.indicators:
        if d.is_ratio:
            finest_cells[d.id] = ratio_cells(finest_cells[d.numerator]["value"],
                                             finest_cells[d.denominator]["value"], d.per)
            parts = [sources[d.numerator], sources[d.denominator]]
            sources[d.id] = ("; ".join(dict.fromkeys(p[0] for p in parts)),
                             any(p[1] for p in parts))
            sensitivity[d.id] = (sensitivity[d.numerator][0] or sensitivity[d.denominator][0],
                                 sensitivity[d.numerator][1])

    # 5. roll up to wijk and gemeente
    for d in config.indicators:
        levels = per_level.get(d.id) or _rolled_up(finest_cells[d.id], d, boundaries)
        source, synthetic = sources[d.id]
        sensitive, unit_type = sensitivity[d.id]
        result.cells[d.id] = IndicatorCells(d, levels, source, synthetic, sensitive, unit_type)
    return result


def _rolled_up(cells: pd.DataFrame, spec: IndicatorSpec,
               boundaries: Boundaries) -> dict[str, pd.DataFrame]:
    finest = boundaries.finest
    levels = {finest: cells}
    for level in LEVELS[LEVELS.index(finest) + 1:]:
        parent = boundaries.areas[f"{level}code"]
        levels[level] = roll_up(cells, parent, spec).reindex(boundaries.levels[level].index)
    return levels


def _synthetic_context(config: Config, boundaries: Boundaries,
                       finest_cells: dict[str, pd.DataFrame]) -> Context:
    s = config.synthetic

    def driver(indicator_id: str | None):
        return None if indicator_id is None else finest_cells[indicator_id]["value"].to_numpy()

    drivers = Drivers.from_columns(boundaries.areas, inhabitants=driver(s.inhabitants),
                                   households=driver(s.households), woz=driver(s.woz),
                                   address_density=driver(s.address_density),
                                   land_area_ha=driver(s.land_area))
    return Context(boundaries.areas, drivers, config.seed, s.scale, s.years)
