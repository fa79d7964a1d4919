"""Emerging hot spots: Gi* per year, a Mann-Kendall trend per area, and categories.

The categories follow ArcGIS Pro's Emerging Hot Spot Analysis, computed on yearly
spatial Gi* (one map per year, the same weights every year) instead of a space-time
cube. A year counts as hot (cold) for an area when its Gi* class is a hot (cold)
spot at 90% confidence or more after the multiple-testing correction; the trend is a
Mann-Kendall test on the area's yearly Gi* z-scores at ``alpha`` (0.10 by default,
as ArcGIS uses 90% for the trend as well). An area's yearly maps are alike, so its
z-scores are serially correlated: the test's null is a trendless AR(1) series with
the lag-1 correlation pooled over all areas (:func:`mann_kendall_ar1`), which keeps
its size where the plain test rejects a quarter of trendless five-year series.
The run passes rates, not counts (``engine.analysis.evidence``): a count grows with
the inhabitants.

=============  ===========================================================
category       the area ...
=============  ===========================================================
new            is hot in the final year only, never before
consecutive    is hot in an uninterrupted run of final years (at least
               two), never before the run, hot in less than 90% of years
intensifying   is hot in at least 90% of years incl. the final one, and
               its z-scores trend up
persistent     as intensifying, without a significant trend
diminishing    as intensifying, with the z-scores trending down
sporadic       is hot in the final year, on and off before, never cold
oscillating    is hot in the final year and was cold in some earlier year
historical     is not hot in the final year, but hot in at least 90% of years
=============  ===========================================================

The same with "cold" for cold spots (``new cold``, ``persistent cold`` ...), and
``no pattern`` otherwise. With few years the 90% rule means "every year": with
five years, 0.9 x 5 = 4.5, so five hot years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from zicht.errors import AnalysisError
from zicht.spatial.hotspots import MAX_PERMUTATIONS, getis_ord
from zicht.spatial.weights import Weights

NO_PATTERN = "no pattern"


def mann_kendall(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Kendall trend test per row of ``series`` (areas x years), for independent
    years.

    Returns the S statistic and the two-sided p-value (normal approximation with the
    tie correction and continuity correction). Rows with a missing year get NaN.
    """
    series = np.asarray(series, dtype=float)
    _, t = series.shape
    s = _s_statistic(series)
    variance = np.full(len(series), t * (t - 1) * (2 * t + 5) / 18.0)
    for row in range(len(series)):  # tie correction; rare, cheap
        _, counts = np.unique(series[row], return_counts=True)
        ties = counts[counts > 1]
        if len(ties):
            variance[row] -= (ties * (ties - 1) * (2 * ties + 5)).sum() / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(
            s > 0, (s - 1) / np.sqrt(variance), np.where(s < 0, (s + 1) / np.sqrt(variance), 0.0)
        )
    p = 2 * stats.norm.sf(np.abs(z))
    p[variance <= 0] = 1.0
    missing = np.isnan(series).any(axis=1)
    s[missing], p[missing] = np.nan, np.nan
    return s, p


def mann_kendall_ar1(
    series: np.ndarray, rho: float, draws: int = 20_000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Kendall trend test per row of ``series`` (areas x years) whose years are
    serially correlated: the p-value is the chance of an S at least as extreme, either
    way, for a stationary Gaussian AR(1) series with lag-1 correlation ``rho`` and no
    trend, from ``draws`` simulated series (seeded).

    A positive correlation makes runs of rising years likely without any trend: with
    five years at ``rho`` = 0.8 the plain test rejects about a quarter of trendless
    series at 10%. The exact null of S takes that into account and keeps its size
    whatever the length of the series (the normal approximation of Hamed and Rao's
    1998 correction is poor for five values). With ``rho`` = 0 it is the exact
    Mann-Kendall test. Rows with a missing year get NaN.
    """
    series = np.asarray(series, dtype=float)
    t = series.shape[1]
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((draws, t))
    null = np.empty((draws, t))
    null[:, 0] = noise[:, 0]
    for year in range(1, t):
        null[:, year] = rho * null[:, year - 1] + np.sqrt(1 - rho**2) * noise[:, year]
    extreme = np.sort(np.abs(_s_statistic(null)))
    s = _s_statistic(series)
    # the share of simulated |S| at least the observed one (the observed counts as one)
    at_least = draws - np.searchsorted(extreme, np.abs(s) - 1e-9, side="left")
    p = (at_least + 1.0) / (draws + 1.0)
    missing = np.isnan(series).any(axis=1)
    s[missing], p[missing] = np.nan, np.nan
    return s, p


def _s_statistic(series: np.ndarray) -> np.ndarray:
    """The Mann-Kendall S of every row: the signs of all later-minus-earlier pairs."""
    s = np.zeros(len(series))
    for i in range(series.shape[1] - 1):
        s += np.sign(series[:, i + 1 :] - series[:, [i]]).sum(axis=1)
    return s


def pooled_autocorrelation(series: np.ndarray) -> float:
    """The lag-1 autocorrelation of AR(1) series, pooled over the rows of ``series``
    (areas x years; rows with a missing year left out), in [0, 0.95].

    Five yearly values cannot estimate a correlation of their own, but many areas
    together can: each row's linear trend is removed and the ratio of the summed
    lag-1 products to the summed squares is matched to its expectation under AR(1)
    (a method of moments that accounts for the trend removed from short series,
    which biases the plain estimate far below the truth). A trend in some areas makes
    the estimate larger and the test more cautious, never less.
    """
    series = np.asarray(series, dtype=float)
    rows = series[~np.isnan(series).any(axis=1)]
    t = series.shape[1]
    if len(rows) == 0 or t < 4:
        return 0.0
    X = np.column_stack([np.ones(t), np.arange(t)])
    M = np.eye(t) - X @ np.linalg.pinv(X)  # removes each row's linear trend
    e = rows @ M
    squares = float((e**2).sum())
    if squares <= 0:
        return 0.0
    observed = float((e[:, 1:] * e[:, :-1]).sum()) / squares
    lag1 = np.eye(t, k=1)
    lags = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))

    def expected(rho: float) -> float:
        cov = rho**lags
        return float(np.trace(M @ lag1 @ M @ cov) / np.trace(M @ cov))

    low, high = 0.0, 0.95
    if observed <= expected(low):
        return 0.0
    if observed >= expected(high):
        return high
    for _ in range(40):  # bisection: the expectation rises with rho
        mid = (low + high) / 2
        low, high = (mid, high) if expected(mid) < observed else (low, mid)
    return (low + high) / 2


def emerging_hotspots(
    yearly: pd.DataFrame,
    weights: Weights,
    permutations: int = 999,
    seed: int = 0,
    correction: str = "fdr",
    alpha: float = 0.10,
    inference: str = "adaptive",
    max_permutations: int = MAX_PERMUTATIONS,
) -> pd.DataFrame:
    """Emerging hot spot categories for a table of values (areas x years, in time order).

    Each year's Gi* classes use ``inference`` (see :func:`spatial.hotspots.getis_ord`).

    Returns a DataFrame indexed like ``yearly`` with ``category``, the Mann-Kendall
    ``trend_s`` and ``trend_p`` of the Gi* z-scores (:func:`mann_kendall_ar1`, with
    their serial correlation pooled over the areas, :func:`pooled_autocorrelation`,
    in ``attrs["autocorrelation"]``), and per year the Gi* class
    (``hotspot_<year>``). Areas with a missing year get no category.
    """
    if yearly.shape[1] < 3:
        raise AnalysisError("emerging hot spots need at least three years")
    z = pd.DataFrame(index=yearly.index, columns=yearly.columns, dtype=float)
    classes = pd.DataFrame(index=yearly.index, columns=yearly.columns, dtype=object)
    for offset, year in enumerate(yearly.columns):
        gi = getis_ord(
            yearly[year],
            weights,
            permutations,
            seed + offset,
            correction,
            inference,
            max_permutations,
        )
        z[year] = gi["z"]
        classes[year] = gi["hotspot"]
    # the yearly maps of an area are alike: its z-scores are serially correlated
    rho = pooled_autocorrelation(z.to_numpy())
    s, p = mann_kendall_ar1(z.to_numpy(), rho, seed=seed)
    hot = classes.apply(lambda col: col.astype(str).str.startswith("hot")).to_numpy()
    cold = classes.apply(lambda col: col.astype(str).str.startswith("cold")).to_numpy()
    categories = np.array(
        [_category(hot[i], cold[i], s[i], p[i], alpha) for i in range(len(yearly))], dtype=object
    )
    missing = yearly.isna().any(axis=1).to_numpy()
    categories[missing] = None
    out = pd.DataFrame({"category": categories, "trend_s": s, "trend_p": p}, index=yearly.index)
    for year in yearly.columns:
        out[f"hotspot_{year}"] = classes[year]
    out.attrs.update(
        correction=correction, alpha=alpha, years=list(yearly.columns), autocorrelation=rho
    )
    return out


def _category(hot: np.ndarray, cold: np.ndarray, s: float, p: float, alpha: float) -> str:
    for kind, this, other in (("", hot, cold), (" cold", cold, hot)):
        label = _pattern(this, other, s if kind == "" else -s, p, alpha)
        if label:
            return label + kind
    return NO_PATTERN


def _pattern(this: np.ndarray, other: np.ndarray, s: float, p: float, alpha: float) -> str:
    """The category for hot spots (pass cold and -s for cold spots), or '' for none."""
    years = len(this)
    share = this.sum() / years
    final = this[-1]
    mostly = share >= 0.9
    if final and this.sum() == 1:
        return "new"
    if final and mostly:
        if p <= alpha and s > 0:
            return "intensifying"
        if p <= alpha and s < 0:
            return "diminishing"
        return "persistent"
    if final:
        run = len(this) - np.flatnonzero(~this)[-1] - 1 if (~this).any() else years
        if run >= 2 and not this[: years - run].any():
            return "consecutive"
        if other[:-1].any():
            return "oscillating"
        return "sporadic"
    if mostly:
        return "historical"
    return ""
