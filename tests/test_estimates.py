"""Estimates of withheld cells from published figures, and scores built on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from zicht.disclosure import Knowledge
from zicht.disclosure.estimate import ratio_interval, top_down
from zicht.disclosure.knowledge import published_interval
from zicht.disclosure.propagation import attacker_bounds
from zicht.engine import load_config
from zicht.engine.data import DEMO_CONFIG
from zicht.models.composite import percentile_against, percentile_score
from zicht.models.supervised import fit_out_of_fold, prediction_range
from zicht.spatial.rates import empirical_bayes, shrinkage


@st.composite
def hierarchies(draw):
    """A two-level tree (root, wijken, buurten) of true counts, with some withheld."""
    n_wijken = draw(st.integers(1, 4))
    sizes = [draw(st.integers(1, 5)) for _ in range(n_wijken)]
    parent = [-1] + [0] * n_wijken
    for w, size in enumerate(sizes):
        parent += [1 + w] * size
    parent = np.array(parent)
    n = len(parent)
    truth = np.zeros(n)
    leaves = np.flatnonzero(np.bincount(parent[parent >= 0], minlength=n) == 0)
    truth[leaves] = draw(st.lists(st.integers(0, 40), min_size=len(leaves), max_size=len(leaves)))
    for w in range(n_wijken, 0, -1):
        truth[w] = truth[parent == w].sum()
    truth[0] = truth[1 : n_wijken + 1].sum()
    withheld = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    withheld[0] = draw(st.booleans())
    exposure = np.array(draw(st.lists(st.floats(0, 1000), min_size=n, max_size=n)))
    return parent, truth, withheld, exposure


@settings(max_examples=150, deadline=None)
@given(hierarchies())
@example(  # subnormal exposures once overflowed, then vanished to a zero weight
    (
        np.array([-1, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2]),
        np.zeros(11),
        np.array([False] * 9 + [True, True]),
        np.array([0.0] * 9 + [2.0, 5e-324]),
    )
)
@example(
    (
        np.array([-1, 0, 0, 0, 0, 1, 2, 3, 4, 4, 4]),
        np.array([1.0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]),
        np.array([False] * 9 + [True, True]),
        np.array([0.0] * 10 + [2.2250738585e-313]),
    )
)
def test_estimates_lie_in_the_outsiders_interval_and_add_up_where_they_can(case):
    parent, truth, withheld, exposure = case
    published = np.where(withheld, np.nan, truth)  # exact publication: rounding 0
    low, high = published_interval(published, 0.0, False, 0)
    k = Knowledge.of_tree(parent, low, high)
    low, high = attacker_bounds(k)
    assert ((low <= truth + 1e-9) & (truth <= high + 1e-9)).all()  # the truth is feasible
    point = top_down(parent, published, low, high, exposure)
    assert not np.isnan(point).any()
    assert ((point >= low - 1e-6) & (point <= high + 1e-6)).all()
    np.testing.assert_array_equal(point[~withheld], truth[~withheld])  # published stay
    for p in np.unique(parent[parent >= 0]):
        kids = parent == p
        # a published parent with withheld children: they share exactly its rest
        if not withheld[p] and withheld[kids].any():
            np.testing.assert_allclose(point[kids].sum(), point[p], atol=1e-6)


def test_the_rest_is_shared_in_proportion_to_exposure_within_bounds():
    parent = np.array([-1, 0, 0, 0, 0])
    published = np.array([100.0, 40.0, np.nan, np.nan, np.nan])
    low = np.array([100.0, 40.0, 0.0, 0.0, 0.0])
    high = np.array([100.0, 40.0, 60.0, 9.0, 60.0])
    exposure = np.array([0.0, 0.0, 100.0, 100.0, 400.0])
    # 60 in 1:1:4 is 10, 10, 40; the second is capped at 9, its 1 goes 1:4 to the others
    np.testing.assert_allclose(
        top_down(parent, published, low, high, exposure), [100, 40, 10.2, 9, 40.8]
    )
    # a near-zero exposure (an estimated 0) gets nothing, and the rest is still exact
    exposure[3] = 1e-60
    point = top_down(parent, published, low, high, exposure)
    assert point[3] == 0.0 and point[2:].sum() == pytest.approx(60.0)


def test_a_withheld_root_gets_the_rate_of_the_coarsest_published_level():
    parent = np.array([-1, 0, 0])
    published = np.array([np.nan, 30.0, np.nan])
    low, high = np.array([30.0, 30.0, 0.0]), np.array([np.inf, 30.0, np.inf])
    exposure = np.array([300.0, 100.0, 200.0])
    point = top_down(parent, published, low, high, exposure)
    assert point[0] == pytest.approx(90.0) and point[2] == pytest.approx(60.0)


def test_ratio_interval_and_shares_of_a_whole():
    low, high = ratio_interval(
        (np.array([2.0, 0.0]), np.array([4.0, 8.0])),
        (np.array([10.0, 0.0]), np.array([20.0, 5.0])),
        100,
        True,
    )
    np.testing.assert_allclose(low, [10.0, 0.0])
    np.testing.assert_allclose(high, [40.0, 100.0])  # a share of a subset never exceeds 100


def test_shrinkage_towards_the_group_rate_with_a_pooled_variance():
    rng = np.random.default_rng(4)
    exposure = pd.Series(rng.integers(5, 3000, 400).astype(float))
    groups = pd.Series(np.repeat([f"WK{i:02d}" for i in range(40)], 10))
    group_rate = pd.Series(rng.gamma(4, 0.01 / 4, 40)).repeat(10).reset_index(drop=True)
    area_rate = group_rate * rng.gamma(8, 1 / 8, 400)  # areas vary around their wijk
    counts = pd.Series(rng.poisson(area_rate * exposure).astype(float))
    reference, weight = shrinkage(counts, exposure, groups)
    by_group = counts.groupby(groups).sum() / exposure.groupby(groups).sum()
    np.testing.assert_allclose(reference, groups.map(by_group))
    assert weight.between(0, 1).all()
    # a small exposure leans on its wijk, a large one on itself
    assert weight[exposure < 50].mean() < weight[exposure > 2000].mean()
    smoothed = empirical_bayes(counts, exposure, groups)
    np.testing.assert_allclose(smoothed, reference + weight * (counts / exposure - reference))
    # areas whose count was estimated do not shape the variance between areas
    observed = pd.Series(np.arange(400) % 2 == 0)
    estimated_as_group_rate = counts.where(observed, groups.map(by_group) * exposure)
    _, w_all = shrinkage(estimated_as_group_rate, exposure, groups)
    _, w_observed = shrinkage(estimated_as_group_rate, exposure, groups, observed)
    assert w_observed.mean() > w_all.mean()


def test_percentile_against_is_the_score_with_one_area_moved():
    raw = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan])
    np.testing.assert_array_equal(percentile_against(raw, raw), percentile_score(raw))
    moved = pd.Series([3.5, 2.0, 0.0, 4.0, np.nan])
    # area 0 at 3.5 is above 2 and 3 (plus itself): 3 of 4; area 2 at 0 is lowest: 1 of 4
    assert percentile_against(moved, raw).tolist()[:4] == [75.0, 50.0, 25.0, 100.0]


def test_a_poisson_model_of_a_rate_does_not_rank_size():
    rng = np.random.default_rng(5)
    n = 400
    X = pd.DataFrame({"x": rng.normal(size=n)}, index=[f"BU{i:08d}" for i in range(n)])
    exposure = pd.Series(rng.integers(50, 5000, n).astype(float), index=X.index)
    rate = np.exp(-5 + 0.8 * X["x"])
    counts = pd.Series(rng.poisson(rate * exposure).astype(float), index=X.index)
    groups = pd.Series(np.arange(n) // 40, index=X.index)
    result = fit_out_of_fold(X, counts / exposure, groups, "ridge", weight=exposure)
    assert "Poisson" in result.model
    # the score follows the rate's driver, not the exposure
    assert np.corrcoef(result.prediction, X["x"])[0, 1] > 0.9
    assert abs(np.corrcoef(result.prediction, exposure)[0, 1]) < 0.2
    # a feature's interval moves the prediction within the range it reports
    low, high = X.copy(), X.copy()
    low.iloc[:5, 0] -= 1.0
    high.iloc[:5, 0] += 1.0
    lowest, highest = prediction_range(result, X, low, high)
    assert (lowest.iloc[:5] < result.prediction.iloc[:5]).all()
    assert (highest.iloc[:5] > result.prediction.iloc[:5]).all()
    np.testing.assert_array_equal(lowest.iloc[5:], result.prediction.iloc[5:])


# --- the demo -------------------------------------------------------------------------

SIZE_LABELS = ("Inwoners", "Particuliere huishoudens", "Oppervlakte land", "Woningen")


def test_demo_scores_cover_the_map_except_under_the_area_rule(demo_run):
    for level in ("buurt", "wijk"):
        layer = demo_run.layers[level]
        persons = layer["suppressed"] == 1
        companies = layer["suppression"].fillna("").str.contains("gebiedsregel bedrijven")
        for theme in ("vastgoed", "drugs", "transacties", "branches"):
            ruled = persons | (companies if theme == "branches" else False)
            risk = layer[f"risk_{theme}"]
            assert risk[~ruled].notna().mean() >= 0.95, (level, theme)
            assert risk[ruled].isna().all(), (level, theme)
            low, high = layer[f"risk_low_{theme}"], layer[f"risk_high_{theme}"]
            scored = risk.notna()
            assert ((low <= risk) & (risk <= high))[scored].all()
            assert set(layer.loc[scored, f"estimated_{theme}"]) <= {0, 1}
            # "geschat" in the drivers only where an input was estimated
            said = layer[f"drivers_{theme}"].fillna("").str.contains(", geschat")
            assert not (said & (layer[f"estimated_{theme}"] != 1)).any()
    buurten = demo_run.layers["buurt"]
    assert (buurten["estimated_vastgoed"] == 1).sum() > 300  # the map is mostly estimated


def test_no_demo_top_ten_is_driven_by_size(demo_run):
    buurten = demo_run.layers["buurt"]
    for theme in ("vastgoed", "drugs", "transacties", "branches"):
        top = buurten.nsmallest(10, f"rank_{theme}")
        first = top[f"drivers_{theme}"].str.split("; ").str[0]
        assert not first.str.startswith(SIZE_LABELS).any(), (theme, list(first))


def test_demo_intervals_hold_the_true_values_and_estimates(demo_run):
    """The outsider's interval of every withheld cell holds its true value (computed
    here from the run's unprotected cells, which never leave the test) and its point
    estimate."""
    from zicht.engine.estimates import estimate_layers
    from zicht.engine.outputs.record import indicator_table
    from zicht.engine.publish import indicator_relations

    config = load_config(DEMO_CONFIG)
    table = indicator_table(demo_run.indicators.cells, config, indicator_relations(config))
    published = {lv: layer.drop(columns="geometry") for lv, layer in demo_run.layers.items()}
    estimates = estimate_layers(
        published, table.set_index("id"), demo_run.protection.params.__dict__
    )
    truth = demo_run.protection.cells.set_index(["indicator", "level", "code"])[
        "value"
    ].sort_index()
    checked = 0
    for level, found in estimates.items():
        for indicator in found.point.columns[found.estimated.any()]:
            if (indicator, level) not in {(i, lv) for i, lv, _ in truth.index}:
                continue
            mine = found.estimated[indicator]
            codes = found.point.index[mine]
            true = truth.loc[indicator, level].reindex(codes).to_numpy(float)
            low, high = found.low.loc[codes, indicator], found.high.loc[codes, indicator]
            point = found.point.loc[codes, indicator]
            defined = ~np.isnan(true)  # a share of nothing has no true value
            inside = (low - 1e-6 <= true) & (true <= high + 1e-6)
            assert inside[defined].all(), (level, indicator)
            assert ((low - 1e-6 <= point) & (point <= high + 1e-6)).all(), (level, indicator)
            checked += len(codes)
    assert checked > 3000
