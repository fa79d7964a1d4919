"""Boundary vintages: years from file names and period columns, and a join of a table
on boundaries of another year warned of, with examples of the names that differ."""

from __future__ import annotations

import logging

import pandas as pd
import pyogrio

from tests.conftest import GEOJSON_2015, STATLINE_CSV
from zicht.boundaries import read_boundaries
from zicht.boundaries.vintage import compare_names, name_column, year_of_path, year_of_table
from zicht.engine.config import load_config
from zicht.engine.data import DEMO_BOUNDARIES
from zicht.engine.sources.table_join import check_vintage
from zicht.engine.sources.tables import read_table

STATLINE_KEY = "Regiocode (gemeente, wijk, buurt) (code)"


def test_years_come_from_file_names_and_statline_periods():
    assert year_of_path(GEOJSON_2015) == 2015
    assert year_of_path("WijkBuurtkaart_2024_v1.gpkg") == 2024
    assert year_of_path("buurten.gpkg") is None
    table = read_table(STATLINE_CSV, STATLINE_KEY)
    assert year_of_table(table, "kwb.csv") == 2019  # "Perioden", not the name
    assert name_column(list(table.columns), STATLINE_KEY) == "Wijken en buurten"


def test_2015_boundaries_and_a_2019_table_differ_in_every_matched_name():
    """Real extracts: Amsterdam renumbered its buurten in between, and the codes that
    remain stand for other buurten."""
    areas = read_boundaries(GEOJSON_2015).areas
    table = read_table(STATLINE_CSV, STATLINE_KEY)
    check = compare_names(areas["naam"], table["Wijken en buurten"], examples=5)
    assert check.compared == 5 and check.differing == 5 and check.other_vintage
    assert ("BU03630000", "Burgwallen-Oude Zijde", "Kop Zeedijk") in check.examples
    # the examples shown first are those that differ most
    assert check.examples[0] == ("BU03630004", "Nieuwmarkt/Lastage", "BG-terrein e.o.")


def test_one_edition_joined_to_itself_is_not_another_vintage():
    """The control: the demo's CBS names against Amsterdam's own for the same 2024
    buurten differ in 1 of 517 (a spelling), far below 5%."""
    frame = pyogrio.read_dataframe(DEMO_BOUNDARIES, layer="buurten", read_geometry=False)
    frame = frame.set_index("buurtcode")
    check = compare_names(frame["ams_buurtnaam"], frame["buurtnaam"])
    assert check.compared == 517 and check.differing == 1 and not check.other_vintage


def test_the_threshold_is_five_percent_and_spelling_does_not_count():
    codes = [f"BU0363{i:04d}" for i in range(40)]
    areas = pd.Series([f"Buurt {i}" for i in range(40)], index=codes)
    table = areas.str.upper().str.replace(" ", "-")  # case and hyphens: the same name
    assert compare_names(areas, table).differing == 0
    two = table.copy()
    two.iloc[:2] = ["Elders", "Ergens"]
    assert not compare_names(areas, two).other_vintage  # 2 of 40: 5%
    three = table.copy()
    three.iloc[:3] = ["Elders", "Ergens", "Nergens"]
    assert compare_names(areas, three).other_vintage  # 3 of 40: 7.5%


def test_the_join_warns_naming_both_years_and_examples(tmp_path, caplog):
    config = tmp_path / "run.toml"
    config.write_text(
        f'[boundaries]\npath = "{GEOJSON_2015}"\n\n[[tables]]\nid = "ses"\n'
        f'path = "{STATLINE_CSV}"\nkey = "{STATLINE_KEY}"\n'
    )
    loaded = load_config(config)
    boundaries = read_boundaries(GEOJSON_2015)
    frame = read_table(STATLINE_CSV, STATLINE_KEY)
    with caplog.at_level(logging.WARNING, logger="zicht"):
        check_vintage(loaded, loaded.tables[0], frame, boundaries)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "is of 2019, the boundaries" in text and "of 2015" in text
    assert "5 of 5 matched areas (100%)" in text
    assert "BU03630004 'Nieuwmarkt/Lastage' here, 'BG-terrein e.o.' in the table" in text
