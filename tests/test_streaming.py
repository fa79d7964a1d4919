"""Microdata in partitions (issue 32): the streaming and dask engines give the cells of
the in-memory path, refuse a partition without a declared column by its file, and
leave nothing behind when interrupted."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import DEMO_STADSDEEL, grid_buurten
from zicht.boundaries import read_boundaries
from zicht.engine.config import MicrodataSpec, load_config
from zicht.engine.data import DEMO_CONFIG
from zicht.engine.indicators import IndicatorResult, compute_indicators, synthetic_context
from zicht.engine.sbi import SbiTree
from zicht.engine.sources import microdata as md
from zicht.engine.sources import streaming
from zicht.engine.sources.synthetic_files import LABEL, write_synthetic
from zicht.errors import MicrodataError

CODES = ["BU03630000", "BU03630001", "BU03630100", "BU03630101"]
X0, Y0 = 120_000.0, 487_000.0

CONFIG = """
[boundaries]
path = "{areas}"

[run]
engine = "{engine}"
partition_rows = {rows}
{extra}

[[microdata]]
id = "m"
path = "{folder}"
unit = "unit"
x = "x"
y = "y"
amount = "amount"
group = "group"

[[indicators]]
id = "n"
kind = "count"
microdata = "m"
measure = "records"
label_nl = "n"
label_en = "n"

[[indicators]]
id = "s"
kind = "sum"
microdata = "m"
measure = "amount"
where = {{ kind = ["x"] }}
label_nl = "s"
label_en = "s"

[[indicators]]
id = "u"
kind = "count"
microdata = "m"
measure = "units"
label_nl = "u"
label_en = "u"
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    """Four 100 m buurten in two wijken."""
    path = tmp_path_factory.mktemp("grid") / "areas.gpkg"
    grid_buurten(CODES).to_file(path, layer="buurten", engine="pyogrio")
    return path


def _config(root: Path, areas: Path, folder: Path, engine: str, rows: int, extra: str = ""):
    path = root / f"{engine}.toml"
    text = CONFIG.format(
        areas=areas.as_posix(), folder=folder.as_posix(), engine=engine, rows=rows, extra=extra
    )
    path.write_text(text)
    return load_config(path)


def _records(draw_ints: list[tuple[int, int, int, int, int, int]]) -> pd.DataFrame:
    """Records from drawn tuples: unit, group (-1: none), buurt (4: outside every
    buurt), amount, kind, and the x offset within the buurt."""
    unit, group, buurt, amount, kind, dx = (np.array(c) for c in zip(*draw_ints))
    return pd.DataFrame(
        {
            "unit": [f"u{u}" for u in unit],
            # a unit may be in several groups: distinct units are then counted by unit
            "group": [None if g < 0 else f"g{g}" for g in group],
            "x": X0 + buurt * 100.0 + 1 + dx,
            "y": np.full(len(unit), Y0 + 50.0),
            "amount": amount.astype(float),
            "kind": np.where(kind == 0, "x", "y"),
        }
    )


def _assert_same_cells(a: IndicatorResult, b: IndicatorResult) -> None:
    assert a.cells.keys() == b.cells.keys()
    for key, cells in a.cells.items():
        for level, frame in cells.levels.items():
            pd.testing.assert_frame_equal(frame, b.cells[key].levels[level], check_exact=True)
        for own, frame in cells.own.items():
            pd.testing.assert_frame_equal(frame, b.cells[key].own[own], check_exact=True)
    pd.testing.assert_frame_equal(a.branches, b.branches, check_exact=True)


RECORD = st.tuples(
    st.integers(0, 7),  # unit: few, so that units recur across partitions
    st.integers(-1, 2),  # group
    st.integers(0, 4),  # buurt (4: outside)
    st.integers(0, 1000),  # amount
    st.integers(0, 1),  # kind
    st.integers(0, 97),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(RECORD, min_size=1, max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=4),
    partition_rows=st.integers(1, 12),
    data=st.data(),
)
def test_any_split_into_partitions_gives_the_in_memory_cells(
    grid, tmp_path_factory, rows, cuts, partition_rows, data
):
    records = _records(rows)
    # a random order too: which partition a holder's records fall in must not matter
    records = records.iloc[data.draw(st.permutations(range(len(records))))]
    root = tmp_path_factory.mktemp("split")
    folder = root / "records"
    folder.mkdir()
    edges = sorted({0, len(records), *(min(c, len(records)) for c in cuts)})
    for i, (start, stop) in enumerate(zip(edges[:-1], edges[1:])):
        records.iloc[start:stop].to_parquet(folder / f"part-{i}.parquet", index=False)
    boundaries = read_boundaries(grid)
    memory = compute_indicators(_config(root, grid, folder, "memory", 1000), boundaries)
    stream = compute_indicators(_config(root, grid, folder, "stream", partition_rows), boundaries)
    _assert_same_cells(memory, stream)
    assert stream.placements["m"].records == len(records)


def test_combining_buckets_keeps_the_largest_contributions():
    # control for the property above: holders split over two buckets give the union's
    # top three, and adding instead of merging would not
    a = pd.DataFrame(
        {"value": [9.0], "units": [2.0], "top1": [5.0], "top2": [4.0], "top3": [np.nan]}
    )
    b = pd.DataFrame(
        {"value": [7.0], "units": [2.0], "top1": [6.0], "top2": [1.0], "top3": [np.nan]}
    )
    both = streaming.combine_cells(a, b)
    assert both.iloc[0].tolist() == [16.0, 4.0, 6.0, 5.0, 4.0]


def test_points_on_edges_count_once_in_the_first_buurt(grid):
    # the exact test against prepared polygons keeps the predicate "intersects": a
    # point on the shared edge of buurt 0 and 1, on their shared corner with the
    # outside and on an outer edge lies in buurt 0; control: "within" (the interior
    # only) would lose all three
    boundaries = read_boundaries(grid)
    x = np.array([X0 + 100.0, X0 + 100.0, X0, X0 + 50.0])
    y = np.array([Y0 + 50.0, Y0, Y0 + 50.0, Y0 + 50.0])
    records = pd.DataFrame({"unit": ["a", "b", "c", "d"], "x": x, "y": y})
    position, no_location = md.area_positions(
        records, boundaries.areas, "x", "y", "EPSG:28992", None, "records"
    )
    assert position.tolist() == [0, 0, 0, 0] and no_location == 0
    first = boundaries.areas.geometry.values[0]
    assert shapely.within(shapely.points(x, y), first).tolist() == [False, False, False, True]


def test_sbi_leaves_found_once_per_code_are_those_of_every_record():
    codes = pd.Series(["45.11", None, "4511", "56.10", "45.11", "01"], index=[5, 4, 3, 2, 1, 0])
    expected = SbiTree.default().leaves(codes)
    found = streaming._leaves(codes, "records")
    pd.testing.assert_series_equal(found, expected, check_names=False)
    assert found.isna().tolist() == [False, True, False, False, False, False]
    with pytest.raises(MicrodataError, match="'041' is not an SBI 2008 code"):
        streaming._leaves(pd.Series(["45.11", "04.1"]), "records")


def _two_partitions(folder: Path, second: pd.DataFrame) -> None:
    folder.mkdir()
    first = _records([(0, 0, 0, 5, 0, 1), (1, -1, 1, 7, 1, 2)])
    first.to_parquet(folder / "part-0.parquet", index=False)
    second.to_parquet(folder / "part-1.parquet", index=False)


@pytest.mark.parametrize("engine", ["stream", "memory"])
def test_a_partition_without_a_declared_column_is_named(grid, tmp_path, engine):
    folder = tmp_path / "records"
    _two_partitions(folder, _records([(2, 1, 2, 3, 0, 3)]).drop(columns="amount"))
    config = _config(tmp_path, grid, folder, engine, 1)
    with pytest.raises(MicrodataError) as caught:
        compute_indicators(config, read_boundaries(grid))
    message = str(caught.value)
    assert str(folder / "part-1.parquet") in message and "'amount'" in message
    assert "part-0" not in message


def test_a_partition_with_text_for_coordinates_is_named(grid, tmp_path):
    folder = tmp_path / "records"
    _two_partitions(folder, _records([(2, 1, 2, 3, 0, 3)]).assign(x="far away"))
    with pytest.raises(MicrodataError, match=r"part-1\.parquet.*'x'/'y' are not numbers"):
        compute_indicators(_config(tmp_path, grid, folder, "stream", 1), read_boundaries(grid))


def test_csv_in_chunks_gives_the_in_memory_cells_and_names_a_missing_column(grid, tmp_path):
    records = _records([(u % 3, u % 2 - 1, u % 5, u * 10, u % 2, u) for u in range(40)])
    path = tmp_path / "records.csv"
    records.to_csv(path, index=False, sep=";")
    boundaries = read_boundaries(grid)
    memory = compute_indicators(_config(tmp_path, grid, path, "memory", 1000), boundaries)
    stream = compute_indicators(_config(tmp_path, grid, path, "stream", 7), boundaries)
    _assert_same_cells(memory, stream)
    records.drop(columns="group").to_csv(path, index=False, sep=";")
    with pytest.raises(MicrodataError, match=r"records\.csv: no column 'group'"):
        compute_indicators(_config(tmp_path, grid, path, "stream", 7), boundaries)


def test_an_interrupted_aggregation_leaves_no_partial_output(grid, tmp_path, monkeypatch):
    folder = tmp_path / "records"
    _two_partitions(folder, _records([(2, 1, 2, 3, 0, 3), (3, 2, 3, 4, 0, 4)]))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    extra = f'scratch = "{scratch.as_posix()}"'
    config = _config(tmp_path, grid, folder, "stream", 1, extra)
    boundaries = read_boundaries(grid)
    spilled: list[Path] = []
    cells = streaming.bucket_cells

    def interrupted(plan, spill, bucket):
        spilled.extend(spill.iterdir())
        if bucket == 1:
            raise KeyboardInterrupt
        return cells(plan, spill, bucket)

    monkeypatch.setattr(streaming, "bucket_cells", interrupted)
    with pytest.raises(KeyboardInterrupt):
        compute_indicators(config, boundaries)
    # the partial cells were on disk when the run stopped, and are gone now
    assert len(spilled) >= 2 and not any(p.exists() for p in spilled)
    assert list(scratch.iterdir()) == []


def test_an_interrupted_run_writes_no_output(grid, tmp_path, monkeypatch):
    from zicht.engine.outputs.record import DIGEST_KEY
    from zicht.engine.pipeline import run

    folder = tmp_path / "records"
    _two_partitions(folder, _records([(2, 1, 2, 3, 0, 3)]))
    config = _config(tmp_path, grid, folder, "stream", 1)
    # control: the same run, not interrupted, writes its output (a folder of records
    # has a keyed digest like a file)
    monkeypatch.setenv(DIGEST_KEY, "test")
    done = run(config, tmp_path / "done")
    assert (tmp_path / "done" / "manifest.json").exists() and done is not None

    def interrupted(plan, spill, bucket):
        raise KeyboardInterrupt

    monkeypatch.setattr(streaming, "bucket_cells", interrupted)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run(config, out)
    assert not out.exists() or list(out.iterdir()) == []


def test_hive_partition_folders_are_columns(grid, tmp_path):
    folder = tmp_path / "records"
    for year, rows in ((2023, [(0, 0, 0, 5, 0, 1)]), (2024, [(1, -1, 1, 7, 0, 2)] * 3)):
        (folder / f"kind={year}").mkdir(parents=True)
        _records(rows).drop(columns="kind").to_parquet(folder / f"kind={year}" / "p.parquet")
    boundaries = read_boundaries(grid)
    memory = _config(tmp_path, grid, folder, "memory", 1000)
    where = {"kind": [2024]}
    memory = memory.model_copy(
        update={
            "indicators": tuple(
                d.model_copy(update={"where": where}) if d.id == "s" else d
                for d in memory.indicators
            )
        }
    )
    stream = memory.model_copy(update={"run": memory.run.model_copy(update={"engine": "stream"})})
    a, b = compute_indicators(memory, boundaries), compute_indicators(stream, boundaries)
    _assert_same_cells(a, b)
    assert a.cells["s"].levels["gemeente"]["value"].sum() == 21  # 2024's three records


# --- the demo's synthetic sources as files -----------------------------------------


@pytest.fixture(scope="module")
def stadsdeel_files(tmp_path_factory):
    """The demo's config on DEMO_STADSDEEL, its generated cells, and the same records
    written as partitioned Parquet with the config's sources pointing at them."""
    config = load_config(DEMO_CONFIG)
    b = config.boundaries
    boundaries = read_boundaries(b.path, b.layer, b.columns, b.drop_water, DEMO_STADSDEEL)
    generated = compute_indicators(config, boundaries)
    out = tmp_path_factory.mktemp("synthetic") / "files"
    sources = {m.id: str(m.generator) for m in config.microdata}
    written = write_synthetic(synthetic_context(config, boundaries), sources, out, 2000)
    raw = tomllib.loads((out / "microdata.toml").read_text(encoding="utf-8"))
    microdata = tuple(
        MicrodataSpec.model_validate(m, context={"base": out}) for m in raw["microdata"]
    )
    from_files = config.model_copy(update={"microdata": microdata})
    return from_files, boundaries, generated, written


def _with_run(config, **keys):
    return config.model_copy(update={"run": config.run.model_copy(update=keys)})


def test_synthetic_files_hold_the_generated_records_labelled(stadsdeel_files):
    config, _, generated, written = stadsdeel_files
    assert {w.id for w in written} == {m.id for m in config.microdata}
    assert sum(w.files for w in written) > len(written)  # some sources in several files
    for w in written:
        assert w.records == generated.placements[w.id].records
        for file in w.path.glob("*.parquet"):
            assert pq.read_schema(file).metadata[b"zicht"] == LABEL.encode()
    note = (written[0].path.parent / "LEESMIJ.txt").read_text(encoding="utf-8")
    assert note.startswith("SYNTHETISCHE GEGEVENS")


def test_the_stream_engine_gives_the_generated_cells(stadsdeel_files):
    config, boundaries, generated, _ = stadsdeel_files
    memory = compute_indicators(_with_run(config, engine="memory"), boundaries)
    stream = compute_indicators(_with_run(config, engine="stream", partition_rows=700), boundaries)
    _assert_same_cells(generated, memory)
    _assert_same_cells(generated, stream)
    assert not generated.branches.empty  # branche tables compared too


@pytest.mark.slow  # two worker processes start and import zicht: about a minute
def test_the_dask_engine_on_two_workers_gives_the_generated_cells(stadsdeel_files):
    from distributed import LocalCluster

    config, boundaries, generated, _ = stadsdeel_files
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        on_dask = _with_run(
            config, engine="dask", scheduler=cluster.scheduler_address, partition_rows=2000
        )
        result = compute_indicators(on_dask, boundaries)
        assert len(cluster.workers) == 2
    _assert_same_cells(generated, result)


# --- zicht synthetic -------------------------------------------------------------------


def test_zicht_synthetic_writes_about_n_records_seeded(tmp_path):
    from zicht.engine.cli import main

    args = ["--quiet", "synthetic", "--records", "30000", "--partition-rows", "6000"]
    for name in ("a", "b"):
        assert main([*args, "--out", str(tmp_path / name)]) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.parquet"))
    assert files == sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.parquet")
    )
    for file in files:  # the same arguments write the same records
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "a" / file), pd.read_parquet(tmp_path / "b" / file)
        )
    total = sum(pq.read_metadata(tmp_path / "a" / f).num_rows for f in files)
    assert 27_000 < total < 33_000
    # identifiers restart per partition: buyers recur across files, as across years
    parts = sorted((tmp_path / "a" / "kadaster").glob("*.parquet"))
    buyers = [set(pd.read_parquet(p)["koper_id"]) for p in parts[:2]]
    assert len(parts) >= 2 and buyers[0] & buyers[1]
    assert main([*args, "--out", str(tmp_path / "a")]) == 2  # never over existing files


def test_an_interrupted_synthetic_writer_leaves_nothing(tmp_path, monkeypatch):
    from zicht.engine.sources import synthetic_files

    config = load_config(DEMO_CONFIG)
    b = config.boundaries
    boundaries = read_boundaries(b.path, b.layer, b.columns, b.drop_water, DEMO_STADSDEEL)
    context = synthetic_context(config, boundaries)
    sources = {"hennep": "hennepkwekerijen", "fiu": "fiu_meldingen"}
    write = synthetic_files._write_parts
    calls: list[str] = []

    def interrupted(folder, sid, runs, partition_rows):
        calls.append(sid)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return write(folder, sid, runs, partition_rows)

    monkeypatch.setattr(synthetic_files, "_write_parts", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic(context, sources, tmp_path / "out", 100)
    assert calls == ["hennep", "fiu"] and list(tmp_path.iterdir()) == []
