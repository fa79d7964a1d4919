"""Benchmark: how close are the published risk scores to scores from the true values?

Three scorings of the same run, by the same analysis code (engine.analysis):

- ``oracle``: every cell at its true value, nothing withheld. Computed here only, from
  the run's unprotected cells, and never written anywhere;
- ``estimates``: what the run publishes, built on published values and the estimates
  of withheld cells from published figures (engine.estimates);
- ``published only``: withheld cells left out (NaN), as main scored before the
  estimates (a composite over the inputs an area has, at least half the weight; a
  model trained on the published targets only).

Per theme and level: the share of areas not under the area rule that get a score,
the Spearman correlation with the oracle score (areas scored by both), the share of
areas whose oracle score lies inside the published [risk_low, risk_high], and the
overlap of the top 10% with the oracle's top 10%. On the demo (Amsterdam) and, with
--national, on the national 2015 buurt set (../shared/data; skipped when absent).

Then a simulated-truth study of the published 90% interval (``--coverage``): true rates
per buurt (a shared and an own log-normal relative risk per indicator), counts drawn
from them with the demo's inhabitants as exposure, the score built from the counts as
a run builds it, and the share of areas whose score of the true rates lies inside the
published [risk_low, risk_high], with the median width, for rare and common counts.

    python -m benchmarks.score_quality [--national] [--coverage]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from zicht.engine import load_config
from zicht.engine.analysis import analyse_level, score_inputs
from zicht.engine.analysis.scores import composite_draws
from zicht.engine.analysis.uncertainty import published_bounds
from zicht.engine.config import Config
from zicht.engine.data import DEMO_CONFIG
from zicht.engine.estimates import LevelEstimates, estimate_layers
from zicht.engine.outputs.record import indicator_table
from zicht.engine.pipeline import RunResult, assemble_layers, run
from zicht.engine.publish import area_rules, company_themes, excluded_areas, indicator_relations
from zicht.engine.themes import THEMES
from zicht.models.composite import CompositeIndex, percentile_score, rank_of


def scorings(result: RunResult, config: Config) -> dict[str, dict[str, pd.DataFrame]]:
    """Per variant and level, the analysis columns (risk, risk_low, risk_high, ...)."""
    boundaries, protection = result.boundaries, result.protection
    table = indicator_table(result.indicators.cells, config, indicator_relations(config))
    indicators = table.set_index("id")
    ids = list(indicators.index)
    truth = assemble_layers(boundaries, result.indicators.cells, config)
    published = {lv: layer.drop(columns="geometry") for lv, layer in result.layers.items()}
    estimated = estimate_layers(published, indicators, protection.params.__dict__)
    variants = {
        "oracle": {lv: LevelEstimates.exact(t.set_index("code")[ids]) for lv, t in truth.items()},
        "estimates": estimated,
        "published only": {
            lv: LevelEstimates.exact(p.set_index("code")[ids]) for lv, p in published.items()
        },
    }
    company = company_themes(config, protection)
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for name, estimates in variants.items():
        out[name] = {}
        finest = None  # the finest level's analysis, which coarser levels aggregate
        for level, layer in result.layers.items():
            excluded = excluded_areas(layer, area_rules(layer, protection, config), company)
            analysis = analyse_level(
                config,
                level,
                boundaries.levels[level],
                estimates[level],
                indicators,
                level == boundaries.finest,
                excluded,
                finer=finest,
            )
            finest = analysis if level == boundaries.finest else finest
            columns = analysis.columns.copy()
            for theme in THEMES:
                rule = excluded["persons"] | excluded.get(theme, False)
                columns[f"eligible_{theme}"] = ~rule.reindex(columns.index).fillna(False)
            out[name][level] = columns
    return out


def quality(variants: dict[str, dict[str, pd.DataFrame]]) -> pd.DataFrame:
    """One row per variant, level and theme: the figures of the module docstring."""
    rows = []
    for name in ("estimates", "published only"):
        for level, columns in variants[name].items():
            oracle = variants["oracle"][level]
            for theme in THEMES:
                if f"risk_{theme}" not in columns or columns[f"risk_{theme}"].isna().all():
                    continue
                rows.append(_row(name, level, theme, columns, oracle))
    return pd.DataFrame(rows)


def _row(name: str, level: str, theme: str, columns: pd.DataFrame, oracle: pd.DataFrame) -> dict:
    eligible = columns[f"eligible_{theme}"]
    risk, truth = columns[f"risk_{theme}"][eligible], oracle[f"risk_{theme}"][eligible]
    both = risk.notna() & truth.notna()
    inside = np.nan
    if f"risk_low_{theme}" in columns and name == "estimates":
        low, high = columns[f"risk_low_{theme}"][eligible], columns[f"risk_high_{theme}"][eligible]
        inside = ((low[both] <= truth[both]) & (truth[both] <= high[both])).mean()
    k = max(1, int(round(0.1 * truth.notna().sum())))
    top_truth = set(truth.nlargest(k).index)
    top_risk = set(risk.nlargest(k).index)
    return {
        "variant": name,
        "level": level,
        "theme": theme,
        "areas": int(eligible.sum()),
        "scored": risk.notna().mean(),
        "spearman": stats.spearmanr(risk[both], truth[both]).statistic
        if both.sum() > 2
        else np.nan,
        "oracle_in_range": inside,
        "top10_overlap": len(top_truth & top_risk) / k,
        "median_range": (columns.get(f"risk_high_{theme}") - columns.get(f"risk_low_{theme}"))[
            eligible
        ].median()
        if name == "estimates"
        else np.nan,
    }


def simulated_areas() -> pd.DataFrame:
    """The demo's buurten with at least 50 inhabitants (the area rule): ``inwoners``
    and ``wijkcode`` per buurtcode, from the shipped boundary file."""
    import geopandas as gpd

    from zicht.engine.data import DEMO_BOUNDARIES

    frame = gpd.read_file(DEMO_BOUNDARIES, layer="buurten", ignore_geometry=True)
    frame = frame[frame["inwoners"].fillna(0) >= 50]
    return frame.set_index("buurtcode")[["inwoners", "wijkcode"]]


def simulated_coverage(
    areas: pd.DataFrame, expected: float, seed: int, draws: int = 200, indicators: int = 3
) -> dict[str, float]:
    """One simulated truth: ``indicators`` rates of counts with ``expected`` counts per
    area on average; the published interval's coverage of the true-rate score and its
    median width, and (the control) the coverage of the point score alone."""
    rng = np.random.default_rng(seed)
    exposure = areas["inwoners"].astype(float)
    shared = rng.normal(0, 0.5, len(areas))
    table, values, truth = {}, {"inwoners": exposure}, {}
    table["inwoners"] = {"kind": "count", "numerator": None, "denominator": None}
    for k in range(indicators):
        relative = np.exp(shared + rng.normal(0, 0.4, len(areas)))
        rate = expected / exposure.mean() * relative / relative.mean()
        counts = rng.poisson(rate * exposure)
        values[f"c{k}"] = pd.Series(counts, index=areas.index, dtype=float)
        values[f"r{k}"] = values[f"c{k}"] / exposure * 1000
        truth[f"r{k}"] = rate
        table[f"c{k}"] = {"kind": "count", "numerator": None, "denominator": None}
        table[f"r{k}"] = {"kind": "rate", "numerator": f"c{k}", "denominator": "inwoners"}
    specs = pd.DataFrame(table).T.assign(per=1000.0, exposure=None)
    ids = [f"r{k}" for k in range(indicators)]
    # as the run does: rates shrink towards the overall rate (engine/analysis/level.py)
    inputs = score_inputs(ids, specs, LevelEstimates.exact(pd.DataFrame(values)), None)
    index = CompositeIndex().fit(inputs.point)
    raw = index.score(inputs.point)
    enough = raw.notna()
    drawn = composite_draws(index, inputs, enough, draws, seed)
    score = percentile_score(raw)
    bounds = published_bounds(raw, raw, raw, drawn, score, rank_of(raw))
    true_rates = pd.DataFrame(truth, index=areas.index)
    true_score = percentile_score(CompositeIndex().fit(true_rates).score(true_rates))
    inside = (bounds["risk_low"] <= true_score) & (true_score <= bounds["risk_high"])
    return {
        "expected": expected,
        "coverage": float(inside[enough].mean()),
        "median_width": float((bounds["risk_high"] - bounds["risk_low"])[enough].median()),
        "point_only": float(((score - true_score).abs() < 0.5)[enough].mean()),
        "median_rank_width": float((bounds["rank_high"] - bounds["rank_low"])[enough].median()),
    }


def coverage_table(replicates: int = 5, draws: int = 200) -> pd.DataFrame:
    """:func:`simulated_coverage` for rare (0.5), moderate (5) and common (20) counts
    per area, the mean over ``replicates`` simulated truths."""
    areas = simulated_areas()
    rows = [
        simulated_coverage(areas, expected, seed, draws)
        for expected in (0.5, 5.0, 20.0)
        for seed in range(replicates)
    ]
    return pd.DataFrame(rows).groupby("expected").mean().reset_index()


def _print(title: str, table: pd.DataFrame) -> None:
    print(f"\n{title}")
    shown = table.copy()
    for column in ("scored", "oracle_in_range", "top10_overlap"):
        shown[column] = (shown[column] * 100).round(0)
    shown["spearman"] = shown["spearman"].round(2)
    shown["median_range"] = shown["median_range"].round(1)
    print(shown.to_string(index=False, na_rep="-"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--national", action="store_true", help="also the national 2015 set")
    parser.add_argument("--coverage", action="store_true", help="the simulated-truth study")
    args = parser.parse_args()
    if args.coverage:
        print("\nsimulated truth: coverage of the published 90% interval (mean of 5)")
        print(coverage_table().round(3).to_string(index=False))
    logging.getLogger("zicht").setLevel(logging.WARNING)
    sets = [("demo (Amsterdam, 518 buurten)", load_config(DEMO_CONFIG))]
    if args.national:
        from benchmarks.common import NATIONAL_2015, national_config

        if NATIONAL_2015.exists():
            sets.append(("national 2015 (12,229 buurten)", national_config(scale=1.75)))
        else:
            print(f"SKIPPED national: {NATIONAL_2015} is absent")
    for title, config in sets:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(config, Path(tmp) / "out")
        _print(title, quality(scorings(result, config)))


if __name__ == "__main__":
    main()
