"""Own areas: a user's own division of the buurten (police basisteams, RIEC regions, a
gemeente's districts), as unions of whole buurten.

An own area is defined by the buurten it is made of (a mapping table: ``buurtcode``,
``code``, ``naam`` and optionally ``soort``), so that its figures are sums of buurt
figures and disclosure control can protect them jointly with the buurten. A polygon
file is accepted only where every polygon is a union of buurten (within
:data:`AREA_TOLERANCE`); a polygon that cuts through a buurt is refused: published
next to the buurten, its figure minus the buurten wholly inside it gives the part of
the buurt it takes (geographic differencing).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from zicht.boundaries.codes import normalise_codes
from zicht.errors import BoundaryError, quoted

MAPPING_COLUMNS = ("buurtcode", "code", "naam")  # required; ``soort`` is optional
KIND_COLUMN = "soort"
# a code becomes part of layer names and of the published ``buurten`` lists
CODE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
# a buurt counts as inside a polygon when at least this share of its area is, and as
# outside when at most this share is: boundary files of one vintage drawn by two
# producers differ by slivers along shared edges
AREA_TOLERANCE = 0.01
POLYGON_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb")


@dataclass(frozen=True)
class OwnAreas:
    """One set of own areas: ``buurt_of`` is the own area of each buurt (index: buurt
    codes; a buurt in no own area is absent), ``names`` and ``kinds`` are per own area
    code (``kinds`` "" where the file gives none)."""

    id: str
    path: Path
    buurt_of: pd.Series
    names: pd.Series
    kinds: pd.Series
    label_nl: str = ""
    label_en: str = ""

    def label(self, language: str) -> str:
        """What the areas are, in ``language`` (``nl`` or ``en``; default: the id)."""
        return (self.label_en if language == "en" else self.label_nl) or self.id

    @property
    def codes(self) -> pd.Index:
        """The own areas' codes, in file order."""
        return self.names.index

    def members(self) -> pd.Series:
        """Per own area code, the codes of its buurten (sorted, separated by spaces)."""
        grouped = self.buurt_of.groupby(self.buurt_of.to_numpy(), sort=False)
        listed = grouped.apply(lambda s: " ".join(sorted(s.index)))
        return listed.reindex(self.codes)

    def within(self, buurten: pd.Index) -> tuple[OwnAreas, list[str]]:
        """The own areas all of whose buurten are in ``buurten``, and the codes of the
        others: an own area only partly selected is left out, never published as a
        partial sum under its code and name."""
        outside = ~self.buurt_of.index.isin(buurten)
        partial = set(self.buurt_of[outside])
        keep = ~self.codes.isin(list(partial))
        kept = replace(
            self,
            buurt_of=self.buurt_of[~self.buurt_of.isin(list(partial))],
            names=self.names[keep],
            kinds=self.kinds[keep],
        )
        return kept, [str(c) for c in self.codes[~keep]]

    def geometry(self, buurten: gpd.GeoDataFrame) -> gpd.GeoSeries:
        """Each own area's polygon: its buurten dissolved (the buurten's CRS, RD New
        in a run), in the order of :attr:`codes`."""
        mine = buurten.loc[self.buurt_of.index, ["geometry"]]
        mine = mine.assign(own=self.buurt_of.to_numpy())
        dissolved = mine.dissolve(by="own").geometry
        return dissolved.reindex(self.codes)


def read_mapping(path: Path) -> pd.DataFrame:
    """The mapping table of an own-area file (CSV, ``,`` or ``;``): one row per buurt
    with :data:`MAPPING_COLUMNS` (and ``soort`` where given), codes normalised.

    Raises :class:`ValueError` naming the file, the row (its line in the file) and the
    column at fault: a missing column or value, a code that is not a code, a buurt in
    two own areas, or one own area with two names.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            sample = f.read(4096)
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;").delimiter
        table = pd.read_csv(path, sep=delimiter, dtype=str, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, csv.Error, pd.errors.ParserError) as e:
        raise ValueError(f"{path}: cannot read the own-area table ({e})") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in MAPPING_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: no column(s) {', '.join(map(repr, missing))}; an own-area table has "
            f"columns {', '.join(MAPPING_COLUMNS)} (and optionally {KIND_COLUMN}); it "
            f"has {list(table.columns)}"
        )
    columns = [*MAPPING_COLUMNS, *([KIND_COLUMN] if KIND_COLUMN in table.columns else [])]
    table = table[columns].apply(lambda c: c.str.strip())
    _check_values(table, path)
    table["buurtcode"] = normalise_codes(table["buurtcode"])
    return table


def _check_values(table: pd.DataFrame, path: Path) -> None:
    """Empty values, malformed codes, buurten listed twice, an own area with two names."""
    line = pd.Series(np.arange(len(table)) + 2, index=table.index)  # the header is line 1
    for column in MAPPING_COLUMNS:
        empty = table[column].isna() | (table[column] == "")
        if empty.any():
            raise ValueError(f"{path}, row {line[empty].iloc[0]}, column {column!r}: empty")
    bad = ~table["code"].str.fullmatch(CODE.pattern)
    if bad.any():
        row = bad.to_numpy().argmax()
        raise ValueError(
            f"{path}, row {line.iloc[row]}, column 'code': {quoted(table['code'].iloc[row])} "
            "is not a code (letters, digits, '_', '.', '-'; at most 40)"
        )
    buurt = normalise_codes(table["buurtcode"])
    twice = buurt.duplicated(keep="first")
    if twice.any():
        row = twice.to_numpy().argmax()
        first = buurt.eq(buurt.iloc[row]).to_numpy().argmax()
        raise ValueError(
            f"{path}, row {line.iloc[row]}, column 'buurtcode': buurt {buurt.iloc[row]} is "
            f"already in own area {table['code'].iloc[first]!r} (row {line.iloc[first]}); "
            "a buurt belongs to one own area of a set (make a second set for another division)"
        )
    names = table.groupby("code", sort=False)["naam"].nunique()
    if (names > 1).any():
        code = names.index[(names > 1).to_numpy()][0]
        rows = line[table["code"] == code].tolist()
        raise ValueError(
            f"{path}, rows {rows}, column 'naam': own area {code!r} has more than one name"
        )


def own_areas(
    set_id: str,
    path: Path,
    buurten: gpd.GeoDataFrame,
    label_nl: str = "",
    label_en: str = "",
) -> OwnAreas:
    """One set of own areas over the ``buurten`` (a boundary file's finest areas,
    indexed by code), from a mapping table or from polygons that are unions of them
    (:func:`polygons_to_mapping`).

    Raises :class:`~zicht.errors.BoundaryError` naming the file, row and column of a
    buurt code the boundary file does not have, or the polygon and the buurten it cuts.
    """
    where = f"{path} (own areas {set_id!r})"
    if Path(path).suffix.lower() in POLYGON_SUFFIXES:
        table = polygons_to_mapping(pyogrio.read_dataframe(path), buurten, where)
    else:
        try:
            table = read_mapping(path)
        except ValueError as e:
            raise BoundaryError(str(e)) from None
    unknown = ~table["buurtcode"].isin(buurten.index)
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise BoundaryError(
            f"{where}, row {row + 2}, column 'buurtcode': {quoted(table['buurtcode'].iloc[row])} "
            f"is not a buurt of the boundary file ({int(unknown.sum())} such row(s); codes "
            "of another year?)"
        )
    first = table.drop_duplicates("code").set_index("code")
    no_kinds = pd.Series("", index=first.index, dtype=object)
    kinds = first[KIND_COLUMN].fillna("") if KIND_COLUMN in first else no_kinds
    return OwnAreas(
        id=set_id,
        path=Path(path),
        buurt_of=pd.Series(
            table["code"].to_numpy(dtype=object),
            index=pd.Index(table["buurtcode"].to_numpy(dtype=object)),
        ),
        names=first["naam"],
        kinds=kinds,
        label_nl=label_nl,
        label_en=label_en,
    )


def polygons_to_mapping(
    polygons: gpd.GeoDataFrame, buurten: gpd.GeoDataFrame, where: str
) -> pd.DataFrame:
    """The mapping table of polygons (columns ``code``, ``naam``, optionally ``soort``)
    that are unions of ``buurten``: each buurt at least ``1 - AREA_TOLERANCE`` inside
    one polygon belongs to it.

    Raises :class:`~zicht.errors.BoundaryError` for a polygon that cuts through a
    buurt (takes more than ``AREA_TOLERANCE`` of it, and less than all): next to the
    buurt figures its own figure would give away the part of the buurt it takes.
    """
    polygons = polygons.rename(columns=str.lower)
    missing = [c for c in ("code", "naam") if c not in polygons.columns]
    if missing:
        raise BoundaryError(f"{where}: the polygons have no column(s) {missing}")
    if polygons.crs is None:
        raise BoundaryError(f"{where}: the polygons have no CRS")
    polygons = polygons.to_crs(buurten.crs).reset_index(drop=True)
    table = pd.DataFrame(
        {"code": polygons["code"].astype(str).str.strip(), "naam": polygons["naam"].astype(str)}
    )
    if KIND_COLUMN in polygons:
        table[KIND_COLUMN] = polygons[KIND_COLUMN].astype(str)
    share = _inside_share(polygons, buurten)
    cut = (share > AREA_TOLERANCE) & (share < 1 - AREA_TOLERANCE)
    if cut.any().any():
        i = int(np.flatnonzero(cut.any(axis=0).to_numpy())[0])
        cuts = sorted(share.index[cut.iloc[:, i].to_numpy()])
        raise BoundaryError(
            f"{where}: polygon {table['code'].iloc[i]!r} cuts through buurt(en) "
            f"{', '.join(cuts)}; own areas for sensitive figures must be unions of whole "
            "buurten: next to the buurt figures, the figure of an area that takes part of a "
            "buurt gives away that part (geographic differencing). Give a mapping table of "
            "buurten, or polygons that follow buurt boundaries"
        )
    inside = share >= 1 - AREA_TOLERANCE
    buurt, polygon = np.nonzero(inside.to_numpy())
    mapping = table.iloc[polygon].reset_index(drop=True)
    mapping.insert(0, "buurtcode", share.index[buurt])
    if mapping["buurtcode"].duplicated().any():
        twice = mapping["buurtcode"][mapping["buurtcode"].duplicated()].iloc[0]
        raise BoundaryError(f"{where}: buurt {twice} lies in two overlapping polygons")
    return mapping


def _inside_share(polygons: gpd.GeoDataFrame, buurten: gpd.GeoDataFrame) -> pd.DataFrame:
    """The share of each buurt's area (rows) inside each polygon (columns)."""
    share = np.zeros((len(buurten), len(polygons)))
    b_idx, p_idx = buurten.sindex.query(polygons.geometry, predicate="intersects")[::-1]
    if len(b_idx):
        pieces = buurten.geometry.values[b_idx].intersection(polygons.geometry.values[p_idx])
        areas = buurten.geometry.values[b_idx].area
        share[b_idx, p_idx] = pieces.area / np.where(areas > 0, areas, 1.0)
    return pd.DataFrame(share, index=buurten.index)
