"""Figures of one boundary year moved to another (boundaries.interpolate,
engine.sources.interpolated, ``[[tables]] interpolate_from``): totals kept, the same
boundaries give the same figures, hand-checkable splits and merges, means with their
denominators, missing figures, target density, the config's refusals, and the move
of Amsterdam's 2015 figures onto its 2024 buurten."""

from __future__ import annotations

import json
import re
import sqlite3
import textwrap

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import DATA, DEMO_STADSDEEL
from zicht.boundaries import read_boundaries
from zicht.boundaries.interpolate import allocation, move_counts, move_means
from zicht.engine.config import load_config
from zicht.engine.data import DEMO_BOUNDARIES
from zicht.errors import ConfigError, TableError

X0, Y0 = 120_000.0, 487_000.0
OLD_2015 = DATA / "tnocs_vr_2015_amsterdam-amstelland_buurt.geojson"


def strip(cuts: list[float], prefix: str) -> gpd.GeoSeries:
    """Rectangles side by side between successive ``cuts`` (metres from X0), 100 m high."""
    boxes = [shapely.box(X0 + a, Y0, X0 + b, Y0 + 100) for a, b in zip(cuts, cuts[1:])]
    codes = [f"{prefix}{i:02d}" for i in range(len(boxes))]
    return gpd.GeoSeries(boxes, index=pd.Index(codes, name="code"), crs="EPSG:28992")


# Old A (0-100 m) and B (100-200 m); new T0 is the left half of A, T1 the rest of A
# with all of B: a split and a merge at once.
OLD = strip([0, 100, 200], "A")
NEW = strip([0, 50, 200], "T")


def test_split_and_merge_by_hand():
    counts = pd.DataFrame({"n": [100.0, 50.0]}, index=OLD.index)
    moved = move_counts(allocation(OLD, NEW), counts)["n"]
    assert moved.to_dict() == pytest.approx({"T00": 50.0, "T01": 100.0})


def test_means_move_with_their_denominators():
    # A: mean 10 over 100 households, B: mean 20 over 300; T1 has half of A and all of B
    means = pd.Series([10.0, 20.0], index=OLD.index)
    households = pd.Series([100.0, 300.0], index=OLD.index)
    value, denominator = move_means(allocation(OLD, NEW), means, households)
    assert denominator.to_dict() == pytest.approx({"T00": 50.0, "T01": 350.0})
    # (10 x 50 + 20 x 300) / 350, not the area-weighted mean of 10 and 20 (16.7)
    assert value["T01"] == pytest.approx(6500 / 350)
    assert value["T00"] == pytest.approx(10.0)


def test_a_missing_figure_is_not_a_zero():
    counts = pd.DataFrame({"n": [100.0, np.nan]}, index=OLD.index)
    moved = move_counts(allocation(OLD, NEW), counts)["n"]
    assert moved["T00"] == pytest.approx(50.0)
    assert np.isnan(moved["T01"])  # two thirds of its area have no figure
    # control: the same with B known gives T01 a value
    known = move_counts(allocation(OLD, NEW), counts.fillna(0.0))["n"]
    assert known["T01"] == pytest.approx(50.0)


def test_target_density_puts_people_where_the_new_year_has_them():
    # T0 and T1 halve A; the new year counts 30 and 10 in them: A's 100 go 75 / 25
    old = strip([0, 100], "A")
    new = strip([0, 50, 100], "T")
    counts = pd.DataFrame({"n": [100.0]}, index=old.index)
    density = pd.Series([30.0, 10.0], index=new.index)
    moved = move_counts(allocation(old, new, density), counts)["n"]
    assert moved.to_dict() == pytest.approx({"T00": 75.0, "T01": 25.0})
    by_area = move_counts(allocation(old, new), counts)["n"]
    assert by_area.to_dict() == pytest.approx({"T00": 50.0, "T01": 50.0})
    # a weight the new areas do not have: back to area weights
    unknown = move_counts(allocation(old, new, density * np.nan), counts)["n"]
    assert unknown.to_dict() == pytest.approx({"T00": 50.0, "T01": 50.0})


def test_a_source_partly_outside_gives_only_its_part():
    # A lies 40% over T0; the rest of it is outside the run's areas (another gemeente)
    old = strip([0, 100], "A")
    new = strip([60, 100], "T")
    counts = pd.DataFrame({"n": [100.0]}, index=old.index)
    moved = move_counts(allocation(old, new), counts)["n"]
    assert moved["T00"] == pytest.approx(40.0)
    # a sliver outside (1%) is where two years draw a line differently: all of A goes in
    sliver = move_counts(allocation(old, strip([1, 100], "T")), counts)["n"]
    assert sliver["T00"] == pytest.approx(100.0)


def test_an_area_the_old_boundaries_do_not_cover_gets_no_estimate():
    old = strip([0, 100], "A")
    new = strip([0, 100, 200], "T")  # T1 is new land
    moved = move_counts(allocation(old, new), pd.DataFrame({"n": [100.0]}, index=old.index))
    assert moved["n"]["T00"] == pytest.approx(100.0)
    assert np.isnan(moved["n"]["T01"])


@settings(max_examples=40, deadline=None)
@given(
    old_cuts=st.lists(st.integers(1, 999), min_size=0, max_size=8, unique=True),
    new_cuts=st.lists(st.integers(1, 999), min_size=0, max_size=8, unique=True),
    values=st.lists(st.integers(0, 10_000), min_size=9, max_size=9),
)
def test_totals_are_kept_and_each_estimate_is_its_share(old_cuts, new_cuts, values):
    """On two partitions of one strip: the totals are the same, and each new area gets
    from each old one the share of the old one's length it holds."""
    a = [0, *sorted(old_cuts), 1000]
    b = [0, *sorted(new_cuts), 1000]
    old, new = strip(a, "A"), strip(b, "T")
    counts = pd.DataFrame({"n": np.asarray(values[: len(old)], dtype=float)}, index=old.index)
    moved = move_counts(allocation(old, new), counts)["n"]
    assert moved.sum() == pytest.approx(counts["n"].sum(), rel=1e-6, abs=1e-6)
    expected = [
        sum(
            v * max(0, min(a1, b1) - max(a0, b0)) / (a1 - a0)
            for v, a0, a1 in zip(counts["n"], a, a[1:])
        )
        for b0, b1 in zip(b, b[1:])
    ]
    np.testing.assert_allclose(moved.to_numpy(), expected, rtol=1e-5, atol=1e-3)


def test_same_boundaries_give_the_same_figures():
    """Amsterdam's 518 buurten of 2024 onto themselves: every count as it was."""
    areas = read_boundaries(DEMO_BOUNDARIES).areas
    raw = gpd.read_file(DEMO_BOUNDARIES, layer="buurten").set_index("buurtcode")
    counts = raw[["inwoners", "huishoudens"]].reindex(areas.index).astype(float)
    moved = move_counts(allocation(areas.geometry, areas.geometry), counts)
    known = counts.notna()
    np.testing.assert_allclose(moved[known], counts[known], rtol=1e-5)
    assert moved.isna().equals(counts.isna())


def test_the_result_is_toblers_where_it_makes_no_changes():
    """Area weights, sources wholly inside, no missing figures: tobler's
    area_interpolate gives the same."""
    from tobler.area_weighted import area_interpolate

    old = strip([0, 130, 400, 1000], "A")
    new = strip([0, 90, 300, 720, 1000], "T")
    counts = pd.DataFrame({"n": [13.0, 270.0, 600.0]}, index=old.index)
    ours = move_counts(allocation(old, new), counts)["n"].to_numpy()
    theirs = area_interpolate(
        gpd.GeoDataFrame(counts.reset_index(drop=True), geometry=old.values, crs=old.crs),
        gpd.GeoDataFrame(geometry=new.values, crs=new.crs),
        extensive_variables=["n"],
    )["n"].to_numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_estimates_of_unprotected_figures_give_them_away():
    """Why ``interpolate_from`` needs a published (public) table: the estimates are
    linear in the old figures with weights anyone can compute from the two boundary
    files, so solving for them returns every old figure, a small one too."""
    old = strip([0, 100, 200, 300], "A")
    new = strip([0, 50, 150, 250, 300], "T")
    secret = np.array([3.0, 480.0, 120.0])  # A00: 3, below any frequency rule
    alloc = allocation(old, new)
    published = move_counts(alloc, pd.DataFrame({"n": secret}, index=old.index))["n"]
    recovered, *_ = np.linalg.lstsq(alloc.weights.T.toarray(), published.to_numpy(), rcond=None)
    np.testing.assert_allclose(recovered, secret, atol=1e-3)


# --- in a run: the config, the errors, Amsterdam 2015 on 2024 -----------------------

MOVED_CONFIG = """
[boundaries]
path = "{boundaries}"
layer = "buurten"
columns = {{ naam = "ams_buurtnaam", wijknaam = "ams_wijknaam" }}
year = 2024
select = {select}

[[tables]]
id = "kwb2024"
path = "{boundaries}"
layer = "buurten"
key = "buurtcode"
public = true

[[tables]]
id = "kwb2015"
path = "{old}"
key = "BU_CODE"
year = 2015
min_match = 0.9
na_values = ["-99999999"]
public = {public}
interpolate_from = {{ boundaries = "{old}", weight = "{weight}" }}

[[indicators]]
id = "inwoners"
kind = "count"
table = "kwb2024"
column = "inwoners"
label_nl = "Inwoners"
label_en = "Inhabitants"

[[indicators]]
id = "inwoners_2015"
kind = "count"
table = "kwb2015"
column = "AANT_INW"
label_nl = "Inwoners 2015"
label_en = "Inhabitants 2015"

[[indicators]]
id = "huishoudens_2015"
kind = "count"
table = "kwb2015"
column = "AANTAL_HH"
label_nl = "Huishoudens 2015"
label_en = "Households 2015"

[[indicators]]
id = "huishoudensgrootte_2015"
kind = "mean"
table = "kwb2015"
column = "GEM_HH_GR"
weight = "{mean_weight}"
label_nl = "Gemiddelde huishoudensgrootte 2015"
label_en = "Average household size 2015"

[[indicators]]
id = "groei"
numerator = "inwoners"
denominator = "inwoners_2015"
per = 100
kind = "share"
label_nl = "Inwoners 2024 per 100 van 2015"
label_en = "Inhabitants 2024 per 100 of 2015"
"""


def moved_config(tmp_path, **changes: str):
    values = {
        "boundaries": DEMO_BOUNDARIES.as_posix(),
        "old": OLD_2015.as_posix(),
        "select": "[]",
        "public": "true",
        "weight": "inwoners",
        "mean_weight": "huishoudens_2015",
    }
    text = textwrap.dedent(MOVED_CONFIG.format(**(values | changes)))
    path = tmp_path / "moved.toml"
    path.write_text(text)
    return path


def test_the_config_refuses_a_table_that_is_not_public(tmp_path):
    with pytest.raises(ConfigError, match=r"interpolate_from.*public = true"):
        load_config(moved_config(tmp_path, public="false"))
    assert load_config(moved_config(tmp_path)).estimates == {
        "inwoners_2015",
        "huishoudens_2015",
        "huishoudensgrootte_2015",
        "groei",
    }


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"weight": "inwoners_2015"}, r"tables\[1\]\.interpolate_from\.weight"),
        ({"weight": "inwonres"}, r"tables\[1\]\.interpolate_from\.weight"),
        ({"mean_weight": "inwoners"}, r"indicators\[3\]\.weight"),
        ({"old": "/nonexistent/buurten_2015.gpkg"}, r"interpolate_from"),
    ],
)
def test_config_errors_name_the_key(tmp_path, change, key):
    if "old" in change:  # the table itself exists; only the boundaries do not
        path = moved_config(tmp_path)
        text = path.read_text().replace(
            f'boundaries = "{OLD_2015.as_posix()}"', f'boundaries = "{change["old"]}"'
        )
        path.write_text(text)
    else:
        path = moved_config(tmp_path, **change)
    with pytest.raises(ConfigError, match=key):
        load_config(path)


def test_table_codes_not_of_the_boundaries_name_the_file(tmp_path):
    from zicht.engine.indicators import compute_indicators

    # the 2015 table's codes (BU03630000) against 2024 boundaries (BU0363AA01)
    path = moved_config(tmp_path)
    text = path.read_text().replace(
        f'interpolate_from = {{ boundaries = "{OLD_2015.as_posix()}"',
        f'interpolate_from = {{ boundaries = "{DEMO_BOUNDARIES.as_posix()}", layer = "buurten"',
    )
    path.write_text(text)
    config = load_config(path)
    boundaries = read_boundaries(DEMO_BOUNDARIES, columns={"naam": "ams_buurtnaam"})
    with pytest.raises(TableError, match=r"interpolate_from.boundaries amsterdam_buurten_2024"):
        compute_indicators(config, boundaries)


@pytest.fixture(scope="module")
def amsterdam_2015_on_2024(tmp_path_factory):
    """Amsterdam's 2015 buurten' figures on its 2024 buurten, by the 2024 inhabitants."""
    from zicht.engine.indicators import compute_indicators

    config = load_config(moved_config(tmp_path_factory.mktemp("moved")))
    boundaries = read_boundaries(
        DEMO_BOUNDARIES, columns={"naam": "ams_buurtnaam", "wijknaam": "ams_wijknaam"}
    )
    return compute_indicators(config, boundaries)


def test_amsterdam_2015_on_2024_keeps_the_total(amsterdam_2015_on_2024):
    result = amsterdam_2015_on_2024
    old = gpd.read_file(OLD_2015)
    amsterdam_2015 = old.loc[old["GM_CODE"] == "GM0363", "AANT_INW"].sum()  # 821,535
    moved = result.cells["inwoners_2015"].levels["gemeente"]["value"]["GM0363"]
    # all of Amsterdam 2015's inhabitants, and little of its neighbours' (slivers);
    # 2024 Amsterdam also has Weesp, which the 2015 file of the region does not cover
    assert amsterdam_2015 <= moved <= 1.01 * amsterdam_2015
    (how,) = result.interpolations
    assert how.from_year == 2015 and how.to_year == 2024 and how.weight == "inwoners"
    assert how.uncovered  # Weesp's buurten: no estimate rather than a wrong one
    buurten = result.cells["inwoners_2015"].levels["buurt"]["value"]
    assert buurten[how.uncovered].isna().all()
    assert buurten.notna().sum() > 450


def test_amsterdam_2015_mean_is_weighted_by_its_households(amsterdam_2015_on_2024):
    cells = amsterdam_2015_on_2024.cells
    size = cells["huishoudensgrootte_2015"].levels["buurt"]["value"].dropna()
    assert size.between(1.0, 4.0).all()  # persons per household, not a sum
    gemeente = cells["huishoudensgrootte_2015"].levels["gemeente"]["value"]["GM0363"]
    persons = cells["inwoners_2015"].levels["gemeente"]["value"]["GM0363"]
    households = cells["huishoudens_2015"].levels["gemeente"]["value"]["GM0363"]
    assert gemeente == pytest.approx(persons / households, rel=0.05)
    growth = cells["groei"].levels["gemeente"]["value"]["GM0363"]
    assert 105 < growth < 120  # 931,300 in 2024 on 821,535 in 2015 (and Weesp's part)


def test_a_run_marks_the_estimates(tmp_path):
    from zicht.engine import run

    config = load_config(moved_config(tmp_path, select=json.dumps(list(DEMO_STADSDEEL))))
    out = tmp_path / "out"
    run(config, out)
    with sqlite3.connect(out / "zicht.gpkg") as db:
        labels = dict(db.execute("SELECT id, label_nl FROM indicators").fetchall())
        record = dict(db.execute("SELECT key, value FROM run").fetchall())
        (description,) = db.execute(
            "SELECT description FROM gpkg_contents WHERE table_name = 'buurten'"
        ).fetchone()
        styles = "".join(r[0] for r in db.execute("SELECT styleQML FROM layer_styles"))
    assert labels["inwoners_2015"] == "Inwoners 2015 (schatting)"
    assert labels["groei"].endswith("(schatting)")
    assert labels["inwoners"] == "Inwoners"  # a figure of the run's own year
    (moved,) = json.loads(record["estimates"])
    assert moved["table"] == "kwb2015" and moved["from_year"] == 2015
    assert "Schattingen" in description and "inwoners_2015" in description
    assert 'name="Inwoners 2015 (schatting)"' in styles
    manifest = json.loads((out / "manifest.json").read_text())
    assert "inwoners_2015" in manifest["estimates"]
    assert "schatting" in (out / "report.html").read_text().lower()


def test_the_cli_writes_estimates_whole_or_not_at_all(tmp_path, capsys):
    from zicht.engine.cli import main

    out = tmp_path / "amsterdam_2015_op_2024.csv"
    args = ["boundaries", "interpolate", str(OLD_2015), "--key", "BU_CODE"]
    args += ["--from", str(OLD_2015), "--to", str(DEMO_BOUNDARIES), "--out", str(out)]
    assert main([*args, "--count", "AANT_INW", "--mean", "GEM_HH_GR=AANTAL_HH"]) == 0
    moved = pd.read_csv(out, sep=";", decimal=",", index_col="code")
    # Dutch, as every output: a decimal comma, two decimals (estimates)
    assert re.search(r";\d+,\d\d(;|$)", out.read_text(encoding="utf-8").splitlines()[1])
    assert len(moved) == 518 and (moved["schatting"] == "2015 -> 2024 (area)").all()
    assert 0.99 * 821_535 < moved["AANT_INW"].sum() < 1.01 * 821_535
    assert moved["GEM_HH_GR"].dropna().between(1.0, 4.0).all()
    # a column the table lacks: exit 2 naming it, and the file as it was
    before = out.read_bytes()
    assert main([*args, "--count", "AANT_INWW"]) == 2
    assert "no column 'AANT_INWW'" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
