"""The config and the command line as a GIS specialist meets them: kinds inferred
where the source decides, column mappings checked, errors that quote an input value
only in part, join messages that count right, ``--select`` for ``boundaries check``
and unknown themes refused."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from tests.conftest import GEOJSON_2015
from zicht.engine.cli import main
from zicht.engine.config import load_config
from zicht.engine.config.indicators import IndicatorSpec
from zicht.engine.sources.tables import join_report, read_table
from zicht.errors import ConfigError, quoted

SPEC: TypeAdapter = TypeAdapter(IndicatorSpec)
LABELS = {"label_nl": "x", "label_en": "x"}


def test_the_source_key_decides_the_kind_where_none_is_given():
    ratio = SPEC.validate_python({"id": "r", "numerator": "a", "denominator": "b", **LABELS})
    assert ratio.kind == "rate"
    share = {"id": "s", "numerator": "a", "denominator": "b", "kind": "share", **LABELS}
    assert SPEC.validate_python(share).kind == "share"
    summed = {"id": "m", "microdata": "fiu", "measure": "amount", **LABELS}
    assert SPEC.validate_python(summed).kind == "sum"
    raster = {"id": "g", "raster": "r", "statistic": "share_above", "threshold": 1, **LABELS}
    assert SPEC.validate_python(raster).kind == "share"
    # a kind that contradicts the source is still refused
    with pytest.raises(ValidationError, match="must be 'sum'"):
        SPEC.validate_python({**summed, "kind": "count"})


def _config(tmp_path, text: str):
    (tmp_path / "areas.gpkg").write_bytes(b"")
    path = tmp_path / "run.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_an_unknown_column_mapping_field_names_the_key_and_the_fields(tmp_path):
    path = _config(tmp_path, '[boundaries]\npath = "areas.gpkg"\ncolumns = {codee = "CODE"}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "boundaries.columns" in message and "'codee'" in message
    assert "gemeentecode" in message  # the valid fields


def test_an_error_quotes_at_most_80_characters_of_a_value(tmp_path):
    huge = "9" * 300_000
    path = _config(tmp_path, f'[boundaries]\npath = "areas.gpkg"\n\n[run]\nseed = "{huge}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "run.seed" in str(caught.value) and len(str(caught.value)) < 300
    assert len(quoted(huge)) == 80 and quoted("kort") == "'kort'"


def test_a_buurt_table_against_wijk_areas_counts_its_rows_and_offers_to_add_up():
    codes = [f"BU0363{i:04d}" for i in range(14)]
    table = pd.DataFrame({"n": range(14)}, index=pd.Index(codes, name="code"))
    areas = pd.Index(["WK036300", "WK036301"])
    text = join_report("k", "k.csv", table, areas, "wijk").describe()
    assert "0 of 2 areas found (0%) among 14 table rows" in text
    assert "finer than the wijk areas" in text and '[boundaries] level = "wijk"' in text
    same = join_report("k", "k.csv", table, pd.Index(codes[:2]), "buurt").describe()
    assert "finer" not in same and "coarser" not in same


def test_boundaries_check_select_reports_only_the_selection(capsys):
    assert main(["boundaries", "check", str(GEOJSON_2015), "--select", "GM0736"]) == 1
    out = capsys.readouterr().out
    assert "BU07360400 (buurt): sliver" in out
    assert "BU03940429" not in out  # a suspect of another gemeente
    # the control: the whole file reports it
    main(["boundaries", "check", str(GEOJSON_2015)])
    assert "BU03940429 (buurt): sliver" in capsys.readouterr().out


def test_a_parquet_table_reads_as_its_csv(tmp_path):
    """pyarrow is a dependency: a Parquet area table reads as the same table in CSV,
    codes and values as text, a missing value missing."""
    frame = pd.DataFrame({"code": ["BU03630000", "BU03630001"], "inwoners": [120, None]})
    frame.to_parquet(tmp_path / "kwb.parquet")
    frame.to_csv(tmp_path / "kwb.csv", index=False)
    parquet = read_table(tmp_path / "kwb.parquet", "code")
    csv = read_table(tmp_path / "kwb.csv", "code")
    assert list(parquet.index) == list(csv.index) == ["BU03630000", "BU03630001"]
    assert parquet.loc["BU03630001", "inwoners"] is pd.NA or pd.isna(
        parquet.loc["BU03630001", "inwoners"]
    )
    assert float(parquet.loc["BU03630000", "inwoners"]) == float(csv.loc["BU03630000", "inwoners"])


def test_an_unknown_theme_exits_2_naming_the_themes(demo_out, capsys):
    assert main(["hotspots", str(demo_out), "--theme", "wapens"]) == 2
    err = capsys.readouterr().err
    assert "'wapens'" in err and "drugs (Drugs)" in err
    assert main(["hotspots", str(demo_out), "--theme", "Drugs", "--top", "3"]) == 0
