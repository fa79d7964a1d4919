"""Every gemeente gets scores: ``spatial.min_areas`` holds back only the spatial
statistics, and ``[spatial] context`` computes them on the selection and the
gemeenten around it while publishing only the selection."""

from __future__ import annotations

import textwrap

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from zicht.engine import load_config, run

RUN = """
[boundaries]
path = "areas.gpkg"
{select}

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
{households}

[[indicators]]
id = "n"
kind = "count"
table = "k"
column = "n"
theme = "drugs"
direction = "higher"
exposure = "inwoners"
label_nl = "misdrijven"
label_en = "crimes"

[spatial]
min_areas = {min_areas}
permutations = 199
{context}
"""

HOUSEHOLDS = """
[[indicators]]
id = "huishoudens"
kind = "count"
table = "k"
column = "huishoudens"
label_nl = "huishoudens"
label_en = "households"
"""

# three gemeenten in a row, 6 x 4 buurten of 200 m each: 0001 borders 0002, not 0003
GEMEENTEN = ("0001", "0002", "0003")


def _areas() -> gpd.GeoDataFrame:
    rows = []
    for g, gemeente in enumerate(GEMEENTEN):
        for i in range(24):
            x = 120_000 + (g * 6 + i % 6) * 200.0
            y = 480_000 + (i // 6) * 200.0
            rows.append(
                {
                    "buurtcode": f"BU{gemeente}{i // 6:02d}{i % 6:02d}",
                    "buurtnaam": f"Buurt {gemeente}-{i}",
                    "geometry": shapely.box(x, y, x + 200, y + 200),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:28992")


def _run(folder, select="", context="", min_areas=30, households=HOUSEHOLDS):
    folder.mkdir(exist_ok=True)
    areas = _areas()
    areas.to_file(folder / "areas.gpkg", layer="buurten", engine="pyogrio")
    rng = np.random.default_rng(7)
    counts = rng.poisson(20, len(areas)) + np.where(areas.geometry.centroid.x < 121_400, 25, 0)
    rows = "".join(
        f"{code};800;300;{n}\n" for code, n in zip(areas["buurtcode"], counts, strict=True)
    )
    (folder / "table.csv").write_text("code;inwoners;huishoudens;n\n" + rows)
    config = folder / "run.toml"
    text = RUN.format(select=select, context=context, min_areas=min_areas, households=households)
    config.write_text(textwrap.dedent(text))
    result = run(load_config(config), folder / "out")
    return result, pyogrio.read_dataframe(folder / "out" / "zicht.gpkg", layer="buurten")


def test_a_selection_below_min_areas_gets_scores_but_no_hotspots(tmp_path):
    _, buurten = _run(tmp_path / "a", select='select = ["GM0001"]', min_areas=30)
    assert len(buurten) == 24
    assert buurten["risk_drugs"].notna().all() and buurten["rank_drugs"].notna().all()
    assert buurten["hotspot_drugs"].isna().all()  # 24 areas: fewer than min_areas


@pytest.fixture(scope="module")
def context_runs(tmp_path_factory):
    """The ring around GM0001 (GM0002 borders it) and the selection of both."""
    folder = tmp_path_factory.mktemp("context")
    ring = _run(folder / "ring", 'select = ["GM0001"]', 'context = "ring"', min_areas=30)
    both = _run(folder / "both", 'select = ["GM0001", "GM0002"]', min_areas=30)
    return ring, both


def test_the_ring_computes_hotspots_on_the_neighbours_and_publishes_only_the_selection(
    context_runs,
):
    (ring_result, ring), (_, both) = context_runs
    assert set(ring["code"].str[2:6]) == {"0001"}  # only the selection is published
    # the statistics are those of the selection and its bordering gemeente together
    both = both[both["code"].str[2:6] == "0001"].set_index("code")
    ring = ring.set_index("code").loc[both.index]
    assert ring["hotspot_drugs"].notna().all()  # 48 areas: enough for hotspots
    for column in ("risk_drugs", "rank_drugs", "hotspot_drugs", "lisa_drugs"):
        assert ring[column].equals(both[column]), column
    # nothing of the context gemeente in any output
    out = ring_result.out_dir
    for name in ("hotspots.csv", "report.html", "dashboard.html"):
        assert "BU0002" not in (out / name).read_text(encoding="utf-8-sig"), name
    for layer in ("wijken", "gemeenten"):
        codes = pyogrio.read_dataframe(out / "zicht.gpkg", layer=layer)["code"]
        assert set(codes.str[2:6]) == {"0001"}, layer


def test_a_listed_context_gemeente_that_does_not_border_changes_the_statistics(
    tmp_path, context_runs
):
    """The control: with GM0003 (not bordering, and without the high counts along
    GM0001's west side) as context the scores are others than with the ring."""
    (_, ring), _ = context_runs
    _, far = _run(tmp_path, 'select = ["GM0001"]', 'context = ["GM0003"]', min_areas=30)
    assert set(far["code"].str[2:6]) == {"0001"}
    assert far["hotspot_drugs"].notna().all()
    far, ring = far.set_index("code"), ring.set_index("code").loc[far["code"]]
    assert not far["risk_drugs"].equals(ring["risk_drugs"])


def test_a_run_without_households_warns_naming_the_key(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="zicht"):
        _, buurten = _run(tmp_path, households="", min_areas=30)
    assert buurten["risk_drugs"].isna().all()  # the area rule holds every area
    assert any("[disclosure] households = 'huishoudens'" in r.getMessage() for r in caplog.records)
