"""A theme's risk score on one level: its inputs as rates (shrunk where they are
counts), a composite index or a supervised model over them, and the published
columns (risk, its range, rank, drivers)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from zicht.engine.analysis.descriptions import (
    TEXT,
    input_label,
)
from zicht.engine.analysis.results import LevelAnalysis, ScoreInputs
from zicht.engine.analysis.uncertainty import published_bounds, sensitivity
from zicht.engine.config import Config
from zicht.engine.estimates import LevelEstimates
from zicht.models.composite import CompositeIndex, percentile_score, rank_of
from zicht.models.explain import drivers_text
from zicht.models.uncertainty import NoisyInput, draw_inputs, score_intervals
from zicht.spatial.rates import shrinkage

log = logging.getLogger("zicht")


class RawScore(NamedTuple):
    """A theme's raw score per area, and its value at the safe (``low``) and risky
    (``high``) ends of the withheld inputs' intervals."""

    point: pd.Series
    low: pd.Series
    high: pd.Series


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
    the shrinkage of the point values; ``noisy`` holds what a bootstrap draws."""
    parts = [_rate_input(i, indicators, estimates, parents) for i in ids]
    point, low, high, estimated = (
        pd.concat([p[k] for p in parts], axis=1, keys=ids) for k in range(4)
    )
    noisy = [p[4] for p in parts]
    return ScoreInputs(point=point, low=low, high=high, estimated=estimated, noisy=noisy)


def _rate_input(
    indicator_id: str,
    indicators: pd.DataFrame,
    est: LevelEstimates,
    parents: pd.Series | None,
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series, NoisyInput]:
    spec = indicators.loc[indicator_id]
    binomial = False
    if isinstance(spec["numerator"], str) and spec["kind"] in ("rate", "share"):
        per = float(spec["per"]) if pd.notna(spec["per"]) else 1.0
        exposure = est.point[spec["denominator"]]
        crude = est.point[indicator_id] / per
        low, high = est.low[indicator_id] / per, est.high[indicator_id] / per
        counts = indicators.at[spec["numerator"], "kind"] == "count"
        binomial = spec["kind"] == "share" and indicators.at[spec["denominator"], "kind"] == "count"
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
        plain = [v[indicator_id] for v in (est.point, est.low, est.high)]
        noisy = NoisyInput(*(v.to_numpy(float) for v in plain))
        return (*plain, est.estimated[indicator_id], noisy)
    low, high = low.where(crude.notna()), high.where(crude.notna())
    noisy = NoisyInput(crude.to_numpy(float), low.to_numpy(float), high.to_numpy(float))
    if counts:
        reference, weight = shrinkage(
            crude * exposure, exposure.where(crude.notna()), parents, ~estimated
        )
        noisy = replace(noisy, exposure=exposure.to_numpy(float), binomial=binomial)
        crude, low, high = (
            reference + weight * (x - reference).where(weight > 0, 0.0) for x in (crude, low, high)
        )
    return crude, low, high, estimated & crude.notna(), noisy


def composite_theme(
    config: Config,
    theme: str,
    known: LevelEstimates,
    indicators: pd.DataFrame,
    parents: pd.Series | None,
    result: LevelAnalysis,
) -> None:
    """Risk, its 90% interval, rank and its interval, and drivers of a composite theme,
    and the composite's sensitivity, into ``result``."""
    ids = [d.id for d in config.theme_indicators(theme)]
    inputs = score_inputs(ids, indicators, known, parents)
    directions = {d.id: d.direction for d in config.theme_indicators(theme)}
    index = CompositeIndex(
        directions=directions,
        weights={i: config.models.weights.get(i, 1.0) for i in inputs.point.columns},
        method=config.models.method,
        clip=config.models.clip,
    ).fit(inputs.point)
    coverage = index.coverage(inputs.point)
    enough = coverage >= config.models.min_coverage
    raw = index.score(inputs.point).where(enough)
    lower = np.broadcast_to(
        pd.Series(directions).reindex(inputs.point.columns).eq("lower").to_numpy(),
        inputs.point.shape,
    )
    worst = inputs.high.where(~lower, inputs.low)  # the riskier end of every input
    best = inputs.low.where(~lower, inputs.high)

    result.columns[f"coverage_{theme}"] = coverage.round(3)
    if raw.notna().any():
        result.sensitivity[theme] = sensitivity(index, inputs.point, raw, config.seed)
    publish_score(
        theme,
        RawScore(raw, index.score(best).where(raw.notna()), index.score(worst).where(raw.notna())),
        composite_draws(index, inputs, enough, config.models.draws, config.seed),
        (inputs.estimated & inputs.point.notna()).any(axis=1),
        index.contributions(inputs.point).where(raw.notna(), axis=0),
        inputs.estimated,
        config,
        result,
    )


def composite_draws(
    index: CompositeIndex, inputs: ScoreInputs, enough: pd.Series, draws: int, seed: int
) -> pd.DataFrame | None:
    """The bootstrap intervals of a composite score (None without ``draws``): every
    input drawn again (:func:`models.uncertainty.draw_inputs`) and the index refitted
    per draw; seeded, so a run gives the same intervals again."""
    if draws == 0 or enough.sum() < 2:
        return None
    values = draw_inputs(inputs.noisy, draws, np.random.default_rng(seed))
    raw = np.where(enough.to_numpy(), index.refit_scores(values), np.nan)
    return score_intervals(raw, inputs.point.index)


def publish_score(
    theme: str,
    raw: RawScore,
    drawn: pd.DataFrame | None,
    estimated: pd.Series,
    contributions: pd.DataFrame,
    estimated_inputs: pd.DataFrame,
    config: Config,
    result: LevelAnalysis,
    skill: float | None = None,
) -> None:
    """The score columns of a theme from its raw score, the raw ends of its withheld
    inputs, its bootstrap intervals (``drawn``) and the ``skill`` of its model."""
    columns = result.columns
    labels = {d.id: input_label(config, d.id) for d in config.indicators}
    score, rank = percentile_score(raw.point), rank_of(raw.point)
    bounds = published_bounds(raw.point, raw.low, raw.high, drawn, score, rank)
    columns[f"risk_{theme}"] = score.round(1)
    columns[f"risk_low_{theme}"] = bounds["risk_low"].round(1)
    columns[f"risk_high_{theme}"] = bounds["risk_high"].round(1)
    columns[f"estimated_{theme}"] = estimated.astype(float).where(raw.point.notna())
    columns[f"rank_{theme}"] = rank
    columns[f"rank_low_{theme}"] = bounds["rank_low"]
    columns[f"rank_high_{theme}"] = bounds["rank_high"]
    # the spatial-CV rank correlation of the model the score comes from
    columns[f"skill_{theme}"] = pd.Series(
        np.nan if skill is None else round(skill, 3), index=raw.point.index
    ).where(raw.point.notna())
    known = contributions.dropna(how="all")
    lagged = {
        f"{k}__buren": TEXT[config.language]["nearby"].format(label=v) for k, v in labels.items()
    }
    columns[f"drivers_{theme}"] = drivers_text(
        known, {**labels, **lagged}, estimated_inputs.reindex_like(known), language=config.language
    ).reindex(columns.index)
