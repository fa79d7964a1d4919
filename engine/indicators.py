"""Compute every configured indicator on every level, from all four kinds of source.

Order: area tables (buurt figures), then synthetic records (driven by those figures),
then unit-level records and rasters, then rates and shares derived from them. Cells
of the finest level are rolled up to wijk and gemeente (see :mod:`engine.cells`),
except those computed from records, which are computed on every level directly.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from zicht.boundaries import Boundaries, read_boundaries
from zicht.boundaries.codes import LEVELS
from zicht.boundaries.own_areas import OwnAreas
from zicht.engine.cells import IndicatorCells, additive_cells, ratio_cells, roll_up, weighted_cells
from zicht.engine.config import (
    ADDITIVE,
    Config,
    IndicatorSpec,
    RasterIndicator,
    RatioIndicator,
    TableIndicator,
    TableSpec,
)
from zicht.engine.sources import microdata as md
from zicht.engine.sources import streaming
from zicht.engine.sources.interpolated import Interpolation, interpolated_table
from zicht.engine.sources.rasters import zonal_cells
from zicht.engine.sources.record_cells import every_source, used_by
from zicht.engine.sources.synthetic import Context, Drivers, SyntheticData
from zicht.engine.sources.synthetic_files import WrittenSource, write_synthetic
from zicht.engine.sources.table_join import check_vintage, level_hint
from zicht.engine.sources.tables import JoinReport, join_report, read_table, to_number
from zicht.errors import MicrodataError, TableError

log = logging.getLogger("zicht")


@dataclass(kw_only=True)
class IndicatorResult:
    """All indicator cells, and what the sources reported on the way."""

    cells: dict[str, IndicatorCells]
    # cells per area x SBI node of the branche indicators (engine.sources.branches),
    # with ``indicator``; empty without [branches]
    branches: pd.DataFrame = field(default_factory=pd.DataFrame)
    joins: list[JoinReport] = field(default_factory=list)
    placements: dict[str, md.Placement] = field(default_factory=dict)
    synthetic: dict[str, SyntheticData] = field(default_factory=dict)
    # tables moved from other boundaries (engine.sources.interpolated)
    interpolations: list[Interpolation] = field(default_factory=list)


@dataclass
class _Computed:
    """What the steps have computed so far, per indicator id."""

    finest: dict[str, pd.DataFrame] = field(default_factory=dict)  # cells of the finest level
    levels: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)  # all levels
    source: dict[str, tuple[str, bool]] = field(default_factory=dict)  # (name, synthetic)
    sensitivity: dict[str, tuple[bool, str | None]] = field(default_factory=dict)
    # own areas: cells per set id, from the records where an indicator has them
    own: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    own_areas: Sequence[OwnAreas] = ()


def compute_indicators(config: Config, boundaries: Boundaries) -> IndicatorResult:
    """Cells of every indicator in ``config`` on every level of ``boundaries``, and of
    its own areas (unions of its buurten) in :attr:`IndicatorCells.own`.

    Raises :class:`~zicht.errors.SourceError` (a table, microdata or raster error)
    naming the file and column at fault.
    """
    result = IndicatorResult(cells={})
    own_areas = boundaries.own_areas
    done = _Computed(own_areas=own_areas)
    _table_indicators(config, boundaries, result, done)
    _microdata_indicators(config, boundaries, result, done)
    _raster_indicators(config, boundaries, done)
    _ratio_indicators(config, done)
    for d in config.indicators:
        levels = done.levels.get(d.id) or _rolled_up(done.finest[d.id], d, boundaries)
        source, synthetic = done.source[d.id]
        sensitive, unit_type = done.sensitivity[d.id]
        result.cells[d.id] = IndicatorCells(
            spec=d,
            levels=levels,
            source=source,
            synthetic=synthetic,
            sensitive=sensitive,
            unit_type=unit_type,
            own=done.own.get(d.id) or _own_rolled_up(done.finest[d.id], d, own_areas),
        )
    return result


def _own_rolled_up(
    cells: pd.DataFrame, spec: IndicatorSpec, own_areas: Sequence[OwnAreas]
) -> dict[str, pd.DataFrame]:
    """Own-area cells of an indicator of buurt figures: rolled up as a wijk's are."""
    return {own.id: roll_up(cells, own.buurt_of, spec).reindex(own.codes) for own in own_areas}


def _table_indicators(
    config: Config, boundaries: Boundaries, result: IndicatorResult, done: _Computed
) -> None:
    """Area tables: read and join each used table, then its columns (weights first);
    tables moved from other boundaries last (their weight may be another table's)."""
    areas, finest = boundaries.areas, boundaries.finest
    used = [d for d in config.indicators if isinstance(d, TableIndicator)]
    for moved in (False, True):
        frames = {}
        for spec in config.tables:
            if (spec.interpolate_from is not None) != moved or not any(
                d.table == spec.id for d in used
            ):
                continue
            frame = read_table(spec.path, spec.key, spec.layer)
            if moved:
                frame, how = interpolated_table(
                    config, spec, frame, boundaries, _density(spec, done)
                )
                result.interpolations.append(how)
            report = join_report(spec.id, spec.path, frame, areas.index, finest)
            result.joins.append(report)
            log.info("%s", report.describe())
            if not moved:
                check_vintage(config, spec, frame, boundaries)
            if report.match_rate < spec.min_match:
                raise TableError(
                    f"{report.describe()}; below min_match {spec.min_match:.0%}"
                    + level_hint(frame.index, finest)
                )
            frames[spec.id] = frame
        _table_columns(config, [d for d in used if d.table in frames], frames, areas, done)


def _density(spec: TableSpec, done: _Computed) -> pd.Series | None:
    """A moved table's target density weight on the run's areas (None: by area)."""
    weight = spec.interpolate_from.weight if spec.interpolate_from else "area"
    return None if weight == "area" else done.finest[weight]["value"]


def _table_columns(
    config: Config,
    used: list[TableIndicator],
    frames: dict[str, pd.DataFrame],
    areas: pd.DataFrame,
    done: _Computed,
) -> None:
    """The cells of table indicators, weights (counts and sums) first."""
    tables = {t.id: t for t in config.tables}
    for d in sorted(used, key=lambda d: d.kind not in ADDITIVE):
        table = tables[d.table]
        if d.column not in frames[d.table].columns:
            columns = [str(c) for c in frames[d.table].columns]
            same = [c for c in columns if c.lower() == d.column.lower()]
            hint = same or difflib.get_close_matches(d.column, columns, n=1)
            raise TableError(
                f"{table.path}: no column {d.column!r} (indicator {d.id!r})"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + f" Columns are {columns}"
            )
        where = f"{table.path}, column {d.column!r} (indicator {d.id!r})"
        raw = to_number(
            frames[d.table][d.column],
            where,
            non_negative=d.kind in ADDITIVE,
            na_values=table.na_values,
        ).reindex(areas.index)
        done.finest[d.id] = (
            weighted_cells(raw, done.finest[d.weight]["value"])
            if d.weight is not None
            else additive_cells(raw)
        )
        done.source[d.id] = (table.source or table.path.name, table.synthetic)
        done.sensitivity[d.id] = (not table.public, table.unit_type)


def _microdata_indicators(
    config: Config, boundaries: Boundaries, result: IndicatorResult, done: _Computed
) -> None:
    """Unit-level records, generated where the source is synthetic, counted per level
    (:mod:`engine.sources.record_cells`)."""
    generated = any(s.generator is not None and used_by(config, s) for s in config.microdata)
    context = _synthetic_context(config, boundaries, done.finest) if generated else None
    with streaming.aggregator(config.run) as aggregate:
        found = every_source(config, boundaries, context, aggregate)
    frames = []
    for cells in found:
        spec = cells.spec
        result.placements[spec.id] = cells.placement
        if cells.synthetic is not None:
            result.synthetic[spec.id] = cells.synthetic
        frames += cells.branches
        for d in used_by(config, spec):
            done.levels[d.id] = cells.levels[d.id]
            done.finest[d.id] = cells.levels[d.id][boundaries.finest]
            done.own[d.id] = cells.own[d.id]
            done.source[d.id] = (cells.source, spec.synthetic)
            done.sensitivity[d.id] = (True, cells.unit_type)
    if frames:
        result.branches = pd.concat(frames, ignore_index=True)


def _raster_indicators(config: Config, boundaries: Boundaries, done: _Computed) -> None:
    rasters = {r.id: r for r in config.rasters}
    for d in config.indicators:
        if isinstance(d, RasterIndicator):
            r = rasters[d.raster]
            done.finest[d.id] = zonal_cells(
                r.path, boundaries.areas, d.statistic, r.band, d.threshold
            )
            done.source[d.id] = (r.source or r.path.name, r.synthetic)
            done.sensitivity[d.id] = (not r.public, None)


def _ratio_indicators(config: Config, done: _Computed) -> None:
    """Rates, shares and means from a numerator and a denominator indicator."""
    for d in config.indicators:
        if isinstance(d, RatioIndicator):
            done.finest[d.id] = ratio_cells(
                done.finest[d.numerator]["value"], done.finest[d.denominator]["value"], d.per
            )
            parts = [done.source[d.numerator], done.source[d.denominator]]
            done.source[d.id] = (
                "; ".join(dict.fromkeys(p[0] for p in parts)),
                any(p[1] for p in parts),
            )
            done.sensitivity[d.id] = (
                done.sensitivity[d.numerator][0] or done.sensitivity[d.denominator][0],
                done.sensitivity[d.numerator][1],
            )


def _rolled_up(
    cells: pd.DataFrame, spec: IndicatorSpec, boundaries: Boundaries
) -> dict[str, pd.DataFrame]:
    finest = boundaries.finest
    levels = {finest: cells}
    for level in LEVELS[LEVELS.index(finest) + 1 :]:
        parent = boundaries.areas[f"{level}code"]
        levels[level] = roll_up(cells, parent, spec).reindex(boundaries.levels[level].index)
    return levels


def synthetic_context(config: Config, boundaries: Boundaries) -> Context:
    """What the config's generators draw from: the areas and the figures of the
    indicators that drive them (``[synthetic]``), with the run's seed and scale."""
    done = _Computed()
    _table_indicators(config, boundaries, IndicatorResult(cells={}), done)
    return _synthetic_context(config, boundaries, done.finest)


def write_synthetic_sources(
    config: Config, out: Path, records: int | None = None, partition_rows: int = 1_000_000
) -> list[WrittenSource]:
    """The config's synthetic sources written under ``out`` as partitioned Parquet
    (``zicht synthetic``, :func:`engine.sources.synthetic_files.write_synthetic`), on
    the areas of its boundary file (``[boundaries] select`` where it has one)."""
    b = config.boundaries
    boundaries = read_boundaries(b.path, b.layer, b.columns, b.drop_water, b.select or None)
    sources = {m.id: m.generator for m in config.microdata if m.generator is not None}
    if not sources:
        raise MicrodataError(f"{config.name}: no [[microdata]] source has a generator")
    context = synthetic_context(config, boundaries)
    return write_synthetic(context, sources, out, partition_rows, records)


def _synthetic_context(
    config: Config, boundaries: Boundaries, finest_cells: dict[str, pd.DataFrame]
) -> Context:
    s = config.synthetic
    assert s is not None  # parse_config adds the default section when a generator is used

    def driver(indicator_id: str | None) -> np.ndarray | None:
        return None if indicator_id is None else finest_cells[indicator_id]["value"].to_numpy()

    drivers = Drivers.from_columns(
        boundaries.areas,
        inhabitants=driver(s.inhabitants),
        households=driver(s.households),
        woz=driver(s.woz),
        address_density=driver(s.address_density),
        land_area_ha=driver(s.land_area),
    )
    return Context(boundaries.areas, drivers, config.seed, s.scale, s.years)
