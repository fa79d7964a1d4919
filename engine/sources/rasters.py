"""Zonal statistics of a raster per area (rasterio), as indicator cells.

The areas are transformed to the raster's CRS and burnt into a label grid over the
window of the raster they cover (a pixel belongs to the area that contains its
centre), so only that window is read. Per area the cell keeps the sum of valid pixel
values, the number of valid pixels, and the number above a threshold; means and
shares are then recomputed from those when aggregating to wijk and gemeente.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from affine import Affine
from rasterio.errors import RasterioError
from rasterio.features import rasterize
from rasterio.windows import Window, from_bounds

from zicht.engine.cells import CELL_COLUMNS
from zicht.errors import RasterError


def zonal_cells(
    path: Path,
    areas: gpd.GeoDataFrame,
    statistic: str,
    band: int = 1,
    threshold: float | None = None,
) -> pd.DataFrame:
    """Cells per area (indexed like ``areas``) for ``statistic`` ``mean``, ``sum`` or
    ``share_above`` (percentage of valid pixels above ``threshold``).

    Pixels equal to the raster's nodata value, or masked, are not counted. An area that
    covers no pixel centre gets no value (NaN), never zero.
    """
    data, transform, local = _read_window(path, areas, band)
    n = len(areas)
    labels = rasterize(
        ((geom, i + 1) for i, geom in enumerate(local.geometry.values)),
        out_shape=data.shape,
        transform=transform,
        fill=0,
        dtype="int32",
        all_touched=False,
    )
    valid = (labels > 0) & ~np.ma.getmaskarray(data)
    values = np.asarray(data.data, dtype=float)[valid]
    owner = labels[valid] - 1
    count = np.bincount(owner, minlength=n).astype(float)
    total = np.bincount(owner, weights=values, minlength=n)
    cells = pd.DataFrame(np.nan, index=areas.index, columns=CELL_COLUMNS)
    covered = count > 0
    if statistic == "sum":
        cells["value"] = np.where(covered, total, np.nan)
        cells["numerator"] = cells["value"]
    elif statistic == "mean":
        cells["numerator"] = np.where(covered, total, np.nan)
        cells["denominator"] = np.where(covered, count, np.nan)
        cells["value"] = cells["numerator"] / cells["denominator"]
    elif statistic == "share_above":
        if threshold is None:
            raise RasterError(f"{path}: share_above needs a threshold")
        above = np.bincount(owner[values > threshold], minlength=n).astype(float)
        cells["numerator"] = np.where(covered, above, np.nan)
        cells["denominator"] = np.where(covered, count, np.nan)
        cells["value"] = cells["numerator"] / cells["denominator"] * 100.0
    else:
        raise RasterError(f"{path}: unknown statistic {statistic!r}")
    return cells


def _read_window(
    path: Path, areas: gpd.GeoDataFrame, band: int
) -> tuple[np.ma.MaskedArray, Affine, gpd.GeoDataFrame]:
    """The band's pixels over the areas' extent (whole pixels, clipped to the raster),
    their transform, and the areas in the raster's CRS."""
    try:
        src = rasterio.open(path)
    except (RasterioError, OSError) as exc:
        raise RasterError(f"{path}: cannot be read as a raster ({exc})") from None
    with src:
        if src.crs is None:
            raise RasterError(f"{path}: the raster has no coordinate reference system")
        if not 1 <= band <= src.count:
            raise RasterError(f"{path}: no band {band} (the raster has {src.count})")
        local = areas.to_crs(src.crs)
        xmin, ymin, xmax, ymax = local.total_bounds
        covering = from_bounds(xmin, ymin, xmax, ymax, transform=src.transform)
        col0, row0 = math.floor(covering.col_off), math.floor(covering.row_off)
        col1 = math.ceil(covering.col_off + covering.width)
        row1 = math.ceil(covering.row_off + covering.height)
        col0, row0 = max(col0, 0), max(row0, 0)
        col1, row1 = min(col1, src.width), min(row1, src.height)
        if col1 <= col0 or row1 <= row0:
            raise RasterError(f"{path}: the raster does not overlap the areas")
        window = Window(col0, row0, col1 - col0, row1 - row0)
        return src.read(band, window=window, masked=True), src.window_transform(window), local
