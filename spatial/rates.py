"""Rates with their exposure, shrunk where the exposure is small (empirical Bayes).

A buurt with 2 sales of which 1 went to a company has a rate of 50%; that says
little. Hotspots and scores of counts therefore run on rates against an exposure
(inhabitants, dwellings, sales, companies), shrunk towards a reference rate in
proportion to how little the area's own exposure tells: Marshall's (1991) empirical
Bayes estimator, "Mapping disease and mortality rates using empirical Bayes
estimators", Applied Statistics 40: 283-294 (esda's ``Empirical_Bayes`` when shrunk
towards the overall rate). For inference the rates are standardised instead
(:func:`eb_standardised`; Assuncao and Reis, 1999, "A new proposal to adjust Moran's I
for population density", Statistics in Medicine 18: 2147-2162).

>>> counts = pd.Series([1.0, 30.0, 25.0, 0.0], index=list("abcd"))
>>> exposure = pd.Series([2.0, 1000.0, 900.0, 800.0], index=list("abcd"))
>>> rates = empirical_bayes(counts, exposure)
>>> bool(rates["a"] < 0.1)  # 1 in 2 is shrunk nearly all the way to the mean (0.02)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zicht.errors import AnalysisError


def empirical_bayes(
    counts: pd.Series, exposure: pd.Series, groups: pd.Series | None = None
) -> pd.Series:
    """Empirical Bayes rates ``counts / exposure`` (per unit of exposure).

    Each crude rate is shrunk towards a reference rate with weight
    ``A / (A + m / n_i)`` (:func:`shrinkage`). Areas without a count or with no
    exposure get NaN.
    """
    reference, weight = shrinkage(counts, exposure, groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        crude = counts / exposure
    return reference + weight * (crude - reference)


def eb_standardised(
    counts: pd.Series, exposure: pd.Series, observed: pd.Series | None = None
) -> pd.Series:
    """Empirical Bayes standardised rates (Assuncao and Reis, 1999): ``(r_i - m) /
    sqrt(A + m / n_i)``, unitless.

    ``m`` the overall rate, ``A`` Marshall's variance of the true rates
    (:func:`shrinkage`, at least 0) and ``n_i`` the exposure: every area's deviation
    from the overall rate in units of its own standard error, so that under constant
    risk every area has mean 0 and variance about 1 whatever its exposure, and the
    values are exchangeable, as a permutation test assumes. A crude rate is not (small
    exposures scatter widely), and a shrunk rate is not (small exposures sit at the
    mean). Equal to esda's ``assuncao_rate`` where ``A`` comes out positive. NaN where
    the area has no count or no exposure.
    """
    reference, weight = shrinkage(counts, exposure, None, observed)
    with np.errstate(divide="ignore", invalid="ignore"):
        crude = counts / exposure
        # weight = A / (A + m / n): the variance A + m / n is m / (n (1 - weight))
        variance = reference / (exposure * (1.0 - weight))
        z = (crude - reference) / np.sqrt(variance)
    return z.where(variance > 0)


def shrinkage(
    counts: pd.Series,
    exposure: pd.Series,
    groups: pd.Series | None = None,
    observed: pd.Series | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Marshall's reference rate and shrinkage weight per area.

    The smoothed rate is ``reference + weight * (crude - reference)``: ``m`` the
    reference rate, ``n_i`` the area's exposure, ``A`` the variance of the true rates
    around their references and ``weight = A / (A + m / n_i)``. ``A`` is the moment
    estimate: the exposure-weighted mean squared deviation of the crude rates from
    their references, less what Poisson noise alone puts there (0 where that comes out
    negative: full shrinkage). The reference is the overall rate, or with ``groups``
    (area -> group code, e.g. its wijk) the rate of the area's group (Marshall's local
    estimator); ``A`` is pooled over all areas, since a group of five buurten cannot
    estimate a variance of its own.

    The noise term counts the degrees of freedom the references take: ``m / n̄``
    (Marshall's global form) with one overall rate, ``m (k - G + 1) / N`` with ``G``
    group rates estimated from the same ``k`` areas of total exposure ``N``. (Subtracting the
    global ``m / n̄`` from deviations around group rates left ``A`` at 0 in nearly every
    map of constant risk: every area took its group's rate.) Even so, shrinking towards
    group rates estimated from the data gives areas of one group equal values wherever
    ``A`` is small, blocks that a permutation test reads as clusters; a run therefore
    shrinks towards the overall rate (see ``benchmarks/calibration.py``).

    ``observed`` (bool per area) restricts the variance estimate to areas whose count
    was observed rather than estimated: an estimate shared out in proportion to
    exposure has its group's rate by construction and would understate the variance.
    Both are NaN where the area has no count or no exposure.
    """
    if not counts.index.equals(exposure.index):
        raise AnalysisError("counts and exposure must have the same areas in the same order")
    if (exposure.dropna() < 0).any() or (counts.dropna() < 0).any():
        raise AnalysisError("counts and exposure must not be negative")
    known = counts.notna() & exposure.notna() & (exposure > 0)
    reference = pd.Series(np.nan, index=counts.index)
    weight = pd.Series(np.nan, index=counts.index)
    if not known.any():
        return reference, weight
    y, n = counts[known].to_numpy(float), exposure[known].to_numpy(float)
    keys = np.zeros(len(y), dtype=np.int64)
    if groups is not None:
        keys = pd.factorize(groups.reindex(counts.index)[known].fillna(""))[0]
    m = np.bincount(keys, weights=y) / np.bincount(keys, weights=n)
    own = np.ones(len(y), dtype=bool)
    if observed is not None:
        own = observed.reindex(counts.index)[known].fillna(False).to_numpy(dtype=bool)
    between = _between_variance(y[own], n[own], keys[own], m)
    variance = between + m[keys] / n
    reference[known] = m[keys]
    weight[known] = np.divide(between, variance, out=np.zeros(len(y)), where=variance > 0)
    return reference, weight


def _between_variance(y: np.ndarray, n: np.ndarray, keys: np.ndarray, m: np.ndarray) -> float:
    """Marshall's moment estimate of the variance of the true rates around their
    references ``m[keys]``: the weighted mean squared deviation less its expectation
    under Poisson noise, ``mean x (k - G + 1) / N`` (``G`` references estimated from
    the ``k`` areas, of total exposure ``N``), and at least 0."""
    if len(y) == 0 or n.sum() <= 0:
        return 0.0
    spread = (n * (y / n - m[keys]) ** 2).sum() / n.sum()
    # Marshall's m / n-bar with one reference; one degree less per further reference
    free = len(y) - len(np.unique(keys)) + 1
    return max(spread - y.sum() / n.sum() * free / n.sum(), 0.0)
