"""The pieces of a QGIS style (QML) that every map shares: fills whose outlines thin
out as the map zooms out, the hotspot outline, and the labels (area names from city
scale in, "withheld" from buurt scale in).

An outline is given in metres on the ground (QGIS's map units in RD New) and capped
in millimetres on paper: at buurt scale it is a fine line, at national scale it all
but disappears, so that cities do not turn into grey blobs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

LABEL_SCALE = 25_000  # the withheld label shows from 1:25,000 in
MAX_OUTLINE_MM = 0.3  # the outline's width on paper at most
HOTSPOT_OUTLINE = "#67000d"


@dataclass(frozen=True)
class LayerLook:
    """How a layer's areas are drawn: the outline in metres on the ground, and the
    scale (1:n) from which on their names are shown."""

    outline_m: float = 5.0
    names_from: float = 50_000

    @staticmethod
    def of(layer: str) -> LayerLook:
        """The look of a layer by its name (``buurten``, ``branches_wijken``, ...)."""
        for suffix, look in LOOKS.items():
            if layer.endswith(suffix):
                return look
        return LayerLook()


# buurt names from 1:25,000 (a stadsdeel), wijk names from 1:75,000 (a city), gemeente
# names from 1:1,000,000 (a province)
LOOKS = {
    "buurten": LayerLook(4.0, 25_000),
    "wijken": LayerLook(8.0, 75_000),
    "gemeenten": LayerLook(25.0, 1_000_000),
}


def rgba(colour: str, alpha: int = 255) -> str:
    """``#rrggbb`` as QGIS writes a colour: ``r,g,b,a``."""
    return ",".join(str(int(colour[i : i + 2], 16)) for i in (1, 3, 5)) + f",{alpha}"


def fill_symbol(name: str, colour: str, hatched: bool, look: LayerLook) -> ET.Element:
    """A fill with an outline that thins out at small scales; an empty ``colour`` is
    no fill at all (a boundary style, with a darker outline)."""
    options = {
        "color": rgba(colour) if colour else "255,255,255,0",
        "style": "no" if not colour else "b_diagonal" if hatched else "solid",
        "outline_color": "110,110,110,255" if colour else "60,60,60,255",
        "outline_style": "solid",
        "outline_width": f"{look.outline_m * (1 if colour else 2):g}",
        "outline_width_unit": "MapUnit",
        # QgsMapUnitScale: min and max scale (none), no minimum, a maximum in mm
        "outline_width_map_unit_scale": f"3x:0,0,0,0,1,{MAX_OUTLINE_MM * (1 if colour else 2)}",
    }
    return _simple_fill(name, options)


def hotspot_outline(name: str) -> ET.Element:
    """A thick dark red outline without fill: a hotspot drawn over a risk map."""
    options = {
        "color": "255,255,255,0",
        "style": "no",
        "outline_color": rgba(HOTSPOT_OUTLINE),
        "outline_style": "solid",
        "outline_width": "0.6",
        "outline_width_unit": "MM",
    }
    return _simple_fill(name, options)


def _simple_fill(name: str, options: dict[str, str]) -> ET.Element:
    symbol = ET.Element(
        "symbol",
        {"type": "fill", "name": name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"},
    )
    layer = ET.SubElement(
        symbol, "layer", {"class": "SimpleFill", "enabled": "1", "pass": "0", "locked": "0"}
    )
    option_map = ET.SubElement(layer, "Option", {"type": "Map"})
    for key, value in options.items():
        ET.SubElement(option_map, "Option", {"name": key, "type": "QString", "value": value})
    return symbol


def labels(
    root: ET.Element,
    column: str | None,
    withheld: str,
    look: LayerLook,
    reasons: dict[str, str] | None = None,
) -> None:
    """Rule-based labels: "withheld" where ``column`` has no value because of the area
    rule (from 1:25,000 in), the reason of each suspect area (code -> text) that has
    no score for its geometry, then the areas' names (from ``look.names_from`` in)."""
    labeling = ET.SubElement(root, "labeling", {"type": "rule-based"})
    rules = ET.SubElement(labeling, "rules", {"key": "root"})
    for k, (code, reason) in enumerate((reasons or {}).items()):
        text = reason.replace("'", "''")
        _label_rule(
            rules,
            f"s{k}",
            f"\"code\" = '{code}'",
            reason,
            (f"'{text}'", "1", "7", True),
            LABEL_SCALE,
        )
    if column is not None:
        _label_rule(
            rules,
            "l0",
            f'"suppressed" = 1 AND "{column}" IS NULL',
            withheld,
            (f"'{withheld}'", "1", "7", True),
            LABEL_SCALE,
        )
    _label_rule(rules, "l1", "", "naam", ('"naam"', "1", "8", False), look.names_from)


def _label_rule(
    rules: ET.Element,
    key: str,
    expression: str,
    description: str,
    text: tuple[str, str, str, bool],
    from_scale: float,
) -> None:
    """A label rule: ``text`` is (expression, is-expression, size in points, italic);
    shown from 1:``from_scale`` in."""
    attributes = {"key": key, "description": description}
    if expression:
        attributes["filter"] = expression
    rule = ET.SubElement(rules, "rule", attributes)
    settings = ET.SubElement(rule, "settings", {"calloutType": "simple"})
    field, is_expression, size, italic = text
    style = ET.SubElement(
        settings,
        "text-style",
        {
            "fieldName": field,
            "isExpression": is_expression,
            "fontSize": size,
            "fontSizeUnit": "Point",
            "textColor": "90,90,90,255" if italic else "40,40,40,255",
            "fontItalic": "1" if italic else "0",
            "namedStyle": "Italic" if italic else "Regular",
        },
    )
    # a white halo, so that a name stays legible on the dark classes
    ET.SubElement(
        style,
        "text-buffer",
        {
            "bufferDraw": "1",
            "bufferSize": "0.7",
            "bufferSizeUnits": "MM",
            "bufferColor": "255,255,255,255",
            "bufferOpacity": "0.8",
        },
    )
    ET.SubElement(settings, "placement", {"placement": "0", "centroidInside": "1"})
    # QGIS writes the most zoomed-out scale as "scaleMax" (QgsPalLayerSettings::writeXml)
    ET.SubElement(
        settings,
        "rendering",
        {"scaleVisibility": "1", "scaleMax": str(int(from_scale)), "scaleMin": "0"},
    )
