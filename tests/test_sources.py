"""Indicator sources: StatLine CSV, unit-level records, rasters, synthetic microdata."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin

from tests.conftest import STATLINE_CSV, grid_buurten
from zicht.boundaries import read_boundaries
from zicht.engine.config import MicrodataIndicator
from zicht.engine.data import DEMO_BOUNDARIES
from zicht.engine.sources.microdata import (
    MicrodataError,
    microdata_cells,
    place_records,
    record_mask,
)
from zicht.engine.sources.rasters import RasterError, zonal_cells
from zicht.engine.sources.synthetic import GENERATORS, Context, Drivers, generate
from zicht.engine.sources.tables import join_report, read_table, to_number

# --- StatLine CSV ------------------------------------------------------------------


def test_statline_export_parses_to_codes_and_numbers_exactly():
    table = read_table(STATLINE_CSV, "Regiocode (gemeente, wijk, buurt) (code)")
    assert len(table) == 579
    assert table.index[0] == "GM0363" and table.index[1] == "WK036300"
    assert table.index.str.len().isin([6, 8, 10]).all()
    households = to_number(table["Particuliere huishoudens (Aantal)"], "ses", non_negative=True)
    assert households["GM0363"] == 457400
    assert households["BU03630000"] == 700
    ses = to_number(
        table["SES-WOA/Totaalscore/Gemiddelde score (Getal)"], "ses", non_negative=False
    )
    assert ses["GM0363"] == pytest.approx(-0.100)
    assert ses["BU03630000"] == pytest.approx(0.045)
    low = to_number(table["Opleidingsniveau/Laag/Waarde (%)"], "ses", non_negative=True)
    assert low["WK036300"] == pytest.approx(12.9)
    # every non-empty value is a number: secret marks became NaN, nothing else did
    raw = table["SES-WOA/Totaalscore/Gemiddelde score (Getal)"].str.strip()
    assert (ses.isna() == raw.isin(["", "."])).all()
    assert table.index.is_unique


def test_statline_2019_codes_do_not_match_2024_polygons():
    areas = read_boundaries(DEMO_BOUNDARIES).areas
    table = read_table(STATLINE_CSV, "Regiocode (gemeente, wijk, buurt) (code)")
    report = join_report("ses", STATLINE_CSV, table, areas.index, "buurt")
    assert report.matched == 0 and report.areas == 518
    assert report.table_rows == len(table)  # every row, of whatever level
    assert "0 of 518 areas found (0%)" in report.describe()
    assert "BU03630000" in report.describe()


# --- unit-level records --------------------------------------------------------------


@pytest.fixture
def two_wijken(write_gpkg):
    # BU03630000 and BU03630001 in WK036300, BU03630100 in WK036301; 100 m squares
    path = write_gpkg(grid_buurten(["BU03630000", "BU03630001", "BU03630100"]))
    return read_boundaries(path)


def _spec(**kw) -> MicrodataIndicator:
    return MicrodataIndicator(
        id="x", kind="count", label_nl="x", label_en="x", microdata="m", measure="records", **kw
    )


def test_records_to_cells_by_point(two_wijken):
    x0, y0 = 120_000, 487_000
    records = pd.DataFrame(
        {
            "unit": ["a", "a", "b", "a", "c", "d", "e"],
            "x": [x0 + 10, x0 + 20, x0 + 30, x0 + 150, x0 + 250, x0 + 5_000, np.nan],
            "y": [y0 + 50] * 6 + [np.nan],
            "amount": [100.0, 50.0, 10.0, 7.0, 1.0, 99.0, 5.0],
            "kind": ["x", "y", "x", "x", "x", "x", "x"],
        }
    )
    placement = place_records(records, two_wijken, "unit", "x", "y")
    assert (placement.outside, placement.no_location) == (1, 1)
    line = placement.describe("t")
    assert "28.6% not in any area (14.3% without a location, 14.3% outside every area)" in line
    assert "7" not in line  # shares only: no total of a confidential source in a log
    mask = np.ones(len(records), dtype=bool)
    counts = microdata_cells(placement, two_wijken, mask, "records")
    buurt = counts["buurt"]
    assert buurt["value"].tolist() == [3, 1, 1]
    assert buurt["units"].tolist() == [2, 1, 1]  # two records of unit a are one contributor
    assert buurt.loc["BU03630000", ["top1", "top2"]].tolist() == [2, 1]
    wijk = counts["wijk"]
    assert wijk.loc["WK036300", "value"] == 4
    assert wijk.loc["WK036300", "units"] == 2  # a appears in two buurten: one unit in the wijk
    sums = microdata_cells(placement, two_wijken, mask, "amount", records["amount"].to_numpy())
    assert sums["buurt"].loc["BU03630000", "value"] == 160
    assert sums["buurt"].loc["BU03630000", ["top1", "top2"]].tolist() == [150, 10]
    assert sums["wijk"].loc["WK036300", "top1"] == 157  # unit a over both buurten
    assert sums["gemeente"].loc["GM0363", "value"] == 168
    units = microdata_cells(placement, two_wijken, mask, "units")
    assert units["gemeente"].loc["GM0363", "value"] == 3
    filtered = record_mask(records, _spec(where={"kind": ["x"]}), "t")
    assert microdata_cells(placement, two_wijken, filtered, "records")["buurt"][
        "value"
    ].tolist() == [2, 1, 1]
    with pytest.raises(MicrodataError, match="column 'soort'"):
        record_mask(records, _spec(where={"soort": ["x"]}), "t")


def test_records_in_wgs84_and_by_code(two_wijken):
    to_wgs = Transformer.from_crs(28992, 4326, always_xy=True)
    lon, lat = to_wgs.transform([120_050, 120_250], [487_050, 487_050])
    records = pd.DataFrame({"unit": ["a", "b"], "lon": lon, "lat": lat})
    placement = place_records(records, two_wijken, "unit", "lon", "lat", crs="EPSG:4326")
    cells = microdata_cells(placement, two_wijken, np.ones(2, dtype=bool), "records")
    assert cells["buurt"]["value"].tolist() == [1, 0, 1]
    by_code = pd.DataFrame(
        {"unit": ["a", "b", "c"], "buurt": ["BU03630001", " bu03630001", "BU99999999"]}
    )
    placement = place_records(by_code, two_wijken, "unit", code="buurt")
    assert placement.outside == 1
    cells = microdata_cells(placement, two_wijken, np.ones(3, dtype=bool), "records")
    assert cells["buurt"]["value"].tolist() == [0, 2, 0]


def test_non_numeric_coordinates_are_an_error(two_wijken):
    records = pd.DataFrame({"unit": ["a"], "x": ["12,3"], "y": ["487000"]})
    with pytest.raises(MicrodataError, match="coordinates in columns 'x'/'y' are not numbers"):
        place_records(records, two_wijken, "unit", "x", "y", where="f.csv")


# --- rasters -----------------------------------------------------------------------------


def _write_raster(path, data, transform, crs, nodata=None):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype=data.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(data, 1)


def test_zonal_statistics_equal_a_hand_computation(tmp_path, two_wijken):
    # 10 m pixels over a larger extent than the areas (so only a window is read).
    # Buurt i spans x 120000+100i .. +100, y 487000..487100 = 10 x 10 pixels.
    x0, y_top = 119_900, 487_200
    data = np.arange(40 * 30, dtype="float32").reshape(30, 40)
    data[15, 12] = -9999  # nodata inside BU03630000
    path = tmp_path / "r.tif"
    _write_raster(path, data, from_origin(x0, y_top, 10, 10), "EPSG:28992", nodata=-9999)
    areas = two_wijken.areas
    mean = zonal_cells(path, areas, "mean")
    total = zonal_cells(path, areas, "sum")
    share = zonal_cells(path, areas, "share_above", threshold=700)
    for i, code in enumerate(areas.index):
        rows = slice(10, 20)  # y 487100 .. 487000
        cols = slice(10 + 10 * i, 20 + 10 * i)
        block = data[rows, cols]
        block = block[block != -9999]
        assert mean.loc[code, "value"] == pytest.approx(block.mean())
        assert mean.loc[code, "denominator"] == block.size
        assert total.loc[code, "value"] == pytest.approx(block.sum())
        assert share.loc[code, "value"] == pytest.approx((block > 700).mean() * 100)
    assert mean.loc["BU03630000", "denominator"] == 99


def test_zonal_statistics_in_another_crs(tmp_path, two_wijken):
    # A WGS84 raster: the areas are transformed to its CRS; pixel centres decide.
    to_wgs = Transformer.from_crs(28992, 4326, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_wgs.transform([119_950, 120_350], [486_950, 487_150])
    width, height = 40, 20
    dx, dy = (lon1 - lon0) / width, (lat1 - lat0) / height
    data = np.random.default_rng(0).random((height, width)).astype("float64")
    path = tmp_path / "wgs.tif"
    _write_raster(path, data, from_origin(lon0, lat1, dx, dy), "EPSG:4326")
    mean = zonal_cells(path, two_wijken.areas, "mean")
    # by hand: each pixel centre to RD, then which square contains it
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    lon = lon0 + (cols + 0.5) * dx
    lat = lat1 - (rows + 0.5) * dy
    to_rd = Transformer.from_crs(4326, 28992, always_xy=True)
    x, y = to_rd.transform(lon.ravel(), lat.ravel())
    for code, geom in two_wijken.areas.geometry.items():
        inside = shapely.contains_xy(geom, x, y)
        assert inside.sum() > 10
        assert mean.loc[code, "value"] == pytest.approx(data.ravel()[inside].mean())


def test_raster_without_crs_is_refused(tmp_path, two_wijken):
    path = tmp_path / "nocrs.tif"
    _write_raster(path, np.ones((5, 5), dtype="uint8"), from_origin(0, 5, 1, 1), None)
    with pytest.raises(RasterError, match="nocrs.tif: the raster has no coordinate"):
        zonal_cells(path, two_wijken.areas, "mean")


# --- synthetic microdata -----------------------------------------------------------------


@pytest.fixture(scope="module")
def amsterdam():
    b = read_boundaries(DEMO_BOUNDARIES)
    raw = gpd.read_file(DEMO_BOUNDARIES).set_index("buurtcode").reindex(b.areas.index)
    drivers = Drivers.from_columns(
        b.areas,
        raw["inwoners"],
        raw["huishoudens"],
        raw["wozWaarde"],
        raw["adressendichtheid"],
        raw["oppervlakteLandHa"],
    )
    return b, drivers


def test_synthetic_records_are_seeded_and_inside_their_buurt(amsterdam):
    b, drivers = amsterdam
    for name in GENERATORS:
        one = generate(name, b.areas, drivers, seed=7)
        two = generate(name, b.areas, drivers, seed=7)
        other = generate(name, b.areas, drivers, seed=8)
        pd.testing.assert_frame_equal(one.records, two.records)
        assert not one.records.equals(other.records)
        assert len(one.records) > 100
        if "x" in one.records:
            located = one.records.dropna(subset=["x"])
            placement = place_records(located, b, one.unit, "x", "y")
            assert placement.outside == 0


def test_planted_clusters_carry_more_risk(amsterdam):
    b, drivers = amsterdam
    ctx = Context(b.areas, drivers, seed=3)
    data = generate("kvk_vestigingen", b.areas, drivers, seed=3, context=ctx)
    placement = place_records(data.records, b, data.unit, "x", "y")
    pos = placement.position["buurt"]
    risky = data.records["risicobranche"].to_numpy()
    high = data.risk.to_numpy()[pos] > 2
    assert risky[high].mean() > 1.5 * risky[~high].mean()
    assert set(data.planted) <= set(b.areas.index)


def _placed_by_tree(polygons: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Each point's area as placement did with an R-tree of the areas and a Point per
    record: the first area in code order whose polygon the point intersects."""
    point_idx, area_idx = shapely.STRtree(polygons).query(shapely.points(xs, ys))
    inside = shapely.intersects_xy(polygons[area_idx], xs[point_idx], ys[point_idx])
    hit = np.full(len(xs), -1, dtype=np.int64)
    for p, a in sorted(zip(point_idx[inside], area_idx[inside]), reverse=True):
        hit[p] = a  # the lowest area last
    return hit


def test_points_are_placed_as_by_the_r_tree_also_on_edges_and_vertices():
    boundaries = read_boundaries(DEMO_BOUNDARIES, columns={"naam": "ams_buurtnaam"})
    polygons = np.asarray(boundaries.areas.geometry.values)
    x0, y0, x1, y1 = shapely.total_bounds(polygons)
    rng = np.random.default_rng(7)
    vertices = shapely.get_coordinates(polygons)[::5]  # many on two or more buurten
    boxes = shapely.bounds(polygons)  # on the edges of the bounding boxes
    xs = np.r_[rng.uniform(x0 - 500, x1 + 500, 20_000), vertices[:, 0], boxes[:, 0], boxes[:, 2]]
    ys = np.r_[rng.uniform(y0 - 500, y1 + 500, 20_000), vertices[:, 1], boxes[:, 1], boxes[:, 3]]
    records = pd.DataFrame({"unit": np.arange(len(xs)), "x": xs, "y": ys})
    expected = _placed_by_tree(polygons, xs, ys)
    assert (expected >= 0).sum() > 10_000 and (expected < 0).sum() > 1_000
    placed = place_records(records, boundaries, "unit", "x", "y")
    np.testing.assert_array_equal(placed.position["buurt"], expected)
    # the tie rule is tested: many vertices lie on several buurten at once
    on = shapely.STRtree(polygons).query(shapely.points(vertices), "intersects")[0]
    assert (np.bincount(on) > 1).sum() > 100
