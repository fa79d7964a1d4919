"""The run: boundaries -> indicators -> disclosure -> analysis -> outputs.

Only wiring lives here; every stage is a plain function in its own module, the
output tables are built in :mod:`engine.outputs` (:func:`~engine.outputs.published.published_run`)
and written by its writers, one file each (:data:`~engine.outputs.writers.WRITERS`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import geopandas as gpd
import pandas as pd
from threadpoolctl import threadpool_limits

from zicht.boundaries import Boundaries
from zicht.boundaries.cache import cached_boundaries, default_cache_folder
from zicht.boundaries.codes import LAYER_NAMES, LEVELS, level_of
from zicht.disclosure import Protection, Relations
from zicht.engine.analysis import LevelAnalysis, analyse_level, autocorrelation_rows
from zicht.engine.analysis.context import (
    analysed_cut,
    cut_analysed,
    cut_outputs,
    published_cut,
    warn_suspects,
)
from zicht.engine.cells import IndicatorCells
from zicht.engine.config import Config, TableIndicator
from zicht.engine.estimates import LevelEstimates, estimate_layers
from zicht.engine.indicators import IndicatorResult, compute_indicators
from zicht.engine.outputs.branches import branche_table
from zicht.engine.outputs.disclosure_record import (
    DisclosureRecord,
    outcome_counts,
    rule_parameters,
    write_private_reasons,
)
from zicht.engine.outputs.fields import typed_fields, with_columns
from zicht.engine.outputs.own_areas import (
    read_own_areas,
    selected_own_layers,
)
from zicht.engine.outputs.published import AnalysedLayers, RunRecord, published_run
from zicht.engine.outputs.record import indicator_table
from zicht.engine.outputs.staged_audit import Meanwhile, check_manifest, proven_layers
from zicht.engine.outputs.staged_audit import audit_staged as _audit
from zicht.engine.outputs.staging import staged_output
from zicht.engine.outputs.writers import write_outputs
from zicht.engine.publish import (
    JoinReleased,
    apply_protection,
    area_rules,
    company_themes,
    excluded_areas,
    indicator_relations,
    missing_size_figures,
    protect_cells,
    suppression_columns,
)
from zicht.engine.releases import (
    Ledger,
    Released,
    check_rules,
    definitions,
    input_digests,
    master_key,
    open_ledger,
    record_release,
)
from zicht.engine.sources.tables import read_table
from zicht.engine.themes import BASE_COLUMNS
from zicht.engine.threads import free_cores
from zicht.errors import OutputError
from zicht.processes import frozen_heap, helper_processes, refuse_while_importing

log = logging.getLogger("zicht")

# From this many areas on (the national set has 12,229), a run on two threads or more
# starts its second processes (half the sources, disclosure's groups, the workbook)
# before it counts the sources, to import these meanwhile; a smaller one when it must.
EARLY_HELPER_AREAS = 5_000
HELPER_MODULES = (
    "zicht.engine.sources.record_cells",
    "zicht.disclosure.protect",
    "zicht.engine.outputs.workbook",
)


@dataclass(kw_only=True)
class RunResult:
    """What a run produced: the layers as written, and what it measured on the way.

    ``protection`` holds the true values; it is never written, only returned to a
    Python caller (tests, benchmarks).
    """

    out_dir: Path
    layers: dict[str, gpd.GeoDataFrame]
    indicators: IndicatorResult
    boundaries: Boundaries
    analyses: dict[str, LevelAnalysis]
    protection: Protection
    timings: dict[str, float] = field(default_factory=dict)


@contextlib.contextmanager
def timed(name: str, timings: dict[str, float]) -> Iterator[None]:
    """Log a stage and record its wall time in seconds in ``timings``."""
    log.info("stage %s ...", name)
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 3)
    log.info("stage %s done in %.2f s", name, timings[name])


def run(
    config: Config,
    out_dir: str | Path,
    private_reasons: Path | None = None,
    threads: int | None = None,
    ledger: Path | None = None,
) -> RunResult:
    """Run the whole pipeline for ``config`` and write the outputs to ``out_dir`` atomically.

    Parameters
    ----------
    config
        A validated configuration (:func:`engine.load_config`).
    out_dir
        The output directory. Files are written to a staging folder inside it and
        moved into place only when all are complete and audited; a failed run leaves
        it as it was. An unwritable directory is reported before any work is done.
    private_reasons
        Where to write the rule of every withheld cell (CSV), for the data steward.
        Never inside ``out_dir``: per-cell rules give ranges away.
    threads
        Threads of the numeric libraries (BLAS and OpenMP pools, bounded with
        threadpoolctl). Default: ``[run] threads``, or where that is 0
        :func:`~engine.threads.free_cores`.

    Returns
    -------
    RunResult

    Raises
    ------
    ZichtError
        A subclass naming the stage and the file, key or code at fault.

    Examples
    --------
    >>> from zicht import load_config, run
    >>> from zicht.engine.data import DEMO_CONFIG
    >>> result = run(load_config(DEMO_CONFIG), "demo-out")  # doctest: +SKIP
    >>> result.layers["buurt"]["risk_drugs"].describe()  # doctest: +SKIP
    """
    refuse_while_importing("a zicht run")
    out_dir = Path(out_dir)
    _check_private_path(private_reasons, out_dir)
    ledger = ledger or config.release.ledger
    book = _open_ledger(Path(ledger), out_dir) if ledger is not None else None
    threads = threads or config.run.threads or free_cores()
    log.info("threads: %d", threads)
    with threadpool_limits(limits=threads), frozen_heap():
        return _run(config, out_dir, private_reasons, threads, book)


def _facts(
    boundaries: Boundaries, started: datetime, timings: dict[str, float], found: IndicatorResult
) -> RunRecord:
    """What the ``run`` table records besides the outputs, with the tables moved from
    other boundaries (estimates)."""
    moved = tuple(i.record() for i in found.interpolations)
    return RunRecord(boundaries=boundaries, started=started, timings=timings, estimates=moved)


def _run(
    config: Config,
    out_dir: Path,
    private_reasons: Path | None,
    threads: int,
    ledger: Ledger | None = None,
) -> RunResult:
    """:func:`run` within its thread budget.

    Protect once, publish cuts: the cells are computed and protected on the whole
    boundary file (the master), and a ``select`` publishes a cut of that protected
    master. Every selection of the same inputs is then a part of one protected
    release, and no two give away what either withheld (nor, with a ``ledger``, two
    releases: :func:`_master`).
    """
    started = datetime.now(UTC)
    timings: dict[str, float] = {}
    with staged_output(out_dir) as staging, contextlib.ExitStack() as helpers:
        master, indicators = _inputs(config, timings, threads, helpers)
        raw_layers = assemble_layers(master, indicators.cells, config)
        with timed("disclosure", timings):
            relations = indicator_relations(config)
            protection, to_ledger = _master(indicators, master, config, relations, threads, ledger)
            layers = apply_protection(raw_layers, protection)
        table = indicator_table(indicators.cells, config, relations)
        with timed("estimates", timings):
            # from here on only what is published, and what follows from it
            params = rule_parameters(protection.params)
            estimates = estimate_layers(layers, table.set_index("id"), params)
        boundaries = published_cut(master, config)
        own_layers = selected_own_layers(master, boundaries, protection, config)
        with timed("analysis", timings):
            analysed = _analysis(
                config, master, boundaries, layers, protection, estimates, table, threads
            )
        if boundaries is not master:  # the published decisions: those of the cut
            protection = protection.cut({lv: a.index for lv, a in boundaries.levels.items()})
        record = _record(protection, indicators, config)
        with timed("write", timings):
            facts = _facts(boundaries, started, timings, indicators)
            branches = _branches(protection, config, analysed)
            outputs = published_run(
                staging, config, analysed, table, record, branches, facts, own_layers
            )
            audit = Meanwhile(partial(_audit, staging, proven_layers(analysed.layers, own_layers)))
            write_outputs(outputs, threads, meanwhile=audit)
        _finish_audit(staging, audit, timings)
        to_ledger()
    if private_reasons is not None:
        write_private_reasons(protection, private_reasons)
    log.info("wrote %s; open %s in a browser", out_dir, Path(out_dir) / "dashboard.html")
    return RunResult(
        out_dir=out_dir,
        layers=analysed.layers,
        indicators=indicators,
        boundaries=boundaries,
        analyses=analysed.analyses,
        protection=protection,
        timings=timings,
    )


def _finish_audit(staging: Path, audit: Meanwhile, timings: dict[str, float]) -> None:
    """The audit's last check, of the manifest once it is written. The rest of it ran
    while a second process may still have written the workbook (``audit``, during
    the writing: :mod:`engine.outputs.staged_audit`); its time counts as the audit's."""
    during = audit.seconds  # (0 where the writing skipped it: it runs here then)
    with timed("audit", timings):
        if not audit.ran:
            audit()
        check_manifest(staging)
    timings["write"] = round(timings["write"] - during, 3)
    timings["audit"] = round(timings["audit"] + during, 3)
    if during:  # the stages' own lines counted the audit's first part as the writing's
        log.info("write %.2f s, audit %.2f s", timings["write"], timings["audit"])


def _branches(
    protection: Protection, config: Config, analysed: AnalysedLayers
) -> pd.DataFrame | None:
    """The published branche table, where the run has one."""
    if config.branches is None or not len(protection.branches):
        return None
    return branche_table(protection, config, analysed.layers)


def _inputs(
    config: Config, timings: dict[str, float], threads: int, helpers: contextlib.ExitStack
) -> tuple[Boundaries, IndicatorResult]:
    """The boundaries and every indicator's cells, timed. A large run starts its second
    processes in between, for the rest of the run (``helpers``)."""
    with timed("boundaries", timings):
        boundaries = _read_boundaries(config, threads)
        boundaries = replace(boundaries, own_areas=read_own_areas(config, boundaries))
    early = threads >= 2 and len(boundaries.areas) >= EARLY_HELPER_AREAS
    helpers.enter_context(helper_processes(threads - 1 if early else 0, HELPER_MODULES))
    with timed("indicators", timings):
        return boundaries, compute_indicators(config, boundaries)


def _master(
    indicators: IndicatorResult,
    master: Boundaries,
    config: Config,
    relations: Relations,
    threads: int,
    ledger: Ledger | None,
) -> tuple[Protection, Callable[[], None]]:
    """The protected master, and what records it in the ledger once the output is
    complete (before it goes public: a release recorded but not published only makes
    later runs more careful). A ledger release with the same inputs and settings
    (:func:`~engine.releases.master_key`) gives its master as it was protected;
    otherwise the master is protected jointly with what the ledger says is out
    (:class:`~engine.releases.Released`)."""
    if ledger is None:
        return _protect(indicators, master, config, relations, threads), lambda: None
    inputs = input_digests(config, indicators)
    key = master_key(config, master.finest, inputs)
    found = ledger.find(key)
    if found is not None:
        check_rules(ledger, found, config)
        log.info("disclosure: the protected master of release %d of %s", found.number, ledger.path)
        return ledger.protection(found), lambda: None
    defined = definitions(config, indicators)
    joined = None
    if ledger.releases:
        released = Released.of(ledger, config)
        log.info("disclosure: jointly with %d cell(s) already released", len(released.cells))
        joined = partial(released.joined, config=config, definitions=defined)
    protection = _protect(indicators, master, config, relations, threads, joined)

    def record() -> None:
        kept = record_release(
            ledger, protection, key=key, level=master.finest, inputs=inputs, indicators=defined
        )
        log.info("ledger: release %d recorded in %s", len(kept.releases), ledger.path)

    return protection, record


def _open_ledger(path: Path, out_dir: Path) -> Ledger:
    """The ledger at ``path``, never inside the output directory (true values)."""
    if path.resolve().is_relative_to(out_dir.resolve()):
        raise OutputError(f"{path}: the ledger cannot be kept inside the output directory")
    return open_ledger(path)


def _protect(
    indicators: IndicatorResult,
    boundaries: Boundaries,
    config: Config,
    relations: Relations,
    threads: int = 1,
    released: JoinReleased | None = None,
) -> Protection:
    """Disclosure control over every cell of the master (jointly with what is
    ``released`` already)."""
    cells = indicators.cells
    protection = protect_cells(
        cells, boundaries, config, relations, indicators.branches, threads, released
    )
    counts = outcome_counts(protection).items()
    log.info("disclosure: %s", ", ".join(f"{r} {n:,}" for r, n in counts) or "no sensitive cells")
    return protection


def _record(
    protection: Protection, indicators: IndicatorResult, config: Config
) -> DisclosureRecord:
    """What the outputs say of disclosure control (counts only)."""
    companies = config.disclosure.companies
    return DisclosureRecord.of(protection, companies if companies in indicators.cells else None)


def _read_boundaries(config: Config, threads: int = 1) -> Boundaries:
    """The master: the whole boundary file, on the level the run computes on."""
    b = config.boundaries
    # the whole file: a selection is cut from it after protection (:func:`_cut`)
    boundaries = cached_boundaries(
        b.path, b.layer, b.columns, b.drop_water, b.quality.rules, threads, cache_folder(config)
    )
    level = _compute_level(config, boundaries)
    if level != boundaries.finest:
        boundaries = boundaries.from_level(level, f"{b.path}: [boundaries] level")
    counts = boundaries.report.counts.items()
    log.info("%s", ", ".join(f"{n} {LAYER_NAMES[lv]}" for lv, n in counts))
    if not b.select:  # else those of the selection (engine.analysis.context)
        warn_suspects(boundaries, config)
    return boundaries


def cache_folder(config: Config) -> Path | None:
    """The folder of the boundary cache (:mod:`boundaries.cache`) of ``[run] cache``;
    None: the run keeps nothing."""
    setting = config.run.cache
    if setting is False:
        return None
    return default_cache_folder() if setting is True else setting


def _compute_level(config: Config, boundaries: Boundaries) -> str:
    """The finest level the run computes and protects on: the file's finest, unless
    ``[boundaries] level`` names a coarser one that an area table needs (its codes are
    of a coarser level). A coarser ``level`` the sources do not need is published as a
    cut of the finer protected master (:func:`_cut`), so that a run per buurt and a
    run per wijk of the same sources are parts of one release."""
    level = config.boundaries.level
    if level is None or level not in boundaries.levels:
        return level or boundaries.finest  # from_level says what is wrong with it
    used = {d.table for d in config.indicators if isinstance(d, TableIndicator)}
    keyed = [
        level_of(read_table(t.path, t.key, t.layer).index.to_series())
        for t in config.tables
        if t.id in used
    ]
    finest = LEVELS.index(boundaries.finest)
    coarser = any(k is not None and LEVELS.index(k) > finest for k in keyed)
    return level if coarser else boundaries.finest


def assemble_layers(
    boundaries: Boundaries, cells: dict[str, IndicatorCells], config: Config
) -> dict[str, gpd.GeoDataFrame]:
    """One GeoDataFrame per level with the contract's columns, in config order."""
    order = [d.id for d in config.indicators if d.id in cells]
    layers = {}
    for level, areas in boundaries.levels.items():
        frame = areas.reset_index()[BASE_COLUMNS + ["geometry"]]
        for indicator_id in order:
            frame[indicator_id] = cells[indicator_id].values(level).reindex(areas.index).to_numpy()
        frame["wijkcode"] = frame["wijkcode"].astype("string")
        layers[level] = gpd.GeoDataFrame(
            frame[BASE_COLUMNS + order + ["geometry"]], geometry="geometry", crs=areas.crs
        )
    return layers


def _analysis(
    config: Config,
    master: Boundaries,
    boundaries: Boundaries,
    layers: dict[str, gpd.GeoDataFrame],
    protection: Protection,
    estimates: dict[str, LevelEstimates],
    table: pd.DataFrame,
    threads: int = 1,
) -> AnalysedLayers:
    """The analysis of the published areas ``boundaries`` of the protected ``master``:
    on them, or with ``[spatial] context`` on them and the gemeenten around them,
    cut back to them (:mod:`engine.analysis.context`), on ``threads`` threads."""
    context = analysed_cut(master, boundaries, config)
    if context is not master:
        layers, estimates, protection = cut_outputs(context, layers, estimates, protection)
    analysed = _analyse(config, context, layers, protection, estimates, table, threads)
    if context is boundaries:
        return analysed
    kept, analyses = cut_analysed(analysed.layers, analysed.analyses, boundaries)
    return replace(analysed, layers=kept, analyses=analyses)


def _analyse(
    config: Config,
    boundaries: Boundaries,
    layers: dict[str, gpd.GeoDataFrame],
    protection: Protection,
    estimates: dict[str, LevelEstimates],
    indicators: pd.DataFrame,
    threads: int = 1,
) -> AnalysedLayers:
    """Scores, hotspots and trends per level, from the published values and the
    estimates derived from them; areas under an area rule are left out."""
    by_companies = company_themes(config, protection)
    for warning in missing_size_figures(config, set(next(iter(layers.values())).columns)):
        log.warning("%s", warning)
    analyses, moran, layers = dict[str, LevelAnalysis](), [], dict(layers)
    # a level's global Moran's I (mostly numpy) while the next level is analysed
    with ThreadPoolExecutor(1, "zicht-moran") as pool:
        for level, layer in layers.items():
            finest = level == boundaries.finest
            rules = area_rules(layer, protection, config)
            excluded = excluded_areas(layer, rules, by_companies)
            if config.boundaries.quality.suspects == "exclude":
                excluded["persons"] |= excluded.index.isin(boundaries.report.suspect_codes)
            analyses[level] = analyse_level(
                config,
                level,
                boundaries.levels[level],
                estimates[level],
                indicators.set_index("id"),
                finest,
                excluded,
                finer=None if finest else analyses.get(boundaries.finest),
                threads=threads,
            )
            extra = analyses[level].columns.reindex(layer["code"]).reset_index(drop=True)
            layers[level] = suppression_columns(with_columns(layer, extra), protection, rules)
            args = (level, layers[level], analyses[level].graph, config, threads)
            moran.append(pool.submit(autocorrelation_rows, *args))
        rows = [row for job in moran for row in job.result()]
    autocorrelation = pd.DataFrame(rows, columns=["level", "indicator", "moran_i", "p", "areas"])
    kinds = {d.id: d.kind for d in config.indicators}
    return AnalysedLayers(
        layers={lv: typed_fields(layer, kinds) for lv, layer in layers.items()},
        analyses=analyses,
        autocorrelation=autocorrelation,
    )


def _check_private_path(path: Path | None, out_dir: Path) -> None:
    if path is None:
        return
    inside = Path(path).resolve().is_relative_to(out_dir.resolve())
    if inside or not Path(path).resolve().parent.is_dir():
        where = "inside the output directory" if inside else "in a folder that does not exist"
        raise OutputError(f"{path}: private reasons cannot be written {where}")
