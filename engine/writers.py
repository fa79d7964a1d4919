"""Writers for a run's output directory: GeoPackage, attribute tables, manifest.

All files are written into a staging folder inside the output directory and moved
into place only when every file is complete (:func:`staged_output`), so a run that
fails leaves the directory as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio


GEOMETRY_COLUMN = "geom"  # GDAL's GeoPackage default, set explicitly: styles refer to it


class OutputError(OSError):
    """The output directory cannot be written; the message names it."""


@contextlib.contextmanager
def staged_output(out_dir: Path) -> Iterator[Path]:
    """Yield a staging folder; on success move its files into ``out_dir``.

    On any exception the staging folder is removed, and ``out_dir`` too if this call
    created it, so nothing half-written is left behind.
    """
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".zicht-staging-", dir=out_dir))
    except OSError as exc:
        raise OutputError(f"{out_dir}: output directory cannot be written ({exc.strerror})") from None
    try:
        yield stage
        for item in sorted(stage.iterdir()):
            os.replace(item, out_dir / item.name)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    shutil.rmtree(stage, ignore_errors=True)


def write_geopackage(path: Path, layers: dict[str, gpd.GeoDataFrame],
                     tables: dict[str, pd.DataFrame]) -> None:
    """Write feature layers (with a spatial index) and attribute tables to one GeoPackage.

    GeoPackage 1.2 is written, not the newest 1.4, because the GDAL inside older QGIS
    releases (still common in municipal IT) warns on 1.4 files.
    """
    for i, (name, gdf) in enumerate(layers.items()):
        pyogrio.write_dataframe(gdf, path, layer=name, driver="GPKG",
                                geometry_type="MultiPolygon", promote_to_multi=True,
                                dataset_options={"VERSION": "1.2"} if i == 0 else None,
                                layer_options={"SPATIAL_INDEX": "YES",
                                               "GEOMETRY_NAME": GEOMETRY_COLUMN})
    for name, frame in tables.items():
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(stage: Path, meta: dict[str, object]) -> Path:
    """Write ``manifest.json``: every file in ``stage`` with its checksum, layers and columns."""
    files = []
    for item in sorted(stage.iterdir()):
        if item.name == "manifest.json":
            continue
        entry: dict[str, object] = {"name": item.name, "bytes": item.stat().st_size,
                                    "sha256": sha256_of(item)}
        if item.suffix == ".gpkg":
            entry["layers"] = _gpkg_layers(item)
        files.append(entry)
    path = stage / "manifest.json"
    path.write_text(json.dumps({**meta, "files": files}, indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def _gpkg_layers(path: Path) -> list[dict[str, object]]:
    layers = []
    for name, geometry_type in pyogrio.list_layers(path):
        info = pyogrio.read_info(path, layer=name)
        layers.append({"name": str(name), "geometry": geometry_type, "rows": int(info["features"]),
                       "crs": info["crs"], "columns": [str(c) for c in info["fields"]]})
    return layers
