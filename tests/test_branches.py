"""Branche analysis: the SBI tree, synthetic sectors, two-way protection and outputs."""

from __future__ import annotations

import importlib
import shutil

import numpy as np
import pandas as pd
import pyogrio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zicht.disclosure import DisclosureParams, LinkedCells, Relations, protect
from zicht.disclosure.programs import attacker_bounds_exact
from zicht.disclosure.rounding import half_width
from zicht.engine.cli import main
from zicht.engine.outputs.verify import audit_directory
from zicht.engine.sbi import SbiTree
from zicht.errors import ConfigError, DisclosureError, MicrodataError

# --- the SBI tree ---------------------------------------------------------------------


def test_codes_of_any_depth_roll_up_to_the_deepest_listed_node():
    tree = SbiTree.default()
    leaves = tree.leaves(pd.Series(["9602", "96.02.1", "9609", "96", "4120", None]))
    assert leaves.tolist() == ["96.02", "96.02", "96~", "96~", "41", None]
    assert tree.path("96.02") == ["96.02", "96", "S", "totaal"]
    assert len([n for n, lv in tree.level.items() if lv == "sectie"]) == 21


def test_an_unknown_code_names_the_code_and_the_column():
    with pytest.raises(MicrodataError, match=r"kvk.csv, column 'sbi'.*'0512'"):
        SbiTree.default().leaves(pd.Series(["4511", "0512"]), "kvk.csv, column 'sbi'")


def test_a_shallower_tree_lifts_leaves_to_their_division():
    tree = SbiTree.default().down_to("afdeling")
    leaves = SbiTree.default().leaves(pd.Series(["9602", "9609"]))
    assert tree.lift(leaves).tolist() == ["96", "96"]
    assert "96~" not in tree.parent


def test_risk_branches_must_be_disjoint_nodes(tmp_path):
    from zicht.engine.config import load_config
    from zicht.engine.data import DEMO_CONFIG

    text = DEMO_CONFIG.read_text(encoding="utf-8").replace('sbi = "92"', 'sbi = "96"')
    path = tmp_path / "demo.toml"
    path.write_text(text, encoding="utf-8")
    for name in ("amsterdam_buurten_2024.gpkg",):
        shutil.copy(DEMO_CONFIG.parent / name, tmp_path / name)
    with pytest.raises(ConfigError, match=r"'96.02' lies within '96'"):
        load_config(path)


# --- two-way protection -----------------------------------------------------------------

NODES = {"totaal": None, "A": "totaal", "B": "totaal", "01": "A", "02": "A", "03": "B", "04": "B"}
DEPTH = {"totaal": 0, "A": 1, "B": 1, "01": 2, "02": 2, "03": 2, "04": 2}


def two_way(counts: np.ndarray) -> pd.DataFrame:
    """One gemeente, wijken x the four divisions of ``NODES``; every total added up."""
    rows = []
    leaves = ["01", "02", "03", "04"]
    wijken = [f"WK0001{w:02d}" for w in range(len(counts))]
    table = {
        (wijk, leaf): float(counts[w][k])
        for w, wijk in enumerate(wijken)
        for k, leaf in enumerate(leaves)
    }
    for wijk in wijken:
        for node in NODES:
            table[(wijk, node)] = sum(
                v for (a, n), v in table.items() if a == wijk and n in leaves and _under(n, node)
            )
    for node in NODES:
        table[("GM0001", node)] = sum(table[(w, node)] for w in wijken)
    for (code, node), value in table.items():
        rows.append(
            dict(
                indicator="x",
                level="gemeente" if code.startswith("GM") else "wijk",
                code=code,
                parent=None if code.startswith("GM") else "GM0001",
                sbi=node,
                sbi_parent=NODES[node],
                sbi_depth=DEPTH[node],
                never=False,
                value=value,
                units=value,
                kind="count",
                sensitive=True,
                unit_type="company",
            )
        )
    cells = pd.DataFrame(rows)
    cells[["top1", "top2", "top3"]] = np.nan
    return cells


def _under(leaf: str, node: str) -> bool:
    while leaf is not None:
        if leaf == node:
            return True
        leaf = NODES[leaf]
    return False


def exact_narrow(cells: pd.DataFrame, published: np.ndarray, params: DisclosureParams) -> list:
    """The attacker's programs over the two-way table: withheld cells narrower than
    ``protection_min``, and primary cells whose protection interval is not covered."""
    linked = LinkedCells(cells, Relations())
    knowledge = linked.knowledge(published, half_width(params.count_base, True), True, 10)
    withheld = np.flatnonzero(np.isnan(published))
    if not len(withheld):
        return []
    low, high = attacker_bounds_exact(knowledge, withheld, knowledge.low, knowledge.high)
    bad = []
    value = cells["value"].to_numpy()
    for i in withheld:
        upper = max(params.protection_ratio * value[i], params.protection_min)
        primary = cells["reason"].iat[i] in ("frequency", "dominance", "p%")
        covered = low[i] <= max(value[i] - upper, 0) + 1e-6 and high[i] >= value[i] + upper - 1e-6
        if high[i] - low[i] < params.protection_min - 1e-6 or (primary and not covered):
            bad.append((cells["code"].iat[i], cells["sbi"].iat[i]))
    return bad


def sizes_for(cells: pd.DataFrame) -> pd.DataFrame:
    keys = pd.MultiIndex.from_frame(cells[["level", "code"]].drop_duplicates())
    return pd.DataFrame({"inhabitants": 1000.0, "households": 500.0}, index=keys)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.sampled_from([0, 1, 3, 8, 12, 20, 35, 60]), min_size=4, max_size=4),
        min_size=2,
        max_size=4,
    )
)
def test_after_two_way_protection_the_attackers_programs_recover_nothing(counts):
    cells = two_way(np.array(counts))
    decided = decide(cells, cells)
    assert exact_narrow(decided, decided["published"].to_numpy(float), DisclosureParams()) == []


def decide(cells: pd.DataFrame, protected_as: pd.DataFrame) -> pd.DataFrame:
    """``cells`` with the decision of protecting ``protected_as`` (the same cells, with
    the hierarchies the protection is told about)."""
    found = protect(protected_as, sizes_for(cells), pd.DataFrame(columns=["indicator"]))
    out = pd.concat([found.cells, found.branches], ignore_index=True)
    out = out[["level", "code", "sbi", "reason", "published"]]
    return cells.merge(out, on=["level", "code", "sbi"])


def test_protecting_one_dimension_alone_leaves_a_leak():
    """The same table protected as if it had only the area hierarchy: the SBI totals
    give a withheld cell away, and the attacker's programs find it (this test fails if
    the audit were blind to the second dimension)."""
    params = DisclosureParams()
    counts = np.array([[3, 40, 25, 30], [50, 45, 35, 60], [40, 55, 45, 20]])
    cells = two_way(counts)
    # per SBI node its own area table: the area dimension alone
    one_way = decide(cells, cells.assign(sbi_parent=None))
    assert exact_narrow(one_way, one_way["published"].to_numpy(float), params) != []
    # protected over both hierarchies, the same table keeps its secret
    both = decide(cells, cells)
    assert exact_narrow(both, both["published"].to_numpy(float), params) == []


@pytest.mark.parametrize(
    "counts",
    [
        [[0, 60, 1, 1], [35, 35, 1, 12]],
        [[60, 12, 12, 3], [0, 0, 60, 0], [60, 0, 8, 8]],
        [[8, 0, 1, 0], [20, 20, 35, 20]],
    ],
)
def test_what_the_attackers_program_names_as_binding_frees_a_pinned_cell(counts, monkeypatch):
    """Tables that the complement programs of one hierarchy at a time leave exposed.
    With the step that withholds a cell's neighbours switched off, withholding what the
    program's certificate names (disclosure.complements.Pattern.unpin) still protects
    them; with that switched off too, protection fails (so the first half can fail).
    The joint program over both hierarchies protects them on its own."""
    pattern = importlib.import_module("zicht.disclosure.complements").Pattern

    cells = two_way(np.array(counts))
    monkeypatch.setattr(pattern, "widen", lambda self, exposed, *args: exposed)
    joint = decide(cells, cells)
    assert exact_narrow(joint, joint["published"].to_numpy(float), DisclosureParams()) == []
    monkeypatch.setattr(pattern, "complete", _by_subtables)
    decided = decide(cells, cells)
    assert exact_narrow(decided, decided["published"].to_numpy(float), DisclosureParams()) == []
    monkeypatch.setattr(pattern, "unpin", lambda self, *args: None)
    with pytest.raises(DisclosureError, match="could not protect every cell"):
        decide(cells, cells)


@pytest.mark.parametrize(
    "counts",
    [
        [[0, 60, 1, 1], [35, 35, 1, 12]],
        [[60, 12, 12, 3], [0, 0, 60, 0], [60, 0, 8, 8]],
        [[3, 40, 25, 30], [50, 45, 35, 60], [40, 55, 45, 20]],
    ],
)
def test_a_joint_program_out_of_time_falls_back_to_the_subtables(counts, monkeypatch):
    """Where the joint complement program finds no solution in its time (a national
    table of every SBI division did, and the run failed), the table is protected
    subtable by subtable instead, and the attacker still finds nothing. HiGHS itself
    is given no time here, so this is its real answer, not a stand-in."""
    from dataclasses import replace

    import zicht.disclosure.complements as complements
    import zicht.disclosure.joint as joint
    from zicht.disclosure.limits import LIMITS

    cells = two_way(np.array(counts))
    real = joint.joint_complements
    answers: list[bool] = []

    def out_of_time(group, suppressed, need, limits=LIMITS, threads=1, **kw):
        no_time = replace(limits, complement_time_limit=0.0)
        found = real(group, suppressed, need, no_time, threads, **kw)
        answers.append(not found.complete)
        return found

    fallback = []
    by_subtables = complements.Pattern._by_subtables

    def spy(self):
        fallback.append(1)
        by_subtables(self)

    monkeypatch.setattr(complements, "joint_complements", out_of_time)
    monkeypatch.setattr(complements.Pattern, "_by_subtables", spy)
    decided = decide(cells, cells)
    assert any(answers)  # HiGHS had no solution in no time: incomplete, not an error
    assert fallback
    published = decided["published"].to_numpy(float)
    assert np.isnan(published).any()
    assert exact_narrow(decided, published, DisclosureParams()) == []


def _by_subtables(self) -> None:  # type: ignore[no-untyped-def]
    """``Pattern.complete`` as it was before the joint program: the complement programs
    of each hierarchy in turn (tau-Argus's modular method), until neither adds a cell;
    the pattern's own fallback where the joint program runs out of time."""
    type(self)._by_subtables(self)
    self.suppressed &= ~self.group.unknown


# --- the demo ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def branches(demo_out):
    return pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="branches", read_geometry=False)


def test_the_demo_publishes_a_branche_table_per_wijk_and_gemeente(branches):
    expected = ["niveau", "code", "naam", "sbi", "sbi_niveau", "sbi_naam", "sbi_ouder"]
    assert list(branches.columns[:7]) == expected
    assert {"vestigingen", "lq_ouder", "lq_totaal", "suppressed", "suppression"} <= set(
        branches.columns
    )
    assert set(branches["niveau"]) == {"gemeente", "wijk"}
    assert branches.loc[branches["sbi"] == "totaal", "sbi_ouder"].isna().all()
    assert not branches["sbi"].str.endswith("~").any()  # rests are never published
    published = branches["vestigingen"].dropna()
    assert (published % 5 == 0).all()
    # withheld rows say so, and only so
    withheld = branches["vestigingen"].isna()
    assert (branches.loc[withheld, "suppression"] == "onderdrukt").all()


def test_branche_totals_are_the_layer_figures_and_quotients_come_from_published_ones(
    branches, demo_out
):
    wijken = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="wijken", read_geometry=False)
    own = branches[(branches["niveau"] == "wijk") & (branches["sbi"] == "totaal")]
    merged = own.merge(wijken[["code", "vestigingen"]], on="code", suffixes=("", "_layer"))
    # (the layer's integer field reads as int64 where no wijk is withheld)
    pd.testing.assert_series_equal(
        merged["vestigingen"], merged["vestigingen_layer"], check_names=False, check_dtype=False
    )
    row = branches[(branches["code"] == "WK0363MA") & (branches["sbi"] == "96.02")].iloc[0]
    area = branches[(branches["code"] == "WK0363MA") & (branches["sbi"] == "totaal")].iloc[0]
    run = branches[(branches["niveau"] == "gemeente")].set_index("sbi")["vestigingen"]
    expected = (row["vestigingen"] / area["vestigingen"]) / (run["96.02"] / run["totaal"])
    assert row["lq_totaal"] == pytest.approx(expected, abs=1e-3)
    # the planted cluster of beauty salons stands out
    assert row["lq_totaal"] > 2


def test_withheld_branche_cells_yield_no_derived_figure(branches):
    withheld = branches["vestigingen"].isna()
    assert branches.loc[withheld, ["aandeel", "lq_ouder", "lq_totaal"]].isna().all().all()


def test_no_withheld_branche_cell_is_recoverable_and_the_audit_reads_the_table(
    demo_run, demo_out, tmp_path
):
    report = audit_directory(demo_out)
    assert report.ok, report.problems
    assert any("branches table" in line for line in report.model)
    assert demo_run.protection.failures.empty
    # tampering: fill in every withheld child of one SBI subtable but one with its true
    # value; the one left is then the parent minus the others, and the audit must say so
    truth = demo_run.protection.branches
    shown = truth[~truth["never"] & (truth["indicator"] == "vestigingen")]
    withheld = shown[shown["reason"] != ""]
    groups = withheld.groupby(["level", "code", "sbi_parent"]).size()
    level, code, parent = next(g for g in groups[groups >= 2].index if _pinned(g, shown, truth))
    siblings = withheld[
        (withheld["level"] == level)
        & (withheld["code"] == code)
        & (withheld["sbi_parent"] == parent)
    ]
    copy = tmp_path / "out"
    shutil.copytree(demo_out, copy)
    gpkg = copy / "zicht.gpkg"
    table = pyogrio.read_dataframe(gpkg, layer="branches", read_geometry=False)
    rest_parent = truth[
        (truth["level"] == level) & (truth["code"] == code) & (truth["sbi"] == parent + "~")
    ]
    for _, cell in siblings.iloc[1:].iterrows():
        mine = (table["code"] == code) & (table["sbi"] == cell["sbi"])
        table.loc[mine, "vestigingen"] = round(cell["value"] / 5) * 5
    pyogrio.write_dataframe(table, gpkg, layer="branches", driver="GPKG")
    (copy / "manifest.json").unlink()
    tampered = audit_directory(copy)
    if rest_parent.empty:  # no unpublished rest beside them: the last one is pinned
        assert any(siblings.iloc[0]["sbi"] in p or code in p for p in tampered.problems)
    assert not tampered.ok


def _pinned(subtable: tuple, shown: pd.DataFrame, truth: pd.DataFrame) -> bool:
    """Whether filling in all withheld children of ``subtable`` (level, code, SBI
    parent) but the first pins that one narrower than 5 by the published rules alone
    (a count rounded to 5, at least 10 where above 0, an exact 0), the filled-in
    counts themselves within the rules: its total published, no unpublished rest
    beside them. Rounding leaves most subtables wide enough."""
    level, code, parent = subtable
    area = truth[(truth["level"] == level) & (truth["code"] == code)]
    if (area["sbi"] == parent + "~").any():
        return False
    total = shown[(shown["level"] == level) & (shown["code"] == code) & (shown["sbi"] == parent)]
    if total.empty or total["reason"].iloc[0] != "":
        return False
    children = shown[(shown["level"] == level) & (shown["code"] == code)]
    children = children[children["sbi_parent"] == parent]
    withheld = children[children["reason"] != ""]
    others = pd.concat([withheld.iloc[1:], children[children["reason"] == ""]])

    def interval(value: float) -> tuple[float, float]:
        rounded = round(value / 5) * 5
        return (0.0, 0.0) if rounded == 0 else (max(rounded - 2.5, 10.0), rounded + 2.5)

    filled = [round(v / 5) * 5 for v in withheld["value"].iloc[1:]]
    if any(0 < v < 10 for v in filled):  # a published count of 1 to 9 breaks the rules
        return False
    low, high = interval(total["value"].iloc[0])
    bounds = [interval(v) for v in others["value"]]
    low, high = max(low - sum(b[1] for b in bounds), 0.0), high - sum(b[0] for b in bounds)
    return 0 <= high - low < 5


def test_zicht_branches_prints_an_area_and_its_sbi_subtree(demo_out, capsys):
    assert main(["branches", str(demo_out), "--code", "WK0363MA", "--sbi", "96"]) == 0
    text = capsys.readouterr().out
    assert "Kappers en schoonheidsverzorging" in text and "Oostelijk Havengebied" in text
    assert "Industrie" not in text
    assert main(["branches", str(demo_out), "--code", "WK0363XX"]) == 2


def test_branche_layers_and_sheet(demo_out):
    layers = {str(n) for n, _ in pyogrio.list_layers(demo_out / "zicht.gpkg")}
    assert {"branches_wijken", "branches_gemeenten"} <= layers
    wijken = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="branches_wijken")
    assert "lq_96_02" in wijken.columns and wijken["lq_96_02"].notna().any()
    styles = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer="layer_styles")
    assert (styles["f_table_name"] == "branches_wijken").sum() >= 12
    from openpyxl import load_workbook

    book = load_workbook(demo_out / "hotspots.xlsx", read_only=True)
    assert "Brancheanalyse" in book.sheetnames
    assert "Brancheanalyse" in (demo_out / "report.html").read_text(encoding="utf-8")


def test_the_report_counts_a_withheld_count_not_an_undefined_quotient():
    from types import SimpleNamespace

    from zicht.engine.outputs.report import _withheld

    rows = pd.DataFrame(
        {
            "vestigingen": [0.0, np.nan, 25.0],
            "lq_totaal": [np.nan, np.nan, 1.3],  # 0 of 0 is undefined, not withheld
            "suppression": [None, "onderdrukt", None],
        }
    )
    inputs = SimpleNamespace(risk_share=("vestigingen_risicobranche", "vestigingen"))
    assert _withheld(rows, inputs).tolist() == [False, True, False]
    assert _withheld(rows, SimpleNamespace(risk_share=None)).tolist() == [False, True, False]
