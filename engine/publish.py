"""Apply disclosure control to everything a run publishes.

Turns the indicator cells into the long table :func:`disclosure.protect.protect` works
on, and applies its decisions to the layers: suppressed values become NULL (never a
sentinel number), sensitive counts are published rounded, theme outputs (risk, rank,
drivers, hotspot and LISA class, coverage) are withheld for an area where any cell
they were computed from is suppressed, ranks are recomputed among the areas that
keep a score, and two columns say what was withheld and why: ``suppressed`` (1 when
the area rule withheld the area's person-based figures) and ``suppression``
(``rule: column, column; ...``; names only, never values).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries import Boundaries
from boundaries.errors import DisclosureError
from disclosure.audit import PARENT_LEVEL
from disclosure.protect import Protection, protect
from disclosure.rules import AREA, CELL_FIELDS, DERIVED
from engine.cells import IndicatorCells
from engine.config import Config, RatioIndicator
from engine.themes import theme_output_columns


def cell_table(cells: dict[str, IndicatorCells], boundaries: Boundaries) -> pd.DataFrame:
    """Every indicator's cells on every level as one long table for disclosure control."""
    frames = []
    for indicator_id, indicator in cells.items():
        for level, frame in indicator.levels.items():
            areas = boundaries.levels[level]
            parent = (
                areas[f"{PARENT_LEVEL[level]}code"]
                if level in PARENT_LEVEL
                else pd.Series(None, index=areas.index, dtype=object)
            )
            units = frame["units"]
            if indicator.sensitive and indicator.spec.kind == "count" and units.isna().all():
                units = frame["value"]  # a confidential table of counts: each count is units
            frames.append(
                pd.DataFrame(
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
            )
    return pd.concat(frames, ignore_index=True)[CELL_FIELDS]


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


def area_sizes(cells: dict[str, IndicatorCells], config: Config) -> pd.DataFrame:
    """Inhabitants and households per (level, code), for the area rule."""
    spec = config.disclosure
    frames = []
    for level in next(iter(cells.values())).levels:
        sizes = {}
        for name, indicator_id in (
            ("inhabitants", spec.inhabitants),
            ("households", spec.households),
        ):
            sizes[name] = (
                cells[indicator_id].levels[level]["value"] if indicator_id in cells else None
            )
        index = next(iter(cells.values())).levels[level].index
        frame = pd.DataFrame(
            {k: (v if v is not None else pd.Series(np.nan, index=index)) for k, v in sizes.items()}
        )
        frame.index = pd.MultiIndex.from_arrays(
            [[level] * len(frame), frame.index], names=["level", "code"]
        )
        frames.append(frame)
    return pd.concat(frames)


def protect_cells(
    cells: dict[str, IndicatorCells], boundaries: Boundaries, config: Config
) -> Protection:
    """Run disclosure control over every cell; raises if the audit finds a leak."""
    table = cell_table(cells, boundaries)
    protection = protect(
        table, area_sizes(cells, config), derived_table(cells), config.disclosure.params
    )
    _follow_weights(protection, cells)
    failures = protection.failures
    if len(failures):  # pragma: no cover - protect() iterates until none are left
        raise DisclosureError(
            f"disclosure audit failed for {len(failures)} cell(s) of "
            f"{sorted(set(failures['indicator']))}; nothing was written"
        )
    return protection


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


def suppression_columns(
    layer: gpd.GeoDataFrame, protection: Protection, inputs: dict[str, list[str]], config: Config
) -> gpd.GeoDataFrame:
    """Add ``suppressed`` and ``suppression`` to a finished layer.

    A theme output that is missing because inputs of the area were withheld is
    listed as ``derived``, with the trend columns whose years were withheld.
    """
    c = protection.cells
    level = layer["niveau"].iloc[0]
    reasons = c[c["level"] == level].pivot(index="code", columns="indicator", values="reason")
    reasons = reasons.reindex(layer["code"])
    reasons.index = layer.index
    withheld = {}
    for theme, used in inputs.items():
        risk = layer.get(f"risk_{theme}")
        if risk is None:
            continue
        hidden = risk.isna() & (reasons[used] != "").any(axis=1)
        withheld[theme] = (
            hidden,
            [column for column in theme_output_columns(theme) if column in layer.columns],
        )
    for trend in config.trends:
        column = f"trend_{trend.id}"
        if column in layer.columns:
            hidden = layer[column].isna() & (reasons[list(trend.indicators)] != "").any(axis=1)
            withheld[column] = (hidden, [column])
    layer = layer.copy()
    layer["suppressed"] = (reasons == AREA).any(axis=1).astype(int).to_numpy()
    layer["suppression"] = _describe(reasons, withheld)
    return _geometry_last(layer)


def _describe(
    reasons: pd.DataFrame, withheld: dict[str, tuple[pd.Series, list[str]]]
) -> list[str | None]:
    texts = []
    for i in range(len(reasons)):
        row = reasons.iloc[i]
        by_rule: dict[str, list[str]] = {}
        for column, rule in row.items():
            if rule:
                by_rule.setdefault(rule, []).append(str(column))
        for _, (hidden, columns) in withheld.items():
            if hidden.iloc[i]:
                by_rule.setdefault(DERIVED, []).extend(columns)
        texts.append(
            "; ".join(f"{rule}: {', '.join(cols)}" for rule, cols in by_rule.items()) or None
        )
    return texts


def _geometry_last(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    columns = [c for c in layer.columns if c != "geometry"] + ["geometry"]
    return gpd.GeoDataFrame(layer[columns], geometry="geometry", crs=layer.crs)


def outcome_counts(protection: Protection) -> dict[str, int]:
    """Sensitive cells per outcome: ``published`` or the rule that withheld them."""
    c = protection.cells[protection.cells["sensitive"]]
    return {str(k): int(v) for k, v in c["reason"].replace("", "published").value_counts().items()}


@dataclass(frozen=True)
class DisclosureRecord:
    """What disclosure control did, for the ``run`` table and the report: every rule's
    parameters and how many sensitive cells each outcome has. Counts only, no values."""

    parameters: dict[str, int | float]
    cells_by_outcome: dict[str, int]
    audit_rounds: int
    audit_failures: int

    @classmethod
    def of(cls, protection: Protection) -> DisclosureRecord:
        params = protection.params
        return cls(
            {f.name: getattr(params, f.name) for f in fields(params)},
            outcome_counts(protection),
            protection.rounds,
            len(protection.failures),
        )

    @property
    def sensitive_cells(self) -> int:
        return sum(self.cells_by_outcome.values())

    def to_json(self) -> str:
        """The record as the ``run`` table stores it (``zicht audit`` reads it back)."""
        p = self.parameters
        return json.dumps(
            {
                "parameters": p,
                "rounding": f"sensitive counts rounded to multiples of {p['count_base']}, sums to "
                f"multiples of {p['sum_base']:g} (conventional rounding, not "
                "controlled: published buurten need not add up to wijken)",
                "secondary": "MILP per subtable (HiGHS), minimising log-value cost",
                "audit": "attacker LP bounds (exact propagation on the hierarchy); "
                f"{self.audit_failures} failures",
                "sensitive_cells": self.sensitive_cells,
                "cells_by_outcome": self.cells_by_outcome,
                "audit_rounds": self.audit_rounds,
            },
            default=float,
        )
