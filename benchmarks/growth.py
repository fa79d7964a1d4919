"""Benchmark: how time and memory grow from one gemeente to the whole country.

The national benchmark's run (``benchmarks/national.py``: the demo's four themes on
synthetic records, 1.75 times the demo's rate per inhabitant) on four boundary files
cut from ../shared/data/nl_buurten_2015.gpkg: the gemeente Utrecht, then the gemeenten
nearest to it until about 1,000 and 4,000 buurten, then all 12,229. Each size runs in
a fresh process (no warm caches, no memory left over from a smaller size) and reports
its wall and CPU time per stage and its peak memory; the table ends with each stage's
growth factor from the second size to the largest, against the growth in buurten.

    python -m benchmarks.growth [--sizes 1,1000,4000,0]

A size is a number of buurten to reach (1: one gemeente; 0: the whole country).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

from benchmarks.common import NATIONAL_2015, national_config, peak_memory_mb, require_national_data

CENTRE = "GM0344"  # Utrecht: the middle of the country, the ring grows from there
DEFAULT_SIZES = (1, 1000, 4000, 0)


def nearest_gemeenten(buurten: gpd.GeoDataFrame, size: int) -> list[str]:
    """The gemeenten nearest to :data:`CENTRE` (by centroid distance, in metres of RD
    New) until their buurten number at least ``size``; every gemeente for 0."""
    centres = buurten.dissolve("GM_CODE").geometry.centroid
    if size == 0:
        return sorted(centres.index)
    order = centres.distance(centres[CENTRE]).sort_values().index
    counts = buurten["GM_CODE"].value_counts().reindex(order).cumsum()
    reached = int(np.searchsorted(counts.to_numpy(), size))
    return list(order[: reached + 1])


def cut_file(size: int, folder: Path) -> tuple[Path, int, int]:
    """A GeoPackage with the buurten of :func:`nearest_gemeenten`, its buurten and
    gemeenten."""
    buurten = gpd.read_file(NATIONAL_2015, layer="buurten")
    gemeenten = nearest_gemeenten(buurten, size)
    part = buurten[buurten["GM_CODE"].isin(gemeenten)]
    path = folder / f"buurten_{len(part)}.gpkg"
    part.to_file(path, layer="buurten", driver="GPKG")
    return path, len(part), len(gemeenten)


def one_size(path: Path) -> dict:
    """Run the national benchmark's config on the boundary file ``path`` (this
    process): wall and CPU seconds per stage, peak memory."""
    from zicht.engine.pipeline import run

    config = national_config(scale=1.75, boundaries=path)
    cpu, wall = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(config, Path(tmp) / "out")
    return {
        "buurten": len(result.boundaries.areas),
        "records": sum(p.records for p in result.indicators.placements.values()),
        "stages": result.timings,
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "peak_mib": peak_memory_mb(),
    }


def _table(rows: list[dict]) -> None:
    stages = list(rows[-1]["stages"])
    head = f"{'buurten':>8} {'records':>10} " + " ".join(f"{s[:10]:>10}" for s in stages)
    print(head + f" {'wall':>7} {'cpu':>7} {'peak MiB':>9}")
    for row in rows:
        cells = " ".join(f"{row['stages'].get(s, 0):10.1f}" for s in stages)
        print(
            f"{row['buurten']:8,} {row['records']:10,} {cells} "
            f"{row['wall']:7.1f} {row['cpu']:7.1f} {row['peak_mib']:9.0f}"
        )
    if len(rows) > 2:
        small, large = rows[1], rows[-1]
        print(
            f"growth from {small['buurten']:,} to {large['buurten']:,} buurten "
            f"(x{large['buurten'] / small['buurten']:.1f}):"
        )
        for stage in stages:
            before = max(small["stages"].get(stage, 0), 0.01)
            print(f"  {stage:<12} x{large['stages'].get(stage, 0) / before:5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one)))
        return
    require_national_data()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in map(int, args.sizes.split(",")):
            path, buurten, gemeenten = cut_file(size, Path(tmp))
            print(f"{buurten:,} buurten in {gemeenten} gemeente(n) ...", flush=True)
            child = subprocess.run(
                [sys.executable, "-m", "benchmarks.growth", "--one", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    _table(rows)


if __name__ == "__main__":
    main()
