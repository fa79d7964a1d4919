"""Calibration study: how often the published hotspot classes flag areas where chance
alone is at work, and how well they find a planted cluster.

On the Amsterdam buurt graph shipped with the demo (518 buurten, inhabitants as
exposure) and, when ``../shared/data`` is present, on the national 2015 buurt graph
(12,229 buurten; skipped, saying so, when absent). Per scenario, replicate maps are
drawn and scored by the run's own analysis (:func:`zicht.engine.analysis.analyse_level`,
the published ``hotspot_<theme>`` classes, FDR 5%):

- ``gaussian``: a normal value per area (a mean, no exposure);
- ``poisson 0.5`` / ``5`` / ``20``: counts at one rate for every inhabitant, with on
  average 0.5, 5 or 20 counts per area, scored as a rate per 1,000 inhabitants;
- ``overdispersed 5``: as ``poisson 5`` with a gamma-distributed rate per area (shape
  2: the rates vary, but independently of place);
- ``cluster``: relative risk 3 on an area and its two rings of neighbours (about 18
  buurten), 5 expected counts per area;
- ``model 5``: as ``poisson 5``, the theme scored by a model forced past its skill
  gate (``min_skill = -1``: gradient boosting on the area's position, east and north,
  which fits a smooth surface to noise): its classes are of the target as observed
  (the empirical Bayes standardised rate), the model's score is not tested.

Reported: the mean share of areas flagged (any hot or cold class), the largest share
of maps in which one area is flagged, for the cluster the share of its areas flagged
hot and the share of hot areas within the cluster or one ring further. Goals: nulls at
most 1% flagged on average; the cluster at least 60% found, at least 80% of hot areas
within it or one ring further.

Emerging-hotspot trends: the size of the Mann-Kendall test of
:func:`zicht.spatial.trends.mann_kendall` at nominal 0.10 on five-year AR(1) series
with serial correlation 0, 0.5 and 0.8 (goal: at most 0.12).

    python -m benchmarks.calibration [--replicates 20] [--graphs amsterdam national]
"""

from __future__ import annotations

import argparse
import logging
import time
import tomllib
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from zicht.engine.analysis import LevelAnalysis, analyse_level
from zicht.engine.config import Config
from zicht.engine.config.schema import parse_config
from zicht.engine.data import DEMO_CONFIG
from zicht.engine.estimates import LevelEstimates
from zicht.engine.publish import indicator_exposures, indicator_relations

THEME = "vastgoed"  # the theme the simulated indicator scores (any composite theme)
GOAL_NULL, GOAL_FOUND, GOAL_NEAR = 0.01, 0.60, 0.80


@dataclass
class Graph:
    """A buurt graph to simulate on: its areas (as the run reads them), the
    inhabitants as exposure, and the config that scores one simulated indicator."""

    name: str
    areas: gpd.GeoDataFrame
    inhabitants: pd.Series
    boundaries: dict  # the config's [boundaries] table
    rings: dict[int, set[str]]  # order -> areas within that many steps of the centre


def simulation_config(kind: str, boundaries: dict | None = None) -> Config:
    """The demo's run and spatial settings with one risk indicator of ``kind``:
    ``rate`` (counts ``x`` per 1,000 inhabitants), ``mean`` (a value ``x``) or
    ``model`` (the rate, its theme scored by a model of ``x`` per inhabitant from the
    area's position ``oost`` and ``noord``, whatever its skill)."""
    with open(DEMO_CONFIG, "rb") as f:
        raw = tomllib.load(f)
    for key in ("trends", "microdata", "synthetic", "branches"):
        raw.pop(key, None)
    raw["models"] = {"method": raw["models"]["method"]}
    raw["disclosure"].pop("households", None)
    if boundaries is not None:
        raw["boundaries"] = boundaries
    raw["indicators"] = _indicators(kind)
    if kind == "model":
        target = {"theme": THEME, "target": "x", "features": ["oost", "noord"], "model": "ridge"}
        raw["models"].update(
            min_skill=-1.0, draws=0, targets=[{**target, "population": "inwoners"}]
        )
    return parse_config(raw, DEMO_CONFIG)


def _indicators(kind: str) -> list[dict]:
    """The simulated indicators of a :func:`simulation_config` of ``kind``."""
    column = {"kind": "count", "table": "kerncijfers"}
    indicators = [{"id": "inwoners", "column": "inwoners", **column}]
    if kind == "model":
        # the target as the demo's hennepkwekerijen: a count against the inhabitants
        position = {"kind": "mean", "table": "kerncijfers", "weight": "inwoners"}
        indicators += [{"id": c, "column": c, **position} for c in ("oost", "noord")]
        target = {"exposure": "inwoners", "theme": THEME, "direction": "higher"}
        indicators.append({"id": "x", "column": "x", **column, **target})
    elif kind == "rate":
        indicators += [
            {"id": "x", "column": "x", **column},
            {
                "id": "x_per_1000",
                "kind": "rate",
                "numerator": "x",
                "denominator": "inwoners",
                "per": 1000,
                "theme": THEME,
                "direction": "higher",
            },
        ]
    else:
        indicators.append(
            {
                "id": "x",
                "column": "x",
                "kind": "mean",
                "table": "kerncijfers",
                "weight": "inwoners",
                "theme": THEME,
                "direction": "higher",
            }
        )
    for d in indicators:
        d.update(label_nl=d["id"], label_en=d["id"])
    return indicators


def indicator_frame(config: Config) -> pd.DataFrame:
    """The run's ``indicators`` table (the columns a score reads), by id."""
    exposures = indicator_exposures(config, indicator_relations(config))
    rows = {
        d.id: {
            "kind": d.kind,
            "numerator": d.references.get("numerator"),
            "denominator": d.references.get("denominator"),
            "per": getattr(d, "per", None),
            "exposure": exposures.get(d.id),
        }
        for d in config.indicators
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def published_analysis(
    config: Config, areas: gpd.GeoDataFrame, values: pd.DataFrame
) -> LevelAnalysis:
    """The run's analysis of these values (exact, nothing withheld) as its finest
    level (where a model is fitted)."""
    frame = indicator_frame(config)
    return analyse_level(config, "buurt", areas, LevelEstimates.exact(values), frame, True)


def published_classes(config: Config, areas: gpd.GeoDataFrame, values: pd.DataFrame) -> pd.Series:
    """The ``hotspot_<theme>`` classes a run publishes for these values."""
    return published_analysis(config, areas, values).columns[f"hotspot_{THEME}"]


def load_graph(name: str, boundaries: dict, table: pd.Series, seed: int = 0) -> Graph:
    """The areas of a boundary file as a run reads them, with ``table`` (inhabitants
    per code) as exposure and the planted cluster's rings around a centre whose two
    rings hold closest to 18 areas."""
    from zicht.boundaries import read_boundaries
    from zicht.engine.analysis.level import level_weights

    config = simulation_config("rate", boundaries)
    b = config.boundaries
    read = read_boundaries(b.path, b.layer, b.columns, b.drop_water, None, b.quality.rules)
    areas = read.levels[read.finest]
    inhabitants = table.reindex(areas.index).astype(float)
    graph, _ = level_weights(areas, config)
    neighbours = {k: set(v) for k, v in graph.neighbors.items()}
    populated = inhabitants[inhabitants >= 500].index
    sizes = {c: _ring(neighbours, c, 2) for c in populated}
    rng = np.random.default_rng(seed)
    best = min(abs(len(s) - 18) for s in sizes.values())
    centre = str(rng.choice(sorted(c for c, s in sizes.items() if abs(len(s) - 18) == best)))
    rings = {k: _ring(neighbours, centre, k) for k in (0, 1, 2, 3)}
    return Graph(name, areas, inhabitants, boundaries, rings)


def _ring(neighbours: dict[str, set[str]], centre: str, order: int) -> set[str]:
    """The areas within ``order`` steps of ``centre`` (itself included)."""
    found, frontier = {centre}, {centre}
    for _ in range(order):
        frontier = set().union(*(neighbours.get(a, set()) for a in frontier)) - found
        found |= frontier
    return found


def amsterdam() -> Graph:
    """The demo's Amsterdam buurten and their inhabitants (shipped in the repo)."""
    from zicht.engine.data import DEMO_BOUNDARIES

    with open(DEMO_CONFIG, "rb") as f:
        boundaries = tomllib.load(f)["boundaries"]
    boundaries["path"] = str(DEMO_BOUNDARIES)
    table = gpd.read_file(DEMO_BOUNDARIES, layer="buurten", engine="pyogrio")
    return load_graph("Amsterdam", boundaries, table.set_index("buurtcode")["inwoners"])


def simulate(graph: Graph, scenario: str, rng: np.random.Generator) -> pd.DataFrame:
    """One map of ``scenario``: the indicator table the score reads."""
    n = graph.inhabitants
    index = graph.areas.index
    if scenario == "gaussian":
        return pd.DataFrame({"inwoners": n, "x": rng.normal(size=len(index))}, index=index)
    mean = {"poisson 0.5": 0.5, "poisson 20": 20.0}.get(scenario, 5.0)
    exposure = n.where(n > 0)
    rate = mean / exposure.mean() * np.ones(len(index))
    if scenario == "overdispersed 5":
        rate = rate * rng.gamma(2.0, 0.5, size=len(index))
    if scenario == "cluster":
        rate = rate * np.where(index.isin(list(graph.rings[2])), 3.0, 1.0)
    expected = (exposure * rate).fillna(0.0).to_numpy()
    counts = pd.Series(rng.poisson(expected), index=index, dtype=float).where(exposure.notna())
    per_1000 = counts / exposure * 1000
    frame = pd.DataFrame({"inwoners": n, "x": counts, "x_per_1000": per_1000}, index=index)
    if scenario == "model 5":
        centroids = graph.areas.geometry.centroid
        frame["oost"], frame["noord"] = centroids.x / 1000, centroids.y / 1000
    return frame


NULLS = ("gaussian", "poisson 0.5", "poisson 5", "poisson 20", "overdispersed 5", "model 5")
KINDS = {"gaussian": "mean", "model 5": "model"}


def study(graph: Graph, replicates: int, scenarios: tuple[str, ...], seed: int = 1) -> pd.DataFrame:
    """One row per scenario: the figures of the module docstring."""
    rows = []
    for scenario in scenarios:
        config = simulation_config(KINDS.get(scenario, "rate"), graph.boundaries)
        rng = np.random.default_rng(seed)
        flagged, found, near, started = [], [], [], time.perf_counter()
        for _ in range(replicates):
            classes = published_classes(config, graph.areas, simulate(graph, scenario, rng))
            label = classes.astype(str)
            hot = label.str.startswith("hot")
            flagged.append((hot | label.str.startswith("cold")).to_numpy())
            cluster, ring = graph.rings[2], graph.rings[3]
            found.append(hot[hot.index.isin(list(cluster))].mean())
            near.append(hot[hot.index.isin(list(ring))].sum() / hot.sum() if hot.any() else np.nan)
        shares = np.array(flagged)
        rows.append(
            {
                "graph": graph.name,
                "scenario": scenario,
                "replicates": replicates,
                "flagged": shares.mean(),
                "max_per_area": shares.mean(axis=0).max(),
                "cluster_found": np.mean(found) if scenario == "cluster" else np.nan,
                "hot_near": np.nanmean(near) if scenario == "cluster" else np.nan,
                "seconds": (time.perf_counter() - started) / replicates,
            }
        )
    return pd.DataFrame(rows)


def national() -> Graph:
    """The national 2015 buurten and their inhabitants (``AANT_INW``; CBS's negative
    codes for "unknown" as missing), from ``../shared/data``."""
    from benchmarks.common import NATIONAL_2015

    table = gpd.read_file(NATIONAL_2015, layer="buurten", engine="pyogrio", ignore_geometry=True)
    inhabitants = table.set_index("BU_CODE")["AANT_INW"].astype(float)
    boundaries = {"path": str(NATIONAL_2015), "layer": "buurten"}
    return load_graph("national 2015", boundaries, inhabitants.where(inhabitants >= 0))


def trend_size(
    graph: Graph, replicates: int, rhos: tuple[float, ...] = (0.0, 0.5, 0.8)
) -> pd.DataFrame:
    """The share of trendless areas whose emerging-hotspot trend is significant at
    0.10: five yearly maps of independent normal values per area, AR(1) over the years
    with lag-1 correlation ``rho``. ``plain``: the Mann-Kendall test for independent
    years on the yearly Gi* z-scores (as before); ``published``: the run's
    (:func:`~zicht.spatial.trends.emerging_hotspots`)."""
    from zicht.engine.analysis.level import level_weights
    from zicht.spatial.hotspots import getis_ord
    from zicht.spatial.trends import emerging_hotspots, mann_kendall

    config = simulation_config("mean", graph.boundaries)
    weights, _ = level_weights(graph.areas, config)
    index = graph.areas.index
    rows = []
    for rho in rhos:
        rng = np.random.default_rng(7)
        plain, published = [], []
        for r in range(replicates):
            values = np.empty((len(index), 5))
            values[:, 0] = rng.normal(size=len(index))
            for year in range(1, 5):
                fresh = rng.normal(size=len(index))
                values[:, year] = rho * values[:, year - 1] + np.sqrt(1 - rho**2) * fresh
            yearly = pd.DataFrame(values, index=index, columns=[f"y{t}" for t in range(5)])
            z = np.column_stack(
                [getis_ord(yearly[c], weights, inference="analytic")["z"] for c in yearly]
            )
            plain.append(np.nanmean(mann_kendall(z)[1] <= 0.10))
            emerging = emerging_hotspots(yearly, weights, config.spatial.permutations, seed=r)
            published.append(float((emerging["trend_p"] <= 0.10).mean()))
        rows.append(
            {
                "graph": graph.name,
                "serial correlation": rho,
                "plain Mann-Kendall": np.mean(plain),
                "published": np.mean(published),
                "pooled estimate": emerging.attrs["autocorrelation"],
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--scenarios", nargs="*", default=[*NULLS, "cluster"])
    parser.add_argument("--graphs", nargs="*", default=["amsterdam"], help="amsterdam, national")
    args = parser.parse_args()
    logging.getLogger("zicht").setLevel(logging.WARNING)
    graphs = [amsterdam()] if "amsterdam" in args.graphs else []
    if "national" in args.graphs:
        from benchmarks.common import NATIONAL_2015

        if NATIONAL_2015.exists():
            graphs.append(national())
        else:
            print(f"national graph skipped: {NATIONAL_2015} is absent")
    for graph in graphs:
        table = study(graph, args.replicates, tuple(args.scenarios))
        print(table.round(4).to_string(index=False), flush=True)
    for graph in graphs:
        print(trend_size(graph, max(2, args.replicates // 4)).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
