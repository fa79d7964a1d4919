"""``manifest.json``: every file of an output directory with its size, SHA-256,
layers and columns, so a reader can check that nothing was changed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyogrio


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, hex-encoded; of a folder (microdata in partitions), the
    SHA-256 of its files' paths and digests in path order."""
    if path.is_dir():
        digest = hashlib.sha256()
        for file in folder_files(path):
            digest.update(f"{file.relative_to(path).as_posix()}\0{sha256_of(file)}\n".encode())
        return digest.hexdigest()
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def folder_files(path: Path) -> list[Path]:
    """Every file under a folder, in path order."""
    return sorted(p for p in path.rglob("*") if p.is_file())


def write_manifest(stage: Path, meta: dict[str, object]) -> Path:
    """Write ``manifest.json``: every file in ``stage`` with its checksum, layers and columns."""
    files = []
    for item in sorted(stage.iterdir()):
        if item.name == "manifest.json":
            continue
        entry: dict[str, object] = {
            "name": item.name,
            "bytes": item.stat().st_size,
            "sha256": sha256_of(item),
        }
        if item.suffix == ".gpkg":
            entry["layers"] = _gpkg_layers(item)
        files.append(entry)
    path = stage / "manifest.json"
    path.write_text(
        json.dumps({**meta, "files": files}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path


def _gpkg_layers(path: Path) -> list[dict[str, object]]:
    layers = []
    for name, geometry_type in pyogrio.list_layers(path):
        info = pyogrio.read_info(path, layer=name)
        layers.append(
            {
                "name": str(name),
                "geometry": geometry_type,
                "rows": int(info["features"]),
                "crs": info["crs"],
                "columns": [str(c) for c in info["fields"]],
            }
        )
    return layers
