"""Audit a published output directory: can anything withheld be recovered from it?

Uses only what is published (``zicht.gpkg`` and ``manifest.json``), as an attacker
would. For every sensitive additive indicator it rebuilds the hierarchy from the
layers (a NULL is a withheld cell), takes each published value's rounding interval,
and computes the tightest interval the attacker can derive for each withheld cell
(:func:`disclosure.audit.attacker_bounds`; the linear programs with ``exact``).

Checks, each reported with the codes and columns at fault (never values):

- every cell the ``suppression`` column lists as withheld is NULL;
- every cell withheld by a primary rule keeps an attacker interval at least
  ``protection_min`` wide. That is the part of its protection that does not depend
  on the true value, which this audit must not know: the full check, that the
  attacker's interval covers ``[value - lower, value + upper]``, runs inside the
  pipeline on the true values before anything is written;
- published sensitive counts and sums are multiples of their rounding base;
- a derived rate or share is published only where its numerator and denominator are;
- no negative number stands in a sensitive column (no sentinel for "secret");
- every file the manifest lists is there with its checksum.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from boundaries.codes import LAYER_NAMES
from boundaries.errors import OutputError
from disclosure.audit import Tree, attacker_bounds, attacker_bounds_lp, parent_positions
from disclosure.rounding import half_width
from disclosure.rules import PRIMARY_RULES
from engine.outputs.manifest import sha256_of

PARENT_COLUMN = {"buurt": "wijkcode", "wijk": "gemeentecode"}


@dataclass
class AuditReport:
    cells_checked: int = 0
    withheld: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_directory(path: Path, exact: bool = False) -> AuditReport:
    """Audit the output in ``path`` (see the module docstring)."""
    path = Path(path)
    gpkg = path / "zicht.gpkg"
    if not gpkg.exists():
        raise OutputError(f"{path}: no zicht.gpkg; is this a zicht output directory?")
    report = AuditReport()
    _check_manifest(path, report)
    run = pyogrio.read_dataframe(gpkg, layer="run").set_index("key")["value"]
    if "disclosure" not in run.index or not run["disclosure"]:
        raise OutputError(f"{gpkg}: the run table records no disclosure control")
    params = json.loads(run["disclosure"])["parameters"]
    indicators = pyogrio.read_dataframe(gpkg, layer="indicators").set_index("id")
    layers = {
        lv: pyogrio.read_dataframe(gpkg, layer=name, read_geometry=False)
        for lv, name in reversed(LAYER_NAMES.items())
        if name in {str(n) for n, _ in pyogrio.list_layers(gpkg)}
    }
    cells = _Cells.from_layers(layers)
    sensitive = indicators[indicators["sensitive"] == 1]
    for indicator_id, spec in sensitive.iterrows():
        if spec["kind"] in ("count", "sum") and pd.isna(spec["numerator"]):
            _audit_indicator(indicator_id, spec["kind"], layers, cells, params, report, exact)
        elif not pd.isna(spec["numerator"]):
            _audit_derived(indicator_id, spec, layers, report)
    return report


def _reasons(layer: pd.DataFrame, level: str) -> pd.DataFrame:
    """(level, code, column, rule) rows parsed from the ``suppression`` column."""
    text = layer.set_index("code")["suppression"].dropna().astype(str)
    if text.empty:
        return pd.DataFrame(columns=["level", "code", "column", "rule"])
    parts = text.str.split("; ").explode()
    rule = parts.str.partition(": ")[0]
    columns = parts.str.partition(": ")[2].str.split(", ")
    out = pd.DataFrame({"rule": rule, "column": columns}).explode("column").reset_index()
    out["level"] = level
    return out[["level", "code", "column", "rule"]]


@dataclass
class _Cells:
    """Every area of every level in one order, with parent positions (-1 at the top)."""

    level: np.ndarray
    code: np.ndarray
    parent: np.ndarray
    rules: pd.DataFrame  # rows: cells, columns: indicator ids; '' where not withheld

    @classmethod
    def from_layers(cls, layers: dict[str, pd.DataFrame]) -> _Cells:
        level = np.concatenate([[lv] * len(layer) for lv, layer in layers.items()])
        code = np.concatenate([layer["code"].to_numpy(dtype=object) for layer in layers.values()])
        parent_code = np.concatenate(
            [
                layer[PARENT_COLUMN[lv]].to_numpy(dtype=object)
                if lv in PARENT_COLUMN
                else np.full(len(layer), None, dtype=object)
                for lv, layer in layers.items()
            ]
        )
        key = pd.MultiIndex.from_arrays([level, code])
        parent = parent_positions(level, code, parent_code)
        reasons = pd.concat(
            [_reasons(layer, lv) for lv, layer in layers.items() if "suppression" in layer],
            ignore_index=True,
        )
        rules = (
            reasons.drop_duplicates(["level", "code", "column"])
            .pivot(index=["level", "code"], columns="column", values="rule")
            .reindex(key)
            .fillna("")
        )
        return cls(level, code, parent, rules)


def _audit_indicator(
    indicator_id: str,
    kind: str,
    layers: dict,
    cells: _Cells,
    params: dict,
    report: AuditReport,
    exact: bool,
) -> None:
    published = np.concatenate(
        [
            pd.to_numeric(layer[indicator_id], errors="coerce").to_numpy(dtype=float)
            if indicator_id in layer
            else np.full(len(layer), np.nan)
            for layer in layers.values()
        ]
    )
    rule = (
        cells.rules[indicator_id].to_numpy(dtype=object)
        if indicator_id in cells.rules
        else np.full(len(published), "", dtype=object)
    )
    base = params["count_base"] if kind == "count" else params["sum_base"]
    report.cells_checked += len(published)
    shown = published[~np.isnan(published)]
    off_grid = np.abs(shown / base - np.round(shown / base)) > 1e-9
    if off_grid.any():
        report.problems.append(
            f"{indicator_id}: {int(off_grid.sum())} published value(s) are "
            f"not multiples of the rounding base {base:g}"
        )
    if (shown < 0).any():
        report.problems.append(f"{indicator_id}: negative published values (a sentinel?)")
    listed = rule != ""
    for i in np.flatnonzero(listed & ~np.isnan(published)):
        report.problems.append(
            f"{indicator_id} of {cells.code[i]} is listed as withheld ({rule[i]}) but published"
        )
    # NULL without a reason: unknown at the source, left out of the sums (so: 0)
    unknown = np.isnan(published) & ~listed
    half = np.where(unknown, 0.0, half_width(base, integer=kind == "count"))
    tree = Tree.from_published(cells.parent, np.where(unknown, 0.0, published), half)
    withheld = np.flatnonzero(np.isnan(published) & listed)
    report.withheld += len(withheld)
    if not len(withheld):
        return
    if exact:
        low, high = attacker_bounds_lp(tree, withheld)
    else:
        low, high = attacker_bounds(tree)
        low, high = low[withheld], high[withheld]
    narrow = (high - low < params["protection_min"] - 1e-9) & np.isin(rule[withheld], PRIMARY_RULES)
    for i in withheld[narrow]:
        report.problems.append(
            f"{indicator_id} of {cells.code[i]} ({rule[i]}): the published figures "
            f"narrow it to an interval narrower than {params['protection_min']:g}"
        )


def _audit_derived(indicator_id: str, spec: pd.Series, layers: dict, report: AuditReport) -> None:
    for layer in layers.values():
        if indicator_id not in layer:
            continue
        shown = layer[indicator_id].notna()
        for part in (spec["numerator"], spec["denominator"]):
            leaked = shown & layer[part].isna()
            for code in layer.loc[leaked, "code"]:
                report.problems.append(
                    f"{indicator_id} of {code} is published while its part {part} is withheld"
                )


def _check_manifest(path: Path, report: AuditReport) -> None:
    manifest = path / "manifest.json"
    if not manifest.exists():
        report.problems.append("manifest.json is missing")
        return
    for entry in json.loads(manifest.read_text(encoding="utf-8"))["files"]:
        file = path / entry["name"]
        if not file.exists():
            report.problems.append(f"{entry['name']} is listed in the manifest but missing")
        elif sha256_of(file) != entry["sha256"]:
            report.problems.append(f"{entry['name']} does not match its manifest checksum")
