"""Own areas (police basisteams, a gemeente's districts): unions of buurten, published as
their own layer and protected jointly with the buurten, wijken and gemeente.

The master is stadsdeel Zuidoost of the demo (``_demo_on``) with the shipped example's
two made-up basisteams there (``engine/data/amsterdam_basisteams_voorbeeld.csv``),
which cut through wijken TE, TH and TJ: a second hierarchy not nested in the first.
The outsider of ``tests/attacker.py`` is taught the own areas from the mapping table
itself, not from the engine's code. As a control, the own areas protected on their own
(the engine told nothing of their buurten) give buurt cells away.
"""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from tests.attacker import exposed, read_layers, with_own_areas
from tests.conftest import DEMO_STADSDEEL, _demo_on, grid_buurten
from zicht.boundaries.own_areas import own_areas, polygons_to_mapping
from zicht.disclosure import LinkedCells, Relations
from zicht.disclosure.programs import attacker_bounds_exact
from zicht.engine import load_config, publish, run
from zicht.engine import pipeline as run_pipeline
from zicht.engine.data import DEMO_BOUNDARIES, DEMO_CONFIG, HERE
from zicht.engine.outputs.verify import audit_directory
from zicht.engine.sources import record_cells
from zicht.errors import BoundaryError, ConfigError

EXAMPLE = HERE / "amsterdam_basisteams_voorbeeld.csv"
LAYER = "eigen_basisteams"
LEFT_OUT = "WK0363TA"  # in basisteam BTT1 only


def _config(folder, mapping, codes=()) -> object:
    """The demo's config with ``[[own_areas]]`` from ``mapping`` (and a selection)."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace('path = "amsterdam_buurten_2024.gpkg"', f'path = "{DEMO_BOUNDARIES}"')
    if codes:
        text = text.replace("[boundaries]\n", f"[boundaries]\nselect = {json.dumps(codes)}\n")
    text += f'\n[[own_areas]]\nid = "basisteams"\nfile = "{mapping}"\nlabel_nl = "Basisteams"\n'
    path = folder / f"own-{len(codes)}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def zuidoost(tmp_path_factory):
    """The example's basisteams of Zuidoost (the master's buurten): the mapping."""
    folder = tmp_path_factory.mktemp("own")
    table = pd.read_csv(EXAMPLE, dtype=str)
    table = table[table["code"].str.startswith("BTT")]
    table.to_csv(folder / "basisteams.csv", index=False)
    return folder, folder / "basisteams.csv", table


@pytest.fixture(scope="module")
def own_release(zuidoost):
    """The stadsdeel with its basisteams, and every wijk of it but one: RunResults."""
    folder, mapping, _ = zuidoost
    part = [w for w in DEMO_STADSDEEL if w != LEFT_OUT]
    with pytest.MonkeyPatch.context() as mp:
        _demo_on(mp, DEMO_STADSDEEL)
        whole = run(load_config(_config(folder, mapping)), folder / "whole")
        cut = run(load_config(_config(folder, mapping, part)), folder / "part")
    return whole, cut


def _known(out, table) -> dict[str, pd.DataFrame]:
    """The outsider's layers: the area layers and the own areas, taught from ``table``."""
    return with_own_areas(read_layers(out), out, LAYER, table)


def test_the_own_area_layer(own_release, zuidoost):
    whole, _ = own_release
    _, _, table = zuidoost
    layer = pyogrio.read_dataframe(whole.out_dir / "zicht.gpkg", layer=LAYER)
    assert layer.crs.to_epsg() == 28992 and list(layer["code"]) == ["BTT1", "BTT2"]
    assert set(layer["niveau"]) == {"eigen"} and set(layer["indeling"]) == {"Basisteams"}
    buurten = whole.boundaries.areas.geometry
    for code, polygon in zip(layer["code"], layer.geometry):
        members = table.loc[table["code"] == code, "buurtcode"]
        assert polygon.area == pytest.approx(buurten.loc[members].area.sum(), rel=1e-6)
    # the own areas cut through wijken: a hierarchy not nested in wijk and gemeente
    wijken = table.assign(wijk="WK" + table["buurtcode"].str[2:8]).groupby("wijk")["code"]
    assert (wijken.nunique() > 1).sum() >= 2
    # every count is the sum of its buurten, computed from the records
    c = whole.protection.cells
    counts = c[(c["kind"] == "count") & c["sensitive"]]
    mine = counts[counts["level"] == "eigen:basisteams"].set_index(["indicator", "code"])
    buurt = counts[counts["level"] == "buurt"].merge(
        table.rename(columns={"buurtcode": "code", "code": "own"}), on="code"
    )
    summed = buurt.groupby(["indicator", "own"])["value"].sum()
    assert np.allclose(mine["value"].sort_index(), summed.sort_index().to_numpy())
    styles = pyogrio.read_dataframe(whole.out_dir / "zicht.gpkg", layer="layer_styles")
    assert (styles["f_table_name"] == LAYER).any()
    with zipfile.ZipFile(whole.out_dir / "zicht.qgz") as project:
        assert f"layername={LAYER}" in project.read("zicht.qgs").decode()


def test_own_areas_with_the_levels_give_nothing_away(own_release, zuidoost):
    whole, _ = own_release
    layers = _known(whole.out_dir, zuidoost[2])
    sensitive = sorted(set(whole.protection.cells.query("sensitive")["indicator"]))
    # some own-area cells are withheld: the joint protection had work to do there
    assert layers["eigen"][sensitive].isna().to_numpy().any()
    assert exposed(layers, whole.protection.cells, sample=10_000).empty
    report = audit_directory(whole.out_dir, exact=True)
    assert report.ok, report.problems[:5]


def test_a_cut_leaves_out_own_areas_partly_selected(own_release, zuidoost):
    whole, cut = own_release
    layer = pyogrio.read_dataframe(cut.out_dir / "zicht.gpkg", layer=LAYER, read_geometry=False)
    assert list(layer["code"]) == ["BTT2"]  # BTT1 holds buurten of the wijk left out
    theirs = pyogrio.read_dataframe(whole.out_dir / "zicht.gpkg", layer=LAYER)
    sensitive = sorted(set(whole.protection.cells.query("sensitive")["indicator"]))
    pd.testing.assert_frame_equal(
        layer.set_index("code")[sensitive],
        theirs.set_index("code").loc[["BTT2"], sensitive],
        check_dtype=False,
    )
    report = audit_directory(whole.out_dir, exact=True, others=[cut.out_dir])
    assert report.ok, report.problems[:5]


def test_own_areas_protected_on_their_own_give_cells_away(own_release, zuidoost, tmp_path):
    """The control: the same records, the own areas' cells protected without the engine
    knowing they are sums of buurten (as a table protected apart would be). The outsider
    who knows the mapping pins withheld buurt cells."""
    whole, _ = own_release
    folder, mapping, table = zuidoost
    frozen = {data.name: data for data in whole.indicators.synthetic.values()}
    cell_table = publish.cell_table

    def unlinked(*args, **kw):  # the own areas' cells as cells of their own
        return cell_table(*args, **kw).drop(columns="members")

    with pytest.MonkeyPatch.context() as mp:
        _demo_on(mp, DEMO_STADSDEEL)
        mp.setattr(record_cells, "generate", lambda name, *args, **kw: frozen[name])
        mp.setattr(publish, "cell_table", unlinked)
        mp.setattr(run_pipeline, "_audit", lambda staging, proven: None)  # it would refuse
        alone = run(load_config(_config(folder, mapping)), tmp_path / "alone")
    found = exposed(_known(alone.out_dir, table), alone.protection.cells, sample=10_000)
    assert len(found) > 0, "the control found nothing: the test could not fail"
    # pinned by an own area less its buurten (and, through those, a wijk cell may go too)
    assert "buurt" in set(found["level"]), found


def _small_table(members: str | None) -> tuple[pd.DataFrame, np.ndarray]:
    """A gemeente of two wijken (b1, b2 | b3) and an own area o = b1 + b3: b1 and b2
    withheld, the rest published."""
    cells = pd.DataFrame(
        {
            "indicator": "n",
            "level": ["gemeente", "wijk", "wijk", "buurt", "buurt", "buurt", "eigen:x"],
            "code": ["G", "W1", "W2", "b1", "b2", "b3", "o"],
            "parent": [None, "G", "G", "W1", "W1", "W2", None],
        }
    )
    if members is not None:
        cells["members"] = [None] * 6 + [members]
    return cells, np.array([60.0, 40.0, 20.0, np.nan, np.nan, 20.0, 45.0])


def test_an_own_area_is_a_sum_the_attacker_uses():
    spans = {}
    for members in ("b1 b3", None):
        cells, shown = _small_table(members)
        linked = LinkedCells(cells, Relations())
        knowledge = linked.knowledge(shown, 0.0, False, 1)
        low, high = attacker_bounds_exact(knowledge, np.array([3]), knowledge.low, knowledge.high)
        spans[members] = high[3] - low[3]
    assert spans["b1 b3"] == pytest.approx(0.0)  # b1 = o - b3
    assert spans[None] == pytest.approx(40.0)  # without the own area: b1 + b2 = 40


def _config_with(tmp_path, mapping_text: str) -> object:
    (tmp_path / "map.csv").write_text(mapping_text, encoding="utf-8")
    text = DEMO_CONFIG.read_text(encoding="utf-8").replace(
        'path = "amsterdam_buurten_2024.gpkg"', f'path = "{DEMO_BOUNDARIES}"'
    )
    text += '\n[[own_areas]]\nid = "teams"\nfile = "map.csv"\n'
    (tmp_path / "c.toml").write_text(text, encoding="utf-8")
    return tmp_path / "c.toml"


@pytest.mark.parametrize(
    ("mapping", "says"),
    [
        ("buurtcode,code\nBU0363TA01,A\n", "no column(s) 'naam'"),
        ("buurtcode,code,naam\nBU0363TA01,A,Een\nBU0363TA01,B,Twee\n", "row 3, column 'buurtcode'"),
        ("buurtcode;code;naam\nBU0363TA01;A;Een\nBU0363TA02;;Een\n", "row 3, column 'code': empty"),
        ("buurtcode,code,naam\nBU0363TA01,A b,Een\n", "row 2, column 'code'"),
        ("buurtcode,code,naam\nBU0363TA01,A,Een\nBU0363TA02,A,Twee\n", "column 'naam'"),
    ],
)
def test_a_bad_mapping_table_is_refused_on_load(tmp_path, mapping, says):
    with pytest.raises(ConfigError) as error:
        load_config(_config_with(tmp_path, mapping))
    assert "map.csv" in str(error.value) and says in str(error.value)
    assert "own_areas" in str(error.value)


def test_an_unknown_buurt_is_named_with_its_row(tmp_path):
    buurten = grid_buurten(["BU03630000", "BU03630001"]).set_index("buurtcode")
    (tmp_path / "m.csv").write_text("buurtcode,code,naam\nBU03630000,A,Een\nBU03639999,A,Een\n")
    with pytest.raises(BoundaryError, match=r"m.csv \(own areas 'x'\), row 3, column 'buurtcode'"):
        own_areas("x", tmp_path / "m.csv", buurten)


def test_polygons_that_follow_buurten_become_a_mapping_and_others_are_refused(tmp_path):
    buurten = grid_buurten(["BU03630000", "BU03630001", "BU03630002"]).set_index("buurtcode")
    x0, y0 = 120_000.0, 487_000.0
    whole = gpd.GeoDataFrame(
        {"code": ["A", "B"], "naam": ["Een", "Twee"]},
        geometry=[
            shapely.box(x0, y0, x0 + 200.4, y0 + 100),
            shapely.box(x0 + 200, y0, x0 + 300, y0 + 100),
        ],
        crs="EPSG:28992",
    )
    mapping = polygons_to_mapping(whole, buurten, "polygons.gpkg")
    assert dict(zip(mapping["buurtcode"], mapping["code"])) == {
        "BU03630000": "A",
        "BU03630001": "A",
        "BU03630002": "B",
    }
    whole.to_file(tmp_path / "teams.gpkg", engine="pyogrio")
    assert list(own_areas("t", tmp_path / "teams.gpkg", buurten).codes) == ["A", "B"]
    cutting = whole.set_geometry([shapely.box(x0, y0, x0 + 150, y0 + 100), whole.geometry[1]])
    with pytest.raises(BoundaryError) as error:
        polygons_to_mapping(cutting, buurten, "polygons.gpkg")
    message = str(error.value)
    assert "polygon 'A' cuts through buurt(en) BU03630001" in message
    assert "geographic differencing" in message
