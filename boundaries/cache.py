"""The boundary cache: a boundary file's checked levels, kept once per file digest.

Reading a national boundary file takes seconds (repair, overlaps, dissolving wijken
and gemeenten, the suspect check); its result depends only on the file's bytes and
the options that change it. An entry keeps, per (sha256 of the file, its path, the
layer, the column mapping, the water and quality options, the library versions that
shape the geometry): every level's areas, the reading's report, the warnings it
logged and the queen neighbours of every level (:mod:`boundaries.neighbours`). A
later run reads the entry back instead, with the same result to the byte.

An entry holds boundary geometry and what was read with it (public CBS data), never
an indicator value. It is written to a temporary file and moved into place, so two
runs at once never see half an entry; an entry that does not check out (another
format version, a damaged file) is ignored with a warning and written again.

The folder is ``$ZICHT_CACHE_DIR``, else the user's cache folder
(``$XDG_CACHE_HOME/zicht`` or ``~/.cache/zicht`` on Linux), with entries under
``boundaries/``; deleting it only costs the next run its reading time.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import pickle
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import platformdirs
import pyogrio
import shapely

from zicht.boundaries.neighbours import remember, shared_vertex_pairs
from zicht.boundaries.quality import QualityRules
from zicht.boundaries.read import Boundaries, read_boundaries

CACHE_VERSION = 1  # raise when what an entry holds, or how it is read, changes
CACHE_ENV = "ZICHT_CACHE_DIR"
_MAGIC = b"zicht-boundary-cache"
log = logging.getLogger("zicht")


def default_cache_folder() -> Path:
    """Where zicht keeps its cache: ``$ZICHT_CACHE_DIR``, else the user's cache
    folder (``platformdirs``: ``$XDG_CACHE_HOME/zicht`` or ``~/.cache/zicht``)."""
    folder = os.environ.get(CACHE_ENV)
    return Path(folder) if folder else platformdirs.user_cache_path("zicht")


@dataclass(frozen=True)
class _Entry:
    """What an entry holds: the boundaries as read, the warnings the reading logged
    (level, message) and every level's neighbour pairs (positions)."""

    boundaries: Boundaries
    messages: list[tuple[int, str]]
    neighbours: dict[str, tuple[np.ndarray, np.ndarray]]


def cached_boundaries(
    path: str | Path,
    layer: str | None = None,
    columns: Mapping[str, str] | None = None,
    drop_water: bool = True,
    quality: QualityRules | None = None,
    workers: int = 1,
    folder: Path | None = None,
) -> Boundaries:
    """:func:`~boundaries.read.read_boundaries` of the whole file, through the cache
    in ``folder`` (None: no cache; nothing is read from or written to it).

    A hit replays the warnings the reading logged; hit or miss, the queen neighbours
    of every level are known to :func:`boundaries.neighbours.vertex_neighbours`.
    """
    if folder is None:
        return read_boundaries(path, layer, columns, drop_water, None, quality, workers)
    path, quality = Path(path), quality or QualityRules()
    try:
        key = _key(path, layer, columns, drop_water, quality)
    except OSError:  # missing or unreadable: reading says so, naming the file
        return read_boundaries(path, layer, columns, drop_water, None, quality, workers)
    file = folder / "boundaries" / f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.zbc"
    entry = _load(file, key)
    if entry is not None:
        log.info("boundaries: %s read from the cache %s", path.name, file)
        for severity, message in entry.messages:
            log.log(severity, "%s", message)
    else:
        with _logged() as messages:
            boundaries = read_boundaries(path, layer, columns, drop_water, None, quality, workers)
        neighbours = {
            level: shared_vertex_pairs(np.asarray(areas.geometry.values, dtype=object))
            for level, areas in boundaries.levels.items()
        }
        entry = _Entry(boundaries, messages, neighbours)
        _store(file, key, entry)
    for name, areas in entry.boundaries.levels.items():
        remember(np.asarray(areas.geometry.values, dtype=object), *entry.neighbours[name])
    return entry.boundaries


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes; of a shapefile, of it and its sidecar files (the
    attributes and CRS are there); of a folder, of every file in it."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
    elif path.suffix.lower() == ".shp":
        files = sorted(p for p in path.parent.glob(f"{path.stem}.*") if p.is_file())
    else:
        files = [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _key(
    path: Path,
    layer: str | None,
    columns: Mapping[str, str] | None,
    drop_water: bool,
    quality: QualityRules,
) -> str:
    """What the entry's result depends on, as one line of JSON."""
    return json.dumps(
        {
            "digest": file_digest(path),
            "path": str(path),  # the report and the warnings name it
            "layer": layer,
            "columns": sorted((columns or {}).items()),
            "drop_water": drop_water,
            "quality": asdict(quality),
            "versions": {
                "geos": shapely.geos_version_string,
                "gdal": pyogrio.__gdal_version_string__,
                "shapely": shapely.__version__,
                "geopandas": gpd.__version__,
                "pandas": pd.__version__,
                "numpy": np.__version__,
            },
        },
        sort_keys=True,
    )


@contextlib.contextmanager
def _logged() -> Iterator[list[tuple[int, str]]]:
    """The warnings logged to ``zicht`` within, as (level, message)."""
    messages: list[tuple[int, str]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append((record.levelno, record.getMessage()))

    handler = Keep(logging.WARNING)
    log.addHandler(handler)
    try:
        yield messages
    finally:
        log.removeHandler(handler)


def _header(key: str, payload: bytes) -> bytes:
    digest = hashlib.sha256(payload).hexdigest()
    return b"%s %d\n%s\n%s\n" % (_MAGIC, CACHE_VERSION, digest.encode(), key.encode())


def _load(file: Path, key: str) -> _Entry | None:
    """The entry in ``file`` when it is whole, of this version and for ``key``; None
    when there is none (a warning when there is one that does not check out)."""
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("boundary cache %s cannot be read (%s); reading the file instead", file, exc)
        return None
    problem = _problem(data, key)
    if problem is None:
        try:
            entry = _Unpickler(io.BytesIO(data.split(b"\n", 3)[3])).load()
            if isinstance(entry, _Entry):
                return entry
            problem = "it holds something else"
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError) as exc:
            problem = f"it cannot be read back ({type(exc).__name__}: {exc})"
    log.warning("boundary cache %s ignored: %s; it is written again", file, problem)
    return None


def _problem(data: bytes, key: str) -> str | None:
    """Why ``data`` is not a whole entry of this version for ``key`` (None: it is)."""
    parts = data.split(b"\n", 3)
    if len(parts) < 4 or not parts[0].startswith(_MAGIC + b" "):
        return "not a zicht boundary cache entry"
    version = parts[0].removeprefix(_MAGIC + b" ").decode(errors="replace")
    if version != str(CACHE_VERSION):
        return f"written by cache version {version}, this is {CACHE_VERSION}"
    if parts[2].decode(errors="replace") != key:
        return "written for another file or other options"
    if hashlib.sha256(parts[3]).hexdigest().encode() != parts[1]:
        return "damaged (its checksum does not match)"
    return None


def _store(file: Path, key: str, entry: _Entry) -> None:
    """Write ``entry`` to ``file`` atomically (a temporary file moved into place); a
    cache that cannot be written costs only the next run's time: a warning."""
    payload = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        _Unpickler(io.BytesIO(payload)).load()  # what cannot be read back is not kept
    except pickle.UnpicklingError as exc:
        log.info("boundary cache: not kept (%s)", exc)
        return
    part: Path | None = None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=file.parent, suffix=".part", delete=False) as tmp:
            part = Path(tmp.name)
            tmp.write(_header(key, payload))
            tmp.write(payload)
        os.replace(part, file)
    except OSError as exc:
        log.warning("boundary cache %s cannot be written (%s); the run goes on", file, exc)
        if part is not None:
            with contextlib.suppress(OSError):
                part.unlink()


# What an entry is built from, and nothing else: a pickle can name any callable, and
# a file in the cache folder is not trusted to run code. An entry that needs another
# type (a newer pandas pickles differently) is not kept (:func:`_store`).
_ALLOWED = {
    ("builtins", "slice"),
    ("geopandas.array", "GeometryArray"),
    ("geopandas.geodataframe", "GeoDataFrame"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("pandas", "Index"),
    ("pandas", "NA"),
    ("pandas", "StringDtype"),
    ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
    ("pandas._libs.internals", "_unpickle_block"),
    ("pandas.arrays", "StringArray"),
    ("pandas.arrays", "ArrowStringArray"),
    ("pandas.core.indexes.base", "_new_Index"),
    ("pandas.core.indexes.range", "RangeIndex"),
    ("pandas.core.internals.managers", "BlockManager"),
    ("pyproj.crs.crs", "CRS"),
    ("zicht.boundaries.cache", "_Entry"),
    ("zicht.boundaries.read", "Boundaries"),
    ("zicht.boundaries.read", "BoundaryReport"),
}


class _Unpickler(pickle.Unpickler):
    """An unpickler that makes only the types an entry is built from."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a boundary cache entry")
        return super().find_class(module, name)
