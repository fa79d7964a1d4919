"""The boundary cache (boundaries.cache) and queen neighbours (boundaries.neighbours):
a warm read is the cold read, a changed or damaged file is read afresh, and the
vectorised queen weights are libpysal's."""

from __future__ import annotations

import hashlib
import logging
import pickle
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from libpysal.graph import Graph

from tests.conftest import SAMPLE_2015
from zicht.boundaries import Boundaries, read_boundaries
from zicht.boundaries import cache as boundary_cache
from zicht.boundaries.cache import cached_boundaries, file_digest
from zicht.boundaries.neighbours import remember, shared_vertex_pairs, vertex_neighbours
from zicht.engine.config import load_config
from zicht.engine.data import DEMO_BOUNDARIES, DEMO_CONFIG
from zicht.engine.pipeline import _read_boundaries, cache_folder
from zicht.errors import BoundaryError
from zicht.spatial.weights import Contiguity, queen_with_islands

DEMO_COLUMNS = {"naam": "ams_buurtnaam"}


def _entries(folder: Path) -> list[Path]:
    return sorted((folder / "boundaries").glob("*.zbc"))


def _assert_same(a: Boundaries, b: Boundaries) -> None:
    """Two readings alike to the byte: every level's frame, dtypes, geometry (as
    WKB) and CRS, and the report."""
    assert list(a.levels) == list(b.levels)
    for level in a.levels:
        x, y = a.levels[level], b.levels[level]
        assert_geodataframe_equal(x, y, check_dtype=True, check_index_type=True)
        assert list(x.dtypes.astype(str)) == list(y.dtypes.astype(str))
        assert x.index.dtype == y.index.dtype
        assert list(shapely.to_wkb(x.geometry.values)) == list(shapely.to_wkb(y.geometry.values))
        assert x.crs == y.crs
    assert a.report == b.report


def _reference_queen(gdf, islands_k: int = 1) -> Contiguity:
    """Queen weights as zicht built them before the cache: libpysal's vertex-based
    contiguity, each island joined to its nearest areas by a distance to every area."""
    graph = Graph.build_contiguity(gdf.geometry, rook=False)
    islands = [str(i) for i in graph.isolates]
    if not islands or islands_k < 1 or len(gdf) < 2:
        return Contiguity(graph, islands)
    geoms, codes = gdf.geometry.values, gdf.index.to_numpy()
    position = {code: i for i, code in enumerate(codes)}
    adjacency = graph.adjacency
    keep = adjacency.index.get_level_values(0) != adjacency.index.get_level_values(1)
    focal = list(adjacency.index.get_level_values(0)[keep])
    neighbor = list(adjacency.index.get_level_values(1)[keep])
    for island in islands:
        dist = shapely.distance(geoms, geoms[position[island]])
        dist[position[island]] = np.inf
        for j in np.argsort(dist, kind="stable")[:islands_k]:
            focal += [island, codes[j]]
            neighbor += [codes[j], island]
    pairs = sorted(set(zip(focal, neighbor)))
    joined = Graph.from_arrays([p[0] for p in pairs], [p[1] for p in pairs], np.ones(len(pairs)))
    return Contiguity(joined, islands)


def _assert_same_graph(a: Contiguity, b: Contiguity) -> None:
    x, y = a.graph.adjacency, b.graph.adjacency
    pd.testing.assert_series_equal(x, y)
    for i in (0, 1):
        assert x.index.get_level_values(i).dtype == y.index.get_level_values(i).dtype
    assert a.islands == b.islands


@pytest.fixture(scope="module")
def demo_read() -> Boundaries:
    return read_boundaries(DEMO_BOUNDARIES, columns=DEMO_COLUMNS)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the sample boundary file that a test may change."""
    return Path(shutil.copy(SAMPLE_2015, tmp_path / "sample.gpkg"))


def test_a_warm_read_is_the_cold_read_with_its_weights(tmp_path, demo_read, caplog):
    folder = tmp_path / "cache"
    cold = cached_boundaries(DEMO_BOUNDARIES, columns=DEMO_COLUMNS, folder=folder)
    assert len(_entries(folder)) == 1
    with caplog.at_level(logging.INFO, logger="zicht"):
        warm = cached_boundaries(DEMO_BOUNDARIES, columns=DEMO_COLUMNS, folder=folder)
    assert "read from the cache" in caplog.text
    assert warm.levels["buurt"] is not cold.levels["buurt"]  # read back, not kept
    _assert_same(demo_read, cold)
    _assert_same(demo_read, warm)
    for areas in warm.levels.values():  # the neighbours come from the entry
        for k in (0, 1, 3):
            _assert_same_graph(queen_with_islands(areas, k), _reference_queen(areas, k))


def test_queen_weights_equal_libpysal_on_every_level_and_cut(demo_read):
    for areas in demo_read.levels.values():
        heads, tails = shared_vertex_pairs(np.asarray(areas.geometry.values))
        assert np.all(heads != tails)
        for k in (0, 1, 2):
            _assert_same_graph(queen_with_islands(areas, k), _reference_queen(areas, k))
    buurten = demo_read.levels["buurt"]
    cut = buurten.iloc[::3]  # islands of its own: joined within the cut
    assert _reference_queen(cut).islands
    _assert_same_graph(queen_with_islands(cut), _reference_queen(cut))
    by_number = buurten.reset_index(drop=True)  # ids of another dtype
    _assert_same_graph(queen_with_islands(by_number, 0), _reference_queen(by_number, 0))


def test_known_neighbours_serve_a_cut_and_a_wrong_entry_would_show(tmp_path):
    folder = tmp_path / "cache"
    warm = cached_boundaries(DEMO_BOUNDARIES, columns=DEMO_COLUMNS, folder=folder)
    buurten = warm.levels["buurt"]
    cut = np.asarray(buurten.geometry.values)[::2]
    known = vertex_neighbours(cut)
    computed = shared_vertex_pairs(cut)
    assert all(np.array_equal(a, b) for a, b in zip(known, computed, strict=True))
    assert len(known[0]) > 100
    # control: known pairs are used as given, so pairs that were wrong would show
    heads, tails = shared_vertex_pairs(np.asarray(buurten.geometry.values))
    geoms = np.asarray(buurten.geometry.values)
    remember(geoms, heads[:10], tails[:10])
    assert len(vertex_neighbours(geoms)[0]) == 10
    remember(geoms, heads, tails)


def test_a_changed_byte_misses_and_a_damaged_entry_is_rebuilt(tmp_path, sample, caplog):
    folder = tmp_path / "cache"
    first = cached_boundaries(sample, folder=folder)
    (entry,) = _entries(folder)
    data = bytearray(sample.read_bytes())
    before = file_digest(sample)
    data[27] ^= 1  # SQLite's file change counter: the same layers, other bytes
    sample.write_bytes(bytes(data))
    assert file_digest(sample) != before
    with caplog.at_level(logging.INFO, logger="zicht"):
        again = cached_boundaries(sample, folder=folder)
    assert "read from the cache" not in caplog.text
    assert len(_entries(folder)) == 2
    _assert_same(first, again)

    (changed,) = set(_entries(folder)) - {entry}
    damaged = bytearray(changed.read_bytes())
    damaged[-100] ^= 0xFF
    changed.write_bytes(bytes(damaged))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="zicht"):
        rebuilt = cached_boundaries(sample, folder=folder)
    assert "damaged" in caplog.text and "read from the cache" not in caplog.text
    _assert_same(first, rebuilt)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="zicht"):
        cached_boundaries(sample, folder=folder)  # written again, whole
    assert "read from the cache" in caplog.text and "ignored" not in caplog.text


def test_an_entry_of_another_version_is_ignored_and_written_again(tmp_path, sample, caplog):
    folder = tmp_path / "cache"
    cached_boundaries(sample, folder=folder)
    (entry,) = _entries(folder)
    magic, rest = entry.read_bytes().split(b"\n", 1)
    entry.write_bytes(magic.rsplit(b" ", 1)[0] + b" 0\n" + rest)
    with caplog.at_level(logging.WARNING, logger="zicht"):
        cached_boundaries(sample, folder=folder)
    assert "cache version 0" in caplog.text
    assert entry.read_bytes().split(b"\n", 1)[0].endswith(b" %d" % boundary_cache.CACHE_VERSION)


_RAN: list[str] = []


def _plant(flag: str) -> None:
    """What a hostile entry would run when read: it records that it ran."""
    _RAN.append(flag)


class _Planted:
    def __reduce__(self):
        return (_plant, ("ran",))


def test_an_entry_that_names_other_code_is_refused_before_it_runs(tmp_path, sample, caplog):
    folder = tmp_path / "cache"
    cached_boundaries(sample, folder=folder)
    (entry,) = _entries(folder)
    magic, _, key, payload = entry.read_bytes().split(b"\n", 3)
    hostile = pickle.dumps(_Planted(), protocol=pickle.HIGHEST_PROTOCOL)
    # control: a plain unpickler runs it
    pickle.loads(hostile)
    assert _RAN == ["ran"]
    digest = hashlib.sha256(hostile).hexdigest().encode()
    entry.write_bytes(b"\n".join([magic, digest, key, hostile]))
    with caplog.at_level(logging.WARNING, logger="zicht"):
        found = cached_boundaries(sample, folder=folder)
    assert _RAN == ["ran"]  # not again
    assert "not part of a boundary cache entry" in caplog.text
    _assert_same(found, read_boundaries(sample))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="zicht"):
        cached_boundaries(sample, folder=folder)  # written again as a true entry
    assert "read from the cache" in caplog.text
    assert len(entry.read_bytes().split(b"\n", 3)[3]) == len(payload)


def test_reads_at_once_share_one_whole_entry(tmp_path, sample):
    folder = tmp_path / "cache"
    found: list[Boundaries] = []
    threads = [
        threading.Thread(target=lambda: found.append(cached_boundaries(sample, folder=folder)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 3 and len(_entries(folder)) == 1
    assert not list((folder / "boundaries").glob("*.part"))
    for b in found:
        _assert_same(found[0], b)


def test_run_cache_setting_where_entries_go(tmp_path, monkeypatch):
    monkeypatch.setenv(boundary_cache.CACHE_ENV, str(tmp_path / "env"))
    config = load_config(DEMO_CONFIG)
    assert config.run.cache is True and cache_folder(config) == tmp_path / "env"
    off = config.with_cache(False)
    assert cache_folder(off) is None
    _read_boundaries(off)
    assert not (tmp_path / "env").exists()  # cache = false writes nothing
    _read_boundaries(config.with_cache(tmp_path / "own"))
    assert len(_entries(tmp_path / "own")) == 1 and not (tmp_path / "env").exists()
    _read_boundaries(config)
    assert len(_entries(tmp_path / "env")) == 1


def test_the_cache_key_names_the_file_and_the_options(tmp_path, sample):
    folder = tmp_path / "cache"
    cached_boundaries(sample, folder=folder)
    cached_boundaries(sample, folder=folder, drop_water=False)
    moved = Path(shutil.copy(sample, tmp_path / "moved.gpkg"))
    found = cached_boundaries(moved, folder=folder)
    assert len(_entries(folder)) == 3
    assert found.report.path == str(moved)


def test_a_missing_file_is_the_reading_error_and_leaves_no_entry(tmp_path):
    folder = tmp_path / "cache"
    with pytest.raises(BoundaryError, match="boundary file not found"):
        cached_boundaries(tmp_path / "nowhere.gpkg", folder=folder)
    assert not folder.exists()
