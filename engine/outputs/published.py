"""What a run publishes, in one object every output writer takes: the layers per level
and the GeoPackage's feature layers, its attribute tables, the config and what the
writers need besides (themes, the disclosure record, when it was made, where to)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd

from zicht.boundaries import Boundaries
from zicht.boundaries.codes import LAYER_NAMES, LEVELS
from zicht.engine.analysis import LevelAnalysis
from zicht.engine.config import Config
from zicht.engine.outputs.branches import risk_layers
from zicht.engine.outputs.disclosure_record import DisclosureRecord
from zicht.engine.outputs.language import LEVEL_NAMES, label_table, say
from zicht.engine.outputs.metadata import LayerMetadata
from zicht.engine.outputs.record import (
    attribution,
    field_aliases,
    model_table,
    run_table,
    score_table,
)
from zicht.engine.outputs.styles import StyleSet, layer_styles


@dataclass(frozen=True, kw_only=True)
class AnalysedLayers:
    """The published layers per level with the analysis' columns, what the analysis
    computed per level, and the global Moran's I of every published figure."""

    layers: dict[str, gpd.GeoDataFrame]
    analyses: dict[str, LevelAnalysis]
    autocorrelation: pd.DataFrame


@dataclass(frozen=True, kw_only=True)
class PublishedRun:
    """Everything the output files show, all of it published (disclosure-controlled),
    and the folder they are written to."""

    out_dir: Path  # the files go here (the run's staging folder)
    config: Config
    layers: dict[str, gpd.GeoDataFrame]  # per level (buurt, wijk, gemeente)
    gpkg_layers: dict[str, gpd.GeoDataFrame]  # the GeoPackage's feature layers by name
    tables: dict[str, pd.DataFrame]  # the GeoPackage's attribute tables by name
    analyses: dict[str, LevelAnalysis]
    disclosure: DisclosureRecord  # counts only, no values
    branches: pd.DataFrame | None  # the ``branches`` table, if the run has one
    themes: dict[str, str]  # scored theme id -> name in the run's language, in order
    created: datetime  # UTC
    metadata: dict[str, LayerMetadata]  # per feature layer: what QGIS shows of it

    @property
    def language(self) -> str:
        return self.config.language

    @property
    def indicators(self) -> pd.DataFrame:
        """The ``indicators`` table."""
        return self.tables["indicators"]

    @property
    def scores(self) -> pd.DataFrame:
        """The ``scores`` table: how each score is made, per level."""
        return self.tables["scores"]


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """What the ``run`` table records besides the outputs: the boundaries, when the run
    started and how long each stage took (seconds)."""

    boundaries: Boundaries
    started: datetime
    timings: dict[str, float]
    # tables moved from other boundaries (engine.sources.interpolated): estimates
    estimates: tuple[dict[str, object], ...] = ()


def published_run(
    out_dir: Path,
    config: Config,
    analysed: AnalysedLayers,
    indicators: pd.DataFrame,
    disclosure: DisclosureRecord,
    branches: pd.DataFrame | None,
    record: RunRecord,
    own_layers: dict[str, gpd.GeoDataFrame] | None = None,
) -> PublishedRun:
    """The run's outputs as the writers take them; ``indicators`` is the
    ``indicators`` table, ``branches`` the ``branches`` table (None: none),
    ``own_layers`` the layers of own areas by name."""
    created = datetime.now(UTC)
    layers = analysed.layers
    gpkg_layers = {LAYER_NAMES[lv]: layers[lv] for lv in LEVELS if lv in layers}
    gpkg_layers |= own_layers or {}
    if branches is not None:
        gpkg_layers |= risk_layers(branches, layers, config)
    themes = {t: config.theme_name(t) for t in config.scored_themes}
    run = run_table(
        config,
        record.boundaries,
        record.started,
        created,
        record.timings,
        disclosure,
        analysed.analyses,
        record.estimates,
    )
    tables = {
        "indicators": indicators,
        "autocorrelation": analysed.autocorrelation,
        "models": model_table(analysed.analyses),
        "scores": score_table(analysed.analyses, layers, themes),
        "run": run,
        **_styling_tables(config, record.boundaries, gpkg_layers, analysed, themes),
        **({"branches": branches} if branches is not None else {}),
    }
    return PublishedRun(
        out_dir=out_dir,
        config=config,
        layers=layers,
        gpkg_layers=gpkg_layers,
        tables=tables,
        analyses=analysed.analyses,
        disclosure=disclosure,
        branches=branches,
        themes=themes,
        created=created,
        metadata=layer_metadata(config, gpkg_layers),
    )


def run_sources(config: Config) -> tuple[str, ...]:
    """The sources a run names (``source`` of its boundaries, tables, microdata and
    rasters; a file's name where none is given), each once, in the order configured."""
    inputs = [config.boundaries, *config.tables, *config.microdata, *config.rasters]
    names = []
    for spec in inputs:
        path = getattr(spec, "path", None)
        names.append(getattr(spec, "source", "") or (path.name if path is not None else ""))
    return tuple(dict.fromkeys(n for n in names if n))


def layer_metadata(config: Config, layers: dict[str, gpd.GeoDataFrame]) -> dict[str, LayerMetadata]:
    """Per feature layer its title, what it holds, the run's sources, attribution and
    licence, and its extent (RD New metres)."""
    language = config.language
    sources, credit = run_sources(config), attribution(config)
    found = {}
    for name, frame in layers.items():
        found[name] = LayerMetadata(
            title=f"{config.title}: {name}",
            abstract=_layer_abstract(name, config.title, language) + estimates_note(config),
            sources=sources,
            attribution=credit,
            licence=config.run.licence,
            extent=tuple(float(v) for v in frame.total_bounds) if len(frame) else None,  # type: ignore[arg-type]
            language=language,
        )
    return found


def estimates_note(config: Config) -> str:
    """A sentence for a layer's abstract naming its estimates (empty without any)."""
    if not config.estimates:
        return ""
    ids = ", ".join(sorted(config.estimates))
    text = (
        " Schattingen, met areale interpolatie overgezet van de grenzen van een ander jaar: {ids}."
    )
    return say(text, config.language, ids=ids)


def _layer_abstract(name: str, title: str, language: str) -> str:
    """What a feature layer holds, in the run's language."""
    level = next((lv for lv, table in LAYER_NAMES.items() if name.endswith(table)), None)
    areas = say(LEVEL_NAMES[level], language).lower() if level else name
    if name.startswith("branches_"):
        text = "{title}: locatiequotiënten van de risicobranches per gebied ({areas})"
    elif name.startswith("eigen_"):
        text = "{title}: eigen gebieden ({areas}), samengesteld uit buurten"
        areas = name.removeprefix("eigen_")
    else:
        text = (
            "{title}: {areas} met de gepubliceerde indicatoren (na statistische"
            " geheimhouding), risicoscores, hotspots en clusters per thema"
        )
    return say(text, language, title=title, areas=areas)


def _styling_tables(
    config: Config,
    boundaries: Boundaries,
    layers: dict[str, gpd.GeoDataFrame],
    analysed: AnalysedLayers,
    themes: dict[str, str],
) -> dict[str, pd.DataFrame]:
    """The ``labels`` lookup of class codes and the QGIS ``layer_styles``."""
    language = config.language
    maps = {d.id: d.label(language) for d in config.indicators if d.map}
    descriptions = {LAYER_NAMES[lv]: a.descriptions for lv, a in analysed.analyses.items()}
    suspects = {}
    if config.boundaries.quality.suspects == "exclude":  # those left out of the statistics
        suspects = {row["code"]: row["problem"] for row in boundaries.report.suspects}
    styles = StyleSet(
        suspects=suspects,
        themes=themes,
        maps=maps,
        aliases=field_aliases(config, themes),
        descriptions=descriptions,
        language=language,
    )
    return {
        "labels": label_table(list(layers[LAYER_NAMES[boundaries.finest]].columns), language),
        "layer_styles": layer_styles(layers, styles),
    }
