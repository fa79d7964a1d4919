"""The published demo against an attacker who knows the rules, and the promise that no
published number depends on a withheld value."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pyogrio
import pytest

from tests.attacker import KNOWN, LAYERS, insider_exposed, linked_groups, read_layers
from zicht.disclosure.knowledge import protected
from zicht.disclosure.programs import attacker_bounds_exact
from zicht.disclosure.propagation import attacker_bounds
from zicht.disclosure.rules import PRIMARY_RULES
from zicht.engine import load_config, run
from zicht.engine import pipeline as run_pipeline
from zicht.engine.cli import main
from zicht.engine.data import DEMO_CONFIG


def test_a_hidden_attacker_reading_only_the_output_recovers_no_unsafe_cell(demo_run, demo_out):
    rng = np.random.default_rng(1)
    checked = 0
    for _, shown, knowledge, rows in linked_groups(
        read_layers(demo_out), demo_run.protection.cells
    ):
        low, high = attacker_bounds(knowledge)
        unsafe = np.flatnonzero(rows["reason"].isin(PRIMARY_RULES).to_numpy())
        v, lo, up = (rows[x].to_numpy(float) for x in ("value", "lower", "upper"))
        assert np.isnan(shown[unsafe]).all()
        assert protected(v[unsafe], lo[unsafe], up[unsafe], low[unsafe], high[unsafe]).all()
        sample = rng.choice(unsafe, size=min(len(unsafe), 15), replace=False)
        if len(sample):
            exact_low, exact_high = attacker_bounds_exact(knowledge, sample, low, high)
            np.testing.assert_allclose(exact_low[sample], low[sample], atol=1e-6)
            assert protected(
                v[sample], lo[sample], up[sample], exact_low[sample], exact_high[sample]
            ).all()
        checked += len(unsafe)
    assert checked > 3000


def test_the_output_says_no_rule_of_a_single_cell(demo_out):
    for name in LAYERS.values():
        layer = pyogrio.read_dataframe(demo_out / "zicht.gpkg", layer=name, read_geometry=False)
        texts = set(layer["suppression"].dropna())
        assert texts <= {
            "gebiedsregel personen",
            "gebiedsregel bedrijven",
            "onderdrukt",
            "gebiedsregel personen; gebiedsregel bedrijven",
        }, name
    for file in ("hotspots.csv", "report.html"):
        text = (demo_out / file).read_text(encoding="utf-8-sig")
        assert "frequency:" not in text and "secondary:" not in text


def test_area_rule_areas_carry_no_score_class_or_trend(demo_run):
    buurten = demo_run.layers["buurt"]
    small = buurten["suppressed"] == 1
    assert small.sum() == 69
    outputs = [
        c
        for c in buurten.columns
        if c.split("_")[0] in ("risk", "rank", "drivers", "coverage", "hotspot", "lisa", "trend")
    ]
    assert outputs and buurten.loc[small, outputs].isna().all().all()
    assert buurten.loc[small, "drugsveroordeelden"].isna().all()  # person-based
    companies = buurten["suppression"].fillna("").str.contains("gebiedsregel bedrijven")
    assert companies.any() and buurten.loc[companies, "vestigingen_risicobranche"].isna().all()
    assert buurten.loc[companies, "risk_branches"].isna().all()


def test_private_reasons_go_outside_the_output_only(tmp_path, capsys, demo_on_one_wijk):
    out, reasons = tmp_path / "out", tmp_path / "reasons.csv"
    assert (
        main(["--quiet", "demo", "--out", str(out), "--private-reasons", str(out / "reasons.csv")])
        == 2
    )
    assert "inside the output directory" in capsys.readouterr().err and not out.exists()
    assert main(["--quiet", "demo", "--out", str(out), "--private-reasons", str(reasons)]) == 0
    table = pd.read_csv(reasons, sep=";")
    assert {"frequency", "secondary", "area"} <= set(table["reason"])
    assert not any(p.name == "reasons.csv" for p in out.iterdir())


OUTPUT_PREFIXES = (
    "risk_",  # with risk_low_ and risk_high_
    "estimated_",
    "rank_",
    "drivers_",
    "coverage_",
    "hotspot_",
    "lisa_",
    "trend_",
)


def _derived_outputs(out) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in LAYERS.values():
        layer = pyogrio.read_dataframe(out / "zicht.gpkg", layer=name, read_geometry=False)
        tables[name] = layer[[c for c in layer.columns if c.startswith(OUTPUT_PREFIXES)]]
    for table in ("models", "autocorrelation", "branches"):
        tables[table] = pyogrio.read_dataframe(out / "zicht.gpkg", layer=table)
    return tables


def _perturbed_run(monkeypatch, tmp_path, reference, name: str):
    """The demo with withheld true values changed after disclosure control decided:
    every published figure stays the same as in the `reference` run (asserted), anything
    computed from a withheld value changes."""
    withheld = reference.protection.cells
    withheld = withheld[withheld["reason"].isin(PRIMARY_RULES) & (withheld["level"] == "buurt")]
    compute, protect = run_pipeline.compute_indicators, run_pipeline.protect_cells
    seen = {}

    def perturb(config, boundaries):
        result = compute(config, boundaries)
        seen["cells"] = copy.deepcopy(result.cells)
        seen["branches"] = result.branches.copy()
        for indicator in ("hennepkwekerijen", "woningverkopen", "verdachte_transacties"):
            codes = withheld.loc[withheld["indicator"] == indicator, "code"]
            frame = result.cells[indicator].levels["buurt"]
            frame.loc[codes, "value"] = frame.loc[codes, "value"] * 3 + 7
        # and every withheld branche cell
        hidden = reference.protection.branches
        hidden = hidden.loc[hidden["reason"] != "", ["indicator", "level", "code", "sbi"]]
        mine = result.branches.merge(hidden, how="left", indicator=True)["_merge"] == "both"
        result.branches.loc[mine.to_numpy(), "value"] *= 3
        return result

    def protect_as_decided(
        cells, boundaries, config, relations=None, branches=None, threads=1, released=None
    ):
        return protect(
            seen["cells"], boundaries, config, relations, seen["branches"], threads, released
        )

    monkeypatch.setattr(run_pipeline, "compute_indicators", perturb)
    monkeypatch.setattr(run_pipeline, "protect_cells", protect_as_decided)
    result = run(load_config(DEMO_CONFIG), tmp_path / name)
    for level, layer in result.layers.items():
        ids = [
            c
            for c in reference.layers[level].columns
            if c in reference.protection.cells["indicator"].unique()
        ]
        pd.testing.assert_frame_equal(layer[ids], reference.layers[level][ids])
    return result


@pytest.mark.slow
def test_no_published_number_depends_on_a_withheld_value(
    stadsdeel_demo, tmp_path, monkeypatch, demo_on_one_stadsdeel
):
    """On the stadsdeel master (every kind of suppression occurs in it), as its control
    below: there the same perturbation does change the published outputs."""
    withheld = stadsdeel_demo.protection.cells
    withheld = withheld[withheld["reason"].isin(PRIMARY_RULES) & (withheld["level"] == "buurt")]
    perturbed = {"hennepkwekerijen", "woningverkopen", "verdachte_transacties"}
    assert perturbed <= set(withheld["indicator"])  # each perturbation touches cells
    assert (stadsdeel_demo.protection.branches["reason"] != "").any()
    result = _perturbed_run(monkeypatch, tmp_path, stadsdeel_demo, "perturbed")
    before, after = _derived_outputs(stadsdeel_demo.out_dir), _derived_outputs(result.out_dir)
    for name in before:
        pd.testing.assert_frame_equal(after[name], before[name], obj=name)


@pytest.mark.slow
def test_the_invariance_test_can_fail(tmp_path, monkeypatch, demo_on_one_stadsdeel):
    """Give the estimator the true values of withheld cells (as main gave the
    supervised model its true targets): the same perturbation then changes published
    scores, drivers, classes and model metrics. On one stadsdeel: two runs of the whole
    demo would take minutes."""
    estimate, assemble = run_pipeline.estimate_layers, run_pipeline.assemble_layers
    true_values: dict[str, pd.DataFrame] = {}

    def remember(boundaries, cells, config):
        layers = assemble(boundaries, cells, config)
        for level, layer in layers.items():
            true_values[level] = layer.set_index("code")[[d.id for d in config.indicators]]
        return layers

    def with_true_values(layers, indicators, params):
        estimates = estimate(layers, indicators, params)
        for level, found in estimates.items():
            truth = true_values[level].reindex(found.point.index)[found.point.columns]
            found.point[:] = found.point.where(~found.estimated, truth.astype(float))
        return estimates

    monkeypatch.setattr(run_pipeline, "assemble_layers", remember)
    monkeypatch.setattr(run_pipeline, "estimate_layers", with_true_values)
    leaky = run(load_config(DEMO_CONFIG), tmp_path / "leaky")
    perturbed = _perturbed_run(monkeypatch, tmp_path, leaky, "leaky-perturbed")
    before, after = _derived_outputs(leaky.out_dir), _derived_outputs(perturbed.out_dir)
    changed = [name for name in before if not before[name].equals(after[name])]
    assert {"buurten", "models"} <= set(changed)


def test_relations_between_indicators_are_derived_from_the_config():
    from zicht.engine.publish import indicator_relations

    relations = indicator_relations(load_config(DEMO_CONFIG))
    assert set(KNOWN.subsets) <= set(relations.subsets)
    # amounts and counts of one source are not comparable; nothing relates the themes
    assert ("koopsom_rechtspersonen", "woningverkopen") not in relations.subsets
    # new establishments per start year add up to all of them; those in the risk
    # branches are the sum of the branche cells of those nodes (not of the years)
    years = ("gestart_2022", "gestart_2023", "gestart_2024")
    assert relations.sums == (("vestigingen", years),)
    assert [(t, p) for t, p, _ in relations.node_sums] == [
        ("vestigingen_risicobranche", "vestigingen")
    ]


def test_years_in_a_window_are_found_as_sums(tmp_path):
    from zicht.engine.publish import indicator_relations

    base = DEMO_CONFIG.read_text(encoding="utf-8")
    years = "".join(
        f"""
[[indicators]]
id = "incidenten_{y}"
kind = "count"
theme = "drugs"
microdata = "drugsincidenten"
measure = "records"
where = {{ jaar = [{y}] }}
label_nl = "x"
label_en = "x"
"""
        for y in (2022, 2023, 2024)
    )
    window = """
[[indicators]]
id = "incidenten_venster"
kind = "count"
theme = "drugs"
microdata = "drugsincidenten"
measure = "records"
where = { jaar = [2022, 2023, 2024] }
label_nl = "x"
label_en = "x"
"""
    data = DEMO_CONFIG.parent.as_posix()
    base = base.replace(
        'path = "amsterdam_buurten_2024.gpkg"', f'path = "{data}/amsterdam_buurten_2024.gpkg"'
    )
    config_path = tmp_path / "years.toml"
    config_path.write_text(base + years + window, encoding="utf-8")
    relations = indicator_relations(load_config(config_path))
    assert ("incidenten_venster", ("incidenten_2022", "incidenten_2023", "incidenten_2024")) in (
        relations.sums
    )
    assert ("incidenten_2022", "incidenten_venster") in relations.subsets


def test_the_exact_audit_agrees_and_prints_only_its_report(demo_out, capfd):
    assert main(["audit", "--exact", str(demo_out)]) == 0
    out = capfd.readouterr().out  # the C-level output too
    assert "HiGHS linear programs for every withheld cell" in out
    assert "The programs decide it as the rest" in out and "OK: no withheld value" in out
    assert "Running HiGHS" not in out and "Copyright" not in out


def test_a_singleton_insider_pins_nothing(demo_run, demo_out):
    """The one unit behind a withheld cell knows its value: with it, no other unsafe
    cell may be pinned (tau-Argus's singleton protection). Before that protection, this
    attacker found 5 of the demo's withheld singletons pinning 4 cells (a buurt's
    purchase sum of legal persons to within 3,000 by the one buyer in the next buurt, a
    transaction sum, cannabis plantations)."""
    found = insider_exposed(read_layers(demo_out), demo_run.protection.cells)
    assert found.empty, found.head(10).to_string()
