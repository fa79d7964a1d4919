"""Checks of an area table joined to the boundaries on codes: the level its codes are
of, when they match too few areas, and whether it is of the boundaries' edition (CBS
reuses codes across years: :mod:`boundaries.vintage`)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from zicht.boundaries import Boundaries
from zicht.boundaries.codes import LAYER_NAMES, LEVELS, PREFIX
from zicht.boundaries.vintage import compare_names, name_column, year_of_path, year_of_table
from zicht.engine.config import Config, TableSpec

log = logging.getLogger("zicht")


def level_hint(codes: pd.Index, finest: str) -> str:
    """What to do when a table's codes are of another level than the areas."""
    counts = {lv: int(codes.str.startswith(p).sum()) for lv, p in PREFIX.items()}
    level = max(counts, key=lambda lv: counts[lv])
    if counts[level] == 0 or level == finest:
        return " (the codes may be from another year)"
    coarser = LEVELS.index(level) > LEVELS.index(finest)
    if coarser:
        return (
            f"; its codes are {level} codes ({PREFIX[level]}...), the areas are "
            f"{LAYER_NAMES[finest]}: compute on {LAYER_NAMES[level]} with "
            f'[boundaries] level = "{level}"'
        )
    return (
        f"; its codes are {level} codes ({PREFIX[level]}...), finer than the "
        f"{LAYER_NAMES[finest]} of the boundaries: give a boundary file with "
        f"{LAYER_NAMES[level]}, or add the table up to {finest} codes first"
    )


def check_vintage(config: Config, spec: TableSpec, frame: pd.DataFrame, areas: Boundaries) -> None:
    """Warn where a table joined on codes is of another boundary edition: its year is
    another than the boundaries', or more than 5% of the matched areas have another
    name in it (:mod:`boundaries.vintage`), naming examples."""
    b = config.boundaries
    boundary_year = b.year or year_of_path(b.path)
    table_year = spec.year or year_of_table(frame, spec.path)
    where = f"table {spec.id!r} ({spec.path.name})"
    if boundary_year and table_year and boundary_year != table_year:
        log.warning(
            "%s is of %d, the boundaries (%s) of %d: figures of one edition are joined on "
            "the codes of another; set [[tables]] year or [boundaries] year if this is wrong",
            where,
            table_year,
            Path(b.path).name,
            boundary_year,
        )
    column = spec.names or name_column(list(frame.columns), spec.key)
    if column is None or column not in frame.columns:
        return
    names = compare_names(areas.areas["naam"], frame[column])
    if names.other_vintage:
        log.warning(
            "%s: %s: the table and the boundaries may be of different years (CBS reuses "
            "codes); join figures of the boundaries' year",
            where,
            names.describe(),
        )
