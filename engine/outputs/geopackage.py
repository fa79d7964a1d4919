"""The GeoPackage: one feature layer per level and the attribute tables."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

GEOMETRY_COLUMN = "geom"  # GDAL's GeoPackage default, set explicitly: styles refer to it


def write_geopackage(
    path: Path, layers: dict[str, gpd.GeoDataFrame], tables: dict[str, pd.DataFrame]
) -> None:
    """Write feature layers (with a spatial index) and attribute tables to one GeoPackage.

    GeoPackage 1.2 is written, not the newest 1.4, because the GDAL inside older QGIS
    releases (still common in municipal IT) warns on 1.4 files.
    """
    for i, (name, gdf) in enumerate(layers.items()):
        pyogrio.write_dataframe(
            gdf,
            path,
            layer=name,
            driver="GPKG",
            geometry_type="MultiPolygon",
            promote_to_multi=True,
            dataset_options={"VERSION": "1.2"} if i == 0 else None,
            layer_options={"SPATIAL_INDEX": "YES", "GEOMETRY_NAME": GEOMETRY_COLUMN},
        )
    for name, frame in tables.items():
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")
