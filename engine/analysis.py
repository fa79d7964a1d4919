"""Risk scores, hotspots and trends per theme and level: wiring of models/ and spatial/.

Per level with at least ``spatial.min_areas`` areas:

- ``risk_<theme>``: 0-100, the area's percentile within the region; from the
  supervised model's out-of-fold prediction where the theme names a target (finest
  level only), else from the composite index of the theme's risk indicators;
- ``rank_<theme>`` (1 = highest risk), ``drivers_<theme>`` (top 3 signed
  contributions, in words) and ``coverage_<theme>`` (share of indicator weight
  available);
- ``hotspot_<theme>`` (Gi* class) and ``lisa_<theme>`` (LISA cluster) of the risk;
- ``trend_<id>`` (emerging hot spot category) on the finest level for each trend.

Global Moran's I of every indicator and risk score goes into a table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from libpysal.graph import Graph

from engine.config import Config, TargetSpec
from engine.themes import THEMES, theme_output_columns
from models.composite import CompositeIndex, percentile_score, rank_of
from models.explain import drivers_text
from models.supervised import ModelResult, fit_out_of_fold, spatial_blocks
from spatial.hotspots import global_moran, local_statistics
from spatial.trends import emerging_hotspots
from spatial.weights import distance_band, knn, queen_with_islands

log = logging.getLogger("zicht")


@dataclass
class LevelAnalysis:
    """Everything computed on one level: new columns and what the report needs."""

    columns: pd.DataFrame
    inputs: dict[str, list[str]] = field(default_factory=dict)  # theme -> indicators used
    graph: Graph | None = None
    models: dict[str, ModelResult] = field(default_factory=dict)
    islands: list[str] = field(default_factory=list)


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
    values: pd.DataFrame,
    finest: bool,
    excluded: pd.DataFrame | None = None,
) -> LevelAnalysis:
    """Scores, drivers, hotspots and trends for the areas of one level.

    ``values`` holds every indicator's *published* value per area (columns are
    indicator ids; NaN where withheld): no score depends on a withheld value, and a
    supervised model trains on the published targets only. ``excluded`` (per area
    code: ``persons``, and per theme) marks areas under an area rule: they get no
    score, rank, driver, class or trend of that theme (``persons``: of any), and so
    stay out of their neighbours' weights too.
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
    targets = {t.theme: t for t in config.models.targets}
    persons = _rule(excluded, "persons", areas.index)
    for theme in THEMES:
        if config.theme_indicators(theme):
            target = targets.get(theme) if finest else None
            out = persons | _rule(excluded, theme, areas.index)
            _score_theme(config, theme, target, areas, values.where(~out, np.nan), result)
            shown = [c for c in theme_output_columns(theme) if c in result.columns]
            result.columns.loc[out.to_numpy(), shown] = np.nan
    if finest:
        _trends(config, values.where(~persons, np.nan), result)
    return result


def _rule(excluded: pd.DataFrame | None, name: str, index: pd.Index) -> pd.Series:
    """The areas an area rule takes out (``persons``, or a theme's own column)."""
    if excluded is None or name not in excluded:
        return pd.Series(False, index=index)
    return excluded[name].reindex(index).fillna(False).astype(bool)


def _score_theme(
    config: Config,
    theme: str,
    target: TargetSpec | None,
    areas: gpd.GeoDataFrame,
    values: pd.DataFrame,
    result: LevelAnalysis,
) -> None:
    """Risk, rank, drivers, hotspot and LISA class of one theme, into ``result``."""
    spec, columns, graph = config.spatial, result.columns, result.graph
    assert graph is not None
    if target is not None:
        # trained on published targets only; out-of-fold predictions never use the
        # area's own target value
        result.inputs[theme] = _features(config, target)
        model = _supervised(config, target, areas, values, values[target.target], graph, theme)
        result.models[theme] = model
        scored = values[result.inputs[theme]].notna().any(axis=1)
        raw = model.prediction.reindex(areas.index).where(scored)
        contributions = model.contributions.reindex(areas.index)
    else:
        indicators = [d.id for d in config.theme_indicators(theme)]
        result.inputs[theme] = indicators
        X = values[indicators]
        index = CompositeIndex(
            directions={d.id: d.direction for d in config.theme_indicators(theme)},
            weights={i: config.models.weights.get(i, 1.0) for i in indicators},
            method=config.models.method,
            clip=config.models.clip,
        ).fit(X)
        coverage = index.coverage(X)
        raw = index.score(X).where(coverage >= config.models.min_coverage)
        contributions = index.contributions(X).where(raw.notna(), axis=0)
        columns[f"coverage_{theme}"] = coverage.round(3)
    risk = percentile_score(raw)
    labels = {d.id: d.label_nl for d in config.indicators}
    columns[f"risk_{theme}"] = risk.round(1)
    columns[f"rank_{theme}"] = rank_of(raw)
    columns[f"drivers_{theme}"] = drivers_text(
        contributions.dropna(how="all"), {**labels, **_lag_labels(labels)}
    ).reindex(areas.index)
    if risk.notna().sum() < spec.min_areas:
        log.info("%s: fewer than %d areas with a score: no hotspots", theme, spec.min_areas)
        columns[f"hotspot_{theme}"] = columns[f"lisa_{theme}"] = None
        return
    # areas without a score are left out of the weights by spatial.hotspots itself
    lisa, gi = local_statistics(
        risk,
        graph,
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
        f"risk_{t}" for t in THEMES if f"risk_{t}" in table.columns
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


def _lag_labels(labels: dict[str, str]) -> dict[str, str]:
    return {f"{k}__buren": f"{v} (in de buurt)" for k, v in labels.items()}


def _features(config: Config, target: TargetSpec) -> list[str]:
    """The model's features: as configured, else every context (theme-less) indicator."""
    if target.features:
        return list(target.features)
    return [d.id for d in config.indicators if d.theme == "none" and d.id != target.target]


def _supervised(
    config: Config,
    target: TargetSpec,
    areas: gpd.GeoDataFrame,
    values: pd.DataFrame,
    y: pd.Series,
    graph: Graph,
    theme: str,
) -> ModelResult:
    features = _features(config, target)
    X = values[features].copy()
    if target.spatial_lag:
        W = graph.transform("r").sparse
        order = pd.Index(graph.unique_ids)
        filled = X.reindex(order).fillna(X.median())
        lagged = pd.DataFrame(W @ filled.to_numpy(), index=order, columns=features)
        X = X.join(lagged.reindex(X.index).add_suffix("__buren"))
    if target.groups == "blocks":
        centroids = areas.geometry.centroid
        groups = pd.Series(
            spatial_blocks(centroids.x, centroids.y, target.block_size), index=areas.index
        )
    else:
        groups = areas[f"{target.groups}code"]
    model = fit_out_of_fold(
        X,
        y,
        groups,
        target.model,
        seed=config.seed,
        population=values[target.population] if target.population else None,
        previous=values[target.previous] if target.previous else None,
    )
    # published as a percentile, rank and classes only; metrics rounded
    model.metrics = model.metrics.round(3)
    log.info(
        "model %s (%s): spatial-CV R2 %.2f, random-CV R2 %.2f",
        theme,
        target.model,
        model.metrics.loc["spatial CV", "r2"],
        model.metrics.loc["random CV", "r2"],
    )
    return model
