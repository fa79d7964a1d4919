"""Risk scores, hotspots and trends per theme and level: wiring of models/ and spatial/.

Everything here is computed from what the run publishes and what an outsider can
derive from it (:mod:`engine.estimates`): published values, and for withheld cells
an estimate and an interval. Per level with at least ``spatial.min_areas`` areas:

- ``risk_<theme>``: 0-100, the area's percentile within the region; from the
  supervised model's out-of-fold prediction where the theme names a target (finest
  level only), else from the composite index of the theme's risk indicators. Counts
  enter as rates against their exposure, shrunk towards the parent area's rate
  (empirical Bayes), so a score ranks risk, not size;
- ``risk_low_<theme>``/``risk_high_<theme>``: the area's percentile when its inputs
  run over what an outsider knows of them (the intervals of estimated and rounded
  inputs), every other area at its point score; ``estimated_<theme>``: 1 where an
  input was estimated;
- ``rank_<theme>`` (1 = highest risk), ``drivers_<theme>`` (top 3 signed
  contributions, in words, "geschat" where estimated) and ``coverage_<theme>``
  (share of indicator weight available);
- ``hotspot_<theme>`` (Gi* class) and ``lisa_<theme>`` (LISA cluster) of the risk;
- ``trend_<id>`` (emerging hot spot category) on the finest level for each trend.

Areas under an area rule get none of these and stay out of every fit, reference
rate and weight. Global Moran's I of every indicator and risk score goes into a table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from libpysal.graph import Graph

from zicht.engine.config import Config, TargetSpec
from zicht.engine.estimates import LevelEstimates
from zicht.engine.publish import progress_log
from zicht.engine.themes import theme_output_columns
from zicht.models.composite import CompositeIndex, percentile_against, percentile_score, rank_of
from zicht.models.explain import drivers_text
from zicht.models.supervised import ModelResult, fit_out_of_fold, prediction_range, spatial_blocks
from zicht.spatial.hotspots import global_moran, local_statistics
from zicht.spatial.rates import shrinkage
from zicht.spatial.trends import emerging_hotspots
from zicht.spatial.weights import distance_band, knn, queen_with_islands

log = logging.getLogger("zicht")
PARENT_OF = {"buurt": "wijkcode", "wijk": "gemeentecode"}


@dataclass
class LevelAnalysis:
    """Everything computed on one level: new columns and what the report needs."""

    columns: pd.DataFrame
    graph: Graph | None = None
    models: dict[str, ModelResult] = field(default_factory=dict)
    islands: list[str] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)  # theme -> how it is made


@dataclass
class ScoreInputs:
    """A score's inputs per area (rows) and indicator (columns): the value used, the
    ends of what an outsider knows of it, and whether it was estimated."""

    point: pd.DataFrame
    low: pd.DataFrame
    high: pd.DataFrame
    estimated: pd.DataFrame


def level_weights(areas: gpd.GeoDataFrame, config: Config) -> tuple[Graph, list[str]]:
    """The configured weights for a level, and the islands that were joined."""
    spec = config.spatial
    if spec.weights == "knn":
        return knn(areas, k=min(spec.k, len(areas) - 1)), []
    if spec.weights == "distance":
        return distance_band(areas, spec.threshold), []
    contiguity = queen_with_islands(areas, spec.islands_k)
    return contiguity.graph, contiguity.islands


def analyse_level(
    config: Config,
    level: str,
    areas: gpd.GeoDataFrame,
    estimates: LevelEstimates,
    indicators: pd.DataFrame,
    finest: bool,
    excluded: pd.DataFrame | None = None,
) -> LevelAnalysis:
    """Scores, drivers, hotspots and trends for the areas of one level.

    ``estimates`` holds, per area code and indicator id, the published value or the
    estimate from published figures (:func:`engine.estimates.estimate_layers`) with
    its interval: no score depends on a withheld value. ``indicators`` is the
    published ``indicators`` table (kinds, parts, exposures). ``excluded`` (per area
    code: ``persons``, and per theme) marks areas under an area rule: they get no
    score, rank, driver, class or trend of that theme (``persons``: of any), and stay
    out of every fit and of their neighbours' weights.
    """
    spec = config.spatial
    result = LevelAnalysis(pd.DataFrame(index=areas.index))
    if len(areas) < spec.min_areas:
        log.info(
            "%s: %d areas, fewer than spatial.min_areas=%d: no scores or hotspots",
            level,
            len(areas),
            spec.min_areas,
        )
        return result
    result.graph, result.islands = level_weights(areas, config)
    estimates = estimates.reindex(areas.index)
    targets = {t.theme: t for t in config.models.targets}
    persons = _rule(excluded, "persons", areas.index)
    parents = areas[PARENT_OF[level]] if level in PARENT_OF else None
    themes = config.scored_themes
    progress = progress_log("analysis {level}: {theme} ({k} of {n} themes{left})", level=level)
    for k, theme in enumerate(themes, start=1):
        progress(k, len(themes), theme=theme)
        target = targets.get(theme) if finest else None
        out = persons | _rule(excluded, theme, areas.index)
        known = estimates.without(out)
        if target is not None:
            _model_theme(config, theme, target, areas, known, indicators, result)
        else:
            ids = [d.id for d in config.theme_indicators(theme)]
            inputs = score_inputs(ids, indicators, known, parents)
            _composite_theme(config, theme, inputs, result)
            result.descriptions[theme] = _composite_description(config, theme, indicators)
        _classes(config, theme, areas, result)
        shown = [c for c in theme_output_columns(theme) if c in result.columns]
        result.columns.loc[out.to_numpy(), shown] = np.nan
    if finest:
        _trends(config, estimates.without(persons).point, result)
    return result


def _rule(excluded: pd.DataFrame | None, name: str, index: pd.Index) -> pd.Series:
    """The areas an area rule takes out (``persons``, or a theme's own column)."""
    if excluded is None or name not in excluded:
        return pd.Series(False, index=index)
    return excluded[name].reindex(index).fillna(False).astype(bool)


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
    return ScoreInputs(*(pd.concat([p[k] for p in parts], axis=1, keys=ids) for k in range(4)))


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


def _composite_theme(
    config: Config, theme: str, inputs: ScoreInputs, result: LevelAnalysis
) -> None:
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
    labels = {d.id: _input_label(config, d.id) for d in config.indicators}
    columns[f"risk_{theme}"] = percentile_score(raw).round(1)
    # the ends: this area at the safe (risky) end of its inputs' intervals, every other
    # area at its point score
    columns[f"risk_low_{theme}"] = percentile_against(raw_low.fillna(raw), raw).round(1)
    columns[f"risk_high_{theme}"] = percentile_against(raw_high.fillna(raw), raw).round(1)
    columns[f"estimated_{theme}"] = estimated.astype(float).where(raw.notna())
    columns[f"rank_{theme}"] = rank_of(raw)
    known = contributions.dropna(how="all")
    lagged = {
        f"{k}__buren": _TEXT[config.language]["nearby"].format(label=v) for k, v in labels.items()
    }
    columns[f"drivers_{theme}"] = drivers_text(
        known, {**labels, **lagged}, estimated_inputs.reindex_like(known), language=config.language
    ).reindex(columns.index)


def _classes(config: Config, theme: str, areas: gpd.GeoDataFrame, result: LevelAnalysis) -> None:
    """Hotspot (Gi*) and LISA classes of a theme's point score, into ``result``."""
    spec, columns = config.spatial, result.columns
    risk = columns[f"risk_{theme}"]
    if risk.notna().sum() < spec.min_areas:
        log.info("%s: fewer than %d areas with a score: no hotspots", theme, spec.min_areas)
        columns[f"hotspot_{theme}"] = columns[f"lisa_{theme}"] = None
        return
    assert result.graph is not None
    # areas without a score are left out of the weights by spatial.hotspots itself
    lisa, gi = local_statistics(
        risk,
        result.graph,
        spec.permutations,
        config.seed,
        spec.correction,
        spec.alpha,
        spec.inference,
        spec.max_permutations,
    )
    columns[f"hotspot_{theme}"] = gi["hotspot"].reindex(areas.index)
    columns[f"lisa_{theme}"] = lisa["cluster"].reindex(areas.index)


def _trends(config: Config, values: pd.DataFrame, result: LevelAnalysis) -> None:
    """Emerging hot spot categories of every configured trend, into ``result``."""
    spec = config.spatial
    for trend in config.trends:
        complete = values[list(trend.indicators)].dropna()
        if len(complete) < spec.min_areas:
            continue
        emerging = emerging_hotspots(
            complete,
            result.graph,
            spec.permutations,
            config.seed,
            spec.correction,
            trend.alpha,
            spec.inference,
            spec.max_permutations,
        )
        result.columns[f"trend_{trend.id}"] = emerging["category"].reindex(result.columns.index)


def autocorrelation_rows(
    level: str, layer: pd.DataFrame, graph: Graph | None, config: Config
) -> list[dict]:
    """Global Moran's I of every numeric published column (indicators, risk scores).

    Computed on the published values only: with every other value known, Moran's I
    is a quadratic equation in a withheld one.
    """
    if graph is None:
        return []
    table = layer.set_index("code")
    names = [d.id for d in config.indicators] + [
        f"risk_{t}" for t in config.scored_themes if f"risk_{t}" in table.columns
    ]
    return [
        _moran_row(level, name, pd.to_numeric(table[name], errors="coerce"), graph, config)
        for name in names
    ]


def _moran_row(level: str, name: str, values: pd.Series, graph: Graph, config: Config) -> dict:
    known = values.dropna()
    if len(known) < config.spatial.min_areas or known.nunique() < 2:
        return {"level": level, "indicator": name, "moran_i": None, "p": None, "areas": len(known)}
    moran = global_moran(known, graph, permutations=config.spatial.permutations, seed=config.seed)
    return {
        "level": level,
        "indicator": name,
        "moran_i": round(moran.I, 4),
        "p": round(moran.p, 4),
        "areas": moran.n,
    }


def _features(config: Config, target: TargetSpec) -> list[str]:
    """The model's features: as configured, else every context (theme-less) indicator
    that is not a count or sum (those measure size) unless ``size_features``."""
    if target.features:
        return list(target.features)
    return [
        d.id
        for d in config.indicators
        if d.theme == "none"
        and d.id != target.target
        and (target.size_features or d.kind not in ("count", "sum"))
    ]


def _model_theme(
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
    features = _features(config, target)
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
    result.descriptions[theme] = _model_description(config, target, indicators, model)


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


_TEXT = {
    "nl": {
        "against": "{label} t.o.v. {exposure}",
        "nearby": "{label} (in de buurt)",
        "lower": " (lager is riskanter)",
        "rank": "rangschikking",
        "robust": "robuuste z-waarden",
        "composite": "Samengestelde index ({method}) van: {parts}. Aantallen tellen als "
        "verhouding tot hun noemer, naar het cijfer van de wijk of gemeente getrokken waar "
        "die noemer klein is (empirisch Bayes). Onderdrukte cijfers zijn geschat uit "
        "gepubliceerde cijfers.",
        "lag": " en hun gemiddelde in de buurt",
        "model": "Model {model}: verwacht aantal {target} per 1.000 {exposure}, voorspeld uit "
        "{features}{lag}. Getraind op gepubliceerde en geschatte aantallen, gevalideerd per "
        "{folds} op de gepubliceerde; de score van een gebied komt van een model dat zijn "
        "eigen aantal niet zag.",
        "wijk": "wijk",
        "gemeente": "gemeente",
        "blocks": "ruimtelijk blok",
    },
    "en": {
        "against": "{label} relative to {exposure}",
        "nearby": "{label} (nearby)",
        "lower": " (lower is riskier)",
        "rank": "ranks",
        "robust": "robust z-scores",
        "composite": "Composite index ({method}) of: {parts}. Counts enter relative to their "
        "denominator, drawn towards the wijk or gemeente figure where that denominator is "
        "small (empirical Bayes). Withheld figures are estimated from published figures.",
        "lag": " and their mean nearby",
        "model": "Model {model}: expected number of {target} per 1,000 {exposure}, predicted "
        "from {features}{lag}. Trained on published and estimated counts, validated per "
        "{folds} on the published ones; an area's score comes from a model that did not "
        "see its own count.",
        "wijk": "wijk",
        "gemeente": "gemeente",
        "blocks": "spatial block",
    },
}


def _label(config: Config, indicator_id: str) -> str:
    d = config.indicator(indicator_id)
    return d.label(config.language)


def _input_label(config: Config, indicator_id: str) -> str:
    """An indicator's label as a score input, in the run's language: a count or sum
    with an exposure is measured against it."""
    d = config.indicator(indicator_id)
    if d.kind in ("count", "sum") and d.exposure and d.direction != "none":
        text = _TEXT[config.language]["against"]
        return text.format(label=_label(config, d.id), exposure=_label(config, d.exposure).lower())
    return _label(config, d.id)


def _composite_description(config: Config, theme: str, indicators: pd.DataFrame) -> str:
    """How a composite theme's score is made, in the run's language."""
    text = _TEXT[config.language]
    parts = []
    for d in config.theme_indicators(theme):
        parts.append(_input_label(config, d.id) + (text["lower"] if d.direction == "lower" else ""))
    method = text["rank"] if config.models.method == "rank" else text["robust"]
    return text["composite"].format(method=method, parts="; ".join(parts))


def _model_description(
    config: Config, target: TargetSpec, indicators: pd.DataFrame, model: ModelResult
) -> str:
    """How a model theme's score is made, in the run's language."""
    text = _TEXT[config.language]
    return text["model"].format(
        model=model.model,
        target=_label(config, target.target).lower(),
        exposure=_label(config, indicators.at[target.target, "exposure"]).lower(),
        features=", ".join(_label(config, f).lower() for f in _features(config, target)),
        lag=text["lag"] if target.spatial_lag else "",
        folds=text[target.groups],
    )
