"""Hard inputs through the command line: each gives one line naming the culprit, exit
code 2, no traceback, and no output directory."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pytest
import shapely

from tests.conftest import grid_buurten, run_config
from zicht.engine.cli import main

CODES = ["BU03630000", "BU03630001", "BU03630100"]


def _run(config, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", str(config), "--out", str(out)])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("zicht: error")]
    assert code == 2, err
    assert len(errors) == 1 and "Traceback" not in err
    assert not out.exists()
    return errors[0]


def test_missing_boundary_file(tmp_path, capsys):
    config = run_config(tmp_path, areas=None)
    assert "key 'boundaries.path' names" in _run(config, tmp_path, capsys)


def test_wrong_layer(tmp_path, capsys):
    config = run_config(tmp_path, grid_buurten(CODES), layer='layer = "wijken"')
    assert "no layer 'wijken'; layers are ['buurten']" in _run(config, tmp_path, capsys)


def test_no_crs(tmp_path, capsys):
    config = run_config(tmp_path, grid_buurten(CODES).set_crs(None, allow_override=True))
    assert "no coordinate reference system" in _run(config, tmp_path, capsys)


def test_degrees_labelled_as_rd_new(tmp_path, capsys):
    config = run_config(tmp_path, grid_buurten(CODES, size=0.01, x0=4.9, y0=52.37))
    assert "look like longitude/latitude" in _run(config, tmp_path, capsys)


def test_duplicate_codes(tmp_path, capsys):
    config = run_config(tmp_path, grid_buurten(["BU03630000", "BU03630000", "BU03630100"]))
    assert "duplicate buurt code BU03630000" in _run(config, tmp_path, capsys)


def test_codes_that_do_not_join(tmp_path, capsys):
    table = "code;n\nBU99990000;4\nBU03630001;7\nBU03630100;9\n"
    message = _run(run_config(tmp_path, grid_buurten(CODES), table=table), tmp_path, capsys)
    assert "2 of 3 areas found (67%)" in message and "below min_match 90%" in message


@pytest.mark.parametrize(
    "geometry, message",
    [
        (shapely.Polygon(), "no usable polygons left"),
        (shapely.LineString([(120_000, 487_000), (120_100, 487_100)]), "no usable polygons left"),
    ],
)
def test_empty_and_non_polygon_geometries(tmp_path, capsys, geometry, message):
    areas = gpd.GeoDataFrame({"buurtcode": ["BU03630000"]}, geometry=[geometry], crs="EPSG:28992")
    config = run_config(tmp_path, areas)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said in a log line, never as a Python warning
        assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    if geometry.geom_type == "LineString":  # said before refusing: what was dropped
        assert "dropped 1 LineString feature(s)" in err


def test_empty_and_invalid_geometries_among_good_ones_are_handled(tmp_path, capsys):
    areas = grid_buurten(CODES)
    areas.loc[1, "geometry"] = shapely.Polygon()
    bowtie = shapely.from_wkt(
        "POLYGON ((120200 487000, 120300 487100, 120300 487000, 120200 487100, 120200 487000))"
    )
    areas.loc[2, "geometry"] = bowtie
    config = run_config(tmp_path, areas)
    # an empty buurt is dropped and reported; the table then misses nothing it needs
    assert main(["--quiet", "run", str(config), "--out", str(tmp_path / "out")]) == 0
    written = gpd.read_file(tmp_path / "out" / "zicht.gpkg", layer="buurten")
    assert set(written["code"]) == {"BU03630000", "BU03630100"}
    assert written.is_valid.all()


def test_empty_layer(tmp_path, capsys):
    config = run_config(tmp_path, grid_buurten(CODES).iloc[:0])
    assert "the layer is empty" in _run(config, tmp_path, capsys)


@pytest.mark.parametrize(
    "value, message",
    [
        ("-3", "negative value(s), e.g. for BU03630001"),
        ("veel", "value(s) are not numbers, e.g. 'veel' for BU03630001"),
    ],
)
def test_negative_or_non_numeric_counts(tmp_path, capsys, value, message):
    table = f"code;n\nBU03630000;4\nBU03630001;{value}\nBU03630100;9\n"
    assert message in _run(run_config(tmp_path, grid_buurten(CODES), table=table), tmp_path, capsys)


def test_misspelt_key_suggests_the_nearest(tmp_path, capsys):
    config = run_config(tmp_path, grid_buurten(CODES), extra="\n[spatail]\n")
    assert "unknown key 'spatail'; did you mean 'spatial'?" in _run(config, tmp_path, capsys)


def test_a_column_that_differs_in_case_gets_a_did_you_mean(tmp_path, capsys):
    config = run_config(tmp_path, grid_buurten(CODES))
    config.write_text(config.read_text().replace('column = "n"', 'column = "N"'))
    message = _run(config, tmp_path, capsys)
    assert "no column 'N' (indicator 'n'); did you mean 'n'?" in message
