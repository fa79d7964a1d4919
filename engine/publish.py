"""Apply disclosure control to everything a run publishes.

Turns the indicator cells into the long table :func:`disclosure.protect.protect` works
on, with the relations between indicators an attacker knows (:func:`indicator_relations`),
and applies its decisions to the layers: withheld values become NULL (never a
sentinel number) and sensitive counts are published rounded.

What a layer says about withholding is only what is public anyway: ``suppressed`` (1
where the area rule for persons applies: too few inhabitants or households, both
published) and ``suppression`` per area (:data:`SUPPRESSION_TEXTS`: the area rules, or
"onderdrukt" where some figure is withheld). The rule that withheld a single cell is
never published: an attacker who knows it learns the cell's range. It can be written
to a private file outside the output (:func:`write_private_reasons`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd

from zicht.boundaries import Boundaries
from zicht.boundaries.codes import PARENT_COLUMN
from zicht.boundaries.own_areas import OwnAreas
from zicht.disclosure import Protection, Relations, protect
from zicht.disclosure.linked import OWN_LEVEL
from zicht.disclosure.protect import FROZEN
from zicht.disclosure.rules import AREA_COMPANIES, CELL_FIELDS, DERIVED
from zicht.engine.cells import IndicatorCells
from zicht.engine.config import Config, MicrodataIndicator, RatioIndicator
from zicht.engine.sbi import TOTAL, SbiTree
from zicht.engine.sources.branches import BRANCHE_FIELDS
from zicht.errors import DisclosureError
from zicht.versions import check_complement_solver

log = logging.getLogger("zicht")

AREA_PERSONS_TEXT = "gebiedsregel personen"
AREA_COMPANIES_TEXT = "gebiedsregel bedrijven"
WITHHELD_TEXT = "onderdrukt"
SUPPRESSION_TEXTS = (AREA_PERSONS_TEXT, AREA_COMPANIES_TEXT, WITHHELD_TEXT)


def cell_table(
    cells: dict[str, IndicatorCells],
    boundaries: Boundaries,
    branches: pd.DataFrame | None = None,
    own_areas: Sequence[OwnAreas] = (),
) -> pd.DataFrame:
    """Every indicator's cells on every level as one long table for disclosure control,
    with the branche cells (area x SBI node) where a run has them, and the cells of
    the ``own_areas`` (level ``eigen:<id>``, ``members``: their buurten)."""
    frames = []
    for indicator_id, indicator in cells.items():
        for level, frame in indicator.levels.items():
            areas = boundaries.levels[level]
            parent = (
                areas[PARENT_COLUMN[level]]
                if level in PARENT_COLUMN
                else pd.Series(None, index=areas.index, dtype=object)
            )
            frames.append(_cells_of(indicator_id, indicator, level, frame, parent))
        for own in own_areas:
            level, frame = OWN_LEVEL + own.id, indicator.own[own.id]
            none = pd.Series(None, index=frame.index, dtype=object)
            frames.append(
                _cells_of(indicator_id, indicator, level, frame, none).assign(
                    members=own.members().reindex(frame.index).to_numpy()
                )
            )
    extra = ["members"] if own_areas else []
    table = pd.concat(frames, ignore_index=True)[CELL_FIELDS + extra]
    if branches is None or not len(branches):
        return table
    table["sbi"], table["sbi_parent"], table["sbi_depth"], table["never"] = TOTAL, None, 0, False
    return pd.concat([table, branches[CELL_FIELDS + BRANCHE_FIELDS]], ignore_index=True)


def _cells_of(
    indicator_id: str, indicator: IndicatorCells, level: str, frame: pd.DataFrame, parent: pd.Series
) -> pd.DataFrame:
    """One indicator's cells of one level as rows of the long table."""
    units = frame["units"]
    if indicator.sensitive and indicator.spec.kind == "count" and units.isna().all():
        units = frame["value"]  # a confidential table of counts: each count is units
    return pd.DataFrame(
        {
            "indicator": indicator_id,
            "level": level,
            "code": frame.index,
            "parent": parent.reindex(frame.index).to_numpy(),
            "value": frame["value"].to_numpy(),
            "units": units.to_numpy(),
            "top1": frame["top1"].to_numpy(),
            "top2": frame["top2"].to_numpy(),
            "top3": frame["top3"].to_numpy(),
            "kind": indicator.spec.kind,
            "sensitive": indicator.sensitive,
            "unit_type": indicator.unit_type,
        }
    )


def derived_table(cells: dict[str, IndicatorCells]) -> pd.DataFrame:
    """Rates and shares of sensitive counts: recomputed from their published parts."""
    rows = [
        {
            "indicator": i,
            "numerator": c.spec.numerator,
            "denominator": c.spec.denominator,
            "per": c.spec.per,
        }
        for i, c in cells.items()
        if isinstance(c.spec, RatioIndicator) and c.sensitive
    ]
    return pd.DataFrame(rows, columns=["indicator", "numerator", "denominator", "per"])


def area_sizes(
    cells: dict[str, IndicatorCells], config: Config, own_areas: Sequence[OwnAreas] = ()
) -> pd.DataFrame:
    """Inhabitants and households per (level, code), for the area rule (own areas
    too)."""
    spec = config.disclosure
    first = next(iter(cells.values()))
    frames = []
    levels = [(level, level) for level in first.levels]
    levels += [(OWN_LEVEL + own.id, own.id) for own in own_areas]
    for level, key in levels:
        sizes = {}
        for name, indicator_id in (
            ("inhabitants", spec.inhabitants),
            ("households", spec.households),
        ):
            sizes[name] = (
                _level_cells(cells[indicator_id], key)["value"] if indicator_id in cells else None
            )
        index = _level_cells(first, key).index
        frame = pd.DataFrame(
            {k: (v if v is not None else pd.Series(np.nan, index=index)) for k, v in sizes.items()}
        )
        frame.index = pd.MultiIndex.from_arrays(
            [[level] * len(frame), frame.index], names=["level", "code"]
        )
        frames.append(frame)
    return pd.concat(frames)


def _level_cells(indicator: IndicatorCells, key: str) -> pd.DataFrame:
    """An indicator's cells of a level, or of a set of own areas (by its id)."""
    return indicator.levels[key] if key in indicator.levels else indicator.own[key]


def protect_cells(
    cells: dict[str, IndicatorCells],
    boundaries: Boundaries,
    config: Config,
    relations: Relations | None = None,
    branches: pd.DataFrame | None = None,
    threads: int = 1,
    released: JoinReleased | None = None,
) -> Protection:
    """Run disclosure control over every cell (and the branche cells, as one linked
    table with their area cells; the cells of the boundaries' own areas as more sums
    of buurten) with the attacker's programs on up to ``threads`` threads; raises if
    the audit finds a leak.

    ``released``: joins what earlier releases put out to the table (the cells' status
    fixed, released cells the run does not compute added, and the relations among all
    of them: :meth:`engine.releases.Released.joined`); the added cells are protected
    with the run's own and left out of the decision returned."""
    check_complement_solver()
    own_areas = boundaries.own_areas
    table = cell_table(cells, boundaries, branches, own_areas)
    relations = relations or indicator_relations(config)
    added: set[str] = set()
    if released is not None:
        table, relations, added = released(table)
    companies = config.disclosure.companies if config.disclosure.companies in cells else None
    protection = protect(
        table,
        area_sizes(cells, config, own_areas),
        derived_table(cells),
        config.disclosure.params,
        relations,
        companies,
        progress_log(what="disclosure: group of linked indicators"),
        threads,
    )
    failures = protection.failures
    if len(failures):  # pragma: no cover - protect() iterates until none are left
        raise DisclosureError(
            f"disclosure audit failed for {len(failures)} cell(s) of "
            f"{sorted(set(failures['indicator']))}; nothing was written"
        )
    if released is not None:
        protection = _own_cells(protection, added)
    _follow_weights(protection, cells)
    return protection


# what joins released cells to a run's table: (table with them, relations, added ids)
JoinReleased = Callable[[pd.DataFrame], tuple[pd.DataFrame, Relations, set[str]]]


def _own_cells(protection: Protection, added: set[str]) -> Protection:
    """The decisions of the run's own cells: without the released cells added to its
    table, and without their frozen status."""

    def own(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        mine = ~frame["indicator"].isin(added).to_numpy()
        return frame[mine].drop(columns=FROZEN, errors="ignore").reset_index(drop=True)

    return replace(protection, cells=own(protection.cells), branches=own(protection.branches))


def progress_log(line: str = "{what} {k} of {n}{left}", **fixed: object) -> Callable[..., None]:
    """A log line per step ``k`` of ``n`` of something slow, with the time the rest will
    take judged from the steps so far: ``line`` filled with ``k``, ``n``, ``left``
    ("; about 8 s left", or nothing), ``fixed`` and what each step is told."""
    started = time.monotonic()

    def told(k: int, n: int, **values: object) -> None:
        left = (time.monotonic() - started) / (k - 1) * (n - k + 1) if k > 1 else 0.0
        estimate = f"; about {left:.0f} s left" if left >= 1 else ""
        log.info("%s", line.format(k=k, n=n, left=estimate, **fixed, **values))

    return told


def indicator_relations(config: Config) -> Relations:
    """The relations between indicators that hold in every area, as an attacker who
    reads the data dictionary knows them.

    Declared ones (``subset_of``), and, among indicators of one microdata source:
    records, units or amounts of records matching a stricter filter are a subset
    (sales to legal persons among sales); distinct units are at most the records of
    the same filter (subjects of reports); records or amounts whose filters split one
    column's values into parts sum to the indicator of the whole (years in a window).
    """
    subsets = [(d.id, d.subset_of) for d in config.indicators if d.subset_of]
    sums = []
    micro = [d for d in config.indicators if isinstance(d, MicrodataIndicator)]
    for a in micro:
        for b in micro:
            if a is b or a.microdata != b.microdata or not _stricter(a.where, b.where):
                continue
            if not _within(config.sbi_nodes(a), config.sbi_nodes(b)):
                continue
            if a.measure == b.measure or (a.measure, b.measure) == ("units", "records"):
                subsets.append((a.id, b.id))
        for column in a.where:
            parts = [
                d
                for d in micro
                if d is not a
                and _split_column(d, a) == column
                and _splits(d, a)
                and config.sbi_nodes(d) == config.sbi_nodes(a)
            ]
            values = [v for d in parts for v in d.where[column]]
            whole = len(values) == len(set(values)) and set(values) == set(a.where[column])
            if len(parts) >= 2 and a.measure != "units" and whole:
                sums.append((a.id, tuple(d.id for d in parts)))
    return Relations(tuple(dict.fromkeys(subsets)), tuple(sums), _node_sums(config, micro))


def _node_sums(
    config: Config, micro: list[MicrodataIndicator]
) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """An indicator kept to some SBI nodes is the sum of a branche indicator's cells at
    those nodes, where the two differ in nothing else (companies in risk branches)."""
    broken_down = config.branches.indicators if config.branches else ()
    out = []
    for a in micro:
        nodes = config.sbi_nodes(a)
        for b in micro:
            same = (a.microdata, a.measure, a.where) == (b.microdata, b.measure, b.where)
            if nodes and same and b.id in broken_down and config.sbi_nodes(b) is None:
                out.append((a.id, b.id, tuple(nodes)))
    return tuple(out)


def _within(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> bool:
    """Whether records in SBI nodes ``a`` (None: all) are all in nodes ``b``."""
    if b is None:
        return True
    return a is not None and all(SbiTree.default().within(x, b) for x in a)


def indicator_exposures(config: Config, relations: Relations) -> dict[str, str | None]:
    """Per count or sum: what a withheld cell's estimate is shared in proportion to,
    and what it is measured against in a score. The configured ``exposure``, else the
    larger indicator of a subset (sales to legal persons among sales), else the
    denominator of a rate of it, else the inhabitants."""
    out: dict[str, str | None] = {}
    ids = {d.id for d in config.indicators}
    for d in config.indicators:
        if d.kind not in ("count", "sum"):
            continue
        larger = [b for a, b in relations.subsets if a == d.id]
        rates = [
            r.denominator
            for r in config.indicators
            if isinstance(r, RatioIndicator) and r.numerator == d.id
        ]
        inhabitants = config.disclosure.inhabitants
        fallback = inhabitants if inhabitants in ids and inhabitants != d.id else None
        out[d.id] = d.exposure or next(iter(larger + rates), fallback)
    return out


def _stricter(a: dict[str, list], b: dict[str, list]) -> bool:
    """Whether filter ``a`` keeps only records that filter ``b`` keeps."""
    return all(c in a and set(a[c]) <= set(allowed) for c, allowed in b.items())


def _split_column(part: MicrodataIndicator, whole: MicrodataIndicator) -> str | None:
    differ = [
        c for c in set(part.where) | set(whole.where) if part.where.get(c) != whole.where.get(c)
    ]
    return differ[0] if len(differ) == 1 else None


def _splits(part: MicrodataIndicator, whole: MicrodataIndicator) -> bool:
    column = _split_column(part, whole)
    return (
        part.microdata == whole.microdata
        and part.measure == whole.measure
        and column is not None
        and column in whole.where
        and column in part.where
        and set(part.where[column]) < set(whole.where[column])
    )


def _follow_weights(protection: Protection, cells: dict[str, IndicatorCells]) -> None:
    """A sensitive mean or share given with a weight is withheld where its weight is."""
    c = protection.cells
    for indicator_id, indicator in cells.items():
        spec = indicator.spec
        if not indicator.sensitive or spec.references.get("weight") is None:
            continue
        mine = (c["indicator"] == indicator_id).to_numpy()
        weight = c[c["indicator"] == spec.references["weight"]].set_index(["level", "code"])[
            "reason"
        ]
        key = pd.MultiIndex.from_arrays([c.loc[mine, "level"], c.loc[mine, "code"]])
        hidden = (weight.reindex(key).fillna("") != "").to_numpy()
        c.loc[np.flatnonzero(mine)[hidden], ["reason", "published"]] = [DERIVED, np.nan]


def apply_protection(
    layers: dict[str, gpd.GeoDataFrame], protection: Protection
) -> dict[str, gpd.GeoDataFrame]:
    """The indicator columns of the layers as they may be published."""
    c = protection.cells
    out = {}
    for level, layer in layers.items():
        layer = layer.copy()
        mine = c[c["level"] == level]
        published = mine.pivot(index="code", columns="indicator", values="published")
        for indicator_id in published.columns:
            layer[indicator_id] = published[indicator_id].reindex(layer["code"]).to_numpy()
        out[level] = layer
    return out


def company_themes(config: Config, protection: Protection) -> list[str]:
    """The themes built on company figures only: the company area rule applies to them."""
    units = protection.cells.groupby("indicator")["unit_type"].first().to_dict()
    return [
        t
        for t in config.scored_themes
        if all(units.get(d.id) == "company" for d in config.theme_indicators(t))
    ]


def excluded_areas(layer: gpd.GeoDataFrame, rules: pd.DataFrame, themes: list[str]) -> pd.DataFrame:
    """Per area code: ``persons`` (the area rule for persons) and, per theme in
    ``themes`` (:func:`company_themes`), the company area rule (``rules``:
    :func:`area_rules`)."""
    out = pd.DataFrame({"persons": rules["persons"].to_numpy()}, index=layer["code"])
    for theme in themes:
        out[theme] = rules["companies"].to_numpy()
    return out


def missing_size_figures(config: Config, columns: set[str]) -> list[str]:
    """A warning per inhabitant or household figure the area rule needs that the run
    does not have (``columns``: the layer's): without it every area falls under the
    rule, and nothing is scored."""
    warnings = []
    for key in ("inhabitants", "households"):
        column = getattr(config.disclosure, key)
        if column not in columns:
            warnings.append(
                f"[disclosure] {key} = {column!r} is not an indicator of this run: the area "
                "rule for persons then holds every area, and no area gets a score, rank or "
                f"class; add the {key} count as an indicator or set [disclosure] {key} to "
                "its id"
            )
    return warnings


def area_rules(layer: gpd.GeoDataFrame, protection: Protection, config: Config) -> pd.DataFrame:
    """Per area of a layer (same index): ``persons`` (too few inhabitants or households,
    or unknown: both published) and ``companies`` (the company area rule, decided on
    the published company count)."""
    params = config.disclosure.params
    sizes = {}
    for name, column in (
        ("inhabitants", config.disclosure.inhabitants),
        ("households", config.disclosure.households),
    ):
        sizes[name] = (
            pd.to_numeric(layer[column], errors="coerce")
            if column in layer
            else pd.Series(np.nan, index=layer.index)
        )
    persons = ~(sizes["inhabitants"] >= params.min_inhabitants) | ~(
        sizes["households"] >= params.min_households
    )
    c = protection.cells
    level = layer["niveau"].iloc[0]
    ruled = c.loc[(c["level"] == level) & (c["reason"] == AREA_COMPANIES), "code"]
    companies = layer["code"].isin(set(ruled))
    return pd.DataFrame(
        {"persons": persons.to_numpy(), "companies": companies.to_numpy()}, index=layer.index
    )


def suppression_columns(
    layer: gpd.GeoDataFrame, protection: Protection, rules: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Add ``suppressed`` and ``suppression`` to a finished layer (see the module
    docstring): only what is public anyway, never the rule of a single cell.
    ``rules`` are the layer's :func:`area_rules`, in its order."""
    c = protection.cells
    level = layer["niveau"].iloc[0]
    mine = c[(c["level"] == level) & (c["reason"] != "")]
    withheld = layer["code"].isin(set(mine["code"])).to_numpy()
    texts = []
    for persons, companies, other in zip(rules["persons"], rules["companies"], withheld):
        parts = [AREA_PERSONS_TEXT] * bool(persons) + [AREA_COMPANIES_TEXT] * bool(companies)
        texts.append("; ".join(parts or [WITHHELD_TEXT] * bool(other)) or None)
    layer = layer.copy()
    layer["suppressed"] = rules["persons"].astype(int).to_numpy()
    layer["suppression"] = texts
    return _geometry_last(layer)


def _geometry_last(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    columns = [c for c in layer.columns if c != "geometry"] + ["geometry"]
    return gpd.GeoDataFrame(layer[columns], geometry="geometry", crs=layer.crs)
