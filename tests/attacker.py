"""An outsider who reads published GeoPackages and knows the rules, written apart from
the engine's own audit (engine.outputs.verify): the relations between indicators as
the data dictionary states them, the demo's rounding and thresholds, and bound
propagation checked by the exact programs on a sample."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyogrio

from zicht.disclosure import LinkedCells, Relations
from zicht.disclosure.knowledge import Knowledge, protected
from zicht.disclosure.programs import attacker_bounds_exact
from zicht.disclosure.propagation import attacker_bounds
from zicht.disclosure.rules import PRIMARY_RULES

# The relations an outsider reads in the data dictionary, written out here by hand
# (independently of engine.publish.indicator_relations, which the run uses).
KNOWN = Relations(
    subsets=(
        ("verkopen_aan_rechtspersonen", "woningverkopen"),
        ("snelle_doorverkopen", "woningverkopen"),
        ("prijsafwijkingen", "woningverkopen"),
        ("vestigingen_risicobranche", "vestigingen"),
        ("kortlevende_vestigingen", "vestigingen"),
        ("vestigingen_drukke_adressen", "vestigingen"),
        ("transactiesubjecten", "verdachte_transacties"),
        *((f"gestart_{year}", "vestigingen") for year in (2022, 2023, 2024)),
    ),
    # the demo counts establishments started 2022-2024: the window is its three years
    sums=(("vestigingen", ("gestart_2022", "gestart_2023", "gestart_2024")),),
)
LAYERS = {"gemeente": "gemeenten", "wijk": "wijken", "buurt": "buurten"}
PARENT = {"buurt": "wijkcode", "wijk": "gemeentecode"}
HALF_COUNT, HALF_SUM, MIN_UNITS = 2.0, 500.0, 10  # the demo's rounding and threshold


def read_layers(out: Path) -> dict[str, pd.DataFrame]:
    """The area layers an output publishes, per level (without geometry)."""
    names = {str(n) for n, _ in pyogrio.list_layers(out / "zicht.gpkg")}
    return {
        level: pyogrio.read_dataframe(out / "zicht.gpkg", layer=name, read_geometry=False)
        for level, name in LAYERS.items()
        if name in names
    }


def union(*outputs: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """What someone who reads all ``outputs`` knows: every area once, each value as any
    of them publishes it."""
    levels = dict.fromkeys(level for layers in outputs for level in layers)
    return {
        level: pd.concat([o[level] for o in outputs if level in o], ignore_index=True)
        .groupby("code", as_index=False, sort=False)
        .first()
        for level in levels
    }


class Group(NamedTuple):
    """One linked group as the outsider sees it, and its truth (for the verdict)."""

    cells: pd.DataFrame  # indicator, level, code, parent
    shown: np.ndarray  # published values, NaN where withheld
    knowledge: Knowledge  # what the outsider knows from them
    rows: pd.DataFrame  # the truth of each cell: value, lower, upper, reason, units


def linked_groups(
    layers: dict[str, pd.DataFrame], truth: pd.DataFrame, known: Relations = KNOWN
) -> Iterator[Group]:
    """Per group of related sensitive counts and sums (``truth``: a Protection's
    cells, true values included), what ``layers`` publish of it and the outsider's
    knowledge (``known``: the relations the outsider reads in the data dictionary)."""
    truth = truth.set_index(["indicator", "level", "code"]).sort_index()
    ids = [
        i
        for i in dict.fromkeys(truth.index.get_level_values(0))
        if truth.loc[i, "sensitive"].any()
        and truth.loc[i, "kind"].iloc[0] in ("count", "sum")
        and truth.loc[i, "reason"].ne("derived").any()
    ]
    for group in known.among(ids).groups(ids):
        cells, shown = published_cells(layers, group)
        kinds = truth.loc[group, "kind"].groupby(level=0).first().reindex(cells["indicator"])
        count = (kinds == "count").to_numpy()
        knowledge = LinkedCells(cells, known.among(group)).knowledge(
            shown, np.where(count, HALF_COUNT, HALF_SUM), count, MIN_UNITS
        )
        knowledge = _with_own_sums(knowledge, cells, layers)
        rows = truth.reindex(pd.MultiIndex.from_frame(cells[["indicator", "level", "code"]]))
        yield Group(cells, shown, knowledge, rows)


def with_own_areas(
    layers: dict[str, pd.DataFrame], out: Path, layer: str, mapping: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """``layers`` with the own areas of the GeoPackage layer ``layer`` as level
    ``eigen``, each with the buurten the steward's mapping table (``buurtcode``,
    ``code``) gives it (``members``): what the outsider knows of them, read from the
    definition, not from the engine."""
    own = pyogrio.read_dataframe(out / "zicht.gpkg", layer=layer, read_geometry=False)
    buurten = mapping.groupby("code")["buurtcode"].apply(list)
    return layers | {"eigen": own.assign(members=buurten.reindex(own["code"]).to_numpy())}


def _with_own_sums(knowledge: Knowledge, cells: pd.DataFrame, layers: dict) -> Knowledge:
    """The outsider's knowledge with one more sum per own area and indicator: its cell
    is the sum of its buurten' cells."""
    if "eigen" not in layers:
        return knowledge
    at = {key: k for k, key in enumerate(zip(cells["indicator"], cells["level"], cells["code"]))}
    totals, members, groups = [], [], []
    for indicator in dict.fromkeys(cells["indicator"]):
        for code, buurten in zip(layers["eigen"]["code"], layers["eigen"]["members"]):
            totals.append(at[(indicator, "eigen", code)])
            members += [at[(indicator, "buurt", b)] for b in buurten]
            groups += [len(knowledge.total) + len(totals) - 1] * len(buurten)
    return replace(
        knowledge,
        total=np.r_[knowledge.total, totals].astype(np.int64),
        member=np.r_[knowledge.member, members].astype(np.int64),
        group=np.r_[knowledge.group, groups].astype(np.int64),
    )


def exposed(
    layers: dict[str, pd.DataFrame],
    truth: pd.DataFrame,
    sample: int = 15,
    known: Relations = KNOWN,
) -> pd.DataFrame:
    """The withheld unsafe cells (``truth``: a Protection's cells, true values
    included) whose attacker interval from ``layers`` does not cover their protection
    interval, by propagation and, on a sample, by the exact programs (``known``: the
    relations the outsider knows)."""
    rng = np.random.default_rng(1)
    found = []
    for cells, shown, knowledge, rows in linked_groups(layers, truth, known):
        low, high = attacker_bounds(knowledge)
        unsafe = np.flatnonzero(rows["reason"].isin(PRIMARY_RULES).to_numpy() & np.isnan(shown))
        v, lo, up = (rows[x].to_numpy(float) for x in ("value", "lower", "upper"))
        bad = unsafe[~protected(v[unsafe], lo[unsafe], up[unsafe], low[unsafe], high[unsafe])]
        chosen = rng.choice(unsafe, size=min(len(unsafe), sample), replace=False)
        if len(chosen):
            exact_low, exact_high = attacker_bounds_exact(knowledge, chosen, low, high)
            ok = protected(v[chosen], lo[chosen], up[chosen], exact_low[chosen], exact_high[chosen])
            bad = np.union1d(bad, chosen[~ok])
        found.append(cells.iloc[bad][["indicator", "level", "code"]])
    return pd.concat(found, ignore_index=True)


def published_cells(
    layers: dict[str, pd.DataFrame], indicators: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The cells of ``indicators`` as ``layers`` publish them (NaN: withheld)."""
    frames, values = [], []
    for indicator in indicators:
        for level, layer in layers.items():
            frames.append(
                pd.DataFrame(
                    {
                        "indicator": indicator,
                        "level": level,
                        "code": layer["code"],
                        "parent": layer[PARENT[level]] if level in PARENT else None,
                    }
                )
            )
            values.append(pd.to_numeric(layer[indicator], errors="coerce").to_numpy(float))
    return pd.concat(frames, ignore_index=True), np.concatenate(values)


def insider_exposed(layers: dict[str, pd.DataFrame], truth: pd.DataFrame) -> pd.DataFrame:
    """The withheld unsafe cells that the one unit of a withheld singleton (``units``
    1) pins narrower than their protection, by propagation. The unit knows every cell
    made only of its records, exactly: its own cell, the smaller indicators and parts
    of it in its area and the areas inside, and every cell holding those with that one
    unit (and in turn what is inside those). Of the other cells that hold its records
    it knows its own part, which is taken off: what must stay protected is the others'.
    Columns: the singleton (``indicator``, ``code``) and the cell pinned (``pinned``,
    ``at``)."""
    closed = KNOWN.closed()
    inside = set(closed.subsets) | {(p, t) for t, parts in KNOWN.sums for p in parts}
    found = []
    for cells, shown, knowledge, rows in linked_groups(layers, truth):
        v, lo, up, units = (rows[x].to_numpy(float) for x in ("value", "lower", "upper", "units"))
        unsafe = np.flatnonzero(rows["reason"].isin(PRIMARY_RULES).to_numpy() & np.isnan(shown))
        code, indicator = cells["code"].to_numpy(str), cells["indicator"].to_numpy(str)
        for s in np.flatnonzero(np.isnan(shown) & (units == 1)):
            own = _own(s, code, indicator, units, inside)
            low, high = knowledge.low.copy(), knowledge.high.copy()
            low[: len(own)][own] = high[: len(own)][own] = v[own]
            a, b = attacker_bounds(knowledge.within(low, high))
            records = [(code[k], indicator[k]) for k in np.flatnonzero(own & (units >= 1))]
            holds = np.array(
                [any(_holds(c, i, *r, inside) for r in records) for c, i in zip(code, indicator)]
            )
            part = np.where(holds & ~own, v[s], 0.0)
            t = unsafe[~own[unsafe]]
            rest = v[t] - part[t]
            ok = protected(rest, np.minimum(lo[t], rest), up[t], a[t] - part[t], b[t] - part[t])
            for pinned in t[~ok]:
                found.append((indicator[s], code[s], indicator[pinned], code[pinned]))
    return pd.DataFrame(found, columns=["indicator", "code", "pinned", "at"])


def _own(
    s: int, code: np.ndarray, indicator: np.ndarray, units: np.ndarray, inside: set
) -> np.ndarray:
    """The cells made only of the records of singleton ``s``'s one unit: those ``s``
    holds, and, in turn, every cell with one unit that holds one of those with its
    records (that unit is this one) and what that cell holds."""
    cells = list(zip(code, indicator))
    own = np.array([_holds(code[s], indicator[s], c, i, inside) for c, i in cells])
    while True:
        records = [cells[k] for k in np.flatnonzero(own & (units >= 1))]
        alone = [
            k
            for k, (c, i) in enumerate(cells)
            if not own[k] and units[k] == 1 and any(_holds(c, i, *r, inside) for r in records)
        ]
        if not alone:
            return own
        for k in alone:
            own |= np.array([_holds(code[k], indicator[k], c, i, inside) for c, i in cells])


def _holds(big_code: str, big: str, code: str, indicator: str, inside: set) -> bool:
    """Whether cell (``big_code``, ``big``) holds every record of (``code``,
    ``indicator``): its area is that area or lies around it, and its indicator is the
    same or a larger one."""
    return _inside(code, big_code) and (indicator == big or (indicator, big) in inside)


def _above(code: str) -> list[str]:
    """The wijk and gemeente of a buurt code, the gemeente of a wijk code."""
    if code.startswith("BU"):
        return ["WK" + code[2:8], "GM" + code[2:6]]
    return ["GM" + code[2:6]] if code.startswith("WK") else []


def _inside(code: str, area: str) -> bool:
    """Whether ``code`` is ``area`` or lies in it."""
    return code == area or area in _above(code)
