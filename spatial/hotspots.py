"""Local spatial autocorrelation: local Moran (LISA) and Getis-Ord Gi* (global
Moran's I: :mod:`~zicht.spatial.moran`).

The statistics are those of esda (``Moran_Local`` and ``G_Local`` with
``star=True``): the same formulas, the same conditional permutation scheme (one
matrix of random draws shared by all areas, the area itself left out) and the same
folded pseudo p-value in ``p``. Gi*'s classes are decided under total randomisation
instead (the area's own value drawn too, the null of its z-score): holding the own
value fixed tests Gi* on the neighbours alone and misses a cluster's edge
(``benchmarks/calibration.py``). The permutations run in :mod:`~zicht.spatial.permutation`
(a loop compiled by numba, cached on disk, with a numpy reference).

The ``p`` column is esda's folded pseudo p-value: the smaller permutation tail, so
one-sided in whichever direction the area is extreme. Thresholding it at 0.05 would
flag about 10% of the areas of a random map. Labels are therefore decided on
``p_two_sided``, the two-sided mid-p over all permutations drawn (ties count half, so
an area that ties with most permutations is not called extreme; the analytic Gi*
uses the normal tails of ``z``), corrected for multiple testing (``p_adjusted``):
Benjamini-Hochberg false discovery rate by default, Bonferroni or none on request.
The correction used is stored in ``result.attrs["correction"]``. With ``adaptive``
inference, permutations are added only where the decision is still open (Besag and
Clifford, 1991), so the small p-values that many tests need are reachable.

Areas with a missing value are left out of the weights (never filled with zero) and
get no statistic; an area left without neighbours gets none either.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from libpysal.graph import Graph
>>> g = Graph.build_contiguity(_example_grid(), rook=False)
>>> y = pd.Series(np.r_[np.full(12, 10.0), np.zeros(13)], index=g.unique_ids)
>>> lisa = local_moran(y, g, permutations=99, seed=1)
>>> lisa.loc["a00", "quadrant"], lisa.attrs["correction"]
('HH', 'fdr')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse, stats

from zicht.errors import AnalysisError
from zicht.spatial.permutation import (
    Counts,
    Neighbours,
    Sequential,
    permutation_counts,
    sequential_counts,
)

if TYPE_CHECKING:
    from libpysal.graph import Graph

    from zicht.spatial.weights import Weights

CORRECTIONS = ("fdr", "bonferroni", "none")
INFERENCE = ("adaptive", "permutation", "analytic")
# the sequential permutations stop here: a two-sided p-value down to about 2e-5
MAX_PERMUTATIONS = 99_999
QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
NOT_SIGNIFICANT = "not significant"
LEVELS = (0.01, 0.05, 0.10)  # 99%, 95% and 90% confidence


# --- weights as arrays ------------------------------------------------------------------


def _neighbours(weights: Weights, ids: pd.Index) -> Neighbours:
    """Neighbour lists of a libpysal Graph or W restricted to ``ids`` (in that order)."""
    if hasattr(weights, "adjacency"):  # libpysal.graph.Graph
        adjacency = weights.adjacency
        focal = adjacency.index.get_level_values(0)
        neighbor = adjacency.index.get_level_values(1)
        values = adjacency.to_numpy(dtype=float)
    elif hasattr(weights, "to_adjlist"):  # libpysal.weights.W
        adjlist = weights.to_adjlist(remove_symmetric=False, drop_islands=True)
        focal = pd.Index(adjlist["focal"])
        neighbor = pd.Index(adjlist["neighbor"])
        values = adjlist["weight"].to_numpy(dtype=float)
    else:
        raise TypeError("weights must be a libpysal Graph or W")
    row = ids.get_indexer(focal)
    col = ids.get_indexer(neighbor)
    keep = (row >= 0) & (col >= 0) & (row != col) & (values != 0)
    m = sparse.csr_matrix((values[keep], (row[keep], col[keep])), shape=(len(ids), len(ids)))
    m.sum_duplicates()
    m.sort_indices()
    return Neighbours(ids, m.indptr, m.indices, m.data)


def _row_standardised(nb: Neighbours) -> sparse.csr_matrix:
    """The weights divided by their row sums (rows without neighbours stay empty)."""
    m = nb.matrix()
    sums = np.asarray(m.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / sums) @ m)


def _known(values: pd.Series) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise TypeError("values must be a pandas Series indexed by area code")
    if values.index.has_duplicates:
        raise AnalysisError("values must have unique area codes as index")
    return values.astype(float).dropna()


def _folded(larger: np.ndarray, permutations: int) -> np.ndarray:
    """esda's "directed" pseudo p-value: the smaller tail, (count + 1) / (perms + 1)."""
    folded = np.minimum(larger, permutations - larger)
    return (folded + 1.0) / (permutations + 1.0)


def _uniform_rows(nb: Neighbours) -> bool:
    """Whether every area weighs all its neighbours equally (binary-based weights)."""
    if len(nb.weights) == 0:
        return True
    has = nb.cardinality > 0
    first = np.repeat(nb.weights[nb.indptr[:-1][has]], nb.cardinality[has])
    return bool(np.allclose(nb.weights, first))


# --- multiple testing --------------------------------------------------------------------


def adjust_pvalues(p: np.ndarray, correction: str = "fdr") -> np.ndarray:
    """Adjusted p-values: Benjamini-Hochberg (``fdr``, scipy's
    ``false_discovery_control``), ``bonferroni`` or ``none``.

    NaN stays NaN and does not count as a test.
    """
    if correction not in CORRECTIONS:
        raise AnalysisError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    p = np.asarray(p, dtype=float)
    out = p.copy()
    tested = np.flatnonzero(~np.isnan(p))
    m = len(tested)
    if correction == "none" or m == 0:
        return out
    if correction == "bonferroni":
        out[tested] = np.minimum(p[tested] * m, 1.0)
        return out
    out[tested] = stats.false_discovery_control(p[tested], method="bh")
    return out


# --- statistics -----------------------------------------------------------------------------


def local_moran(
    values: pd.Series,
    weights: Weights,
    permutations: int = 999,
    seed: int = 0,
    correction: str = "fdr",
    alpha: float = 0.05,
    inference: str = "adaptive",
    max_permutations: int = MAX_PERMUTATIONS,
) -> pd.DataFrame:
    """Local Moran's I (LISA) with conditional permutation inference.

    Parameters
    ----------
    values
        One value per area, indexed by area code; NaN areas are left out.
    weights
        A libpysal ``Graph`` or ``W`` with the codes as ids; it is row-standardised here.
    permutations, seed
        Conditional permutations (999 by default) and the seed that makes them
        reproducible.
    correction, alpha
        Multiple-testing correction (``fdr``, ``bonferroni``, ``none``) and the level at
        which an area's quadrant is reported as a cluster.
    inference, max_permutations
        ``adaptive`` (default): areas that might be significant draw more
        permutations, up to ``max_permutations``; ``permutation``: ``permutations``
        only. (``analytic`` applies to Gi* only; LISA then uses ``adaptive``.)

    Returns
    -------
    DataFrame indexed like ``values`` with ``I`` (as esda's ``Is``), ``p`` (pseudo
    p-value of the first ``permutations``, as esda's ``p_sim``), ``p_two_sided`` (mid-p
    over all permutations drawn), ``p_adjusted`` (corrected), ``quadrant`` (HH, LH, LL,
    HL) and ``cluster`` (the quadrant where ``p_adjusted <= alpha``, else ``not
    significant``). Areas without a value or without neighbours have NaN and no label.
    """
    _check_args(permutations, correction, alpha, inference)
    y = _known(values)
    nb = _neighbours(weights, y.index)
    uniform = _uniform_rows(nb)
    counts = _counts(
        y,
        nb if not uniform else nb.binary(),
        not uniform,
        permutations,
        seed,
        correction,
        inference,
        max_permutations,
    )
    return _label_lisa(_local_moran(y, nb, counts, permutations), values.index, correction, alpha)


def getis_ord(
    values: pd.Series,
    weights: Weights,
    permutations: int = 999,
    seed: int = 0,
    correction: str = "fdr",
    inference: str = "adaptive",
    max_permutations: int = MAX_PERMUTATIONS,
) -> pd.DataFrame:
    """Getis-Ord Gi* on binary weights with a self-weight of 1.

    Returns a DataFrame indexed like ``values`` with ``G`` (Gi*), ``z`` (the analytic
    z-score, as esda's ``Zs``), ``p`` (pseudo p-value of the first ``permutations``, as
    esda's ``p_sim``: conditional), ``p_two_sided`` (the mid-p over all permutations
    drawn under total randomisation, the area's own value drawn too, or with
    ``inference="analytic"`` the normal p-value of z, as ArcGIS's Hot Spot Analysis),
    ``p_adjusted`` (corrected) and ``hotspot``: ``hot 99%``, ``hot 95%``, ``hot 90%``,
    ``cold ...`` by the adjusted p-value and the sign of z, or ``not significant``.
    The normal p-value is exact for a normal field only: on rare counts it flags too
    many areas (see ``benchmarks/inference.py``).
    """
    _check_args(permutations, correction, 0.05, inference)
    y = _known(values)
    nb = _neighbours(weights, y.index).binary()
    esda_ge, _ = permutation_counts(y.to_numpy(), nb, permutations, seed, nb.matrix() @ y, False)
    args = (permutations, seed, correction, inference, max_permutations, True)
    total = None if inference == "analytic" else _counts(y, nb, False, *args)
    result = _getis_ord(y, nb, esda_ge, total, permutations)
    return _label_gi(result, values.index, correction)


def local_statistics(
    values: pd.Series,
    weights: Weights,
    permutations: int = 999,
    seed: int = 0,
    correction: str = "fdr",
    alpha: float = 0.05,
    inference: str = "adaptive",
    max_permutations: int = MAX_PERMUTATIONS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """LISA and Gi* from one permutation pass (both permute the same neighbour sums).

    Gives exactly what :func:`local_moran` and :func:`getis_ord` give with the same
    seed, in about half the time, when the weights are binary-based (every area
    weighs its neighbours equally, as contiguity, k-nearest and distance band do).
    """
    _check_args(permutations, correction, alpha, inference)
    y = _known(values)
    nb = _neighbours(weights, y.index)
    if not _uniform_rows(nb):
        return (
            local_moran(
                values, weights, permutations, seed, correction, alpha, inference, max_permutations
            ),
            getis_ord(values, weights, permutations, seed, correction, inference, max_permutations),
        )
    counts = _counts(
        y, nb.binary(), False, permutations, seed, correction, inference, max_permutations
    )
    lisa = _local_moran(y, nb, counts, permutations)
    args = (permutations, seed, correction, inference, max_permutations, True)
    total = None if inference == "analytic" else _counts(y, nb.binary(), False, *args)
    gi = _getis_ord(y, nb, counts.first_ge, total, permutations)
    return (
        _label_lisa(lisa, values.index, correction, alpha),
        _label_gi(gi, values.index, correction),
    )


def _thresholds(correction: str) -> Callable[[np.ndarray], np.ndarray]:
    """The p-value each confidence level (99, 95, 90%) needs, given all p-values:
    Benjamini-Hochberg's ``level x k / m`` at the current number of discoveries ``k``,
    ``level / m`` (Bonferroni) or ``level`` (none)."""

    def cut(p: np.ndarray) -> np.ndarray:
        tested = np.sort(p[np.isfinite(p)])
        m = max(len(tested), 1)
        levels = np.array(LEVELS)
        if correction == "none":
            return levels
        if correction == "bonferroni":
            return levels / m
        ranks = np.arange(1, len(tested) + 1)
        out = []
        for level in levels:
            passed = np.flatnonzero(tested <= level * ranks / m)
            k = passed[-1] + 1 if len(passed) else 1
            out.append(level * k / m)
        return np.array(out)

    return cut


def _counts(
    y: pd.Series,
    source: Neighbours,
    weighted: bool,
    permutations: int,
    seed: int,
    correction: str,
    inference: str,
    max_permutations: int,
    with_self: bool = False,
) -> Counts:
    """The permutation counts of the neighbour sums of ``source``, sequential unless
    ``inference`` is ``permutation``; ``with_self``: Gi*'s total randomisation (the
    area's own value drawn too, and in the observed sum: the null of its z-score)."""
    values = y.to_numpy()
    return sequential_counts(
        values,
        source,
        permutations,
        seed,
        source.matrix() @ values + (values if with_self else 0.0),
        weighted,
        Sequential(_ceiling(inference, permutations, max_permutations), _thresholds(correction)),
        with_self,
    )


def _ceiling(inference: str, permutations: int, max_permutations: int) -> int:
    return permutations if inference == "permutation" else max(permutations, max_permutations)


def _check_args(
    permutations: int, correction: str, alpha: float, inference: str = "adaptive"
) -> None:
    if not isinstance(permutations, (int, np.integer)) or permutations < 1:
        raise AnalysisError(f"permutations must be a positive integer, got {permutations!r}")
    if correction not in CORRECTIONS:
        raise AnalysisError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must lie between 0 and 1, got {alpha!r}")
    if inference not in INFERENCE:
        raise AnalysisError(f"inference must be one of {INFERENCE}, got {inference!r}")


def _local_moran(y: pd.Series, nb: Neighbours, counts: Counts, permutations: int) -> pd.DataFrame:
    n = len(y)
    values = y.to_numpy()
    card = nb.cardinality
    z = values - values.mean()
    sd = values.std()
    z = z / sd if sd > 0 else z
    lag = _row_standardised(nb) @ z
    den = float(z @ z)
    moran_i = (n - 1) * z * lag / den if den > 0 else np.full(n, np.nan)
    quadrant = np.select(
        [(z > 0) & (lag > 0), (z <= 0) & (lag > 0), (z <= 0) & (lag <= 0)], [1, 2, 3], 4
    )
    # I_sim >= I_obs is "neighbour sum >= observed" where z_i > 0 and "<=" where z_i < 0
    larger = np.where(z > 0, counts.first_ge, counts.first_le)
    p = _folded(larger, permutations)
    two = counts.two_sided()  # I_i is monotone in the neighbour sum: the same two tails
    p[z == 0] = two[z == 0] = 1.0  # I_i = 0 whatever the neighbours: never extreme
    p[(card == 0) | (den == 0)] = two[(card == 0) | (den == 0)] = np.nan
    moran_i[card == 0] = np.nan
    return pd.DataFrame(
        {
            "I": moran_i,
            "p": p,
            "p_two_sided": two,
            "quadrant": pd.Series(quadrant).map(QUADRANTS).to_numpy(),
        },
        index=y.index,
    )


def _getis_ord(
    y: pd.Series, nb: Neighbours, esda_ge: np.ndarray, drawn: Counts | None, permutations: int
) -> pd.DataFrame:
    """Gi*, its z-score and p-values: ``p`` esda's (conditional: the own value held
    fixed), ``p_two_sided`` the mid-p under total randomisation (``drawn``; the normal
    p-value of z where None)."""
    n = len(y)
    values = y.to_numpy()
    neighbour_sum = nb.binary().matrix() @ values
    total = values.sum()
    g = (neighbour_sum + values) / total if total != 0 else np.full(n, np.nan)
    # the z-score under randomisation (Getis and Ord, 1995; Ord and Getis, 1995), in
    # the form that does not divide by the mean: equal to esda's G_Local(star=True) Zs
    # where the mean is positive, and right for fields with negative values too
    weight = nb.cardinality + 1.0  # binary weights with the area itself
    mean = total / n
    sd = np.sqrt(max((values**2).sum() / n - mean**2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (neighbour_sum + values - weight * mean) / (
            sd * np.sqrt(weight * (n - weight) / (n - 1))
        )
    p = _folded(esda_ge, permutations)
    two = 2 * stats.norm.sf(np.abs(z)) if drawn is None else drawn.two_sided()
    no_test = (nb.cardinality == 0) | ~np.isfinite(z)
    p[no_test] = two[no_test] = np.nan
    z[nb.cardinality == 0] = np.nan
    return pd.DataFrame({"G": g, "z": z, "p": p, "p_two_sided": two}, index=y.index)


def two_sided(p: np.ndarray) -> np.ndarray:
    """The two-sided p-value of a folded (smaller-tail) pseudo p-value."""
    return np.minimum(1.0, 2.0 * np.asarray(p, dtype=float))


def _label_lisa(
    result: pd.DataFrame, index: pd.Index, correction: str, alpha: float
) -> pd.DataFrame:
    result["p_adjusted"] = adjust_pvalues(result["p_two_sided"].to_numpy(), correction)
    significant = result["p_adjusted"] <= alpha
    result["cluster"] = np.where(significant, result["quadrant"], NOT_SIGNIFICANT)
    result.loc[result["p"].isna(), ["quadrant", "cluster"]] = None
    out = result.reindex(index)[["I", "p", "p_two_sided", "p_adjusted", "quadrant", "cluster"]]
    out.attrs.update(correction=correction, alpha=alpha)
    return out


def _label_gi(result: pd.DataFrame, index: pd.Index, correction: str) -> pd.DataFrame:
    result["p_adjusted"] = adjust_pvalues(result["p_two_sided"].to_numpy(), correction)
    result["hotspot"] = hotspot_classes(result["z"].to_numpy(), result["p_adjusted"].to_numpy())
    out = result.reindex(index)[["G", "z", "p", "p_two_sided", "p_adjusted", "hotspot"]]
    out.attrs.update(correction=correction)
    return out


def hotspot_classes(z: np.ndarray, p_adjusted: np.ndarray) -> np.ndarray:
    """``hot 99%`` ... ``cold 90%`` by adjusted p-value and the sign of z, as ArcGIS's
    Gi_Bin; ``not significant`` otherwise and None where there is no test."""
    labels = np.full(len(z), NOT_SIGNIFICANT, dtype=object)
    for level in sorted(LEVELS, reverse=True):
        hit = p_adjusted <= level
        confidence = f"{round((1 - level) * 100)}%"
        labels[hit & (z > 0)] = f"hot {confidence}"
        labels[hit & (z < 0)] = f"cold {confidence}"
    labels[np.isnan(p_adjusted)] = None
    return labels


def _example_grid() -> tuple[pd.Series, Graph]:
    """A 5 x 5 grid of unit squares with ids a00..a24 (for the examples)."""
    import geopandas as gpd
    import shapely

    boxes = [shapely.box(c, r, c + 1, r + 1) for r in range(5) for c in range(5)]
    return gpd.GeoSeries(boxes, index=[f"a{i:02d}" for i in range(25)])
