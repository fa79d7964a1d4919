"""A theme scored by a supervised model, one method on every level: fitted on the
finest level, used only where its rank correlation in spatial cross-validation
reaches ``models.min_skill`` (else the theme is the composite index everywhere), and
on coarser levels the exposure-weighted mean of the expected rates of the finest
areas inside (the expected count of the area over its exposure)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
from libpysal.graph import Graph

from zicht.engine.analysis.descriptions import model_description
from zicht.engine.analysis.results import LevelAnalysis, ModelScores
from zicht.engine.analysis.scores import RawScore, publish_score
from zicht.engine.analysis.uncertainty import bootstrap_draws
from zicht.engine.config import Config, TargetSpec
from zicht.engine.config.references import target_leak
from zicht.engine.estimates import LevelEstimates
from zicht.engine.publish import progress_log
from zicht.models.supervised import (
    ModelResult,
    fit_out_of_fold,
    predict_by_fold,
    prediction_range,
    spatial_blocks,
)
from zicht.models.uncertainty import score_intervals

log = logging.getLogger("zicht")


def model_features(config: Config, target: TargetSpec) -> list[str]:
    """The model's features: as configured, else every context (theme-less) indicator
    that is not a count or sum (those measure size) unless ``size_features``, and that
    does not carry the target (:func:`engine.config.references.target_leak`)."""
    if target.features:
        return list(target.features)
    return [
        d.id
        for d in config.indicators
        if d.theme == "none"
        and d.id != target.target
        and (target.size_features or d.kind not in ("count", "sum"))
        and target_leak(config, target.target, d.id) is None
    ]


def model_theme(
    config: Config,
    theme: str,
    target: TargetSpec,
    areas: gpd.GeoDataFrame,
    est: LevelEstimates,
    indicators: pd.DataFrame,
    result: LevelAnalysis,
) -> bool:
    """Risk of a theme from a supervised model of its target's rate, into ``result``;
    False (and nothing published) where the model's spatial-CV rank correlation is
    below ``models.min_skill``: the caller scores the composite instead.

    Trained on the published and estimated targets (the metrics on the published
    ones only); an area's score is the out-of-fold prediction, which never uses its
    own target. The bootstrap draws the features again and predicts them with the
    fold models."""
    features = model_features(config, target)
    X = _with_lags(est.point[features], result.graph, target.spatial_lag)
    model = _fit_model(config, target, areas, est, indicators, X)
    skill = float(model.metrics.loc["spatial CV", "spearman"])
    result.skill[theme] = skill
    # NaN (no rank correlation: too few published targets) fails unless -1 ("always")
    if not (skill >= config.models.min_skill or config.models.min_skill <= -1):
        log.info("model %s: skill %.2f below models.min_skill: composite", theme, skill)
        result.rejected[theme] = model
        return False
    result.models[theme] = model
    scored = est.point[features].notna().any(axis=1)
    raw = model.prediction.reindex(areas.index).where(scored)
    low, high = X.copy(), X.copy()
    low[features], high[features] = est.low[features], est.high[features]
    raw_low, raw_high = prediction_range(model, X, low, high)
    draws = _model_draws(config, model, target, est, indicators, result.graph, scored)
    exposure = est.point[indicators.at[target.target, "exposure"]]
    frame = pd.DataFrame({"rate": raw, "low": raw_low, "high": raw_high, "exposure": exposure})
    frame["estimated"] = est.estimated[features].any(axis=1)
    for column in ("wijkcode", "gemeentecode"):
        if column in areas:
            frame[column] = areas[column]
    contributions = model.contributions.reindex(areas.index).where(scored, axis=0)
    result.expected[theme] = ModelScores(frame=frame, contributions=contributions, draws=draws)
    result.model_of[theme] = model.model
    marks = est.estimated[features].reindex(columns=X.columns, fill_value=False)
    publish_score(
        theme,
        RawScore(raw, raw_low, raw_high),
        None if draws is None else score_intervals(draws, areas.index),
        frame["estimated"],
        contributions,
        marks,
        config,
        result,
        skill,
    )
    result.descriptions[theme] = model_description(config, target, indicators, model, features)
    return True


def _model_draws(
    config: Config,
    model: ModelResult,
    target: TargetSpec,
    est: LevelEstimates,
    indicators: pd.DataFrame,
    graph: Graph | None,
    scored: pd.Series,
) -> np.ndarray | None:
    """Bootstrap draws of a model's expected rate (draws x areas): the features drawn
    again and predicted by the fold models (None without draws)."""
    if not config.models.draws or scored.sum() < 2:
        return None
    features = model_features(config, target)

    def rebuild(drawn: LevelEstimates) -> pd.Series:
        lagged = _with_lags(drawn.point[features], graph, target.spatial_lag)
        return predict_by_fold(model, lagged).where(scored)

    rng = np.random.default_rng(config.seed)
    return bootstrap_draws(est, indicators, features, rebuild, config.models.draws, rng)


def aggregated_theme(
    config: Config,
    theme: str,
    finer: LevelAnalysis,
    level: str,
    areas: gpd.GeoDataFrame,
    result: LevelAnalysis,
) -> None:
    """A model theme on a coarser ``level``: per area, the exposure-weighted mean of
    the expected rates of the finest areas inside (so its expected count over its
    exposure), of the ends of their ranges and of every bootstrap draw."""
    scores = finer.expected[theme]
    frame = scores.frame
    codes = pd.Categorical(frame[f"{level}code"], categories=areas.index)
    weight = frame["exposure"].where(frame["rate"].notna()).fillna(0.0).to_numpy()

    def mean(values: np.ndarray) -> np.ndarray:
        known = np.isfinite(values) & (codes.codes >= 0)
        w = np.where(known, weight, 0.0)
        numerator = np.bincount(codes.codes[known], (values * w)[known], len(areas))
        total = np.bincount(codes.codes[known], w[known], len(areas))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total > 0, numerator / total, np.nan)

    raw = RawScore(
        *(
            pd.Series(mean(frame[c].to_numpy(float)), index=areas.index)
            for c in ("rate", "low", "high")
        )
    )
    contributions = pd.DataFrame(
        {c: mean(scores.contributions[c].to_numpy(float)) for c in scores.contributions},
        index=areas.index,
    ).where(raw.point.notna(), axis=0)
    drawn = None
    if scores.draws is not None:
        drawn = score_intervals(np.vstack([mean(d) for d in scores.draws]), areas.index)
    estimated = frame["estimated"].astype(float).groupby(frame[f"{level}code"]).max()
    skill = result.skill[theme] = finer.skill[theme]
    result.model_of[theme] = finer.model_of[theme]
    publish_score(
        theme,
        raw,
        drawn,
        estimated.reindex(areas.index).fillna(0.0).astype(bool),
        contributions,
        pd.DataFrame(False, index=contributions.index, columns=contributions.columns),
        config,
        result,
        skill,
    )


def _with_lags(X: pd.DataFrame, graph: Graph | None, spatial_lag: bool) -> pd.DataFrame:
    """The features, and with ``spatial_lag`` their mean over each area's neighbours."""
    if not spatial_lag or graph is None:
        return X
    W = graph.transform("r").sparse
    order = pd.Index(graph.unique_ids)
    filled = X.reindex(order).fillna(X.median())
    lagged = pd.DataFrame(W @ filled.to_numpy(), index=order, columns=X.columns)
    return X.join(lagged.reindex(X.index).add_suffix("__buren"))


def _fit_model(
    config: Config,
    target: TargetSpec,
    areas: gpd.GeoDataFrame,
    est: LevelEstimates,
    indicators: pd.DataFrame,
    X: pd.DataFrame,
) -> ModelResult:
    exposure = est.point[indicators.at[target.target, "exposure"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        # per 1,000 of the exposure: readable predictions and metrics
        rate = (est.point[target.target] / exposure * 1000).where(exposure > 0)
    if target.groups == "blocks":
        centroids = areas.geometry.centroid
        groups = pd.Series(
            spatial_blocks(centroids.x, centroids.y, target.block_size), index=areas.index
        )
    else:
        groups = areas[f"{target.groups}code"]
    model = fit_out_of_fold(
        X,
        rate,
        groups,
        target.model,
        seed=config.seed,
        population=est.point[target.population] if target.population else None,
        previous=est.point[target.previous] / exposure * 1000 if target.previous else None,
        weight=exposure.where(rate.notna()),
        evaluate=~est.estimated[target.target],
        progress=progress_log(what=f"model {target.theme}: fit"),
    )
    # published as a percentile, rank and classes only; metrics rounded
    model.metrics = model.metrics.round(3)
    log.info(
        "model %s (%s): spatial-CV R2 %.2f, rank correlation %.2f, random-CV R2 %.2f",
        target.theme,
        model.model,
        model.metrics.loc["spatial CV", "r2"],
        model.metrics.loc["spatial CV", "spearman"],
        model.metrics.loc["random CV", "r2"],
    )
    return model
