"""What a run publishes, and what it analyses, of the protected master.

A ``select`` publishes a cut of the protected whole (protect once, publish cuts). The
spatial statistics of a small selection may run on more than it publishes: with
``[spatial] context = "ring"`` on the selection and the gemeenten bordering it, or
on the gemeenten it lists. Those context areas carry the master's protected figures
(nothing withheld is ever seen), enter the weights, the hotspots and the score's
reference, and are cut away before anything is written.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import geopandas as gpd

from zicht.boundaries import Boundaries
from zicht.boundaries.codes import LAYER_NAMES
from zicht.disclosure import Protection
from zicht.engine.analysis.results import LevelAnalysis
from zicht.engine.config import Config
from zicht.engine.estimates import LevelEstimates
from zicht.errors import BoundaryError

log = logging.getLogger("zicht")
RING_TOUCH_M = 1.0  # gemeenten this close count as bordering (slivers between them)


def published_cut(master: Boundaries, config: Config) -> Boundaries:
    """What the run publishes of the protected master: the areas ``[boundaries]
    select`` names, with the coarser areas wholly inside them, from ``[boundaries]
    level`` up (the master itself when neither narrows it)."""
    b = config.boundaries
    if b.select:
        boundaries = master.cut(b.select, f"{b.path}: [boundaries] select")
        warn_suspects(boundaries, config)
    else:
        boundaries = master
    boundaries = _at_level(boundaries, config)
    if boundaries is master:
        return master
    counts = ", ".join(f"{n} {LAYER_NAMES[lv]}" for lv, n in boundaries.report.counts.items())
    log.info("published: %s, cut from the protected whole of %s", counts, Path(b.path).name)
    if boundaries.report.partial:
        log.info(
            "selection: %d area(s) only partly selected are not published: %s",
            len(boundaries.report.partial),
            ", ".join(boundaries.report.partial[:20]),
        )
    return boundaries


def warn_suspects(boundaries: Boundaries, config: Config) -> None:
    """One warning line naming the suspect areas of ``boundaries`` (those of a
    selection only: the others concern no one who asked for it)."""
    report = boundaries.report
    if report.suspects:
        what = (
            "left out of the statistics"
            if config.boundaries.quality.suspects == "exclude"
            else "kept"
        )
        named = ", ".join(f"{r['code']} ({r['problem']}: {r['detail']})" for r in report.suspects)
        log.warning("suspect geometry, %d area(s) %s: %s", len(report.suspect_codes), what, named)


def _at_level(boundaries: Boundaries, config: Config) -> Boundaries:
    b = config.boundaries
    if b.level is None or b.level == boundaries.finest:
        return boundaries
    if b.level not in boundaries.levels:
        raise BoundaryError(
            f"{b.path}: [boundaries] level is {b.level!r}, but the selection holds no "
            f"whole {b.level}"
        )
    return boundaries.from_level(b.level, f"{b.path}: [boundaries] level")


def analysed_cut(master: Boundaries, published: Boundaries, config: Config) -> Boundaries:
    """The areas the analysis runs on: the published ones, and with ``[spatial]
    context`` the gemeenten around them (``"ring"``: those bordering the selected
    gemeenten) or listed."""
    context = config.spatial.context
    if published is master or context == "none" or "gemeente" not in master.levels:
        return published
    gemeenten = master.levels["gemeente"]
    selected = set(published.areas["gemeentecode"])
    if context == "ring":
        around = gemeenten.loc[sorted(selected)].union_all().buffer(RING_TOUCH_M)
        added = set(gemeenten.index[gemeenten.intersects(around)]) - selected
    else:
        unknown = sorted(set(context) - set(gemeenten.index))
        if unknown:
            raise BoundaryError(
                f"{config.boundaries.path}: [spatial] context lists {unknown[0]!r}, "
                "a gemeente the boundary file does not hold"
            )
        added = set(context) - selected
    if not added:
        return published
    where = f"{config.boundaries.path}: [spatial] context"
    whole = _at_level(master.cut(tuple(sorted(selected | added)), where), config)
    log.info(
        "spatial statistics on the selection and %d gemeente(n) around it (%s); "
        "only the selection is published",
        len(added),
        ", ".join(sorted(added)[:20]),
    )
    return whole


def cut_outputs(
    boundaries: Boundaries,
    layers: dict[str, gpd.GeoDataFrame],
    estimates: dict[str, LevelEstimates],
    protection: Protection,
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, LevelEstimates], Protection]:
    """The published layers, estimates and decisions of the areas of ``boundaries``."""
    codes = {level: areas.index for level, areas in boundaries.levels.items()}
    layers = {
        level: layers[level][layers[level]["code"].isin(kept)].reset_index(drop=True)
        for level, kept in codes.items()
    }
    estimates = {level: estimates[level].reindex(kept) for level, kept in codes.items()}
    return layers, estimates, protection.cut(codes)


def cut_analysed(
    layers: dict[str, gpd.GeoDataFrame], analyses: dict[str, LevelAnalysis], boundaries: Boundaries
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, LevelAnalysis]]:
    """The analysed layers and analyses of the areas of ``boundaries`` only: the
    context areas' rows, columns and out-of-fold predictions cut away."""
    kept_layers, kept = {}, {}
    for level, areas in boundaries.levels.items():
        if level not in layers:
            continue
        layer = layers[level]
        kept_layers[level] = layer[layer["code"].isin(areas.index)].reset_index(drop=True)
        analysis = analyses[level]
        models = {
            theme: replace(
                model, prediction=model.prediction[model.prediction.index.isin(areas.index)]
            )
            for theme, model in analysis.models.items()
        }
        columns = analysis.columns[analysis.columns.index.isin(areas.index)]
        kept[level] = replace(analysis, columns=columns, models=models)
    return kept_layers, kept
