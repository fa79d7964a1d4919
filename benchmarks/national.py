"""Benchmark: the whole pipeline on the national buurt set, in a fresh process.

../shared/data/nl_buurten_2015.gpkg (12,229 buurten) with the demo's four themes on
about one million synthetic records: boundaries, indicators, disclosure control,
analysis (composite scores, hotspots with 999 permutations, global Moran's I),
writing (GeoPackage with styles, hotspot lists, report) and the output audit. Wall
time per stage (from the run table) and in total, and peak memory.

Goal (issue 8): under 60 s and 3 GB on this 2-core machine.

    python -m benchmarks.national
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import national_config, peak_memory_mb, require_national_data


def main() -> None:
    require_national_data()
    start = time.perf_counter()
    from zicht.engine.pipeline import run

    imported = time.perf_counter()
    config = national_config(scale=1.75)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "national"
        result = run(config, out)
        done = time.perf_counter()
        timings = result.timings
        sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    records = sum(p.records for p in result.indicators.placements.values())
    print(
        f"national buurt set: {len(result.boundaries.areas):,} buurten, "
        f"{records:,} synthetic records, {len(config.indicators)} indicators"
    )
    print(f"{'imports':<14}{imported - start:7.1f} s")
    for stage, seconds in timings.items():
        print(f"{stage:<14}{seconds:7.1f} s")
    print(f"{'total':<14}{done - start:7.1f} s   (goal < 60 s, fresh process)")
    print(f"peak memory   {peak_memory_mb():7.0f} MiB (goal < 3072 MiB)")
    print("outputs: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sizes.items()))


if __name__ == "__main__":
    main()
