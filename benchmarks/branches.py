"""Benchmark: the branche analysis on the national buurt set, in a fresh process.

../shared/data/nl_buurten_2015.gpkg (12,229 buurten) with about 2.1 million synthetic
KvK establishments (the demo's KvK source and its indicators, scaled up; issue 15 asks
for about 1.5 million companies, this is more), broken down
per gemeente and wijk x every SBI division (sections and divisions: ``depth =
"afdeling"``), protected as one two-way table with the area figures, written and
audited. Wall time per stage (from the run table), the time of disclosure control plus
the output audit, and peak memory.

Goal (issue 15): disclosure control and audit under 60 s, under 3 GB.

    python -m benchmarks.branches [--keep DIR]

``--keep DIR`` writes the outputs there (for ``zicht audit --exact DIR``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tomllib
from pathlib import Path

from benchmarks.common import NATIONAL_BASE, REPO, peak_memory_mb, require_national_data

SCALE = 5.0  # about 2.1 million establishments started over the three years


def branche_config():  # type: ignore[no-untyped-def]
    # imported here: the run's second processes import this module again
    from zicht.engine.config import parse_config
    from zicht.engine.data import DEMO_CONFIG

    demo = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw = dict(NATIONAL_BASE)
    raw["synthetic"] = dict(NATIONAL_BASE["synthetic"], scale=SCALE, years=3)
    raw["microdata"] = [m for m in demo["microdata"] if m["id"] == "kvk"]
    raw["indicators"] = NATIONAL_BASE["indicators"] + [
        d
        for d in demo["indicators"]
        if d.get("microdata") == "kvk"
        or d["id"] in ("aandeel_risicobranche", "aandeel_kortlevend", "aandeel_drukke_adressen")
    ]
    branches = dict(demo["branches"], depth="afdeling")
    # risk branches of division depth or above (a deeper one needs depth = "klasse")
    branches["risk"] = [r for r in demo["branches"]["risk"] if "." not in r["sbi"]]
    raw["branches"] = branches
    raw["disclosure"] = {"companies": "vestigingen"}
    return parse_config(raw, REPO / "benchmarks" / "branches.toml", "benchmark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the outputs to this folder")
    args = parser.parse_args()
    require_national_data()
    start = time.perf_counter()
    from zicht.engine.pipeline import run
    from zicht.engine.threads import machine_cores

    # the machine's cores, as on an idle server (the default takes the cores free at
    # the start, which a passing task can make one less)
    threads = machine_cores()
    print(f"threads: {threads}")

    config = branche_config()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "branches"
        result = run(config, out, threads=threads)
        done = time.perf_counter()
        size = (out / "zicht.gpkg").stat().st_size
    timings = result.timings
    cells = result.protection.branches
    shown = cells[~cells["never"].astype(bool)]
    print(
        f"national buurt set: {len(result.boundaries.areas):,} buurten, "
        f"{result.indicators.placements['kvk'].records:,} synthetic establishments, "
        f"{len(shown):,} branche cells ({shown['level'].value_counts().to_dict()}), "
        f"{(shown['reason'] != '').mean():.0%} withheld"
    )
    for stage, seconds in timings.items():
        print(f"{stage:<14}{seconds:7.1f} s")
    protected = timings["disclosure"] + timings["audit"]
    print(f"{'disclosure + audit':<20}{protected:7.1f} s   (goal < 60 s: issue 15)")
    print(f"{'total':<20}{done - start:7.1f} s   (goal < 60 s: issue 31)")
    # (this process: the helper processes, about 500 and 150 MiB nationally, apart)
    print(f"peak memory   {peak_memory_mb():7.0f} MiB (goal < 3072 MiB; this process)")
    print(f"zicht.gpkg {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
