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
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from zicht.boundaries import Boundaries, read_boundaries
from zicht.boundaries.interpolate import Allocation, allocation, move_counts, move_means
from zicht.boundaries.vintage import year_of_path, year_of_table
from zicht.engine.config import ADDITIVE, Config, TableIndicator, TableSpec
from zicht.engine.sources.tables import read_table, to_number
from zicht.errors import OutputError, TableError

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
            f"estimates for {self.targets - len(self.uncovered)} of {self.targets} areas"
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
    old, suspects = _old_areas(moved.boundaries, moved.layer, moved.columns or None)
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


def _old_areas(
    path: Path, layer: str | None, columns: dict[str, str] | None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The old boundaries' finest areas, less the suspect ones (and their codes): a
    clipped piece that carries a whole buurt's figures would put them all where the
    piece lies."""
    read = read_boundaries(path, layer, columns)
    suspects = read.report.suspect_codes
    return read.areas.drop(index=[c for c in suspects if c in read.areas.index]), suspects


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


@dataclass(frozen=True)
class MoveRequest:
    """``zicht boundaries interpolate``: a table on the codes of the ``old``
    boundaries, moved to the ``new`` ones; ``counts`` and ``means`` (column ->
    denominator column) are its columns to move, ``weight`` a count column of the new
    boundary file (target density) or None for area weights."""

    table: Path
    key: str
    old: Path
    new: Path
    counts: tuple[str, ...] = ()
    means: dict[str, str] = field(default_factory=dict)
    weight: str | None = None
    old_layer: str | None = None
    new_layer: str | None = None
    new_key: str = "buurtcode"  # the new boundary file's code column (for ``weight``)
    na_values: tuple[str, ...] = ("-99999999",)


def move_table_file(request: MoveRequest, out: Path) -> Interpolation:
    """Move a table's columns to other boundaries and write them to ``out`` (CSV, ``;``,
    one row per new area: ``code``, ``schatting`` saying from which boundaries, the
    columns), whole or not at all. Raises :class:`TableError` or
    :class:`~zicht.errors.BoundaryError` naming the file and column at fault."""
    frame = read_table(request.table, request.key, request.old_layer)
    columns = list(dict.fromkeys([*request.counts, *request.means, *request.means.values()]))
    if not columns:
        raise TableError(
            f"{request.table}: give the columns to move (--count COLUMN, --mean COLUMN=DENOMINATOR)"
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TableError(
            f"{request.table}: no column {missing[0]!r}; columns are "
            f"{[str(c) for c in frame.columns]}"
        )
    numbers = pd.DataFrame(
        {
            c: to_number(
                frame[c],
                f"{request.table}, column {c!r}",
                c not in request.means,
                request.na_values,
            )
            for c in columns
        },
        index=frame.index,
    )
    old, suspects = _old_areas(request.old, request.old_layer, None)
    new = read_boundaries(request.new, request.new_layer).areas
    density = None
    if request.weight is not None:
        counts = read_table(request.new, request.new_key, request.new_layer)
        where = f"{request.new}, column {request.weight!r} (--weight)"
        if request.weight not in counts.columns:
            raise TableError(f"{where}: no such column; columns are {list(counts.columns)}")
        density = to_number(counts[request.weight], where, True, request.na_values)
    alloc = allocation(old.geometry, new.geometry, density)
    moved = move_counts(alloc, numbers[[c for c in columns if c not in request.means]])
    for column, denominator in request.means.items():
        moved[column], _ = move_means(alloc, numbers[column], numbers[denominator])
    years = year_of_path(request.old), year_of_path(request.new)
    label = f"{years[0] or '?'} -> {years[1] or '?'} ({request.weight or 'area'})"
    moved.insert(0, "schatting", label)
    _write_csv(moved.rename_axis("code"), out)
    return Interpolation(
        table=request.table.name,
        boundaries=request.old.name,
        from_year=years[0],
        to_year=years[1],
        weight=request.weight or "area",
        sources=len(old),
        matched=int(old.index.isin(frame.index).sum()),
        targets=len(moved),
        estimated={c: int(moved[c].notna().sum()) for c in columns},
        uncovered=[str(c) for c in alloc.uncovered],
        partly_covered=len(alloc.partly_covered),
        suspects=suspects,
    )


def _write_csv(frame: pd.DataFrame, out: Path) -> None:
    """``frame`` as a Dutch CSV at ``out`` (``;`` between fields, a decimal comma, two
    decimals: estimates, not counts; what :mod:`engine.sources.tables` reads back),
    moved into place when complete."""
    out = Path(out)
    try:
        handle, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    except OSError as exc:
        raise OutputError(f"{out}: cannot be written ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as fh:
            frame.to_csv(fh, sep=";", decimal=",", float_format="%.2f", lineterminator="\n")
        os.replace(name, out)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
