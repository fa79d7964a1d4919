"""Benchmark: disclosure control for every indicator of the national buurt set.

On ../shared/data/nl_buurten_2015.gpkg (12,229 buurten, 2,816 wijken, 393 gemeenten)
with the demo's themes on about one million synthetic records, it times primary
suppression + complementary suppression (MILP) + the attacker's audit for every
indicator on all three levels, and reports the share of cells withheld by each rule.
Computing the indicators themselves is not timed here (see benchmarks/indicators.py).

Goal (issue 6): under 30 s.

    python -m benchmarks.disclosure
"""

from __future__ import annotations

import time

from benchmarks.common import national_config, peak_memory_mb, require_national_data


def main() -> None:
    require_national_data()
    from boundaries import read_boundaries
    from engine.indicators import compute_indicators
    from engine.publish import protect_cells

    config = national_config(scale=1.75)
    b = config.boundaries
    boundaries = read_boundaries(b.path, b.layer, b.columns, b.drop_water)
    cells = compute_indicators(config, boundaries).cells
    start = time.perf_counter()
    protection = protect_cells(cells, boundaries, config)
    seconds = time.perf_counter() - start

    c = protection.cells
    sensitive = c[c["sensitive"]]
    print(
        f"cells: {len(c):,} in all, {len(sensitive):,} sensitive "
        f"({sensitive['indicator'].nunique()} indicators x 3 levels)"
    )
    print(
        f"primary + secondary + audit: {seconds:.1f} s (goal < 30 s), "
        f"{protection.rounds} audit round(s), {len(protection.failures)} exposed cells"
    )
    print(f"peak memory: {peak_memory_mb():.0f} MiB")
    print("\nShare of sensitive cells by outcome, per level:")
    table = (
        sensitive.assign(outcome=sensitive["reason"].replace("", "published"))
        .groupby(["level", "outcome"])
        .size()
        .unstack(fill_value=0)
    )
    print((table.div(table.sum(axis=1), axis=0) * 100).round(1).to_string())
    print("\nCells withheld by rule (all levels):")
    print(sensitive["reason"].replace("", "published").value_counts().to_string())


if __name__ == "__main__":
    main()
