"""``zicht.qgz``: a QGIS project with the GeoPackage's layers grouped and styled.

One group per level (buurten, wijken, gemeenten), in it one group per theme with its
risk, hotspot and LISA maps, then the trends and the indicator maps. Each map is a
layer on the same GeoPackage table with one of the styles of ``layer_styles``; only
the finest level's default map is visible. The project refers to ``zicht.gpkg`` by a
relative path, so the output folder can be moved or shared as a whole. The project's
title is the report's; its CRS is RD New in full with reprojection switched on, its
canvas the layers' extent, and every layer carries its metadata.

A ``.qgz`` is a zip archive holding one ``.qgs`` XML document; QGIS 3.x opens it
(tested with QGIS 3.22).
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from zicht.boundaries.codes import LAYER_NAMES, LEVELS
from zicht.engine.outputs.language import LEVEL_NAMES, say
from zicht.engine.outputs.metadata import (
    DOCTYPE,
    RD_NEW_AUTHID,
    Extent,
    LayerMetadata,
    layer_metadata_xml,
    project_metadata_xml,
    rd_new_srs,
)


@dataclass(frozen=True, kw_only=True)
class ProjectSpec:
    """What the project says besides its layers: title, abstract and author (its
    metadata), the themes (id -> name, in order) that group the maps, the language,
    and each table's metadata (with its extent: the project opens on their union)."""

    title: str
    themes: dict[str, str]
    language: str = "nl"
    abstract: str = ""
    author: str = ""
    layers: dict[str, LayerMetadata] = field(default_factory=dict)


def write_project(path: Path, styles: pd.DataFrame, spec: ProjectSpec) -> None:
    """Write the project for the layers styled in ``styles`` (the ``layer_styles``
    table) to ``path`` (a ``.qgz``), grouped per level and theme; the finest level
    present opens with its default map switched on."""
    title, language = spec.title, spec.language
    root = ET.Element("qgis", {"projectname": title, "version": "3.22.0-Białowieża"})
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "projectCrs").append(rd_new_srs())
    root.append(project_metadata_xml(title, spec.abstract, spec.author))
    tree = ET.SubElement(root, "layer-tree-group")
    layers = ET.SubElement(root, "projectlayers")
    present = set(styles["f_table_name"])
    finest = next((lv for lv in LEVELS if LAYER_NAMES[lv] in present), None)
    for level in LEVELS:
        table = LAYER_NAMES[level]
        mine = styles[styles["f_table_name"] == table]
        if mine.empty:
            continue
        group = _group(tree, say(LEVEL_NAMES[level], language), checked=level == finest)
        for group_name, rows in _groups(mine, spec.themes):
            parent = group if group_name is None else _group(group, group_name, checked=True)
            for row in rows.itertuples(index=False):
                _add_layer(parent, layers, table, row, bool(row.useAsDefault), spec)
    # the branche analysis: its map layers in a group of their own, switched off
    extra = [
        str(t) for t in dict.fromkeys(styles["f_table_name"]) if str(t).startswith("branches_")
    ]
    if extra:
        top = _group(tree, say("Brancheanalyse", language), checked=False)
        for table in extra:
            level = next(lv for lv, name in LAYER_NAMES.items() if table.endswith(name))
            group = _group(top, say(LEVEL_NAMES[level], language), checked=False)
            for row in styles[styles["f_table_name"] == table].itertuples(index=False):
                _add_layer(group, layers, table, row, False, spec)
    _own_area_group(tree, layers, styles, spec)
    _map_canvas(root, _union([m.extent for m in spec.layers.values()]))
    _properties(root)
    document = DOCTYPE + ET.tostring(root, encoding="unicode")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zicht.qgs", document)


def _own_area_group(
    tree: ET.Element, layers: ET.Element, styles: pd.DataFrame, spec: ProjectSpec
) -> None:
    """The own-area layers (``eigen_<id>``), one group per set, switched off."""
    own = [str(t) for t in dict.fromkeys(styles["f_table_name"]) if str(t).startswith("eigen_")]
    if not own:
        return
    top = _group(tree, say("Eigen gebieden", spec.language), checked=False)
    for table in own:
        group = _group(top, table.removeprefix("eigen_"), checked=False)
        for row in styles[styles["f_table_name"] == table].itertuples(index=False):
            _add_layer(group, layers, table, row, False, spec)


def _add_layer(
    parent: ET.Element, layers: ET.Element, table: str, row: Any, visible: bool, spec: ProjectSpec
) -> None:
    """One styled layer of ``table`` in the tree under ``parent`` and in the project."""
    layer_id = _layer_id(table, row.styleName)
    ET.SubElement(
        parent,
        "layer-tree-layer",
        {
            "id": layer_id,
            "name": row.styleName,
            "source": f"./zicht.gpkg|layername={table}",
            "providerKey": "ogr",
            "checked": "Qt::Checked" if visible else "Qt::Unchecked",
            "expanded": "0",
        },
    )
    layers.append(_map_layer(layer_id, table, row.styleName, row.styleQML, spec.layers.get(table)))


def _groups(styles: pd.DataFrame, themes: dict[str, str]) -> list[tuple[str | None, pd.DataFrame]]:
    """The styles of one layer per theme (by the theme's name in the style name), then
    the rest (trends, indicator maps, boundaries) directly under the level."""
    taken = pd.Series(False, index=styles.index)
    groups: list[tuple[str | None, pd.DataFrame]] = []
    for name in themes.values():
        mine = styles["styleName"].str.endswith(f" {name}") & ~taken
        if mine.any():
            groups.append((name, styles[mine]))
            taken |= mine
    if (~taken).any():
        groups.append((None, styles[~taken]))
    return groups


def _layer_id(table: str, name: str) -> str:
    """An id of the form QGIS gives (``name_`` and a UUID with underscores): QGIS 3.22
    replaces ids of another form, and the layer tree then loses its layers. Derived
    from the table and style, so that two runs write the same project."""
    return f"{table}_{uuid.uuid5(uuid.NAMESPACE_URL, f'zicht:{table}:{name}')}".replace("-", "_")


def _group(parent: ET.Element, name: str, checked: bool) -> ET.Element:
    return ET.SubElement(
        parent,
        "layer-tree-group",
        {"name": name, "checked": "Qt::Checked" if checked else "Qt::Unchecked", "expanded": "0"},
    )


def _map_layer(
    layer_id: str, table: str, name: str, qml: str, meta: LayerMetadata | None
) -> ET.Element:
    """A vector layer on a GeoPackage table, with the symbology, labels, aliases and
    value maps of a ``layer_styles`` QML, its CRS, extent and metadata."""
    layer = ET.Element(
        "maplayer",
        {"type": "vector", "geometry": "Polygon", "wkbType": "MultiPolygon", "labelsEnabled": "1"},
    )
    if meta is not None and meta.extent is not None:
        layer.append(_extent("extent", meta.extent))
    ET.SubElement(layer, "id").text = layer_id
    ET.SubElement(layer, "datasource").text = f"./zicht.gpkg|layername={table}"
    ET.SubElement(layer, "layername").text = name
    ET.SubElement(layer, "srs").append(rd_new_srs())
    if meta is not None:
        resource = layer_metadata_xml(meta, table)
        resource.tag, resource.attrib = "resourceMetadata", {}
        layer.append(resource)
    ET.SubElement(layer, "provider", {"encoding": "UTF-8"}).text = "ogr"
    style = ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE line
    for child in style:
        if child.tag != "layerGeometryType":
            layer.append(child)
    return layer


def _extent(tag: str, extent: Extent) -> ET.Element:
    element = ET.Element(tag)
    for name, value in zip(("xmin", "ymin", "xmax", "ymax"), extent):
        ET.SubElement(element, name).text = f"{value:.1f}"
    return element


def _union(extents: list[Extent | None]) -> Extent | None:
    known = [e for e in extents if e is not None]
    if not known:
        return None
    return (
        min(e[0] for e in known),
        min(e[1] for e in known),
        max(e[2] for e in known),
        max(e[3] for e in known),
    )


def _map_canvas(root: ET.Element, extent: Extent | None) -> None:
    """The map canvas: in metres, in RD New, on the layers' extent with a margin
    (``QgsMapCanvas::readProject`` reads the canvas named ``theMapCanvas``)."""
    canvas = ET.SubElement(root, "mapcanvas", {"name": "theMapCanvas", "annotationsVisible": "1"})
    ET.SubElement(canvas, "units").text = "meters"
    if extent is not None:
        xmin, ymin, xmax, ymax = extent
        dx, dy = 0.05 * (xmax - xmin), 0.05 * (ymax - ymin)
        canvas.append(_extent("extent", (xmin - dx, ymin - dy, xmax + dx, ymax + dy)))
    ET.SubElement(canvas, "rotation").text = "0"
    ET.SubElement(canvas, "destinationsrs").append(rd_new_srs())


def _properties(root: ET.Element) -> None:
    """Relative paths, so that the folder can move; the project CRS switched on (QGIS
    reads ``<projectCrs>`` only where ``ProjectionsEnabled`` is set, and falls back on
    the EPSG code), in metres."""
    properties = ET.SubElement(root, "properties")
    paths = ET.SubElement(properties, "Paths")
    ET.SubElement(paths, "Absolute", {"type": "bool"}).text = "false"
    srs = ET.SubElement(properties, "SpatialRefSys")
    ET.SubElement(srs, "ProjectionsEnabled", {"type": "int"}).text = "1"
    ET.SubElement(srs, "ProjectCrs", {"type": "QString"}).text = RD_NEW_AUTHID
    measure = ET.SubElement(properties, "Measurement")
    ET.SubElement(measure, "DistanceUnits", {"type": "QString"}).text = "meters"
    ET.SubElement(measure, "AreaUnits", {"type": "QString"}).text = "m2"
