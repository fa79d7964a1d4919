"""What a theme's hotspots are tested on: its inputs as evidence of excess, not as ranks.

The published risk score is a percentile of a composite of shrunk rates: right for
ranking, wrong for testing. A percentile caps an area's excess at the top rank, however
strong, and spreads any tiny differences over 0-100; shrunk rates have a spread that
depends on the exposure. The hotspot and LISA classes of a composite theme are
therefore computed on the same inputs, directions and weights, each standardised so
that under constant risk every area has mean 0 and variance about 1:

- counts against an exposure (rates and shares of counts, counts with an
  ``exposure``): empirical Bayes standardised rates (Assuncao and Reis, 1999;
  :func:`spatial.rates.eb_standardised`), the deviation from the overall rate in units
  of the area's own standard error;
- other inputs: ``(value - median) / (IQR / 1.349)``, a robust z-score.

The weighted mean of the standardised inputs an area has is the value the
permutation test reads. A theme scored by a model is tested on what is observed of its
target, standardised the same way (a count: its empirical Bayes standardised rate
against the target's exposure), never on the model's score: predictions from context
figures are smooth in space by construction, and their percentile would be called a
cluster under constant risk (``benchmarks/calibration.py`` measures its calibration under
constant risk and its power on a planted cluster). Trends (emerging hot spots) read
each year's indicator standardised the same way: a rate, not a count that grows with
the inhabitants.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from zicht.engine.config import Config
from zicht.engine.estimates import LevelEstimates
from zicht.spatial.rates import eb_standardised


def hotspots_of(config: Config, modelled: Collection[str] = ()) -> dict[str, str]:
    """Per scored theme, in words, what its hotspot and LISA classes are of (the run
    record's ``spatial.hotspots_of``); ``modelled``: the themes a model scores."""
    targets = {t.theme: t.target for t in config.models.targets}
    inputs = "the weighted mean of its inputs standardised (empirical Bayes standardised rates)"
    return {
        t: (
            f"its model's target {targets[t]} as observed, standardised (a count as its "
            "empirical Bayes standardised rate), not the model's score"
            if t in modelled and t in targets
            else inputs
        )
        for t in config.scored_themes
    }


def target_values(
    config: Config, theme: str, indicators: pd.DataFrame, estimates: LevelEstimates
) -> pd.Series:
    """Per area a model theme's target as observed, standardised (unitless; see the
    module docstring)."""
    target = next(t for t in config.models.targets if t.theme == theme)
    return standardised(target.target, indicators, estimates)


def hotspot_values(
    config: Config, theme: str, indicators: pd.DataFrame, estimates: LevelEstimates
) -> pd.Series:
    """Per area the weighted mean of a composite theme's standardised inputs (unitless;
    NaN where it has none)."""
    inputs = {d.id: d for d in config.theme_indicators(theme)}
    z = pd.DataFrame({i: standardised(i, indicators, estimates) for i in inputs})
    for i, d in inputs.items():
        if d.direction == "lower":
            z[i] = -z[i]
    weights = pd.Series({i: config.models.weights.get(i, 1.0) for i in inputs})
    total = z.notna().mul(weights, axis=1).sum(axis=1)
    return z.fillna(0.0).mul(weights, axis=1).sum(axis=1) / total.where(total > 0)


def standardised(indicator_id: str, indicators: pd.DataFrame, est: LevelEstimates) -> pd.Series:
    """One indicator, standardised (see the module docstring): a count as the
    empirical Bayes standardised rate against its exposure."""
    spec = indicators.loc[indicator_id]
    observed = ~est.estimated[indicator_id]
    if isinstance(spec["numerator"], str) and spec["kind"] in ("rate", "share"):
        per = float(spec["per"]) if pd.notna(spec["per"]) else 1.0
        exposure = est.point[spec["denominator"]]
        rate = est.point[indicator_id] / per
        if indicators.at[spec["numerator"], "kind"] == "count":
            return eb_standardised(rate * exposure, exposure.where(rate.notna()), observed)
        return _robust(rate)
    if spec["kind"] in ("count", "sum") and isinstance(spec["exposure"], str):
        exposure = est.point[spec["exposure"]]
        observed = observed & ~est.estimated[spec["exposure"]]
        if spec["kind"] == "count":
            counts = est.point[indicator_id].where(exposure > 0)
            return eb_standardised(counts, exposure.where(counts.notna()), observed)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _robust((est.point[indicator_id] / exposure).where(exposure > 0))
    return _robust(est.point[indicator_id])


def _robust(values: pd.Series) -> pd.Series:
    """``(value - median) / (IQR / 1.349)`` (the standard deviation where the IQR is 0;
    0 for a constant)."""
    known = values.replace([np.inf, -np.inf], np.nan).dropna()
    if known.empty:
        return values * np.nan
    q1, median, q3 = known.quantile([0.25, 0.5, 0.75])
    scale = (q3 - q1) / 1.349 or known.std()
    return (values - median) / scale if scale and np.isfinite(scale) else values * 0.0
