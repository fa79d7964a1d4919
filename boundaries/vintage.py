"""Boundary vintages: the year of a boundary file or area table, and the names that
differ where a table is joined to boundaries of another year on the same codes.

CBS reuses codes across editions: BU03440522 is "Tolsteegsingel" in 2015 and
"Sterrenwijk" in 2024. A join on codes alone then puts one area's figures on
another's polygon without a word; the names tell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

import pandas as pd

# a year in a file name (WijkBuurtkaart_2024_v1, buurt_2015, kwb-2019)
YEAR = re.compile(r"(?<![0-9])(19[5-9][0-9]|20[0-9]{2})(?![0-9])")
NAME_CHANGE_SHARE = 0.05  # more matched names than this differing: another vintage
# columns that hold an area's name in CBS tables (StatLine exports, the kerncijfers,
# the Wijk- en Buurtkaart), compared without case
NAME_COLUMNS = (
    "naam",
    "regionaam",
    "gebiedsnaam",
    "wijken en buurten",
    "wijkenenbuurten",
    "buurtnaam",
    "bu_naam",
    "wijknaam",
    "wk_naam",
    "gemeentenaam",
    "gm_naam",
)
PERIOD_COLUMNS = ("perioden", "jaar", "year")


def year_of_path(path: str | Path) -> int | None:
    """The year in a file's name (the last one, as in ``wijkbuurtkaart_2024_v1``), or
    None."""
    found = YEAR.findall(Path(path).stem)
    return int(found[-1]) if found else None


def year_of_table(frame: pd.DataFrame, path: str | Path) -> int | None:
    """An area table's year: its period column where it holds one year (StatLine's
    ``Perioden``: ``2019`` or ``2019JJ00``), else the year in its file name."""
    for column in frame.columns:
        if str(column).strip().casefold() in PERIOD_COLUMNS:
            years = {str(v).strip()[:4] for v in frame[column].dropna().unique()}
            if len(years) == 1 and YEAR.fullmatch(next(iter(years))):
                return int(next(iter(years)))
    return year_of_path(path)


def name_column(columns: list[str], key: str) -> str | None:
    """The column of a table that holds its areas' names (other than the key), or
    None."""
    by_name = {str(c).strip().casefold(): str(c) for c in columns if str(c) != key}
    return next((by_name[n] for n in NAME_COLUMNS if n in by_name), None)


@dataclass(frozen=True)
class NameCheck:
    """How the names of the areas a join matched compare: how many had a name on
    both sides, how many differ, and a few of those (code, boundary name, table name)."""

    compared: int
    differing: int
    examples: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.differing / self.compared if self.compared else 0.0

    @property
    def other_vintage(self) -> bool:
        """More than :data:`NAME_CHANGE_SHARE` of the names differ."""
        return self.share > NAME_CHANGE_SHARE

    def describe(self) -> str:
        shown = "; ".join(f"{code} {a!r} here, {b!r} in the table" for code, a, b in self.examples)
        return (
            f"{self.differing} of {self.compared} matched areas ({self.share:.0%}) have "
            f"another name in the table, e.g. {shown}"
        )


def compare_names(areas: pd.Series, table: pd.Series, examples: int = 3) -> NameCheck:
    """Compare area names (by code) of the boundaries with those of a table; areas
    without a name on either side are not compared. Case, spaces and hyphens do not
    count ("Burgwallen-Oude Zijde" is "burgwallen oude zijde")."""
    both = pd.DataFrame({"areas": areas, "table": table.reindex(areas.index)}).dropna()
    both = both[
        (both["areas"].astype(str).str.strip() != "")
        & (both["table"].astype(str).str.strip() != "")
    ]
    plain_areas, plain_table = _plain(both["areas"]), _plain(both["table"])
    differ = plain_areas != plain_table
    # the examples that differ most: a new name, rather than a new spelling of one
    likeness = pd.Series(
        [
            SequenceMatcher(None, a, b).ratio()
            for a, b in zip(plain_areas[differ], plain_table[differ], strict=True)
        ],
        index=both.index[differ],
        dtype=float,
    )
    rows = both.loc[likeness.sort_values(kind="stable").index[:examples]]
    return NameCheck(
        compared=len(both),
        differing=int(differ.sum()),
        examples=[(str(c), str(r.areas).strip(), str(r.table).strip()) for c, r in rows.iterrows()],
    )


def _plain(names: pd.Series) -> pd.Series:
    text = names.astype(str).str.casefold().str.replace(r"[\s\-_/]+", " ", regex=True)
    return text.str.strip()
