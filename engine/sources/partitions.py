"""Microdata files read in partitions: bounded pieces of a source, each checked for the
columns the source declares.

A source's ``path`` is a file (Parquet, CSV, GeoPackage or any point layer pyogrio
reads) or a folder of Parquet files, partitioned the Hive way or not
(``jaar=2023/part-0.parquet``: ``jaar`` becomes a column holding 2023). Every file is
read in partitions of at most ``rows`` records: Parquet by record batches, CSV in
chunks, a vector layer by feature ranges. A file without a declared column is refused
before any of it is aggregated, with an error naming the file and the column.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import shapely

from zicht.boundaries.read import READ_ERRORS
from zicht.engine.config import MicrodataSpec
from zicht.engine.sources.tables import csv_separator
from zicht.errors import MicrodataError

CSV_SUFFIXES = (".csv", ".txt")
# a CSV file is counted in blocks of this many bytes (its records: its lines)
COUNT_BLOCK = 1 << 24


def partition_files(path: Path) -> list[Path]:
    """The files of a source: ``path`` itself, or the Parquet files under a folder in
    path order (so that every run reads them in the same order)."""
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
    if not files:
        raise MicrodataError(f"{path}: a folder of microdata holds no .parquet files")
    return files


def hive_columns(path: Path, root: Path) -> dict[str, object]:
    """The ``key=value`` folders between ``root`` and ``path``: a whole number where the
    value is one (as pyarrow reads them), else text."""
    columns: dict[str, object] = {}
    if path == root:
        return columns
    for part in path.relative_to(root).parent.parts:
        key, sep, value = part.partition("=")
        if sep:
            number = value.lstrip("-")
            columns[key] = int(value) if number.isdigit() else value
    return columns


def count_rows(path: Path, layer: str | None = None) -> int:
    """The records in one file: from the Parquet footer or the layer's feature count;
    a CSV's lines less the header."""
    try:
        if path.suffix.lower() == ".parquet":
            return int(pq.ParquetFile(path).metadata.num_rows)
        if path.suffix.lower() in CSV_SUFFIXES:
            lines = 0
            with path.open("rb") as handle:
                while block := handle.read(COUNT_BLOCK):
                    lines += block.count(b"\n")
            return max(lines - 1, 0)
        return int(pyogrio.read_info(path, layer=layer)["features"])
    except READ_ERRORS as exc:
        raise MicrodataError(f"{path}: cannot be read ({exc})") from None


def declared_columns(spec: MicrodataSpec) -> list[str]:
    """The columns a source's spec names: every partition must have them."""
    named = (spec.unit, spec.x, spec.y, spec.code, spec.amount, spec.sbi, spec.group)
    return [c for c in named if c]


def read_partitions(
    path: Path, spec: MicrodataSpec, wanted: list[str], rows: int, root: Path | None = None
) -> Iterator[pd.DataFrame]:
    """The records of one file in partitions of at most ``rows``: the declared columns
    and those of ``wanted`` the file has (an indicator's filter on a column a file
    lacks fails where it is applied, naming the file). ``root``: the source's folder,
    for Hive partition columns."""
    extra = hive_columns(path, root) if root is not None else {}
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frames = _parquet(path, spec, wanted, rows, extra)
        elif suffix in CSV_SUFFIXES:
            frames = _csv(path, spec, wanted, rows)
        else:
            frames = _layer(path, spec, wanted, rows)
        for frame in frames:
            yield frame.assign(**extra) if extra else frame
    except ImportError as exc:
        raise MicrodataError(f"{path}: cannot read {suffix} files here ({exc})") from None
    except READ_ERRORS as exc:
        raise MicrodataError(f"{path}: cannot be read ({exc})") from None


def check_columns(path: Path, spec: MicrodataSpec, columns: list[str]) -> None:
    """Refuse a file without one of the columns the source declares."""
    missing = [c for c in declared_columns(spec) if c not in columns]
    if missing:
        raise MicrodataError(
            f"{path}: no column {missing[0]!r} (microdata {spec.id!r}); columns are {columns}"
        )


def _parquet(
    path: Path, spec: MicrodataSpec, wanted: list[str], rows: int, extra: dict[str, object]
) -> Iterator[pd.DataFrame]:
    file = pq.ParquetFile(path)
    names = list(file.schema_arrow.names)
    check_columns(path, spec, names + list(extra))
    keep = [c for c in dict.fromkeys(declared_columns(spec) + wanted) if c in names]
    for batch in file.iter_batches(batch_size=rows, columns=keep):
        yield batch.to_pandas()


def _csv(path: Path, spec: MicrodataSpec, wanted: list[str], rows: int) -> Iterator[pd.DataFrame]:
    sep = csv_separator(path)
    names = list(pd.read_csv(path, sep=sep, encoding="utf-8-sig", nrows=0).columns)
    check_columns(path, spec, names)
    keep = set(declared_columns(spec) + wanted)
    yield from pd.read_csv(
        path, sep=sep, encoding="utf-8-sig", chunksize=rows, usecols=lambda c: c in keep
    )


def _layer(path: Path, spec: MicrodataSpec, wanted: list[str], rows: int) -> Iterator[pd.DataFrame]:
    """A point layer by feature ranges; its points give x/y where the spec names none
    the layer has (as :func:`engine.sources.microdata.read_records`)."""
    info = pyogrio.read_info(path, layer=spec.layer)
    names = list(info["fields"])
    from_geometry = info["geometry_type"] is not None and (spec.x is None or spec.x not in names)
    check_columns(path, spec, names + ([spec.x or "x", spec.y or "y"] if from_geometry else []))
    keep = [c for c in dict.fromkeys(declared_columns(spec) + wanted) if c in names]
    for start in range(0, int(info["features"]), rows):
        frame = pyogrio.read_dataframe(
            path, layer=spec.layer, columns=keep, skip_features=start, max_features=rows
        )
        if "geometry" in frame:
            geoms = frame.geometry.values
            frame = pd.DataFrame(frame.drop(columns="geometry"))
            if from_geometry:
                frame[spec.x or "x"] = shapely.get_x(geoms)
                frame[spec.y or "y"] = shapely.get_y(geoms)
        yield pd.DataFrame(frame)
