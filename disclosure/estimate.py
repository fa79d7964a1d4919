"""Point estimates of withheld cells from published figures only.

An outsider who reads the output knows an interval for every withheld cell: the
attacker's bounds of :mod:`disclosure.audit` (rounding, rules, hierarchy, relations).
Within that interval this module picks one value, from published figures alone, so
that scores can cover the whole map without depending on anything withheld.

The estimator is the proportional ("synthetic") estimator of small-area estimation
(Rao and Molina, 2015, *Small Area Estimation*, 2nd ed., section 3.2.1), constrained
to the outsider's feasible set. Top-down over the hierarchy, the rest of a parent
(its value, published or estimated, minus its children's published values) is shared
over its withheld children in proportion to a published exposure (inhabitants, or the
estimate of the larger indicator for a subset), each child clipped to its interval;
what clipping takes from one child goes to the others (one multiplier per parent,
found by bisection, so the shares add up to the rest wherever the intervals allow).
A withheld cell without a parent gets the rate (value per unit of exposure) of the
published cells of the coarsest level that has any, times its exposure, clipped to
its interval.

>>> parent = np.array([-1, 0, 0, 0])
>>> published = np.array([20.0, 10.0, np.nan, np.nan])
>>> low = np.array([20.0, 10.0, 0.0, 0.0])
>>> high = np.array([20.0, 10.0, 3.0, 10.0])
>>> exposure = np.array([400.0, 100.0, 100.0, 200.0])
>>> top_down(parent, published, low, high, exposure).round(6).tolist()  # rest 10, 1:2; 3 caps
[20.0, 10.0, 3.0, 7.0]
"""

from __future__ import annotations

import numpy as np

# geometric halvings of the multiplier's bracket [1e-300, max]: exact to the last bit,
# however far a near-zero exposure stretches the bracket
_BISECTIONS = 200


def top_down(
    parent: np.ndarray,
    published: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    exposure: np.ndarray,
) -> np.ndarray:
    """Published values, and estimates for the withheld ones (NaN in ``published``).

    Parameters
    ----------
    parent
        Position of each cell's parent (-1: none); cells of one indicator over the
        levels of a hierarchy.
    published
        The published values, NaN where withheld.
    low, high
        The outsider's interval of every cell (``high`` may be infinite).
    exposure
        What a withheld child's share is proportional to (NaN or 0: the mean exposure
        of its siblings).

    Returns
    -------
    numpy.ndarray
        ``published`` where published, else an estimate within ``[low, high]``.
    """
    parent = np.asarray(parent, dtype=np.int64)
    point = np.asarray(published, dtype=float).copy()
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    weight = _weights(parent, np.asarray(exposure, dtype=float))
    depth = _depths(parent)
    roots = np.flatnonzero((parent < 0) & np.isnan(point))
    point[roots] = _ratio_estimate(depth, point, low, high, weight, roots)
    for d in range(1, int(depth.max(initial=0)) + 1):
        cells = np.flatnonzero((depth == d) & np.isnan(point))
        if len(cells):
            point[cells] = _share_rest(parent, point, depth == d, cells, low, high, weight)
    return point


def _depths(parent: np.ndarray) -> np.ndarray:
    """Distance of every cell from its root (0 for a root)."""
    depth = np.zeros(len(parent), dtype=np.int64)
    up = parent.copy()
    while (up >= 0).any():
        depth += up >= 0
        up = np.where(up >= 0, parent[np.maximum(up, 0)], -1)
    return depth


def _weights(parent: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Exposure as share weights; where missing or 0, the mean of the siblings' (or 1)."""
    ok = np.isfinite(exposure) & (exposure > 0)
    key = np.where(parent >= 0, parent, len(parent))
    total = np.bincount(key, weights=np.where(ok, exposure, 0.0), minlength=len(parent) + 1)
    n = np.bincount(key, weights=ok.astype(float), minlength=len(parent) + 1)
    mean = np.divide(total, n, out=np.ones_like(total), where=n > 0)[key]
    return np.where(ok, exposure, mean)


def _ratio_estimate(
    depth: np.ndarray,
    point: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    weight: np.ndarray,
    cells: np.ndarray,
) -> np.ndarray:
    """Withheld roots: the value per unit of exposure of the published cells of the
    coarsest level that has any, times their exposure."""
    shown = ~np.isnan(point)
    rate = 0.0
    if shown.any():
        known = shown & (depth == depth[shown].min())
        with np.errstate(over="ignore"):
            rate = point[known].sum() / weight[known].sum()
        rate = rate if np.isfinite(rate) else 0.0
    return np.clip(rate * weight[cells], low[cells], high[cells])


def _share_rest(
    parent: np.ndarray,
    point: np.ndarray,
    at_depth: np.ndarray,
    cells: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    weight: np.ndarray,
) -> np.ndarray:
    """The withheld ``cells`` of one depth: each parent's rest shared in proportion to
    ``weight``, every share within its interval (one multiplier per parent)."""
    n = len(point)
    shown = np.flatnonzero(at_depth & ~np.isnan(point))
    children_sum = np.bincount(parent[shown], weights=point[shown], minlength=n)
    group = parent[cells]
    rest = point[group] - children_sum[group]  # per cell: its parent's rest
    lo, hi, w = low[cells], high[cells], weight[cells]
    # shares depend on ratios within a parent only: the largest weight of each parent
    # is 1 and none is below 1e-12 of it, so that a subnormal exposure (5e-324) can
    # neither overflow the multiplier nor vanish into a zero weight
    largest = np.zeros(n)
    np.maximum.at(largest, group, w)
    w = np.maximum(w / largest[group], 1e-12)
    # a multiplier at which every share is at its upper bound or the rest is reached
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        reach = np.maximum(np.where(np.isfinite(hi), hi / w, 0.0), np.maximum(rest, 0.0) / w)
    reach = np.minimum(reach, 1e300)
    bracket = np.zeros(n)
    np.maximum.at(bracket, group, reach)
    lower, upper = np.full(len(cells), 1e-300), np.maximum(bracket[group], 1e-300)
    for _ in range(_BISECTIONS):
        middle = np.sqrt(lower) * np.sqrt(upper)
        filled = np.bincount(group, weights=np.clip(middle * w, lo, hi), minlength=n)[group]
        below = filled < rest
        lower, upper = np.where(below, middle, lower), np.where(below, upper, middle)
    share = upper * w
    return np.clip(np.where(share < 1e-9, 0.0, share), lo, hi)  # no 1e-298 counts


def ratio_interval(
    numerator: tuple[np.ndarray, np.ndarray],
    denominator: tuple[np.ndarray, np.ndarray],
    per: float,
    at_most_whole: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The interval of ``numerator / denominator * per`` from the parts' intervals;
    ``at_most_whole`` (a share of a subset) caps it at ``per``."""
    (n_low, n_high), (d_low, d_high) = numerator, denominator
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(d_high > 0, n_low / d_high * per, 0.0)
        high = np.where(d_low > 0, n_high / d_low * per, np.inf)
    if at_most_whole:
        low, high = np.minimum(low, per), np.minimum(high, per)
    return low, high
