"""``zicht boundaries check``: read a boundary file and describe it, line by line."""

from __future__ import annotations

from pathlib import Path

from zicht.boundaries import read_boundaries
from zicht.boundaries.quality import QualityRules
from zicht.spatial.weights import queen_with_islands


def check_boundaries(
    path: Path,
    layer: str | None = None,
    columns: dict[str, str] | None = None,
    drop_water: bool = True,
    quality: QualityRules | None = None,
    select: tuple[str, ...] = (),
) -> tuple[list[str], bool]:
    """``zicht boundaries check``: read a boundary file and describe it, line by line,
    and whether it is clean (no suspect areas: :mod:`boundaries.quality`); with
    ``select`` only the areas it names (codes or province names).

    Raises :class:`~zicht.errors.BoundaryError` (with every problem in
    ``problems``) when the file cannot be used.
    """
    boundaries = read_boundaries(path, layer, columns, drop_water=drop_water, quality=quality)
    if select:
        boundaries = boundaries.cut(select, f"{path}: --select")
    lines = boundaries.report.describe()
    islands = queen_with_islands(boundaries.areas, islands_k=0).islands
    lines.append(
        f"islands:   {len(islands)} area(s) without a queen neighbour"
        + (f": {', '.join(islands[:20])}" if islands else "")
    )
    suspects = len(boundaries.report.suspect_codes)
    areas = f"{len(boundaries.areas):,} {boundaries.report.level} areas"
    if suspects:
        lines.append(
            f"SUSPECT: usable ({areas}), but {suspects} area(s) have a geometry that cannot "
            "be what they claim to be; a run leaves them out of its statistics"
        )
    else:
        lines.append(f"OK: usable ({areas})")
    return lines, not suspects
