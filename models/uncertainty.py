"""How sure a score is: parametric bootstrap draws of counts, a score's and a rank's
interval over the draws, and how much of a top group stays under other plausible
choices of a composite (a sensitivity analysis).

A published rate of 2 incidents in 300 inhabitants could as well have come from a
true rate of 1 or 5 in 300: a parametric bootstrap draws every rate again from what
its published count and exposure say of it (the Poisson or binomial likelihood, with
the prior the counts of all areas suggest: empirical Bayes), rebuilds the score per
draw (normalisation, weights, percentile) and reads the interval off the draws
(Efron and Tibshirani, 1993, *An Introduction to the Bootstrap*, section 6.5). The
sensitivity analysis follows the OECD/JRC *Handbook on Constructing Composite
Indicators* (2008), steps 4-8: the same index with other weights, another
normalisation and one indicator left out; it reports which share of the areas in the
top 10% stays there.

>>> draws = np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [1.0, 2.0, 3.0]])
>>> bounds = score_intervals(draws, pd.Index(list("abc")), level=0.5)
>>> bounds["rank_low"].tolist(), bounds["rank_high"].tolist()
([3.0, 1.0, 1.0], [3.0, 2.0, 2.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zicht.errors import AnalysisError
from zicht.models.composite import tie_counts

LEVEL = 0.90  # the published intervals: 90% of the draws lie inside
TOP = 0.10  # the top group whose stability the sensitivity analysis reports


@dataclass(frozen=True)
class NoisyInput:
    """What a bootstrap draws of one score input, per area (numpy arrays): its value
    before shrinkage (``crude``) and the interval an outsider knows it in
    (``low``, ``high``); for a rate of counts its ``exposure`` (the value is counts per
    unit of it) and whether it is a share of counts (``binomial``)."""

    crude: np.ndarray
    low: np.ndarray
    high: np.ndarray
    exposure: np.ndarray | None = None
    binomial: bool = False


JEFFREYS = 0.5  # the prior's pseudo-count: a zero count still leaves its rate uncertain
MIN_SPREAD = 0.05  # true rates differ between areas by at least 5% of the overall rate


def draw_inputs(inputs: list[NoisyInput], draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` bootstrap draws of every input (draws x areas x inputs).

    A value known only as an interval is drawn uniformly in it. A rate of counts is then
    drawn from what its count says of the true rate: Gamma(shape + count, rate +
    exposure), the posterior of a Poisson rate under the Gamma prior the counts of all
    areas suggest (:func:`_gamma_prior`; a share: the Beta posterior). Drawing counts
    from the published rate instead would give an area with a zero count a zero rate in
    every draw, and an interval of nothing (the simulation study of
    ``benchmarks/score_quality.py``: a third of the areas covered with half a count per
    area). Under an uninformative prior each area's rate is drawn as noisily as its own
    count says, and the field an area is ranked in is far more spread than the true
    rates (77% covered with half a count per area); under the empirical prior 90%, as
    the level says."""
    out = []
    for x in inputs:
        spans = np.isfinite(x.low) & np.isfinite(x.high) & (x.high > x.low)
        uniform = x.low + rng.random((draws, len(x.crude))) * (x.high - x.low)
        value = np.where(spans, uniform, x.crude)
        if x.exposure is not None:
            value = posterior_rates(rng, value, x.exposure, x.binomial)
        out.append(value)
    return np.stack(out, axis=2)


def posterior_rates(
    rng: np.random.Generator, rate: np.ndarray, exposure: np.ndarray, binomial: bool
) -> np.ndarray:
    """One draw of true rates given ``rate * exposure`` counts in ``exposure``
    (:func:`draw_inputs`; NaN stays NaN, and so does a rate without exposure)."""
    n = np.broadcast_to(exposure, rate.shape)
    known = np.isfinite(rate) & np.isfinite(n) & (n > 0)
    counts = np.clip(np.where(known, rate * n, 0.0), 0.0, None)
    size = np.where(known, n, 1.0)
    if binomial:
        counts = np.minimum(counts, size)
        a, b = _beta_prior(counts, size, known)
        drawn = rng.beta(counts + a, size - counts + b)
    else:
        shape, scale_rate = _gamma_prior(counts, size, known)
        drawn = rng.gamma(counts + shape, 1.0 / (size + scale_rate))
    return np.where(known, drawn, np.nan)


def _moments(counts: np.ndarray, size: np.ndarray, known: np.ndarray) -> tuple[float, float]:
    """The overall rate ``m`` and the variance of the true rates between areas
    (Marshall's global estimator: the spread of the crude rates less the part the
    counts' own noise explains; at least a small share of ``m``), over the ``known``
    areas of the draws' first row (every row has the same counts where exactly known)."""
    c, n = counts[0][known[0]], size[0][known[0]]
    if len(c) == 0 or n.sum() <= 0:
        return 0.0, 1.0  # nothing known: both priors fall back to Jeffreys'
    m = c.sum() / n.sum()
    spread = (n * (c / n - m) ** 2).sum() / n.sum() - m / n.mean()
    return m, max(spread, (MIN_SPREAD * m) ** 2)


def _gamma_prior(counts: np.ndarray, size: np.ndarray, known: np.ndarray) -> tuple[float, float]:
    """Shape and rate of the Gamma prior of true rates the counts themselves suggest
    (empirical Bayes, Clayton and Kaldor 1987): the draws come from each area's
    posterior under it, as the published rates are shrunk towards the overall rate."""
    m, spread = _moments(counts, size, known)
    if m <= 0:
        return JEFFREYS, 0.0
    return m * m / spread, m / spread


def _beta_prior(counts: np.ndarray, size: np.ndarray, known: np.ndarray) -> tuple[float, float]:
    """The Beta prior of true shares by the same moments (:func:`_gamma_prior`)."""
    m, spread = _moments(counts, size, known)
    if not 0 < m < 1:
        return JEFFREYS, JEFFREYS
    total = max(m * (1 - m) / spread - 1, 2 * JEFFREYS)
    return m * total, (1 - m) * total


def percentiles_and_ranks(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of raw scores (draws x areas): the 0-100 percentile score (share of
    areas at or below) and the rank (1 = highest, ties share the best), as the
    published score and rank are made; NaN stays NaN."""
    known = ~np.isnan(raw)
    count = known.sum(axis=1, keepdims=True)
    _, upto = tie_counts(raw, axis=1)  # pandas' "max" rank: the areas at or below
    with np.errstate(invalid="ignore", divide="ignore"):
        percentile = np.where(known, upto / count * 100, np.nan)
    rank = np.where(known, (count - upto + 1).astype(float), np.nan)
    return percentile, rank


def score_intervals(raw: np.ndarray, index: pd.Index, level: float = LEVEL) -> pd.DataFrame:
    """The central ``level`` interval of every area's percentile score and rank over
    the draws (rows of ``raw``, raw scores of the areas in ``index``): columns
    ``risk_low``, ``risk_high`` (0-100), ``rank_low`` (the best rank, smallest
    number) and ``rank_high`` (the worst). NaN where an area has no score in half of
    the draws."""
    if raw.ndim != 2 or raw.shape[1] != len(index):
        raise AnalysisError("draws must be a (draws x areas) array over the given areas")
    if not 0 < level < 1:
        raise AnalysisError(f"level must lie between 0 and 1, got {level}")
    percentile, rank = percentiles_and_ranks(raw)
    tail = (1 - level) / 2
    scored = np.isfinite(raw).mean(axis=0) >= 0.5
    out = {}
    for name, values, q in (
        ("risk_low", percentile, tail),
        ("risk_high", percentile, 1 - tail),
        ("rank_low", rank, tail),
        ("rank_high", rank, 1 - tail),
    ):
        column = nearest_quantile(np.where(scored, values, 0.0), q)
        out[name] = np.where(scored, column, np.nan)
    return pd.DataFrame(out, index=index)


def nearest_quantile(values: np.ndarray, q: float) -> np.ndarray:
    """Per column of ``values`` (draws x areas), the ``q`` quantile of its non-NaN
    values by the nearest observation: ``np.nanquantile(values, q, axis=0,
    method="nearest")``, NaN for a column without values. numpy computes that column
    by column in Python (``apply_along_axis``); one sort of the whole array does it
    at once, with numpy's own index formula, so the result is the same."""
    ordered = np.sort(values, axis=0)  # NaN sorts last
    valid = np.sum(~np.isnan(values), axis=0)
    # numpy's index for "nearest" over the n values of a column: (n - 1) q, rounded
    # half to even
    at = np.clip(np.around((valid - 1) * q).astype(np.intp), 0, max(len(values) - 1, 0))
    column = np.take_along_axis(ordered, at[None, :], axis=0)[0] if len(values) else at * np.nan
    return np.where(valid > 0, column, np.nan)


def top_kept(base: pd.Series, variant: pd.Series, top: float = TOP) -> float:
    """The share of the areas in the ``top`` share by ``base`` (highest first) that
    are in the top share by ``variant`` too (NaN without areas in common). Ties at the
    edge of the top go to the area first in ``base``, as pandas' ``nlargest`` has it."""
    first = base.to_numpy(dtype=float)
    second = variant.reindex(base.index).to_numpy(dtype=float)
    both = ~np.isnan(first) & ~np.isnan(second)
    first, second = first[both], second[both]
    size = int(np.ceil(top * len(first)))
    if size == 0:
        return float("nan")
    # a stable sort of the negated values: the highest first, ties in order
    highest = np.argsort(-first, kind="stable")[:size]
    also = np.argsort(-second, kind="stable")[:size]
    return len(np.intersect1d(highest, also, assume_unique=True)) / size


def weight_variants(
    weights: dict[str, float], count: int, rng: np.random.Generator, spread: float = 0.5
) -> list[dict[str, float]]:
    """``count`` plausible other weightings: every weight drawn uniformly between
    ``1 - spread`` and ``1 + spread`` times its own."""
    if not 0 <= spread < 1:
        raise AnalysisError(f"spread must lie in [0, 1), got {spread}")
    names = list(weights)
    return [
        {n: weights[n] * f for n, f in zip(names, rng.uniform(1 - spread, 1 + spread, len(names)))}
        for _ in range(count)
    ]
