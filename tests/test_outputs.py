"""Outputs people use: styled GeoPackage, hotspot lists, the policy report."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET

import openpyxl
import pandas as pd
import pyogrio
import pytest

from tests.browser import BROWSER_ARGS, CHROMIUM
from zicht.engine.cli import main

FEATURE_LAYERS = ("buurten", "wijken", "gemeenten")


@pytest.fixture(scope="module")
def out(demo_out):
    return demo_out


def test_every_layer_opens_styled_in_qgis(out):
    styles = pyogrio.read_dataframe(out / "zicht.gpkg", layer="layer_styles")
    for layer in FEATURE_LAYERS:
        mine = styles[styles["f_table_name"] == layer]
        assert mine["useAsDefault"].astype(bool).sum() == 1, layer
        for qml in mine["styleQML"]:
            root = ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE line
            assert root.tag == "qgis"
            renderer = root.find("renderer-v2")
            assert renderer.get("type") == "RuleRenderer"
            rules = renderer.findall("rules/rule")
            symbols = {s.get("name") for s in renderer.findall("symbols/symbol")}
            assert rules and {r.get("symbol") for r in rules} <= symbols
    buurten = styles[styles["f_table_name"] == "buurten"]
    names = set(buurten["styleName"])
    assert {"Risico Vastgoed", "Hotspots Drugs"} <= names
    hot = buurten[buurten["styleName"] == "Hotspots Drugs"]["styleQML"].iloc[0]
    assert "hot 99%" in hot and "cold 99%" in hot and "b_diagonal" in hot  # hatched grey
    assert "onderdrukt" in hot  # label for suppressed areas


def test_geopackage_is_valid(out):
    gpkg = out / "zicht.gpkg"
    con = sqlite3.connect(gpkg)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
    contents = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
    for layer in FEATURE_LAYERS:
        assert contents[layer] == "features"
        geometry = con.execute(
            "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
        ).fetchone()[0]
        rtree = con.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = ?", (f"rtree_{layer}_{geometry}",)
        ).fetchone()[0]
        style_geometry = con.execute(
            "SELECT DISTINCT f_geometry_column FROM layer_styles WHERE f_table_name = ?", (layer,)
        ).fetchall()
        assert style_geometry == [(geometry,)]
        assert rtree == 1, f"no spatial index on {layer}"
        columns = {row[1]: row[2] for row in con.execute(f"PRAGMA table_info('{layer}')")}
        assert columns["code"] == "TEXT" and columns["suppressed"] in ("MEDIUMINT", "INTEGER")
        if layer == "buurten":
            assert columns["rank_drugs"] in ("MEDIUMINT", "INTEGER")
            assert columns["risk_drugs"] == "REAL"
    assert contents["layer_styles"] == "attributes"
    con.close()
    if shutil.which("ogrinfo"):
        result = subprocess.run(
            ["ogrinfo", "-ro", "-so", "-al", str(gpkg)], capture_output=True, text=True
        )
        assert result.returncode == 0
        assert "ERROR" not in result.stderr and "Warning" not in result.stderr, result.stderr


def test_hotspot_csv_opens_in_dutch_excel(out):
    raw = (out / "hotspots.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark
    header = raw[3:].split(b"\n", 1)[0].decode("utf-8")
    assert header.startswith("Thema;Niveau;Rang;Code;Naam;Wijk;Gemeente;Risicoscore (0-100);")
    table = pd.read_csv(out / "hotspots.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert re.search(r";\d+,\d;", raw.decode("utf-8-sig"))  # decimal comma
    drugs = table[(table["Thema"] == "Drugs") & (table["Niveau"] == "buurt")]
    assert drugs["Rang"].dropna().is_monotonic_increasing
    assert drugs["Rang"].iloc[0] == 1 and drugs["Risicoscore (0-100)"].iloc[0] == 100
    assert set(table["Synthetische gegevens"]) == {"ja"}
    # what a row says of withholding is public anyway: the area rules or that a figure is
    # withheld, never which rule withheld which figure
    reasons = set(table["Afgeschermde cijfers"].dropna())
    assert reasons and reasons <= {
        "gebiedsregel personen",
        "gebiedsregel bedrijven",
        "gebiedsregel personen; gebiedsregel bedrijven",
        "een of meer cijfers afgeschermd",
    }
    vastgoed = table[(table["Thema"] == "Vastgoed") & (table["Niveau"] == "buurt")]
    assert (vastgoed["Afgeschermde cijfers"] == "een of meer cijfers afgeschermd").any()
    workbook = openpyxl.load_workbook(out / "hotspots.xlsx")
    assert {"Vastgoed", "Drugs", "Verdachte transacties", "Branches", "Toelichting"} <= set(
        workbook.sheetnames
    )
    drugs = workbook["Drugs"]
    assert drugs.freeze_panes == "A2" and drugs.auto_filter.ref.startswith("A1:")
    header = [c.value for c in drugs[1]]
    score = drugs.cell(2, header.index("Risicoscore (0-100)") + 1)
    assert isinstance(score.value, (int, float)) and score.number_format == "0.0"


def test_hotspots_command_prints_the_top(out, capsys):
    assert main(["hotspots", str(out), "--theme", "drugs", "--top", "20"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Drugs (buurt), top 20:")
    assert len([line for line in text.splitlines() if re.match(r"\s+\d+\s+BU0363", line)]) == 20
    assert "synthetische" in text


def test_report_is_self_contained(out):
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r"(src|href)\s*=\s*['\"]?https?:", page)
    assert not re.search(r"url\(\s*['\"]?https?:", page)
    for text in (
        "geen bewijs",
        "synthetische gegevens",
        "Wat is onderdrukt",
        "CBS",
        "Top 10",
        "Kwaliteit van het voorspelmodel",
        "Het model leunt het meest op",
        "wordt niet getoond: maar",
    ):
        assert text in page, text


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_report_in_headless_chromium(out, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    errors, requests = [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((out / "report.html").as_uri())
        assert page.locator("svg").count() >= 4
        assert page.locator("h2", has_text="Drugs").count() == 1
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=False)
        browser.close()
    assert errors == []
    assert [r for r in requests if not r.startswith("file://")] == []
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_calibration_is_shown_only_where_targets_are_mostly_published():
    from zicht.engine.outputs.report import ModelDetail, _detail_view

    calibration = pd.DataFrame(
        {"predicted": [1.0, 2.0], "observed": [1.2, 1.9], "published": [50, 48], "areas": [50, 50]},
        index=[1, 2],
    )
    detail = ModelDetail(
        target="Misdrijven", importance=[("Inwoners", 0.5)], calibration=calibration
    )
    shown = _detail_view(detail, "nl")["calibration"]
    assert shown[1]["observed"] == "1,90" and shown[1]["published"] == 48  # decimal comma
    calibration["published"] = [10, 12]
    hidden = _detail_view(detail, "nl")
    assert hidden["calibration"] is None and hidden["share"] == "22%"
