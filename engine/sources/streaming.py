"""Microdata aggregated in partitions, in memory bounded by the partition size.

Two passes over a source's files (:mod:`engine.sources.partitions`). The first reads
one partition at a time, places its records in the areas once for every indicator of
the source (point-in-polygon with a spatial index, or the code column), and spills
each placed record as one row (its buurt, its unit and holder as text, its amount and
SBI code, one flag per indicator) into a bucket chosen by a hash of its holder. The
second reads one bucket at a time. Every record of a holder is in one bucket, so a
bucket's cells (records, sums, distinct holders, the largest contributions of one
holder) are exact for its holders, and the buckets' cells combine exactly
(:func:`combine_cells`): values and distinct counts add, and a cell's largest
contributions are the largest of the buckets'. Where an indicator counts distinct
units of a source with enterprise groups, a second copy of its rows is bucketed by
unit, so that its units add up too.

Memory: one partition in the first pass; one bucket in the second (the buckets are
as many as make about ``partition_rows`` records each; a holder's records are never
split, so one holder with more records than that makes its bucket larger); and the
cells, whatever the number of records. Sums of amounts that are not whole numbers may
differ from the in-memory path in the last digit (floating point adds in another
order); counts, distinct units and whole-number amounts are identical.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from zicht.boundaries import Boundaries
from zicht.boundaries.codes import LEVELS
from zicht.boundaries.own_areas import OwnAreas
from zicht.engine.config import BranchesSpec, MicrodataIndicator, MicrodataSpec, RunSection
from zicht.engine.sbi import SbiTree, in_nodes
from zicht.engine.sources import microdata as md
from zicht.engine.sources.branches import branche_cells
from zicht.engine.sources.partitions import count_rows, partition_files, read_partitions
from zicht.errors import ConfigError, MicrodataError

TOPS = ["top1", "top2", "top3"]
HOLDER, UNIT = 0, 1  # the streams: rows bucketed by holder, and by unit


@dataclass(frozen=True)
class SourcePlan:
    """What the passes over one source need: its spec, its indicators (with their SBI
    filter and whether each is a branche indicator), the areas and the bucket count."""

    spec: MicrodataSpec
    indicators: tuple[MicrodataIndicator, ...]
    nodes: tuple[tuple[str, ...] | None, ...]
    branche: tuple[bool, ...]
    boundaries: Boundaries
    own_areas: tuple[OwnAreas, ...] = ()
    branches: BranchesSpec | None = None
    buckets: int = 1
    partition_rows: int = 1_000_000

    @property
    def by_unit(self) -> bool:
        """Whether distinct units need rows bucketed by unit (holders are groups)."""
        return self.spec.group is not None and any(d.measure == "units" for d in self.indicators)

    @property
    def wanted(self) -> list[str]:
        """The columns the indicators filter on."""
        return list(dict.fromkeys(c for d in self.indicators for c in d.where))

    @property
    def branche_levels(self) -> list[str]:
        spec = self.branches
        if spec is None:
            return []
        return [lv for lv in LEVELS[::-1] if lv in spec.levels and lv in self.boundaries.levels]


@dataclass
class Partial:
    """Cells of one source's indicators from some of its holders: per indicator, the
    cells on every level, of every set of own areas, and per area x SBI node."""

    levels: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    own: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    branche: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class Counts:
    """How many records a pass read, and how many it could not place."""

    records: int = 0
    outside: int = 0
    no_location: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.records + other.records,
            self.outside + other.outside,
            self.no_location + other.no_location,
        )

    def placement(self) -> md.Placement:
        """The source's placement as a log line needs it (no record positions: they
        were never held at once)."""
        empty = np.empty(0, dtype=np.int64)
        return md.Placement({}, empty, self.outside, self.no_location, self.records)


# one file source's cells in partitions: (partial cells, counts) of its plan
Aggregate = Callable[[SourcePlan], tuple[Partial, Counts]]


@contextmanager
def aggregator(run: RunSection) -> Iterator[Aggregate]:
    """How a run aggregates its file sources in partitions: in this process, or on a
    dask cluster (:mod:`engine.sources.on_dask`) that serves every source of the run."""
    if run.engine != "dask":
        yield lambda plan: stream_source(plan, run.scratch)
        return
    try:
        from zicht.engine.sources.on_dask import dask_aggregator
    except ImportError as exc:
        raise ConfigError(
            f'[run] engine = "dask" needs dask.distributed ({exc}): pip install "zicht[scale]"'
        ) from None
    with dask_aggregator(run) as aggregate:
        yield aggregate


def bucket_count(files: Sequence[Path], spec: MicrodataSpec, rows: int, by_unit: bool) -> int:
    """Buckets of about ``rows`` spilled rows each (twice the records where rows are
    also bucketed by unit)."""
    records = sum(count_rows(f, spec.layer) for f in files)
    return max(1, math.ceil(records * (2 if by_unit else 1) / rows))


def stream_source(plan: SourcePlan, scratch: Path | None = None) -> tuple[Partial, Counts]:
    """All cells of one source's indicators, one partition and one bucket at a time.

    The spilled rows live in a temporary folder under ``scratch`` (default: the
    system's) that is removed however the aggregation ends.
    """
    assert plan.spec.path is not None, "a generated source is not streamed"
    files = partition_files(plan.spec.path)
    with tempfile.TemporaryDirectory(prefix="zicht-spill-", dir=scratch) as spill:
        counts = Counts()
        for i, file in enumerate(files):
            counts += spill_file(plan, file, Path(spill) / f"part-{i:06d}.parquet")
        total: Partial | None = None
        for bucket in range(plan.buckets):
            total = combine(total, bucket_cells(plan, Path(spill), bucket))
    assert total is not None
    return total, counts


def spill_file(plan: SourcePlan, file: Path, target: Path) -> Counts:
    """Pass one over one file: its partitions placed and spilled into ``target`` as row
    groups of one bucket each."""
    root = plan.spec.path if plan.spec.path is not None and plan.spec.path.is_dir() else None
    counts = Counts()
    schema = _spill_schema(plan)
    partial = target.with_name(target.name + ".partial")
    with pq.ParquetWriter(partial, schema) as writer:
        for frame in read_partitions(file, plan.spec, plan.wanted, plan.partition_rows, root):
            rows, placed = spill_rows(plan, frame, f"{file} (microdata {plan.spec.id!r})")
            counts += placed
            # sorted by bucket, each bucket's rows one row group: a bucket is read
            # back from the row groups whose statistics name it
            order = np.argsort(rows["bucket"].to_numpy(), kind="stable")
            rows = rows.iloc[order]
            table = pa.Table.from_pandas(rows, schema=schema, preserve_index=False)
            buckets = rows["bucket"].to_numpy()
            edges = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1], True])
            for start, stop in zip(edges[:-1], edges[1:]):
                writer.write_table(table.slice(start, stop - start))
    partial.rename(target)
    return counts


def spill_rows(plan: SourcePlan, frame: pd.DataFrame, where: str) -> tuple[pd.DataFrame, Counts]:
    """One partition placed in the areas: a row per record that some indicator counts."""
    spec = plan.spec
    md.check_units(frame, str(spec.unit), where)
    areas = plan.boundaries.areas
    finest, no_location = md.area_positions(
        frame, areas, spec.x, spec.y, spec.crs, spec.code, where
    )
    leaves = None
    if spec.sbi is not None:
        leaves = _leaves(frame[spec.sbi], f"{where}, column {spec.sbi!r}")
    flags = _flags(plan, frame, finest, leaves, where)
    unit = frame[str(spec.unit)].astype(str)
    holder = unit
    if spec.group is not None:
        groups = frame[spec.group].astype(object)
        holder = groups.where(groups.notna(), frame[str(spec.unit)]).astype(str)
    rows = pd.DataFrame({"cell": finest.astype(np.int32), "holder": holder, "unit": unit})
    if any(d.measure == "amount" for d in plan.indicators):
        rows["amount"] = (
            md.amounts(frame, spec.amount, where) if spec.amount else np.zeros(len(frame))
        )
    if leaves is not None:
        rows["leaf"] = leaves.to_numpy(dtype=object)
    for i, flag in enumerate(flags):
        rows[f"f{i}"] = flag
    rows = rows[np.any(flags, axis=0)] if flags else rows.iloc[:0]
    streams = [rows.assign(stream=HOLDER, bucket=_bucket(rows["holder"], plan.buckets))]
    if plan.by_unit:
        streams.append(rows.assign(stream=UNIT, bucket=_bucket(rows["unit"], plan.buckets)))
    outside = int((finest < 0).sum()) - no_location
    counts = Counts(len(frame), outside, no_location)
    return pd.concat(streams, ignore_index=True), counts


def _leaves(codes: pd.Series, where: str) -> pd.Series:
    """Each record's deepest SBI node (:meth:`SbiTree.leaves`), found once per
    distinct code: a partition has millions of records but a few hundred codes."""
    index, distinct = pd.factorize(codes)
    found = SbiTree.default().leaves(pd.Series(distinct), where).to_numpy(dtype=object)
    leaves = np.where(index >= 0, found[np.maximum(index, 0)] if len(found) else None, None)
    return pd.Series(leaves, index=codes.index, dtype=object)


def _flags(
    plan: SourcePlan,
    frame: pd.DataFrame,
    finest: np.ndarray,
    leaves: pd.Series | None,
    where: str,
) -> list[np.ndarray]:
    """Per indicator, which records of the partition it counts (placed ones only)."""
    flags = []
    for d, nodes, branche in zip(plan.indicators, plan.nodes, plan.branche):
        mask = md.record_mask(frame, d, where)
        if nodes is not None and leaves is not None:
            mask &= in_nodes(leaves, nodes)
        if branche and leaves is not None and (mask & leaves.isna().to_numpy()).any():
            missing = int((mask & leaves.isna().to_numpy()).sum())
            raise MicrodataError(
                f"{where}: {missing} record(s) of branche indicator {d.id!r} have no "
                "SBI code; every record of a branche table needs one"
            )
        flags.append(mask & (finest >= 0))
    return flags


def _bucket(keys: pd.Series, buckets: int) -> np.ndarray:
    """The bucket of each key: a stable hash (the same in every process and run)."""
    hashes = pd.util.hash_array(keys.to_numpy(dtype=object))
    return (hashes % np.uint64(buckets)).astype(np.int32)


def _spill_schema(plan: SourcePlan) -> pa.Schema:
    fields = [
        pa.field("cell", pa.int32()),
        pa.field("holder", pa.string()),
        pa.field("unit", pa.string()),
    ]
    if any(d.measure == "amount" for d in plan.indicators):
        fields.append(pa.field("amount", pa.float64()))
    if plan.spec.sbi is not None:
        fields.append(pa.field("leaf", pa.string()))
    fields += [pa.field(f"f{i}", pa.bool_()) for i in range(len(plan.indicators))]
    fields += [pa.field("stream", pa.int8()), pa.field("bucket", pa.int32())]
    return pa.schema(fields)


def bucket_cells(plan: SourcePlan, spill: Path, bucket: int) -> Partial:
    """Pass two over one bucket: the cells of its holders (and, bucketed by unit, the
    distinct units of its units)."""
    table = ds.dataset(spill, format="parquet").to_table(filter=ds.field("bucket") == bucket)
    rows = _decoded(table)
    by_holder = rows[rows["stream"] == HOLDER]
    partial = _cells_of_rows(plan, by_holder, by_holder["holder"])
    if plan.by_unit:
        by_unit = rows[rows["stream"] == UNIT]
        units = _cells_of_rows(plan, by_unit, by_unit["unit"], only_units=True)
        _take_units(plan, partial, units)
    return partial


def _decoded(table: pa.Table) -> pd.DataFrame:
    """A bucket's rows as numbers where they can be: holders and units as integer codes
    (one text, one code; the cells need no more), SBI leaves as text."""
    columns: dict[str, np.ndarray] = {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if name in ("holder", "unit", "leaf"):
            encoded = pc.dictionary_encode(column)
            codes = encoded.indices.fill_null(-1).to_numpy().astype(np.int64)
            if name != "leaf":
                columns[name] = codes
                continue
            words = np.array(encoded.dictionary.to_pylist() + [None], dtype=object)
            columns[name] = words[codes]  # code -1 (no SBI code): the None at the end
        else:
            columns[name] = column.to_numpy(zero_copy_only=False)
    return pd.DataFrame(columns)


def _cells_of_rows(
    plan: SourcePlan, rows: pd.DataFrame, holders: pd.Series, only_units: bool = False
) -> Partial:
    """The cells of spilled rows, as the in-memory path computes them from records."""
    b = plan.boundaries
    position = rows["cell"].to_numpy(dtype=np.int64)
    placement = md.Placement(
        md.level_positions(b, position),
        rows["unit"].to_numpy(dtype=np.int64),
        0,
        0,
        len(rows),
        holders.to_numpy(dtype=np.int64),
    )
    amount = rows["amount"].to_numpy(dtype=float) if "amount" in rows else None
    partial = Partial()
    for i, d in enumerate(plan.indicators):
        if only_units and d.measure != "units":
            continue
        mask = rows[f"f{i}"].to_numpy(dtype=bool)
        weight = amount if d.measure == "amount" else None
        partial.levels[d.id] = md.microdata_cells(placement, b, mask, d.measure, weight)
        partial.own[d.id] = {
            own.id: md.own_area_cells(
                placement, b, own.buurt_of, own.codes, mask, d.measure, weight
            )
            for own in plan.own_areas
        }
        if plan.branche[i]:
            partial.branche[d.id] = _branche(plan, placement, rows, mask, d.measure, weight)
    return partial


def _branche(
    plan: SourcePlan,
    placement: md.Placement,
    rows: pd.DataFrame,
    mask: np.ndarray,
    measure: str,
    amount: np.ndarray | None,
) -> pd.DataFrame:
    assert plan.branches is not None
    tree = SbiTree.default().down_to(plan.branches.depth)
    leaves = tree.lift(rows["leaf"]).to_numpy(dtype=object)
    return branche_cells(
        placement, plan.boundaries, plan.branche_levels, mask, measure, leaves, tree, amount
    )


def _take_units(plan: SourcePlan, partial: Partial, units: Partial) -> None:
    """Distinct units counted from the rows bucketed by unit replace the holder
    buckets' (a unit whose records name different groups is in several of those)."""
    for d in plan.indicators:
        if d.measure != "units":
            continue
        frames = list(zip(partial.levels[d.id].values(), units.levels[d.id].values()))
        frames += list(zip(partial.own[d.id].values(), units.own[d.id].values()))
        if d.id in partial.branche:
            frames.append((partial.branche[d.id], units.branche[d.id]))
        for into, counted in frames:
            into["value"] = counted["value"].to_numpy()
            if "numerator" in into:
                into["numerator"] = counted["value"].to_numpy()


def combine(total: Partial | None, part: Partial) -> Partial:
    """The cells of two disjoint sets of holders together (``total`` may be None)."""
    if total is None:
        return part
    return Partial(
        {
            key: {lv: combine_cells(c, part.levels[key][lv]) for lv, c in levels.items()}
            for key, levels in total.levels.items()
        },
        {
            key: {own: combine_cells(c, part.own[key][own]) for own, c in sets.items()}
            for key, sets in total.own.items()
        },
        {key: combine_cells(c, part.branche[key]) for key, c in total.branche.items()},
    )


def combine_cells(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Cells (or branche rows, in the same order) of disjoint holders combined: values
    and distinct counts add, the largest contributions are the largest of both."""
    out = a.copy()
    out["value"] = a["value"].to_numpy() + b["value"].to_numpy()
    if "numerator" in out:
        out["numerator"] = out["value"]
    out["units"] = a["units"].to_numpy() + b["units"].to_numpy()
    both = np.concatenate([a[TOPS].to_numpy(dtype=float), b[TOPS].to_numpy(dtype=float)], axis=1)
    # descending with the unknowns (NaN: fewer holders than places) last
    out[TOPS] = -np.sort(-both, axis=1)[:, : len(TOPS)]
    return out


def plan_source(
    spec: MicrodataSpec,
    indicators: Sequence[MicrodataIndicator],
    nodes: Sequence[tuple[str, ...] | None],
    boundaries: Boundaries,
    branches: BranchesSpec | None = None,
    partition_rows: int = 1_000_000,
) -> SourcePlan:
    """The plan of one source's passes, with as many buckets as its records need."""
    assert spec.path is not None, "a generated source is not streamed"
    branche_ids = branches.indicators if branches is not None else ()
    plan = SourcePlan(
        spec,
        tuple(indicators),
        tuple(nodes),
        tuple(d.id in branche_ids for d in indicators),
        boundaries,
        tuple(boundaries.own_areas),
        branches,
        1,
        partition_rows,
    )
    files = partition_files(spec.path)
    buckets = bucket_count(files, spec, partition_rows, plan.by_unit)
    return dataclasses.replace(plan, buckets=buckets)
