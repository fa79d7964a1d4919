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

from disclosure.audit import Tree, attacker_bounds, attacker_bounds_lp
from disclosure.rounding import half_width
from disclosure.rules import PRIMARY_RULES
from engine.writers import sha256_of

LEVEL_LAYERS = {"gemeente": "gemeenten", "wijk": "wijken", "buurt": "buurten"}
PARENT_COLUMN = {"buurt": "wijkcode", "wijk": "gemeentecode"}
PARENT_LEVEL = {"buurt": "wijk", "wijk": "gemeente"}


class AuditError(ValueError):
    """The directory is not a zicht output that can be audited."""


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
        raise AuditError(f"{path}: no zicht.gpkg; is this a zicht output directory?")
    report = AuditReport()
    _check_manifest(path, report)
    run = pyogrio.read_dataframe(gpkg, layer="run").set_index("key")["value"]
    if "disclosure" not in run.index or not run["disclosure"]:
        raise AuditError(f"{gpkg}: the run table records no disclosure control")
    params = json.loads(run["disclosure"])["parameters"]
    indicators = pyogrio.read_dataframe(gpkg, layer="indicators").set_index("id")
    layers = {lv: pyogrio.read_dataframe(gpkg, layer=name, read_geometry=False)
              for lv, name in LEVEL_LAYERS.items()
              if name in {str(n) for n, _ in pyogrio.list_layers(gpkg)}}
    reasons = {lv: _reasons(layer) for lv, layer in layers.items()}
    sensitive = indicators[indicators["sensitive"] == 1]
    for indicator_id, spec in sensitive.iterrows():
        if spec["kind"] in ("count", "sum") and pd.isna(spec["numerator"]):
            _audit_indicator(indicator_id, spec["kind"], layers, reasons, params, report, exact)
        elif not pd.isna(spec["numerator"]):
            _audit_derived(indicator_id, spec, layers, report)
    return report


def _reasons(layer: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(code, column) -> rule, parsed from the ``suppression`` column."""
    out = {}
    for code, text in zip(layer["code"], layer.get("suppression", [])):
        if not isinstance(text, str):
            continue
        for part in text.split("; "):
            rule, _, columns = part.partition(": ")
            for column in columns.split(", "):
                out[(code, column)] = rule
    return out


def _audit_indicator(indicator_id: str, kind: str, layers: dict, reasons: dict, params: dict,
                     report: AuditReport, exact: bool) -> None:
    rows = []
    for level, layer in layers.items():
        if indicator_id not in layer:
            continue
        parent = layer[PARENT_COLUMN[level]] if level in PARENT_COLUMN else None
        for i, code in enumerate(layer["code"]):
            rows.append((level, code, None if parent is None else parent.iloc[i],
                         layer[indicator_id].iloc[i]))
    frame = pd.DataFrame(rows, columns=["level", "code", "parent", "published"])
    position = {(lv, c): i for i, (lv, c) in enumerate(zip(frame["level"], frame["code"]))}
    parent = np.array([position.get((PARENT_LEVEL.get(lv, ""), p), -1)
                       for lv, p in zip(frame["level"], frame["parent"])])
    published = frame["published"].to_numpy(dtype=float)
    base = params["count_base"] if kind == "count" else params["sum_base"]
    report.cells_checked += len(frame)
    shown = published[~np.isnan(published)]
    off_grid = np.abs(shown / base - np.round(shown / base)) > 1e-9
    if off_grid.any():
        report.problems.append(f"{indicator_id}: {int(off_grid.sum())} published value(s) are "
                               f"not multiples of the rounding base {base:g}")
    if (shown < 0).any():
        report.problems.append(f"{indicator_id}: negative published values (a sentinel?)")
    listed = [(frame["code"].iloc[i], reasons.get(frame["level"].iloc[i], {}).get(
        (frame["code"].iloc[i], indicator_id))) for i in range(len(frame))]
    # NULL without a reason: unknown at the source, left out of the sums (so: 0)
    unknown = np.isnan(published) & np.array([rule is None for _, rule in listed])
    half = np.where(unknown, 0.0, half_width(base, integer=kind == "count"))
    tree = Tree.from_published(parent, np.where(unknown, 0.0, published), half)
    withheld = np.flatnonzero(np.isnan(published) & ~unknown)
    report.withheld += len(withheld)
    if not len(withheld):
        return
    if exact:
        low, high = attacker_bounds_lp(tree, withheld)
    else:
        low, high = attacker_bounds(tree)
        low, high = low[withheld], high[withheld]
    for i, (code, rule) in enumerate(listed):
        if rule and not np.isnan(published[i]):
            report.problems.append(f"{indicator_id} of {code} is listed as withheld ({rule}) "
                                   "but published")
    for k, i in enumerate(withheld):
        rule = reasons.get(frame["level"].iloc[i], {}).get((frame["code"].iloc[i], indicator_id))
        if rule in PRIMARY_RULES and high[k] - low[k] < params["protection_min"] - 1e-9:
            report.problems.append(
                f"{indicator_id} of {frame['code'].iloc[i]} ({rule}): the published figures "
                f"narrow it to an interval narrower than {params['protection_min']:g}")


def _audit_derived(indicator_id: str, spec: pd.Series, layers: dict,
                   report: AuditReport) -> None:
    for level, layer in layers.items():
        if indicator_id not in layer:
            continue
        shown = layer[indicator_id].notna()
        for part in (spec["numerator"], spec["denominator"]):
            leaked = shown & layer[part].isna()
            for code in layer.loc[leaked, "code"]:
                report.problems.append(f"{indicator_id} of {code} is published while its part "
                                       f"{part} is withheld")


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
