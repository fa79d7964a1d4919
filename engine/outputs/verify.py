"""Audit a published output directory: can anything withheld be recovered from it?

Uses only what is published (``zicht.gpkg`` and ``manifest.json``), as an attacker
who knows the rules would (:data:`ATTACKER_MODEL`). Sensitive additive indicators
that are related (the ``subset_of`` and ``sum_of`` columns of the ``indicators``
table) are audited together as one linked table (:mod:`disclosure.linked`): every
level, the hierarchy, the relations, the rounding intervals and the publication rules
(a published count above 0 holds at least ``min_units`` units; a published 0 is
exact). A NULL is a withheld cell.

Checks, each reported with the codes and columns at fault (never values):

- every withheld cell keeps an attacker interval at least ``protection_min`` wide.
  That is the part of its protection that does not depend on the true value, which
  this audit must not know: the full check, that the interval of every unsafe cell
  covers ``[value - lower, value + upper]``, runs inside the pipeline on the true
  values before anything is written;
- published sensitive counts and sums are multiples of their rounding base, and no
  negative number stands in a sensitive column (no sentinel for "secret");
- a derived rate or share is published only where its numerator and denominator are;
- an area under the area rule (``suppressed`` = 1) publishes no person-based figure
  and no score, rank, driver, class or trend; ``suppression`` says only what is public
  anyway (the area rule, or "onderdrukt"), never a cell's rule;
- every file the manifest lists is there with its checksum;
- ``dashboard.html`` embeds exactly the published layers: the same levels, columns,
  areas and values as the GeoPackage (a withheld cell is null there too).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio

from zicht.boundaries.codes import LAYER_NAMES
from zicht.disclosure import Relations
from zicht.disclosure.rounding import half_width
from zicht.disclosure.rules import PERSON_TYPES
from zicht.engine.estimates import additive_sensitive, group_bounds, published_cells, relations_of
from zicht.engine.outputs.dashboard import read_dashboard_data
from zicht.engine.outputs.manifest import sha256_of
from zicht.engine.outputs.own_areas import read_own_layers
from zicht.engine.outputs.verify_branches import branche_cells, check_own_cells
from zicht.engine.publish import SUPPRESSION_TEXTS
from zicht.engine.sbi import TOTAL
from zicht.engine.themes import THEME_OUTPUTS
from zicht.errors import DisclosureError, OutputError

ATTACKER_MODEL = (
    "reads every published level, table and file of the output",
    "knows the rounding: a published count stands for its value +/- {half_count:g}, a sum "
    "for +/- {half_sum:g}",
    "knows the rules: a published count above 0 holds at least {min_units} units, a "
    "published 0 is exactly 0, a withheld cell is anything from 0 up",
    "knows every parent is the sum of its children (buurt, wijk, gemeente), and every own "
    "area (layers eigen_<id>) the sum of the buurten its layer lists",
    "knows the area rules: no person-based figure where inhabitants or households are "
    "few, no other company figure where the company count is withheld or below "
    "{min_companies} (decided on published figures: they add nothing)",
    "knows the relations between indicators: {relations}",
    "solves for the tightest interval of every withheld cell ({method})",
)


@dataclass(kw_only=True)
class AuditReport:
    cells_checked: int = 0
    withheld: int = 0
    problems: list[str] = field(default_factory=list)
    model: list[str] = field(default_factory=list)  # the attacker, in words

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class PublishedOutput:
    """What an output directory publishes, as the audit reads it."""

    path: Path
    params: dict
    indicators: pd.DataFrame  # the indicators table, indexed by id
    layers: dict[str, pd.DataFrame]  # per level, without geometry
    branches: pd.DataFrame | None
    own: dict[str, pd.DataFrame] = field(default_factory=dict)  # own areas, per level


def read_output(path: Path) -> PublishedOutput:
    """The published tables of the output in ``path`` that the audit reads."""
    path = Path(path)
    gpkg = path / "zicht.gpkg"
    if not gpkg.exists():
        raise OutputError(f"{path}: no zicht.gpkg; is this a zicht output directory?")
    run = pyogrio.read_dataframe(gpkg, layer="run").set_index("key")["value"]
    if "disclosure" not in run.index or not run["disclosure"]:
        raise OutputError(f"{gpkg}: the run table records no disclosure control")
    names = {str(n) for n, _ in pyogrio.list_layers(gpkg)}
    return PublishedOutput(
        path=path,
        params=json.loads(run["disclosure"])["parameters"],
        indicators=pyogrio.read_dataframe(gpkg, layer="indicators").set_index("id"),
        layers={
            lv: pyogrio.read_dataframe(gpkg, layer=name, read_geometry=False)
            for lv, name in reversed(LAYER_NAMES.items())
            if name in names
        },
        branches=(
            pyogrio.read_dataframe(gpkg, layer="branches", read_geometry=False)
            if "branches" in names
            else None
        ),
        own=read_own_layers(gpkg, names),
    )


def audit_directory(
    path: Path,
    exact: bool = False,
    others: Sequence[Path] = (),
    proven: Mapping[str, pd.DataFrame] | None = None,
    manifest: bool = True,
) -> AuditReport:
    """Audit the output in ``path`` (see the module docstring); ``exact`` solves the
    attacker's programs (HiGHS) instead of propagating bounds. Without ``manifest``
    the manifest is not checked (a run checks it once it is written:
    :mod:`engine.outputs.staged_audit`).

    ``proven``: the run that wrote ``path`` passes the layers its protection loop
    proved (per level as in :func:`read_output`, own areas as ``eigen:<id>``: the
    values it published, withheld cells NaN). That loop solved the attacker's
    programs on the true values of the whole protected master, which publishes at
    least what ``path`` does; where a group's published figures are exactly those
    layers' (checked, cell by cell), its verdict holds for them, and the audit only
    propagates bounds (what propagation finds narrow is narrow: the check that
    catches a broken file). Anything else gets the programs, as ``zicht audit`` runs
    them from the files alone.

    With ``others``, the outputs are audited jointly, as an attacker who reads all of
    them would: every file of each is checked on its own, and the linked tables of all
    of them as one (an area published by any is known to the attacker; two outputs that
    publish different values under one code contradict each other, which is itself a
    problem: they are not cuts of one protected release)."""
    outputs = [read_output(p) for p in (path, *others)]
    report = AuditReport()
    for output in outputs:
        mine = AuditReport()
        if manifest:
            mine.problems += manifest_problems(output.path)
        _check_dashboard(output.path, output.layers, mine)
        sensitive = output.indicators[output.indicators["sensitive"] == 1]
        for indicator_id, spec in sensitive.iterrows():
            if not pd.isna(spec["numerator"]):
                _audit_derived(str(indicator_id), spec, output.layers, mine)
        _audit_area_rule(output.layers, sensitive, mine)
        where = f"{output.path.name}: " if others else ""
        report.problems += [where + problem for problem in mine.problems]
    joint = outputs[0] if not others else _joint(outputs, report)
    _audit_linked(joint, report, exact, proven if not others else None)
    return report


def _audit_linked(
    output: PublishedOutput,
    report: AuditReport,
    exact: bool,
    proven: Mapping[str, pd.DataFrame] | None = None,
) -> None:
    """Every linked group of sensitive additive indicators, on every level and in the
    branches table: the grid, the sentinels and every withheld cell's interval (by
    propagation alone where ``proven`` layers publish the same figures)."""
    sensitive = output.indicators[output.indicators["sensitive"] == 1]
    additive = additive_sensitive(output.indicators)
    relations = relations_of(output.indicators).among(additive)
    branches, layers = output.branches, output.layers | output.own
    report.model = _model_in_words(output.params, relations, exact, branches is not None)
    for group in relations.groups(additive):
        ran = proven is not None and _same_figures(group, layers, proven)
        _audit_group(
            group,
            sensitive,
            layers,
            output.params,
            relations.among(group),
            report,
            exact,
            branches,
            ran,
        )


def _same_figures(
    group: list[str], layers: Mapping[str, pd.DataFrame], proven: Mapping[str, pd.DataFrame]
) -> bool:
    """Whether every layer publishes ``group``'s figures exactly as the ``proven``
    layers do: the same areas, each value the same, each withheld cell withheld."""
    for level, layer in layers.items():
        columns = [c for c in group if c in layer]
        theirs = proven.get(level)
        if not columns:
            continue
        if theirs is None or not all(c in theirs for c in columns):
            return False
        mine = layer.set_index("code")[columns].apply(pd.to_numeric, errors="coerce")
        other = theirs.set_index("code")[columns].apply(pd.to_numeric, errors="coerce")
        if not mine.index.sort_values().equals(other.index.sort_values()):
            return False
        other = other.reindex(mine.index)
        a, b = mine.to_numpy(dtype=float), other.to_numpy(dtype=float)
        if not np.array_equal(a, b, equal_nan=True):
            return False
    return True


def _joint(outputs: list[PublishedOutput], report: AuditReport) -> PublishedOutput:
    """What the attacker of several outputs knows, as one output: every area any of
    them publishes, with every value any of them publishes."""
    first = outputs[0]
    for other in outputs[1:]:
        differ = sorted(k for k in first.params if other.params.get(k) != first.params[k])
        if differ:
            raise OutputError(
                f"{other.path}: its disclosure rules differ from {first.path}'s "
                f"({', '.join(differ)}); outputs of different rules cannot be audited jointly"
            )
    indicators = pd.concat([o.indicators for o in outputs])
    indicators = indicators[~indicators.index.duplicated()]
    sensitive = [str(i) for i in indicators.index[indicators["sensitive"] == 1]]
    layers = {}
    every = [o.layers | o.own for o in outputs]  # with the own areas: audited as one
    for level in dict.fromkeys(lv for o in every for lv in o):
        frames = [o[level] for o in every if level in o]
        layers[level] = _union(frames, ["code"], sensitive, level, report)
    frames = [o.branches for o in outputs if o.branches is not None]
    branches = _union(frames, ["niveau", "code", "sbi"], sensitive, "branches", report)
    return PublishedOutput(first.path, first.params, indicators, layers, branches)


def _union(
    frames: list[pd.DataFrame],
    key: list[str],
    sensitive: list[str],
    where: str,
    report: AuditReport,
) -> pd.DataFrame | None:
    """The rows of ``frames`` once per ``key``, each value published by any of them;
    a sensitive value published differently by two is reported (by code)."""
    if not frames:
        return None
    stacked = pd.concat(frames, ignore_index=True)
    columns = [c for c in sensitive if c in stacked.columns]
    if columns:
        values = stacked[key + columns].copy()
        values[columns] = values[columns].apply(pd.to_numeric, errors="coerce")
        counts = values.groupby(key, sort=False)[columns].nunique()
        for column in columns:
            for row in counts.index[(counts[column] > 1).to_numpy()]:
                code = row if isinstance(row, str) else " ".join(map(str, row))
                report.problems.append(
                    f"{column} of {code} ({where}) is published with different values by "
                    "the outputs: they are not cuts of one protected release, and the "
                    "difference gives away what lies between them"
                )
    return stacked.groupby(key, sort=False, as_index=False).first()


def _model_in_words(
    params: dict, relations: Relations, exact: bool, branches: bool = False
) -> list[str]:
    pairs = [f"{a} <= {b}" for a, b in relations.closed().subsets]
    pairs += [f"{t} = {' + '.join(p)}" for t, p in relations.sums]
    method = (
        "HiGHS linear programs for every withheld cell (solutions of the attacker's "
        "programs that show it wide enough, else its exact interval: the programs' verdict)"
        if exact
        else (
            "bound propagation to a fixed point, and HiGHS linear programs where propagation "
            "is not exact (overlapping subsets, sums over years); --exact solves every cell"
        )
    )
    values: dict[str, object] = {
        "half_count": half_width(params["count_base"], True),
        "half_sum": half_width(params["sum_base"], False),
        "min_units": params["min_units"],
        "relations": "; ".join(pairs) or "none",
        "method": method,
    }
    values["min_companies"] = params.get("min_companies", 20)
    lines = [line.format(**values) for line in ATTACKER_MODEL]
    if branches:
        lines.append(
            "reads the branches table as well: every cell is the sum of its finer areas and "
            "of its finer SBI nodes (a node with listed groups also holds an unpublished "
            "rest), and its own area cell is the one in the layers. "
            + (
                "The programs decide it as the rest"
                if exact
                else "Here by propagation; the programs over the two-way table ran in the "
                "pipeline, on the true values (--exact runs them here)"
            )
        )
    return lines


def _audit_group(
    group: list[str],
    sensitive: pd.DataFrame,
    layers: dict[str, pd.DataFrame],
    params: dict,
    relations: Relations,
    report: AuditReport,
    exact: bool,
    branches: pd.DataFrame | None = None,
    programs_ran: bool = False,
) -> None:
    """One linked group of indicators: grid, sentinels, and every withheld cell's
    attacker interval at least ``protection_min`` wide; with the branche cells of its
    indicators where the output has a branches table. ``programs_ran``: the run's
    protection solved the programs for exactly these figures (propagation here)."""
    cells, shown = published_cells(group, layers)
    rest = np.zeros(len(cells), dtype=bool)
    broken_down = branches is not None and any(i in branches.columns for i in group)
    if broken_down:
        assert branches is not None
        check_own_cells(group, branches, layers, report.problems)
        more, more_shown, more_rest = branche_cells(group, branches, layers)
        cells = pd.concat([cells.assign(sbi=TOTAL, sbi_parent=None), more], ignore_index=True)
        shown, rest = np.r_[shown, more_shown], np.r_[rest, more_rest]
    count = (sensitive.loc[cells["indicator"], "kind"] == "count").to_numpy()
    base = np.where(count, params["count_base"], params["sum_base"])
    report.cells_checked += len(cells)
    for indicator_id in group:
        mine = (cells["indicator"] == indicator_id).to_numpy() & ~np.isnan(shown)
        off = np.abs(shown[mine] / base[mine] - np.round(shown[mine] / base[mine])) > 1e-9
        if off.any():
            report.problems.append(
                f"{indicator_id}: {int(off.sum())} published value(s) are "
                "not multiples of the rounding base"
            )
        if (shown[mine] < 0).any():
            report.problems.append(f"{indicator_id}: negative published values (a sentinel?)")
    withheld = np.flatnonzero(np.isnan(shown) & ~rest)  # rests are never published
    report.withheld += len(withheld)
    if not len(withheld):
        return
    # a two-way branche table is one program the size of a city's table: propagation
    # here (what it finds narrow is narrow), the programs ran in the pipeline
    wide = None if (broken_down or programs_ran) and not exact else params["protection_min"]
    try:
        found = group_bounds(cells, shown, sensitive["kind"], params, relations, exact, wide)
    except DisclosureError:
        report.problems.append(
            f"{', '.join(group)}: the published figures contradict each "
            "other or the publication rules (changed after the run?)"
        )
        return
    low, high = found.low, found.high
    narrow = high[withheld] - low[withheld] < params["protection_min"] - 1e-9
    for i in withheld[narrow]:
        report.problems.append(
            f"{cells.at[i, 'indicator']} of {cells.at[i, 'code']}: the published figures "
            f"narrow it to an interval narrower than {params['protection_min']:g}"
        )


def _audit_area_rule(
    layers: dict[str, pd.DataFrame], sensitive: pd.DataFrame, report: AuditReport
) -> None:
    persons = [i for i, spec in sensitive.iterrows() if spec.get("unit_type") in PERSON_TYPES]
    for layer in layers.values():
        texts = layer["suppression"].dropna().astype(str) if "suppression" in layer else []
        for code, text in zip(layer.loc[texts.index, "code"] if len(texts) else [], texts):
            if any(part not in SUPPRESSION_TEXTS for part in text.split("; ")):
                report.problems.append(f"suppression of {code} says more than is public")
        if "suppressed" not in layer:
            continue
        small = pd.to_numeric(layer["suppressed"], errors="coerce") == 1
        outputs = [
            c
            for c in layer.columns
            if c.split("_")[0] in (*THEME_OUTPUTS, "trend")
            or c.startswith(("risk_low_", "risk_high_", "estimated_", "gi_z_", "gi_p_"))
        ]
        for column in [c for c in persons if c in layer] + outputs:
            for code in layer.loc[small & layer[column].notna(), "code"]:
                report.problems.append(f"{column} of {code} is published under the area rule")


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


def manifest_problems(path: Path) -> list[str]:
    """Whether every file the manifest in ``path`` lists is there with its checksum:
    the problems found (none: all is well)."""
    manifest = path / "manifest.json"
    if not manifest.exists():
        return ["manifest.json is missing"]
    problems = []
    for entry in json.loads(manifest.read_text(encoding="utf-8"))["files"]:
        file = path / entry["name"]
        if not file.exists():
            problems.append(f"{entry['name']} is listed in the manifest but missing")
        elif sha256_of(file) != entry["sha256"]:
            problems.append(f"{entry['name']} does not match its manifest checksum")
    return problems


def _check_dashboard(path: Path, layers: dict[str, pd.DataFrame], report: AuditReport) -> None:
    """The dashboard's embedded data against the GeoPackage, column by column (the
    problems name the level, column and areas, never a value)."""
    page = path / "dashboard.html"
    if not page.exists():
        return
    try:
        data = read_dashboard_data(page)["levels"]
    except OutputError as error:
        report.problems.append(str(error))
        return
    for level in sorted(set(data) - set(layers)):
        report.problems.append(f"dashboard.html holds a level {level} the GeoPackage does not")
    for level, layer in layers.items():
        columns = data.get(level, {}).get("columns") if isinstance(data.get(level), dict) else None
        if not isinstance(columns, dict):
            report.problems.append(f"dashboard.html has no data for the {level} layer")
            continue
        report.problems.extend(_level_problems(level, layer, columns))


def _level_problems(level: str, layer: pd.DataFrame, columns: dict[str, Any]) -> list[str]:
    """One level's embedded columns against the GeoPackage layer."""
    problems = []
    for name in sorted(set(columns) - set(layer.columns)):
        problems.append(f"dashboard.html ({level}) holds a column {name} not published")
    for name in layer.columns:
        if name not in columns:
            problems.append(f"dashboard.html ({level}) lacks the column {name}")
            continue
        differ = _differences(layer[name], columns[name])
        if differ is None:
            problems.append(f"dashboard.html ({level}) {name}: wrong number of areas")
        elif len(differ):
            codes = ", ".join(map(str, layer["code"].to_numpy()[differ][:5]))
            problems.append(
                f"dashboard.html ({level}) {name} differs from the GeoPackage for {codes}"
            )
    return problems


def _differences(published: pd.Series, embedded: list) -> np.ndarray | None:
    """Positions where the dashboard's values differ from the published column (None
    where the lengths differ)."""
    if not isinstance(embedded, list) or len(embedded) != len(published):
        return None
    mine = pd.Series(embedded, dtype=object)
    theirs = published.astype(object).where(published.notna(), None).reset_index(drop=True)
    missing_mine, missing_theirs = mine.isna().to_numpy(), theirs.isna().to_numpy()
    numeric = pd.api.types.is_numeric_dtype(published)
    if numeric:
        a = pd.to_numeric(mine, errors="coerce").to_numpy(dtype=float)
        b = pd.to_numeric(theirs, errors="coerce").to_numpy(dtype=float)
        same = np.isclose(a, b, rtol=1e-9, atol=1e-9) | (missing_mine & missing_theirs)
        same &= ~(missing_mine ^ missing_theirs)
        same &= ~(~missing_mine & np.isnan(a))  # text where a number belongs
    else:
        same = (mine.astype(str) == theirs.astype(str)).to_numpy() & ~(
            missing_mine ^ missing_theirs
        )
        same |= missing_mine & missing_theirs
    return np.flatnonzero(~same)
