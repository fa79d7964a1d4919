"""A transparent composite risk index: standardise each indicator, weigh, average.

Each indicator is standardised robustly and turned so that higher means more risk:

- ``rank`` (default): the area's percentile among areas with a value, centred on 0
  (-0.5 lowest, +0.5 highest). Invariant to any monotone transform of an indicator,
  so a skewed count and its logarithm give the same index.
- ``robust``: (value - median) / IQR, winsorised at +/- ``clip``.

The index of an area is the weighted mean of its standardised indicators over the
indicators it has; ``coverage`` is the share of the total weight that was available
(a missing indicator is never a silent zero). Each indicator's signed contribution
is its weight times its standardised value divided by the available weight, so the
contributions add up to the index exactly.

Examples
--------
>>> import pandas as pd
>>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0, None], "b": [30.0, 10.0, 20.0, 40.0]},
...                  index=["w", "x", "y", "z"])
>>> index = CompositeIndex(directions={"a": "higher", "b": "lower"}).fit(X)
>>> index.score(X).round(3).tolist()
[-0.229, 0.188, 0.229, -0.375]
>>> index.coverage(X).tolist()
[1.0, 1.0, 1.0, 0.5]
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from zicht.errors import AnalysisError

METHODS = ("rank", "robust")
DIRECTIONS = ("higher", "lower")  # which end of an indicator is the risky one


class CompositeIndex(TransformerMixin, BaseEstimator):
    """Direction-aware robust composite of indicators (columns of a DataFrame).

    Parameters
    ----------
    directions
        Per column ``higher`` (more is riskier, the default) or ``lower``.
    weights
        Per column weight; equal weights by default. Weights need not sum to one.
    method
        ``rank`` or ``robust`` standardisation (see the module docstring).
    clip
        Winsorisation bound for ``robust`` standardisation, in IQRs.
    """

    def __init__(
        self,
        directions: dict[str, str] | None = None,
        weights: dict[str, float] | None = None,
        method: str = "rank",
        clip: float = 3.0,
    ):
        self.directions = directions
        self.weights = weights
        self.method = method
        self.clip = clip

    def fit(self, X: pd.DataFrame, y: object = None) -> CompositeIndex:
        if self.method not in METHODS:
            raise AnalysisError(f"method must be one of {METHODS}, got {self.method!r}")
        if not isinstance(X, pd.DataFrame) or X.shape[1] == 0:
            raise AnalysisError("X must be a DataFrame with at least one indicator column")
        directions = dict(self.directions or {})
        weights = dict(self.weights or {})
        for column in set(directions) | set(weights):
            if column not in X.columns:
                raise AnalysisError(f"direction or weight given for unknown column {column!r}")
        for column, direction in directions.items():
            if direction not in DIRECTIONS:
                raise AnalysisError(f"direction of {column!r} must be 'higher' or 'lower'")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.sign_ = np.array([-1.0 if directions.get(c) == "lower" else 1.0 for c in X.columns])
        self.weight_ = np.array([float(weights.get(c, 1.0)) for c in X.columns])
        if (self.weight_ < 0).any() or self.weight_.sum() == 0:
            raise AnalysisError("weights must be non-negative and not all zero")
        values = X.to_numpy(dtype=float)
        self.reference_ = [np.sort(col[~np.isnan(col)]) for col in values.T]
        self.median_ = np.array([np.median(r) if len(r) else np.nan for r in self.reference_])
        q75 = np.array([np.percentile(r, 75) if len(r) else np.nan for r in self.reference_])
        q25 = np.array([np.percentile(r, 25) if len(r) else np.nan for r in self.reference_])
        iqr = q75 - q25
        self.iqr_ = np.where(iqr > 0, iqr, 1.0)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Standardised, direction-aligned indicator values (NaN stays NaN)."""
        check_is_fitted(self)
        X = X[list(self.feature_names_in_)]
        return pd.DataFrame(self.standardise(X), index=X.index, columns=X.columns)

    def standardise(self, X: pd.DataFrame) -> np.ndarray:
        """:meth:`transform`'s values as an array (areas x fitted columns)."""
        check_is_fitted(self)
        values = X[list(self.feature_names_in_)].to_numpy(dtype=float)
        out = np.full(values.shape, np.nan)
        for j, reference in enumerate(self.reference_):
            col = values[:, j]
            known = ~np.isnan(col)
            if self.method == "rank":
                if len(reference) == 0:
                    continue
                # mid-rank percentile: ties share the average of their ranks
                below = np.searchsorted(reference, col[known], side="left")
                upto = np.searchsorted(reference, col[known], side="right")
                out[known, j] = (below + upto) / 2 / len(reference) - 0.5
            else:
                z = (col[known] - self.median_[j]) / self.iqr_[j]
                out[known, j] = np.clip(z, -self.clip, self.clip)
        return out * self.sign_

    def contributions(
        self, X: pd.DataFrame, standardised: np.ndarray | None = None
    ) -> pd.DataFrame:
        """Signed contribution of each indicator; rows add up to :meth:`score`.
        ``standardised``: :meth:`standardise` of ``X``, where the caller has it (from
        an index of the same data, method and directions: weights do not change it)."""
        check_is_fitted(self)
        X = X[list(self.feature_names_in_)]
        values = self.standardise(X) if standardised is None else standardised
        frame = pd.DataFrame(values, index=X.index, columns=X.columns)
        available = (~frame.isna()).to_numpy() * self.weight_
        total = available.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, available / total, np.nan)
        return frame.fillna(0.0) * share

    def score(  # noqa: D102 (not sklearn's score)
        self, X: pd.DataFrame, standardised: np.ndarray | None = None
    ) -> pd.Series:
        """The composite index per area (NaN where no indicator is available);
        ``standardised`` as :meth:`contributions` takes it."""
        contributions = self.contributions(X, standardised)
        covered = self.coverage(X) > 0
        return contributions.sum(axis=1).where(covered)

    def refit_scores(self, values: np.ndarray) -> np.ndarray:
        """The index refitted and scored on every draw of ``values`` (draws x areas x
        indicators, in the fitted columns' order): each draw standardised against
        itself, as :meth:`fit` then :meth:`score` would (draws x areas)."""
        check_is_fitted(self)
        known = ~np.isnan(values)
        if self.method == "rank":
            below, upto = tie_counts(values, axis=1)
            return _mean_of_ranks(below, upto, known, known.sum(axis=1), self.sign_, self.weight_)
        with np.errstate(all="ignore"):
            q25, median, q75 = np.nanpercentile(values, [25, 50, 75], axis=1, keepdims=True)
        iqr = np.where(q75 - q25 > 0, q75 - q25, 1.0)
        z = np.clip((values - median) / iqr, -self.clip, self.clip)
        z = np.where(known, z * self.sign_, 0.0)
        available = known * self.weight_
        total = available.sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, (z * available).sum(axis=2) / total, np.nan)

    def coverage(self, X: pd.DataFrame) -> pd.Series:
        """Share of the total weight whose indicator the area has (0 to 1)."""
        check_is_fitted(self)
        known = ~X[list(self.feature_names_in_)].isna().to_numpy()
        return pd.Series((known * self.weight_).sum(axis=1) / self.weight_.sum(), index=X.index)


def tie_counts(values: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Per value, how many values of its slice along ``axis`` are smaller (``below``)
    and how many are smaller or equal (``upto``); NaN is left out of the counts (and
    its own counts mean nothing). The ``min``, ``max`` and ``average`` ranks of
    scipy's ``rankdata`` and pandas' ``rank`` are ``below + 1``, ``upto`` and
    ``(below + upto + 1) / 2``; every slice is ranked by one vectorised argsort and
    one pass over the sorted values (compiled by numba).

    >>> below, upto = tie_counts(np.array([[3.0, 1.0, np.inf, 3.0, np.nan, 2.0]]))
    >>> below[0, [0, 1, 2, 3, 5]].tolist(), upto[0, [0, 1, 2, 3, 5]].tolist()
    ([2, 0, 4, 2, 1], [4, 1, 5, 4, 2])
    """
    moved = np.moveaxis(values, axis, -1)
    shape = moved.shape
    missing = np.isnan(moved).reshape(-1, shape[-1])
    # NaN sorted as +inf: numpy's vectorised argsort takes a slow path over NaN
    keys = np.where(missing, np.inf, moved.reshape(-1, shape[-1]))
    order = np.argsort(keys, axis=-1)
    below, upto = _ties_in_order(keys, order, shape[-1] - missing.sum(axis=-1))
    return (
        np.moveaxis(below.reshape(shape), -1, axis),
        np.moveaxis(upto.reshape(shape), -1, axis),
    )


@numba.njit(cache=True, nogil=True)
def _ties_in_order(
    keys: np.ndarray, order: np.ndarray, known: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover (compiled)
    """:func:`tie_counts` of every row of ``keys`` (NaN as +inf) in its sorted
    ``order``; ``known`` of each row's values are not NaN (a +inf is not above them)."""
    rows, n = keys.shape
    below = np.empty((rows, n), dtype=np.int64)
    upto = np.empty((rows, n), dtype=np.int64)
    for r in range(rows):
        start = 0
        while start < n:
            end = start
            value = keys[r, order[r, start]]
            while end + 1 < n and keys[r, order[r, end + 1]] == value:
                end += 1
            for k in range(start, end + 1):
                below[r, order[r, k]] = start
                upto[r, order[r, k]] = min(end + 1, known[r])
            start = end + 1
    return below, upto


@numba.njit(cache=True, nogil=True)
def _mean_of_ranks(
    below: np.ndarray,
    upto: np.ndarray,
    known: np.ndarray,
    count: np.ndarray,
    sign: np.ndarray,
    weight: np.ndarray,
) -> np.ndarray:  # pragma: no cover (compiled)
    """:meth:`CompositeIndex.refit_scores` by ranks (draws x areas), from each
    value's :func:`tie_counts` along the areas, whether it is ``known`` and the
    ``count`` of known values per draw and indicator. Each area's mid-rank percentile
    (scipy's average rank, centred) times its sign, weighted over its known
    indicators, in one pass instead of numpy's six over draws x areas x indicators
    arrays; every step and sum as numpy makes it (:func:`_numpy_sum`), so the scores
    are numpy's to the last bit."""
    draws, areas, width = below.shape
    out = np.empty((draws, areas))
    weighted, available = np.empty(width), np.empty(width)
    for d in range(draws):
        for a in range(areas):
            for j in range(width):
                if known[d, a, j]:
                    rank = (below[d, a, j] + upto[d, a, j] + 1) / 2
                    weighted[j] = ((rank - 0.5) / count[d, j] - 0.5) * sign[j] * weight[j]
                    available[j] = weight[j]
                else:
                    weighted[j] = available[j] = 0.0
            total = _numpy_sum(available)
            out[d, a] = _numpy_sum(weighted) / total if total > 0 else np.nan
    return out


@numba.njit(cache=True, nogil=True)
def _numpy_sum(values: np.ndarray) -> float:  # pragma: no cover (compiled)
    """``values.sum()`` as numpy adds up a contiguous run: its pairwise summation
    (:func:`_pairwise`) after the identity 0.0, so that a sum here equals numpy's."""
    return 0.0 + _pairwise(values)


@numba.njit(cache=True, nogil=True)
def _pairwise(values: np.ndarray) -> float:  # pragma: no cover (compiled)
    """numpy's pairwise summation: in order below 8 values; up to 128, eight running
    sums combined pairwise and the rest in order; above, the two halves (a multiple
    of 8 in the first) apart."""
    n = len(values)
    if n < 8:
        total = -0.0
        for v in values:
            total += v
        return total
    if n > 128:
        half = n // 2
        half -= half % 8
        return _pairwise(values[:half]) + _pairwise(values[half:])
    runs = values[:8].copy()
    end = n - n % 8
    for i in range(8, end, 8):
        for j in range(8):
            runs[j] += values[i + j]
    total = ((runs[0] + runs[1]) + (runs[2] + runs[3])) + (
        (runs[4] + runs[5]) + (runs[6] + runs[7])
    )
    for i in range(end, n):
        total += values[i]
    return total


def percentile_score(raw: pd.Series) -> pd.Series:
    """0-100: the share of areas (with a score) at or below this one, times 100."""
    known = raw.dropna()
    if known.empty:
        return raw * np.nan
    return (known.rank(method="max", pct=True) * 100).reindex(raw.index)


def percentile_against(values: pd.Series, raw: pd.Series) -> pd.Series:
    """The percentile score each area would get with raw score ``values`` while every
    other area has its ``raw`` score (:func:`percentile_score` where the two are the
    same series): the ends of a score's range."""
    known = np.sort(raw.dropna().to_numpy())
    if not len(known):
        return values * np.nan
    v, own = values.to_numpy(dtype=float), raw.reindex(values.index).to_numpy(dtype=float)
    at_or_below = np.searchsorted(known, v, side="right") - (own <= v) + 1
    out = pd.Series(at_or_below / len(known) * 100, index=values.index)
    return out.where(~np.isnan(v) & ~np.isnan(own))


def rank_against(values: pd.Series, raw: pd.Series) -> pd.Series:
    """The rank (1 = highest) each area would get with raw score ``values`` while
    every other area has its ``raw`` score (:func:`rank_of` where the two are the same
    series): the ends of a rank's range."""
    known = np.sort(raw.dropna().to_numpy())
    v, own = values.to_numpy(dtype=float), raw.reindex(values.index).to_numpy(dtype=float)
    above = len(known) - np.searchsorted(known, v, side="right") - (own > v)
    out = pd.Series(above + 1.0, index=values.index)
    return out.where(~np.isnan(v) & ~np.isnan(own))


def rank_of(raw: pd.Series) -> pd.Series:
    """1 for the highest score; ties share the best rank; NaN stays NaN."""
    return raw.rank(ascending=False, method="min")
