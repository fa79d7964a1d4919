"""Unit-level records (reports, sales, registrations) aggregated to indicator cells.

Records are placed in areas by point-in-polygon (a spatial index over the areas) or
by a buurt code column. A cell keeps what disclosure control needs: the number of
records, the number of distinct units (persons, addresses, companies: ten reports
about one company are one contributor), the value, and the three largest
contributions by a single unit. Cells are computed on every level directly from the
records, because distinct units do not add up from buurt to wijk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from zicht.boundaries import Boundaries
from zicht.boundaries.codes import LEVELS, normalise_codes
from zicht.boundaries.read import READ_ERRORS
from zicht.engine.cells import CELL_COLUMNS
from zicht.engine.config import MicrodataIndicator, MicrodataSpec
from zicht.engine.sources.partitions import check_columns, hive_columns, partition_files
from zicht.engine.sources.tables import csv_separator
from zicht.errors import MicrodataError, TableError

TOP_K = 3


@dataclass
class Placement:
    """Where each record lies: the integer position of its area on every level (-1: none)."""

    position: dict[str, np.ndarray]
    unit: np.ndarray  # integer id of each record's unit
    outside: int
    no_location: int
    records: int
    # integer id of each record's holder: its enterprise group where the source has
    # one (the rules count groups and add up a group's contributions), else its unit
    holder: np.ndarray | None = None

    @property
    def holders(self) -> np.ndarray:
        return self.unit if self.holder is None else self.holder

    def describe(self, name: str) -> str:
        """One log line. Shares, never counts: the total of a confidential source is
        the sum of every withheld cell of its top level."""
        text = f"microdata {name!r}: records placed in the areas"
        lost = self.outside + self.no_location
        if lost:
            share = 100 / max(self.records, 1)
            text += (
                f"; {lost * share:.1f}% not in any area ({self.no_location * share:.1f}% "
                f"without a location, {self.outside * share:.1f}% outside every area)"
            )
        return text


def read_records(spec: MicrodataSpec) -> pd.DataFrame:
    """Read a file of records (CSV, Parquet or a GeoPackage/GeoJSON point layer)."""
    path = spec.path
    assert path is not None, "a generated source has no file"
    suffix = path.suffix.lower()
    try:
        if path.is_dir():
            frame = _read_folder(spec, path)
        elif suffix in (".csv", ".txt"):
            frame = pd.read_csv(path, sep=csv_separator(path), encoding="utf-8-sig")
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pyogrio.read_dataframe(path, layer=spec.layer)
            if "geometry" in frame and (spec.x is None or spec.x not in frame):
                geoms = frame.geometry.values
                frame = pd.DataFrame(frame.drop(columns="geometry"))
                frame[spec.x or "x"] = shapely.get_x(geoms)
                frame[spec.y or "y"] = shapely.get_y(geoms)
    except ImportError as exc:
        raise MicrodataError(f"{path}: cannot read {suffix} files here ({exc})") from None
    except READ_ERRORS as exc:
        raise MicrodataError(f"{path}: cannot be read ({exc})") from None
    needed = [c for c in (spec.unit, spec.x, spec.y, spec.code, spec.amount, spec.sbi) if c]
    needed += [spec.group] if spec.group else []
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise MicrodataError(
            f"{path}: no column {missing[0]!r} (microdata {spec.id!r}); "
            f"columns are {list(frame.columns)}"
        )
    return frame


def _read_folder(spec: MicrodataSpec, path: Path) -> pd.DataFrame:
    """Every Parquet file under a folder (:mod:`engine.sources.partitions`), whole."""
    frames = []
    for file in partition_files(path):
        frame = pd.read_parquet(file).assign(**hive_columns(file, path))
        check_columns(file, spec, [str(c) for c in frame.columns])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def place_records(
    records: pd.DataFrame,
    boundaries: Boundaries,
    unit: str,
    x: str | None = None,
    y: str | None = None,
    crs: str = "EPSG:28992",
    code: str | None = None,
    where: str = "records",
    group: str | None = None,
) -> Placement:
    """Assign every record to an area on every level, by code or by point-in-polygon.

    Points are transformed from ``crs`` to RD New. A point on the shared edge of two
    areas goes to the first in code order, so each record counts exactly once.
    """
    check_units(records, unit, where)
    unit_ids = pd.factorize(records[unit], sort=False)[0]
    holder = None
    if group is not None:
        if group not in records.columns:
            raise MicrodataError(
                f"{where}: no group column {group!r}; columns are {list(records.columns)}"
            )
        # a unit without a group is a group of its own
        groups = records[group].astype(object).where(records[group].notna(), records[unit])
        holder = pd.factorize(groups.astype(str), sort=False)[0]
    position, no_location = area_positions(records, boundaries.areas, x, y, crs, code, where)
    outside = int((position < 0).sum()) - no_location
    positions = level_positions(boundaries, position)
    return Placement(positions, unit_ids, outside, no_location, len(records), holder)


def check_units(records: pd.DataFrame, unit: str, where: str) -> None:
    """Refuse records without a unit (column ``unit``)."""
    if records[unit].isna().any():
        raise MicrodataError(
            f"{where}: {int(records[unit].isna().sum())} record(s) have no unit in column {unit!r}"
        )


def area_positions(
    records: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    x: str | None,
    y: str | None,
    crs: str,
    code: str | None,
    where: str,
) -> tuple[np.ndarray, int]:
    """Each record's position among ``areas`` (-1: none), by code or point in polygon
    (as :func:`place_records`), and how many records had no location."""
    if code is not None:
        return _by_code(records[code], areas.index)
    if x is not None and y is not None:
        return _by_point(records, x, y, crs, areas, where)
    raise MicrodataError(f"{where}: records need x/y columns or a code column")


def level_positions(boundaries: Boundaries, position: np.ndarray) -> dict[str, np.ndarray]:
    """Each record's area position on every level (-1: none), from its position among
    the finest areas."""
    finest = boundaries.finest
    positions = {finest: position}
    for level in LEVELS[LEVELS.index(finest) + 1 :]:
        parent_index = boundaries.levels[level].index
        parent_of_area = parent_index.get_indexer(boundaries.areas[f"{level}code"])
        positions[level] = np.where(position >= 0, parent_of_area[np.maximum(position, 0)], -1)
    return positions


def _by_code(codes: pd.Series, areas: pd.Index) -> tuple[np.ndarray, int]:
    """Area positions (-1: none) of records given a buurt code, and how many had none."""
    normalised = normalise_codes(codes)
    found = normalised.map(pd.Series(np.arange(len(areas)), index=areas))
    return found.fillna(-1).to_numpy(dtype=np.int64), int(normalised.isna().sum())


def _by_point(
    records: pd.DataFrame, x: str, y: str, crs: str, areas: gpd.GeoDataFrame, where: str
) -> tuple[np.ndarray, int]:
    """Area positions (-1: none) of records by point in polygon, and how many had no
    coordinates. A point on a shared edge goes to the first area in code order."""
    xs = pd.to_numeric(records[x], errors="coerce").to_numpy(dtype=float, copy=True)
    ys = pd.to_numeric(records[y], errors="coerce").to_numpy(dtype=float, copy=True)
    bad_text = (records[x].notna() & np.isnan(xs)) | (records[y].notna() & np.isnan(ys))
    if bad_text.any():
        i = int(np.flatnonzero(bad_text.to_numpy())[0])
        raise MicrodataError(
            f"{where}: coordinates in columns {x!r}/{y!r} are not numbers (row {i + 1})"
        )
    located = np.isfinite(xs) & np.isfinite(ys)
    try:
        source_crs = CRS.from_user_input(crs)
    except CRSError:
        raise MicrodataError(f"{where}: unknown CRS {crs!r}") from None
    if not source_crs.equals(CRS.from_epsg(28992)):
        transformer = Transformer.from_crs(source_crs, 28992, always_xy=True)
        xs[located], ys[located] = transformer.transform(xs[located], ys[located])
    xs, ys = xs[located], ys[located]
    polygons = np.asarray(areas.geometry.values)
    point_idx, area_idx = _in_boxes(polygons, xs, ys)
    # the exact test against prepared polygons on the candidates, without making a
    # Point of each record (a million Points took longer than the whole test)
    shapely.prepare(polygons)
    inside = shapely.intersects_xy(polygons[area_idx], xs[point_idx], ys[point_idx])
    point_idx, area_idx = point_idx[inside], area_idx[inside]
    # Several hits (a shared edge, or overlapping simplified polygons): keep the first.
    order = np.lexsort((area_idx, point_idx))
    point_idx, area_idx = point_idx[order], area_idx[order]
    first = np.r_[True, point_idx[1:] != point_idx[:-1]] if len(point_idx) else point_idx
    hit = np.full(int(located.sum()), -1, dtype=np.int64)
    hit[point_idx[first]] = area_idx[first]
    position = np.full(len(records), -1, dtype=np.int64)
    position[located] = hit
    return position, int((~located).sum())


def _in_boxes(
    polygons: np.ndarray, xs: np.ndarray, ys: np.ndarray, cell: float = 1000.0
) -> tuple[np.ndarray, np.ndarray]:
    """Every (point, polygon) pair whose point lies in the polygon's bounding box
    (edges included), as positions: the candidates of the exact test, found on a grid
    of ``cell`` metres where each box is listed on every grid cell it covers (what
    an R-tree query gives, without making a Point of each record)."""
    bounds = shapely.bounds(polygons)
    boxes = np.flatnonzero(np.isfinite(bounds).all(axis=1))
    if not len(boxes) or not len(xs):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    low = np.floor(bounds[boxes, :2] / cell).astype(np.int64)  # grid column, row
    high = np.floor(bounds[boxes, 2:] / cell).astype(np.int64)
    x0, y0 = low.min(axis=0)
    x1, y1 = high.max(axis=0)
    near = np.flatnonzero((xs >= x0 * cell) & (xs < (x1 + 1) * cell))
    near = near[(ys[near] >= y0 * cell) & (ys[near] < (y1 + 1) * cell)]
    rows = y1 - y0 + 1
    point_cell = (np.floor(xs[near] / cell).astype(np.int64) - x0) * rows + (
        np.floor(ys[near] / cell).astype(np.int64) - y0
    )
    # every grid cell of every box: a box of w x h cells gives w * h rows
    width, height = high[:, 0] - low[:, 0] + 1, high[:, 1] - low[:, 1] + 1
    size = width * height
    which = np.repeat(np.arange(len(boxes)), size)
    step = np.arange(len(which)) - np.repeat(np.cumsum(size) - size, size)
    box_cell = (low[which, 0] + step // height[which] - x0) * rows + (
        low[which, 1] + step % height[which] - y0
    )
    # the points of each of those grid cells
    order = np.argsort(point_cell, kind="stable")
    sorted_cells = point_cell[order]
    first = np.searchsorted(sorted_cells, box_cell, side="left")
    count = np.searchsorted(sorted_cells, box_cell, side="right") - first
    area_idx = boxes[np.repeat(which, count)]
    within = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    point_idx = near[order[np.repeat(first, count) + within]]
    b, x, y = bounds[area_idx], xs[point_idx], ys[point_idx]
    keep = (x >= b[:, 0]) & (x <= b[:, 2]) & (y >= b[:, 1]) & (y <= b[:, 3])
    return point_idx[keep], area_idx[keep]


def record_mask(records: pd.DataFrame, spec: MicrodataIndicator, where: str) -> np.ndarray:
    """Which records an indicator counts: every ``where`` column must hold an allowed value."""
    mask = np.ones(len(records), dtype=bool)
    for column, allowed in spec.where.items():
        if column not in records.columns:
            raise MicrodataError(
                f"{where}: indicator {spec.id!r} filters on column {column!r}, "
                f"which the records do not have; columns are "
                f"{list(records.columns)}"
            )
        mask &= records[column].isin(allowed).to_numpy()
    return mask


def microdata_cells(
    placement: Placement,
    boundaries: Boundaries,
    mask: np.ndarray,
    measure: str,
    amount: np.ndarray | None = None,
) -> dict[str, pd.DataFrame]:
    """Cells on every level for the records in ``mask``.

    ``measure`` is ``records`` (value: the number of records; top contributions: the
    most records of one holder), ``units`` (value: the number of distinct units) or
    ``amount`` (value: the sum of ``amount``; top contributions: the largest sums of
    one holder). ``units`` always holds the number of distinct holders: units, or
    their enterprise groups where the source has them (the group rule).
    """
    if measure == "amount" and amount is None:
        raise ValueError("measure 'amount' needs the amounts")
    return {
        level: _cells(placement, position, boundaries.levels[level].index, mask, measure, amount)
        for level, position in placement.position.items()
    }


def own_area_cells(
    placement: Placement,
    boundaries: Boundaries,
    buurt_of: pd.Series,
    codes: pd.Index,
    mask: np.ndarray,
    measure: str,
    amount: np.ndarray | None = None,
) -> pd.DataFrame:
    """Cells of own areas (unions of buurten: ``buurt_of`` maps a buurt code to its
    own area's code, one of ``codes``) for the records in ``mask``, as
    :func:`microdata_cells`. From the records themselves: the units and largest
    contributions of a union are not those of its buurten added up (one holder can
    have records in several)."""
    if measure == "amount" and amount is None:
        raise ValueError("measure 'amount' needs the amounts")
    finest = placement.position[boundaries.finest]
    own_of_area = codes.get_indexer(buurt_of.reindex(boundaries.areas.index).to_numpy())
    position = np.where(finest >= 0, own_of_area[np.maximum(finest, 0)], -1)
    return _cells(placement, position, codes, mask, measure, amount)


def _cells(
    placement: Placement,
    position: np.ndarray,
    index: pd.Index,
    mask: np.ndarray,
    measure: str,
    amount: np.ndarray | None,
) -> pd.DataFrame:
    """The cells of the areas ``index`` for the records in ``mask`` (``position``:
    each record's area, -1: none)."""
    keep = mask & (position >= 0)
    weight = amount[keep] if amount is not None else None
    value, units, top = contributions(position[keep], placement.holders[keep], weight, len(index))
    if measure == "units":
        value = contributions(position[keep], placement.unit[keep], None, len(index))[1]
        top = np.where(np.isnan(top), np.nan, 1.0)
    cells = pd.DataFrame(np.nan, index=index, columns=CELL_COLUMNS)
    cells["value"] = value
    cells["numerator"] = value
    cells["units"] = units
    cells[["top1", "top2", "top3"]] = top
    return cells


def contributions(
    cell: np.ndarray, holder: np.ndarray, weight: np.ndarray | None, n_cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell (records with cell index ``cell``): the total, the number of distinct
    holders and the :data:`TOP_K` largest contributions of one holder (NaN where fewer)."""
    weight = np.ones(len(cell)) if weight is None else weight
    value = np.bincount(cell, weights=weight, minlength=n_cells)
    width = int(holder.max(initial=0)) + 1
    pairs, inverse = np.unique(cell.astype(np.int64) * width + holder, return_inverse=True)
    contribution = np.bincount(inverse, weights=weight, minlength=len(pairs))
    pair_cell = pairs // width
    units = np.bincount(pair_cell, minlength=n_cells).astype(float)
    top = np.full((n_cells, TOP_K), np.nan)
    order = np.lexsort((-contribution, pair_cell))
    sorted_cell = pair_cell[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_cell, sorted_cell)
    first_k = rank < TOP_K
    top[sorted_cell[first_k], rank[first_k]] = contribution[order][first_k]
    return value, units, top


def amounts(records: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """The amount column as floats; a missing, negative or non-numeric amount is an error."""
    values = pd.to_numeric(records[column], errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        raise TableError(
            f"{where}: {int(bad.sum())} record(s) have a missing, negative or "
            f"non-numeric amount in column {column!r}"
        )
    return values.to_numpy(dtype=float)
