"""Geometry checks and repair: CRS, plausibility for the Netherlands, valid polygons."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from zicht.errors import BoundaryError

RD_NEW = "EPSG:28992"

# The Netherlands, including the Wadden islands and the territorial sea, in RD New
# metres, with a margin. Anything outside cannot be a Dutch area.
NL_BOUNDS_RD = (-25_000.0, 280_000.0, 310_000.0, 660_000.0)

POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


@dataclass
class RepairStats:
    """What :func:`polygons_only` changed."""

    repaired: list[str]
    dropped_non_polygon: dict[str, int]
    dropped_empty: list[str]
    dropped_codes: dict[str, str]  # code -> geometry type of each non-polygon dropped


def to_rd_new(gdf: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to RD New (EPSG:28992) and check it lies in the Netherlands.

    ``where`` names the file and layer for error messages. A frame without a CRS is
    refused: guessing a CRS puts areas in the wrong place without anyone noticing.
    """
    if gdf.crs is None:
        raise BoundaryError(
            f"{where}: the file has no coordinate reference system; "
            "set one (e.g. EPSG:28992 for RD New) before using it"
        )
    out = gdf if gdf.crs.equals(RD_NEW) else gdf.to_crs(RD_NEW)
    geoms = out.geometry.values
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(present) == 0:
        return out
    xmin, ymin, xmax, ymax = shapely.total_bounds(present)
    bx0, by0, bx1, by1 = NL_BOUNDS_RD
    if not (xmin >= bx0 and xmax <= bx1 and ymin >= by0 and ymax <= by1):
        src_bounds = shapely.total_bounds(
            gdf.geometry.values[~shapely.is_empty(gdf.geometry.values)]
        )
        looks_like_degrees = bool(np.all(np.abs(src_bounds) <= 180))
        hint = (
            " (they look like longitude/latitude degrees; the CRS is probably EPSG:4326)"
            if looks_like_degrees and not gdf.crs.is_geographic
            else ""
        )
        raise BoundaryError(
            f"{where}: coordinates cannot lie in the Netherlands for CRS {gdf.crs.to_string()}: "
            f"extent {src_bounds.round(3).tolist()}{hint}"
        )
    return out


def polygons_only(gdf: gpd.GeoDataFrame, codes: np.ndarray) -> tuple[gpd.GeoDataFrame, RepairStats]:
    """Repair invalid polygons and keep only polygonal features, as MultiPolygons.

    ``make_valid`` may return a GeometryCollection with stray lines and points; only
    its polygon parts are kept. Point and line features, and features that are empty
    after repair, are dropped and counted. ``codes`` labels the rows for the report.
    """
    geoms = gdf.geometry.values
    types = shapely.get_type_id(geoms)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    polygonal = np.isin(types, POLYGONAL) & ~missing

    dropped_non_polygon: dict[str, int] = {}
    dropped_codes: dict[str, str] = {}
    for type_id in np.unique(types[~polygonal & ~missing]):
        name = shapely.GeometryType(type_id).name.title().replace("string", "String")
        these = (types == type_id) & ~polygonal & ~missing
        dropped_non_polygon[name] = int(these.sum())
        dropped_codes.update({str(c): name for c in codes[these]})

    kept = gdf[polygonal].copy()
    kept_codes = codes[polygonal]
    geoms = kept.geometry.values
    invalid = ~shapely.is_valid(geoms)
    fixed = geoms.copy()
    if invalid.any():
        fixed[invalid] = shapely.make_valid(
            geoms[invalid], method="structure", keep_collapsed=False
        )
    fixed = np.array([_as_multipolygon(g) for g in fixed], dtype=object)
    empty = shapely.is_empty(fixed)
    kept = kept.set_geometry(gpd.GeoSeries(fixed, index=kept.index, crs=gdf.crs))
    stats = RepairStats(
        repaired=[str(c) for c in kept_codes[invalid & ~empty]],
        dropped_non_polygon=dropped_non_polygon,
        dropped_empty=[str(c) for c in codes[missing]] + [str(c) for c in kept_codes[empty]],
        dropped_codes=dropped_codes,
    )
    return kept[~empty], stats


def _as_multipolygon(geom: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if shapely.get_type_id(p) in POLYGONAL and not p.is_empty]
    flat: list[shapely.Geometry] = []
    for p in polys:
        flat.extend(shapely.get_parts(p) if p.geom_type == "MultiPolygon" else [p])
    return shapely.MultiPolygon(flat) if flat else shapely.MultiPolygon()
