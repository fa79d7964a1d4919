"""A theme's score under sampling noise and under other plausible choices: the
parametric bootstrap of its inputs (counts drawn again from the published rates and
exposures; an estimated or rounded input anywhere in what an outsider knows of it)
and the sensitivity analysis of a composite (:mod:`models.uncertainty`).

Everything is drawn from the estimates an outsider has (:mod:`engine.estimates`):
published values and the estimates and intervals of withheld ones, never a withheld
value itself."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from zicht.engine.estimates import LevelEstimates
from zicht.models.composite import METHODS, CompositeIndex, percentile_against, rank_against
from zicht.models.uncertainty import posterior_rates, top_kept, weight_variants

WEIGHT_VARIANTS = 20  # other weightings per theme in the sensitivity analysis


def bootstrap_draws(
    est: LevelEstimates,
    indicators: pd.DataFrame,
    ids: list[str],
    rebuild: Callable[[LevelEstimates], pd.Series],
    draws: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``draws`` rebuilds of a raw score (``rebuild``: drawn estimates -> raw score per
    area) with the inputs ``ids`` drawn again (:func:`drawn_estimates`): a (draws x
    areas) array in the order of ``est``; :func:`models.uncertainty.score_intervals`
    reads the intervals off it."""
    return np.vstack(
        [
            rebuild(drawn_estimates(est, indicators, ids, rng)).reindex(est.point.index)
            for _ in range(draws)
        ]
    )


def drawn_estimates(
    est: LevelEstimates, indicators: pd.DataFrame, ids: list[str], rng: np.random.Generator
) -> LevelEstimates:
    """One bootstrap draw of the inputs ``ids`` (a model's features): an estimated or
    rounded value drawn uniformly from its interval, then a rate or share of a count
    (and a count with an exposure) drawn from what its count says of it
    (:func:`models.uncertainty.posterior_rates`). Other columns, the intervals and the
    marks stay as they are."""
    point = est.point.copy()
    for indicator_id in ids:
        point[indicator_id] = _drawn(indicator_id, indicators, est, rng)
    return LevelEstimates(point, est.low, est.high, est.estimated)


def _drawn(
    indicator_id: str, indicators: pd.DataFrame, est: LevelEstimates, rng: np.random.Generator
) -> np.ndarray:
    spec = indicators.loc[indicator_id]
    base = _within(est, indicator_id, rng)
    numerator = spec["numerator"]
    if isinstance(numerator, str) and indicators.at[numerator, "kind"] == "count":
        per = float(spec["per"]) if pd.notna(spec["per"]) else 1.0
        exposure = est.point[spec["denominator"]].to_numpy(dtype=float)
        shares = spec["kind"] == "share" and indicators.at[spec["denominator"], "kind"] == "count"
        return posterior_rates(rng, base / per, exposure, shares) * per
    if spec["kind"] == "count" and isinstance(spec["exposure"], str):
        exposure = est.point[spec["exposure"]].to_numpy(dtype=float)
        return posterior_rates(rng, base / exposure, exposure, False) * exposure
    return base


def _within(est: LevelEstimates, indicator_id: str, rng: np.random.Generator) -> np.ndarray:
    """The value, or where an outsider knows only an interval, a uniform draw in it."""
    point = est.point[indicator_id].to_numpy(dtype=float)
    low = est.low[indicator_id].to_numpy(dtype=float)
    high = est.high[indicator_id].to_numpy(dtype=float)
    spans = np.isfinite(low) & np.isfinite(high) & (high > low)
    drawn = low + rng.random(len(point)) * (high - low)
    return np.where(spans, drawn, point)


def published_bounds(
    raw: pd.Series,
    raw_low: pd.Series,
    raw_high: pd.Series,
    drawn: pd.DataFrame | None,
    percentile: pd.Series,
    rank: pd.Series,
) -> pd.DataFrame:
    """The published 90% interval of score and rank: the bootstrap's (``drawn``, None
    without draws) widened to the ends of the withheld inputs' intervals (``raw_low``,
    ``raw_high``) and to the point score and rank itself."""
    withheld = pd.DataFrame(
        {
            "risk_low": percentile_against(raw_low.fillna(raw), raw),
            "risk_high": percentile_against(raw_high.fillna(raw), raw),
            "rank_low": rank_against(raw_high.fillna(raw), raw),
            "rank_high": rank_against(raw_low.fillna(raw), raw),
        }
    )
    ends = [withheld] + ([drawn.reindex(raw.index)] if drawn is not None else [])
    low = pd.concat([f[["risk_low", "rank_low"]] for f in ends], axis=1)
    high = pd.concat([f[["risk_high", "rank_high"]] for f in ends], axis=1)
    out = pd.DataFrame(index=raw.index)
    out["risk_low"] = pd.concat([low["risk_low"], percentile], axis=1).min(axis=1)
    out["risk_high"] = pd.concat([high["risk_high"], percentile], axis=1).max(axis=1)
    out["rank_low"] = pd.concat([low["rank_low"], rank], axis=1).min(axis=1)
    out["rank_high"] = pd.concat([high["rank_high"], rank], axis=1).max(axis=1)
    return out.where(raw.notna(), axis=0)


def sensitivity(
    index: CompositeIndex, point: pd.DataFrame, raw: pd.Series, seed: int
) -> dict[str, object]:
    """The share of the top 10% by ``raw`` (the composite ``index`` of ``point``) that
    stays in the top 10% with other plausible weights (the mean over
    :data:`WEIGHT_VARIANTS` draws, each weight 0.5-1.5 times its own), the other
    normalisation, and each indicator left out (and the least of those)."""
    known = raw.dropna()
    weights = {c: float(w) for c, w in zip(index.feature_names_in_, index.weight_)}
    rng = np.random.default_rng(seed)
    # other weights, or fewer indicators, standardise each indicator as the index
    # does: once, for every such variant
    columns = list(weights)
    own = CompositeIndex(**index.get_params()).fit(point[columns]).standardise(point[columns])

    def kept(**changes: object) -> float:
        other = CompositeIndex(**{**index.get_params(), **changes})
        chosen = list(other.weights or weights)
        same = other.method == index.method and other.clip == index.clip
        standardised = own[:, [columns.index(c) for c in chosen]] if same else None
        inputs = point[chosen]
        return top_kept(known, other.fit(inputs).score(inputs, standardised))

    by_weights = [kept(weights=w) for w in weight_variants(weights, WEIGHT_VARIANTS, rng)]
    other_method = next(m for m in METHODS if m != index.method)
    left_out = {
        name: kept(
            weights={n: w for n, w in weights.items() if n != name},
            directions={n: d for n, d in (index.directions or {}).items() if n != name},
        )
        for name in weights
        if len(weights) > 1
    }
    shares = {"weights": float(np.mean(by_weights)), "normalisation": kept(method=other_method)}
    return {
        **{k: round(v, 3) for k, v in shares.items()},
        "leave_one_out": {k: round(v, 3) for k, v in left_out.items()},
        "least": round(min([*shares.values(), *left_out.values()]), 3),
    }
