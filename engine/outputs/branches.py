"""The branche analysis as published: the ``branches`` table, its map layers and the
terminal view.

One row per area x SBI node (levels of ``[branches]``), with the published branche
indicators and what follows from them alone: each branche's share of the area's
companies (``aandeel``, %), its location quotient against the parent area
(``lq_ouder``: the wijk against its gemeente, a gemeente against the whole run) and
against the whole run (``lq_totaal``), and the change over the years of ``trend``
(``verandering``, %). A location quotient above 1 says the branche is more common
here than there. Each derived figure is empty where any figure it needs is withheld:
nothing here depends on a withheld value. The rests of SBI nodes are never shown.

>>> location_quotient(pd.Series([10.0]), pd.Series([100.0]), pd.Series([50.0]),
...                   pd.Series([1000.0])).tolist()
[2.0]
"""

from __future__ import annotations

import difflib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from zicht.boundaries.codes import LAYER_NAMES, PARENT_COLUMN, PARENT_LEVEL
from zicht.disclosure import Protection
from zicht.engine.config import Config
from zicht.engine.outputs.language import number, say
from zicht.engine.publish import AREA_COMPANIES_TEXT, WITHHELD_TEXT
from zicht.engine.sbi import TOTAL, SbiTree
from zicht.errors import OutputError

KEYS = ["niveau", "code", "naam", "sbi", "sbi_niveau", "sbi_naam", "sbi_ouder"]
DERIVED = ["aandeel", "lq_ouder", "lq_totaal", "verandering"]
HEADERS = {
    "niveau": ("Niveau", "Level"),
    "code": ("Code", "Code"),
    "naam": ("Naam", "Name"),
    "sbi": ("SBI", "SBI"),
    "sbi_niveau": ("SBI-niveau", "SBI level"),
    "sbi_naam": ("Branche", "Sector"),
    "sbi_ouder": ("SBI hoger niveau", "SBI parent"),
    "aandeel": ("Aandeel in gebied (%)", "Share in area (%)"),
    "lq_ouder": ("Locatiequotiënt t.o.v. hoger gebied", "Location quotient vs parent area"),
    "lq_totaal": ("Locatiequotiënt t.o.v. geheel", "Location quotient vs whole run"),
    "verandering": ("Verandering over de jaren (%)", "Change over the years (%)"),
    "suppressed": ("Gebiedsregel", "Area rule"),
    "suppression": ("Onderdrukking", "Suppression"),
}
SBI_LEVEL_EN = {
    "totaal": "total",
    "sectie": "section",
    "afdeling": "division",
    "groep": "group",
    "klasse": "class",
}


def branche_headers(config: Config) -> dict[str, str]:
    """Column -> header of the branche table in the run's language."""
    index = 1 if config.language == "en" else 0
    headers = {key: names[index] for key, names in HEADERS.items()}
    return headers | {d.id: d.label(config.language) for d in config.indicators}


def whole_run(values: pd.Series) -> float:
    """The sum of the top level's published values: the whole run's figure, known only
    where none of them is withheld (NaN otherwise)."""
    values = pd.to_numeric(values, errors="coerce")
    return float(values.sum()) if values.notna().all() else np.nan


def parent_codes(rows: pd.DataFrame, areas: pd.DataFrame) -> pd.Series:
    """The code of each row's parent area (``niveau``, ``code``), from the layers'
    parent columns (``areas`` indexed by code); empty at the top."""
    parents = pd.Series("", index=rows.index, dtype=object)
    for level, column in PARENT_COLUMN.items():
        mine = rows["niveau"] == level
        parents[mine] = rows.loc[mine, "code"].map(areas[column]).to_numpy()
    return parents.fillna("")


def location_quotient(
    part: pd.Series, whole: pd.Series, part_ref: pd.Series, whole_ref: pd.Series
) -> pd.Series:
    """``(part / whole) / (part_ref / whole_ref)``; NaN where any is missing or a
    denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        here = part / whole.where(whole > 0)
        there = part_ref / whole_ref.where(whole_ref > 0)
        return (here / there.where(there > 0)).astype(float)


def branche_table(
    protection: Protection, config: Config, layers: dict[str, gpd.GeoDataFrame]
) -> pd.DataFrame:
    """The published ``branches`` table (see the module docstring); the area layers
    give the areas' names and parents."""
    spec = config.branches
    assert spec is not None
    tree = SbiTree.default().down_to(spec.depth)
    language = config.language
    cells = _published(protection, list(spec.indicators))
    areas = pd.concat([layer.drop(columns="geometry") for layer in layers.values()])
    areas = areas.drop_duplicates("code").set_index("code")
    names = areas["naam"]
    wide = cells.pivot(index=["level", "code", "sbi"], columns="indicator", values="published")
    wide = wide.reindex(columns=list(spec.indicators)).reset_index()
    withheld = cells.groupby(["level", "code", "sbi"])["withheld"].any()
    ruled = cells.groupby(["level", "code", "sbi"])["ruled"].any()
    key = pd.MultiIndex.from_frame(wide[["level", "code", "sbi"]])
    out = pd.DataFrame(
        {
            "niveau": wide["level"],
            "code": wide["code"],
            "naam": wide["code"].map(names),
            "sbi": wide["sbi"],
            "sbi_niveau": wide["sbi"].map(tree.level),
            "sbi_naam": wide["sbi"].map(tree.names[language]),
            "sbi_ouder": wide["sbi"].map(tree.parent),
        }
    )
    if language == "en":
        out["sbi_niveau"] = out["sbi_niveau"].map(SBI_LEVEL_EN)
    for indicator in spec.indicators:
        out[indicator] = wide[indicator].to_numpy()
    out = pd.concat([out, _derived(out, config, parent_codes(out, areas))], axis=1)
    out["suppressed"] = ruled.reindex(key).to_numpy().astype(int)
    hidden = withheld.reindex(key).to_numpy(dtype=bool)
    out["suppression"] = [
        AREA_COMPANIES_TEXT if ruled_ else WITHHELD_TEXT if hid else None
        for ruled_, hid in zip(out["suppressed"] == 1, hidden)
    ]
    order = {lv: k for k, lv in enumerate(["gemeente", "wijk", "buurt"])}
    nodes = {n: k for k, n in enumerate(tree.nodes)}
    out = out.sort_values(
        ["niveau", "code", "sbi"],
        key=lambda c: c.map(order if c.name == "niveau" else nodes) if c.name != "code" else c,
    )
    return out.reset_index(drop=True)


def _published(protection: Protection, indicators: list[str]) -> pd.DataFrame:
    """The published branche cells and the area cells (node ``totaal``) of the same
    indicators on the branche levels; rests left out."""
    branches = protection.branches
    levels = set(branches["level"])
    area = protection.cells[
        protection.cells["indicator"].isin(indicators) & protection.cells["level"].isin(levels)
    ].assign(sbi=TOTAL, never=False)
    cells = pd.concat([area, branches[~branches["never"].astype(bool)]], ignore_index=True)
    cells = cells[cells["indicator"].isin(indicators)].copy()
    cells["published"] = cells["published"].where(cells["reason"] == "")
    cells["withheld"] = cells["reason"] != ""
    cells["ruled"] = cells["reason"] == "area_companies"
    return cells[["indicator", "level", "code", "sbi", "published", "withheld", "ruled"]]


def _derived(table: pd.DataFrame, config: Config, parents: pd.Series) -> pd.DataFrame:
    """Shares, location quotients and change over the years, from published figures."""
    spec = config.branches
    assert spec is not None
    companies = spec.companies or spec.indicators[0]
    count = table[companies].astype(float)
    key = table["niveau"] + "|" + table["code"]
    total = table.loc[table["sbi"] == TOTAL].set_index(key[table["sbi"] == TOTAL])[companies]
    area_total = key.map(total).astype(float)
    out = pd.DataFrame(index=table.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["aandeel"] = (count / area_total.where(area_total > 0) * 100).round(2)
    # the whole run: the sum of the top level (the gemeenten, or in a selection that
    # holds no whole gemeente its wijken), only where none of it is withheld
    top_level = table["niveau"] == next(
        lv for lv in ("gemeente", "wijk", "buurt") if (table["niveau"] == lv).any()
    )
    top = table[top_level]
    run = top.groupby("sbi")[companies].agg(whole_run)
    run_part = table["sbi"].map(run).astype(float)
    run_whole = float(run.get(TOTAL, np.nan))
    out["lq_totaal"] = location_quotient(
        count, area_total, run_part, pd.Series(run_whole, index=table.index)
    ).round(3)
    value = table.set_index([key, "sbi"])[companies]
    parent_key = table["niveau"].map(PARENT_LEVEL) + "|" + parents
    parent_part = pd.Series(
        value.reindex(pd.MultiIndex.from_arrays([parent_key, table["sbi"]])).to_numpy(),
        index=table.index,
    )
    parent_whole = parent_key.map(total).astype(float)
    lq_parent = location_quotient(count, area_total, parent_part, parent_whole)
    out["lq_ouder"] = lq_parent.where(~top_level, out["lq_totaal"]).round(3)
    if len(spec.trend) >= 2:
        first, last = table[spec.trend[0]].astype(float), table[spec.trend[-1]].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["verandering"] = ((last - first) / first.where(first > 0) * 100).round(1)
    return out[[c for c in DERIVED if c in out]]


def risk_layers(
    table: pd.DataFrame, layers: dict[str, gpd.GeoDataFrame], config: Config
) -> dict[str, gpd.GeoDataFrame]:
    """Per branche level a map layer (``branches_wijken``, ...): the area's geometry and
    one column per risk branche with its location quotient against the whole run."""
    spec = config.branches
    assert spec is not None
    out = {}
    risk = [r.sbi for r in spec.risk]
    for level in dict.fromkeys(table["niveau"]):
        part = table[(table["niveau"] == level) & table["sbi"].isin(risk)]
        wide = part.pivot(index="code", columns="sbi", values="lq_totaal").reindex(columns=risk)
        wide.columns = [lq_column(c) for c in wide.columns]
        rules = table[(table["niveau"] == level) & (table["sbi"] == TOTAL)].set_index("code")
        layer = layers[level]
        frame = layer[["code", "naam", "niveau", "geometry"]].copy()
        for column in wide.columns:
            frame[column] = wide[column].reindex(frame["code"]).to_numpy()
        frame["suppressed"] = (
            rules["suppressed"].reindex(frame["code"]).fillna(0).astype(int).to_numpy()
        )
        withheld = part.groupby("code")["suppression"].apply(lambda s: s.notna().any())
        hidden = withheld.reindex(frame["code"]).fillna(False).to_numpy(dtype=bool)
        frame["suppression"] = [WITHHELD_TEXT if h else None for h in hidden]
        columns = [c for c in frame.columns if c != "geometry"] + ["geometry"]
        out[f"branches_{LAYER_NAMES[level]}"] = gpd.GeoDataFrame(
            frame[columns], geometry="geometry", crs=layer.crs
        )
    return out


def lq_column(sbi: str) -> str:
    """The layer column of a risk branche's location quotient (``lq_96_02``)."""
    return "lq_" + sbi.replace(".", "_")


def read_branches(path: Path) -> tuple[pd.DataFrame, str]:
    """The ``branches`` table of a published output and the run's language."""
    gpkg = Path(path) / "zicht.gpkg"
    if not gpkg.exists():
        raise OutputError(f"{path}: no zicht.gpkg; is this a zicht output directory?")
    names = {str(n) for n, _ in pyogrio.list_layers(gpkg)}
    if "branches" not in names:
        raise OutputError(f"{gpkg}: no branches table; the run had no [branches] section")
    table = pyogrio.read_dataframe(gpkg, layer="branches", read_geometry=False)
    total = table.loc[table["sbi"] == TOTAL, "sbi_naam"]
    english = len(total) and total.iloc[0] == SbiTree.default().name(TOTAL, "en")
    return table, "en" if english else "nl"


def format_for_terminal(
    table: pd.DataFrame, code: str, sbi: str | None = None, language: str = "nl"
) -> str:
    """One area's branche rows as a fixed-width table (withheld figures as
    "onderdrukt"), the SBI tree indented; only ``sbi`` and below where given."""
    rows = table[table["code"] == code]
    if not len(rows):
        hint = difflib.get_close_matches(code, list(dict.fromkeys(table["code"])), n=1)
        raise OutputError(
            f"no area {code!r} in the branches table"
            + (f"; did you mean {hint[0]!r}?" if hint else "")
        )
    tree = SbiTree.default()
    if sbi is not None:
        if sbi not in set(rows["sbi"]):
            raise OutputError(f"no SBI node {sbi!r} in the branches table of {code}")
        rows = rows[rows["sbi"].map(lambda n: tree.within(n, (sbi,)))]
    index = 1 if language == "en" else 0
    withheld = say("onderdrukt", language)
    figures = [c for c in rows.columns if c not in KEYS and c not in ("suppressed", "suppression")]
    head = f"{rows['naam'].iloc[0]} ({code})"
    lines = [head, ""]
    header = f"{'SBI':<8} {HEADERS['sbi_naam'][index]:<44}" + "".join(
        f"{c[:14]:>15}" for c in figures
    )
    lines.append(header)
    top = tree.depth(rows["sbi"].iloc[0])
    for row in rows.itertuples(index=False):
        indent = "  " * (tree.depth(row.sbi) - top)
        name = f"{indent}{row.sbi_naam}"[:44]
        cells = []
        shown = all(pd.notna(getattr(row, c)) for c in figures if c not in DERIVED)
        for c in figures:
            v = getattr(row, c)
            if pd.isna(v):  # a ratio of published figures can be undefined (0 / 0)
                cells.append("-" if shown and c in DERIVED else withheld)
            else:
                cells.append(number(v, 2 if c in DERIVED else 0, language))
        lines.append(f"{row.sbi:<8} {name:<44}" + "".join(f"{t:>15}" for t in cells))
    return "\n".join(lines)
