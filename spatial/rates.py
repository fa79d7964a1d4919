"""Rates with their exposure, shrunk where the exposure is small (empirical Bayes).

A buurt with 2 sales of which 1 went to a company has a rate of 50%; that says
little. Hotspots and scores of counts therefore run on rates against an exposure
(inhabitants, dwellings, sales, companies), shrunk towards a reference rate in
proportion to how little the area's own exposure tells: Marshall's (1991) empirical
Bayes estimator, "Mapping disease and mortality rates using empirical Bayes
estimators", Applied Statistics 40: 283-294 (esda's ``Empirical_Bayes`` when shrunk
towards the overall rate).

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


def shrinkage(
    counts: pd.Series,
    exposure: pd.Series,
    groups: pd.Series | None = None,
    observed: pd.Series | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Marshall's reference rate and shrinkage weight per area.

    The smoothed rate is ``reference + weight * (crude - reference)``: ``m`` the
    reference rate, ``n_i`` the area's exposure, ``A`` the variance of the true rates
    around their references (the moment estimate, 0 where it comes out negative: full
    shrinkage) and ``weight = A / (A + m / n_i)``. The reference is the overall rate,
    or with ``groups`` (area -> group code, e.g. its wijk) the rate of the area's group
    (Marshall's local estimator); ``A`` is pooled over all areas, since a group of five
    buurten cannot estimate a variance of its own. ``observed`` (bool per area)
    restricts the variance estimate to areas whose count was observed rather than
    estimated: an estimate shared out in proportion to exposure has its group's rate by
    construction and would understate the variance. Both are NaN where the area has no
    count or no exposure.
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
    mean = y.sum() / n.sum()
    own = np.ones(len(y), dtype=bool)
    if observed is not None:
        own = observed.reindex(counts.index)[known].fillna(False).to_numpy(dtype=bool)
    between = 0.0
    if own.any():
        yo, no, mo = y[own], n[own], m[keys][own]
        between = max((no * (yo / no - mo) ** 2).sum() / no.sum() - mean / no.mean(), 0.0)
    variance = between + m[keys] / n
    reference[known] = m[keys]
    weight[known] = np.divide(between, variance, out=np.zeros(len(y)), where=variance > 0)
    return reference, weight
