"""Hotspots calibrated under constant risk: simulated maps on the demo's buurt graph
(shipped in the repo), scored by the run's own analysis (benchmarks/calibration.py
runs the same with more replicates)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmarks.calibration import (
    THEME,
    amsterdam,
    indicator_frame,
    published_analysis,
    published_classes,
    simulate,
    simulation_config,
)
from zicht.models.composite import percentile_score
from zicht.spatial.hotspots import local_statistics
from zicht.spatial.rates import eb_standardised, shrinkage


@pytest.fixture(scope="module")
def buurten():
    return amsterdam()


def _flagged(classes: pd.Series) -> pd.Series:
    label = classes.astype(str)
    return label.str.startswith("hot") | label.str.startswith("cold")


def test_constant_risk_is_not_called_a_hotspot_and_wijk_shrinkage_was(buurten):
    config = simulation_config("rate", buurten.boundaries)
    rng = np.random.default_rng(11)
    published, wijk_shrunk = [], []
    for _ in range(4):
        values = simulate(buurten, "poisson 5", rng)
        published.append(_flagged(published_classes(config, buurten.areas, values)).mean())
        # control: the score before, rates shrunk towards their wijk's rate and the
        # percentile tested: wijk-shaped blocks the permutation test calls clusters
        counts, exposure = values["x"], values["inwoners"].where(values["x"].notna())
        reference, weight = shrinkage(counts, exposure, buurten.areas["wijkcode"])
        smoothed = reference + weight * (counts / exposure - reference)
        _, gi = local_statistics(percentile_score(smoothed), _graph(buurten), 199, seed=3)
        wijk_shrunk.append(_flagged(gi["hotspot"]).mean())
    assert np.mean(published) <= 0.01
    assert np.mean(wijk_shrunk) >= 0.03


def _graph(buurten):
    from zicht.engine.analysis.level import level_weights

    config = simulation_config("rate", buurten.boundaries)
    return level_weights(buurten.areas, config)[0]


def test_a_planted_cluster_is_found_where_it_is_and_its_edge_was_not(buurten):
    from zicht.engine.analysis.evidence import hotspot_values
    from zicht.engine.estimates import LevelEstimates
    from zicht.spatial.hotspots import MAX_PERMUTATIONS, _counts, _neighbours, adjust_pvalues

    config = simulation_config("rate", buurten.boundaries)
    rng = np.random.default_rng(12)
    cluster, near = list(buurten.rings[2]), list(buurten.rings[3])
    edge = list(buurten.rings[2] - buurten.rings[1])  # most of their neighbours outside
    graph = _graph(buurten)
    found, inside, conditional = [], [], []
    for _ in range(8):  # the share found varies from map to map (0.2 to 1)
        values = simulate(buurten, "cluster", rng)
        columns = published_analysis(config, buurten.areas, values).columns
        hot = columns[f"hotspot_{THEME}"].astype(str).str.startswith("hot")
        found.append((hot[cluster].mean(), hot[edge].mean()))
        inside.append(hot[near].sum() / hot.sum())
        # control, the test before: Gi*'s permutations held each area's own value
        # fixed (esda's conditional scheme), so the cluster's edge counted only its
        # neighbours, most of them outside
        tested = hotspot_values(
            config, THEME, indicator_frame(config), LevelEstimates.exact(values)
        )
        tested = tested.dropna()
        counts = _counts(
            tested,
            _neighbours(graph, tested.index).binary(),
            False,
            999,
            config.seed,
            "fdr",
            "adaptive",
            MAX_PERMUTATIONS,
        )
        old = pd.Series(adjust_pvalues(counts.two_sided()) <= 0.10, index=tested.index)
        old &= columns[f"gi_z_{THEME}"].reindex(old.index) > 0
        conditional.append((old[cluster].mean(), old[edge].mean()))
    assert 15 <= len(cluster) <= 21
    found_share, edge_share = np.mean(found, axis=0)
    assert found_share >= 0.7 and edge_share >= 0.5
    assert np.mean(inside) >= 0.8
    assert np.mean(conditional, axis=0)[1] <= edge_share - 0.1


def test_a_model_scored_theme_is_tested_on_its_target_not_its_score(buurten):
    from zicht.engine.analysis.evidence import hotspots_of

    config = simulation_config("model", buurten.boundaries)  # min_skill = -1: always used
    rng = np.random.default_rng(14)
    published, score = [], []
    for _ in range(3):
        analysis = published_analysis(config, buurten.areas, simulate(buurten, "model 5", rng))
        assert THEME in analysis.model_of  # the model scores the theme
        published.append(_flagged(analysis.columns[f"hotspot_{THEME}"]).mean())
        # control: the model's percentile score tested, as before: a surface fitted
        # to noise from the areas' position, smooth in space, is called a cluster
        risk = analysis.columns[f"risk_{THEME}"]
        _, gi = local_statistics(risk, _graph(buurten), 999, seed=config.seed)
        score.append(_flagged(gi["hotspot"]).mean())
    assert np.mean(published) <= 0.01
    assert np.mean(score) >= 0.05
    assert "target x as observed" in hotspots_of(config, {THEME})[THEME]
    assert "inputs" in hotspots_of(config)[THEME]


def test_the_between_area_variance_survives_group_rates_under_constant_risk():
    # Marshall's moment estimate with group references: under constant risk it is 0 in
    # about half the maps (a moment estimate of 0 clipped), not in nearly all of them,
    # as when the global m / n-bar was subtracted from deviations around group rates
    rng = np.random.default_rng(5)
    groups = pd.Series(np.repeat(np.arange(100), 5))
    collapsed = 0
    for _ in range(60):
        exposure = pd.Series(rng.integers(200, 3000, 500).astype(float))
        counts = pd.Series(rng.poisson(5 / exposure.mean() * exposure).astype(float))
        _, weight = shrinkage(counts, exposure, groups)
        collapsed += bool((weight == 0).all())
    assert 0.2 <= collapsed / 60 <= 0.75


def test_eb_standardised_rates_equal_esda_and_have_unit_variance_under_constant_risk():
    from esda.smoothing import assuncao_rate

    rng = np.random.default_rng(6)
    exposure = pd.Series(rng.integers(20, 5000, 400).astype(float))
    varying = pd.Series(rng.poisson(rng.gamma(4, 0.01 / 4, 400) * exposure).astype(float))
    np.testing.assert_allclose(
        eb_standardised(varying, exposure),
        assuncao_rate(varying.to_numpy(), exposure.to_numpy()),
        rtol=1e-10,
    )
    constant = pd.Series(rng.poisson(0.002 * exposure).astype(float))
    z = eb_standardised(constant, exposure)
    crude = constant / exposure
    small = exposure < exposure.median()
    # the spread is the same for small and large exposures; the crude rate's is not
    assert 0.7 < z[small].std() / z[~small].std() < 1.4
    assert crude[small].std() / crude[~small].std() > 2
    assert eb_standardised(pd.Series([1.0, np.nan]), pd.Series([0.0, 10.0])).isna().all()


def _ar1(rng: np.random.Generator, rows: int, years: int, rho: float) -> np.ndarray:
    values = np.empty((rows, years))
    values[:, 0] = rng.normal(size=rows)
    for year in range(1, years):
        values[:, year] = rho * values[:, year - 1] + np.sqrt(1 - rho**2) * rng.normal(size=rows)
    return values


def test_the_trend_test_holds_its_size_under_serial_correlation():
    from zicht.spatial.trends import mann_kendall, mann_kendall_ar1, pooled_autocorrelation

    rng = np.random.default_rng(8)
    series = _ar1(rng, 3000, 5, 0.8)
    rho = pooled_autocorrelation(series)
    assert 0.65 < rho < 0.9  # five values each, but 3,000 areas together
    _, p = mann_kendall_ar1(series, rho, seed=1)
    assert (p <= 0.10).mean() <= 0.12
    # control: the test for independent years rejects far more than its level
    assert (mann_kendall(series)[1] <= 0.10).mean() > 0.2
    # and a real trend is still found
    rising = _ar1(rng, 3000, 5, 0.8) + 0.8 * np.arange(5)
    _, p_rising = mann_kendall_ar1(rising, pooled_autocorrelation(rising), seed=1)
    assert (p_rising <= 0.10).mean() > 0.3


def test_independent_years_keep_the_exact_mann_kendall_test():
    from zicht.spatial.trends import mann_kendall_ar1, pooled_autocorrelation

    rng = np.random.default_rng(9)
    series = rng.normal(size=(3000, 6))
    assert pooled_autocorrelation(series) < 0.1
    s, p = mann_kendall_ar1(series, 0.0, seed=2)
    # six values: |S| = 15 (all in order) has probability 2 / 720
    assert p[np.abs(s) == 15].max() == pytest.approx(2 / 720, abs=0.002)
    assert 0.05 < (p <= 0.10).mean() <= 0.11
    series[0, 2] = np.nan
    assert np.isnan(mann_kendall_ar1(series, 0.0)[1][0])


def test_the_buurt_and_wijk_layers_publish_gi_z_and_corrected_p(demo_run):
    from zicht.spatial.hotspots import hotspot_classes

    for level in ("buurt", "wijk"):
        layer = demo_run.layers[level].set_index("code")
        for theme in ("vastgoed", "transacties"):
            z, p = layer[f"gi_z_{theme}"], layer[f"gi_p_{theme}"]
            classes = layer[f"hotspot_{theme}"]
            tested = classes.notna()
            assert z[tested].notna().all() and p[tested].between(0, 1).all()
            assert z[~tested].isna().all() and p[~tested].isna().all()
            # the class is the one the z-score and corrected p-value give
            again = hotspot_classes(z[tested].to_numpy(), p[tested].to_numpy())
            assert (again == classes[tested].to_numpy()).all()


def test_a_rate_of_counts_is_tested_as_its_eb_standardised_rate(buurten):
    from benchmarks.calibration import THEME, indicator_frame
    from zicht.engine.analysis.evidence import hotspot_values
    from zicht.engine.estimates import LevelEstimates

    config = simulation_config("rate", buurten.boundaries)
    values = simulate(buurten, "poisson 5", np.random.default_rng(13))
    tested = hotspot_values(config, THEME, indicator_frame(config), LevelEstimates.exact(values))
    exposure = values["inwoners"].where(values["x"].notna())
    expected = eb_standardised(values["x"], exposure)
    np.testing.assert_allclose(tested, expected, rtol=1e-9)
    assert tested.notna().sum() == values["x_per_1000"].notna().sum()


def test_gi_star_draws_the_own_value_in_its_permutations():
    from libpysal.graph import Graph
    from libpysal.weights import lat2W

    from zicht.spatial.hotspots import MAX_PERMUTATIONS, _counts, _neighbours, getis_ord
    from zicht.spatial.permutation import permutation_counts, permutation_counts_numpy

    graph = Graph.from_W(lat2W(30, 30, rook=False))
    ids = graph.unique_ids
    y = pd.Series(np.random.default_rng(3).normal(size=len(ids)), index=ids)
    nb = _neighbours(graph, pd.Index(ids)).binary()
    observed = nb.matrix() @ y.to_numpy() + y.to_numpy()
    # the fused kernel counts as the numpy reference under total randomisation too
    values = y.to_numpy()
    fused = permutation_counts(values, nb, 199, 4, observed, False, None, True)
    reference = permutation_counts_numpy(values, nb, 199, 4, observed, False, None, True)
    np.testing.assert_array_equal(fused[0], reference[0])
    np.testing.assert_array_equal(fused[1], reference[1])
    # a 3 x 3 block 3 SD up: its edge cells have most neighbours outside, so their own
    # value is much of their evidence; held fixed (the conditional scheme, before)
    # it counted for nothing
    field = np.random.default_rng(4).normal(size=(30, 30))
    field[14:17, 14:17] += 3.0
    block = pd.Series(field.ravel(), index=ids)
    centre = ids[15 * 30 + 15]
    edge = [ids[r * 30 + c] for r in range(14, 17) for c in range(14, 17)]
    edge.remove(centre)
    gi = getis_ord(block, graph, 999, seed=1)
    conditional = _counts(block, nb, False, 999, 1, "fdr", "adaptive", MAX_PERMUTATIONS)
    before = pd.Series(conditional.two_sided(), index=ids)
    assert np.log10(gi.loc[edge, "p_two_sided"]).sum() < np.log10(before[edge]).sum() - 1
    assert gi.loc[edge, "hotspot"].str.startswith("hot").sum() >= 7
    # on noise, the p-values under total randomisation follow Gi*'s z-score
    noise = getis_ord(y, graph, 999, seed=2)
    normal = 2 * stats.norm.sf(noise["z"].abs())
    assert np.corrcoef(noise["p_two_sided"], normal)[0, 1] > 0.98
