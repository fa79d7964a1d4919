"""Selections of a boundary file: the areas a ``select`` names, and the cut of a
whole file that a run publishes for them (:func:`cut`)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from zicht.errors import BoundaryError

if TYPE_CHECKING:
    from zicht.boundaries.read import Boundaries


def cut(boundaries: Boundaries, select: Sequence[str], where: str) -> Boundaries:
    """The areas of the finest level that ``select`` names (codes of any level, or
    province names) and every coarser area wholly made of them.

    A coarser area only partly selected is left out: its sum over the selected
    areas is not the official figure its code and name stand for, and the
    difference between two selections would give away what lies between them.
    ``report.partial`` lists the areas left out.
    """
    finest = select_areas(boundaries.areas, select, where)
    levels = {boundaries.finest: finest}
    partial: list[str] = []
    for level, areas in boundaries.levels.items():
        if level == boundaries.finest:
            continue
        column = f"{level}code"
        whole = boundaries.areas[column].value_counts()
        kept = finest[column].value_counts().reindex(whole.index, fill_value=0)
        partial += sorted(kept.index[(kept > 0) & (kept < whole)])
        inside = areas.loc[areas.index.isin(kept.index[kept == whole])]
        if len(inside):
            levels[level] = inside
    codes = {code for areas in levels.values() for code in areas.index}
    report = replace(
        boundaries.report,
        counts={level: len(areas) for level, areas in levels.items()},
        suspects=[row for row in boundaries.report.suspects if row["code"] in codes],
        partial=partial,
    )
    return replace(boundaries, levels=levels, report=report)


def select_areas(areas: gpd.GeoDataFrame, select: Sequence[str], where: str) -> gpd.GeoDataFrame:
    """The areas in ``select`` (codes of any level, or province names)."""
    wanted = {str(s).strip().upper(): str(s) for s in select}
    keys = {
        "code": areas.index.to_series().astype("string").str.upper(),
        "wijkcode": areas["wijkcode"].astype("string").str.upper(),
        "gemeentecode": areas["gemeentecode"].astype("string").str.upper(),
    }
    if "provincie" in areas:
        keys["provincie"] = areas["provincie"].astype("string").str.strip().str.upper()
    keep = np.zeros(len(areas), dtype=bool)
    found: set[str] = set()
    for values in keys.values():
        hit = values.isin(list(wanted)).fillna(False).to_numpy(dtype=bool)
        keep |= hit
        found |= set(values[hit])
    unknown = [wanted[w] for w in wanted if w not in found]
    if unknown:
        known = sorted({str(v) for values in keys.values() for v in values.dropna().unique()})
        hints = [h for u in unknown for h in difflib.get_close_matches(u.upper(), known, n=1)]
        province = "" if "provincie" in keys else "; this file has no provincie column"
        raise BoundaryError(
            f"{where}: [boundaries] select names {', '.join(map(repr, unknown))}, not a "
            f"buurt, wijk or gemeente code of the file{province}"
            + (f" (did you mean {', '.join(map(repr, hints))}?)" if hints else "")
        )
    return areas[keep]
