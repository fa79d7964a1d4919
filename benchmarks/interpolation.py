"""Benchmark: how well areal interpolation estimates figures it can be checked against.

Amsterdam's 2024 buurten (the demo's, with their CBS figures): the wijk figures (the
buurten summed: exact) are moved back down to the buurten, by area and by the buurten'
inhabitants (target density), and compared with the buurten' own figures, which are
known. A split of old areas into new ones is the hard direction of a boundary change
(2015's 97 buurten of Amsterdam became 518 in 2024). Households are moved by the
inhabitants (almost the same thing: an upper bound on what the weight can do), crimes
and the WOZ sum are not. Also: the time to move the 2015 buurten of the whole country
onto the 2024 wijken (``../shared/data``).

    python -m benchmarks.interpolation
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd

from benchmarks.common import SHARED
from zicht.boundaries import read_boundaries
from zicht.boundaries.interpolate import allocation, move_counts
from zicht.engine.data import DEMO_BOUNDARIES

FIGURES = ["huishoudens", "misdrijven_2024", "inwoners65plus"]


def known_truth() -> pd.DataFrame:
    """Per figure and weighting: the error of the buurt estimates from the wijk sums."""
    areas = read_boundaries(DEMO_BOUNDARIES, columns={"naam": "ams_buurtnaam"})
    buurten, wijken = areas.levels["buurt"], areas.levels["wijk"]
    raw = gpd.read_file(DEMO_BOUNDARIES, layer="buurten").set_index("buurtcode")
    figures = raw[[*FIGURES, "inwoners"]].reindex(buurten.index).astype(float)
    complete = figures.notna().all(axis=1)
    sums = figures[complete].groupby(buurten.loc[complete, "wijkcode"]).sum()
    rows = []
    for weight in ("area", "inwoners"):
        density = None if weight == "area" else figures["inwoners"]
        moved = move_counts(allocation(wijken.geometry, buurten.geometry, density), sums)
        for figure in FIGURES:
            truth, estimate = figures.loc[complete, figure], moved.loc[complete, figure]
            both = estimate.notna()
            error = (estimate[both] - truth[both]).abs()
            rows.append(
                {
                    "figure": figure,
                    "weight": weight,
                    "buurten": int(both.sum()),
                    "mean abs error": round(float(error.mean()), 1),
                    "share of total": round(float(error.sum() / truth[both].sum()), 3),
                    "rank corr": round(float(truth[both].corr(estimate[both], "spearman")), 3),
                }
            )
    return pd.DataFrame(rows)


def national_time() -> float:
    """Seconds to move the national 2015 buurten onto the 2024 wijken (area)."""
    old = read_boundaries(SHARED / "nl_buurten_2015.gpkg").areas
    new = read_boundaries(SHARED / "nl_wijken_2024.gpkg").areas
    counts = pd.DataFrame({"n": np.ones(len(old))}, index=old.index)
    start = time.perf_counter()
    move_counts(allocation(old.geometry, new.geometry), counts)
    return time.perf_counter() - start


if __name__ == "__main__":
    print(known_truth().to_string(index=False))
    if (SHARED / "nl_buurten_2015.gpkg").exists():
        print(f"national 2015 buurten -> 2024 wijken: {national_time():.1f} s")
