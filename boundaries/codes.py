"""CBS area codes: format, uniqueness and the buurt -> wijk -> gemeente hierarchy.

CBS codes are ``GM`` + 4 digits (gemeente), ``WK`` + the gemeente's 4 digits + 2
characters (wijk) and ``BU`` + the wijk's 6 characters + 2 characters (buurt).
Since 2022 the last characters may be letters (``BU0363AC02``), so only the
gemeente part is required to be numeric.
"""

from __future__ import annotations

import re

import pandas as pd

# The area hierarchy, defined here once: from the finest level up, each level lying in
# the next. The rest is derived: the level one up, the depth from the top (gemeente 0),
# and the column of an area's layer that holds its parent's code.
LEVELS = ("buurt", "wijk", "gemeente")
PARENT_LEVEL = dict(zip(LEVELS[:-1], LEVELS[1:]))  # buurt -> wijk -> gemeente
DEPTH = {level: depth for depth, level in enumerate(reversed(LEVELS))}
PARENT_COLUMN = {level: f"{parent}code" for level, parent in PARENT_LEVEL.items()}
# the layer names of the CBS Wijk- en Buurtkaart, which zicht's outputs use too
LAYER_NAMES = {"buurt": "buurten", "wijk": "wijken", "gemeente": "gemeenten"}
PREFIX = {"buurt": "BU", "wijk": "WK", "gemeente": "GM"}
PATTERN = {
    "buurt": re.compile(r"^BU\d{4}[0-9A-Z]{4}$"),
    "wijk": re.compile(r"^WK\d{4}[0-9A-Z]{2}$"),
    "gemeente": re.compile(r"^GM\d{4}$"),
}
FORMAT_TEXT = {
    "buurt": "BU + 4-digit gemeente + 4 characters",
    "wijk": "WK + 4-digit gemeente + 2 characters",
    "gemeente": "GM + 4 digits",
}


def normalise_codes(codes: pd.Series) -> pd.Series:
    """Strip the padding StatLine exports add and upper-case the codes."""
    return codes.astype("string").str.strip().str.upper()


def wijk_of(buurtcodes: pd.Series) -> pd.Series:
    """The wijk code a buurt code belongs to (``WK`` + code[2:8])."""
    return "WK" + buurtcodes.str[2:8]


def gemeente_of(codes: pd.Series) -> pd.Series:
    """The gemeente code a buurt or wijk code belongs to (``GM`` + code[2:6])."""
    return "GM" + codes.str[2:6]


def level_of(codes: pd.Series) -> str | None:
    """The level (buurt, wijk, gemeente) most codes in ``codes`` have, by prefix."""
    prefixes = codes.dropna().str[:2].value_counts()
    for level, prefix in PREFIX.items():
        if len(prefixes) and prefixes.index[0] == prefix:
            return level
    return None


def code_problems(codes: pd.Series, level: str) -> list[str]:
    """Every format and uniqueness problem in ``codes`` of one level, each naming the code."""
    problems: list[str] = []
    missing = int(codes.isna().sum())
    if missing:
        problems.append(f"{missing} {level} feature(s) have no code")
    present = codes.dropna()
    bad = present[~present.str.match(PATTERN[level].pattern)]
    for code in bad.unique():
        problems.append(f"code {code!r} is not a {level} code ({FORMAT_TEXT[level]})")
    dup = present[present.duplicated()].unique()
    for code in dup:
        count = int((present == code).sum())
        problems.append(f"duplicate {level} code {code} ({count} features)")
    return problems


def hierarchy_problems(
    codes: pd.Series, parents: pd.Series, level: str, parent_level: str
) -> list[str]:
    """Well-formed ``level`` codes whose stated parent is not the one their code implies.

    Malformed codes are left to :func:`code_problems`, which reports them once.
    """
    implied = wijk_of(codes) if parent_level == "wijk" else gemeente_of(codes)
    stated = parents
    well_formed = codes.str.match(PATTERN[level].pattern).fillna(False)
    wrong = stated.notna() & well_formed & (stated != implied)
    return [
        f"{code} lies in {parent_level} {want} by its code but the file says {got}"
        for code, want, got in zip(codes[wrong], implied[wrong], stated[wrong])
    ]
