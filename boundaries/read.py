"""Read CBS wijk and buurt boundaries (or any polygon file with a column mapping).

The result is a :class:`Boundaries`: one GeoDataFrame per level, indexed by CBS
code, in RD New (EPSG:28992), with valid MultiPolygons and a checked hierarchy.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from zicht.boundaries import codes as cbs_codes
from zicht.boundaries import schema as cbs_schema
from zicht.boundaries.geometry import RD_NEW, polygons_only, to_rd_new
from zicht.boundaries.hierarchy import AREA_COLUMNS, NUMBER_COLUMNS, dissolve
from zicht.boundaries.own_areas import OwnAreas
from zicht.boundaries.quality import (
    SLIVER,
    SUSPECT_COLUMNS,
    QualityRules,
    known_numbers,
    resolve_overlaps,
    suspect_areas,
)
from zicht.boundaries.selection import cut, select_areas
from zicht.errors import BoundaryError

_TRUE_WATER = {"JA", "J", "TRUE", "1", "YES", "Y"}
# What the readers (pyogrio, pandas, pyarrow) raise for a file they cannot read or
# parse: OSError (missing, unreadable), ValueError (pandas' ParserError and
# EmptyDataError, UnicodeDecodeError, pyarrow's ArrowInvalid), TypeError (a column that
# cannot become text) and RuntimeError (pyogrio's DataSourceError and DataLayerError).
# Anything else is a bug and is not dressed up as a bad file.
READ_ERRORS: tuple[type[Exception], ...] = (OSError, ValueError, TypeError, RuntimeError)
log = logging.getLogger("zicht")


@dataclass
class BoundaryReport:
    """What reading a boundary file found and changed; printed by ``zicht boundaries check``."""

    path: str
    layer: str
    schema: str
    level: str
    source_crs: str
    counts: dict[str, int] = field(default_factory=dict)
    repaired: list[str] = field(default_factory=list)
    dropped_non_polygon: dict[str, int] = field(default_factory=dict)
    dropped_empty: list[str] = field(default_factory=list)
    water: list[str] = field(default_factory=list)
    # overlaps given to the larger area (boundaries.quality.resolve_overlaps)
    overlaps_resolved: list[str] = field(default_factory=list)
    water_dropped: bool = True
    built_by_dissolving: list[str] = field(default_factory=list)
    rings_closed: int = 0
    suspects: list[dict[str, str]] = field(default_factory=list)  # code, level, problem, detail
    # coarser areas left out of a selection because it holds only part of them
    partial: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        """The report as lines of text, as ``zicht boundaries check`` prints it."""
        lines = [
            f"file:      {self.path}",
            f"layer:     {self.layer} (schema {self.schema}, level {self.level})",
            f"CRS:       {self.source_crs}"
            + ("" if self.source_crs == "EPSG:28992" else " -> reprojected to EPSG:28992"),
        ]
        for level, count in self.counts.items():
            built = " (built by dissolving)" if level in self.built_by_dissolving else ""
            lines.append(f"{cbs_codes.LAYER_NAMES[level] + ':':<11}{count:,}{built}")
        lines.append(
            f"repaired:  {len(self.repaired)} invalid polygon(s)"
            + (f": {', '.join(self.repaired[:20])}" if self.repaired else "")
        )
        dropped = ", ".join(f"{n} {kind}" for kind, n in self.dropped_non_polygon.items())
        lines.append(f"dropped:   {dropped or 'no'} non-polygon feature(s)")
        if self.dropped_empty:
            lines.append(
                f"empty:     {len(self.dropped_empty)} feature(s) without geometry "
                f"dropped: {', '.join(self.dropped_empty[:20])}"
            )
        verb = "dropped" if self.water_dropped else "kept and flagged"
        lines.append(f"water:     {len(self.water)} water-only area(s) {verb}")
        lines.append("codes:     all valid and unique; every buurt lies in its wijk and gemeente")
        if self.built_by_dissolving:
            closed = f"{self.rings_closed:,} gap(s)"
            lines.append(f"gaps:      {closed} between neighbours closed while dissolving")
        if self.partial:
            lines.append(
                f"partial:   {len(self.partial)} area(s) only partly selected, left out: "
                + ", ".join(self.partial[:20])
            )
        if self.overlaps_resolved:
            lines.append(
                f"overlaps:  {len(self.overlaps_resolved)} resolved, the shared ground given "
                "to the larger area: " + "; ".join(self.overlaps_resolved[:10])
            )
        lines.append(f"suspect:   {len(self.suspect_codes)} area(s)")
        for row in self.suspects[:50]:
            lines.append(f"  - {row['code']} ({row['level']}): {row['problem']}, {row['detail']}")
        if len(self.suspects) > 50:
            lines.append(f"  - and {len(self.suspects) - 50} more")
        return lines

    @property
    def suspect_codes(self) -> list[str]:
        """The codes of the suspect areas, each once."""
        return list(dict.fromkeys(row["code"] for row in self.suspects))


@dataclass
class Boundaries:
    """Areas per level (``buurt``, ``wijk``, ``gemeente``), each indexed by code.

    Every frame has the columns ``naam``, ``niveau``, ``wijkcode``, ``gemeentecode``,
    ``water`` and a MultiPolygon ``geometry`` in EPSG:28992. ``levels`` holds the
    finest level read and every coarser one.
    """

    levels: dict[str, gpd.GeoDataFrame]
    report: BoundaryReport
    # own areas (unions of the buurten): computed and protected with the levels
    own_areas: tuple[OwnAreas, ...] = ()

    @property
    def finest(self) -> str:
        return next(lv for lv in cbs_codes.LEVELS if lv in self.levels)

    @property
    def areas(self) -> gpd.GeoDataFrame:
        """The areas of the finest level: the cells every indicator is computed on."""
        return self.levels[self.finest]

    def from_level(self, level: str, where: str) -> Boundaries:
        """The same boundaries with ``level`` as the finest (for tables keyed on wijk
        or gemeente codes); a level finer than the file's is an error."""
        if level not in self.levels:
            raise BoundaryError(
                f"{where} is {level!r}, finer than the file's finest level {self.finest!r}"
            )
        kept = cbs_codes.LEVELS[cbs_codes.LEVELS.index(level) :]
        levels = {lv: self.levels[lv] for lv in kept if lv in self.levels}
        counts = {lv: n for lv, n in self.report.counts.items() if lv in levels}
        return Boundaries(levels, replace(self.report, counts=counts))

    def cut(self, select: Sequence[str], where: str) -> Boundaries:
        """The selected areas and the coarser areas wholly inside them
        (:func:`~zicht.boundaries.selection.cut`)."""
        return cut(self, select, where)


def list_layers(path: str | Path) -> list[str]:
    """Names of the vector layers in ``path``; a clear error when it cannot be opened."""
    path = Path(path)
    if not path.exists():
        raise BoundaryError(f"{path}: boundary file not found")
    try:
        return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except READ_ERRORS as exc:
        raise BoundaryError(f"{path}: cannot be read as a vector file ({exc})") from None


def read_boundaries(
    path: str | Path,
    layer: str | None = None,
    columns: Mapping[str, str] | None = None,
    drop_water: bool = True,
    select: Sequence[str] | None = None,
    quality: QualityRules | None = None,
    workers: int = 1,
) -> Boundaries:
    """Read, repair and check a boundary file.

    Parameters
    ----------
    path
        GeoPackage, GeoJSON or shapefile with buurt (or wijk, or gemeente) polygons.
    layer
        Layer to read. Default: ``buurten`` if present, else the only layer.
    columns
        Mapping of logical fields (``code``, ``naam``, ``wijkcode``, ``wijknaam``,
        ``gemeentecode``, ``gemeentenaam``, ``water``) to the file's columns. Needed
        only where the file does not use a CBS schema; overrides the schema otherwise.
    drop_water
        Drop areas flagged as water-only (they have no inhabitants and no neighbours
        on land). When False they are kept with ``water`` True.
    select
        Keep only these areas: gemeente, wijk or buurt codes (``GM0599``,
        ``WK036304``), or province names where the file has a ``provincie`` column;
        the coarser levels are built from what is kept. A code the file does not have
        is an error.
    quality
        When an area is suspect (:class:`~zicht.boundaries.quality.QualityRules`); the
        suspects of every level are in ``report.suspects``.
    workers
        Threads that dissolve the coarser levels.

    Raises
    ------
    BoundaryError
        Naming the file, layer, column or codes at fault; all code problems at once.

    Examples
    --------
    >>> from zicht.engine.data import DEMO_BOUNDARIES
    >>> b = read_boundaries(DEMO_BOUNDARIES, columns={"naam": "ams_buurtnaam"})
    >>> len(b.levels["buurt"]), b.levels["gemeente"].index.tolist()
    (518, ['GM0363'])
    """
    path = Path(path)
    layer = _choose_layer(path, layers := list_layers(path), layer)
    frame = _read_layer(path, layer, where := f"{path} (layer {layer!r})")
    schema_name, level, mapping = _column_mapping(frame, columns, where)
    crs = frame.crs.to_string() if frame.crs else "none"
    report = BoundaryReport(str(path), layer, schema_name or "custom", level, crs)
    report.water_dropped, rules = drop_water, quality or QualityRules()
    reading = _Reading(path, layers, report, drop_water, rules, workers)
    levels = {level: _finest_level(reading, frame, mapping, select)}
    for parent in cbs_codes.LEVELS[cbs_codes.LEVELS.index(level) + 1 :]:
        levels[parent] = _parent_level(reading, parent, levels)
    _report_levels(reading, levels)
    return Boundaries(levels=levels, report=report)


@dataclass(frozen=True)
class _Reading:
    """The boundary file being read, and how: what reading each level needs."""

    path: Path
    layers: list[str]
    report: BoundaryReport  # filled in as the levels are read
    drop_water: bool
    quality: QualityRules
    workers: int = 1  # threads that dissolve the coarser levels

    @property
    def where(self) -> str:
        """The file and layer read, as error messages name them."""
        return f"{self.path} (layer {self.report.layer!r})"


def _finest_level(
    reading: _Reading,
    frame: gpd.GeoDataFrame,
    mapping: dict[str, str],
    select: Sequence[str] | None,
) -> gpd.GeoDataFrame:
    """The areas of the layer read (the finest level), standardised, without water
    (unless kept) and narrowed to ``select``; an error when none is left."""
    where = reading.where
    finest = _standardise(frame, mapping, reading.report.level, where, reading.report)
    if reading.drop_water and len(finest):
        finest = finest[~finest["water"]]
    if len(finest):
        finest, resolved = resolve_overlaps(finest, reading.quality)
        reading.report.overlaps_resolved += resolved
    if select:
        finest = select_areas(finest, select, where)
    if finest.empty:
        raise BoundaryError(
            f"{where}: no usable polygons left after dropping water and non-polygon features"
        )
    return finest


def _report_levels(reading: _Reading, levels: dict[str, gpd.GeoDataFrame]) -> None:
    """Count the areas of every level and list the suspect ones in the report."""
    report = reading.report
    report.counts = {lv: len(g) for lv, g in levels.items()}
    for g in levels.values():
        found = suspect_areas(g, g.get("inwoners"), reading.quality, g.get("oppervlakte"))
        report.suspects += found.to_dict("records")


def _column_mapping(
    frame: gpd.GeoDataFrame, columns: Mapping[str, str] | None, where: str
) -> tuple[str | None, str, dict[str, str]]:
    """The file's CBS schema (None: custom), its level and the mapping of logical fields
    to its columns; an error naming the column when the mapping does not fit the file."""
    detected = cbs_schema.detect(list(frame.columns))
    schema_name, level = detected if detected else (None, None)
    if columns and "code" in columns and columns["code"] in frame.columns:
        level = cbs_codes.level_of(cbs_codes.normalise_codes(frame[columns["code"]])) or level
    if level is None:
        raise BoundaryError(
            f"{where}: no area code column found; expected a CBS column (BU_CODE, buurtcode, "
            f"wijkcode, gemeentecode, ...) or a mapping for 'code' in [boundaries.columns]"
        )
    mapping = cbs_schema.resolve(list(frame.columns), level, schema_name, columns)
    unknown_fields = sorted(set(mapping) - set(cbs_schema.FIELDS))
    if unknown_fields:
        raise BoundaryError(
            f"{where}: unknown column mapping field(s) {unknown_fields}; "
            f"valid fields are {list(cbs_schema.FIELDS)}"
        )
    missing = {f: c for f, c in mapping.items() if c not in frame.columns}
    if missing:
        f, c = next(iter(missing.items()))
        raise BoundaryError(
            f"{where}: column {c!r} (mapped to {f!r}) is not in the layer; "
            f"columns are {list(frame.columns)}"
        )
    if "code" not in mapping:
        raise BoundaryError(f"{where}: no column mapped to 'code'")
    return schema_name, level, mapping


def _choose_layer(path: Path, layers: list[str], layer: str | None) -> str:
    if layer is not None:
        if layer not in layers:
            raise BoundaryError(f"{path}: no layer {layer!r}; layers are {layers}")
        return layer
    if "buurten" in layers:
        return "buurten"
    if len(layers) == 1:
        return layers[0]
    raise BoundaryError(f"{path}: several layers {layers}; say which one to read")


def _read_layer(path: Path, layer: str, where: str) -> gpd.GeoDataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notes on non-standard GeoJSON
            frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except READ_ERRORS as exc:
        raise BoundaryError(f"{where}: cannot be read ({exc})") from None
    if not isinstance(frame, gpd.GeoDataFrame) or "geometry" not in frame:
        raise BoundaryError(f"{where}: the layer has no geometry")
    if frame.empty:
        raise BoundaryError(f"{where}: the layer is empty")
    return frame


def _standardise(
    frame: gpd.GeoDataFrame, mapping: dict[str, str], level: str, where: str, report: BoundaryReport
) -> gpd.GeoDataFrame:
    """Reproject, repair, check codes and hierarchy; return the standard area frame."""
    codes = cbs_codes.normalise_codes(frame[mapping["code"]])
    numbers = {
        n: known_numbers(frame[mapping[n]] if n in mapping else None, frame.index)
        for n in NUMBER_COLUMNS
    }
    frame = to_rd_new(frame, where)
    frame, stats = polygons_only(frame, codes.to_numpy(dtype=object, na_value=None))
    report.repaired += stats.repaired
    for kind, count in stats.dropped_non_polygon.items():
        report.dropped_non_polygon[kind] = report.dropped_non_polygon.get(kind, 0) + count
        log.warning("%s: dropped %d %s feature(s); only polygons are areas", where, count, kind)
    report.dropped_empty += stats.dropped_empty
    report.suspects += _collapsed(codes, numbers["inwoners"], stats.dropped_codes, level)
    codes = codes.loc[frame.index]

    problems = cbs_codes.code_problems(codes, level)
    out = pd.DataFrame(index=frame.index)
    out["code"] = codes
    out["naam"] = _text(frame, mapping.get("naam")).fillna(codes)
    out["niveau"] = level
    for parent in ("wijk", "gemeente"):
        column = f"{parent}code"
        if cbs_codes.LEVELS.index(parent) <= cbs_codes.LEVELS.index(level):
            out[column] = codes if parent == level else pd.NA
            continue
        implied = cbs_codes.wijk_of(codes) if parent == "wijk" else cbs_codes.gemeente_of(codes)
        stated = cbs_codes.normalise_codes(_text(frame, mapping.get(column)))
        problems += cbs_codes.hierarchy_problems(codes, stated, level, parent)
        out[column] = stated.fillna(implied)
    out["water"] = _water(frame, mapping.get("water"))
    for name_field in ("wijknaam", "gemeentenaam", "provincie"):
        if name_field in mapping:
            out[name_field] = _text(frame, mapping[name_field])
    for number, values in numbers.items():
        if number in mapping:
            out[number] = values.loc[frame.index]

    if problems:
        shown = "; ".join(problems[:10])
        more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise BoundaryError(f"{where}: {len(problems)} code problem(s): {shown}{more}", problems)

    report.water += [str(c) for c in codes[out["water"]]]
    gdf = gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=RD_NEW)
    return gdf.set_index("code")


def _collapsed(
    codes: pd.Series, people: pd.Series, dropped: dict[str, str], level: str
) -> list[dict[str, str]]:
    """Areas whose polygon collapsed to a point or line: slivers without area, dropped.
    ``codes`` and ``people`` (inhabitants) per feature read."""
    rows = []
    for code, kind in dropped.items():
        n = people[(codes == code).to_numpy()].max()
        who = f" for {n:,.0f} inhabitants" if n >= 0 else ""
        detail = f"a {kind} without area{who}; left out"
        rows.append(dict(zip(SUSPECT_COLUMNS, (code, level, SLIVER, detail))))
    return rows


def _text(frame: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame[column].astype("string").str.strip().replace("", pd.NA)


def _water(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    if column is None:
        return np.zeros(len(frame), dtype=bool)
    values = frame[column].astype("string").str.strip().str.upper()
    return values.isin(_TRUE_WATER).fillna(False).to_numpy(dtype=bool)


def _parent_level(
    reading: _Reading, level: str, levels: dict[str, gpd.GeoDataFrame]
) -> gpd.GeoDataFrame:
    """The parent level's polygons: the file's own layer if it has one, else dissolved
    (with the hairline gaps between neighbours closed)."""
    child = levels[next(lv for lv in cbs_codes.LEVELS if lv in levels)]
    layer_name = cbs_codes.LAYER_NAMES[level]
    if layer_name in reading.layers and layer_name != reading.report.layer:
        parents = _parent_layer(reading, level, layer_name, child[f"{level}code"])
        if parents is not None:
            return parents
    names = None
    name_field = f"{level}naam"
    if name_field in child:
        names = child.groupby(f"{level}code")[name_field].first()
    reading.report.built_by_dissolving.append(level)
    parents, closed = dissolve(child, level, names, reading.quality.gap_width, reading.workers)
    reading.report.rings_closed += closed
    return parents


def _parent_layer(
    reading: _Reading, level: str, layer_name: str, child_codes: pd.Series
) -> gpd.GeoDataFrame | None:
    """The parent level from the file's own layer ``layer_name``, or None when that
    layer does not hold ``level`` areas in a CBS schema; every code the finer areas
    use must be in it."""
    where = f"{reading.path} (layer {layer_name!r})"
    frame = _read_layer(reading.path, layer_name, where)
    detected = cbs_schema.detect(list(frame.columns))
    if not detected or detected[1] != level:
        return None
    mapping = cbs_schema.resolve(list(frame.columns), level, detected[0], None)
    parents = _standardise(frame, mapping, level, where, reading.report)
    if reading.drop_water:
        parents = parents[~parents["water"]]
    absent = sorted(set(child_codes) - set(parents.index))
    if absent:
        raise BoundaryError(
            f"{where}: {len(absent)} {level} code(s) used by the finer areas are "
            f"missing: {', '.join(absent[:10])}",
            [f"missing {level} {c}" for c in absent],
        )
    return parents.loc[sorted(set(child_codes))][_with_numbers(parents)]


def _with_numbers(frame: gpd.GeoDataFrame) -> list[str]:
    return [*AREA_COLUMNS[:-1], *(n for n in NUMBER_COLUMNS if n in frame), "geometry"]
