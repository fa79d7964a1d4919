"""The cells of every microdata source's indicators: its records read or generated,
placed in the areas once, and counted per indicator on every level, per own area and,
for branche indicators, per area x SBI node.

Each in-memory source is counted on its own (:func:`source_cells`): it reads nothing
another one computes. Where a run started its second processes early
(:func:`~zicht.processes.helper_processes`), every other source is counted in one of
them meanwhile; the results are taken in the configured order, so the cells, the
logs and the order of everything are those of one process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from zicht.boundaries import Boundaries
from zicht.boundaries.codes import LEVELS
from zicht.boundaries.own_areas import OwnAreas
from zicht.engine.config import Config, MicrodataIndicator, MicrodataSpec
from zicht.engine.sbi import SbiTree, in_nodes
from zicht.engine.sources import microdata as md
from zicht.engine.sources import streaming
from zicht.engine.sources.branches import branche_cells
from zicht.engine.sources.synthetic import Context, SyntheticData, generate
from zicht.errors import MicrodataError
from zicht.processes import Helpers, started_early

log = logging.getLogger("zicht")


@dataclass
class SourceCells:
    """One source's cells: per indicator on every level (``levels``) and per set of
    own areas (``own``), the branche indicators' cells per area x SBI node
    (``branches``), where its records lie, and what they are."""

    spec: MicrodataSpec
    placement: md.Placement
    source: str  # the name the outputs give it
    unit_type: str
    levels: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    own: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    branches: list[pd.DataFrame] = field(default_factory=list)
    synthetic: SyntheticData | None = None


def used_by(config: Config, spec: MicrodataSpec) -> list[MicrodataIndicator]:
    """The indicators of one microdata source."""
    return [
        d for d in config.indicators if isinstance(d, MicrodataIndicator) and d.microdata == spec.id
    ]


def every_source(
    config: Config,
    boundaries: Boundaries,
    context: Context | None,
    aggregate: streaming.Aggregate,
) -> list[SourceCells]:
    """The cells of every used source, in the configured order; file sources of a run
    that streams them in partitions (``[run] engine``), the others in memory, every
    other one of those in a second process where the run started one early.
    ``context``: what the generators draw from (where a source has one)."""
    used = {s.id: used_by(config, s) for s in config.microdata if used_by(config, s)}
    specs = [s for s in config.microdata if s.id in used]
    in_memory = [s for s in specs if s.path is None or config.run.engine == "memory"]
    aside = in_memory[1::2] if started_early() else []
    with Helpers(1 if aside else 0, "indicators", "counts every source") as helpers:
        counted = {
            s.id: partial(source_cells, config, boundaries, s, used[s.id], context)
            for s in in_memory
        }
        sent = {s.id: helpers.submit(counted[s.id]) for s in aside}
        pending = {key: job for key, job in sent.items() if job is not None}
        # with sources aside, this process counts its own first (an error kept, to be
        # raised in the configured order); without, each source in turn
        here = {s.id: _attempt(counted[s.id]) for s in in_memory if pending and s.id not in pending}
        found: list[SourceCells] = []
        for s in specs:
            cells: SourceCells | Exception
            if s.id in pending:
                cells = helpers.result(pending[s.id], counted[s.id])
            elif s.id in counted:
                cells = here[s.id] if s.id in here else counted[s.id]()
            else:
                cells = _streamed(config, boundaries, s, used[s.id], aggregate)
            if isinstance(cells, Exception):
                raise cells
            log.info("%s", cells.placement.describe(s.id))
            found.append(cells)
    return found


def _attempt(count: Callable[[], SourceCells]) -> SourceCells | Exception:
    """A source's cells, or the error counting them raised (raised later, in order)."""
    try:
        return count()
    except Exception as error:  # noqa: BLE001 (every error is raised again, in order)
        return error


def source_cells(
    config: Config,
    boundaries: Boundaries,
    spec: MicrodataSpec,
    used: list[MicrodataIndicator],
    context: Context | None,
) -> SourceCells:
    """One in-memory source's cells: its records read (or generated from ``context``),
    placed, and counted for each of its indicators ``used``."""
    records, placement, amount_column, unit_type, where, synthetic = _place(
        spec, boundaries, context, config.seed
    )
    found = SourceCells(
        spec=spec,
        placement=placement,
        source=spec.source or (spec.path.name if spec.path else str(spec.generator)),
        unit_type=unit_type,
        synthetic=synthetic,
    )
    sbi_column = spec.sbi or (synthetic.sbi if synthetic is not None else None)
    leaves = (
        SbiTree.default().leaves(records[sbi_column], f"{where}, column {sbi_column!r}")
        if sbi_column is not None and sbi_column in records
        else None
    )
    _require_amounts(used, amount_column, where)
    for d in used:
        amount = (
            md.amounts(records, amount_column, where)
            if d.measure == "amount" and amount_column is not None
            else None
        )
        mask = md.record_mask(records, d, where)
        nodes = config.sbi_nodes(d)
        if nodes is not None and leaves is not None:
            mask &= in_nodes(leaves, nodes)
        if config.branches is not None and d.id in config.branches.indicators:
            assert leaves is not None  # the config names sources with an SBI column
            frame = _branche_frame(config, boundaries, placement, d, mask, leaves, where, amount)
            found.branches.append(frame.assign(unit_type=unit_type))
        found.levels[d.id] = md.microdata_cells(placement, boundaries, mask, d.measure, amount)
        found.own[d.id] = _own_cells(boundaries.own_areas, placement, boundaries, mask, d, amount)
    return found


def _require_amounts(used: list[MicrodataIndicator], column: str | None, where: str) -> None:
    """A source whose indicators sum amounts must name its amount ``column``."""
    for d in used:
        if d.measure == "amount" and column is None:
            raise MicrodataError(
                f"{where}: indicator {d.id!r} sums amounts, but the "
                "records have no amount column ('amount' key)"
            )


def _own_cells(
    own_areas: Sequence[OwnAreas],
    placement: md.Placement,
    boundaries: Boundaries,
    mask: np.ndarray,
    d: MicrodataIndicator,
    amount: np.ndarray | None,
) -> dict[str, pd.DataFrame]:
    """One microdata indicator's cells of every set of own areas, from the records."""
    return {
        own.id: md.own_area_cells(
            placement, boundaries, own.buurt_of, own.codes, mask, d.measure, amount
        )
        for own in own_areas
    }


def _branche_frame(
    config: Config,
    boundaries: Boundaries,
    placement: md.Placement,
    d: MicrodataIndicator,
    mask: np.ndarray,
    leaves: pd.Series,
    where: str,
    amount: np.ndarray | None,
) -> pd.DataFrame:
    """One branche indicator's cells per area x SBI node, on the configured levels."""
    spec = config.branches
    assert spec is not None
    missing = mask & leaves.isna().to_numpy()
    if missing.any():
        raise MicrodataError(
            f"{where}: {int(missing.sum())} record(s) of branche indicator {d.id!r} have no "
            "SBI code; every record of a branche table needs one"
        )
    levels = [lv for lv in LEVELS[::-1] if lv in spec.levels and lv in boundaries.levels]
    tree = SbiTree.default().down_to(spec.depth)
    frame = branche_cells(
        placement,
        boundaries,
        levels,
        mask,
        d.measure,
        tree.lift(leaves).to_numpy(dtype=object),
        tree,
        amount,
    )
    return labelled(frame, d)


def labelled(frame: pd.DataFrame, d: MicrodataIndicator) -> pd.DataFrame:
    """A branche indicator's cells with the indicator's id and kind."""
    frame.insert(0, "indicator", d.id)
    frame["kind"] = d.kind
    frame["sensitive"] = True
    return frame


def _streamed(
    config: Config,
    boundaries: Boundaries,
    spec: MicrodataSpec,
    used: list[MicrodataIndicator],
    aggregate: streaming.Aggregate,
) -> SourceCells:
    """One file source's cells in partitions ([run] engine "stream" or "dask"): the
    cells of the in-memory path, in memory bounded by the partition size."""
    _require_amounts(used, spec.amount, f"{spec.path} (microdata {spec.id!r})")
    nodes = [config.sbi_nodes(d) if spec.sbi is not None else None for d in used]
    plan = streaming.plan_source(
        spec, used, nodes, boundaries, config.branches, config.run.partition_rows
    )
    aggregated, counts = aggregate(plan)
    unit_type = spec.unit_type or "person"
    return SourceCells(
        spec=spec,
        placement=counts.placement(),
        source=spec.source or Path(str(spec.path)).name,
        unit_type=unit_type,
        levels={d.id: aggregated.levels[d.id] for d in used},
        own={d.id: aggregated.own[d.id] for d in used},
        branches=[
            labelled(aggregated.branche[d.id], d).assign(unit_type=unit_type)
            for d in used
            if d.id in aggregated.branche
        ],
    )


def _place(
    spec: MicrodataSpec, boundaries: Boundaries, context: Context | None, seed: int
) -> tuple[pd.DataFrame, md.Placement, str | None, str, str, SyntheticData | None]:
    """Read or generate one source's records and place them in the areas."""
    if spec.generator is not None and context is not None:
        data = generate(spec.generator, boundaries.areas, context.drivers, seed, context=context)
        placed_by_point = "x" in data.records
        placement = md.place_records(
            data.records,
            boundaries,
            data.unit,
            x="x" if placed_by_point else None,
            y="y" if placed_by_point else None,
            code=None if placed_by_point else "buurtcode",
            where=f"synthetic {spec.generator}",
            group=data.group,
        )
        unit_type = spec.unit_type or data.unit_type
        where = f"synthetic microdata {spec.id!r}"
        return data.records, placement, data.amount, unit_type, where, data
    records = md.read_records(spec)
    where = f"{spec.path} (microdata {spec.id!r})"
    placement = md.place_records(
        records,
        boundaries,
        str(spec.unit),
        spec.x,
        spec.y,
        spec.crs,
        spec.code,
        where=where,
        group=spec.group,
    )
    return records, placement, spec.amount, spec.unit_type or "person", where, None
