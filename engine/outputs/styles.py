"""QGIS styles for the GeoPackage: a ``layer_styles`` table QGIS reads on opening.

Each area layer gets, per theme, a risk map (five classes of the 0-100 score, light
to dark red) and a hotspot map (Gi* classes, red for hot and blue for cold, grey for
not significant). Areas without a published score are hatched grey, and areas whose
figures were withheld by the area rule are labelled "onderdrukt". The first theme's
risk map is the layer's default style, so the layer opens styled.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pandas as pd

from engine.outputs.geopackage import GEOMETRY_COLUMN
from engine.themes import THEME_NAMES, THEMES

RISK_CLASSES = [
    (0, 20, "#fef0d9"),
    (20, 40, "#fdcc8a"),
    (40, 60, "#fc8d59"),
    (60, 80, "#e34a33"),
    (80, 100.01, "#b30000"),
]
HOTSPOT_CLASSES = [
    ("hot 99%", "#b2182b"),
    ("hot 95%", "#ef8a62"),
    ("hot 90%", "#fddbc7"),
    ("not significant", "#f0f0f0"),
    ("cold 90%", "#d1e5f0"),
    ("cold 95%", "#67a9cf"),
    ("cold 99%", "#2166ac"),
]
NO_SCORE = "#d9d9d9"


def layer_styles(
    layers: dict[str, list[str]], descriptions: dict[str, dict[str, str]] | None = None
) -> pd.DataFrame:
    """The ``layer_styles`` rows for layers given as name -> column names;
    ``descriptions`` (layer -> theme -> how its score is made) go into each risk
    style's description, which QGIS shows when a style is chosen."""
    descriptions = descriptions or {}
    rows = []
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for layer, columns in layers.items():
        themes = [t for t in THEMES if f"risk_{t}" in columns]
        styles = []
        for theme in themes:
            how = descriptions.get(layer, {}).get(theme, "")
            styles.append((f"Risico {THEME_NAMES[theme]}", risk_qml(f"risk_{theme}"), how))
            if f"hotspot_{theme}" in columns:
                name = f"Hotspots {THEME_NAMES[theme]}"
                styles.append((name, hotspot_qml(f"hotspot_{theme}"), f"Gi* van de score. {how}"))
        if not styles:
            styles.append(("Grenzen", outline_qml(), ""))
        for k, (name, qml, how) in enumerate(styles):
            rows.append(
                {
                    "f_table_catalog": "",
                    "f_table_schema": "",
                    "f_table_name": layer,
                    "f_geometry_column": GEOMETRY_COLUMN,
                    "styleName": name[:30],
                    "styleQML": qml,
                    "styleSLD": "",
                    "useAsDefault": k == 0,
                    "description": f"zicht: {name}. {how}".strip(),
                    "owner": "zicht",
                    "ui": "",
                    "update_time": now,
                }
            )
    return pd.DataFrame(rows)


def risk_qml(column: str) -> str:
    """Five classes of a 0-100 risk score; no score hatched grey."""
    rules = [(f'"{column}" IS NULL', "geen score (gebiedsregel of geen cijfers)", NO_SCORE, True)]
    for low, high, colour in RISK_CLASSES:
        rules.append(
            (
                f'"{column}" >= {low} AND "{column}" < {high}',
                f"{low:g} - {min(high, 100):g}",
                colour,
                False,
            )
        )
    return _qml(rules)


def hotspot_qml(column: str) -> str:
    """Gi* classes in diverging red/blue; no test (withheld) hatched grey."""
    rules = [(f'"{column}" IS NULL', "geen score (onderdrukt of ontbrekend)", NO_SCORE, True)]
    for value, colour in HOTSPOT_CLASSES:
        label = value.replace("not significant", "niet significant")
        rules.append((f"\"{column}\" = '{value}'", label, colour, False))
    return _qml(rules)


def outline_qml() -> str:
    return _qml([("ELSE", "gebied", "#ffffff", False)])


def _qml(rules: list[tuple[str, str, str, bool]]) -> str:
    root = ET.Element("qgis", {"version": "3.28.0", "styleCategories": "Symbology|Labeling"})
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        {"type": "RuleRenderer", "symbollevels": "0", "enableorderby": "0", "forceraster": "0"},
    )
    rules_el = ET.SubElement(renderer, "rules", {"key": "root"})
    symbols = ET.SubElement(renderer, "symbols")
    for k, (expression, label, colour, hatched) in enumerate(rules):
        ET.SubElement(
            rules_el,
            "rule",
            {"key": f"r{k}", "filter": expression, "label": label, "symbol": str(k)},
        )
        symbols.append(_fill_symbol(str(k), colour, hatched))
    labeling = ET.SubElement(root, "labeling", {"type": "rule-based"})
    label_rules = ET.SubElement(labeling, "rules", {"key": "root"})
    rule = ET.SubElement(
        label_rules,
        "rule",
        {"key": "l0", "filter": '"suppressed" = 1', "description": "onderdrukt"},
    )
    settings = ET.SubElement(rule, "settings", {"calloutType": "simple"})
    ET.SubElement(
        settings,
        "text-style",
        {
            "fieldName": "'onderdrukt'",
            "isExpression": "1",
            "fontSize": "7",
            "fontSizeUnit": "Point",
            "textColor": "90,90,90,255",
            "fontItalic": "1",
            "namedStyle": "Italic",
        },
    )
    ET.SubElement(settings, "placement", {"placement": "0", "centroidInside": "1"})
    ET.SubElement(root, "layerGeometryType").text = "2"
    xml = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + xml


def _fill_symbol(name: str, colour: str, hatched: bool) -> ET.Element:
    symbol = ET.Element(
        "symbol",
        {"type": "fill", "name": name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"},
    )
    layer = ET.SubElement(
        symbol, "layer", {"class": "SimpleFill", "enabled": "1", "pass": "0", "locked": "0"}
    )
    options = ET.SubElement(layer, "Option", {"type": "Map"})
    rgb = ",".join(str(int(colour[i : i + 2], 16)) for i in (1, 3, 5)) + ",255"
    for key, value in (
        ("color", rgb),
        ("style", "b_diagonal" if hatched else "solid"),
        ("outline_color", "110,110,110,255"),
        ("outline_style", "solid"),
        ("outline_width", "0.15"),
        ("outline_width_unit", "MM"),
    ):
        ET.SubElement(options, "Option", {"name": key, "type": "QString", "value": value})
    return symbol
