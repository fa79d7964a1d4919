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
