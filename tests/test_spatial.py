"""spatial/: weights, LISA, Gi*, multiple testing, emerging hot spots."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from libpysal.graph import Graph

from tests.conftest import SAMPLE_2015
from zicht.boundaries import read_boundaries
from zicht.engine.data import DEMO_BOUNDARIES
from zicht.spatial.hotspots import (
    adjust_pvalues,
    getis_ord,
    local_moran,
    local_statistics,
    two_sided,
)
from zicht.spatial.moran import global_moran, global_morans
from zicht.spatial.trends import _pattern, emerging_hotspots, mann_kendall
from zicht.spatial.weights import contiguity, distance_band, knn, queen_with_islands


def grid(rows: int, cols: int) -> gpd.GeoDataFrame:
    boxes = [
        shapely.box(c * 100, r * 100, (c + 1) * 100, (r + 1) * 100)
        for r in range(rows)
        for c in range(cols)
    ]
    ids = [f"c{r:03d}{c:03d}" for r in range(rows) for c in range(cols)]
    return gpd.GeoDataFrame(geometry=boxes, index=pd.Index(ids), crs="EPSG:28992")


@pytest.fixture(scope="module")
def amsterdam():
    b = read_boundaries(DEMO_BOUNDARIES)
    raw = gpd.read_file(DEMO_BOUNDARIES).set_index("buurtcode").reindex(b.areas.index)
    return b.areas, raw


# --- weights -------------------------------------------------------------------------


def test_islands_are_joined_to_their_nearest_area():
    areas = read_boundaries(SAMPLE_2015).areas
    queen = Graph.build_contiguity(areas.geometry, rook=False)
    assert {"BU16690401", "BU16690402", "BU16690404"} <= set(queen.isolates)
    result = queen_with_islands(areas, islands_k=1)
    assert set(result.islands) == set(queen.isolates)
    assert len(result.graph.isolates) == 0
    for island in result.islands:
        neighbours = list(result.graph.neighbors[island])
        distances = areas.geometry.drop(island).distance(areas.geometry[island])
        assert distances[neighbours[0]] == pytest.approx(distances.min())
        assert island in result.graph.neighbors[neighbours[0]]  # symmetric


def test_knn_and_distance_band_options():
    g = grid(4, 4)
    assert set(knn(g, k=3).cardinalities) == {3}
    band = distance_band(g, 101)
    assert band.cardinalities["c000000"] == 2 and band.cardinalities["c001001"] == 4
    with pytest.raises(ValueError, match="positive metres"):
        distance_band(g, 0)
    with pytest.raises(ValueError, match="projected CRS"):
        contiguity(g.to_crs(4326))


# --- agreement with esda ------------------------------------------------------------------


@pytest.mark.slow  # esda compiles its numba kernels in every process: about 30 s
def test_statistics_equal_esda_and_p_values_agree(amsterdam):
    import esda

    areas, raw = amsterdam
    # a continuous figure (no ties): the p-values are comparable one by one
    y = raw["woz_waarde" if "woz_waarde" in raw else "wozWaarde"].dropna()
    y = y + np.random.default_rng(0).random(len(y)) * 1e-3
    g = contiguity(areas.loc[y.index])
    w = g.to_W()
    order = pd.Index(w.id_order)
    ours_lisa = local_moran(y, g, permutations=999, seed=3)
    ours_gi = getis_ord(y, g, permutations=999, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lisa = esda.Moran_Local(y.loc[order].to_numpy(), w, permutations=999, seed=3)
        gi = esda.G_Local(
            y.loc[order].to_numpy(), w, transform="B", star=True, permutations=999, seed=3, n_jobs=1
        )
    np.testing.assert_allclose(ours_lisa.loc[order, "I"], lisa.Is, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours_gi.loc[order, "z"], gi.Zs, rtol=0, atol=1e-9)
    quads = pd.Series(lisa.q).map({1: "HH", 2: "LH", 3: "LL", 4: "HL"}).to_numpy()
    assert (ours_lisa.loc[order, "quadrant"].to_numpy() == quads).all()
    for ours, theirs in (
        (ours_lisa.loc[order, "p"], lisa.p_sim),
        (ours_gi.loc[order, "p"], gi.p_sim),
    ):
        diff = ours.to_numpy() - theirs
        # two independent Monte Carlo estimates of the same p: SE of the difference
        se = np.sqrt(2 * theirs * (1 - theirs) / 999) + 1 / 999
        assert np.mean(np.abs(diff) > 4 * se) < 0.005
        assert abs(diff.mean()) < 0.005
        assert np.corrcoef(ours, theirs)[0, 1] > 0.98
    moran = global_moran(y, g, permutations=199, seed=1)
    assert moran.I == pytest.approx(
        esda.Moran(y.loc[order].to_numpy(), w, permutations=0).I, abs=1e-12
    )


def test_libpysal_w_is_accepted_and_results_are_seeded(amsterdam):
    areas, raw = amsterdam
    y = raw["misdrijven_2024"].dropna()
    g = contiguity(areas.loc[y.index])
    a = local_moran(y, g, permutations=99, seed=5)
    b = local_moran(y, g.to_W(), permutations=99, seed=5)
    c = local_moran(y, g, permutations=99, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a["p"].equals(c["p"])
    lisa, gi = local_statistics(y, g, permutations=99, seed=5)
    pd.testing.assert_frame_equal(lisa, a)
    pd.testing.assert_frame_equal(gi, getis_ord(y, g, permutations=99, seed=5))


# --- known answers on hand-made lattices ----------------------------------------------------


def test_planted_cluster_is_found():
    g = grid(20, 20)
    rng = np.random.default_rng(1)
    y = pd.Series(rng.normal(10, 1, len(g)), index=g.index)
    block = [f"c{r:03d}{c:03d}" for r in range(8, 13) for c in range(8, 13)]
    y[block] += 4
    w = contiguity(g)
    lisa, gi = local_statistics(y, w, permutations=999, seed=0)
    centre = [f"c{r:03d}{c:03d}" for r in range(9, 12) for c in range(9, 12)]
    assert (lisa.loc[centre, "cluster"] == "HH").all()
    # 999 permutations: two-sided p >= 0.002, so after FDR over 400 areas 95% is the most
    assert gi.loc[centre, "hotspot"].isin(["hot 95%", "hot 99%"]).all()
    lisa_more, gi_more = local_statistics(y, w, permutations=9999, seed=0)
    assert (gi_more.loc[centre, "hotspot"] == "hot 99%").all()
    far = [i for i in g.index if int(i[1:4]) < 4 or int(i[1:4]) > 16]
    assert (gi.loc[far, "hotspot"].str.startswith("hot")).mean() < 0.02


def test_random_field_false_positives_before_and_after_correction():
    g = grid(30, 30)
    w = contiguity(g)
    raw_rate, fdr_rate = [], []
    for seed in range(3):
        y = pd.Series(np.random.default_rng(100 + seed).normal(size=len(g)), index=g.index)
        none = local_moran(y, w, permutations=999, seed=seed, correction="none")
        fdr = local_moran(y, w, permutations=999, seed=seed, correction="fdr")
        raw_rate.append((none["cluster"] != "not significant").mean())
        fdr_rate.append((fdr["cluster"] != "not significant").mean())
    assert 0.02 < np.mean(raw_rate) < 0.09  # about alpha = 5% before correction
    assert np.mean(fdr_rate) < 0.01  # far fewer after
    assert fdr.attrs["correction"] == "fdr"


def test_missing_values_are_left_out_not_zero():
    g = grid(5, 5)
    w = contiguity(g)
    y = pd.Series(np.arange(25, dtype=float), index=g.index)
    y_missing = y.copy()
    y_missing["c002002"] = np.nan
    result = local_moran(y_missing, w, permutations=99, seed=0)
    assert np.isnan(result.loc["c002002", "I"]) and pd.isna(result.loc["c002002", "cluster"])
    # the same as computing on the other 24 areas with the area removed from the weights
    sub = w.subgraph(y.drop("c002002").index)
    expected = local_moran(y.drop("c002002"), sub, permutations=99, seed=0)
    pd.testing.assert_frame_equal(result.drop("c002002"), expected, check_like=True)
    filled = local_moran(y_missing.fillna(0), w, permutations=99, seed=0)
    assert not np.allclose(filled.drop("c002002")["I"], expected["I"])


def test_benjamini_hochberg_and_bonferroni_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    bh = adjust_pvalues(p, "fdr")
    # sorted 0.01, 0.03, 0.04, 0.20 -> 0.04, 0.06, 0.0533, 0.20 -> step-up minimum
    np.testing.assert_allclose(bh[:4], [0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert np.isnan(bh[4])
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni")[:4], [0.04, 0.16, 0.12, 0.8])
    np.testing.assert_allclose(adjust_pvalues(p, "none")[:4], p[:4])
    with pytest.raises(ValueError, match="correction must be one of"):
        adjust_pvalues(p, "holm")


# --- trends ----------------------------------------------------------------------------------


def test_mann_kendall_by_hand():
    s, p = mann_kendall(
        np.array(
            [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [1, 1, 1, 1, 1], [1, np.nan, 2, 3, 4]], dtype=float
        )
    )
    assert s[:3].tolist() == [10, -10, 0]
    # n = 5: var(S) = 5*4*15/18; z = (10 - 1) / sqrt(var)
    from scipy import stats

    assert p[0] == pytest.approx(2 * stats.norm.sf(9 / np.sqrt(5 * 4 * 15 / 18)))
    assert p[2] == 1.0 and np.isnan(p[3])


@pytest.mark.parametrize(
    "hot, cold, s, p, expected",
    [
        ([0, 0, 0, 0, 1], [0] * 5, 1, 0.5, "new"),
        ([0, 0, 0, 1, 1], [0] * 5, 1, 0.5, "consecutive"),
        ([1, 1, 1, 1, 1], [0] * 5, 10, 0.03, "intensifying"),
        ([1, 1, 1, 1, 1], [0] * 5, 2, 0.5, "persistent"),
        ([1, 1, 1, 1, 1], [0] * 5, -10, 0.03, "diminishing"),
        ([1, 0, 1, 0, 1], [0] * 5, 0, 1.0, "sporadic"),
        ([1, 0, 0, 1, 1], [0, 1, 0, 0, 0], 0, 1.0, "oscillating"),
        ([1, 1, 0, 0, 0], [0] * 5, 0, 1.0, ""),
    ],
)
def test_emerging_categories(hot, cold, s, p, expected):
    assert _pattern(np.array(hot, bool), np.array(cold, bool), s, p, 0.1) == expected


def test_emerging_hotspots_on_a_growing_cluster():
    g = grid(15, 15)
    w = contiguity(g)
    rng = np.random.default_rng(2)
    block = [f"c{r:03d}{c:03d}" for r in range(5, 10) for c in range(5, 10)]
    years = {}
    for t, year in enumerate(range(2021, 2026)):
        y = pd.Series(rng.normal(10, 1, len(g)), index=g.index)
        y[block] += 1.0 + 1.2 * t  # a cluster that grows every year
        years[year] = y
    result = emerging_hotspots(pd.DataFrame(years), w, permutations=999, seed=0)
    centre = [f"c{r:03d}{c:03d}" for r in range(6, 9) for c in range(6, 9)]
    assert result.loc[centre, "category"].isin(["intensifying", "persistent", "consecutive"]).all()
    assert (result.loc[centre, "trend_s"] > 0).all()
    assert (result.drop(block)["category"] == "no pattern").mean() > 0.9


def test_areas_left_without_neighbours_get_no_statistic():
    g = grid(5, 5)
    w = contiguity(g)
    y = pd.Series(np.arange(25, dtype=float), index=g.index)
    # the last area's neighbours all have no value: it ends up an island
    for code in ("c004003", "c003003", "c003004"):
        y[code] = np.nan
    lisa, gi = local_statistics(y, w, permutations=99, seed=0)
    assert np.isnan(lisa.loc["c004004", "I"]) and pd.isna(gi.loc["c004004", "hotspot"])
    assert lisa["I"].notna().sum() == 21


# --- inference on 10,000 cells: rare counts without false spots, power at scale ------------


@pytest.fixture(scope="module")
def lattice():
    """A 100 x 100 lattice with queen contiguity (ids 0 ... 9999, row by row)."""
    from libpysal.graph import Graph
    from libpysal.weights import lat2W

    graph = Graph.from_W(lat2W(100, 100, rook=False))
    return graph.unique_ids.to_numpy(), graph


@pytest.mark.parametrize("mean", [0.05, 0.1, 0.3])
def test_rare_counts_give_no_false_hot_or_cold_spots(lattice, mean):
    ids, graph = lattice
    y = pd.Series(np.random.default_rng(5).poisson(mean, len(ids)).astype(float), index=ids)
    lisa, gi = local_statistics(y, graph, seed=2)
    assert (gi["p_two_sided"] <= 0.05).mean() <= 0.05  # before correction: at most alpha
    assert (gi["hotspot"].dropna() != "not significant").mean() <= 0.005  # after FDR
    assert (lisa["cluster"].dropna() != "not significant").mean() <= 0.005


def test_the_cause_of_false_cold_spots_was_ties_counted_in_neither_tail(lattice):
    """An all-zero neighbourhood among rare counts ties with most permutations. esda's
    folded p, min(ge, P - ge), puts those ties in no tail and so gives it the smallest
    p possible; the mid-p puts half of them in each tail."""
    ids, graph = lattice
    y = pd.Series(np.random.default_rng(5).poisson(0.05, len(ids)).astype(float), index=ids)
    gi = getis_ord(y, graph, seed=2, inference="permutation")
    zeros = gi["G"] == 0
    assert zeros.mean() > 0.5
    assert (two_sided(gi.loc[zeros, "p"]) <= 0.05).mean() > 0.9  # the old label: "cold"
    assert (gi.loc[zeros, "p_two_sided"] > 0.5).all()  # now: not extreme at all


@pytest.mark.parametrize("size, shift", [(5, 4.0), (10, 2.0)])
def test_a_planted_block_is_found_with_the_default_settings(lattice, size, shift):
    ids, graph = lattice
    field = np.random.default_rng(size).normal(size=(100, 100))
    field[40 : 40 + size, 40 : 40 + size] += shift
    y = pd.Series(field.ravel(), index=ids)
    lisa, gi = local_statistics(y, graph, seed=3)
    block = np.zeros((100, 100), dtype=bool)
    block[40 : 40 + size, 40 : 40 + size] = True
    hot = gi["hotspot"].isin(["hot 95%", "hot 99%"]).to_numpy()
    assert hot[block.ravel()].mean() >= 0.8
    far = np.ones((100, 100), dtype=bool)
    far[30 : 60 + size, 30 : 60 + size] = False
    assert hot[far.ravel()].mean() <= 0.005
    # with a fixed 999 permutations the floor of p (0.001) is too high for FDR here
    fixed = getis_ord(y, graph, seed=3, inference="permutation")
    assert fixed["hotspot"].isin(["hot 95%", "hot 99%"]).to_numpy()[block.ravel()].mean() < 0.8


def test_the_fused_kernel_counts_exactly_as_the_numpy_reference(lattice):
    from zicht.spatial.hotspots import _neighbours
    from zicht.spatial.permutation import permutation_counts, permutation_counts_numpy

    ids, graph = lattice
    rng = np.random.default_rng(9)
    for values in (rng.normal(size=len(ids)), rng.poisson(0.3, len(ids)).astype(float)):
        nb = _neighbours(graph, pd.Index(ids)).binary()
        observed = nb.matrix() @ values
        fused = permutation_counts(values, nb, 199, 4, observed, weighted=False)
        reference = permutation_counts_numpy(values, nb, 199, 4, observed, weighted=False)
        np.testing.assert_array_equal(fused[0], reference[0])
        np.testing.assert_array_equal(fused[1], reference[1])


def _moran_reference(y: pd.Series, graph, permutations: int, seed: int) -> tuple[float, float]:
    """Moran's I and its folded p as the column-by-column loop computed them before
    :func:`global_morans` (the shuffles of the values themselves)."""
    from zicht.spatial.hotspots import _neighbours, _row_standardised

    y = y.dropna()
    n, w = len(y), _row_standardised(_neighbours(graph, y.index))
    z = y.to_numpy() - y.mean()
    s0, zz = w.sum(), float(z @ z)
    moran = n / s0 * float(z @ (w @ z)) / zz
    rng = np.random.default_rng(seed)
    Z = rng.permuted(np.broadcast_to(z[:, None], (n, permutations)), axis=0)
    sims = n / s0 * np.einsum("ij,ij->j", Z, w @ Z) / zz
    larger = int((sims >= moran).sum())
    return moran, (min(larger, permutations - larger) + 1) / (permutations + 1)


def test_the_morans_of_a_layer_are_each_column_s_own(lattice):
    """global_morans (neighbour lists built once, shuffles drawn once per number of
    known values, on threads) gives every column exactly what global_moran gives it,
    and both what shuffling the values themselves gave: columns of equal and of
    different numbers of known values, a constant one, islands left by missing
    values. The control: another seed moves the p-values."""
    ids, graph = lattice
    rng = np.random.default_rng(11)
    field = rng.normal(size=len(ids)) + np.repeat(np.arange(100) / 20, 100)
    columns = pd.DataFrame(
        {
            "whole": field,
            "counts": rng.poisson(0.4, len(ids)).astype(float),
            "holes": np.where(rng.random(len(ids)) < 0.3, np.nan, field),
            "same_n": np.where(rng.random(len(ids)) < 0.3, np.nan, -field),
            "flat": np.ones(len(ids)),
        },
        index=ids,
    )
    columns.loc[columns.index[:300], "same_n"] = np.nan
    columns.loc[columns.index[:300], "holes"] = np.nan
    many = global_morans(columns, graph, permutations=199, seed=4, threads=2)
    for name in columns:
        one = global_moran(columns[name], graph, permutations=199, seed=4)
        assert many[name] == one or (name == "flat" and np.isnan(many[name].I))
    for name in ("whole", "counts", "holes", "same_n"):
        moran, p = _moran_reference(columns[name], graph, 199, 4)
        assert (many[name].I, many[name].p) == (moran, p)
    smooth = columns[["whole", "holes"]] + rng.normal(0, 20, (len(ids), 2))
    other = global_morans(smooth, graph, permutations=199, seed=5)
    again = global_morans(smooth, graph, permutations=199, seed=4)
    assert [other[c].p for c in smooth] != [again[c].p for c in smooth]


def test_empirical_bayes_rates_equal_esda_and_shrink_small_exposures():
    from esda.smoothing import Empirical_Bayes

    from zicht.spatial.rates import empirical_bayes

    rng = np.random.default_rng(3)
    exposure = pd.Series(rng.integers(5, 2000, 300).astype(float))
    truth = rng.gamma(4, 0.01 / 4, 300)
    counts = pd.Series(rng.poisson(truth * exposure).astype(float))
    ours = empirical_bayes(counts, exposure)
    np.testing.assert_allclose(ours, Empirical_Bayes(counts, exposure).r.ravel(), rtol=1e-12)
    crude = counts / exposure
    small = exposure < 50
    # small exposures move towards the overall rate, large ones hardly move
    overall = counts.sum() / exposure.sum()
    assert ((ours - overall).abs() <= (crude - overall).abs() + 1e-12).all()
    assert (ours - crude)[~small].abs().mean() < (ours - crude)[small].abs().mean()
    # towards a group's rate: each group shrinks to its own mean
    groups = pd.Series(np.where(np.arange(300) < 150, "WK01", "WK02"))
    grouped = empirical_bayes(counts, exposure, groups)
    assert grouped.notna().all() and not np.allclose(grouped, ours)
