"""Build coarser levels (wijk, gemeente) from finer ones by dissolving polygons."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from boundaries.geometry import _as_multipolygon

AREA_COLUMNS = ["naam", "niveau", "wijkcode", "gemeentecode", "water", "geometry"]


def dissolve(areas: gpd.GeoDataFrame, level: str, names: pd.Series | None) -> gpd.GeoDataFrame:
    """Dissolve ``areas`` (indexed by code) into their parents at ``level``.

    ``level`` is ``"wijk"`` or ``"gemeente"``; the parent code comes from the column of
    that name (``wijkcode``/``gemeentecode``). ``names`` maps parent codes to names;
    parents without a name get their code as name. The result has the standard area
    columns, MultiPolygon geometry in the input CRS, and is indexed by parent code.
    """
    key = f"{level}code"
    groups = areas.groupby(key, sort=True)
    geoms = [
        _as_multipolygon(shapely.make_valid(shapely.union_all(g.geometry.values)))
        for _, g in groups
    ]
    codes = list(groups.groups.keys())
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
    return out[AREA_COLUMNS]
