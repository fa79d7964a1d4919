"""Benchmark: zicht's complementary suppression against tau-Argus (pytauargus).

On the demo's own tables (the embedded Amsterdam demo: no ../shared data needed), each
protected table alone (an indicator over gemeente > wijk > buurt, or a branche
indicator over gemeente > wijk x the SBI tree) with the primary pattern and the
protection levels of the demo run, it compares the complements that each method
adds:

- zicht: the protection loop for the table alone (:func:`~disclosure.search.protect_group`);
- tau-Argus through pytauargus 0.6.0 (the optional ``peers`` extra): the optimal
  method (``OPT``, Fischetti and Salazar-Gonzalez on HiGHS) and HiTaS (``MOD``), on
  the same cells, costs and protection levels (the rests of SBI nodes, never
  published, enter as unsafe cells that need no protection of their own).

Per table and method: the secondary cells, the value they withhold, the time, and the
primary cells an independent attacker pins narrower than their protection: the exact
programs of :mod:`disclosure.programs` (through the audit's witnesses) on what the
method publishes (zicht rounded, as it publishes; tau-Argus exact).

Goal (issue 27, item 5): no more than 5% more secondary cells than the optimal method
on every table, and at least 10 times faster.

    pip install -e '.[peers]'
    python -m benchmarks.sdc_peers [--tables vestigingen,woningverkopen] [--no-peers]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from zicht.disclosure import LinkedCells, Protection, Relations
from zicht.disclosure.group import GroupCells
from zicht.disclosure.knowledge import protected
from zicht.disclosure.propagation import attacker_bounds
from zicht.disclosure.rounding import round_to_base
from zicht.disclosure.rules import PRIMARY_RULES, SECONDARY
from zicht.disclosure.search import protect_group
from zicht.disclosure.witnesses import attacker_bounds_decisive

TOTAL_CODE = "Tot"  # tau-Argus's code of a dimension's total (SBI has a section "T")
MAX_MINUTES = 10  # tau-Argus's time limit per table
# HiTaS without its singleton options: zicht does not protect singletons yet (issue 27, item 4)
OPTIONS = {"OPT": "", "MOD": ",0,0,0"}


@dataclass(frozen=True)
class Outcome:
    """One method on one table: what it withholds beyond the primary cells."""

    method: str
    secondary: int
    withheld_value: float
    seconds: float
    exposed: int


def demo_protection() -> Protection:
    """The demo's cells through disclosure control as a run does it (primary rules,
    the company area rule, protection levels): the primary pattern of every table."""
    from zicht.engine.config import load_config
    from zicht.engine.data import DEMO_CONFIG
    from zicht.engine.indicators import compute_indicators
    from zicht.engine.pipeline import _read_boundaries
    from zicht.engine.publish import protect_cells

    config = load_config(DEMO_CONFIG)
    boundaries = _read_boundaries(config)
    indicators = compute_indicators(config, boundaries)
    return protect_cells(indicators.cells, boundaries, config, branches=indicators.branches)


def demo_tables(protection: Protection) -> dict[str, pd.DataFrame]:
    """Each protected table alone, with its primary pattern and protection levels and
    the complements reset: an indicator's area cells, or for a branche indicator its
    gemeente and wijk cells x every SBI node (a full cross, as tau-Argus needs)."""
    cells = pd.concat([protection.cells, protection.branches], ignore_index=True)
    cells = cells[cells["sensitive"] & cells["kind"].isin(["count", "sum"])]
    cells = cells[cells["reason"] != "derived"]
    cells = cells.assign(
        sbi=cells["sbi"].fillna("totaal"),
        never=cells["never"].fillna(False).astype(bool),
        reason=cells["reason"].where(cells["reason"].isin(PRIMARY_RULES), ""),
        sbi_depth=cells["sbi_depth"].fillna(0),
    )
    tables = {}
    for indicator, table in cells.groupby("indicator", sort=False):
        if (table["sbi"] != "totaal").any():
            table = table[table["level"].isin(["gemeente", "wijk"])]
        else:
            table = table.drop(columns=["sbi", "sbi_parent", "sbi_depth", "never"])
        tables[str(indicator)] = table.reset_index(drop=True)
    return tables


def zicht_outcome(table: pd.DataFrame, protection: Protection) -> tuple[Outcome, np.ndarray]:
    """zicht's protection loop on the table alone; the outcome and the withheld mask."""
    frame = table.copy()
    start = time.perf_counter()
    protect_group(frame, np.arange(len(frame)), Relations(), protection.params)
    seconds = time.perf_counter() - start
    withheld = (frame["reason"] != "").to_numpy()
    secondary = (frame["reason"] == SECONDARY).to_numpy() & ~_never(table)
    value = float(table["value"].to_numpy(float)[secondary].sum())
    return Outcome("zicht", int(secondary.sum()), value, seconds, 0), withheld


def _never(table: pd.DataFrame) -> np.ndarray:
    """The rests of SBI nodes (never published)."""
    if "never" not in table:
        return np.zeros(len(table), dtype=bool)
    return table["never"].to_numpy(dtype=bool)


def exposed(table: pd.DataFrame, withheld: np.ndarray, protection: Protection, exact: bool) -> int:
    """Primary cells that an outsider pins narrower than their protection, from what is
    published (``exact``: values as they are; else rounded as zicht publishes them),
    by propagation and the exact programs (the audit's witnesses decide most cells)."""
    params = protection.params
    linked = LinkedCells(table, Relations())
    group = GroupCells.of(table, linked, params)
    shown = np.where(
        withheld, np.nan, group.value if exact else round_to_base(group.value, group.base)
    )
    half = 0.0 if exact else group.half
    knowledge = linked.knowledge(shown, half, group.count, params.min_units)
    low, high = attacker_bounds(knowledge)
    value, lower, upper = group.value, group.lower, group.upper

    def enough(i: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return protected(value[i], lower[i], upper[i], lo, hi)

    primary = np.flatnonzero(group.primary)
    low, high = attacker_bounds_decisive(knowledge, primary, low, high, enough)
    return int((~enough(primary, low[primary], high[primary])).sum())


def peer_outcome(
    table: pd.DataFrame, method: str, protection: Protection, workdir: Path
) -> tuple[Outcome, np.ndarray]:
    """tau-Argus (``OPT`` or ``MOD``) on the same cells, costs and protection levels:
    the table as a tabular input with its statuses (primary ``U``; the rests of SBI
    nodes ``U`` with no protection levels: withheld from the start). The time is that
    of the batch less that of the same batch without ``<SUPPRESS>`` (reading and
    writing the files)."""
    from pytauargus.engine import run_batch

    two_way = "sbi" in table
    dims = ["area", "sbi"] if two_way else ["area"]
    keys = _write_tabular(table, protection, workdir, two_way)
    seconds = {}
    steps = (("read", ""), ("suppress", f"<SUPPRESS> {method}(1,{MAX_MINUTES}{OPTIONS[method]})\n"))
    for name, command in steps:
        arb = workdir / f"{name}.arb"
        arb.write_text(
            '<OPENTABLEDATA> "cells.tab"\n<OPENMETADATA> "cells.rda"\n'
            f"<SPECIFYTABLE> {''.join(f'{d!r}'.replace(chr(39), chr(34)) for d in dims)}"
            '|"value"||"cost"\n<SAFETYRULE>\n<READTABLE> 1\n'
            f'{command}<WRITETABLE> (1,5,SO+,"{name}.out")\n'
        )
        start = time.perf_counter()
        with contextlib.chdir(workdir):  # the solvers write their logs where they run
            run_batch(arb)
        seconds[name] = time.perf_counter() - start
    status = _statuses(workdir / "suppress.out", len(dims))
    withheld = np.array([status.get(k, "E") in ("U", "M") for k in keys])
    secondary = np.array([status.get(k, "E") == "M" for k in keys]) & ~_never(table)
    value = float(table["value"].to_numpy(float)[secondary].sum())
    spent = max(seconds["suppress"] - seconds["read"], 0.0)
    return Outcome(f"tau-Argus {method}", int(secondary.sum()), value, spent, 0), withheld


def _write_tabular(
    table: pd.DataFrame, protection: Protection, workdir: Path, two_way: bool
) -> list[tuple[str, ...]]:
    """The table as tau-Argus reads it (``cells.tab``, ``cells.rda`` and a hierarchy
    file per dimension); returns each row's codes."""
    group = GroupCells.of(table, LinkedCells(table, Relations()), protection.params)
    area = np.where(table["parent"].isna(), TOTAL_CODE, table["code"].astype(str))
    codes = [area]
    _write_hrc(workdir / "area.hrc", table["code"], table["parent"])
    if two_way:
        sbi = table["sbi"].astype(str).to_numpy()
        codes.append(np.where(sbi == "totaal", TOTAL_CODE, sbi))
        _write_hrc(workdir / "sbi.hrc", table["sbi"], table["sbi_parent"])
    value = group.value
    units = np.nan_to_num(table["units"].to_numpy(float))
    freq = np.maximum(units, 1).astype(int)  # zeros too: a withheld 0 is a cell
    # the rests, never published: unsafe with no protection of their own (OPT refuses
    # cells that arrive withheld as secondary)
    status = np.where(group.primary | _never(table), "U", "S")
    lower, upper = np.where(group.primary, group.lower, 0), np.where(group.primary, group.upper, 0)
    rows = zip(*codes, value, freq, status, lower, upper, group.cost)
    lines = [";".join(str(x) for x in row) for row in rows]
    (workdir / "cells.tab").write_text("\n".join(lines) + "\n")
    variables = [
        f'{d} "" ""\n  <RECODEABLE>\n  <TOTCODE> "{TOTAL_CODE}"\n  <HIERARCHICAL>\n'
        f'  <HIERCODELIST> "{d}.hrc"\n  <HIERLEADSTRING> "@"\n'
        for d in (["area", "sbi"] if two_way else ["area"])
    ]
    numbers = (
        'value "" ""\n  <NUMERIC>\n  <DECIMALS> 0\nfreq "" ""\n  <FREQUENCY>\n'
        'status "" ""\n  <STATUS>\nlower "" ""\n  <NUMERIC> <LOWERPL>\n'
        'upper "" ""\n  <NUMERIC> <UPPERPL>\ncost "" ""\n  <NUMERIC> <COSTVAR>\n'
    )
    header = '<SEPARATOR> ";"\n<SAFE> "S"\n<UNSAFE> "U"\n<PROTECT> "P"\n'
    (workdir / "cells.rda").write_text(header + "".join(variables) + numbers)
    return list(zip(*codes))


def _write_hrc(path: Path, code: pd.Series, parent: pd.Series) -> None:
    """A tau-Argus hierarchy file: each code under its parent, one ``@`` per level
    below the top (the top itself is the total)."""
    pairs = pd.DataFrame({"code": code.astype(str), "parent": parent}).drop_duplicates("code")
    children: dict[str, list[str]] = {}
    for child, up in zip(pairs["code"], pairs["parent"]):
        if isinstance(up, str):
            children.setdefault(up, []).append(child)
    tops = [c for c, up in zip(pairs["code"], pairs["parent"]) if not isinstance(up, str)]
    if len(tops) != 1:
        raise SystemExit(f"{path.name}: one top area expected (the demo's gemeente)")
    lines: list[str] = []

    def walk(node: str, depth: int) -> None:
        for child in children.get(node, []):
            lines.append("@" * depth + child)
            walk(child, depth + 1)

    walk(tops[0], 0)
    path.write_text("\n".join(lines) + "\n")


def _statuses(path: Path, n_dims: int) -> dict[tuple[str, ...], str]:
    """The status of every cell in a ``SO+`` output (codes first, the status third
    field from the end)."""
    found = {}
    for line in path.read_text().splitlines():
        fields = [f.strip('"') for f in line.split(";")]
        if len(fields) > n_dims:
            found[tuple(fields[:n_dims])] = fields[-3]
    return found


def compare(table: pd.DataFrame, protection: Protection, peers: bool) -> list[Outcome]:
    """Every method on one table, each pattern attacked."""
    ours, withheld = zicht_outcome(table, protection)
    outcomes = [_attacked(ours, table, withheld, protection, exact=False)]
    if not peers:
        return outcomes
    for method in ("OPT", "MOD"):
        # each in a process of its own: the native solvers can crash the interpreter
        with ProcessPoolExecutor(max_workers=1) as pool:
            try:
                theirs, withheld = pool.submit(_peer, table, method, protection).result()
            except (RuntimeError, BrokenProcessPool) as error:
                # HiTaS refuses one-way tables, and crashed on a branche table: say so
                print(f"{table['indicator'].iloc[0]}: tau-Argus {method} failed ({error!r})")
                continue
        outcomes.append(_attacked(theirs, table, withheld, protection, exact=True))
    return outcomes


def _peer(table: pd.DataFrame, method: str, protection: Protection) -> tuple[Outcome, np.ndarray]:
    """:func:`peer_outcome` in a temporary folder; its errors as ``RuntimeError``."""
    from pytauargus.batch import BatchError

    with tempfile.TemporaryDirectory(prefix="zicht-peers-") as tmp:
        try:
            return peer_outcome(table, method, protection, Path(tmp))
        except BatchError as error:
            raise RuntimeError(str(error)) from None


def _attacked(
    outcome: Outcome, table: pd.DataFrame, withheld: np.ndarray, protection: Protection, exact: bool
) -> Outcome:
    found = exposed(table, withheld, protection, exact)
    return Outcome(
        outcome.method, outcome.secondary, outcome.withheld_value, outcome.seconds, found
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sdc_peers")
    parser.add_argument("--tables", help="only these indicators (comma-separated)")
    parser.add_argument("--no-peers", action="store_true", help="zicht alone")
    args = parser.parse_args(argv)
    peers = not args.no_peers and importlib.util.find_spec("pytauargus") is not None
    if not args.no_peers and not peers:
        print("pytauargus is not installed (pip install -e '.[peers]'): zicht alone\n")
    protection = demo_protection()
    tables = demo_tables(protection)
    if args.tables:
        tables = {k: v for k, v in tables.items() if k in args.tables.split(",")}
    rows = []
    for name, table in tables.items():
        primary = int(table["reason"].isin(PRIMARY_RULES).sum())
        for o in compare(table, protection, peers):
            rows.append((name, len(table), primary, *vars(o).values()))
    columns = ["table", "cells", "primary", "method", "secondary", "value", "seconds", "exposed"]
    report = pd.DataFrame(rows, columns=columns)
    print(report.to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    if peers:
        _summary(report)


def _summary(report: pd.DataFrame) -> None:
    """Per table: zicht's secondary cells and time against the optimal method's."""
    by = report.set_index(["table", "method"])
    print("\nzicht against tau-Argus OPT (goal: at most +5% cells, at least 10x faster):")
    for table in report["table"].unique():
        ours, best = by.loc[(table, "zicht")], by.loc[(table, "tau-Argus OPT")]
        extra = (ours["secondary"] - best["secondary"]) / max(best["secondary"], 1) * 100
        speed = best["seconds"] / max(ours["seconds"], 1e-9)
        print(f"  {table}: {extra:+.1f}% cells, {speed:.0f}x faster")


if __name__ == "__main__":
    main()
