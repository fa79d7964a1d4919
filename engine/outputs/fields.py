"""The fields of the published layers: the analysis' columns joined before the
geometry, and each field typed as a GIS user reads it in the attribute table."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd


def with_columns(layer: gpd.GeoDataFrame, extra: pd.DataFrame) -> gpd.GeoDataFrame:
    """The layer with ``extra`` columns inserted before the geometry."""
    front = layer.drop(columns="geometry")
    merged = pd.concat(
        [front, extra.drop(columns=[c for c in extra.columns if c in front.columns])], axis=1
    )
    return gpd.GeoDataFrame(merged, geometry=layer.geometry.values, crs=layer.crs)


def typed_fields(layer: gpd.GeoDataFrame, kinds: dict[str, str]) -> gpd.GeoDataFrame:
    """Ranks, flags and whole counts and sums as integer fields (nullable), other
    figures rounded to 4 decimals: what a GIS user sees in the attribute table.
    ``kinds``: indicator id -> kind (count, sum, rate, share, mean)."""
    layer = layer.copy()
    for column in layer.columns:
        flag = column.startswith(("rank_", "estimated_")) or column == "suppressed"
        kind = kinds.get(column)
        values = pd.to_numeric(layer[column], errors="coerce") if flag or kind else None
        if values is None:
            continue
        whole = bool(((values.dropna() % 1) == 0).all())
        if flag or (kind in ("count", "sum") and whole):
            layer[column] = values.astype("Int64")
        elif kind is not None:
            layer[column] = values.round(4)
    return layer
