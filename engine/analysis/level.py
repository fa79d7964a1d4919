"""The analysis of one level: weights, every theme's score, hotspot and LISA classes,
trends on the finest level, and the global Moran's I of every published figure."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
from libpysal.graph import Graph

from zicht.engine.analysis.descriptions import (
    aggregated_description,
    composite_description,
    fallback_description,
)
from zicht.engine.analysis.evidence import hotspot_values, standardised, target_values
from zicht.engine.analysis.modelled import aggregated_theme, model_theme
from zicht.engine.analysis.results import LevelAnalysis
from zicht.engine.analysis.scores import composite_theme
from zicht.engine.config import Config, TargetSpec
from zicht.engine.estimates import LevelEstimates
from zicht.engine.publish import progress_log
from zicht.engine.themes import theme_output_columns
from zicht.spatial.hotspots import local_statistics
from zicht.spatial.moran import global_morans
from zicht.spatial.trends import emerging_hotspots
from zicht.spatial.weights import distance_band, knn, queen_with_islands

log = logging.getLogger("zicht")
# scores, ranks and classes need no more than a few areas to compare (a share of areas
# scoring lower means little among two); hotspots, LISA, trends and Moran's I need
# ``spatial.min_areas``
MIN_SCORED_AREAS = 3


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
    finer: LevelAnalysis | None = None,
    threads: int = 1,
) -> LevelAnalysis:
    """Scores, drivers, hotspots and trends for the areas of one level.

    ``estimates`` holds, per area code and indicator id, the published value or the
    estimate from published figures (:func:`engine.estimates.estimate_layers`) with
    its interval: no score depends on a withheld value. ``indicators`` is the
    published ``indicators`` table (kinds, parts, exposures). ``excluded`` (per area
    code: ``persons``, and per theme) marks areas under an area rule: they get no
    score, rank, driver, class or trend of that theme (``persons``: of any), and stay
    out of every fit and of their neighbours' weights. ``finer`` is the finest
    level's analysis, whose model themes a coarser level aggregates. The themes are
    analysed on ``threads`` threads (each is seeded on its own, and the result is
    the same on any number).
    """
    result = LevelAnalysis(columns=pd.DataFrame(index=areas.index))
    if len(areas) < MIN_SCORED_AREAS:
        log.info("%s: %d area(s), fewer than %d: no scores", level, len(areas), MIN_SCORED_AREAS)
        return result
    result.graph, result.islands = level_weights(areas, config)
    estimates = estimates.reindex(areas.index)
    persons = _rule(excluded, "persons", areas.index)
    themes = config.scored_themes
    progress = progress_log("analysis {level}: {theme} ({k} of {n} themes{left})", level=level)

    def theme_part(k: int, theme: str) -> LevelAnalysis:
        progress(k, len(themes), theme=theme)
        out = persons | _rule(excluded, theme, areas.index)
        scope = ThemeScope(level, areas, estimates.without(out), indicators, finer)
        return _analyse_theme(config, theme, finest, scope, out, result.graph)

    if threads <= 1 or len(themes) < 2:
        parts = [theme_part(k, theme) for k, theme in enumerate(themes, start=1)]
    else:
        # most of a theme's time is numpy and numba work that holds no lock on the
        # interpreter (the bootstrap draws, the permutations of its hotspot tests)
        with ThreadPoolExecutor(min(threads, len(themes)), "zicht-analysis") as pool:
            parts = list(pool.map(theme_part, range(1, len(themes) + 1), themes))
    _merge(result, parts)
    if finest:
        _trends(config, estimates.without(persons), indicators, result)
    return result


def _analyse_theme(
    config: Config,
    theme: str,
    finest: bool,
    scope: ThemeScope,
    out: pd.Series,
    graph: Graph,
) -> LevelAnalysis:
    """One theme's score, classes and what the report says of them, in a result of
    its own (its columns, and its entries of the other fields): the areas ``out``
    (under an area rule) blanked."""
    part = LevelAnalysis(columns=pd.DataFrame(index=scope.areas.index), graph=graph)
    # a model needs spatial.min_areas areas to cross-validate: fewer are scored as a composite
    enough = finest and len(scope.areas) >= config.spatial.min_areas
    target = {t.theme: t for t in config.models.targets}.get(theme) if enough else None
    tested = _score_theme(config, theme, target, scope, part)
    _classes(config, theme, scope.areas, part, tested)
    shown = [c for c in theme_output_columns(theme) if c in part.columns]
    part.columns.loc[out.to_numpy(), shown] = np.nan
    return part


# the fields of a level's analysis that are the level's, not a theme's
LEVEL_FIELDS = ("columns", "graph", "islands")


def _merge(result: LevelAnalysis, parts: list[LevelAnalysis]) -> None:
    """The themes' results into ``result``, in theme order (as one loop would have
    made them)."""
    result.columns = pd.concat([result.columns, *(p.columns for p in parts)], axis=1)
    # every per-theme field (a dict by theme): a field added later is merged too
    per_theme = [f.name for f in fields(LevelAnalysis) if f.name not in LEVEL_FIELDS]
    for part in parts:
        for name in per_theme:
            getattr(result, name).update(getattr(part, name))


class ThemeScope(NamedTuple):
    """What a theme's score on one level is computed from."""

    level: str
    areas: gpd.GeoDataFrame
    known: LevelEstimates  # the areas under an area rule blanked
    indicators: pd.DataFrame
    finer: LevelAnalysis | None


def _score_theme(
    config: Config, theme: str, target: TargetSpec | None, scope: ThemeScope, result: LevelAnalysis
) -> pd.Series:
    """One method per theme on every level: the model where its skill suffices (on the
    finest level fitted, on coarser ones aggregated), else the composite index. Returns
    what the theme's hotspots are tested on (:mod:`~engine.analysis.evidence`): a
    composite's standardised inputs, or a model theme's standardised target."""
    finer = scope.finer
    if target is not None and model_theme(
        config, theme, target, scope.areas, scope.known, scope.indicators, result
    ):
        return target_values(config, theme, scope.indicators, scope.known)
    if finer is not None and theme in finer.expected:
        aggregated_theme(config, theme, finer, scope.level, scope.areas, result)
        result.descriptions[theme] = finer.descriptions[theme] + aggregated_description(
            config, scope.level
        )
        return target_values(config, theme, scope.indicators, scope.known)
    # rates of counts shrink towards the overall rate, never a wijk's: rates of groups
    # estimated from the same data make wijk-shaped blocks of equal values, which the
    # hotspot test reads as clusters (benchmarks/calibration.py)
    composite_theme(config, theme, scope.known, scope.indicators, None, result)
    rejected = result.rejected.get(theme) or (finer.rejected.get(theme) if finer else None)
    skill = result.skill.get(theme, finer.skill.get(theme) if finer else None)
    if skill is not None:
        result.skill[theme] = skill
    result.descriptions[theme] = fallback_description(
        config, rejected, skill
    ) + composite_description(config, theme, scope.indicators)
    return hotspot_values(config, theme, scope.indicators, scope.known)


def _rule(excluded: pd.DataFrame | None, name: str, index: pd.Index) -> pd.Series:
    """The areas an area rule takes out (``persons``, or a theme's own column)."""
    if excluded is None or name not in excluded:
        return pd.Series(False, index=index)
    return excluded[name].reindex(index).fillna(False).astype(bool)


def _classes(
    config: Config,
    theme: str,
    areas: gpd.GeoDataFrame,
    result: LevelAnalysis,
    tested: pd.Series,
) -> None:
    """Hotspot (Gi*) and LISA classes of a theme, into ``result``: of ``tested`` (its
    standardised evidence, :mod:`~engine.analysis.evidence`; never the percentile
    score), for the areas with a score."""
    spec, columns = config.spatial, result.columns
    risk = columns[f"risk_{theme}"]
    values = tested.reindex(risk.index).where(risk.notna())
    if risk.notna().sum() < spec.min_areas:
        log.info(
            "%s: fewer than spatial.min_areas=%d areas with a score: scores, no hotspots",
            theme,
            spec.min_areas,
        )
        columns[f"hotspot_{theme}"] = columns[f"lisa_{theme}"] = None
        columns[f"gi_z_{theme}"] = columns[f"gi_p_{theme}"] = np.nan
        return
    assert result.graph is not None
    # areas without a score are left out of the weights by spatial.hotspots itself
    lisa, gi = local_statistics(
        values,
        result.graph,
        spec.permutations,
        config.seed,
        spec.correction,
        spec.alpha,
        spec.inference,
        spec.max_permutations,
    )
    columns[f"hotspot_{theme}"] = gi["hotspot"].reindex(areas.index)
    # published as ArcGIS's Hot Spot Analysis does: the z-score and the p-value the
    # class is decided on (two-sided, after the correction for multiple testing)
    columns[f"gi_z_{theme}"] = gi["z"].reindex(areas.index).round(3)
    columns[f"gi_p_{theme}"] = _rounded_up(gi["p_adjusted"].reindex(areas.index))
    columns[f"lisa_{theme}"] = lisa["cluster"].reindex(areas.index)


def _rounded_up(p: pd.Series, digits: int = 3) -> pd.Series:
    """p-values rounded up to ``digits`` significant digits: never onto the safe side
    of a level (0.01, 0.05 and 0.10 lie on the grid), so a class read from the field
    is the class published."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(p)))
        return np.ceil(p * scale - 1e-9) / scale


def _trends(
    config: Config, estimates: LevelEstimates, indicators: pd.DataFrame, result: LevelAnalysis
) -> None:
    """Emerging hot spot categories of every configured trend, into ``result``: each
    year's figure as a rate (counts standardised against their exposure,
    :func:`~engine.analysis.evidence.standardised`)."""
    spec = config.spatial
    for trend in config.trends:
        yearly = pd.DataFrame(
            {year: standardised(year, indicators, estimates) for year in trend.indicators}
        )
        complete = yearly.dropna()
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
    level: str, layer: pd.DataFrame, graph: Graph | None, config: Config, threads: int = 1
) -> list[dict]:
    """Global Moran's I of every numeric published column (indicators, risk scores),
    on ``threads`` threads.

    Computed on the published values only: with every other value known, Moran's I
    is a quadratic equation in a withheld one.
    """
    if graph is None:
        return []
    table = layer.set_index("code")
    names = [d.id for d in config.indicators] + [
        f"risk_{t}" for t in config.scored_themes if f"risk_{t}" in table.columns
    ]
    values = pd.DataFrame({name: pd.to_numeric(table[name], errors="coerce") for name in names})
    tested = [name for name in names if _testable(values[name], config)]
    spec = config.spatial
    found = global_morans(values[tested], graph, spec.permutations, config.seed, threads)
    rows = []
    for name in names:
        row: dict[str, object] = {"level": level, "indicator": name, "moran_i": None, "p": None}
        moran = found.get(name)
        if moran is None:
            rows.append({**row, "areas": int(values[name].notna().sum())})
            continue
        rows.append({**row, "moran_i": round(moran.I, 4), "p": round(moran.p, 4), "areas": moran.n})
    return rows


def _testable(values: pd.Series, config: Config) -> bool:
    """Whether a column has the areas and the spread a Moran's I needs."""
    known = values.dropna()
    return len(known) >= config.spatial.min_areas and known.nunique() >= 2
