"""Area tables keyed by CBS code: CSV (including StatLine exports), Parquet, GeoPackage.

StatLine CSV exports are ``;``-separated, start with a UTF-8 byte order mark, pad
region codes and numbers with spaces, and write ``.`` (or nothing) for a secret
value. :func:`read_table` returns every column as text; :func:`to_number` turns a
column into numbers and refuses anything that is neither a number nor a secret mark.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from zicht.boundaries.codes import LEVELS, PREFIX, normalise_codes
from zicht.boundaries.read import READ_ERRORS
from zicht.errors import TableError, quoted

SECRET_MARKS = {"", ".", "x", "X", "-", "?"}


@dataclass
class JoinReport:
    """How an area table's codes matched the areas."""

    table: str
    path: str
    areas: int
    matched: int
    table_rows: int
    unmatched_examples: list[str]
    # what the table holds instead, where its codes are of another level
    other_level: str = ""

    @property
    def match_rate(self) -> float:
        return self.matched / self.areas if self.areas else 0.0

    def describe(self) -> str:
        text = (
            f"table {self.table!r} ({self.path}): {self.matched} of {self.areas} areas "
            f"found ({self.match_rate:.0%}) among {self.table_rows} table rows"
        )
        if self.unmatched_examples:
            text += f"; table codes not among the areas, e.g. {', '.join(self.unmatched_examples)}"
        if self.other_level:
            text += f"; {self.other_level}"
        return text


def read_table(path: Path, key: str, layer: str | None = None) -> pd.DataFrame:
    """Read an area table, indexed by the normalised code in column ``key``; values as text."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            frame = _read_csv(path)
        elif suffix == ".parquet":
            frame = _read_parquet(path)
        elif suffix in (".gpkg", ".geojson", ".json", ".shp", ".fgb"):
            frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=False).astype("string")
        else:
            raise TableError(
                f"{path}: unsupported table format {suffix!r} (use .csv, .parquet or .gpkg)"
            )
    except TableError:
        raise
    except ImportError as exc:
        raise TableError(f"{path}: cannot read {suffix} files here ({exc})") from None
    except READ_ERRORS as exc:
        raise TableError(f"{path}: cannot be read ({exc})") from None
    if key not in frame.columns:
        raise TableError(f"{path}: no key column {key!r}; columns are {list(frame.columns)}")
    codes = normalise_codes(frame[key])
    if codes.isna().any():
        raise TableError(f"{path}: {int(codes.isna().sum())} row(s) have no code in column {key!r}")
    frame = frame.set_axis(pd.Index(codes, name="code"))
    dup = frame.index[frame.index.duplicated()].unique()
    if len(dup):
        raise TableError(f"{path}: duplicate codes in column {key!r}: {', '.join(dup[:10])}")
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet table, every column as text (as a CSV is read)."""
    return pd.read_parquet(path).astype("string")


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        sep=csv_separator(path),
        dtype="string",
        encoding="utf-8-sig",
        keep_default_na=False,
        skipinitialspace=False,
    )


def csv_separator(path: Path) -> str:
    """The field separator of a CSV file: ``;`` (StatLine, Dutch Excel), ``,`` or tab."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        sample = fh.read(64_000)
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t").delimiter
    except csv.Error:
        return ","


def to_number(
    values: pd.Series, where: str, non_negative: bool, na_values: tuple[str, ...] = ()
) -> pd.Series:
    """Parse text values to floats; secret marks (``.``, empty, ``na_values``) become NaN.

    Accepts padded numbers and a decimal comma. ``na_values`` are codes a source uses
    for secret or missing values (CBS's older files use -99999999); numeric codes
    match numerically, so ``-99999999`` also matches ``-99999999.0``. Raises
    :class:`TableError` naming ``where`` and the first offending code for any other
    text, and for a negative value where ``non_negative`` (counts and sums).
    """
    numeric_na = [float(v) for v in na_values if _is_number(v)]
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype(float)
    else:
        text = values.astype("string").str.strip()
        secret = text.isna() | text.isin(SECRET_MARKS) | text.isin(na_values)
        decimal_comma = text.str.fullmatch(r"-?\d+,\d+").fillna(False)
        text = text.where(~decimal_comma, text.str.replace(",", ".", regex=False))
        numbers = pd.to_numeric(text.where(~secret), errors="coerce").astype(float)
        bad = numbers.isna() & ~secret
        if bad.any():
            code = bad.index[bad.argmax()]
            raise TableError(
                f"{where}: {int(bad.sum())} value(s) are not numbers, "
                f"e.g. {quoted(text[code])} for {code}"
            )
    numbers = numbers.mask(numbers.isin(numeric_na))
    if non_negative and (numbers < 0).any():
        code = numbers.index[(numbers < 0).to_numpy().argmax()]
        raise TableError(
            f"{where}: {int((numbers < 0).sum())} negative value(s), "
            f"e.g. for {code}; counts and sums cannot be negative (if this is a "
            "code for a secret value, list it in the table's na_values)"
        )
    if np.isinf(numbers).any():
        raise TableError(f"{where}: infinite values")
    return numbers


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def join_report(
    table_id: str, path: Path, table: pd.DataFrame, areas: pd.Index, level: str
) -> JoinReport:
    """Compare a table's codes of ``level`` with the area codes."""
    same_level = table.index[table.index.str.startswith(PREFIX[level])]
    matched = areas.isin(same_level)
    unmatched = same_level[~same_level.isin(areas)]
    return JoinReport(
        table_id,
        str(path),
        len(areas),
        int(matched.sum()),
        len(table),
        [str(c) for c in unmatched[:3]],
        _other_level(table.index, level),
    )


def _other_level(codes: pd.Index, level: str) -> str:
    """What to do where a table's codes are of another level than the areas: a finer
    table is added up by reading the finer boundaries and publishing ``level`` (the
    run computes on the finer areas), a coarser one needs the coarser level."""
    counts = {lv: int(codes.str.startswith(prefix).sum()) for lv, prefix in PREFIX.items()}
    other = max((lv for lv in counts if lv != level), key=counts.__getitem__, default=None)
    if other is None or counts[other] <= counts.get(level, 0):
        return ""
    held = f"the table holds {counts[other]:,} {other} codes"
    if LEVELS.index(other) < LEVELS.index(level):
        return (
            f"{held}, finer than the {level} areas: to add them up, read {other} "
            f'boundaries and set [boundaries] level = "{level}"'
        )
    return f'{held}, coarser than the {level} areas: set [boundaries] level = "{other}"'
