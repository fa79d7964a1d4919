"""Benchmark: disclosure control for every indicator of the national buurt set.

On ../shared/data/nl_buurten_2015.gpkg (12,229 buurten, 2,816 wijken, 393 gemeenten)
with the demo's themes on about one million synthetic records, it times primary
suppression + complementary suppression (MILP) + the attacker's audit for every
indicator on all three levels, and reports the share of cells withheld by each rule.
Computing the indicators themselves is not timed here (see benchmarks/indicators.py).

Then an independent attacker who knows the rules reads only what would be published
(published values, the publication rules, every level, the relations between
indicators, the company area rule) and counts the unsafe cells whose interval does
not cover their protection interval (must be 0), checking a sample of them with the
exact HiGHS programs too.

Goal (issues 6 and 12): under 30 s, zero exposures.

    python -m benchmarks.disclosure
"""

from __future__ import annotations

import time

from benchmarks.common import national_config, peak_memory_mb, require_national_data


def main() -> None:
    require_national_data()
    from zicht.boundaries import read_boundaries
    from zicht.engine.indicators import compute_indicators
    from zicht.engine.publish import protect_cells

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
    attack(protection, config)


def attack(protection, config) -> None:  # type: ignore[no-untyped-def]
    """The independent attacker: exposures among unsafe cells, by propagation (all)
    and by HiGHS (a sample), from the published values only."""
    import numpy as np

    from zicht.disclosure import LinkedCells
    from zicht.disclosure.knowledge import protected
    from zicht.disclosure.programs import attacker_bounds_exact
    from zicht.disclosure.propagation import attacker_bounds
    from zicht.disclosure.rules import PRIMARY_RULES
    from zicht.engine.publish import indicator_relations

    start = time.perf_counter()
    c = protection.cells
    params = protection.params
    relations = indicator_relations(config)
    additive = c[c["sensitive"] & c["kind"].isin(["count", "sum"]) & (c["reason"] != "derived")]
    ids = list(dict.fromkeys(additive["indicator"]))
    rng = np.random.default_rng(0)
    exposed = checked = sampled = sample_exposed = 0
    for group in relations.among(ids).groups(ids):
        cells = additive[additive["indicator"].isin(group)].reset_index(drop=True)
        count = (cells["kind"] == "count").to_numpy()
        published = cells["published"].where(cells["reason"] == "").to_numpy(dtype=float)
        half = np.where(count, 2.0, params.sum_base / 2)
        linked = LinkedCells(cells, relations.among(group))
        k = linked.knowledge(published, half, count, params.min_units)
        low, high = attacker_bounds(k)
        unsafe = np.flatnonzero(cells["reason"].isin(PRIMARY_RULES).to_numpy())
        v, lo, up = (cells[x].to_numpy(dtype=float) for x in ("value", "lower", "upper"))
        ok = protected(v[unsafe], lo[unsafe], up[unsafe], low[unsafe], high[unsafe])
        exposed += int((~ok).sum())
        checked += len(unsafe)
        sample = rng.choice(unsafe, size=min(len(unsafe), 25), replace=False)
        if len(sample):
            elow, ehigh = attacker_bounds_exact(k, sample, low, high)
            ok = protected(v[sample], lo[sample], up[sample], elow[sample], ehigh[sample])
            sample_exposed += int((~ok).sum())
            sampled += len(sample)
    print(
        f"\nindependent attacker who knows the rules: {exposed} of {checked:,} unsafe cells "
        f"exposed (propagation); {sample_exposed} of {sampled} exposed (HiGHS sample); "
        f"{time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
