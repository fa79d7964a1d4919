"""A theme's risk score on one level: its inputs as rates (shrunk where they are
counts), a composite index or a supervised model over them, and the published
columns (risk, its range, rank, drivers)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
from libpysal.graph import Graph

from zicht.engine.analysis.descriptions import (
    TEXT,
    input_label,
    model_description,
)
from zicht.engine.analysis.results import LevelAnalysis, ScoreInputs
from zicht.engine.config import Config, TargetSpec
from zicht.engine.config.references import target_leak
from zicht.engine.estimates import LevelEstimates
from zicht.engine.publish import progress_log
from zicht.models.composite import CompositeIndex, percentile_against, percentile_score, rank_of
from zicht.models.explain import drivers_text
from zicht.models.supervised import ModelResult, fit_out_of_fold, prediction_range, spatial_blocks
from zicht.spatial.rates import shrinkage

log = logging.getLogger("zicht")


def score_inputs(
    ids: list[str],
    indicators: pd.DataFrame,
    estimates: LevelEstimates,
    parents: pd.Series | None,
) -> ScoreInputs:
    """The values a score uses: rates and shares, and counts or sums against their
    ``exposure``, as rates per unit of exposure; rates of counts shrunk towards the
    rate of the area's parent (empirical Bayes, :func:`spatial.rates.shrinkage`);
    other indicators as they are. Intervals go through the same transformation, with
    the shrinkage of the point values."""
    parts = [_rate_input(i, indicators, estimates, parents) for i in ids]
    point, low, high, estimated = (
        pd.concat([p[k] for p in parts], axis=1, keys=ids) for k in range(4)
    )
    return ScoreInputs(point=point, low=low, high=high, estimated=estimated)


def _rate_input(
    indicator_id: str,
    indicators: pd.DataFrame,
    est: LevelEstimates,
    parents: pd.Series | None,
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    spec = indicators.loc[indicator_id]
    if isinstance(spec["numerator"], str) and spec["kind"] in ("rate", "share"):
        per = float(spec["per"]) if pd.notna(spec["per"]) else 1.0
        exposure = est.point[spec["denominator"]]
        crude = est.point[indicator_id] / per
        low, high = est.low[indicator_id] / per, est.high[indicator_id] / per
        counts = indicators.at[spec["numerator"], "kind"] == "count"
        estimated = est.estimated[indicator_id]
    elif spec["kind"] in ("count", "sum") and isinstance(spec["exposure"], str):
        exposure = est.point[spec["exposure"]]
        with np.errstate(divide="ignore", invalid="ignore"):
            crude = (est.point[indicator_id] / exposure).where(exposure > 0)
            low = est.low[indicator_id] / est.high[spec["exposure"]]
            high = (est.high[indicator_id] / est.low[spec["exposure"]]).where(
                est.low[spec["exposure"]] > 0, np.inf
            )
        counts = spec["kind"] == "count"
        estimated = est.estimated[indicator_id] | est.estimated[spec["exposure"]]
    else:
        return (
            est.point[indicator_id],
            est.low[indicator_id],
            est.high[indicator_id],
            est.estimated[indicator_id],
        )
    low, high = low.where(crude.notna()), high.where(crude.notna())
    if counts:
        reference, weight = shrinkage(
            crude * exposure, exposure.where(crude.notna()), parents, ~estimated
        )
        crude, low, high = (
            reference + weight * (x - reference).where(weight > 0, 0.0) for x in (crude, low, high)
        )
    return crude, low, high, estimated & crude.notna()


def composite_theme(config: Config, theme: str, inputs: ScoreInputs, result: LevelAnalysis) -> None:
    """Risk, its range, rank and drivers of a composite theme, into ``result``."""
    columns = result.columns
    directions = {d.id: d.direction for d in config.theme_indicators(theme)}
    index = CompositeIndex(
        directions=directions,
        weights={i: config.models.weights.get(i, 1.0) for i in inputs.point.columns},
        method=config.models.method,
        clip=config.models.clip,
    ).fit(inputs.point)
    coverage = index.coverage(inputs.point)
    raw = index.score(inputs.point).where(coverage >= config.models.min_coverage)
    lower = np.broadcast_to(
        pd.Series(directions).reindex(inputs.point.columns).eq("lower").to_numpy(),
        inputs.point.shape,
    )
    worst = inputs.high.where(~lower, inputs.low)  # the riskier end of every input
    best = inputs.low.where(~lower, inputs.high)
    estimated = (inputs.estimated & inputs.point.notna()).any(axis=1)
    columns[f"coverage_{theme}"] = coverage.round(3)
    _publish_score(
        theme,
        raw,
        index.score(best).where(raw.notna()),
        index.score(worst).where(raw.notna()),
        estimated,
        index.contributions(inputs.point).where(raw.notna(), axis=0),
        inputs.estimated,
        config,
        result,
    )


def _publish_score(
    theme: str,
    raw: pd.Series,
    raw_low: pd.Series,
    raw_high: pd.Series,
    estimated: pd.Series,
    contributions: pd.DataFrame,
    estimated_inputs: pd.DataFrame,
    config: Config,
    result: LevelAnalysis,
) -> None:
    """The score columns of a theme from its raw score and the raw ends of its range."""
    columns = result.columns
    labels = {d.id: input_label(config, d.id) for d in config.indicators}
    columns[f"risk_{theme}"] = percentile_score(raw).round(1)
    # the ends: this area at the safe (risky) end of its inputs' intervals, every other
    # area at its point score
    columns[f"risk_low_{theme}"] = percentile_against(raw_low.fillna(raw), raw).round(1)
    columns[f"risk_high_{theme}"] = percentile_against(raw_high.fillna(raw), raw).round(1)
    columns[f"estimated_{theme}"] = estimated.astype(float).where(raw.notna())
    columns[f"rank_{theme}"] = rank_of(raw)
    known = contributions.dropna(how="all")
    lagged = {
        f"{k}__buren": TEXT[config.language]["nearby"].format(label=v) for k, v in labels.items()
    }
    columns[f"drivers_{theme}"] = drivers_text(
        known, {**labels, **lagged}, estimated_inputs.reindex_like(known), language=config.language
    ).reindex(columns.index)


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
) -> None:
    """Risk of a theme from a supervised model of its target's rate, into ``result``.

    Trained on the published and estimated targets (the metrics on the published
    ones only); an area's score is the out-of-fold prediction, which never uses its
    own target."""
    features = model_features(config, target)
    X = _with_lags(est.point[features], result.graph, target.spatial_lag)
    model = _fit_model(config, target, areas, est, indicators, X)
    result.models[theme] = model
    scored = est.point[features].notna().any(axis=1)
    raw = model.prediction.reindex(areas.index).where(scored)
    low = X.copy()
    high = X.copy()
    low[features], high[features] = est.low[features], est.high[features]
    raw_low, raw_high = prediction_range(model, X, low, high)
    estimated = est.estimated[features].any(axis=1)
    marks = est.estimated[features].reindex(columns=X.columns, fill_value=False)
    _publish_score(
        theme,
        raw,
        raw_low,
        raw_high,
        estimated,
        model.contributions.reindex(areas.index).where(scored, axis=0),
        marks,
        config,
        result,
    )
    result.descriptions[theme] = model_description(config, target, indicators, model, features)


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
        "model %s (%s): spatial-CV R2 %.2f, random-CV R2 %.2f",
        target.theme,
        model.model,
        model.metrics.loc["spatial CV", "r2"],
        model.metrics.loc["random CV", "r2"],
    )
    return model
