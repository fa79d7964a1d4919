"""``dashboard.html``: one self-contained interactive page for policy teams.

The page draws the published area layers on a plain ``<canvas>`` with its own small
script (``templates/dashboard.js``): no map library, tiles, fonts or requests, so it
opens from ``file://`` on a laptop without internet, and the script is short enough to
read. Its data are one JSON block (``<script type="application/json" id="zicht-data">``)
that holds, per level, *every column of the GeoPackage layer as published* (and
nothing else; text columns dictionary-encoded), the geometry in a compact encoding,
the legends of the QGIS styles, and the ``indicators`` table.
:func:`read_dashboard_data` reads it back, and ``zicht audit`` compares it with the
GeoPackage column by column.

Geometry: each level is simplified as a coverage (:func:`shapely.coverage_simplify`:
neighbours keep one shared edge, so no gaps open between them), quantised to a grid
of :data:`QUANTUM` metres in RD New (EPSG:28992) and delta-encoded: a ring is
``[x0, y0, dx1, dy1, ...]`` in grid units from the level's lower-left corner.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from markupsafe import escape

from zicht.boundaries.codes import LEVELS as AREA_LEVELS
from zicht.engine.outputs.geopackage import GEOMETRY_COLUMN
from zicht.engine.outputs.language import (
    CLASS_LABELS,
    LEVEL_NAMES,
    LOW_POPULATION,
    POPULATION,
    class_breaks,
    class_decimals,
    class_legend,
    local_time,
    low_population,
    say,
)
from zicht.engine.outputs.styles import (
    HOTSPOT_COLOURS,
    INDICATOR_COLOURS,
    LISA_COLOURS,
    NO_VALUE,
    RISK_CLASSES,
    trend_colours,
)
from zicht.errors import OutputError

DATA_ID = "zicht-data"
LEVELS = tuple(reversed(AREA_LEVELS))  # from the top down
# simplification tolerance and grid per level, in metres: a buurt is a few hundred
# metres across, a gemeente tens of kilometres
TOLERANCE = {"buurt": 8.0, "wijk": 20.0, "gemeente": 60.0}
QUANTUM = {"buurt": 2.0, "wijk": 5.0, "gemeente": 10.0}
# context figures that make areas comparable (the first ones present are used); a
# gemeente is compared by size alone
SIMILAR_BY = (
    "inwoners",
    "bevolkingsdichtheid",
    "omgevingsadressendichtheid",
    "inkomen_per_inwoner",
    "woz_waarde",
    "huishoudensgrootte",
    "inwoners_65plus_aandeel",
)
SIMILAR_BY_GEMEENTE = ("inwoners",)
TEXT_SEP = "; "
YEAR_COLUMN = re.compile(r"^(?P<base>.+)_(?P<year>(19|20)\d\d)$")


@dataclass(frozen=True, kw_only=True)
class DashboardInputs:
    """What the dashboard shows; all of it published (the GeoPackage's layers)."""

    title: str
    attribution: str
    created: datetime
    layers: dict[str, gpd.GeoDataFrame]  # per level, as written to the GeoPackage
    indicators: pd.DataFrame  # the ``indicators`` table
    themes: dict[str, str] = field(default_factory=dict)  # theme id -> name
    theme_names_en: dict[str, str] = field(default_factory=dict)
    language: str = "nl"
    # trend id -> (label nl, label en): the ``trend_<id>`` columns' emerging hot spots
    trends: dict[str, tuple[str, str]] = field(default_factory=dict)
    models: pd.DataFrame | None = None  # the ``models`` table, for each model's skill


def build_dashboard(inputs: DashboardInputs) -> str:
    """The dashboard as one HTML string."""
    data = dashboard_data(inputs)
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # a JSON string cannot end the script block early: "</" is written as "<\\/"
    payload = payload.replace("</", "<\\/")
    parts = {
        "title": str(escape(inputs.title)),
        "language": inputs.language,
        "style": _asset("dashboard.css"),
        "data": payload,
        "words": _asset("dashboard-words.js"),
        "script": _asset("dashboard.js"),
    }
    # one pass: text put in (an area's name, the script) is never read as a placeholder
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m[1]], _asset("dashboard.html"))


def dashboard_data(inputs: DashboardInputs) -> dict[str, Any]:
    """The JSON the page embeds: meta data, the indicators table, and per level the
    published columns, geometry and legends."""
    levels = [lv for lv in LEVELS if lv in inputs.layers]
    return {
        "meta": {
            "title": inputs.title,
            "attribution": inputs.attribution,
            "created": local_time(inputs.created),
            "language": inputs.language,
            "themes": [
                {"id": t, "nl": name, "en": inputs.theme_names_en.get(t, name)}
                for t, name in inputs.themes.items()
            ],
            "levels": [
                {"id": lv, "nl": LEVEL_NAMES[lv], "en": say(LEVEL_NAMES[lv], "en")} for lv in levels
            ],
            "similar_by": {
                lv: [
                    c
                    for c in (SIMILAR_BY_GEMEENTE if lv == "gemeente" else SIMILAR_BY)
                    if c in inputs.layers[lv]
                ]
                for lv in levels
            },
            "classes": {
                kind: {c: list(labels) for c, labels in v.items()}
                for kind, v in CLASS_LABELS.items()
            },
            "no_value": NO_VALUE,
            "trends": [{"id": t, "nl": nl, "en": en} for t, (nl, en) in inputs.trends.items()],
            "skill": model_skill(inputs.models),
            "low_population": {"column": POPULATION, "below": LOW_POPULATION},
        },
        "indicators": _records(inputs.indicators),
        "series": _year_series(inputs.indicators),
        "levels": {lv: _level(inputs.layers[lv], lv, inputs.indicators) for lv in levels},
    }


def model_skill(models: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    """Per theme with a supervised model: how well it ranks areas it did not see (the
    spatial cross-validation's rank correlation and R², and the level)."""
    if models is None or not len(models) or "validation" not in models:
        return {}
    spatial = models[models["validation"] == "spatial CV"]
    return {
        str(row.theme): {
            "level": str(row.level),
            "spearman": _json_value(row.spearman),
            "r2": _json_value(row.r2),
        }
        for row in spatial.itertuples(index=False)
    }


def read_dashboard_data(path: Path) -> dict[str, Any]:
    """The JSON block embedded in a ``dashboard.html``."""
    text = Path(path).read_text(encoding="utf-8")
    match = re.search(
        rf'<script type="application/json" id="{DATA_ID}">(.*?)</script>', text, re.DOTALL
    )
    if match is None:
        raise OutputError(f"{path}: no data block <script id={DATA_ID!r}>")
    try:
        data = json.loads(match.group(1))
    except json.JSONDecodeError as error:
        raise OutputError(f"{path}: the data block is not valid JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("levels"), dict):
        raise OutputError(f"{path}: the data block has no 'levels'")
    try:
        for level in data["levels"].values():
            level["columns"] = {k: decode_text(v) for k, v in level["columns"].items()}
    except (KeyError, TypeError, IndexError, AttributeError):
        raise OutputError(f"{path}: the data block's columns are not readable") from None
    return data


def published_columns(layer: gpd.GeoDataFrame) -> dict[str, Any]:
    """Every column of a published layer but its geometry, as JSON values (None for a
    missing value: a withheld figure is absent, never a number); text columns
    dictionary-encoded (:func:`encode_text`)."""
    columns: dict[str, Any] = {}
    for name in layer.columns:
        if name == GEOMETRY_COLUMN or name == layer.geometry.name:
            continue
        column = layer[name]
        values = json_values(column)
        texts = not _numeric(column) and any(isinstance(v, str) for v in values)
        columns[name] = encode_text(values) if texts and name not in ("code", "naam") else values
    return columns


def json_values(column: pd.Series) -> list[Any]:
    """The values of a column as JSON values (as :func:`_json_value` makes each): a
    column of numpy numbers at once, other columns value by value."""
    if _numeric(column):
        values = column.to_numpy()
        if values.dtype.kind == "b":
            return values.astype(np.int64).tolist()
        if values.dtype.kind in "iu":
            return values.tolist()
        out = values.astype(object)  # Python floats
        out[np.isnan(values)] = None
        return out.tolist()
    return [v if type(v) is str else _json_value(v) for v in column.tolist()]


def _numeric(column: pd.Series) -> bool:
    """Whether a column holds numpy numbers (floats, integers, booleans) only."""
    return isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf"


def encode_text(values: list[str | None]) -> dict[str, Any]:
    """A text column as its distinct parts (split at ``"; "``) and, per area, the
    index of its part or the list of them (None where missing). Class columns and the
    drivers repeat the same few phrases over thousands of areas: this keeps the
    national page small. :func:`decode_text` (and the page's script) undo it.

    >>> encode_text(["HH", None, "HH", "a; b"])
    {'sep': '; ', 'parts': ['HH', 'a', 'b'], 'codes': [0, None, 0, [1, 2]]}
    >>> decode_text(encode_text(["HH", None, "HH", "a; b"]))
    ['HH', None, 'HH', 'a; b']
    """
    parts: dict[str, int] = {}
    known: dict[str, Any] = {}  # a text seen before: its code (its parts are known)
    codes: list[Any] = []
    for value in values:
        if value is None:
            codes.append(None)
            continue
        text = str(value)
        if text not in known:
            mine = [parts.setdefault(part, len(parts)) for part in text.split(TEXT_SEP)]
            known[text] = mine[0] if len(mine) == 1 else mine
        codes.append(known[text])
    return {"sep": TEXT_SEP, "parts": list(parts), "codes": codes}


def decode_text(column: Any) -> Any:
    """A column as :func:`encode_text` wrote it, back to its values (a plain list is
    returned as it is)."""
    if not isinstance(column, dict):
        return column
    parts, sep = column["parts"], column["sep"]
    return [
        None
        if code is None
        else sep.join(parts[k] for k in code)
        if isinstance(code, list)
        else parts[code]
        for code in column["codes"]
    ]


def _level(layer: gpd.GeoDataFrame, level: str, indicators: pd.DataFrame) -> dict[str, Any]:
    """One level: its columns, geometry, label points and legends."""
    geometry, origin = encode_geometry(layer.geometry, TOLERANCE[level], QUANTUM[level])
    points = shapely.get_coordinates(shapely.point_on_surface(layer.geometry.to_numpy()))
    q = QUANTUM[level]
    return {
        "columns": published_columns(layer),
        "origin": origin,
        "quantum": q,
        "geometry": geometry,
        "points": np.round((points - origin) / q).astype(np.int64).tolist(),
        "legends": _legends(layer, indicators),
    }


def encode_geometry(
    geometry: gpd.GeoSeries, tolerance: float, quantum: float
) -> tuple[list[list[list[list[int]]]], list[float]]:
    """Polygons simplified as a coverage, quantised and delta-encoded (see the module
    docstring); returns the encoded features and the grid's origin (metres, RD New)."""
    shapes = geometry.to_numpy()
    try:
        simple = shapely.coverage_simplify(shapes, tolerance, simplify_boundary=True)
    except (shapely.errors.GEOSException, TypeError, ValueError):  # each on its own
        simple = shapely.simplify(shapes, tolerance, preserve_topology=True)
    xmin, ymin = (float(v) for v in shapely.total_bounds(shapes)[:2])
    origin = [np.floor(xmin / quantum) * quantum, np.floor(ymin / quantum) * quantum]
    simple = np.where(shapely.is_missing(simple) | shapely.is_empty(simple), shapes, simple)
    # a repair may leave lines or points: polygons only
    parts, feature = shapely.get_parts(simple, return_index=True)
    polygons = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    parts, feature = parts[polygons], feature[polygons]
    rings, polygon = shapely.get_rings(parts, return_index=True)  # exterior first
    encoded = _encoded_rings(rings, origin, quantum)
    by_polygon: list[list[list[int]]] = [[] for _ in parts]
    for ring, of in zip(encoded, polygon):
        if ring is not None:
            by_polygon[of].append(ring)
    features: list[list[list[list[int]]]] = [[] for _ in shapes]
    for rings_of, of in zip(by_polygon, feature):
        features[of].append(rings_of)
    return features, origin


def _encoded_rings(rings: np.ndarray, origin: list[float], quantum: float) -> list[Any]:
    """Each ring as ``[x0, y0, dx1, dy1, ...]`` in grid units (its closing point left
    out, repeated grid points dropped), or None where fewer than three points remain."""
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(ring, minlength=len(rings))
    closing = np.cumsum(counts)[counts > 0] - 1
    open_ = np.ones(len(xy), dtype=bool)
    open_[closing] = False
    xy, ring = xy[open_], ring[open_]
    grid = np.round((xy - origin) / quantum).astype(np.int64)
    starts = np.ones(len(grid), dtype=bool)
    starts[1:] = ring[1:] != ring[:-1]
    keep = starts.copy()
    keep[1:] |= np.any(grid[1:] != grid[:-1], axis=1)
    grid, ring, starts = grid[keep], ring[keep], starts[keep]
    delta = grid.copy()
    delta[1:][~starts[1:]] -= grid[:-1][~starts[1:]]
    flat = delta.ravel().tolist()
    ends = np.cumsum(np.bincount(ring, minlength=len(rings)))
    begins = ends - np.bincount(ring, minlength=len(rings))
    return [
        flat[2 * b : 2 * e] if e - b >= 3 else None for b, e in zip(begins.tolist(), ends.tolist())
    ]


def _legends(layer: gpd.GeoDataFrame, indicators: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The classes of every map the page can draw: ``range`` classes ``[low, high,
    colour, label_nl, label_en]`` (the top class includes its upper edge) or
    ``category`` classes ``[code, colour]``. As the QGIS styles draw them, but for the
    rates of areas with few inhabitants, which are kept out of the breaks."""
    indicator_ids = set(indicators["id"].astype(str))
    small = low_population(layer, indicators)
    legends: dict[str, dict[str, Any]] = {}
    for column in layer.columns:
        head = column.split("_")[0]
        if column in indicator_ids:
            values = layer[column]
            if column in small:
                values = values.where(~small[column])
            legend = indicator_legend(values)
            if legend is not None:
                legends[column] = legend
        elif column.startswith("risk_") and not column.startswith(("risk_low_", "risk_high_")):
            classes = [
                [lo, min(hi, 100.0), colour, f"{lo:g}-{min(hi, 100):g}", f"{lo:g}-{min(hi, 100):g}"]
                for lo, hi, colour in RISK_CLASSES
            ]
            legends[column] = {"type": "range", "classes": classes}
        elif head in ("hotspot", "lisa", "trend"):
            colours = {"hotspot": HOTSPOT_COLOURS, "lisa": LISA_COLOURS}.get(head)
            legends[column] = {
                "type": "category",
                "kind": head,
                "classes": [
                    [code, colour] for code, colour in (colours or trend_colours()).items()
                ],
            }
    return legends


def indicator_legend(values: pd.Series) -> dict[str, Any] | None:
    """Five classes of an indicator's published values, as the QGIS style has them."""
    breaks = class_breaks(values)
    if not breaks:
        return None
    digits = class_decimals(values)
    return {
        "type": "range",
        "classes": [
            [lo, hi, colour, nl, en]
            for lo, hi, colour, nl, en in zip(
                breaks[:-1],
                breaks[1:],
                INDICATOR_COLOURS,
                class_legend(breaks, digits, "nl"),
                class_legend(breaks, digits, "en"),
            )
        ],
    }


def _year_series(indicators: pd.DataFrame) -> list[dict[str, Any]]:
    """Indicators that are one figure per year (``misdrijven_2021`` ...): the base, its
    label and the years with their column, for the profile's chart."""
    found: dict[str, list[tuple[int, str]]] = {}
    labels: dict[str, tuple[str, str]] = {}
    for row in indicators.itertuples(index=False):
        match = YEAR_COLUMN.match(str(row.id))
        if match is None:
            continue
        base, year = match["base"], int(match["year"])
        found.setdefault(base, []).append((year, str(row.id)))
        labels[base] = (
            str(row.label_nl).replace(str(year), "").strip(),
            str(row.label_en).replace(str(year), "").strip(),
        )
    return [
        {"id": base, "nl": labels[base][0], "en": labels[base][1], "years": sorted(years)}
        for base, years in found.items()
        if len(years) >= 2
    ]


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {key: _json_value(value) for key, value in row.items()}
        for row in table.to_dict(orient="records")
    ]


def _json_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


@cache
def _asset(name: str) -> str:
    return resources.files("zicht.engine.outputs").joinpath("templates", name).read_text("utf-8")
