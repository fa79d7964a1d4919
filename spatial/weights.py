"""Spatial weights over areas: queen contiguity with islands joined, k-nearest, distance band.

All functions take a GeoDataFrame indexed by area code in a projected CRS (RD New,
metres) and return a libpysal :class:`~libpysal.graph.Graph` with the codes as ids,
binary (weight 1 per neighbour). Transform it as a statistic needs: row-standardised
(``graph.transform("r")``) for Moran's I, binary with a self-weight for Gi*.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from libpysal.graph import Graph
from libpysal.weights import W

from zicht.boundaries.neighbours import vertex_neighbours
from zicht.errors import AnalysisError

WEIGHTS = ("queen", "knn", "distance")
# what the statistics accept: a libpysal Graph, or the older W
Weights = Graph | W  # queen contiguity, k-nearest, distance band


@dataclass
class Contiguity:
    """Queen contiguity and the islands that were joined to their nearest areas."""

    graph: Graph
    islands: list[str]


def queen_with_islands(gdf: gpd.GeoDataFrame, islands_k: int = 1) -> Contiguity:
    """Queen contiguity; areas without a neighbour get their ``islands_k`` nearest areas.

    Nearest means the smallest distance between polygon edges (not centroids), so an
    island joins the coast it faces. The links are made symmetric.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> squares = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1),
    ...                                      shapely.box(5, 0, 6, 1)], index=["a", "b", "c"])
    >>> c = queen_with_islands(squares)
    >>> c.islands, sorted(c.graph.neighbors["c"])
    (['c'], ['b'])
    """
    _check_frame(gdf)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    heads, tails = vertex_neighbours(geoms)
    alone = np.setdiff1d(np.arange(len(gdf)), heads)
    islands = [str(code) for code in gdf.index[alone]]
    if not islands or islands_k < 1 or len(gdf) < 2:
        return Contiguity(_vertex_graph(gdf.index, heads, tails, alone), islands)
    tree = shapely.STRtree(geoms)
    near = [(i, j) for i in alone for j in _nearest(geoms, tree, i, islands_k)]
    island, nearest = np.array(near, dtype=np.int64).reshape(-1, 2).T
    focal = np.concatenate([heads, island, nearest])
    neighbour = np.concatenate([tails, nearest, island])
    # each link once, in the order of the codes (as text) on both sides
    codes = np.asarray(list(gdf.index), dtype=object)
    rank = np.empty(len(codes), dtype=np.int64)
    rank[np.argsort(codes, kind="stable")] = np.arange(len(codes))
    by_rank = np.argsort(rank)
    links = np.unique(rank[focal] * len(codes) + rank[neighbour])
    focal, neighbour = by_rank[links // len(codes)], by_rank[links % len(codes)]
    joined = Graph.from_arrays(list(codes[focal]), list(codes[neighbour]), np.ones(len(links)))
    return Contiguity(joined, islands)


def _vertex_graph(ids: pd.Index, heads: np.ndarray, tails: np.ndarray, alone: np.ndarray) -> Graph:
    """The binary graph of the neighbour pairs (positions) over ``ids``, an area
    without neighbours (``alone``) as a self-loop of weight 0: the graph libpysal's
    vertex-based ``Graph.build_contiguity`` builds from the same pairs."""
    names = pd.Index(list(ids)).to_numpy()  # as libpysal makes them, from a dict's keys
    focal = np.concatenate([heads, alone])
    order = np.argsort(focal, kind="stable")  # by area, as libpysal lists them
    neighbour = np.concatenate([tails, alone])[order]
    weight = np.r_[np.ones(len(heads), dtype=int), np.zeros(len(alone), dtype=int)][order]
    return Graph.from_arrays(names[focal[order]], names[neighbour], weight)


def _nearest(geoms: np.ndarray, tree: shapely.STRtree, i: int, k: int) -> np.ndarray:
    """Positions of the ``k`` polygons nearest to polygon ``i`` by edge distance, ties
    by position: candidates within a radius doubled until it holds ``k`` of them, so
    that every polygon as near as the ``k``-th is among them."""
    k = min(k, len(geoms) - 1)
    radius = 100.0  # metres
    while True:
        found = tree.query(geoms[i], predicate="dwithin", distance=radius)
        found = np.sort(found[found != i])
        if len(found) >= k:
            break
        radius *= 2
    dist = shapely.distance(geoms[found], geoms[i])
    return found[np.argsort(dist, kind="stable")[:k]]


def contiguity(gdf: gpd.GeoDataFrame, islands_k: int = 1) -> Graph:
    """Queen contiguity weights with islands joined to their ``islands_k`` nearest areas."""
    return queen_with_islands(gdf, islands_k).graph


def knn(gdf: gpd.GeoDataFrame, k: int = 6) -> Graph:
    """The ``k`` nearest areas by distance between representative points (metres)."""
    _check_frame(gdf)
    points = gdf.geometry.representative_point()
    return Graph.build_knn(points, k=k)


def distance_band(gdf: gpd.GeoDataFrame, threshold: float) -> Graph:
    """Areas whose representative points lie within ``threshold`` metres, binary."""
    _check_frame(gdf)
    if threshold <= 0:
        raise AnalysisError(f"distance band threshold must be positive metres, got {threshold}")
    points = gdf.geometry.representative_point()
    return Graph.build_distance_band(points, threshold, binary=True)


def _check_frame(gdf: gpd.GeoDataFrame) -> None:
    if gdf.index.has_duplicates:
        raise AnalysisError("weights need unique area codes as the index")
    if gdf.crs is not None and gdf.crs.is_geographic:
        raise AnalysisError("weights need a projected CRS in metres (RD New), not degrees")
