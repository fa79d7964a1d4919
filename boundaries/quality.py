"""Geometry quality: areas whose polygon cannot be what it claims to be.

A boundary file clipped to a region (a veiligheidsregio extract, say) keeps every
buurt that touches the region, and the buurten on its edge keep their whole figures
on a sliver of their polygon: Hogewey (BU04570003) has 4,535 inhabitants on 0.0 ha.
Such an area gets ranks, hotspot classes and neighbours it does not have. Polygons
that overlap their neighbours double-count the ground they share: reading a file gives
the shared ground to the larger (:func:`resolve_overlaps`), and keeps both. Slivers,
and overlaps :func:`suspect_areas` is shown as they are, are *suspect*: it names them,
``zicht boundaries check`` exits 1 on them and a run leaves them out of its statistics.

Dissolving buurten into wijken and gemeenten leaves gaps where neighbours' edges do
not meet exactly, as thin interior rings; :func:`~zicht.boundaries.hierarchy.dissolve`
closes them, and :func:`without_sliver_rings` drops what stays thinner than the gap
width. Wider holes (a lake, an enclave such as Baarle-Nassau's) stay.

>>> import geopandas as gpd, shapely
>>> areas = gpd.GeoDataFrame(
...     {"niveau": "buurt"},
...     index=pd.Index(["BU1", "BU2", "BU3"], name="code"),
...     geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000),
...               shapely.box(2000, 0, 2000.5, 10)],
...     crs="EPSG:28992",
... )
>>> suspect_areas(areas, pd.Series([5000, 4000, 4535], index=areas.index))["code"].tolist()
['BU3']
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

SLIVER, OVERLAP = "sliver", "overlap"
SUSPECT_COLUMNS = ["code", "level", "problem", "detail"]


@dataclass(frozen=True)
class QualityRules:
    """When an area is suspect.

    ``max_density``: inhabitants per hectare above which an area is too small for its
    inhabitants (the densest Dutch buurten have a few hundred). ``min_area_share``: an
    area below this share of its level's median area is a sliver whatever lives there.
    ``min_stated_share``: a polygon below this share of the area the file itself
    states for it (``OPP_TOT``) was clipped.
    ``max_overlap_share``: the share of the smaller of two neighbours they may share
    (digitising noise) before both are suspect. ``gap_width``: gaps between
    neighbours narrower than this (metres) are closed when dissolving
    (:func:`~zicht.boundaries.hierarchy.dissolve`).
    """

    max_density: float = 1000.0
    min_area_share: float = 0.001
    min_stated_share: float = 0.1
    max_overlap_share: float = 0.1
    gap_width: float = 40.0


def suspect_areas(
    areas: gpd.GeoDataFrame,
    inhabitants: pd.Series | None = None,
    rules: QualityRules | None = None,
    stated: pd.Series | None = None,
) -> pd.DataFrame:
    """The suspect areas of one level (indexed by code, in RD New metres), one row per
    area and problem: ``code``, ``level``, ``problem`` (``sliver`` or ``overlap``)
    and ``detail`` (what was measured). ``inhabitants`` and ``stated`` (the area the
    file gives, ha) per code, where known (negative or missing: unknown)."""
    rules = rules or QualityRules()
    rows = _slivers(areas, inhabitants, stated, rules) + _overlaps(areas, rules)
    out = pd.DataFrame(rows, columns=SUSPECT_COLUMNS)
    return out.sort_values(["code", "problem"], ignore_index=True)


def _slivers(
    areas: gpd.GeoDataFrame,
    inhabitants: pd.Series | None,
    stated: pd.Series | None,
    rules: QualityRules,
) -> list[tuple[str, str, str, str]]:
    hectares = pd.Series(shapely.area(areas.geometry.values) / 10_000, index=areas.index)
    median = float(hectares[hectares > 0].median()) if (hectares > 0).any() else 0.0
    people, said = known_numbers(inhabitants, areas.index), known_numbers(stated, areas.index)
    crowded = people > rules.max_density * hectares
    clipped = hectares < rules.min_stated_share * said
    tiny = hectares < rules.min_area_share * median
    rows = []
    for code in hectares.index[(crowded | clipped | tiny).to_numpy()]:
        ha = _hectares(float(hectares[code]))
        if crowded[code]:
            why = f"{ha} for {people[code]:,.0f} inhabitants"
        elif clipped[code]:
            why = f"{ha} where the file states {_hectares(said[code])}"
        else:
            why = f"{ha} where the median {areas.at[code, 'niveau']} has {_hectares(median)}"
        rows.append((str(code), str(areas.at[code, "niveau"]), SLIVER, why))
    return rows


def known_numbers(values: pd.Series | None, index: pd.Index) -> pd.Series:
    """Numbers per code; NaN where unknown (absent, or negative: CBS's secret)."""
    if values is None:
        return pd.Series(np.nan, index=index)
    numbers = pd.to_numeric(values, errors="coerce").reindex(index)
    return numbers.where(numbers >= 0)


def _overlaps(areas: gpd.GeoDataFrame, rules: QualityRules) -> list[tuple[str, str, str, str]]:
    geoms = areas.geometry.values
    left, right = areas.sindex.query(geoms, predicate="overlaps")
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return []
    shared = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    much = shared > rules.max_overlap_share * smaller
    rows = []
    codes = areas.index.to_numpy()
    for a, b, m2 in zip(left[much], right[much], shared[much]):
        for me, other in ((a, b), (b, a)):
            why = f"shares {_hectares(m2 / 10_000)} with {codes[other]}"
            rows.append((str(codes[me]), str(areas["niveau"].iloc[me]), OVERLAP, why))
    return rows


def resolve_overlaps(
    areas: gpd.GeoDataFrame, rules: QualityRules
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """``areas`` with every overlap beyond digitising noise (``max_overlap_share`` of
    the smaller neighbour) given to the larger of the two: both areas are kept, the
    smaller without the shared ground, so that none is counted twice and neither is
    left out. Also what was done, one line per pair. Vollenhove (WK170807, 932 ha)
    keeps the 0.43 ha it shares with a 0.9 ha water wijk."""
    geoms = areas.geometry.values.copy()
    left, right = areas.sindex.query(geoms, predicate="overlaps")
    keep = left < right
    codes = areas.index.to_numpy()
    notes = []
    for a, b in zip(left[keep], right[keep]):
        shared = shapely.area(shapely.intersection(geoms[a], geoms[b]))
        small, large = (a, b) if shapely.area(geoms[a]) <= shapely.area(geoms[b]) else (b, a)
        if shared <= rules.max_overlap_share * shapely.area(geoms[small]):
            continue
        geoms[small] = _polygons(shapely.difference(geoms[small], geoms[large]))
        notes.append(
            f"{codes[large]} keeps the {_hectares(shared / 10_000)} it shared with {codes[small]}"
        )
    if not notes:
        return areas, []
    return areas.set_geometry(gpd.GeoSeries(geoms, index=areas.index, crs=areas.crs)), notes


def _polygons(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of ``geom`` (made valid) as one MultiPolygon: a difference may leave
    lines and points along a shared edge."""
    parts = shapely.get_parts(shapely.make_valid(geom))
    return shapely.MultiPolygon([p for p in parts if isinstance(p, shapely.Polygon)])


def without_sliver_rings(geom: shapely.Geometry, width: float) -> shapely.Geometry:
    """``geom`` without interior rings whose mean width (area / half the perimeter,
    metres) is below ``width``: the gaps dissolving leaves between neighbours."""
    if geom is None or geom.is_empty:
        return geom
    polygons = []
    for polygon in shapely.get_parts(geom):
        holes = [
            ring
            for ring in polygon.interiors
            if shapely.Polygon(ring).area >= width * ring.length / 2
        ]
        polygons.append(shapely.Polygon(polygon.exterior, holes))
    return shapely.MultiPolygon(polygons)


def _hectares(ha: float) -> str:
    return f"{ha:,.2f} ha"
