"""An area table keyed on the codes of other boundaries (another year): its figures
moved to the run's areas by areal interpolation (:mod:`boundaries.interpolate`),
``[[tables]] interpolate_from``. What comes out are estimates, and are marked so.

The figures moved are the table's as read. The config only lets a public table be
moved (figures that were published, already protected on their own boundaries): an
estimate is a sum of the old figures with weights anyone can compute from the two
boundary files, so estimates of unprotected figures would give those away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from zicht.boundaries import Boundaries, read_boundaries
from zicht.boundaries.interpolate import Allocation, allocation, move_counts, move_means
from zicht.boundaries.vintage import year_of_path, year_of_table
from zicht.engine.config import ADDITIVE, Config, TableIndicator, TableSpec
from zicht.engine.sources.tables import to_number
from zicht.errors import TableError

log = logging.getLogger("zicht")


@dataclass
class Interpolation:
    """How one table was moved: from which boundaries and year to which, weighted by
    what, and what could not be estimated (the run record keeps it)."""

    table: str
    boundaries: str
    from_year: int | None
    to_year: int | None
    weight: str
    sources: int
    matched: int
    targets: int
    estimated: dict[str, int] = field(default_factory=dict)  # column -> targets with a value
    uncovered: list[str] = field(default_factory=list)  # targets the old areas barely cover
    partly_covered: int = 0  # old areas partly outside the run's (given in part)
    suspects: list[str] = field(default_factory=list)  # old areas left out (slivers)
    area_weighted: int = 0  # old areas that fell back to area weights

    def describe(self) -> str:
        years = f"{self.from_year or '?'} -> {self.to_year or '?'}"
        text = (
            f"table {self.table!r} moved from {self.boundaries} ({years}, weight "
            f"{self.weight!r}): {self.matched} of {self.sources} old areas have figures; "
            f"estimates for the run's {self.targets} areas"
        )
        if self.uncovered:
            text += (
                f"; {len(self.uncovered)} areas barely covered by the old boundaries get "
                f"none (e.g. {', '.join(self.uncovered[:3])})"
            )
        if self.suspects:
            text += f"; {len(self.suspects)} suspect old areas left out"
        if self.partly_covered:
            text += f"; {self.partly_covered} old areas lie partly outside and give that part"
        return text

    def record(self) -> dict[str, object]:
        """What the run record keeps of it."""
        return {
            "table": self.table,
            "boundaries": self.boundaries,
            "from_year": self.from_year,
            "to_year": self.to_year,
            "weight": self.weight,
            "old_areas": self.sources,
            "old_areas_with_figures": self.matched,
            "areas": self.targets,
            "estimated": self.estimated,
            "uncovered": self.uncovered,
            "old_areas_partly_outside": self.partly_covered,
            "old_areas_suspect": self.suspects,
            "old_areas_area_weighted": self.area_weighted,
        }


def interpolated_table(
    config: Config,
    spec: TableSpec,
    frame: pd.DataFrame,
    areas: Boundaries,
    density: pd.Series | None,
) -> tuple[pd.DataFrame, Interpolation]:
    """The columns of ``frame`` (keyed on codes of ``spec.interpolate_from``'s
    boundaries) that the run's indicators read, as numbers on the run's finest
    areas; ``density`` is the target density weight per area, or None for area
    weights. Raises :class:`TableError` naming the table and key."""
    moved = spec.interpolate_from
    assert moved is not None
    where = f"table {spec.id!r} (interpolate_from.boundaries {moved.boundaries.name})"
    read = read_boundaries(moved.boundaries, moved.layer, moved.columns or None)
    # a suspect old area (a clipped piece that carries a whole buurt's figures) moves
    # nothing: its figures would all land where the piece lies
    suspects = read.report.suspect_codes
    old = read.areas.drop(index=[c for c in suspects if c in read.areas.index])
    matched = frame.index.isin(old.index)
    if matched.mean() < spec.min_match:
        raise TableError(
            f"{where}: {int(matched.sum())} of {len(frame)} table codes are among its "
            f"{len(old)} areas (below min_match {spec.min_match:.0%}), e.g. "
            f"{', '.join(frame.index[~matched][:3])}; give the boundaries of the table's year"
        )
    used = [d for d in config.indicators if isinstance(d, TableIndicator) and d.table == spec.id]
    numbers = _numbers(spec, frame, used)
    alloc = allocation(old.geometry, areas.areas.geometry, density)
    out = _moved(alloc, numbers, used)
    report = Interpolation(
        table=spec.id,
        boundaries=Path(moved.boundaries).name,
        from_year=spec.year or year_of_table(frame, spec.path) or year_of_path(moved.boundaries),
        to_year=config.boundaries.year or year_of_path(config.boundaries.path),
        weight=moved.weight,
        sources=len(old),
        matched=int(old.index.isin(frame.index).sum()),
        targets=len(out),
        estimated={str(c): int(out[c].notna().sum()) for c in out.columns},
        uncovered=[str(c) for c in alloc.uncovered],
        partly_covered=len(alloc.partly_covered),
        suspects=suspects,
        area_weighted=int((~alloc.density_weighted & (alloc.source_cover > 0)).sum())
        if density is not None
        else 0,
    )
    log.info("%s", report.describe())
    return out, report


def _numbers(spec: TableSpec, frame: pd.DataFrame, used: list[TableIndicator]) -> pd.DataFrame:
    """The used columns as numbers (secret marks NaN), on the old codes."""
    columns = {}
    for d in used:
        if d.column not in frame.columns:
            raise TableError(
                f"{spec.path}: no column {d.column!r} (indicator {d.id!r}); columns are "
                f"{[str(c) for c in frame.columns]}"
            )
        where = f"{spec.path}, column {d.column!r} (indicator {d.id!r})"
        columns[d.column] = to_number(
            frame[d.column], where, d.kind in ADDITIVE, na_values=spec.na_values
        )
    return pd.DataFrame(columns, index=frame.index)


def _moved(alloc: Allocation, numbers: pd.DataFrame, used: list[TableIndicator]) -> pd.DataFrame:
    """Counts and sums moved as they are; means and shares with their denominator."""
    column_of = {d.id: d.column for d in used}
    additive = list(dict.fromkeys(d.column for d in used if d.kind in ADDITIVE))
    out = move_counts(alloc, numbers[additive])
    for d in used:
        if d.kind in ADDITIVE or d.weight is None:
            continue
        weight = numbers[column_of[d.weight]]
        out[d.column], _ = move_means(alloc, numbers[d.column], weight)
    return out
