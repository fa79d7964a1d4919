"""models/: composite index, spatial cross-validation, explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neighbors import KNeighborsRegressor

from zicht.models.composite import CompositeIndex, percentile_score, rank_of
from zicht.models.explain import driver_sentence, drivers_text
from zicht.models.supervised import fit_out_of_fold, spatial_blocks


def _frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {"a": rng.lognormal(size=n), "b": rng.normal(size=n), "c": rng.poisson(3, n).astype(float)},
        index=[f"BU{i:08d}" for i in range(n)],
    )
    return X


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 1000), power=st.floats(0.2, 3.0))
def test_rank_composite_is_invariant_to_monotone_transforms(seed, power):
    X = _frame(50, seed)
    X.iloc[::7, 1] = np.nan
    transformed = X.copy()
    transformed["a"] = np.log(X["a"]) * 3 + 10  # increasing
    transformed["c"] = X["c"] ** power  # increasing on non-negative values
    directions = {"a": "higher", "b": "lower", "c": "higher"}
    before = CompositeIndex(directions).fit(X).score(X)
    after = CompositeIndex(directions).fit(transformed).score(transformed)
    pd.testing.assert_series_equal(before, after)


def test_missing_indicator_is_not_a_zero_and_contributions_add_up():
    X = _frame(30)
    X.loc["BU00000003", "a"] = np.nan
    index = CompositeIndex({"b": "lower"}, weights={"a": 2.0}).fit(X)
    contributions = index.contributions(X)
    np.testing.assert_allclose(contributions.sum(axis=1), index.score(X))
    assert index.coverage(X)["BU00000003"] == pytest.approx(2 / 4)
    assert contributions.loc["BU00000003", "a"] == 0
    # the score uses the available indicators only: their weighted mean
    standardised = index.transform(X).loc["BU00000003"]
    assert index.score(X)["BU00000003"] == pytest.approx(standardised[["b", "c"]].mean())
    X_all_missing = X.copy()
    X_all_missing.loc["BU00000004"] = np.nan
    assert np.isnan(index.score(X_all_missing)["BU00000004"])


def test_robust_standardisation_is_winsorised():
    X = pd.DataFrame({"a": [1.0, 2, 3, 4, 1000]})
    z = CompositeIndex(method="robust", clip=3).fit(X).transform(X)["a"]
    assert z.max() == 3 and z.iloc[2] == 0


def test_bad_parameters_are_refused():
    X = _frame(10)
    with pytest.raises(ValueError, match="unknown column 'zz'"):
        CompositeIndex({"zz": "higher"}).fit(X)
    with pytest.raises(ValueError, match="method must be one of"):
        CompositeIndex(method="mean").fit(X)


def test_percentile_and_rank():
    raw = pd.Series([0.1, 0.5, np.nan, 0.3], index=list("wxyz"))
    assert percentile_score(raw).tolist()[:2] == [pytest.approx(100 / 3), 100.0]
    assert rank_of(raw).tolist()[:2] == [3.0, 1.0] and np.isnan(rank_of(raw)["y"])


def test_no_area_is_scored_by_a_model_that_saw_its_label():
    n = 120
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"id": np.arange(n, dtype=float)}, index=[f"a{i}" for i in range(n)])
    y = pd.Series(rng.normal(size=n), index=X.index)
    groups = pd.Series(np.repeat(np.arange(12), 10), index=X.index)
    # a 1-nearest-neighbour model on the id returns the label of a training row exactly
    memoriser = KNeighborsRegressor(n_neighbors=1)
    result = fit_out_of_fold(X, y, groups, memoriser)
    assert (result.prediction != y).all()
    # and whole groups are held out together
    assert (result.fold.groupby(groups).nunique() == 1).all()
    assert set(result.fold) == set(range(5))
    assert (
        result.contributions.isna().all().all() and "no per-area contributions" in result.notes[0]
    )


@pytest.mark.parametrize("model", ["ridge", "hgb"])
def test_contributions_add_up_to_the_prediction(model):
    X = _frame(300, 3)
    X.iloc[::11, 0] = np.nan
    y = 2 * X["b"] + np.log1p(X["c"]) + np.random.default_rng(0).normal(0, 0.1, 300)
    groups = pd.Series(np.arange(300) // 30, index=X.index)
    result = fit_out_of_fold(X, y, groups, model, population=X["c"], previous=y * 0.9)
    total = result.contributions.sum(axis=1) + result.base
    np.testing.assert_allclose(total, result.prediction, atol=1e-6)
    assert result.importance.index[0] == "b"
    assert {
        "spatial CV",
        "random CV",
        "baseline: population only",
        "baseline: previous year",
    } == set(result.metrics.index)
    assert len(result.calibration) == 10


def test_spatial_cv_exposes_leakage_random_cv_hides():
    # a target that is a smooth spatial field plus noise, with a useless feature:
    # neighbours share their field value, so random CV "learns" it through x and y
    rng = np.random.default_rng(0)
    side = 30
    x, yy = np.meshgrid(np.arange(side), np.arange(side))
    field_ = np.sin(x / 4) + np.cos(yy / 5)
    X = pd.DataFrame({"x": x.ravel() * 100.0, "y": yy.ravel() * 100.0})
    target = pd.Series(field_.ravel() + rng.normal(0, 0.3, side * side))
    groups = pd.Series(spatial_blocks(X["x"], X["y"], 1000))
    result = fit_out_of_fold(X, target, groups, "hgb")
    assert result.metrics.loc["random CV", "r2"] > result.metrics.loc["spatial CV", "r2"] + 0.1


def test_drivers_in_words():
    c = pd.DataFrame({"a": [0.3], "b": [-0.2], "c": [0.0]}, index=["x"])
    labels = {"a": "veel verkopen", "b": "weinig koopwoningen"}
    assert drivers_text(c, labels)["x"] == "veel verkopen (+0,30); weinig koopwoningen (-0,20)"
    text = drivers_text(c, labels)["x"]
    assert driver_sentence(text) == "Hoger door: veel verkopen. Lager door: weinig koopwoningen."
    three = "a (+0.30); b (+0.20); c (-0.10)"
    assert driver_sentence(three) == "Hoger door: a en b. Lager door: c."
    assert driver_sentence(None) == "-"
    # a decimal comma in Dutch, a point in English; the labels keep their own dots
    dotted = drivers_text(c, {"a": "verkopen t.o.v. woningen"})["x"]
    assert dotted.startswith("verkopen t.o.v. woningen (+0,30)")
    assert drivers_text(c, labels, language="en")["x"].endswith("(-0.20)")
