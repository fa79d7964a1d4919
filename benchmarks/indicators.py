"""Benchmark: generate and aggregate about one million synthetic records nationally.

Runs in a fresh process (so nothing is warm), on ../shared/data/nl_buurten_2015.gpkg
(12,229 buurten): reads the boundaries and kerncijfers, generates the six synthetic
sources of the four themes, places every record in its buurt (point-in-polygon),
and computes all indicator cells on buurt, wijk and gemeente level.

Goal (issue 3): under 20 s and 2 GB on a 2-core machine.

    python benchmarks/indicators.py [--scale 1.17]
"""

from __future__ import annotations

import argparse
import time

from benchmarks.common import national_config, peak_memory_mb, require_national_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=1.75,
        help="multiplier on record volumes (1.75 gives about one million)",
    )
    args = parser.parse_args()
    require_national_data()

    start = time.perf_counter()
    from zicht.boundaries import read_boundaries
    from zicht.engine.indicators import compute_indicators

    config = national_config(args.scale)
    t0 = time.perf_counter()
    b = config.boundaries
    boundaries = read_boundaries(b.path, b.layer, b.columns, b.drop_water)
    t1 = time.perf_counter()
    result = compute_indicators(config, boundaries)
    t2 = time.perf_counter()

    records = sum(p.records for p in result.placements.values())
    outside = sum(p.outside + p.no_location for p in result.placements.values())
    print(
        f"areas:            {len(boundaries.areas):,} buurten, "
        f"{len(boundaries.levels['wijk']):,} wijken, "
        f"{len(boundaries.levels['gemeente']):,} gemeenten"
    )
    print(
        f"records:          {records:,} synthetic records in {len(result.placements)} sources "
        f"({outside:,} not in any buurt)"
    )
    for name, placement in result.placements.items():
        print(f"  {name:<16}{placement.records:>10,}")
    print(f"indicators:       {len(result.cells)} on 3 levels")
    print(f"imports:          {t0 - start:6.2f} s")
    print(f"read boundaries:  {t1 - t0:6.2f} s")
    print(f"generate+aggregate: {t2 - t1:4.2f} s")
    print(f"total:            {t2 - start:6.2f} s   (goal < 20 s)")
    print(f"peak memory:      {peak_memory_mb():6.0f} MiB (goal < 2048 MiB)")


if __name__ == "__main__":
    main()
