"""How sure a score is: bootstrap intervals that cover the score of the true rates,
rank intervals, the composite's sensitivity, and one method per theme on every level
(a model only where its spatial-CV skill reaches ``models.min_skill``)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.score_quality import simulated_areas, simulated_coverage
from zicht.engine.analysis.uncertainty import sensitivity
from zicht.models.composite import CompositeIndex
from zicht.models.uncertainty import (
    NoisyInput,
    draw_inputs,
    nearest_quantile,
    posterior_rates,
    score_intervals,
    top_kept,
)


@pytest.fixture(scope="module")
def areas() -> pd.DataFrame:
    return simulated_areas()


@pytest.mark.parametrize("expected", [0.5, 5.0, 20.0])
def test_the_published_interval_covers_the_score_of_the_true_rates(areas, expected):
    """Counts drawn from known rates (the demo's inhabitants as exposure): the
    published 90% interval holds the true-rate score for at least 80% of the areas.
    The control: the point score alone (the old zero-width range of a published
    input) almost never equals it."""
    found = simulated_coverage(areas, expected, seed=3, draws=200)
    assert found["coverage"] >= 0.8
    assert found["point_only"] < 0.2
    assert 5 < found["median_width"] < 90
    assert found["median_rank_width"] > 0


def test_intervals_are_reproducible_with_the_seed(areas):
    first = simulated_coverage(areas, 5.0, seed=1, draws=50)
    assert simulated_coverage(areas, 5.0, seed=1, draws=50) == first
    assert simulated_coverage(areas, 5.0, seed=2, draws=50) != first


@pytest.mark.parametrize("method", ["rank", "robust"])
def test_refitted_draws_score_as_fit_then_score(method):
    """The vectorised refit over draws gives what fitting and scoring each draw
    would, missing values and directions included."""
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 1.0, (4, 30, 3))
    values[1, 3, 0] = values[2, 7, 2] = np.nan
    values[:, :5, 1] = np.round(values[:, :5, 1])  # ties
    columns = ["a", "b", "c"]
    index = CompositeIndex(
        directions={"b": "lower"}, weights={"c": 2.0}, method=method, clip=1.5
    ).fit(pd.DataFrame(values[0], columns=columns))
    many = index.refit_scores(values)
    for d in range(len(values)):
        frame = pd.DataFrame(values[d], columns=columns)
        one = CompositeIndex(**index.get_params()).fit(frame).score(frame)
        np.testing.assert_allclose(many[d], one.to_numpy(), atol=1e-12)


def test_a_zero_count_still_leaves_its_rate_uncertain():
    """The empirical-Bayes posterior: a zero count in 1,000 draws rates above zero; a
    share stays within 0 and 1; the mean lies between the area's own rate and the
    overall rate, nearer its own where its exposure is large."""
    rng = np.random.default_rng(5)
    rate = np.tile([0.0, 0.01, 0.004, 0.004, np.nan], (4000, 1))
    exposure = np.array([1000.0, 1000.0, 100.0, 10_000.0, 1000.0])
    drawn = posterior_rates(rng, rate, exposure, binomial=False)
    assert (drawn[:, 0] > 0).all() and np.isnan(drawn[:, 4]).all()
    overall = (10 + 0.4 + 40) / 12_100
    mean = drawn[:, :4].mean(axis=0)
    assert 0 < mean[0] < overall < mean[1] < 0.01
    assert abs(mean[3] - 0.004) < abs(mean[2] - 0.004)
    share = posterior_rates(rng, np.tile([0.9, 1.0], (500, 1)), np.array([10.0, 10.0]), True)
    assert ((share >= 0) & (share <= 1)).all()


def test_an_interval_known_input_is_drawn_inside_it():
    rng = np.random.default_rng(2)
    plain = NoisyInput(np.array([5.0, 5.0]), np.array([2.0, 5.0]), np.array([8.0, 5.0]))
    drawn = draw_inputs([plain], 500, rng)[:, :, 0]
    assert ((drawn[:, 0] >= 2) & (drawn[:, 0] <= 8)).all() and drawn[:, 0].std() > 1
    assert (drawn[:, 1] == 5).all()


def test_score_and_rank_intervals_hold_ninety_percent_of_the_draws():
    rng = np.random.default_rng(4)
    raw = rng.normal(np.arange(40.0), 5.0, (400, 40))
    bounds = score_intervals(raw, pd.RangeIndex(40))
    assert (bounds["rank_low"] <= bounds["rank_high"]).all()
    assert (bounds["risk_low"] <= bounds["risk_high"]).all()
    ranks = pd.DataFrame(raw).rank(axis=1, ascending=False, method="min").to_numpy()
    inside = (ranks >= bounds["rank_low"].to_numpy()) & (ranks <= bounds["rank_high"].to_numpy())
    assert 0.85 <= inside.mean() <= 0.95


def test_sensitivity_tells_which_indicator_the_top_depends_on():
    """Two indicators nearly duplicate each other and a third is independent: leaving
    out one of the pair keeps more of the top 10% than leaving out the independent
    one (the pair still speaks); other weights of identical indicators keep it all."""
    rng = np.random.default_rng(7)
    signal = rng.normal(size=300)
    point = pd.DataFrame(
        {
            "a": signal,
            "b": signal + rng.normal(0, 0.1, 300),
            "noise": rng.normal(size=300),
        }
    )
    index = CompositeIndex().fit(point)
    found = sensitivity(index, point, index.score(point), seed=1)
    left = found["leave_one_out"]
    assert isinstance(left, dict)
    assert left["a"] > left["noise"] and left["b"] > left["noise"]
    assert 0 <= found["least"] <= found["weights"] <= 1
    twins = pd.DataFrame({"a": signal, "b": signal})
    same = CompositeIndex().fit(twins)
    assert sensitivity(same, twins, same.score(twins), seed=1)["weights"] == 1.0
    assert top_kept(pd.Series(signal), pd.Series(-signal)) == 0.0


def test_the_demo_drugs_model_below_min_skill_falls_back_on_every_level(demo_out):
    """The demo's drugs model ranks with 0.29 in spatial CV, below 0.3: drugs is the
    composite on buurt and wijk, says so, and the model's metrics stay in the record."""
    gpkg = demo_out / "zicht.gpkg"
    scores = gpd.read_file(gpkg, layer="scores")
    drugs = scores[scores["thema"] == "drugs"]
    assert set(drugs["methode"]) == {"composiet"}
    assert drugs["score"].str.contains("te zwak").all()
    assert (drugs["modelkwaliteit"] < 0.3).all()
    models = gpd.read_file(gpkg, layer="models")
    assert (models["used"] == 0).all()
    buurten = gpd.read_file(gpkg, layer="buurten")
    scored = buurten["risk_drugs"].notna()
    assert buurten["skill_drugs"].isna().all()
    low, high = buurten["risk_low_drugs"][scored], buurten["risk_high_drugs"][scored]
    risk = buurten["risk_drugs"][scored]
    assert ((low <= risk) & (risk <= high)).all() and (high - low).median() > 5
    rank = buurten["rank_drugs"][scored]
    assert (
        (buurten["rank_low_drugs"][scored] <= rank) & (rank <= buurten["rank_high_drugs"][scored])
    ).all()


def test_a_model_kept_scores_its_theme_on_every_level(tmp_path, demo_on_one_stadsdeel):
    """With ``min_skill = -1`` the drugs model scores buurten and, aggregated, wijken:
    one method, its skill beside the score on both, intervals around score and rank."""
    from zicht.engine import load_config, run
    from zicht.engine.data import DEMO_BOUNDARIES, DEMO_CONFIG

    text = DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace('"amsterdam_buurten_2024.gpkg"', f'"{DEMO_BOUNDARIES.as_posix()}"')
    text = text.replace('method = "rank"', 'method = "rank"\nmin_skill = -1.0\ndraws = 50')
    text = text.replace("min_areas = 30", "min_areas = 10")  # its 12 wijken get scores
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    result = run(load_config(path), tmp_path / "out")
    scores = gpd.read_file(result.out_dir / "zicht.gpkg", layer="scores")
    drugs = scores[scores["thema"] == "drugs"].set_index("niveau")
    assert drugs["methode"].str.startswith("model").all()
    assert "Per wijk" in drugs.at["wijk", "score"]
    for level, layer in result.layers.items():
        if "risk_drugs" not in layer or layer["risk_drugs"].isna().all():
            continue
        scored = layer[layer["risk_drugs"].notna()]
        skill = drugs.at[level, "modelkwaliteit"]
        assert scored["skill_drugs"].nunique(dropna=False) == 1, level
        assert scored["skill_drugs"].iloc[0] == skill or (
            np.isnan(skill) and scored["skill_drugs"].isna().all()
        )
        rank = scored["rank_drugs"]
        assert ((scored["rank_low_drugs"] <= rank) & (rank <= scored["rank_high_drugs"])).all()
        risk = scored["risk_drugs"]
        assert ((scored["risk_low_drugs"] <= risk) & (risk <= scored["risk_high_drugs"])).all()


def test_the_ends_of_a_rank_are_ranks_against_the_others():
    from zicht.models.composite import rank_against, rank_of

    raw = pd.Series([3.0, 1.0, 2.0, 2.0, np.nan], index=list("abcde"))
    assert rank_against(raw, raw).equals(rank_of(raw))
    # b alone at 2.5: only a is above it; a alone at 0: everyone else is above it
    assert rank_against(pd.Series([0.0, 2.5], index=["a", "b"]), raw).tolist() == [4.0, 2.0]


@settings(max_examples=200, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 40), st.integers(1, 12)),
    q=st.sampled_from([0.0, 0.05, 0.25, 0.5, 0.95, 1.0]),
    seed=st.integers(0, 2**32 - 1),
    missing=st.floats(0, 1),
)
def test_nearest_quantile_is_numpys(shape, q, seed, missing):
    """The interval ends come out as numpy's nanquantile (nearest) would give them,
    ties and missing draws included, column by column."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 8, size=shape).astype(float)  # ties, as ranks have
    values[rng.random(shape) < missing] = np.nan
    with warnings.catch_warnings():  # numpy warns of a column without values
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanquantile(values, q, axis=0, method="nearest")
    np.testing.assert_array_equal(nearest_quantile(values, q), expected)


# values with ties, infinities and missing ones: what the rankings must agree on
_RANKED = st.lists(
    st.sampled_from([np.nan, -np.inf, np.inf, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, 3.5]),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(_RANKED, min_size=1, max_size=4), width=st.integers(1, 30))
def test_tie_counts_rank_as_scipy_and_pandas(rows, width):
    """The one-sort ranks of the bootstrap equal scipy's rankdata (average, NaN left
    out) and pandas' rank (max and descending min), the published score's own."""
    from scipy import stats

    from zicht.models.composite import tie_counts
    from zicht.models.uncertainty import percentiles_and_ranks

    raw = np.array([(row * width)[:width] for row in rows])
    missing = np.isnan(raw)
    below, upto = tie_counts(raw, axis=1)
    average = stats.rankdata(raw, axis=1, nan_policy="omit")
    np.testing.assert_array_equal(np.where(missing, np.nan, (below + upto + 1) / 2), average)
    frame = pd.DataFrame(raw).T
    percentile, rank = percentiles_and_ranks(raw)
    expected = (frame.rank(method="max") / frame.notna().sum(axis=0) * 100).T.to_numpy()
    np.testing.assert_array_equal(percentile, expected)
    np.testing.assert_array_equal(rank, frame.rank(method="min", ascending=False).T.to_numpy())


def _top_kept_by_pandas(base: pd.Series, variant: pd.Series, top: float = 0.1) -> float:
    """top_kept as pandas' nlargest computed it (the reference)."""
    both = pd.concat([base, variant], axis=1, keys=["base", "variant"]).dropna()
    size = int(np.ceil(top * len(both)))
    if size == 0:
        return float("nan")
    first = set(both["base"].nlargest(size).index)
    return len(first & set(both["variant"].nlargest(size).index)) / size


@settings(max_examples=200, deadline=None)
@given(
    base=st.lists(st.sampled_from([np.nan, 0.0, 1.0, 2.0, 3.0]), min_size=1, max_size=40),
    seed=st.integers(0, 2**16),
    top=st.sampled_from([0.1, 0.25, 0.5]),
)
def test_top_kept_breaks_ties_as_nlargest(base, seed, top):
    """Ties at the edge of the top go to the area first in ``base``, as nlargest has
    it, whatever the order of ``variant``'s areas and whichever are missing."""
    rng = np.random.default_rng(seed)
    codes = [f"a{i:02d}" for i in range(len(base))]
    first = pd.Series(base, index=codes).dropna()
    variant = pd.Series(rng.integers(0, 3, len(codes)).astype(float), index=codes)
    variant[rng.random(len(codes)) < 0.2] = np.nan
    variant = variant.iloc[rng.permutation(len(codes))]
    found, expected = top_kept(first, variant, top), _top_kept_by_pandas(first, variant, top)
    assert found == expected or (np.isnan(found) and np.isnan(expected))


def test_sensitivity_scores_the_variants_as_refitting_would():
    """A variant of other weights or one indicator fewer is scored from the index's
    own standardised values exactly as a refit of the variant would score it; the
    control: another standardisation does give other scores."""
    rng = np.random.default_rng(3)
    point = pd.DataFrame(rng.gamma(2.0, 1.0, (200, 3)), columns=["a", "b", "c"])
    point.iloc[rng.random(200) < 0.1, 1] = np.nan
    index = CompositeIndex(directions={"b": "lower"}).fit(point)
    own = index.standardise(point)
    for weights in ({"a": 0.7, "b": 1.3, "c": 1.0}, {"a": 1.0, "c": 2.0}):
        columns = list(weights)
        variant = CompositeIndex(
            directions={"b": "lower"} if "b" in weights else {}, weights=weights
        ).fit(point[columns])
        chosen = own[:, [["a", "b", "c"].index(c) for c in columns]]
        pd.testing.assert_series_equal(
            variant.score(point[columns], chosen), variant.score(point[columns])
        )
    robust = CompositeIndex(directions={"b": "lower"}, method="robust").fit(point)
    assert not robust.score(point).equals(index.score(point))


def _refit_by_numpy(index: CompositeIndex, values: np.ndarray) -> np.ndarray:
    """The rank refit as plain numpy writes it (the reference of the compiled one)."""
    from zicht.models.composite import tie_counts

    known = ~np.isnan(values)
    below, upto = tie_counts(values, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = ((below + upto + 1) / 2 - 0.5) / known.sum(axis=1, keepdims=True) - 0.5
        z = np.where(known, z * index.sign_, 0.0)
        available = known * index.weight_
        total = available.sum(axis=2)
        return np.where(total > 0, (z * available).sum(axis=2) / total, np.nan)


@pytest.mark.parametrize("width", [1, 2, 3, 7, 8, 9, 16, 17, 130, 300])
def test_refit_by_ranks_is_numpys_to_the_last_bit(width):
    """The compiled rank refit adds up as numpy does (in order, pairwise from 8
    values, in halves above 128): the same scores bit for bit, so the same intervals."""
    rng = np.random.default_rng(width)
    columns = [f"c{j}" for j in range(width)]
    weights = {c: float(rng.choice([0.0, 1 / 3, 0.5, 1.0, 2.5])) for c in columns}
    weights[columns[0]] = 1.0
    values = rng.gamma(1.0, 1.0, (6, 80, width)) * 10.0 ** rng.integers(-3, 4, (6, 80, width))
    values[rng.random(values.shape) < 0.2] = np.nan
    values[:, :, 0] = np.round(values[:, :, 0], 1)  # ties
    values[:, :3] = np.nan  # areas without any value
    index = CompositeIndex(directions={c: "lower" for c in columns[::2]}, weights=weights)
    index.fit(pd.DataFrame(values[0], columns=columns))
    np.testing.assert_array_equal(index.refit_scores(values), _refit_by_numpy(index, values))
