"""The output files, each written by one function of the :class:`PublishedRun` into
its ``out_dir``; :data:`WRITERS` lists them in the order a run writes them (the
manifest last: it records every other file's checksum)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from zicht.boundaries.codes import LEVELS
from zicht.engine.config import Config
from zicht.engine.outputs.branches import branche_headers
from zicht.engine.outputs.dashboard import DashboardInputs, build_dashboard
from zicht.engine.outputs.geopackage import write_geopackage
from zicht.engine.outputs.lists import hotspot_table, list_headers, write_csv
from zicht.engine.outputs.manifest import write_manifest
from zicht.engine.outputs.metadata import write_gpkg_metadata
from zicht.engine.outputs.project import ProjectSpec, write_project
from zicht.engine.outputs.published import PublishedRun, estimates_note
from zicht.engine.outputs.record import (
    attribution,
    model_details,
    score_explanations,
    score_types,
)
from zicht.engine.outputs.report import ReportInputs, build_report
from zicht.engine.outputs.workbook import write_xlsx
from zicht.processes import Helpers
from zicht.versions import engine_version, software_versions


def write_zicht_gpkg(run: PublishedRun) -> None:
    """``zicht.gpkg``: the feature layers, the attribute tables and each feature
    layer's metadata."""
    path = run.out_dir / "zicht.gpkg"
    write_geopackage(path, run.gpkg_layers, run.tables)
    stamp = run.created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    write_gpkg_metadata(path, run.metadata, stamp)


def write_zicht_qgz(run: PublishedRun) -> None:
    """``zicht.qgz``: the QGIS project over the GeoPackage's styled layers."""
    config = run.config
    spec = ProjectSpec(
        title=config.title,
        themes=run.themes,
        language=run.language,
        abstract=config.run.abstract or _project_abstract(run),
        author=config.run.author,
        layers=run.metadata,
    )
    write_project(run.out_dir / "zicht.qgz", run.tables["layer_styles"], spec)


def _project_abstract(run: PublishedRun) -> str:
    """The project's abstract where ``[run] abstract`` gives none: the title, the
    sources, attribution and licence (those of the finest layer)."""
    first = next(iter(run.metadata.values()), None)
    return first.description if first is not None else run.config.title


def write_hotspot_lists(run: PublishedRun) -> None:
    """``hotspots.csv`` and ``hotspots.xlsx`` (with the branche table as a sheet)."""
    ranked, headers = _hotspot_list(run)
    write_csv(ranked, run.out_dir / "hotspots.csv", headers, run.language)
    write_xlsx(*_workbook_arguments(run, ranked, headers))


def _hotspot_list(run: PublishedRun) -> tuple[pd.DataFrame, dict[str, str]]:
    """The ranked hotspot list and its column headers."""
    indicators = run.indicators
    synthetic_themes = set(indicators.loc[indicators["synthetic"] == 1, "theme"])
    ranked = hotspot_table(
        run.layers, run.config, synthetic_themes, score_types(run.analyses, run.language)
    )
    return ranked, list_headers(run.config)


def _workbook_arguments(
    run: PublishedRun, ranked: pd.DataFrame, headers: dict[str, str]
) -> tuple[Any, ...]:
    """What :func:`write_xlsx` writes ``hotspots.xlsx`` from (all of it picklable)."""
    config = run.config
    notes = [*score_explanations(run.scores, run.language), attribution(config)]
    branches = branche_headers(config) if run.branches is not None else None
    return (
        ranked,
        run.out_dir / "hotspots.xlsx",
        headers,
        notes,
        run.language,
        run.branches,
        branches,
    )


def write_report_html(run: PublishedRun) -> None:
    """``report.html``: the report for policy teams."""
    config = run.config
    report = ReportInputs(
        title=config.title,
        attribution=config.attribution + estimates_note(config),
        created=run.created,
        layers=run.layers,
        indicators=run.indicators,
        models=run.tables["models"],
        cells_by_outcome=run.disclosure.cells_by_outcome,
        parameters=run.disclosure.parameters,
        details=model_details(run.analyses, run.layers, config),
        scores=run.scores,
        themes=run.themes,
        language=run.language,
        branches=run.branches,
        risk_branches=(
            [(r.sbi, r.why(config.language)) for r in config.branches.risk]
            if config.branches
            else []
        ),
        risk_share=_risk_share(config),
        trends={t.id: (t.label("nl"), t.label("en")) for t in config.trends},
    )
    (run.out_dir / "report.html").write_text(build_report(report), encoding="utf-8")


def _risk_share(config: Config) -> tuple[str, str] | None:
    """The indicator of companies in the risk branches, and that of all companies."""
    b = config.branches
    risky = [d.id for d in config.indicators if getattr(d, "sbi", None) == "risico"]
    if b is None or not risky or not (b.companies or b.indicators):
        return None  # no branche table: nothing to compare with
    return risky[0], b.companies or b.indicators[0]


def write_dashboard_html(run: PublishedRun) -> None:
    """``dashboard.html``: the interactive page, with both languages' theme names."""
    config = run.config
    dashboard = DashboardInputs(
        title=config.title,
        attribution=attribution(config),
        created=run.created,
        layers={lv: run.layers[lv] for lv in LEVELS if lv in run.layers},
        indicators=run.indicators,
        themes={t: config.theme_name(t, "nl") for t in config.scored_themes},
        theme_names_en={t: config.theme_name(t, "en") for t in config.scored_themes},
        language=run.language,
        trends={t.id: (t.label("nl"), t.label("en")) for t in config.trends},
        models=run.tables["models"],
    )
    (run.out_dir / "dashboard.html").write_text(build_dashboard(dashboard), encoding="utf-8")


def write_manifest_json(run: PublishedRun) -> None:
    """``manifest.json``: every file written before it, with its checksum."""
    meta: dict[str, object] = {
        "engine": "zicht",
        "engine_version": engine_version(),
        "software": software_versions(),
        "config_sha256": run.config.sha256,
        "seed": run.config.seed,
        "created": run.created.isoformat(timespec="seconds"),
        "attribution": attribution(run.config),
    }
    if run.config.estimates:  # moved from other boundaries: estimates ([[tables]])
        meta["estimates"] = sorted(run.config.estimates)
    write_manifest(run.out_dir, meta)


WRITERS: tuple[Callable[[PublishedRun], None], ...] = (
    write_zicht_gpkg,
    write_zicht_qgz,
    write_hotspot_lists,
    write_report_html,
    write_dashboard_html,
    write_manifest_json,
)


# From this many rows on (the hotspot list's and the branche table's), a run with two
# threads or more writes the hotspot workbook in a second process (spawned:
# zicht.processes) while it writes the other files: XlsxWriter is pure Python (some
# 1.2 million cells, 6 s, for the national list; 20 s for the national branche table),
# and the other files leave the second core idle. A smaller workbook is written at
# once: starting the process costs more.
WORKBOOK_PROCESS_ROWS = 20_000


def write_outputs(
    run: PublishedRun, threads: int = 1, meanwhile: Callable[[], None] | None = None
) -> None:
    """Every file of :data:`WRITERS`, in that order, the hotspot list made once for
    both of its files; with ``threads`` of 2 or more and a long list, ``hotspots.xlsx``
    is written by a second process meanwhile, and finished before the manifest
    records it. ``meanwhile`` runs once every other file but the manifest is
    written, while that process may still write (a run audits the files then)."""
    ranked, headers = _hotspot_list(run)
    workbook = _workbook_arguments(run, ranked, headers)
    workers = 1 if workbook_aside(ranked, run.branches, threads) else 0
    with Helpers(workers, "hotspots.xlsx", "writes it") as helpers:
        pending = helpers.submit(write_xlsx, *workbook)
        for write in WRITERS[:-1]:
            if write is not write_hotspot_lists:
                write(run)
                continue
            write_csv(ranked, run.out_dir / "hotspots.csv", headers, run.language)
            if pending is None:
                write_xlsx(*workbook)
        if meanwhile is not None:
            meanwhile()
        if pending is not None:  # its error, if any, is this run's
            helpers.result(pending, lambda: write_xlsx(*workbook))
    WRITERS[-1](run)


def workbook_aside(ranked: pd.DataFrame, branches: pd.DataFrame | None, threads: int) -> bool:
    """Whether a second process writes ``hotspots.xlsx``: with two threads or more,
    from :data:`WORKBOOK_PROCESS_ROWS` rows on (the list's and the branche table's)."""
    rows = len(ranked) + (len(branches) if branches is not None else 0)
    return threads >= 2 and rows >= WORKBOOK_PROCESS_ROWS
