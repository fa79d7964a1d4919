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

from boundaries.errors import AnalysisError


def empirical_bayes(
    counts: pd.Series, exposure: pd.Series, groups: pd.Series | None = None
) -> pd.Series:
    """Empirical Bayes rates ``counts / exposure`` (per unit of exposure).

    Each crude rate is shrunk towards the reference rate with weight
    ``A / (A + m / n_i)``: ``m`` the reference rate, ``n_i`` the area's exposure and
    ``A`` the variance of the true rates between areas (Marshall's moment estimate,
    0 where it comes out negative: full shrinkage). The reference is the overall rate,
    or with ``groups`` (an area -> group code, e.g. its wijk or gemeente) the rate of
    the area's group. Areas without a count or with no exposure get NaN.
    """
    if not counts.index.equals(exposure.index):
        raise AnalysisError("counts and exposure must have the same areas in the same order")
    if (exposure.dropna() < 0).any() or (counts.dropna() < 0).any():
        raise AnalysisError("counts and exposure must not be negative")
    known = counts.notna() & exposure.notna() & (exposure > 0)
    out = pd.Series(np.nan, index=counts.index)
    if groups is None:
        keys = pd.Series(0, index=counts.index)
    else:
        keys = groups.reindex(counts.index)
    for _, members in counts[known].groupby(keys[known]).groups.items():
        out[members] = _shrink(counts[members].to_numpy(float), exposure[members].to_numpy(float))
    return out


def _shrink(y: np.ndarray, n: np.ndarray) -> np.ndarray:
    mean = y.sum() / n.sum()
    crude = y / n
    between = (n * (crude - mean) ** 2).sum() / n.sum() - mean / n.mean()
    between = max(between, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(between + mean / n > 0, between / (between + mean / n), 0.0)
    return weight * crude + (1 - weight) * mean
