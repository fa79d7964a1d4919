"""Benchmark: the whole pipeline on the national buurt set, in a fresh process.

../shared/data/nl_buurten_2015.gpkg (12,229 buurten) with the demo's four themes on
about one million synthetic records: boundaries, indicators, disclosure control,
analysis (composite scores, hotspots with 999 permutations, global Moran's I),
writing (GeoPackage with styles, hotspot lists, report) and the output audit. Wall
time per stage (from the run table) and in total, and peak memory.

Goal (issue 8): under 60 s and 3 GB on this 2-core machine.

With ``--select CODES`` it times a cut instead (issue 27): the run still computes and
protects the whole national master, then publishes and analyses only the selection.
With ``--ledger PATH`` the run keeps its protected master in a release ledger, and a
run whose master the ledger holds takes it from there instead of protecting again:
run once without ``--select`` to record the master, then time the cut.

    python -m benchmarks.national [--select GM0599] [--ledger PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.common import national_config, peak_memory_mb, require_national_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--select", help="comma-separated codes: time a cut of the master")
    parser.add_argument(
        "--ledger", type=Path, help="a release ledger: record the master, or take it from there"
    )
    parser.add_argument(
        "--keep", type=Path, help="write the outputs to this folder (for `zicht audit --exact`)"
    )
    args = parser.parse_args()
    require_national_data()
    start = time.perf_counter()
    from zicht.engine.pipeline import run

    imported = time.perf_counter()
    config = national_config(scale=1.75)
    if args.select:
        config = config.with_selection(tuple(args.select.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "national"
        result = run(config, out, ledger=args.ledger)
        done = time.perf_counter()
        timings = result.timings
        sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    records = sum(p.records for p in result.indicators.placements.values())
    kept = f" with the ledger {args.ledger}" if args.ledger else ""
    print(
        f"national buurt set{' cut to ' + args.select if args.select else ''}{kept}: "
        f"{len(result.boundaries.areas):,} buurten published, "
        f"{records:,} synthetic records, {len(config.indicators)} indicators"
    )
    print(f"{'imports':<14}{imported - start:7.1f} s")
    for stage, seconds in timings.items():
        print(f"{stage:<14}{seconds:7.1f} s")
    print(f"{'total':<14}{done - start:7.1f} s   (goal < 30 s, fresh process: issue 31)")
    # (this process: the helper processes, about 500 and 150 MiB nationally, apart)
    print(f"peak memory   {peak_memory_mb():7.0f} MiB (goal < 3072 MiB; this process)")
    print("outputs: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sizes.items()))


if __name__ == "__main__":
    main()
