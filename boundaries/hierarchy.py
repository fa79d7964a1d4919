"""Build coarser levels (wijk, gemeente) from finer ones by dissolving polygons."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zicht.boundaries.geometry import _as_multipolygon
from zicht.boundaries.quality import without_sliver_rings

AREA_COLUMNS = ["naam", "niveau", "wijkcode", "gemeentecode", "water", "geometry"]
# what a file may state per area, summed when dissolving: for the geometry check
NUMBER_COLUMNS = ("inwoners", "oppervlakte")


def dissolve(
    areas: gpd.GeoDataFrame,
    level: str,
    names: pd.Series | None,
    gap_width: float = 40.0,
    workers: int = 1,
) -> tuple[gpd.GeoDataFrame, int]:
    """Dissolve ``areas`` (indexed by code, RD New metres) into their parents at
    ``level``, and how many gaps between neighbours it closed.

    Generalised CBS polygons do not quite meet: their plain union is riddled with
    hairline and thin interior rings. Each part is grown by half ``gap_width``, the
    union shrunk back (mitred, so corners stay), and interior rings still thinner than
    ``gap_width`` on average dropped; wider holes (a lake left out as water, an
    enclave) stay.

    ``level`` is ``"wijk"`` or ``"gemeente"``; the parent code comes from the column of
    that name (``wijkcode``/``gemeentecode``). ``names`` maps parent codes to names;
    parents without a name get their code as name. The result has the standard area
    columns (and :data:`NUMBER_COLUMNS`, summed, where the areas have them), MultiPolygon
    geometry in the input CRS, and is indexed by parent code. ``workers`` threads
    unite the parents.
    """
    key = f"{level}code"
    groups = areas.groupby(key, sort=True)
    codes = list(groups.groups.keys())
    positions = groups.indices  # positions of each parent's areas, in file order
    geoms, closed = _united(areas, [positions[c] for c in codes], gap_width, workers)
    out = gpd.GeoDataFrame(
        {
            "naam": [
                str(names.get(c, c)) if names is not None and pd.notna(names.get(c)) else c
                for c in codes
            ],
            "niveau": level,
            "wijkcode": codes if level == "wijk" else pd.NA,
            "gemeentecode": groups["gemeentecode"].first().reindex(codes).values,
            "water": groups["water"].all().reindex(codes).values,
        },
        index=pd.Index(codes, name="code"),
        geometry=geoms,
        crs=areas.crs,
    )
    if level == "gemeente":
        out["gemeentecode"] = codes
    numbers = [n for n in NUMBER_COLUMNS if n in areas]
    for number in numbers:
        out[number] = groups[number].sum(min_count=1).reindex(codes).to_numpy()
    return out[[*AREA_COLUMNS[:-1], *numbers, "geometry"]], closed


def _united(
    areas: gpd.GeoDataFrame, parents: list[np.ndarray], gap_width: float, workers: int
) -> tuple[list[shapely.Geometry], int]:
    """Per parent (the positions of its areas), the union with its gaps closed; and
    the gaps closed in all."""
    plain = np.asarray(areas.geometry.values, dtype=object)
    # grown once for all areas (elementwise), then united per parent
    grown = shapely.buffer(plain, gap_width / 2, join_style="mitre")

    def parent(positions: np.ndarray) -> tuple[shapely.Geometry, int]:
        union = shapely.buffer(
            shapely.union_all(grown[positions]), -gap_width / 2, join_style="mitre"
        )
        union = without_sliver_rings(_as_multipolygon(shapely.make_valid(union)), gap_width)
        rings = _ring_count(shapely.make_valid(shapely.union_all(plain[positions])))
        return union, max(rings - _ring_count(union), 0)

    # shapely releases the GIL in its operations: parents are united side by side
    with ThreadPoolExecutor(max(workers, 1)) as pool:
        united = list(pool.map(parent, parents))
    return [g for g, _ in united], sum(n for _, n in united)


def _ring_count(geom: shapely.Geometry) -> int:
    return sum(len(polygon.interiors) for polygon in shapely.get_parts(geom))
