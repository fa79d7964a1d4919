"""The ``styleSLD`` of a ``layer_styles`` row: the QML's rule-based renderer as an OGC
Styled Layer Descriptor 1.1, for other GIS software (ArcGIS Pro, GeoServer, MapInfo)
that reads the GeoPackage's styles.

Made from the QML itself, so that both say the same: each rule's filter (the few
forms :mod:`engine.outputs.styles` writes: ``IS NULL``, ``=``, ``LIKE``, ranges,
``ELSE``), its legend label, fill and outline. A hatched fill becomes solid grey, and
outlines a width in pixels. A filter of another form gives no SLD at all (an empty
``styleSLD``), never a wrong one.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SLD = "http://www.opengis.net/sld"
SE = "http://www.opengis.net/se"
OGC = "http://www.opengis.net/ogc"
ET.register_namespace("", SLD)
ET.register_namespace("se", SE)
ET.register_namespace("ogc", OGC)

_COLUMN = r'"(?P<column>[^"]+)"'
_NUMBER = r"(?P<{}>-?[0-9.e+\-]+)"
_NULL = re.compile(rf"^{_COLUMN} IS NULL$")
_EQUAL = re.compile(rf"^{_COLUMN} = '(?P<value>[^']*)'$")
_LIKE = re.compile(rf"^{_COLUMN} LIKE '(?P<value>[^']*)'$")
_RANGE = re.compile(
    rf"^{_COLUMN} >= {_NUMBER.format('low')}"
    rf' AND "(?P=column)" (?P<op><=?) {_NUMBER.format("high")}$'
)
_IN = re.compile(rf"^{_COLUMN} IN \((?P<values>'[^']*'(?:, '[^']*')*)\)$")
COMPARISON = {"<": "PropertyIsLessThan", "<=": "PropertyIsLessThanOrEqualTo"}


class NotTranslatable(ValueError):
    """A filter of a form this module does not translate."""


def style_sld(qml: str, layer: str, name: str) -> str:
    """The SLD of a rule-based QML style named ``name`` of the layer ``layer`` ("" where
    a filter cannot be translated)."""
    style = ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE line
    symbols = {s.get("name"): s for s in style.findall("renderer-v2/symbols/symbol")}
    root = ET.Element(f"{{{SLD}}}StyledLayerDescriptor", {"version": "1.1.0"})
    named = ET.SubElement(root, f"{{{SLD}}}NamedLayer")
    ET.SubElement(named, f"{{{SE}}}Name").text = layer
    user = ET.SubElement(named, f"{{{SLD}}}UserStyle")
    ET.SubElement(user, f"{{{SE}}}Name").text = name
    features = ET.SubElement(user, f"{{{SE}}}FeatureTypeStyle")
    try:
        for rule in style.findall("renderer-v2/rules/rule"):
            _rule(features, rule, symbols[rule.get("symbol")])
    except NotTranslatable:
        return ""
    return ET.tostring(root, encoding="unicode")


def _rule(parent: ET.Element, rule: ET.Element, symbol: ET.Element) -> None:
    element = ET.SubElement(parent, f"{{{SE}}}Rule")
    label = rule.get("label", "")
    ET.SubElement(element, f"{{{SE}}}Name").text = label
    description = ET.SubElement(element, f"{{{SE}}}Description")
    ET.SubElement(description, f"{{{SE}}}Title").text = label
    expression = rule.get("filter", "")
    if expression == "ELSE":
        ET.SubElement(element, f"{{{SE}}}ElseFilter")
    elif expression:
        ET.SubElement(element, f"{{{OGC}}}Filter").append(_filter(expression))
    element.append(_symbolizer(symbol))


def _filter(expression: str) -> ET.Element:
    """One of the filter forms the styles write, as an OGC filter."""
    if found := _NULL.match(expression):
        element = ET.Element(f"{{{OGC}}}PropertyIsNull")
        _property(element, found["column"])
    elif found := _EQUAL.match(expression):
        element = ET.Element(f"{{{OGC}}}PropertyIsEqualTo")
        _property(element, found["column"], found["value"])
    elif found := _LIKE.match(expression):
        element = ET.Element(
            f"{{{OGC}}}PropertyIsLike", {"wildCard": "%", "singleChar": "_", "escapeChar": "\\"}
        )
        _property(element, found["column"], found["value"])
    elif found := _IN.match(expression):
        element = ET.Element(f"{{{OGC}}}Or")
        for value in re.findall(r"'([^']*)'", found["values"]):
            equal = ET.SubElement(element, f"{{{OGC}}}PropertyIsEqualTo")
            _property(equal, found["column"], value)
    elif found := _RANGE.match(expression):
        element = ET.Element(f"{{{OGC}}}And")
        low = ET.SubElement(element, f"{{{OGC}}}PropertyIsGreaterThanOrEqualTo")
        _property(low, found["column"], found["low"])
        high = ET.SubElement(element, f"{{{OGC}}}{COMPARISON[found['op']]}")
        _property(high, found["column"], found["high"])
    else:
        raise NotTranslatable(expression)
    return element


def _property(element: ET.Element, column: str, literal: str | None = None) -> None:
    ET.SubElement(element, f"{{{OGC}}}PropertyName").text = column
    if literal is not None:
        ET.SubElement(element, f"{{{OGC}}}Literal").text = literal


def _symbolizer(symbol: ET.Element) -> ET.Element:
    """A QML fill symbol as a polygon symbolizer: its fill (none where the QML has
    none), outline colour and width (1 pixel for outlines in map units)."""
    options = {o.get("name"): o.get("value", "") for o in symbol.iter("Option") if o.get("name")}
    element = ET.Element(f"{{{SE}}}PolygonSymbolizer")
    if options.get("style") != "no":
        fill = ET.SubElement(element, f"{{{SE}}}Fill")
        _parameter(fill, "fill", _hex(options.get("color", "")))
    stroke = ET.SubElement(element, f"{{{SE}}}Stroke")
    _parameter(stroke, "stroke", _hex(options.get("outline_color", "")))
    width = "2" if options.get("outline_width_unit") == "MM" else "1"
    _parameter(stroke, "stroke-width", width)
    return element


def _parameter(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, f"{{{SE}}}SvgParameter", {"name": name}).text = value


def _hex(rgba: str) -> str:
    """QGIS's ``r,g,b,a`` as ``#rrggbb``."""
    parts = [int(v) for v in rgba.split(",")[:3]] if rgba else [0, 0, 0]
    return "#" + "".join(f"{v:02x}" for v in parts)
