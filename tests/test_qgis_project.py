"""zicht.qgz and the GeoPackage as QGIS 3.22 reads them, checked on the XML: the
project CRS (``QgsProject::readProjectFile``, ``QgsCoordinateReferenceSystem::readXml``),
the visible map, the canvas, labels, outlines and every layer's metadata."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
import zipfile

import pandas as pd
import pyogrio
import pytest

from zicht.engine.outputs.metadata import QGIS_DTD, LayerMetadata
from zicht.engine.outputs.project import ProjectSpec, write_project
from zicht.engine.outputs.styles import trend_colours


def _project(path) -> ET.Element:
    with zipfile.ZipFile(path) as archive:
        return ET.fromstring(archive.read("zicht.qgs").decode().split("\n", 1)[1])


def _crs_as_qgis_reads_it(root: ET.Element) -> str | None:
    """The project CRS QGIS 3.22 ends up with: none unless ``ProjectionsEnabled``;
    from ``<projectCrs>`` by its authid when the srsid is one of QGIS's own (below
    100000), else from its WKT; else from the ``ProjectCrs`` property."""
    enabled = root.findtext("properties/SpatialRefSys/ProjectionsEnabled")
    if enabled is None or int(enabled) == 0:
        return None
    srs = root.find("projectCrs/spatialrefsys")
    if srs is not None:
        srsid = srs.findtext("srsid") or ""
        if srsid.isdigit() and 0 < int(srsid) < 100_000 and srs.findtext("authid"):
            return srs.findtext("authid")
        if srs.findtext("wkt"):
            from pyproj import CRS

            return ":".join(CRS.from_wkt(srs.findtext("wkt")).to_authority())
    return root.findtext("properties/SpatialRefSys/ProjectCrs")


def test_the_demo_project_has_its_crs_extent_and_one_visible_map(demo_out):
    root = _project(demo_out / "zicht.qgz")
    assert _crs_as_qgis_reads_it(root) == "EPSG:28992"
    srs = root.find("projectCrs/spatialrefsys")
    assert srs.findtext("srsid") == "2517" and "+proj=sterea" in srs.findtext("proj4")
    assert "Amersfoort / RD New" in srs.findtext("wkt")
    # the canvas opens on Amsterdam, in metres
    canvas = root.find("mapcanvas[@name='theMapCanvas']")
    assert canvas.findtext("units") == "meters"
    xmin, ymin, xmax, ymax = (
        float(canvas.findtext(f"extent/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")
    )
    assert 100_000 < xmin < 125_000 < xmax < 140_000 and 470_000 < ymin < 490_000 < ymax
    metadata = root.find("projectMetadata")
    assert metadata.findtext("title") == "Risicobeeld ondermijning Amsterdam"
    assert "CC BY 4.0" in metadata.findtext("abstract")
    # every layer has the full CRS and its metadata names sources and licence
    for layer in root.iter("maplayer"):
        assert layer.findtext("srs/spatialrefsys/srsid") == "2517"
        resource = layer.find("resourceMetadata")
        assert resource.findtext("license") == "CC BY 4.0"
        assert "Bronnen:" in resource.findtext("abstract")
        assert resource.findall("keywords/keyword"), layer.findtext("layername")


def _visible(group: ET.Element, shown: bool = True) -> list[str]:
    found = []
    for child in group:
        checked = shown and child.get("checked") == "Qt::Checked"
        if child.tag == "layer-tree-group":
            found += _visible(child, checked)
        elif child.tag == "layer-tree-layer" and checked:
            found.append(child.get("name"))
    return found


def test_the_demo_opens_with_the_buurt_risk_map_and_full_layer_names(demo_out):
    root = _project(demo_out / "zicht.qgz")
    assert _visible(root.find("layer-tree-group")) == ["Risico Drugs"]
    names = [layer.findtext("layername") for layer in root.iter("maplayer")]
    styles = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="layer_styles")
    assert sorted(names) == sorted(styles["styleName"])  # nothing cut


def _styles(tables: list[str]) -> pd.DataFrame:
    qml = (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        "<qgis><renderer-v2 type='RuleRenderer'/></qgis>"
    )
    rows = [
        {"f_table_name": t, "styleName": name, "styleQML": qml, "useAsDefault": k == 0}
        for t in tables
        for k, name in enumerate(["Risico Drugs", "Grenzen"])
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("tables", "shown"),
    [
        (["wijken", "gemeenten"], "Wijken"),
        (["gemeenten"], "Gemeenten"),
        (["buurten", "wijken"], "Buurten"),
    ],
)
def test_the_finest_level_opens_visible_whatever_it_is(tmp_path, tables, shown):
    """A wijk run (no buurten) opens on its wijken, not an empty map."""
    meta = LayerMetadata(
        title="t",
        abstract="a",
        sources=("CBS",),
        attribution="Bron: CBS",
        licence="CC BY 4.0",
        extent=(120_000.0, 480_000.0, 125_000.0, 485_000.0),
    )
    spec = ProjectSpec(title="t", themes={"drugs": "Drugs"}, layers={t: meta for t in tables})
    write_project(tmp_path / "p.qgz", _styles(tables), spec)
    root = _project(tmp_path / "p.qgz")
    groups = {g.get("name"): g.get("checked") for g in root.find("layer-tree-group")}
    assert groups[shown] == "Qt::Checked"
    assert [name for name, checked in groups.items() if checked == "Qt::Checked"] == [shown]
    assert _visible(root.find("layer-tree-group")) == ["Risico Drugs"]
    assert _crs_as_qgis_reads_it(root) == "EPSG:28992"


def test_without_projections_enabled_qgis_would_have_no_crs(demo_out):
    """The control: the same project without the property (as zicht wrote it before)
    has no CRS in QGIS, though its ``<projectCrs>`` names EPSG:28992."""
    root = _project(demo_out / "zicht.qgz")
    srs = root.find("properties/SpatialRefSys")
    srs.remove(srs.find("ProjectionsEnabled"))
    assert _crs_as_qgis_reads_it(root) is None


def test_maps_label_names_thin_their_outlines_and_outline_hotspots(demo_out):
    styles = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="layer_styles")
    buurten = styles[styles["f_table_name"] == "buurten"].set_index("styleName")
    risk = ET.fromstring(buurten.loc["Risico Drugs", "styleQML"].split("\n", 1)[1])
    filters = [r.get("filter") for r in risk.findall("renderer-v2/rules/rule")]
    assert "\"hotspot_drugs\" LIKE 'hot%'" in filters
    label_rules = risk.findall("labeling/rules/rule")
    names = [r for r in label_rules if r.find("settings/text-style").get("fieldName") == '"naam"']
    assert names and names[0].find("settings/rendering").get("scaleMax") == "25000"
    first = risk.find("renderer-v2/symbols/symbol[@name='1']")
    widths = {
        o.get("name"): o.get("value")
        for o in first.iter("Option")
        if o.get("name", "").startswith("outline_width")
    }
    assert widths["outline_width_unit"] == "MapUnit"  # metres: thin at national scale
    assert widths["outline_width_map_unit_scale"].endswith(",1,0.3")  # at most 0.3 mm
    aliases = {a.get("field"): a.get("name") for a in risk.iter("alias")}
    assert aliases["code"] == "CBS-code"


def test_trend_maps_have_distinct_colours_and_list_only_present_classes(demo_out):
    colours = trend_colours()
    assert len(set(colours.values())) == len(colours)
    styles = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="layer_styles")
    layer = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="buurten")
    trend = styles[
        (styles["f_table_name"] == "buurten") & styles["styleName"].str.startswith("Trend")
    ]
    assert len(trend) == 1
    root = ET.fromstring(trend["styleQML"].iloc[0].split("\n", 1)[1])
    listed = [r.get("filter") for r in root.findall("renderer-v2/rules/rule")][1:]
    column = next(c for c in layer.columns if c.startswith("trend_"))
    present = set(layer[column].dropna())
    assert len(listed) == len(present) < len(colours)


def test_every_feature_layer_carries_its_metadata_in_the_geopackage(demo_out):
    with sqlite3.connect(demo_out / "zicht.gpkg") as db:
        contents = dict(
            db.execute(
                "SELECT table_name, description FROM gpkg_contents WHERE data_type = 'features'"
            )
        )
        rows = db.execute(
            "SELECT r.table_name, m.metadata FROM gpkg_metadata_reference r"
            " JOIN gpkg_metadata m ON m.id = r.md_file_id"
            " WHERE r.reference_scope = 'table' AND m.md_standard_uri = ?"
            " AND m.md_scope = 'dataset'",
            (QGIS_DTD,),
        ).fetchall()
        extensions = {
            r[0]
            for r in db.execute(
                "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_metadata'"
            )
        }
    assert extensions == {"gpkg_metadata", "gpkg_metadata_reference"}
    described = dict(rows)
    assert set(described) == set(contents)
    for table, description in contents.items():
        assert "Bronnen: " in description and "CC BY 4.0" in description, table
        assert "CBS Kerncijfers wijken en buurten 2024" in description, table
        root = ET.fromstring(described[table].split("\n", 1)[1])
        assert root.findtext("identifier") == table
        assert root.findtext("license") == "CC BY 4.0"
        assert "CC BY 4.0" in root.findtext("rights")
        assert root.find("crs/spatialrefsys/authid").text == "EPSG:28992"
    # GDAL hands the QGIS metadata on to QGIS as the layer's metadata item
    info = pyogrio.read_info(demo_out / "zicht.gpkg", layer="buurten")
    assert any(QGIS_DTD in str(v) for v in (info.get("layer_metadata") or {}).values())


def test_every_style_has_an_sld_with_the_qml_rules(demo_out):
    from zicht.engine.outputs.sld import OGC, SE, style_sld

    styles = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="layer_styles")
    for row in styles.itertuples(index=False):
        assert row.styleSLD, row.styleName
        sld = ET.fromstring(row.styleSLD)
        qml = ET.fromstring(row.styleQML.split("\n", 1)[1])
        rules = sld.findall(f".//{{{SE}}}Rule")
        assert len(rules) == len(qml.findall("renderer-v2/rules/rule")), row.styleName
    risk = styles[styles["styleName"] == "Risico Drugs"]["styleSLD"].iloc[0]
    root = ET.fromstring(risk)
    assert root.find(f".//{{{OGC}}}PropertyIsLike/{{{OGC}}}Literal").text == "hot%"
    ranges = root.findall(f".//{{{OGC}}}And")
    assert [
        r.find(f"{{{OGC}}}PropertyIsGreaterThanOrEqualTo/{{{OGC}}}Literal").text for r in ranges
    ] == ["0", "20", "40", "60", "80"]
    # a filter of another form gives no SLD rather than a wrong one
    odd = styles["styleQML"].iloc[0].replace("IS NULL", "IS NOT NULL", 1)
    assert style_sld(odd, "buurten", "x") == ""
