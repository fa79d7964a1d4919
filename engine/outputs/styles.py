"""QGIS styles for the GeoPackage: a ``layer_styles`` table QGIS reads on opening.

Each area layer gets, per theme, a risk map (five classes of the 0-100 score, light
to dark red) and a hotspot map (Gi* classes, red for hot and blue for cold, grey for
not significant), a LISA map, a map per trend and per indicator with ``map = true``
(five classes of its published values, in blue). Areas without a value are hatched
grey, and those withheld by disclosure control are labelled so. The risk map of the
best-covered theme is the layer's default style, so the layer opens styled; a layer
without scores opens with a transparent boundary style.

Every style carries the fields' aliases (their names in the run's language) and, for
class columns, a value map: the GeoPackage keeps machine-readable codes (``hot 95%``)
and QGIS shows their labels (``hotspot (95%)``). Risk maps outline the hotspots; trend
maps list only the classes that occur; outlines and labels follow the layer's level
(:mod:`engine.outputs.symbols`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd

from zicht.engine.outputs.geopackage import GEOMETRY_COLUMN
from zicht.engine.outputs.language import (
    CLASS_LABELS,
    class_breaks,
    class_decimals,
    class_kind,
    class_label,
    class_legend,
)
from zicht.engine.outputs.sld import style_sld
from zicht.engine.outputs.symbols import LayerLook, fill_symbol, hotspot_outline, labels

RISK_CLASSES = [
    (0, 20, "#fef0d9"),
    (20, 40, "#fdcc8a"),
    (40, 60, "#fc8d59"),
    (60, 80, "#e34a33"),
    (80, 100.01, "#b30000"),
]
HOTSPOT_COLOURS = {
    "hot 99%": "#b2182b",
    "hot 95%": "#ef8a62",
    "hot 90%": "#fddbc7",
    "not significant": "#f0f0f0",
    "cold 90%": "#d1e5f0",
    "cold 95%": "#67a9cf",
    "cold 99%": "#2166ac",
}
LISA_COLOURS = {
    "HH": "#d7191c",
    "HL": "#fdae61",
    "LH": "#abd9e9",
    "LL": "#2c7bb6",
    "not significant": "#f0f0f0",
}
# a location quotient: blue where a branche is rarer than in the whole run, red where
# it is more common
LQ_CLASSES = [
    (0, 0.5, "#2166ac"),
    (0.5, 0.8, "#92c5de"),
    (0.8, 1.25, "#f7f7f7"),
    (1.25, 2, "#f4a582"),
    (2, 1e9, "#b2182b"),
]
# an indicator's own map: blue, so that it is never read as a risk score
INDICATOR_COLOURS = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]
NO_VALUE = "#d9d9d9"
SUSPECT_COLOUR = "#9e9ac8"  # lilac: no score for its geometry, not for disclosure

WORDS = {
    "nl": {
        "risk": "Risico",
        "hotspots": "Hotspots",
        "lisa": "LISA",
        "trend": "Trend",
        "map": "Kaart",
        "boundaries": "Grenzen",
        "no_score": "geen score (gebiedsregel of geen cijfers)",
        "no_value": "onderdrukt of geen cijfer",
        "withheld": "onderdrukt",
        "area": "gebied",
        "lq": "Locatiequotiënt",
        "lq_top": "2 of meer",
        "hotspot": "hotspot (Gi*)",
        "suspect": "geen score: verdachte geometrie",
        "sliver": "snipper",
        "overlap": "overlap",
    },
    "en": {
        "risk": "Risk",
        "hotspots": "Hot spots",
        "lisa": "LISA",
        "trend": "Trend",
        "map": "Map",
        "boundaries": "Boundaries",
        "no_score": "no score (area rule or no figures)",
        "no_value": "withheld or no figure",
        "withheld": "withheld",
        "area": "area",
        "lq": "Location quotient",
        "lq_top": "2 or more",
        "hotspot": "hot spot (Gi*)",
        "suspect": "no score: suspect geometry",
        "sliver": "sliver",
        "overlap": "overlap",
    },
}


@dataclass(kw_only=True)
class StyleSet:
    """What the styles of a run show: theme ids -> names (in order), indicators with a
    map of their own (id -> label), field aliases, per layer and theme how its score
    is made (put in each risk style's description, which QGIS shows), the language."""

    themes: dict[str, str]
    maps: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, dict[str, str]] = field(default_factory=dict)
    language: str = "nl"
    look: LayerLook = field(default_factory=LayerLook)  # the layer's; set per layer
    # areas left out of the statistics for their geometry: code -> problem (sliver, ...)
    suspects: dict[str, str] = field(default_factory=dict)


def layer_styles(layers: dict[str, gpd.GeoDataFrame], styles: StyleSet) -> pd.DataFrame:
    """The ``layer_styles`` rows for the feature layers (name -> frame as written)."""
    rows = []
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    words = WORDS[styles.language]
    for layer, frame in layers.items():
        mine = replace(styles, look=LayerLook.of(layer))
        found = _layer_styles(frame, mine, styles.descriptions.get(layer, {}))
        # a transparent boundary style on every layer: the default where nothing is scored
        found.append((words["boundaries"], _qml(frame, mine, [], None, outline=True), "", 1e-9))
        default = int(np.argmax([coverage for *_, coverage in found]))
        for k, (name, qml, how, _) in enumerate(found):
            rows.append(
                {
                    "f_table_catalog": "",
                    "f_table_schema": "",
                    "f_table_name": layer,
                    "f_geometry_column": GEOMETRY_COLUMN,
                    "styleName": name,
                    "styleQML": qml,
                    "styleSLD": style_sld(qml, layer, name),
                    "useAsDefault": k == default,
                    "description": f"zicht: {name}. {how}".strip(),
                    "owner": "",
                    "ui": None,
                    "update_time": now,
                }
            )
    return pd.DataFrame(rows)


Style = tuple[str, str, str, float]  # name, QML, description, coverage


def _layer_styles(
    frame: gpd.GeoDataFrame, styles: StyleSet, descriptions: dict[str, str]
) -> list[Style]:
    """(name, QML, description, coverage) per style of one layer; only risk styles
    have a coverage of 0 or more (the boundary style has 0), so that the default is
    the best-covered risk map."""
    return (
        _theme_styles(frame, styles, descriptions)
        + _trend_styles(frame, styles)
        + _lq_styles(frame, styles)
        + _map_styles(frame, styles)
    )


def _theme_styles(
    frame: gpd.GeoDataFrame, styles: StyleSet, descriptions: dict[str, str]
) -> list[Style]:
    """Per scored theme: its risk in classes, its hotspots and its LISA clusters."""
    words = WORDS[styles.language]
    columns = set(frame.columns)
    found = []
    for theme, theme_name in styles.themes.items():
        risk = f"risk_{theme}"
        if risk not in columns:
            continue
        how = descriptions.get(theme, "")
        rules = [
            (f'"{risk}" >= {lo} AND "{risk}" < {hi}', f"{lo:g} - {min(hi, 100):g}", c)
            for lo, hi, c in RISK_CLASSES
        ]
        coverage = float(frame[risk].notna().mean())
        hot = f"hotspot_{theme}"
        # the hotspots outlined over the risk classes, as in the report's maps
        over = [(f"\"{hot}\" LIKE 'hot%'", words["hotspot"])] if hot in columns else []
        qml = _qml(frame, styles, rules, risk, outlines=over)
        found.append((f"{words['risk']} {theme_name}", qml, how, coverage))
        for kind, colours in (("hotspot", HOTSPOT_COLOURS), ("lisa", LISA_COLOURS)):
            column = f"{kind}_{theme}"
            if column in columns:
                title = words["hotspots" if kind == "hotspot" else "lisa"]
                qml = _qml(frame, styles, _class_rules(column, kind, colours, styles), column)
                found.append((f"{title} {theme_name}", qml, how, -1.0))
    return found


def _trend_styles(frame: gpd.GeoDataFrame, styles: StyleSet) -> list[Style]:
    found = []
    for column in sorted(c for c in frame.columns if c.startswith("trend_")):
        # only the classes that occur: the legend lists what the map shows
        present = set(frame[column].dropna())
        colours = {code: c for code, c in trend_colours().items() if code in present}
        qml = _qml(frame, styles, _class_rules(column, "trend", colours, styles), column)
        found.append((styles.aliases.get(column, column), qml, "", -1.0))
    return found


def _lq_styles(frame: gpd.GeoDataFrame, styles: StyleSet) -> list[Style]:
    """The location quotients of the branche layers, in classes around 1."""
    words = WORDS[styles.language]
    found = []
    for column in [c for c in frame.columns if c.startswith("lq_")]:
        rules = [
            (
                f'"{column}" >= {lo!r} AND "{column}" < {hi!r}',
                words["lq_top"] if hi > 100 else f"{lo:g} - {hi:g}".replace(".", ","),
                colour,
            )
            for lo, hi, colour in LQ_CLASSES
        ]
        if styles.language == "en":
            rules = [(f, label.replace(",", "."), c) for f, label, c in rules]
        title = f"{words['lq']} {styles.aliases.get(column, column)}"
        found.append((title, _qml(frame, styles, rules, column), "", -1.0))
    return found


def _map_styles(frame: gpd.GeoDataFrame, styles: StyleSet) -> list[Style]:
    """The indicators with a map of their own, in five classes."""
    words = WORDS[styles.language]
    found = []
    for indicator, label in styles.maps.items():
        if indicator in frame.columns:
            rules = _indicator_rules(frame[indicator], indicator, styles.language)
            if rules:
                qml = _qml(frame, styles, rules, indicator)
                found.append((f"{words['map']} {label}", qml, "", -1.0))
    return found


def _class_rules(
    column: str, kind: str, colours: dict[str, str], styles: StyleSet
) -> list[tuple[str, str, str]]:
    return [
        (f"\"{column}\" = '{code}'", str(class_label(kind, code, styles.language)), colour)
        for code, colour in colours.items()
    ]


def trend_colours() -> dict[str, str]:
    """A distinct colour per trend class: hot trends in warm hues (yellow to dark red,
    darker the more lasting), cold ones in cool hues (light green to dark blue)."""
    warm = ["#ffd92f", "#fdb462", "#e78ac3", "#bc80bd", "#fb8072", "#ff7f00", "#e31a1c", "#800026"]
    cool = ["#ccebc5", "#b3de69", "#8dd3c7", "#80b1d3", "#a6cee3", "#1f78b4", "#08519c", "#081d58"]
    names = [
        "new",
        "sporadic",
        "oscillating",
        "historical",
        "consecutive",
        "diminishing",
        "persistent",
        "intensifying",
    ]
    colours = dict(zip(names, warm))
    colours |= {f"{name} cold": colour for name, colour in zip(names, cool)}
    colours["no pattern"] = "#f0f0f0"
    return colours


def _indicator_rules(values: pd.Series, column: str, language: str) -> list[tuple[str, str, str]]:
    """Five classes of the published values (fifths of the areas), in blue."""
    breaks = class_breaks(values)
    legend = class_legend(breaks, class_decimals(values), language)
    rules = []
    for k, (lo, hi, label, colour) in enumerate(
        zip(breaks[:-1], breaks[1:], legend, INDICATOR_COLOURS)
    ):
        upper = "<=" if k == len(breaks) - 2 else "<"
        rules.append((f'"{column}" >= {lo!r} AND "{column}" {upper} {hi!r}', label, colour))
    return rules


def _qml(
    frame: gpd.GeoDataFrame,
    styles: StyleSet,
    rules: list[tuple[str, str, str]],
    column: str | None,
    outline: bool = False,
    outlines: list[tuple[str, str]] | None = None,
) -> str:
    """A rule-based style: ``rules`` (filter, legend label, colour) after one for areas
    without a value (hatched grey), and ``outlines`` (filter, legend label) drawn over
    them; the fields' aliases and value maps; the areas' names, and the withheld label
    where ``column`` has no value and disclosure control withheld the area."""
    words = WORDS[styles.language]
    root = ET.Element(
        "qgis",
        {
            "version": "3.28.0",
            "styleCategories": "Symbology|Labeling|Fields|Forms",
            "labelsEnabled": "1",
        },
    )
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        {"type": "RuleRenderer", "symbollevels": "0", "enableorderby": "0", "forceraster": "0"},
    )
    rules_el = ET.SubElement(renderer, "rules", {"key": "root"})
    symbols = ET.SubElement(renderer, "symbols")
    if outline:
        everything = [("ELSE", words["area"], "")]
    else:
        empty = words["no_score"] if column and column.startswith("risk_") else words["no_value"]
        everything = [(f'"{column}" IS NULL', empty, NO_VALUE), *rules]
    for k, (expression, label, colour) in enumerate(everything):
        _rule(rules_el, k, expression, label)
        symbols.append(fill_symbol(str(k), colour, not outline and k == 0, styles.look))
    for k, (expression, label) in enumerate(outlines or [], start=len(everything)):
        _rule(rules_el, k, expression, label)
        symbols.append(hotspot_outline(str(k)))
    suspects = _suspects(frame, styles) if column is not None else {}
    if suspects:
        # drawn over the "no score" fill: these areas have no score for their geometry
        k = len(everything) + len(outlines or [])
        listed = ", ".join(f"'{code}'" for code in suspects)
        _rule(rules_el, k, f'"code" IN ({listed})', words["suspect"])
        symbols.append(fill_symbol(str(k), SUSPECT_COLOUR, True, styles.look))
    reasons = {code: f"{words['suspect']} ({words[p]})" for code, p in suspects.items()}
    labels(root, column, words["withheld"], styles.look, reasons)
    _fields(root, frame, styles)
    ET.SubElement(root, "layerGeometryType").text = "2"
    xml = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + xml


def _suspects(frame: gpd.GeoDataFrame, styles: StyleSet) -> dict[str, str]:
    """The suspect areas of this layer: code -> problem."""
    if not styles.suspects or "code" not in frame:
        return {}
    return {str(c): styles.suspects[str(c)] for c in frame["code"] if str(c) in styles.suspects}


def _rule(parent: ET.Element, k: int, expression: str, label: str) -> None:
    ET.SubElement(
        parent, "rule", {"key": f"r{k}", "filter": expression, "label": label, "symbol": str(k)}
    )


def _fields(root: ET.Element, frame: gpd.GeoDataFrame, styles: StyleSet) -> None:
    """Aliases for every field QGIS shows, and value maps (code -> label) for classes."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    configuration = ET.SubElement(root, "fieldConfiguration")
    for column in columns:
        kind = class_kind(column)
        if kind is None or kind == "estimated":
            continue
        field_el = ET.SubElement(configuration, "field", {"name": column})
        widget = ET.SubElement(field_el, "editWidget", {"type": "ValueMap"})
        config = ET.SubElement(widget, "config")
        outer = ET.SubElement(config, "Option", {"type": "Map"})
        entries = ET.SubElement(outer, "Option", {"type": "List", "name": "map"})
        for code in CLASS_LABELS[kind]:
            entry = ET.SubElement(entries, "Option", {"type": "Map"})
            ET.SubElement(
                entry,
                "Option",
                {
                    "type": "QString",
                    "name": str(class_label(kind, code, styles.language)),
                    "value": code,
                },
            )
    aliases = ET.SubElement(root, "aliases")
    for k, column in enumerate(columns):
        name = styles.aliases.get(column)
        if name:
            ET.SubElement(aliases, "alias", {"field": column, "index": str(k), "name": name})
