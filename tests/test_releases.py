"""Protect once, publish cuts: two runs of the same sources for different selections
are parts of one protected release, and an outsider who reads both recovers nothing
either withheld. As a control, the same two selections protected each from its own
input (the records frozen, as a steward's files would be) do give cells away.

The master here is stadsdeel Zuidoost of the demo (``demo_on_one_stadsdeel``): a
steward's whole input, of which the runs select parts.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.attacker import HALF_COUNT, HALF_SUM, exposed, read_layers, union
from tests.conftest import DEMO_STADSDEEL, _demo_on
from zicht.disclosure.knowledge import protected
from zicht.disclosure.rules import PRIMARY_RULES
from zicht.engine import load_config, run
from zicht.engine import pipeline as run_pipeline
from zicht.engine.analysis.context import cut_outputs
from zicht.engine.cli import main
from zicht.engine.data import DEMO_BOUNDARIES, DEMO_CONFIG
from zicht.engine.estimates import LevelEstimates
from zicht.engine.outputs.verify import audit_directory
from zicht.engine.sources import record_cells

LEFT_OUT = "WK0363TA"  # every wijk of the stadsdeel but this one
PART = tuple(w for w in DEMO_STADSDEEL if w != LEFT_OUT)


def _selecting(folder, codes=(), level=None) -> object:
    """The demo's config with ``[boundaries] select = codes`` (and ``level``), written
    to ``folder``."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace('path = "amsterdam_buurten_2024.gpkg"', f'path = "{DEMO_BOUNDARIES}"')
    keys = f"select = {json.dumps(list(codes))}\n" + (f'level = "{level}"\n' if level else "")
    text = text.replace("[boundaries]\n", "[boundaries]\n" + keys)
    path = folder / f"select-{len(codes)}-{level}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def releases(tmp_path_factory, stadsdeel_demo):
    """The whole stadsdeel (the session's master), all of it but one wijk, and the
    whole per wijk: (whole, part, wijken) RunResults."""
    folder = tmp_path_factory.mktemp("releases")
    whole = stadsdeel_demo
    with pytest.MonkeyPatch.context() as mp:
        _demo_on(mp, DEMO_STADSDEEL)
        part = run(load_config(_selecting(folder, PART)), folder / "part")
        wijken = run(load_config(_selecting(folder, level="wijk")), folder / "wijken")
    return whole, part, wijken


def test_a_selection_publishes_the_protected_figures_of_the_whole(releases):
    whole, part, _ = releases
    mine, theirs = read_layers(part.out_dir), read_layers(whole.out_dir)
    # the gemeente is only partly selected: its code is not put on a partial sum
    assert set(mine) == {"buurt", "wijk"} and part.boundaries.report.partial == ["GM0363"]
    assert set(mine["wijk"]["code"]) == set(PART)
    assert not mine["buurt"]["wijkcode"].eq(LEFT_OUT).any()
    sensitive = part.protection.cells.loc[part.protection.cells["sensitive"], "indicator"]
    for level, layer in mine.items():
        ours = layer.set_index("code")[sorted(set(sensitive))]
        whole_figures = theirs[level].set_index("code").loc[ours.index, ours.columns]
        pd.testing.assert_frame_equal(ours, whole_figures, obj=level, check_dtype=False)


def test_two_selections_together_give_nothing_away(releases):
    whole, part, _ = releases
    layers = union(read_layers(whole.out_dir), read_layers(part.out_dir))
    assert exposed(layers, whole.protection.cells).empty
    report = audit_directory(whole.out_dir, exact=True, others=[part.out_dir])
    assert report.ok, report.problems[:5]


def test_the_joint_audit_from_the_command_line(releases, capsys):
    whole, part, _ = releases
    args = ["audit", str(part.out_dir), "--with", str(whole.out_dir)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "jointly:" in out and "OK: no withheld value can be recovered" in out


def test_selections_protected_each_on_its_own_do_give_cells_away(releases, tmp_path):
    """The control: the part protected from its own input (the steward's file narrowed
    to the selection, the same records) publishes under GM0363 a partial sum and a
    pattern of its own; read together with the whole, cells are exposed."""
    whole, _, _ = releases
    frozen = {data.name: data for data in whole.indicators.synthetic.values()}
    with pytest.MonkeyPatch.context() as mp:
        _demo_on(mp, PART)  # the steward's input is the selection itself
        mp.setattr(record_cells, "generate", lambda name, *args, **kw: frozen[name])
        alone = run(load_config(DEMO_CONFIG), tmp_path / "alone")
    report = audit_directory(whole.out_dir, others=[alone.out_dir])
    assert not report.ok
    assert any("GM0363" in p and "different values" in p for p in report.problems)
    # the attack of the issue: the official total less the partial one is the wijk
    # left out, to within two roundings
    truth = whole.protection.cells.set_index(["indicator", "level", "code"])
    official = read_layers(whole.out_dir)["gemeente"].set_index("code").loc["GM0363"]
    partial = read_layers(alone.out_dir)["gemeente"].set_index("code").loc["GM0363"]
    pinned = []
    for (indicator, level, code), cell in truth.iterrows():
        if (level, code) != ("wijk", LEFT_OUT) or cell["reason"] not in PRIMARY_RULES:
            continue
        difference = float(official[indicator]) - float(partial[indicator])
        if np.isnan(difference):  # withheld in one of them
            continue
        half = HALF_COUNT if cell["kind"] == "count" else HALF_SUM
        low, high = np.array([difference - 2 * half]), np.array([difference + 2 * half])
        if not protected(*(np.array([cell[x]]) for x in ("value", "lower", "upper")), low, high)[0]:
            pinned.append(indicator)
    assert pinned, "the control found nothing: the test could not fail"


def test_a_run_per_wijk_publishes_the_wijken_of_the_run_per_buurt(releases):
    whole, _, wijken = releases
    mine, theirs = read_layers(wijken.out_dir), read_layers(whole.out_dir)
    assert set(mine) == {"wijk", "gemeente"}
    sensitive = sorted(set(whole.protection.cells.query("sensitive")["indicator"]))
    for level, layer in mine.items():
        ours = layer.set_index("code")[sensitive]
        pd.testing.assert_frame_equal(
            ours, theirs[level].set_index("code")[sensitive], obj=level, check_dtype=False
        )
    assert exposed(union(theirs, mine), whole.protection.cells).empty
    assert audit_directory(whole.out_dir, others=[wijken.out_dir]).ok


def test_a_run_per_wijk_protected_on_its_own_gives_buurt_cells_away(releases, tmp_path):
    """The control: the wijken computed and protected on their own (as every run did
    before), the same records; read with the run per buurt, buurt cells are exposed."""
    whole, _, _ = releases
    frozen = {data.name: data for data in whole.indicators.synthetic.values()}
    inputs = run_pipeline._inputs

    def wijk_table(config, timings, *args):  # the wijken's cells and up, protected alone
        master, indicators = inputs(config, timings, *args)
        for cells in indicators.cells.values():
            del cells.levels["buurt"]
        branches = indicators.branches
        indicators.branches = branches[branches["level"] != "buurt"].reset_index(drop=True)
        return master.from_level("wijk", "the control"), indicators

    with pytest.MonkeyPatch.context() as mp:
        _demo_on(mp, DEMO_STADSDEEL)
        mp.setattr(record_cells, "generate", lambda name, *args, **kw: frozen[name])
        mp.setattr(run_pipeline, "_inputs", wijk_table)
        alone = run(load_config(_selecting(tmp_path, level="wijk")), tmp_path / "alone")
    both = union(read_layers(whole.out_dir), read_layers(alone.out_dir))
    assert len(exposed(both, whole.protection.cells)) > 0  # 4 buurt cells on this stadsdeel


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    first=st.sets(st.sampled_from(DEMO_STADSDEEL), min_size=1),
    second=st.sets(st.sampled_from(DEMO_STADSDEEL), min_size=1),
)
def test_any_two_cuts_of_one_protected_master_give_nothing_away(releases, first, second):
    """Random pairs of selections, cut as the pipeline cuts (``published_cut``, ``cut_outputs``)
    from the protected master: the exact attacker pins no withheld cell of the union."""
    whole, _, _ = releases
    cuts = []
    for codes in (first, second):
        boundaries = whole.boundaries.cut(sorted(codes), "a random selection")
        layers = {lv: whole.layers[lv] for lv in boundaries.levels}
        nothing = {
            lv: LevelEstimates.exact(layer.set_index("code")[[]]) for lv, layer in layers.items()
        }
        cut, _, protection = cut_outputs(boundaries, layers, nothing, whole.protection)
        assert set(protection.cells["code"]) == {c for f in cut.values() for c in f["code"]}
        for level, areas in boundaries.levels.items():
            if level != boundaries.finest:  # coarser areas only when wholly selected
                inside = whole.boundaries.areas[f"{level}code"].isin(areas.index)
                assert whole.boundaries.areas.index[inside].isin(boundaries.areas.index).all()
        cuts.append(cut)
    assert exposed(union(*cuts), whole.protection.cells, sample=5).empty
