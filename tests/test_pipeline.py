"""The demo run end to end, atomic output, and the CLI's error contract."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from importlib.metadata import version

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from openpyxl import load_workbook

from tests.conftest import GEOJSON_2015, grid_buurten, run_config
from zicht import versions
from zicht.engine import pipeline as run_pipeline
from zicht.engine.cli import main
from zicht.engine.config import TableIndicator, load_config
from zicht.engine.data import DEMO_BOUNDARIES, DEMO_CONFIG
from zicht.engine.outputs import writers as output_writers
from zicht.engine.outputs.manifest import sha256_of
from zicht.engine.themes import THEMES
from zicht.versions import PINNED_HIGHS, check_complement_solver, scipy_highs


def _layer(out, name):
    return gpd.read_file(out / "zicht.gpkg", layer=name, engine="pyogrio")


def test_demo_geopackage_contract(demo_out):
    layers = pyogrio.list_layers(demo_out / "zicht.gpkg")
    assert {str(n) for n, _ in layers} == {
        "buurten",
        "wijken",
        "gemeenten",
        "indicators",
        "run",
        "autocorrelation",
        "models",
        "scores",
        "labels",
        "layer_styles",
        "branches",
        "branches_wijken",
        "branches_gemeenten",
    }
    labels = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="labels")
    hot = labels[(labels["kolom"] == "hotspot_drugs") & (labels["code"] == "hot 95%")]
    assert hot["label"].tolist() == ["hotspot (95%)"]
    buurten = _layer(demo_out, "buurten")
    assert len(buurten) == 518
    assert list(buurten.columns[:5]) == ["code", "naam", "niveau", "wijkcode", "gemeentecode"]
    assert (buurten["niveau"] == "buurt").all()
    assert (buurten["gemeentecode"] == "GM0363").all()
    for name in ("buurten", "wijken", "gemeenten"):
        layer = _layer(demo_out, name)
        assert layer.crs.to_epsg() == 28992
        assert (layer.geom_type == "MultiPolygon").all() and layer.is_valid.all()


def test_totals_equal_sums_of_buurten(demo_out):
    buurten, wijken = _layer(demo_out, "buurten"), _layer(demo_out, "wijken")
    gemeente = _layer(demo_out, "gemeenten").iloc[0]
    raw = gpd.read_file(DEMO_BOUNDARIES, engine="pyogrio")
    cfg = load_config(DEMO_CONFIG)
    for spec in cfg.indicators:
        if spec.kind in ("count", "sum") and isinstance(spec, TableIndicator):  # public figures
            by_wijk = buurten.groupby("wijkcode")[spec.id].sum(min_count=1)
            got = wijken.set_index("code")[spec.id].loc[by_wijk.index]
            np.testing.assert_allclose(got, by_wijk, err_msg=spec.id)
            assert gemeente[spec.id] == pytest.approx(buurten[spec.id].sum())
            if isinstance(spec, TableIndicator):  # the buurt values are the source's own figures
                assert buurten[spec.id].sum() == pytest.approx(raw[spec.column].sum())
    # rates: summed numerator over summed denominator, for wijk and gemeente
    both = buurten[["misdrijven_2025", "inwoners"]].dropna()
    assert gemeente["misdrijven_per_1000"] == pytest.approx(
        both["misdrijven_2025"].sum() / both["inwoners"].sum() * 1000
    )
    assert gemeente["inwoners"] == pytest.approx(raw["inwoners"].sum())


def test_four_themes_with_at_least_three_risk_indicators(demo_out):
    indicators = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="indicators")
    risk = indicators[indicators["direction"] == "higher"]
    assert risk.groupby("theme").size().reindex(THEMES).min() >= 3
    # real figures are not synthetic; every themed figure of the demo is, and says so
    real = indicators.set_index("id").loc[["inwoners", "misdrijven_2025", "woz_waarde"]]
    assert (real["synthetic"] == 0).all()
    themed = indicators[indicators["theme"] != "none"]
    assert (themed["synthetic"] == 1).all()
    assert themed["label_nl"].str.endswith("(synthetisch)").all()
    assert themed["source"].str.contains("SYNTHETISCH").all()
    buurten = _layer(demo_out, "buurten")
    assert set(indicators["id"]) <= set(buurten.columns)


def test_record_based_cells_add_up_and_rates_recompute(demo_run):
    # the cells before disclosure control (published counts are rounded and withheld)
    cells = demo_run.indicators.cells
    buurten = pd.DataFrame({i: c.values("buurt") for i, c in cells.items()})
    buurten["wijkcode"] = demo_run.boundaries.levels["buurt"]["wijkcode"]
    wijken = pd.DataFrame({i: c.values("wijk") for i, c in cells.items()})
    for column in (
        "woningverkopen",
        "hennepkwekerijen",
        "verdachte_transacties",
        "transactiebedrag",
        "vestigingen_risicobranche",
    ):
        by_wijk = buurten.groupby("wijkcode")[column].sum()
        np.testing.assert_allclose(wijken.loc[by_wijk.index, column], by_wijk, err_msg=column)
    both = buurten.dropna(subset=["inwoners"])
    by_wijk = both.groupby("wijkcode")[["drugsincidenten", "inwoners"]].sum()
    expected = by_wijk["drugsincidenten"] / by_wijk["inwoners"] * 1000
    np.testing.assert_allclose(wijken.loc[expected.index, "drugsincidenten_per_1000"], expected)
    share = buurten.groupby("wijkcode")[["vestigingen_risicobranche", "vestigingen"]].sum()
    expected = share["vestigingen_risicobranche"] / share["vestigingen"] * 100
    np.testing.assert_allclose(wijken.loc[expected.index, "aandeel_risicobranche"], expected)


def test_indicator_and_run_tables(demo_out):
    indicators = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="indicators")
    assert "misdrijven_2025" in set(indicators["id"])
    run = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="run").set_index("key")["value"]
    assert run["seed"] == "20241231"
    assert "CBS" in run["attribution"]
    inputs = json.loads(run["input_sha256"])
    assert inputs["amsterdam_buurten_2024.gpkg"] == sha256_of(DEMO_BOUNDARIES)
    spatial = json.loads(run["spatial"])  # the output says which correction was used
    assert spatial["correction"] == "fdr" and spatial["permutations"] == 999
    assert set(spatial["islands_joined"]) == {"buurt", "wijk"}
    software = json.loads(run["software"])  # which solvers decided what is published
    assert software["scipy"] == version("scipy") and software["highs_of_scipy"] == scipy_highs()


def test_the_complements_are_chosen_by_the_highs_the_project_pins():
    """The complement programs run on the HiGHS scipy bundles: 1.17's HiGHS 1.12 chose
    other complements (the demo published other cells), took twice as long nationally
    and printed debugging lines on stdout, so pyproject.toml keeps scipy at the
    releases that bundle HiGHS 1.8. This fails where an install bundles another: the
    decisions the project measured and documented are then not the ones it makes."""
    assert scipy_highs() == PINNED_HIGHS == "1.8.0"


def test_a_run_on_another_highs_says_its_complements_may_differ(monkeypatch, caplog):
    check_complement_solver()
    assert not caplog.records  # the pinned HiGHS: nothing to say
    monkeypatch.setattr(versions, "scipy_highs", lambda: "1.12.0")
    check_complement_solver()
    [record] = caplog.records
    assert record.levelname == "WARNING" and "HiGHS 1.12.0" in record.getMessage()


def test_manifest_lists_every_file_with_its_checksum(demo_out):
    manifest = json.loads((demo_out / "manifest.json").read_text())
    names = {f["name"] for f in manifest["files"]}
    assert names == {p.name for p in demo_out.iterdir()} - {"manifest.json"}
    for entry in manifest["files"]:
        assert entry["sha256"] == sha256_of(demo_out / entry["name"])
    gpkg = next(f for f in manifest["files"] if f["name"] == "zicht.gpkg")
    buurten = next(layer for layer in gpkg["layers"] if layer["name"] == "buurten")
    assert buurten["rows"] == 518 and "inwoners" in buurten["columns"]
    assert manifest["software"]["highspy"] == version("highspy")


def test_no_staging_left_behind(demo_out):
    assert not [p for p in demo_out.iterdir() if p.name.startswith(".zicht")]


def _bad_run(tmp_path, write_gpkg, csv_body: str):
    return run_config(tmp_path, grid_buurten(["BU03630000", "BU03630001"]), csv_body)


def test_failed_run_leaves_existing_output_untouched(tmp_path, write_gpkg, capsys):
    config = _bad_run(tmp_path, write_gpkg, "code;n\nBU03630000;4\nBU03630001;abc\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "zicht.gpkg").write_bytes(b"previous run")
    assert main(["run", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert [line for line in err if "error" in line] == [
        f"zicht: error: {tmp_path / 'table.csv'}, column 'n' (indicator 'n'): "
        "1 value(s) are not numbers, e.g. 'abc' for BU03630001"
    ]
    assert [p.name for p in out.iterdir()] == ["zicht.gpkg"]
    assert (out / "zicht.gpkg").read_bytes() == b"previous run"


def test_failed_run_creates_no_output_dir(tmp_path, write_gpkg):
    config = _bad_run(tmp_path, write_gpkg, "code;n\nBU03630000;4\nBU03630001;-1\n")
    out = tmp_path / "new-out"
    assert main(["--quiet", "run", str(config), "--out", str(out)]) == 2
    assert not out.exists()


def test_codes_that_do_not_join_are_refused_with_the_match_rate(tmp_path, write_gpkg, capsys):
    config = _bad_run(tmp_path, write_gpkg, "code;n\nBU99990000;4\nBU99990001;5\n")
    assert main(["--quiet", "run", str(config), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "0 of 2 areas found (0%)" in err and "BU99990000" in err and "min_match" in err


def test_write_failing_midway_leaves_no_partial_output(tmp_path, monkeypatch, demo_on_one_wijk):
    out = tmp_path / "out"

    def broken_manifest(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output_writers, "write_manifest", broken_manifest)
    assert main(["--quiet", "demo", "--out", str(out)]) != 0
    assert not out.exists()


def test_unwritable_output_dir(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["--quiet", "demo", "--out", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert "output directory cannot be written" in err and "Traceback" not in err


def test_bad_config_exits_2_without_traceback(tmp_path):
    config = tmp_path / "run.toml"
    shutil.copy(DEMO_BOUNDARIES, tmp_path / "areas.gpkg")
    config.write_text('[boundaries]\npath = "areas.gpkg"\nlayr = "buurten"\n')
    result = subprocess.run(
        [sys.executable, "-m", "zicht", "run", str(config), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"zicht: error: {config}: unknown key 'boundaries.layr'; did you mean "
        "'boundaries.layer'? (valid keys: path, layer, columns, drop_water, source, year, select, "
        "level, "
        "quality)"
    )
    debug = subprocess.run(
        [
            sys.executable,
            "-m",
            "zicht",
            "run",
            str(config),
            "--out",
            str(tmp_path / "o"),
            "--debug",
        ],
        capture_output=True,
        text=True,
    )
    assert "Traceback" in debug.stderr


def test_boundaries_check_reports_dropped_features_and_slivers_and_exits_1(capsys):
    """The veiligheidsregio extract is clipped: buurten on its edge keep their whole
    figures on a sliver (or a line) of their polygon."""
    assert main(["boundaries", "check", str(GEOJSON_2015)]) == 1
    out = capsys.readouterr().out
    assert "dropped:   2 Point, 1 LineString non-polygon feature(s)" in out
    assert "EPSG:4326 -> reprojected to EPSG:28992" in out
    assert "buurten:   178" in out
    assert "BU04570003 (buurt): sliver, a LineString without area for 4,535 inhabitants" in out
    assert "BU07360400 (buurt): sliver, 0.05 ha for 6,895 inhabitants" in out
    assert "BU03940429 (buurt): sliver, 0.23 ha where the file states 678.00 ha" in out
    assert "SUSPECT: usable" in out
    # real small buurten are not slivers: Oud-Diemen is 2 ha with 40 inhabitants
    assert "BU03840221" not in out


GRID_RUN = """
[run]
{run}

{themes}

[boundaries]
path = "areas.gpkg"

[[tables]]
id = "k"
path = "table.csv"
key = "code"
public = true

[[indicators]]
id = "inwoners"
kind = "count"
table = "k"
column = "inwoners"
label_nl = "inwoners"
label_en = "inhabitants"

[[indicators]]
id = "huishoudens"
kind = "count"
table = "k"
column = "huishoudens"
label_nl = "huishoudens"
label_en = "households"

[[indicators]]
id = "n"
kind = "count"
table = "k"
column = "n"
theme = "{theme}"
direction = "higher"
exposure = "inwoners"
label_nl = "misdrijven"
label_en = "crimes"
map = true

[spatial]
min_areas = 10
"""


def _grid_run(tmp_path, areas, run="", themes="", theme="drugs"):
    """A run on 6 x 6 grid buurten with public counts: inhabitants, households and n."""
    areas.to_file(tmp_path / "areas.gpkg", layer="buurten", engine="pyogrio")
    rows = "".join(f"{c};500;200;{20 + i}\n" for i, c in enumerate(areas["buurtcode"]))
    (tmp_path / "table.csv").write_text("code;inwoners;huishoudens;n\n" + rows)
    config = tmp_path / "run.toml"
    config.write_text(GRID_RUN.format(run=run, themes=themes, theme=theme))
    return config


GRID_CODES = [f"BU0363{i // 6:02d}{i % 6:02d}" for i in range(36)]


def test_a_run_leaves_suspect_areas_out_with_one_warning_line(tmp_path, capsys):
    areas = grid_buurten(GRID_CODES, aantal_inwoners=[500] * 36)
    # buurt 5 collapses to a 1 m strip with all its inhabitants: a sliver
    x0, y0, x1, _ = areas.geometry[5].bounds
    areas.loc[5, "geometry"] = shapely.box(x0, y0, x1, y0 + 1.0)
    config = _grid_run(tmp_path, areas)
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if "suspect geometry" in line]
    assert len(warning) == 1 and "BU03630005 (sliver" in warning[0], err
    assert "Warning" not in err
    layer = gpd.read_file(tmp_path / "out" / "zicht.gpkg", layer="buurten").set_index("code")
    assert pd.isna(layer.at["BU03630005", "risk_drugs"])
    assert layer["risk_drugs"].notna().sum() >= 30


OWN_THEME = """
[[themes]]
id = "criminaliteit"
name_nl = "Criminaliteit"
name_en = "Crime"
description_nl = "Geregistreerde misdrijven per inwoner."
"""


def test_a_theme_of_its_own_with_its_title_and_an_indicator_map(tmp_path):
    areas = grid_buurten(GRID_CODES)
    run = 'title = "Veiligheidsbeeld Testdorp"'
    config = _grid_run(tmp_path, areas, run, OWN_THEME, theme="criminaliteit")
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    layer = gpd.read_file(out / "zicht.gpkg", layer="buurten")
    assert layer["risk_criminaliteit"].notna().sum() == 36
    report = (out / "report.html").read_text()
    assert "Veiligheidsbeeld Testdorp" in report and "Risicobeeld ondermijning" not in report
    assert "<h2>Criminaliteit" in report and "id='kaarten'" in report
    styles = pyogrio.read_dataframe(out / "zicht.gpkg", layer="layer_styles")
    names = set(styles.loc[styles["f_table_name"] == "buurten", "styleName"])
    assert {"Risico Criminaliteit", "Kaart misdrijven"} <= names
    scores = pyogrio.read_dataframe(out / "zicht.gpkg", layer="scores")
    assert set(scores["thema_naam"]) == {"Criminaliteit"}


def test_a_theme_that_is_not_declared_is_refused_naming_the_key(tmp_path, capsys):
    config = _grid_run(tmp_path, grid_buurten(GRID_CODES), "", OWN_THEME, theme="criminaliteid")
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "key 'indicators[2].theme' is 'criminaliteid', not a theme of this run" in err
    assert "did you mean 'criminaliteit'?" in err


def test_boundaries_check_reports_islands_and_repairs(capsys):
    from tests.conftest import SAMPLE_2015

    assert main(["boundaries", "check", str(SAMPLE_2015)]) == 1  # BU16690403: 0.00 ha
    out = capsys.readouterr().out
    assert "repaired:  3 invalid polygon(s): BU19040202, BU19040210, BU19040903" in out
    assert "islands:" in out and "BU16690401" in out


def test_boundaries_check_exits_2_listing_every_problem(write_gpkg, capsys):
    path = write_gpkg(grid_buurten(["BU03630000", "BU03630000", "BU036300"]))
    assert main(["boundaries", "check", str(path)]) == 2
    out = capsys.readouterr().out
    assert "NOT USABLE, 2 problem(s)" in out
    assert "duplicate buurt code BU03630000" in out and "'BU036300' is not a buurt code" in out


@pytest.mark.slow
def test_demo_runs_are_identical(tmp_path, stadsdeel_demo, demo_on_one_stadsdeel, monkeypatch):
    """``zicht demo`` again (on the stadsdeel: the session's master) writes the same
    layers and lists; the control is the next test, where another seed changes them.
    The rerun writes its workbook in a second process, as a national run on two
    threads does: the same sheets, cell for cell."""
    import zicht.engine.outputs.writers as writers
    import zicht.engine.pipeline as pipeline

    monkeypatch.setattr(writers, "WORKBOOK_PROCESS_ROWS", 0)
    spawned = []

    def on_two_threads(outputs, threads, meanwhile=None):
        spawned.append(threads)
        writers.write_outputs(outputs, 2, meanwhile)

    monkeypatch.setattr(pipeline, "write_outputs", on_two_threads)
    tables = []
    master = stadsdeel_demo.out_dir
    assert main(["--quiet", "demo", "--out", str(tmp_path / "again")]) == 0
    assert spawned
    sheets = [
        {ws.title: list(ws.iter_rows(values_only=True)) for ws in load_workbook(out).worksheets}
        for out in (master / "hotspots.xlsx", tmp_path / "again" / "hotspots.xlsx")
    ]
    assert sheets[0] == sheets[1] and len(sheets[0]) > 1
    for out in (master, tmp_path / "again"):
        tables.append(
            {
                layer: pyogrio.read_dataframe(out / "zicht.gpkg", layer=layer)
                for layer in (
                    "buurten",
                    "wijken",
                    "gemeenten",
                    "indicators",
                    "autocorrelation",
                    "models",
                )
            }
        )
    for layer in tables[0]:
        pd.testing.assert_frame_equal(tables[0][layer], tables[1][layer])
    assert (master / "hotspots.csv").read_bytes() == (
        tmp_path / "again" / "hotspots.csv"
    ).read_bytes()


@pytest.mark.slow
def test_a_different_seed_changes_only_what_is_random(
    stadsdeel_demo, tmp_path, demo_on_one_stadsdeel
):
    config = DEMO_CONFIG.read_text().replace("seed = 20241231", "seed = 7")
    assert config != DEMO_CONFIG.read_text()
    config = config.replace(
        'path = "amsterdam_buurten_2024.gpkg"', f'path = "{DEMO_BOUNDARIES.as_posix()}"'
    )
    (tmp_path / "run.toml").write_text(config)
    assert main(["--quiet", "run", str(tmp_path / "run.toml"), "--out", str(tmp_path / "out")]) == 0
    a = _layer(stadsdeel_demo.out_dir, "buurten").set_index("code")
    b = _layer(tmp_path / "out", "buurten").set_index("code")
    real = ["inwoners", "huishoudens", "woz_waarde", "misdrijven_2025", "misdrijven_per_1000"]
    pd.testing.assert_frame_equal(a[real], b[real])  # real figures: identical
    assert not a["verdachte_transacties"].equals(b["verdachte_transacties"])  # synthetic


def test_log_json(tmp_path, write_gpkg, capsys):
    config = _bad_run(tmp_path, write_gpkg, "code;n\nBU03630000;4\nBU03630001;abc\n")
    assert main(["--log-json", "run", str(config), "--out", str(tmp_path / "o")]) == 2
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert lines[0]["message"].startswith("threads: ") and lines[0]["level"] == "info"
    assert lines[1]["message"] == "stage boundaries ..."
    assert lines[-1]["level"] == "error" and lines[-1]["exit_code"] == 2
    assert "1 value(s) are not numbers" in lines[-1]["message"]


def test_demo_scores_hotspots_and_trends(demo_out):
    buurten = _layer(demo_out, "buurten")
    layers = {"buurten": buurten, "wijken": _layer(demo_out, "wijken")}
    classes = {
        "hot 99%",
        "hot 95%",
        "hot 90%",
        "not significant",
        "cold 90%",
        "cold 95%",
        "cold 99%",
    }
    for theme in THEMES:
        best_share, hot = 0.0, False
        for layer in layers.values():
            risk = layer[f"risk_{theme}"]
            best_share = max(best_share, risk.notna().mean())
            assert risk.dropna().between(0, 100).all()
            ranks = layer[f"rank_{theme}"].dropna()
            assert ranks.min() == 1 and len(ranks) == risk.notna().sum()
            assert (layer[f"drivers_{theme}"].notna() == risk.notna()).all()
            if f"coverage_{theme}" in layer:  # composite: never below the minimum coverage
                assert (layer.loc[risk.notna(), f"coverage_{theme}"] >= 0.5).all()
            assert set(layer[f"hotspot_{theme}"].dropna()) <= classes
            assert set(layer[f"lisa_{theme}"].dropna()) <= {
                "HH",
                "LL",
                "HL",
                "LH",
                "not significant",
            }
            hot |= layer[f"hotspot_{theme}"].str.startswith("hot").any()
        assert best_share > 0.7, theme  # scored for most areas on at least one level
        assert hot, theme
    # every buurt with five years of figures, except those under the area rule
    complete = buurten[[f"misdrijven_{y}" for y in range(2021, 2026)]].notna().all(axis=1)
    expected = (complete & (buurten["suppressed"] == 0)).sum()
    assert buurten["trend_misdrijven"].notna().sum() == expected > 400
    assert "no pattern" in set(buurten["trend_misdrijven"])
    # where all of a theme's inputs are withheld, a score is built on estimates and says so
    cfg = load_config(DEMO_CONFIG)
    for theme in ("vastgoed", "transacties", "branches"):
        inputs = [d.id for d in cfg.theme_indicators(theme)]
        nothing = buurten[inputs].isna().all(axis=1) & buurten[f"risk_{theme}"].notna()
        # (branches: the company area rule leaves such buurten without a score)
        assert nothing.any() or theme == "branches"
        assert (buurten.loc[nothing, f"estimated_{theme}"] == 1).all()
        low, high = buurten[f"risk_low_{theme}"], buurten[f"risk_high_{theme}"]
        risk = buurten[f"risk_{theme}"]
        assert ((low <= risk) & (risk <= high)).sum() == risk.notna().sum()
    models = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="models")
    assert set(models["validation"]) >= {"spatial CV", "random CV", "baseline: population only"}
    autocorrelation = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="autocorrelation")
    assert {"risk_vastgoed", "inwoners"} <= set(autocorrelation["indicator"])


# --- disclosure control of the published output -----------------------------------------


def test_every_withheld_cell_is_null_in_the_geopackage(demo_run, demo_out):
    cells = demo_run.protection.cells
    withheld = cells[cells["reason"] != ""]
    assert len(withheld) > 1000
    for level, name in (("buurt", "buurten"), ("wijk", "wijken"), ("gemeente", "gemeenten")):
        layer = _layer(demo_out, name).set_index("code")
        mine = withheld[withheld["level"] == level]
        for indicator, group in mine.groupby("indicator"):
            assert layer.loc[group["code"], indicator].isna().all(), (level, indicator)
    # and published sensitive counts are rounded to multiples of 5
    buurten = _layer(demo_out, "buurten")
    assert (buurten["verdachte_transacties"].dropna() % 5 == 0).all()


def test_audit_passes_on_the_demo_and_names_no_values(demo_out, capsys):
    assert main(["audit", str(demo_out)]) == 0
    out = capsys.readouterr().out
    assert "OK: no withheld value can be recovered" in out


def _tampered_copy(demo_out, tmp_path, edit):
    copy = tmp_path / "tampered"
    copy.mkdir()
    for name in ("buurten", "wijken", "gemeenten"):
        layer = gpd.read_file(demo_out / "zicht.gpkg", layer=name)
        if name == "buurten":
            edit(layer)
        layer.to_file(copy / "zicht.gpkg", layer=name, engine="pyogrio")
    for table in ("indicators", "run"):
        pyogrio.write_dataframe(
            pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer=table),
            copy / "zicht.gpkg",
            layer=table,
        )
    shutil.copy(demo_out / "manifest.json", copy / "manifest.json")
    from zicht.engine.outputs.verify import audit_directory

    return audit_directory(copy)


def test_audit_catches_tampered_outputs(demo_run, demo_out, tmp_path):
    cells = demo_run.protection.cells
    buurt = cells[(cells["level"] == "buurt") & (cells["kind"] == "count")]
    primary_cell = buurt[buurt["reason"] == "frequency"].iloc[0]
    secondary_cell = buurt[buurt["reason"] == "secondary"].iloc[0]
    small = demo_run.layers["buurt"].query("suppressed == 1").iloc[0]

    def reveal(layer):
        # a withheld cell filled in with a value the rules never publish (a count of 5
        # has fewer than 10 units), a complement published with its exact value, a
        # person-based figure in a small area, and a per-cell rule in `suppression`
        layer.loc[layer["code"] == primary_cell["code"], primary_cell["indicator"]] = 5.0
        layer.loc[layer["code"] == secondary_cell["code"], secondary_cell["indicator"]] = (
            secondary_cell["value"] + 1
        )  # never a multiple of 5 and its rounding
        if (secondary_cell["value"] + 1) % 5 == 0:
            layer.loc[layer["code"] == secondary_cell["code"], secondary_cell["indicator"]] += 1
        layer.loc[layer["code"] == small["code"], "drugsveroordeelden"] = 10.0
        layer.loc[layer["code"] == small["code"], "suppression"] = "frequency: hennepkwekerijen"

    report = _tampered_copy(demo_out, tmp_path, reveal)
    assert not report.ok
    problems = "\n".join(report.problems)
    assert "contradict each other or the publication rules" in problems
    assert f"{secondary_cell['indicator']}: 1 published value(s) are not multiples" in problems
    assert f"drugsveroordeelden of {small['code']} is published under the area rule" in problems
    assert f"suppression of {small['code']} says more than is public" in problems
    assert "does not match its manifest checksum" in problems
    # and the audit reports codes and columns, never the values themselves
    assert str(int(secondary_cell["value"]) + 1) not in problems.replace(secondary_cell["code"], "")


def test_audit_exits_nonzero_on_a_tampered_output(demo_out, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(demo_out, copy)
    (copy / "manifest.json").write_text(
        (copy / "manifest.json").read_text().replace('"sha256": "', '"sha256": "0', 1)
    )
    assert main(["audit", str(copy)]) == 3  # a disclosure problem
    assert "FAILED" in capsys.readouterr().out
    assert main(["audit", str(tmp_path / "nothing")]) == 2


def test_logs_name_no_area(demo_session):
    text = "\n".join(demo_session[1])
    assert "disclosure:" in text and "audit:" in text
    assert "BU0363" not in text and "WK0363" not in text


def test_report_calibration_uses_published_targets_only(demo_run):
    from zicht.engine.outputs.record import model_details

    details = model_details(demo_run.analyses, demo_run.layers, load_config(DEMO_CONFIG))
    calibration = details["drugs"].calibration
    buurten = demo_run.layers["buurt"].set_index("code")
    withheld = buurten["hennepkwekerijen"].isna()
    assert withheld.any() and calibration["published"].sum() == (~withheld).sum()
    assert calibration["areas"].sum() == len(buurten)
    # the demo's drugs model is below models.min_skill: the report still shows why
    model = demo_run.analyses["buurt"].rejected["drugs"]
    groups = pd.qcut(model.prediction.rank(method="first"), 5, labels=False) + 1
    for group, row in calibration.iterrows():
        members = groups.index[groups == group]
        rate = buurten.loc[members, "hennepkwekerijen"] / buurten.loc[members, "inwoners"]
        assert row["observed"] == pytest.approx(rate.mean() * 1000)  # per 1.000 inwoners


def test_the_run_table_digests_public_inputs_and_no_confidential_one(tmp_path, monkeypatch):
    """Boundaries and public rasters get their SHA-256; the microdata and the table (not
    marked public) only their name, or an HMAC under a key the steward holds."""
    import hmac

    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    (tmp_path / "records.csv").write_text(
        "unit;buurt\n" + "".join(f"u{i};BU03630000\n" for i in range(12))
    )
    with rasterio.open(
        tmp_path / "r.tif",
        "w",
        driver="GTiff",
        height=2,
        width=3,
        count=1,
        dtype="float32",
        crs="EPSG:28992",
        transform=from_origin(120_000, 487_100, 100, 50),
    ) as dst:
        dst.write(np.ones((2, 3), dtype="float32"), 1)
    extra = """
[[microdata]]
id = "m"
path = "records.csv"
unit = "unit"
code = "buurt"

[[rasters]]
id = "r"
path = "r.tif"

[[indicators]]
id = "records"
kind = "count"
microdata = "m"
measure = "records"
label_nl = "x"
label_en = "x"

[[indicators]]
id = "surface"
kind = "mean"
raster = "r"
statistic = "mean"
label_nl = "x"
label_en = "x"
"""
    config = run_config(
        tmp_path, grid_buurten(["BU03630000", "BU03630001", "BU03630100"]), extra=extra
    )
    assert main(["--quiet", "run", str(config), "--out", str(tmp_path / "out")]) == 0
    run = pyogrio.read_dataframe(tmp_path / "out" / "zicht.gpkg", layer="run")
    run = run.set_index("key")["value"]
    assert json.loads(run["input_sha256"]) == {
        "areas.gpkg": sha256_of(tmp_path / "areas.gpkg"),
        "r.tif": sha256_of(tmp_path / "r.tif"),
    }
    assert json.loads(run["inputs_confidential"]) == {"table.csv": None, "records.csv": None}
    secret = [sha256_of(tmp_path / name).encode() for name in ("records.csv", "table.csv")]
    for path in (tmp_path / "out").iterdir():
        assert not any(digest in path.read_bytes() for digest in secret), path.name

    monkeypatch.setenv("ZICHT_DIGEST_KEY", "the steward's secret")
    assert main(["--quiet", "run", str(config), "--out", str(tmp_path / "keyed")]) == 0
    run = pyogrio.read_dataframe(tmp_path / "keyed" / "zicht.gpkg", layer="run")
    keyed = json.loads(run.set_index("key")["value"]["inputs_confidential"])
    expected = hmac.new(
        b"the steward's secret", (tmp_path / "records.csv").read_bytes(), "sha256"
    ).hexdigest()
    assert keyed["records.csv"] == "hmac-sha256:" + expected


def test_exit_codes_follow_the_error_model():
    from zicht import errors

    assert errors.ZichtError.exit_code == 2
    for stage_error in (
        errors.BoundaryError,
        errors.ConfigError,
        errors.SourceError,
        errors.TableError,
        errors.MicrodataError,
        errors.RasterError,
        errors.AnalysisError,
        errors.OutputError,
    ):
        assert issubclass(stage_error, errors.ZichtError) and stage_error.exit_code == 2
    assert errors.DisclosureError.exit_code == 3


def test_an_internal_error_exits_1_and_a_disclosure_failure_3(
    tmp_path, monkeypatch, capsys, demo_on_one_wijk
):
    from zicht.errors import DisclosureError

    def leak(*args, **kwargs):
        raise DisclosureError("disclosure audit of the output failed (1 problem(s))")

    monkeypatch.setattr(run_pipeline, "_audit", leak)
    assert main(["--quiet", "demo", "--out", str(tmp_path / "a")]) == 3
    assert not (tmp_path / "a").exists()

    def bug(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(run_pipeline, "compute_indicators", bug)
    assert main(["--quiet", "demo", "--out", str(tmp_path / "b")]) == 1
    assert "internal error" in capsys.readouterr().err


def test_run_select_writes_only_the_area_of_interest(tmp_path):
    from tests.conftest import SAMPLE_2015

    config = tmp_path / "kies.toml"
    config.write_text(
        textwrap.dedent(f"""
        [boundaries]
        path = "{SAMPLE_2015}"
        select = ["GM1904"]

        [[tables]]
        id = "kwb"
        path = "{SAMPLE_2015}"
        key = "BU_CODE"
        na_values = [-99999999, -99999997]
        public = true

        [[indicators]]
        id = "inwoners"
        kind = "count"
        table = "kwb"
        column = "AANT_INW"
        label_nl = "Inwoners"
        label_en = "Inhabitants"
        """),
        encoding="utf-8",
    )
    assert main(["--quiet", "run", str(config), "--out", str(tmp_path / "a")]) == 0
    assert (
        main(["--quiet", "run", str(config), "--out", str(tmp_path / "b"), "--select", "GM1669"])
        == 0
    )
    for out, gemeente, buurten in ((tmp_path / "a", "GM1904", 96), (tmp_path / "b", "GM1669", 22)):
        layers = {n: _layer(out, n) for n in ("buurten", "wijken", "gemeenten")}
        assert len(layers["buurten"]) == buurten
        assert all(set(layer["gemeentecode"]) == {gemeente} for layer in layers.values())
        run = pyogrio.read_dataframe(out / "zicht.gpkg", layer="run").set_index("key")["value"]
        assert json.loads(run["boundaries"])["select"] == [gemeente]


def test_the_numeric_libraries_run_within_the_thread_budget(tmp_path, monkeypatch):
    from threadpoolctl import threadpool_info

    from zicht.engine.threads import free_cores

    assert 1 <= free_cores() <= (os.cpu_count() or 1)
    areas = grid_buurten(["BU03630000", "BU03630001", "BU03630100"])
    config = run_config(tmp_path, areas)
    seen = {}
    compute = run_pipeline.compute_indicators

    def spy(config, boundaries):
        seen["pools"] = {p["user_api"]: p["num_threads"] for p in threadpool_info()}
        return compute(config, boundaries)

    monkeypatch.setattr(run_pipeline, "compute_indicators", spy)
    assert (
        main(["--quiet", "run", str(config), "--out", str(tmp_path / "out"), "--threads", "1"]) == 0
    )
    assert seen["pools"] and set(seen["pools"].values()) == {1}


def test_a_wijk_table_on_buurt_boundaries_says_what_to_do_and_runs_on_wijken(tmp_path, capsys):
    # 6 x 6 buurten in 36 wijken (one buurt each): the table is keyed on wijk codes
    codes = [f"BU0363{i:02d}00" for i in range(36)]
    areas = grid_buurten(codes, size=500.0)
    config = _grid_run(tmp_path, areas)
    rows = "".join(f"WK0363{i:02d};500;200;{20 + i}\n" for i in range(36))
    (tmp_path / "table.csv").write_text("code;inwoners;huishoudens;n\n" + rows)
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "its codes are wijk codes (WK...), the areas are buurten" in err
    assert '[boundaries] level = "wijk"' in err
    text = config.read_text().replace('path = "areas.gpkg"', 'path = "areas.gpkg"\nlevel = "wijk"')
    config.write_text(text)
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 0
    layers = {str(name) for name, _ in pyogrio.list_layers(tmp_path / "out" / "zicht.gpkg")}
    assert "buurten" not in layers and {"wijken", "gemeenten"} <= layers
    wijken = gpd.read_file(tmp_path / "out" / "zicht.gpkg", layer="wijken")
    assert wijken["risk_drugs"].notna().sum() == 36


def test_run_audit_leaves_the_programs_only_to_figures_protection_proved(
    demo_run, demo_out, monkeypatch
):
    """The run's own audit propagates bounds, and leaves the attacker's programs to
    the protection loop, only for groups whose published figures are exactly those
    the loop proved; one figure changed and the programs run again (the control);
    ``zicht audit``, with no proof, always runs them. The proofs are the run's layers."""
    import zicht.engine.outputs.verify as verify
    from zicht.engine.pipeline import proven_layers

    published = verify.read_output(demo_out)
    assert all(
        verify._same_figures(list(group), published.layers, proven_layers(demo_run.layers, {}))
        for group in verify.relations_of(published.indicators).groups(
            verify.additive_sensitive(published.indicators)
        )
    )
    widths: list[float | None] = []
    real = verify.group_bounds

    def spy(*args, **kwargs):
        widths.append(args[6])
        return real(*args, **kwargs)

    monkeypatch.setattr(verify, "group_bounds", spy)
    proven = published.layers | published.own
    assert verify.audit_directory(demo_out, proven=proven).ok
    trusted = widths.copy()
    assert None in trusted  # propagation only where the figures are the proven ones

    widths.clear()
    changed = {level: layer.copy() for level, layer in proven.items()}
    buurt = changed["buurt"]
    column = next(c for c in buurt.columns if c in trusted_columns(published))
    row = buurt[column].first_valid_index()
    buurt.loc[row, column] = float(buurt.loc[row, column]) + 1000
    assert verify.audit_directory(demo_out, proven=changed).ok
    assert sum(w is not None for w in widths) > sum(w is not None for w in trusted)

    widths.clear()
    assert verify.audit_directory(demo_out).ok
    assert sum(w is not None for w in widths) >= sum(w is not None for w in trusted) + 1


def trusted_columns(published) -> list[str]:
    """The sensitive additive indicators of an output outside the branches table."""
    from zicht.engine.outputs.verify import additive_sensitive

    additive = additive_sensitive(published.indicators)
    in_branches = set(published.branches.columns) if published.branches is not None else set()
    return [i for i in additive if i not in in_branches]
