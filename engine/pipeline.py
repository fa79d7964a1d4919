"""The run: boundaries -> indicators -> (spatial, models, disclosure) -> writers.

Only wiring lives here; every stage is a plain function in its own module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import geopandas as gpd
import pandas as pd

from boundaries import Boundaries, read_boundaries
from boundaries.codes import LEVELS
from engine.config import Config
from engine.analysis import LevelAnalysis, analyse_level, autocorrelation_rows
from engine.cells import IndicatorCells
from engine.indicators import IndicatorResult, compute_indicators
from engine.lists import hotspot_table, write_csv, write_xlsx
from engine.report import build_report
from engine.styles import layer_styles
from engine.publish import (apply_protection, disclosure_record, outcome_counts,
                            protect_cells, suppression_columns)
from engine.verify import audit_directory
from engine.writers import sha256_of, staged_output, write_geopackage, write_manifest

log = logging.getLogger("zicht")

LAYER_NAMES = {"buurt": "buurten", "wijk": "wijken", "gemeente": "gemeenten"}
BASE_COLUMNS = ["code", "naam", "niveau", "wijkcode", "gemeentecode"]
DEFAULT_ATTRIBUTION = "Bron: CBS, CC BY 4.0."
SYNTHETIC_NL = " (synthetisch)"
SYNTHETIC_EN = " (synthetic)"


def engine_version() -> str:
    try:
        return version("zicht")
    except PackageNotFoundError:  # running from a source tree without install
        return "unknown"


@dataclass
class RunResult:
    """What a run produced: the layers as written, and what it measured on the way."""

    out_dir: Path
    layers: dict[str, gpd.GeoDataFrame]
    indicators: IndicatorResult
    boundaries: Boundaries
    analyses: dict[str, LevelAnalysis]
    protection: object = None  # disclosure.protect.Protection (true values: never published)
    timings: dict[str, float] = field(default_factory=dict)


@contextlib.contextmanager
def timed(name: str, timings: dict[str, float]) -> Iterator[None]:
    """Log a stage and record its wall time in seconds in ``timings``."""
    log.info("stage %s ...", name)
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 3)
    log.info("stage %s done in %.2f s", name, timings[name])


def run(config: Config, out_dir: str | Path) -> RunResult:
    """Run the whole pipeline for ``config`` and write the outputs to ``out_dir`` atomically.

    The staging folder is made first, so an output directory that cannot be written
    is reported before any work is done.
    """
    out_dir = Path(out_dir)
    started = datetime.now(timezone.utc)
    timings: dict[str, float] = {}
    with staged_output(out_dir) as staging:
        with timed("boundaries", timings):
            b = config.boundaries
            boundaries = read_boundaries(b.path, b.layer, b.columns, b.drop_water)
            log.info("%s", ", ".join(f"{n} {LAYER_NAMES[lv]}"
                                     for lv, n in boundaries.report.counts.items()))
        with timed("indicators", timings):
            indicators = compute_indicators(config, boundaries)
            cells = indicators.cells
        raw_layers = assemble_layers(boundaries, cells, config)
        with timed("disclosure", timings):
            protection = protect_cells(cells, boundaries, config)
            layers = apply_protection(raw_layers, protection)
            log.info("disclosure: %s sensitive cells", ", ".join(
                f"{rule} {n:,}" for rule, n in outcome_counts(protection).items()))
        with timed("analysis", timings):
            ids = [d.id for d in config.indicators]
            analyses, autocorrelation_rows_ = {}, []
            for level, layer in layers.items():
                finest = level == boundaries.finest
                raw = raw_layers[level].set_index("code")[ids] if finest else None
                analyses[level] = analyse_level(config, level, boundaries.levels[level],
                                                layer.set_index("code")[ids], finest, raw)
                extra = analyses[level].columns.reindex(layer["code"]).reset_index(drop=True)
                layers[level] = suppression_columns(_with_columns(layer, extra), protection,
                                                    analyses[level].inputs, config)
                autocorrelation_rows_ += autocorrelation_rows(level, layers[level],
                                                              analyses[level].graph, config)
            autocorrelation = pd.DataFrame(autocorrelation_rows_,
                                           columns=["level", "indicator", "moran_i", "p", "areas"])
        with timed("write", timings):
            finished = datetime.now(timezone.utc)
            layers = {lv: _integer_ranks(layer) for lv, layer in layers.items()}
            gpkg_layers = {LAYER_NAMES[lv]: layers[lv] for lv in LEVELS if lv in layers}
            disclosure = disclosure_record(protection)
            indicators_df, models_df = indicator_table(cells, config), model_table(analyses)
            tables = {"indicators": indicators_df, "autocorrelation": autocorrelation,
                      "models": models_df,
                      "run": run_table(config, boundaries, started, finished, timings,
                                       disclosure, analyses),
                      "layer_styles": layer_styles({name: list(gdf.columns)
                                                    for name, gdf in gpkg_layers.items()})}
            write_geopackage(staging / "zicht.gpkg", gpkg_layers, tables)
            synthetic_themes = set(indicators_df.loc[indicators_df["synthetic"] == 1, "theme"])
            ranked = hotspot_table(layers, config, synthetic_themes)
            write_csv(ranked, staging / "hotspots.csv")
            write_xlsx(ranked, staging / "hotspots.xlsx", attribution(config))
            (staging / "report.html").write_text(
                build_report(layers, indicators_df, models_df, config, json.loads(disclosure),
                             finished, model_details(analyses, layers, config)),
                encoding="utf-8")
            write_manifest(staging, {"engine": "zicht", "engine_version": engine_version(),
                                     "config_sha256": config.sha256, "seed": config.seed,
                                     "created": finished.isoformat(timespec="seconds"),
                                     "attribution": attribution(config)})
        with timed("audit", timings):
            # the files themselves, as an attacker would read them, before they go public
            audit = audit_directory(staging)
            if not audit.ok:
                raise RuntimeError(f"disclosure audit of the output failed ({len(audit.problems)} "
                                   f"problem(s), first: {audit.problems[0]}); nothing was written")
            log.info("audit: %d sensitive cells, %d withheld, none recoverable",
                     audit.cells_checked, audit.withheld)
    log.info("wrote %s", out_dir)
    return RunResult(out_dir, layers, indicators, boundaries, analyses, protection, timings)


def assemble_layers(boundaries: Boundaries, cells: dict[str, IndicatorCells],
                    config: Config) -> dict[str, gpd.GeoDataFrame]:
    """One GeoDataFrame per level with the contract's columns, in config order."""
    order = [d.id for d in config.indicators if d.id in cells]
    layers = {}
    for level, areas in boundaries.levels.items():
        frame = areas.reset_index()[BASE_COLUMNS + ["geometry"]]
        for indicator_id in order:
            frame[indicator_id] = cells[indicator_id].values(level).reindex(areas.index).to_numpy()
        for column in ("wijkcode",):
            frame[column] = frame[column].astype("string")
        layers[level] = gpd.GeoDataFrame(
            frame[BASE_COLUMNS + order + ["geometry"]], geometry="geometry", crs=areas.crs)
    return layers


def _integer_ranks(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Ranks and flags as integer fields (nullable), not reals."""
    layer = layer.copy()
    for column in layer.columns:
        if column.startswith("rank_") or column == "suppressed":
            layer[column] = pd.to_numeric(layer[column], errors="coerce").astype("Int64")
    return layer


def _with_columns(layer: gpd.GeoDataFrame, extra: pd.DataFrame) -> gpd.GeoDataFrame:
    """The layer with ``extra`` columns inserted before the geometry."""
    front = layer.drop(columns="geometry")
    merged = pd.concat([front, extra.drop(columns=[c for c in extra.columns
                                                    if c in front.columns])], axis=1)
    return gpd.GeoDataFrame(merged, geometry=layer.geometry.values, crs=layer.crs)


def model_table(analyses: dict[str, LevelAnalysis]) -> pd.DataFrame:
    """The ``models`` table: per supervised theme model, its metrics per validation."""
    rows = []
    for level, analysis in analyses.items():
        for theme, model in analysis.models.items():
            for validation, metrics in model.metrics.iterrows():
                rows.append({"level": level, "theme": theme, "model": model.model,
                             "validation": validation, "r2": round(metrics["r2"], 4),
                             "mae": round(metrics["mae"], 4),
                             "spearman": round(metrics["spearman"], 4),
                             "areas": int(metrics["n"])})
    return pd.DataFrame(rows, columns=["level", "theme", "model", "validation", "r2", "mae",
                                       "spearman", "areas"])


def model_details(analyses: dict[str, LevelAnalysis], layers: dict[str, gpd.GeoDataFrame],
                  config: Config) -> dict[str, dict]:
    """Per supervised theme, for the report: the five most important features, and the
    calibration (mean prediction against mean observed, per fifth of the predictions).

    The observed means use published target values only: a mean over a group of
    areas, minus the published others, would otherwise give back a withheld value.
    """
    labels = {d.id: d.label_nl for d in config.indicators}
    details = {}
    for level, analysis in analyses.items():
        for theme, model in analysis.models.items():
            target = next(t.target for t in config.models.targets if t.theme == theme)
            published = layers[level].set_index("code")[target].reindex(model.prediction.index)
            frame = pd.DataFrame({"predicted": model.prediction, "observed": published})
            frame["group"] = pd.qcut(frame["predicted"].rank(method="first"), 5, labels=False) + 1
            calibration = frame.groupby("group").agg(predicted=("predicted", "mean"),
                                                     observed=("observed", "mean"),
                                                     published=("observed", "count"),
                                                     areas=("predicted", "size"))
            importance = [(labels.get(name.removesuffix("__buren"), name)
                           + (" (in de buurt)" if name.endswith("__buren") else ""), value)
                          for name, value in model.importance.head(5).items()]
            details[theme] = {"target": labels.get(target, target), "calibration": calibration,
                              "importance": importance}
    return details


def indicator_table(cells: dict[str, IndicatorCells], config: Config) -> pd.DataFrame:
    """The ``indicators`` table of the output contract."""
    rows = [{"id": d.id, "theme": d.theme, "kind": d.kind,
             "sensitive": int(cells[d.id].sensitive),
             "numerator": d.numerator, "denominator": d.denominator, "weight": d.weight,
             "label_nl": d.label_nl + (SYNTHETIC_NL if cells[d.id].synthetic else ""),
             "label_en": d.label_en + (SYNTHETIC_EN if cells[d.id].synthetic else ""),
             "unit": d.unit, "direction": d.direction,
             "source": cells[d.id].source, "synthetic": int(cells[d.id].synthetic)}
            for d in config.indicators if d.id in cells]
    return pd.DataFrame(rows, columns=["id", "theme", "kind", "label_nl", "label_en", "unit",
                                       "direction", "source", "synthetic", "sensitive",
                                       "numerator", "denominator", "weight"])


def attribution(config: Config) -> str:
    return config.attribution or DEFAULT_ATTRIBUTION


def run_table(config: Config, boundaries: Boundaries, started: datetime, finished: datetime,
              timings: dict[str, float], disclosure: str = "",
              analyses: dict[str, LevelAnalysis] | None = None) -> pd.DataFrame:
    """The ``run`` table: one key/value row per fact needed to reproduce the run."""
    files = [config.boundaries.path, *(t.path for t in config.tables),
             *(m.path for m in config.microdata if m.path is not None),
             *(r.path for r in config.rasters)]
    inputs = {str(path): sha256_of(path) for path in files}
    report = boundaries.report
    rows = {
        "engine_version": engine_version(),
        "config_file": config.path.name,
        "config_sha256": config.sha256,
        "seed": str(config.seed),
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "input_sha256": json.dumps({Path(p).name: h for p, h in inputs.items()}),
        "boundaries": json.dumps({"path": Path(report.path).name, "layer": report.layer,
                                  "schema": report.schema, "source_crs": report.source_crs,
                                  "counts": report.counts, "repaired": len(report.repaired),
                                  "dropped": report.dropped_non_polygon,
                                  "water_dropped": report.water_dropped,
                                  "dissolved": report.built_by_dissolving}),
        "timings_s": json.dumps(timings),
        "spatial": json.dumps({
            "weights": config.spatial.weights, "permutations": config.spatial.permutations,
            "correction": config.spatial.correction, "alpha": config.spatial.alpha,
            "islands_joined": {lv: a.islands for lv, a in (analyses or {}).items()
                               if a.graph is not None}}),
        "disclosure": disclosure,
        "attribution": attribution(config),
    }
    return pd.DataFrame({"key": list(rows), "value": list(rows.values())})
