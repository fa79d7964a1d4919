"""Overlapping neighbours: the shared ground goes to the larger area and both are
kept, where before both were left out of every statistic."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from zicht.boundaries import read_boundaries
from zicht.boundaries.quality import QualityRules, resolve_overlaps, suspect_areas

# Vollenhove-like: a 932 ha area sharing 0.43 ha with a 0.9 ha neighbour
LARGE = shapely.box(0, 0, 3052.9, 3052.9)
SMALL = shapely.box(3052.9 - 43, 0, 3052.9 + 47, 100)


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"niveau": "buurt", "buurtnaam": ["Groot", "Klein"]},
        index=pd.Index(["BU03630000", "BU03630001"], name="code"),
        geometry=[LARGE, SMALL],
        crs="EPSG:28992",
    )


def test_the_overlap_goes_to_the_larger_area_and_both_stay():
    areas = _areas()
    # the control: as they are, both are suspect and a run would leave both out
    assert suspect_areas(areas)["code"].tolist() == ["BU03630000", "BU03630001"]
    resolved, notes = resolve_overlaps(areas, QualityRules())
    assert notes == ["BU03630000 keeps the 0.43 ha it shared with BU03630001"]
    assert list(resolved.index) == list(areas.index)
    assert resolved.geometry.iloc[0].equals(LARGE)
    assert resolved.geometry.iloc[1].area == pytest.approx(4700, rel=1e-6)  # 0.47 ha left
    assert suspect_areas(resolved).empty


def test_digitising_noise_is_left_as_it_is():
    areas = _areas()
    areas.loc["BU03630001", "geometry"] = shapely.box(3052.9 - 1, 0, 3052.9 + 89, 100)
    resolved, notes = resolve_overlaps(areas, QualityRules())
    assert notes == [] and resolved is areas


def test_a_boundary_file_with_an_overlap_keeps_both_areas_and_says_so(write_gpkg):
    frame = _areas().reset_index().rename(columns={"code": "buurtcode"})
    frame = frame.set_geometry(frame.translate(120_000, 480_000))  # into the Netherlands
    boundaries = read_boundaries(write_gpkg(frame))
    assert sorted(boundaries.areas.index) == ["BU03630000", "BU03630001"]
    assert boundaries.report.suspects == []
    assert boundaries.report.overlaps_resolved == [
        "BU03630000 keeps the 0.43 ha it shared with BU03630001"
    ]
    assert any(line.startswith("overlaps:  1 resolved") for line in boundaries.report.describe())


def test_a_suspect_area_is_named_on_the_map_with_its_own_reason(tmp_path):
    """Not "no score (area rule or no figures)": a sliver left out of the statistics
    is drawn and labelled as such on every map, and the SLD says the same."""
    import xml.etree.ElementTree as ET

    import pyogrio

    from tests.conftest import grid_buurten
    from tests.test_pipeline import GRID_CODES, _grid_run
    from zicht.engine.cli import main

    areas = grid_buurten(GRID_CODES, aantal_inwoners=[500] * 36)
    x0, y0, x1, _ = areas.geometry[5].bounds
    areas.loc[5, "geometry"] = shapely.box(x0, y0, x1, y0 + 1.0)  # all its people on 1 m
    assert main(["run", str(_grid_run(tmp_path, areas)), "--out", str(tmp_path / "out")]) == 0
    styles = pyogrio.read_dataframe(tmp_path / "out" / "zicht.gpkg", layer="layer_styles")
    risk = styles[(styles["f_table_name"] == "buurten") & (styles["styleName"] == "Risico Drugs")]
    qml = ET.fromstring(risk["styleQML"].iloc[0].split("\n", 1)[1])
    rules = {r.get("filter"): r.get("label") for r in qml.findall("renderer-v2/rules/rule")}
    assert rules["\"code\" IN ('BU03630005')"] == "geen score: verdachte geometrie"
    texts = [s.get("fieldName") for s in qml.iter("text-style")]
    assert "'geen score: verdachte geometrie (snipper)'" in texts
    assert "BU03630005" in risk["styleSLD"].iloc[0]
    # the control: the sound areas of the same run have no such rule or label
    assert sum("BU0363" in str(f) for f in rules) == 1
