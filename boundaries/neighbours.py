"""Which areas share a vertex (queen contiguity), computed in one vectorised pass or
known from the boundary cache.

Two areas are queen neighbours when their polygons share at least one vertex exactly,
as libpysal's vertex-based :meth:`~libpysal.graph.Graph.build_contiguity` decides; the
pairs here are the same, found by sorting the vertices instead of hashing each in
Python. Whether two areas are neighbours depends on their two polygons alone, so the
pairs of any subset of a level's areas are the level's pairs between them: a level's
pairs, once known (:func:`remember`), serve every cut of it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import shapely

# levels whose pairs are kept in memory (a run has three, a test session a few more)
_KNOWN_LEVELS = 8


@dataclass(frozen=True)
class _Known:
    """A level's pairs, with its polygons: what identifies them."""

    geoms: np.ndarray  # the polygons themselves (kept alive: their ids stay theirs)
    position: dict[int, int]  # id of a polygon object -> its position
    heads: np.ndarray
    tails: np.ndarray


_known: OrderedDict[int, _Known] = OrderedDict()
_lock = threading.Lock()


def shared_vertex_pairs(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(i, j)`` of every two polygons in ``geoms`` that share a vertex,
    both ways round, sorted by ``i`` then ``j``; no area is its own neighbour."""
    coords, owner = shapely.get_coordinates(np.asarray(geoms, dtype=object), return_index=True)
    if not len(coords):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    x, y = coords[:, 0], coords[:, 1]
    order = np.lexsort((owner, y, x))
    x, y, owner = x[order], y[order], owner[order].astype(np.int64)
    new_vertex = np.r_[True, (x[1:] != x[:-1]) | (y[1:] != y[:-1])]
    # one row per vertex and polygon: a polygon repeats its rings' first vertex
    distinct = new_vertex | np.r_[True, owner[1:] != owner[:-1]]
    vertex, owner = np.cumsum(new_vertex)[distinct], owner[distinct]
    shared = np.bincount(vertex)[vertex] > 1
    vertex, owner = vertex[shared], owner[shared]
    heads, tails = [], []
    for step in range(1, int(np.bincount(vertex).max(initial=1))):
        same = vertex[step:] == vertex[:-step]
        heads += [owner[:-step][same], owner[step:][same]]
        tails += [owner[step:][same], owner[:-step][same]]
    if not heads:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    n = len(geoms)
    pairs = np.unique(np.concatenate(heads) * n + np.concatenate(tails))
    return pairs // n, pairs % n


def remember(geoms: np.ndarray, heads: np.ndarray, tails: np.ndarray) -> None:
    """Keep the pairs of a level's polygons ``geoms`` for :func:`vertex_neighbours`
    (the boundary cache gives them to a run)."""
    geoms = np.asarray(geoms, dtype=object)
    known = _Known(geoms, {id(g): i for i, g in enumerate(geoms)}, heads, tails)
    with _lock:
        _known[id(geoms)] = known
        while len(_known) > _KNOWN_LEVELS:
            _known.popitem(last=False)


def vertex_neighbours(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shared_vertex_pairs` of ``geoms``: from a remembered level that holds
    every one of these polygon objects, else computed."""
    geoms = np.asarray(geoms, dtype=object)
    with _lock:
        levels = list(_known.values())
    for known in reversed(levels):
        at = np.fromiter((known.position.get(id(g), -1) for g in geoms), np.int64, len(geoms))
        if len(geoms) and at.min() >= 0 and len(np.unique(at)) == len(at):
            return _restricted(known, at)
    return shared_vertex_pairs(geoms)


def _restricted(known: _Known, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The known pairs between the polygons at positions ``at``, in positions of ``at``."""
    mine = np.full(len(known.geoms), -1, dtype=np.int64)
    mine[at] = np.arange(len(at))
    heads, tails = mine[known.heads], mine[known.tails]
    both = (heads >= 0) & (tails >= 0)
    heads, tails = heads[both], tails[both]
    order = np.lexsort((tails, heads))
    return heads[order], tails[order]
