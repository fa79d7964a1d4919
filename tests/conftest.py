"""Shared fixtures: small real extracts in tests/data and hand-made files in tmp_path."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import textwrap
import warnings
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from threadpoolctl import threadpool_limits

# run by tests/test_qgis.py with the system Python that has QGIS, never imported here
collect_ignore = ["qgis_common.py", "qgis_open.py", "qgis_project.py"]

DATA = Path(__file__).parent / "data"
SAMPLE_2015 = DATA / "nl_buurten_2015_sample.gpkg"
GEOJSON_2015 = DATA / "tnocs_vr_2015_amsterdam-amstelland_buurt.geojson"
STATLINE_CSV = DATA / "cbs_85163NED_ses_woa_amsterdam_2019.csv"


# The boundary cache (boundaries.cache) of every run in the tests: a folder of this
# session's (each xdist worker its own), never the user's ~/.cache/zicht.
os.environ["ZICHT_CACHE_DIR"] = _CACHE = tempfile.mkdtemp(prefix="zicht-test-cache-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


# BLAS and OpenMP threads per test run. A run bounds its pools to the cores that are
# free (engine.pipeline); a test that calls the models or statistics directly would
# otherwise start a thread per core, and on a busy machine OpenMP's threads then wait
# for each other at every step: two small HistGradientBoosting tests took 439 s and
# 225 s that way. The test data are small, so one thread loses little when idle.
TEST_THREADS = 1


@pytest.fixture(scope="session", autouse=True)
def bounded_threads():
    """Every test within :data:`TEST_THREADS` BLAS and OpenMP threads, as a run is
    within its budget (``ZICHT_TEST_THREADS`` overrides it)."""
    # threadpoolctl limits the pools loaded so far: load scikit-learn's OpenMP runtime
    # and the BLAS libraries first
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    import sklearn.ensemble  # noqa: F401

    threads = int(os.environ.get("ZICHT_TEST_THREADS", TEST_THREADS))
    with threadpool_limits(limits=threads):
        yield threads


def grid_buurten(
    codes: list[str], size: float = 100.0, x0: float = 120_000.0, y0: float = 487_000.0, **columns
) -> gpd.GeoDataFrame:
    """Square buurten in a row, in RD New, with the lower-case CBS schema."""
    geoms = [
        shapely.box(x0 + i * size, y0, x0 + (i + 1) * size, y0 + size) for i in range(len(codes))
    ]
    data = {"buurtcode": codes, "buurtnaam": [f"Buurt {c}" for c in codes]}
    data.update(columns)
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:28992")


@pytest.fixture
def write_gpkg(tmp_path):
    """Write a GeoDataFrame to a GeoPackage layer in tmp_path and return the path."""

    def _write(gdf: gpd.GeoDataFrame, name: str = "areas.gpkg", layer: str = "buurten") -> Path:
        path = tmp_path / name
        gdf.to_file(path, layer=layer, engine="pyogrio")
        return path

    return _write


RUN_CONFIG = """
[boundaries]
path = "{boundaries}"
{layer}

[[tables]]
id = "k"
path = "{table}"
key = "code"
min_match = 0.9

[[indicators]]
id = "n"
kind = "count"
table = "k"
column = "n"
label_nl = "n"
label_en = "n"
"""


GOOD_TABLE = "code;n\nBU03630000;4\nBU03630001;7\nBU03630100;9\n"


def run_config(
    tmp_path: Path,
    areas: gpd.GeoDataFrame | None,
    table: str = GOOD_TABLE,
    layer: str = "",
    boundaries_name: str = "areas.gpkg",
    extra: str = "",
) -> Path:
    """A small run: buurten ``areas`` (None: no file), a ``;`` CSV ``table`` of counts
    ``n`` keyed by ``code``, and one indicator; returns the config path."""
    if areas is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyogrio warns about files without a CRS
            areas.to_file(tmp_path / boundaries_name, layer="buurten", engine="pyogrio")
    (tmp_path / "table.csv").write_text(table)
    config = tmp_path / "run.toml"
    config.write_text(
        textwrap.dedent(
            RUN_CONFIG.format(boundaries=boundaries_name, table="table.csv", layer=layer)
        )
        + extra
    )
    return config


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


# One wijk of the demo (10 buurten) in which every kind of suppression occurs (frequency,
# secondary and the area rule): a run on it takes a fifth of the demo's time.
DEMO_WIJK = "WK0363EB"


def _demo_on(monkeypatch, codes: tuple[str, ...]) -> None:
    """Runs on the demo's boundaries select ``codes`` unless they select themselves."""
    from zicht.boundaries import read
    from zicht.engine.data import DEMO_BOUNDARIES

    finest_level = read._finest_level

    def narrowed(reading, frame, mapping, select):
        if not select and reading.path.resolve() == DEMO_BOUNDARIES.resolve():
            select = codes
        return finest_level(reading, frame, mapping, select)

    monkeypatch.setattr(read, "_finest_level", narrowed)
    # the narrowing is not in the file, so not in the boundary cache's key: no cache
    import zicht.engine.pipeline as pipeline
    from zicht.boundaries.cache import cached_boundaries

    def uncached(*args, **kwargs):
        kwargs["folder"] = None
        return cached_boundaries(*args[:6], **kwargs)

    monkeypatch.setattr(pipeline, "cached_boundaries", uncached)


@pytest.fixture
def demo_on_one_wijk(monkeypatch):
    """``zicht demo`` (and any run on the demo's boundaries) on :data:`DEMO_WIJK` only, as
    ``[boundaries] select`` would: for tests of a mechanism (atomic output, exit codes,
    where files go) that does not need the whole of Amsterdam."""
    _demo_on(monkeypatch, (DEMO_WIJK,))
    return DEMO_WIJK


# Stadsdeel Zuidoost: 46 buurten in 12 wijken, enough for the analysis (at least 30
# areas with figures) in a fraction of the demo's time.
DEMO_STADSDEEL = tuple(f"WK0363T{letter}" for letter in "ABCDEFGHJKLM")


@pytest.fixture
def demo_on_one_stadsdeel(monkeypatch):
    """``zicht demo`` on :data:`DEMO_STADSDEEL` only: for tests that need scores,
    hotspots and models but not the whole of Amsterdam."""
    _demo_on(monkeypatch, DEMO_STADSDEEL)
    return DEMO_STADSDEEL


@pytest.fixture(scope="session")
def stadsdeel_demo(tmp_path_factory):
    """The demo on :data:`DEMO_STADSDEEL` (``run`` on the shipped config), once per
    session: the master that tests of a whole run compare against when the whole of
    Amsterdam would only add minutes. Read only, as :func:`demo_session`."""
    from zicht.engine import load_config, run
    from zicht.engine.data import DEMO_CONFIG

    with pytest.MonkeyPatch.context() as mp:
        _demo_on(mp, DEMO_STADSDEEL)
        return run(load_config(DEMO_CONFIG), tmp_path_factory.mktemp("stadsdeel") / "out")


@pytest.fixture(scope="session")
def demo_session(tmp_path_factory):
    """The demo pipeline, run once per test session: (RunResult, its log lines).

    Tests only read its output; a test that changes files copies them first.
    """
    from zicht.engine import load_config, run
    from zicht.engine.data import DEMO_CONFIG

    log = logging.getLogger("zicht")
    handler, level = _Lines(), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        result = run(load_config(DEMO_CONFIG), tmp_path_factory.mktemp("demo") / "out")
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    return result, handler.lines


@pytest.fixture(scope="session")
def demo_run(demo_session):
    """The demo's RunResult (true values included: for assertions only)."""
    return demo_session[0]


@pytest.fixture(scope="session")
def demo_out(demo_run) -> Path:
    """The demo's published output directory (read only)."""
    return demo_run.out_dir


# The session runs above are the suite's largest costs: under pytest-xdist the tests
# that read either are one group (``--dist loadgroup``: one worker runs both, once;
# some tests read both), and a module's other tests are one, for its module fixtures.
SHARED_RUNS = ("demo_session", "stadsdeel_demo")


def pytest_itemcollected(item):
    """Group the tests for ``pytest -n 2 --dist loadgroup``: by the session run they
    read, else by module (the mark does nothing without xdist). Marked as each test is
    collected: xdist reads the marks in its ``pytest_collection_modifyitems``, which
    ran before this conftest's own."""
    used = [name for name in SHARED_RUNS if name in getattr(item, "fixturenames", ())]
    group = "shared_runs" if used else item.nodeid.split("::")[0]
    item.add_marker(pytest.mark.xdist_group(group))
