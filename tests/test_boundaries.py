"""boundaries/: reading both CBS schemas, reprojection, repair, code and hierarchy checks."""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tests.conftest import GEOJSON_2015, SAMPLE_2015, grid_buurten
from zicht.boundaries import BoundaryError, read_boundaries
from zicht.engine.data import DEMO_BOUNDARIES

DEMO_COLUMNS = {"naam": "ams_buurtnaam", "wijknaam": "ams_wijknaam"}


@pytest.fixture(scope="module")
def demo():
    return read_boundaries(DEMO_BOUNDARIES, columns=DEMO_COLUMNS)


def _all_valid_multipolygons(gdf: gpd.GeoDataFrame) -> bool:
    return bool(
        (gdf.geom_type == "MultiPolygon").all()
        and gdf.is_valid.all()
        and gdf.crs.to_epsg() == 28992
    )


def test_demo_hierarchy(demo):
    buurten, wijken, gemeenten = (demo.levels[lv] for lv in ("buurt", "wijk", "gemeente"))
    assert (len(buurten), len(wijken), len(gemeenten)) == (518, 110, 1)
    assert gemeenten.index.tolist() == ["GM0363"]
    assert set(buurten["wijkcode"]) == set(wijken.index)
    assert (buurten["wijkcode"] == "WK" + buurten.index.str[2:8]).all()
    assert (buurten["gemeentecode"] == "GM0363").all()
    for level in demo.levels.values():
        assert _all_valid_multipolygons(level)
    # The one buurt without CBS figures has no wijkcode in the file: it comes from its code.
    assert buurten.loc["BU0363MK06", "wijkcode"] == "WK0363MK"
    assert buurten.loc["BU0363MK06", "naam"] == "Muidenbuurt-Oost"
    assert wijken.loc["WK0363AC", "naam"] == "Grachtengordel-West"


def test_dissolved_wijken_cover_their_buurten(demo):
    buurten, wijken = demo.levels["buurt"], demo.levels["wijk"]
    summed = buurten.area.groupby(buurten["wijkcode"]).sum()
    # closing the gaps between neighbours adds a little (under 1%)
    np.testing.assert_allclose(wijken.area.loc[summed.index], summed, rtol=1e-2)
    assert demo.report.built_by_dissolving == ["wijk", "gemeente"]


def test_upper_case_2015_schema_and_repair():
    b = read_boundaries(SAMPLE_2015)
    assert b.report.schema == "cbs-upper"
    assert b.report.counts["buurt"] == 118
    assert sorted(b.report.repaired) == ["BU19040202", "BU19040210", "BU19040903"]
    assert _all_valid_multipolygons(b.areas)
    assert b.areas.loc["BU19040202", "naam"]  # the BU_NAAM column was mapped
    assert set(b.levels["gemeente"].index) == {"GM1669", "GM1904"}


def test_repair_keeps_only_polygon_parts(write_gpkg):
    # A bow-tie with a dangling spike: make_valid's default returns a
    # GeometryCollection with a LineString; only the polygon parts may survive.
    spiky = shapely.from_wkt("POLYGON ((0 0, 10 10, 10 0, 0 10, 0 0, -5 -5, 0 0))")
    gdf = grid_buurten(["BU03630000", "BU03630001"])
    gdf.loc[0, "geometry"] = shapely.affinity.translate(spiky, 120_000, 487_000)
    b = read_boundaries(write_gpkg(gdf))
    geom = b.areas.loc["BU03630000", "geometry"]
    assert geom.geom_type == "MultiPolygon" and geom.is_valid and geom.area == pytest.approx(50)
    assert b.report.repaired == ["BU03630000"]


def test_geojson_point_and_line_features_are_dropped_and_counted(caplog):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a log line, never a Python warning
        b = read_boundaries(GEOJSON_2015)
    messages = [r.getMessage() for r in caplog.records]
    assert any("dropped 2 Point feature(s)" in m for m in messages)
    assert any("dropped 1 LineString feature(s)" in m for m in messages)
    assert b.report.dropped_non_polygon == {"Point": 2, "LineString": 1}
    assert b.report.source_crs == "EPSG:4326"
    assert len(b.areas) == 178
    assert _all_valid_multipolygons(b.areas)
    xmin, ymin, xmax, ymax = b.areas.total_bounds
    assert 100_000 < xmin < xmax < 140_000 and 460_000 < ymin < ymax < 500_000  # Amsterdam


def test_file_without_crs_is_refused(write_gpkg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio warns that the file will have no CRS
        path = write_gpkg(grid_buurten(["BU03630000"]).set_crs(None, allow_override=True))
    with pytest.raises(BoundaryError, match="no coordinate reference system"):
        read_boundaries(path)


def test_degrees_labelled_as_rd_new_are_refused(write_gpkg):
    gdf = grid_buurten(["BU03630000"], size=0.01, x0=4.9, y0=52.37)
    with pytest.raises(BoundaryError, match="look like longitude/latitude"):
        read_boundaries(write_gpkg(gdf))


def test_rd_coordinates_labelled_as_wgs84_are_refused(write_gpkg):
    gdf = grid_buurten(["BU03630000"]).set_crs("EPSG:4326", allow_override=True)
    with pytest.raises(BoundaryError, match="cannot lie in the Netherlands"):
        read_boundaries(write_gpkg(gdf))


def test_all_code_problems_are_reported_at_once(write_gpkg):
    gdf = grid_buurten(
        ["BU03630000", "BU03630000", "BUXX12", "BU03630101"],
        wijkcode=["WK036300", "WK036300", "WK036300", "WK036300"],
    )
    with pytest.raises(BoundaryError) as info:
        read_boundaries(write_gpkg(gdf))
    problems = info.value.problems
    assert any("duplicate buurt code BU03630000 (2 features)" in p for p in problems)
    assert any("'BUXX12' is not a buurt code" in p for p in problems)
    assert any(
        "BU03630101 lies in wijk WK036301 by its code but the file says WK036300" in p
        for p in problems
    )
    assert len(problems) == 3
    assert "3 code problem(s)" in str(info.value)


def test_missing_file_and_wrong_layer(tmp_path, write_gpkg):
    with pytest.raises(BoundaryError, match="not found"):
        read_boundaries(tmp_path / "nope.gpkg")
    path = write_gpkg(grid_buurten(["BU03630000"]), layer="buurten")
    with pytest.raises(BoundaryError, match=r"no layer 'wijken'; layers are \['buurten'\]"):
        read_boundaries(path, layer="wijken")


def test_empty_layer_is_refused(write_gpkg):
    gdf = grid_buurten(["BU03630000"]).iloc[:0]
    with pytest.raises(BoundaryError, match="the layer is empty"):
        read_boundaries(write_gpkg(gdf))


def test_file_that_is_not_a_vector_file(tmp_path):
    path = tmp_path / "buurten.gpkg"
    path.write_text("not a geopackage")
    with pytest.raises(BoundaryError, match="buurten.gpkg"):
        read_boundaries(path)


def test_custom_columns_through_a_mapping(tmp_path):
    gdf = (
        grid_buurten(["BU03630000", "BU03630001"])
        .rename(columns={"buurtcode": "id", "buurtnaam": "name"})
        .to_crs("EPSG:4326")
    )
    path = tmp_path / "areas.geojson"
    gdf.to_file(path, driver="GeoJSON", engine="pyogrio")
    with pytest.raises(BoundaryError, match="no area code column"):
        read_boundaries(path)
    b = read_boundaries(path, columns={"code": "id", "naam": "name"})
    assert b.areas.index.tolist() == ["BU03630000", "BU03630001"]
    assert b.areas["naam"].tolist() == ["Buurt BU03630000", "Buurt BU03630001"]
    assert b.areas.crs.to_epsg() == 28992
    with pytest.raises(BoundaryError, match="column 'naam_x' .* is not in the layer"):
        read_boundaries(path, columns={"code": "id", "naam": "naam_x"})


def test_codes_are_normalised(write_gpkg):
    gdf = grid_buurten([" bu03630000 ", "BU03630001"])
    b = read_boundaries(write_gpkg(gdf))
    assert b.areas.index.tolist() == ["BU03630000", "BU03630001"]


def test_water_only_areas_dropped_or_flagged(write_gpkg):
    gdf = grid_buurten(["BU03630000", "BU03630001"], water=["NEE", "JA"])
    path = write_gpkg(gdf)
    dropped = read_boundaries(path)
    assert dropped.areas.index.tolist() == ["BU03630000"]
    assert dropped.report.water == ["BU03630001"]
    kept = read_boundaries(path, drop_water=False)
    assert kept.areas["water"].tolist() == [False, True]


def test_given_wijk_layer_is_used_and_checked(tmp_path):
    path = tmp_path / "wbk.gpkg"
    grid_buurten(["BU03630000", "BU03630100"]).to_file(path, layer="buurten")
    wijken = gpd.GeoDataFrame(
        {"wijkcode": ["WK036300"], "wijknaam": ["Centrum"]},
        geometry=[shapely.box(120_000, 487_000, 120_100, 487_100)],
        crs="EPSG:28992",
    )
    wijken.to_file(path, layer="wijken")
    with pytest.raises(BoundaryError, match=r"layer 'wijken'.*missing: WK036301"):
        read_boundaries(path)
    wijken2 = gpd.GeoDataFrame(
        {"wijkcode": ["WK036300", "WK036301"], "wijknaam": ["Centrum", "Oost"]},
        geometry=[
            shapely.box(120_000, 487_000, 120_100, 487_100),
            shapely.box(120_100, 487_000, 120_200, 487_100),
        ],
        crs="EPSG:28992",
    )
    wijken2.to_file(path, layer="wijken", mode="w")
    b = read_boundaries(path)
    assert b.levels["wijk"]["naam"].tolist() == ["Centrum", "Oost"]
    assert b.report.built_by_dissolving == ["gemeente"]


def test_report_is_json_serialisable(demo):
    from dataclasses import asdict

    json.dumps(asdict(demo.report))


def test_no_warnings_on_clean_demo_file():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_boundaries(DEMO_BOUNDARIES, columns=DEMO_COLUMNS)


def test_select_keeps_an_area_of_interest_on_every_level():
    b = read_boundaries(SAMPLE_2015, select=["GM1669"])
    assert set(b.levels["gemeente"].index) == {"GM1669"}
    assert len(b.levels["buurt"]) == 22
    assert set(b.levels["buurt"]["gemeentecode"]) == {"GM1669"}
    assert set(b.levels["wijk"]["gemeentecode"]) == {"GM1669"}
    # codes of any level, any case, together
    wijk = b.levels["wijk"].index[0]
    mixed = read_boundaries(SAMPLE_2015, select=[wijk.lower(), "GM1904"])
    assert set(mixed.levels["gemeente"].index) == {"GM1669", "GM1904"}
    assert set(mixed.levels["wijk"].index) & set(b.levels["wijk"].index) == {wijk}


def test_select_names_a_code_the_file_does_not_have():
    with pytest.raises(BoundaryError, match=r"select names 'GM1668'.*did you mean 'GM1669'"):
        read_boundaries(SAMPLE_2015, select=["GM1668"])
    with pytest.raises(BoundaryError, match="no provincie column"):
        read_boundaries(SAMPLE_2015, select=["Utrecht"])


def test_dissolving_closes_gaps_between_neighbours_but_keeps_a_lake():
    from zicht.boundaries.hierarchy import dissolve

    # two buurten 0.3 m and 12 m apart (generalised edges), with a 300 m lake in one
    lake = shapely.box(200, 200, 500, 500)
    geoms = [
        shapely.box(0, 0, 1000, 1000).difference(lake),
        shapely.box(1000.3, 0, 2000, 1000),
        shapely.box(2012, 0, 3000, 1000),
    ]
    areas = gpd.GeoDataFrame(
        {
            "naam": ["a", "b", "c"],
            "niveau": "buurt",
            "wijkcode": "WK036300",
            "gemeentecode": "GM0363",
            "water": False,
        },
        index=pd.Index(["BU03630000", "BU03630001", "BU03630002"], name="code"),
        geometry=geoms,
        crs="EPSG:28992",
    )
    wijk, closed = dissolve(areas, "wijk", None)
    polygons = shapely.get_parts(wijk.geometry.iloc[0])
    assert len(polygons) == 1 and closed == 0  # the gaps were cuts, not rings
    assert [shapely.Polygon(r).area for r in polygons[0].interiors] == [pytest.approx(90_000)]
    # gaps as rings: a frame of four strips with hairline seams around a courtyard
    ring = [shapely.box(0, 0, 1000, 100), shapely.box(0, 900.2, 1000, 1000)]
    ring += [shapely.box(0, 100.2, 100, 899.9), shapely.box(900.4, 100.1, 1000, 900)]
    frame = areas.iloc[[0, 0, 0, 0]].set_axis([f"BU0363000{i}" for i in range(4)])
    frame = frame.set_geometry(gpd.GeoSeries(ring, index=frame.index, crs="EPSG:28992"))
    wijk, closed = dissolve(frame, "wijk", None)
    interiors = list(shapely.get_parts(wijk.geometry.iloc[0])[0].interiors)
    assert len(interiors) == 1 and shapely.Polygon(interiors[0]).area > 600_000
    assert shapely.area(wijk.geometry.iloc[0]) == pytest.approx(1_000_000 - 800 * 800, rel=0.01)


def test_overlapping_neighbours_and_crowded_slivers_are_suspect():
    from zicht.boundaries.quality import suspect_areas

    geoms = [shapely.box(0, 0, 1000, 1000), shapely.box(700, 0, 1700, 1000)]
    geoms += [shapely.box(3000, 0, 3100, 1000), shapely.box(5000, 0, 5010, 10)]
    areas = gpd.GeoDataFrame(
        {"niveau": "buurt"},
        index=pd.Index(["BU1", "BU2", "BU3", "BU4"], name="code"),
        geometry=geoms,
        crs="EPSG:28992",
    )
    people = pd.Series([100, 100, 100, -99999999], index=areas.index)  # BU4: secret
    areas.loc["BU4", "geometry"] = shapely.box(5000, 0, 5100, 100)  # 1 ha
    found = suspect_areas(areas, people)
    assert found[["code", "problem"]].values.tolist() == [
        ["BU1", "overlap"],
        ["BU2", "overlap"],
    ]
    found = suspect_areas(areas, pd.Series([100, 100, 100, 5000], index=areas.index))
    assert "BU4" in found["code"].tolist()  # 1 ha for 5,000 inhabitants
