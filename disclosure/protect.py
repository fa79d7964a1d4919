"""Protect a table of cells: primary rules, complementary suppression, rounding, audit.

:func:`protect` takes every cell the engine would publish (one row per indicator,
level and area; columns :data:`~disclosure.rules.CELL_FIELDS`) and decides what may
be published. Sensitive counts and sums are rounded (counts to multiples of 5) and
suppressed where unsafe; complements are added (:func:`~disclosure.search.protect_group`) until the
attacker's audit (with everything an outsider knows: the publication rules, the
hierarchy and the relations between indicators) finds every unsafe cell
protected, and no withheld cell pinned to an interval narrower than
``protection_min``. Related indicators (:class:`~disclosure.linked.Relations`) are
protected together, as one linked table. Rates and shares of sensitive counts are
recomputed from the published (rounded) numerator and denominator, and suppressed
where either is.

Complements come from three places, cheapest first (:mod:`disclosure.complements`):
the complement programs of :mod:`disclosure.secondary` (per subtable, tau-Argus
style); for a cell the audit still finds exposed, what touches it (its parent,
children and related cells); and where all of that is withheld already, the published
cells on the constraints that bind at the cell's bound in the attacker's program (read
from its reduced costs, :func:`~disclosure.pins.attacker_pins`), which is how a cell
pinned from afar (a buurt whose withheld wijk is held by the other wijken of the
gemeente) is freed.

The company area rule: where the number of companies of a buurt (the indicator named
by ``companies``) is withheld or published below ``min_companies``, no other
company-based figure of that buurt is published. It is a function of what is
published, so it tells an attacker nothing new. (Deciding it on the true count would
reveal "at most 17" for every area under it, which no complement can hide.) The count
is protected on its own first, so that complements of its subsets cannot spread the
rule; it is applied again, until it no longer changes, where they withhold a count.

Every withheld cell keeps its reason here: a primary rule (``area``,
``area_companies``, ``frequency``, ``dominance``, ``p%``), ``secondary`` or
``derived``. The reasons are for the audit trail, never for publication: an attacker
who knows a cell's rule learns its range (a "frequency" count holds 1 to 9 units).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from zicht.disclosure.group import area_depth
from zicht.disclosure.knowledge import protected
from zicht.disclosure.limits import LIMITS, SearchLimits
from zicht.disclosure.linked import TOTAL, LinkedCells, Relations, text_column
from zicht.disclosure.rules import (
    AREA_COMPANIES,
    DERIVED,
    PRIMARY_RULES,
    DisclosureParams,
    primary,
    protection_levels,
)
from zicht.disclosure.search import (
    PROVEN,
    GroupDecision,
    TableMemo,
    protect_group,
    search_group,
)
from zicht.errors import DisclosureError
from zicht.processes import Helpers, refuse_while_importing

log = logging.getLogger("zicht")

# An optional column of the cells: the status an earlier release fixed (tau-Argus's
# a-priori file). '' leaves the cell to this run; FROZEN_PUBLISHED keeps it published
# (at the value already out); any other value is the reason it was withheld for, and
# it stays withheld. Complements are only ever added to the cells left to this run.
FROZEN = "frozen"
FROZEN_PUBLISHED = "published"


@dataclass
class Protection:
    """The decision for every cell, and the audit behind it.

    ``cells`` has the input columns plus ``reason`` ('' = publish), ``published`` (the
    value to publish, NaN where suppressed), ``upper`` and ``lower`` (protection
    levels) and ``attacker_low``/``attacker_high`` (the audit's interval for
    suppressed sensitive cells).
    """

    cells: pd.DataFrame
    params: DisclosureParams
    rounds: int
    # cells per area x SBI node (branche tables), as ``cells``; ``never`` marks the
    # rests of SBI nodes, which are protected but never published
    branches: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def failures(self) -> pd.DataFrame:
        """Withheld unsafe cells whose attacker interval does not cover their
        protection interval (an empty frame after :func:`protect`)."""
        c = pd.concat([self.cells, self.branches], ignore_index=True)
        primary_cells = c["reason"].isin(PRIMARY_RULES) & c["kind"].isin(["count", "sum"])
        ok = protected(
            c["value"].to_numpy(float),
            c["lower"].to_numpy(float),
            c["upper"].to_numpy(float),
            c["attacker_low"].to_numpy(float),
            c["attacker_high"].to_numpy(float),
        )
        return c[primary_cells.to_numpy() & ~ok]

    def cut(self, areas: Mapping[str, Collection[str]]) -> Protection:
        """The decisions for the areas ``areas`` (codes per level) only: what a
        selection publishes of a protected release. A cut publishes nothing the whole
        would not, so it is as safe as the whole, and two cuts together are too."""

        def kept(frame: pd.DataFrame) -> pd.DataFrame:
            if frame.empty:
                return frame
            mine = pd.Series(False, index=frame.index)
            for level, codes in areas.items():
                mine |= (frame["level"] == level) & frame["code"].isin(list(codes))
            return frame[mine.to_numpy()].reset_index(drop=True)

        return replace(self, cells=kept(self.cells), branches=kept(self.branches))


def protect(
    cells: pd.DataFrame,
    sizes: pd.DataFrame,
    derived: pd.DataFrame,
    params: DisclosureParams | None = None,
    relations: Relations | None = None,
    companies: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    threads: int = 1,
    limits: SearchLimits = LIMITS,
) -> Protection:
    """Decide what may be published (see the module docstring).

    Parameters
    ----------
    cells
        One row per indicator, level and area (:data:`~disclosure.rules.CELL_FIELDS`),
        optionally with the status earlier releases fixed (:data:`FROZEN`).
    sizes
        Inhabitants and households per (level, code), for the area rule.
    derived
        One row per rate/share/mean computed from two sensitive additive indicators:
        ``indicator``, ``numerator``, ``denominator``, ``per``.
    relations
        Relations between indicators that an attacker knows.
    companies
        The indicator that counts the companies of an area (company area rule).
    progress
        Told ``(k, n)`` before the k-th of n groups of linked indicators.
    threads
        Threads for the attacker's programs (blocks of the table solve side by side);
        from 2 on, groups the company rule cannot touch are searched in a second
        process meanwhile (:meth:`_Run.protect_groups`).
    limits
        How far the search goes (:class:`~disclosure.limits.SearchLimits`).
    """
    refuse_while_importing("disclosure control")
    params = params or DisclosureParams()
    params.validate()
    run = _Run(_with_primary(cells, sizes, params), params, relations or Relations(), limits)
    derived_ids = _ids(derived)
    run.protected_ids = [i for i in run.sensitive_ids() if i not in derived_ids]
    groups = run.relations.among(run.protected_ids).groups(run.protected_ids)
    with_companies = companies is not None and companies in run.protected_ids
    run.steps = len(groups) + int(with_companies)  # the company count is a step of its own
    run.progress = progress
    linked = None
    if companies is not None and with_companies:  # (is not None: for the type checker)
        linked = next(g for g in groups if companies in g)
        groups.remove(linked)
    run.protect_groups(groups, linked, companies, threads)
    return run.decision(derived)


def _ids(derived: pd.DataFrame) -> set[str]:
    """The indicators computed from others (rates, shares, means)."""
    return set(derived["indicator"]) if len(derived) else set()


def _with_primary(
    cells: pd.DataFrame, sizes: pd.DataFrame, params: DisclosureParams
) -> pd.DataFrame:
    """``cells`` with the primary rules' reasons, protection levels, and the working
    columns of the decision."""
    cells = cells.reset_index(drop=True).copy()
    reason = np.array(primary(cells, sizes, params), dtype=object)
    frozen = text_column(cells, FROZEN, "")
    # a released cell keeps the status and the reason of its release: published, it is
    # out already (withholding it hides nothing); withheld, it needs the protection it
    # was released with, and no more (what that release published bounds it for good)
    reason[frozen == FROZEN_PUBLISHED] = ""
    withheld = (frozen != "") & (frozen != FROZEN_PUBLISHED)
    reason[withheld] = frozen[withheld]
    cells["reason"] = reason
    _set_protection_levels(cells, np.ones(len(cells), dtype=bool), params)
    cells["published"] = cells["value"].astype(float)
    cells["attacker_low"] = np.nan
    cells["attacker_high"] = np.nan
    return cells


def _searched(
    frame: pd.DataFrame,
    relations: Relations,
    params: DisclosureParams,
    limits: SearchLimits,
    threads: int,
) -> tuple[GroupDecision, int]:
    """The search of one group on ``frame`` (a copy of its cells), in this process or
    a second one (:meth:`_Run.protect_groups`), on ``threads`` threads: its decision
    and its number of rounds."""
    with threadpool_limits(limits=threads):  # a spawned process has no limits of its own
        search, rounds = search_group(frame, relations, params, threads=threads, limits=limits)
    return search.decision(), rounds


# the cells from which groups are searched in another process (:meth:`_Run.aside`):
# a national run's person groups (about 200,000 cells, 7 s) gain, the demo's do not
ASIDE_CELLS = 50_000


@dataclass
class _Run:
    """One call of :func:`protect`: the cells as decided so far, and its progress."""

    cells: pd.DataFrame
    params: DisclosureParams
    relations: Relations
    limits: SearchLimits
    protected_ids: list[str] = field(default_factory=list)
    rounds: int = 0
    steps: int = 0
    done: int = 0
    progress: Callable[[int, int], None] | None = None
    # the sensitive counts and sums: the cells complements protect (found once: a
    # national table has half a million rows)
    sensitive_additive: pd.Series = field(init=False)
    # each group's rows, found once (the cells' rows and indicators never change)
    _rows: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.sensitive_additive = self.cells["sensitive"] & self.cells["kind"].isin(
            ["count", "sum"]
        )

    def sensitive_ids(self) -> list[str]:
        """The indicators of the sensitive counts and sums, in order."""
        return list(dict.fromkeys(self.cells.loc[self.sensitive_additive, "indicator"]))

    def rows_of(self, group: list[str]) -> np.ndarray:
        """The rows of a group's sensitive counts and sums."""
        if tuple(group) not in self._rows:
            of_group = self.cells["indicator"].isin(group).to_numpy()
            self._rows[tuple(group)] = np.flatnonzero(of_group & self.sensitive_additive)
        return self._rows[tuple(group)]

    def step(self) -> None:
        """Tell ``progress`` that the next step starts."""
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.steps)

    def protect_groups(
        self, groups: list[list[str]], linked: list[str] | None, companies: str | None, threads: int
    ) -> None:
        """The ``linked`` table of the ``companies`` with the company rule first, then
        the other ``groups`` in order. With two threads or more, groups the rule cannot
        touch are searched meanwhile by other processes (:meth:`aside`, the largest
        first; this process takes back what they have not started once it is free:
        :meth:`taken_back`), each on a copy of its cells, and written back in order:
        no group's search reads another group's cells, so the decision is the one a
        single thread makes. (Processes, not threads: the searches hold the
        interpreter's lock for most of their many small steps, and two threads took
        longer than one.)"""
        # the largest first: this process takes the smallest left once it is free
        aside = sorted(self.aside(groups, linked, threads), key=lambda g: -len(self.rows_of(g)))
        workers = max(1, threads - 1) if aside else 0
        with Helpers(workers, "disclosure", "searches every group") as helpers:
            sent = {id(g): helpers.submit(_searched, *self.search_args(g, 1)) for g in aside}
            pending = {key: job for key, job in sent.items() if job is not None}
            if linked is not None and companies is not None:
                self.with_company_rule(companies, linked, threads)
            # the groups searched here first, then every decision in order: a group aside
            # is not waited for before this process has nothing else to do
            here = {id(g): self.searched(g, threads) for g in groups if id(g) not in pending}
            here.update(self.taken_back(aside, pending, threads))
            for group in groups:
                decision, rounds = here.get(id(group)) or self.decided(
                    group, pending[id(group)], helpers, threads
                )
                decision.write(self.cells, self.rows_of(group))
                self.rounds = max(self.rounds, rounds)

    def taken_back(
        self,
        aside: list[list[str]],
        pending: dict[int, Future[tuple[GroupDecision, int]]],
        threads: int,
    ) -> dict[int, tuple[GroupDecision, int]]:
        """The groups ``aside`` (largest first) that no other process has started yet,
        searched here from the smallest on, one at a time, while that process goes on
        from the largest (each taken out of ``pending``). A pool takes its jobs in
        order, so a group that has started means every larger one has too; it also
        holds the job after its running one as started, so that one stays there."""
        here = {}
        for group in reversed(aside):
            job = pending.get(id(group))
            if job is None:  # never sent (its process could not start): searched here
                continue
            if not job.cancel():
                break
            del pending[id(group)]
            here[id(group)] = self.searched(group, threads)
        return here

    def aside(
        self, groups: list[list[str]], linked: list[str] | None, threads: int
    ) -> list[list[str]]:
        """The groups searched in other processes: with two threads or more, those the
        company rule cannot touch (none of their cells counts companies), bar the
        largest where there is no company table to search here meanwhile; none where
        they hold fewer than :data:`ASIDE_CELLS` cells (a process takes a second to
        start)."""
        if threads < 2:
            return []
        ready = [g for g in groups if linked is None or not self.of_companies(g)]
        if linked is None and ready:
            ready.remove(max(ready, key=lambda g: len(self.rows_of(g))))
        return ready if sum(len(self.rows_of(g)) for g in ready) >= ASIDE_CELLS else []

    def of_companies(self, group: list[str]) -> bool:
        """Whether any cell of ``group`` counts companies (the company rule's cells)."""
        rows = self.cells["indicator"].isin(group).to_numpy()
        return bool((self.cells.loc[rows, "unit_type"] == "company").any())

    def search_args(
        self, group: list[str], threads: int
    ) -> tuple[pd.DataFrame, Relations, DisclosureParams, SearchLimits, int]:
        """What :func:`_searched` searches ``group`` with: a copy of its cells as decided
        so far, its relations, the rules and limits, and ``threads``."""
        frame = self.cells.loc[self.rows_of(group)]
        return frame, self.relations.among(group), self.params, self.limits, threads

    def searched(self, group: list[str], threads: int) -> tuple[GroupDecision, int]:
        """The decision of one group of linked indicators, searched here, and its rounds."""
        self.step()
        return _searched(*self.search_args(group, threads))

    def decided(
        self,
        group: list[str],
        aside: Future[tuple[GroupDecision, int]],
        helpers: Helpers,
        threads: int,
    ) -> tuple[GroupDecision, int]:
        """The decision of one group searched ``aside``, and its rounds; where that
        process stopped or never started, searched here (:class:`~zicht.processes.Helpers`
        tells it)."""
        self.step()
        return helpers.result(aside, lambda: _searched(*self.search_args(group, threads)))

    def with_company_rule(self, companies: str, linked: list[str], threads: int) -> None:
        """The company count alone first; the rule follows from what it publishes. The
        linked group then holds these cells too, and its programs (a superset of the
        constraints) decide them: propagation sets the first pattern here. The group
        is protected again each time the rule withholds more."""
        self.step()
        rounds = protect_group(
            self.cells,
            self.rows_of([companies]),
            Relations(),
            self.params,
            programs=False,
            limits=self.limits,
        )
        self.rounds = max(self.rounds, rounds)
        _company_rule(self.cells, companies, self.params)
        # proofs hold for the programs they were found in: the linked group's are larger
        self.cells[PROVEN] = None
        self.step()
        rows, among = self.rows_of(linked), self.relations.among(linked)
        # the same cells and relations each time the company rule withholds more
        table = LinkedCells(self.cells.loc[rows], among)
        memo = TableMemo()  # and what the insiders and the joint program keep of them
        while True:
            rounds = protect_group(
                self.cells,
                rows,
                among,
                self.params,
                keep=True,
                threads=threads,
                table=table,
                limits=self.limits,
                memo=memo,
            )
            self.rounds = max(self.rounds, rounds)
            if not _company_rule(self.cells, companies, self.params):
                break

    def decision(self, derived: pd.DataFrame) -> Protection:
        """The decision: withheld cells unpublished, rates and shares derived from the
        published parts; the branche cells apart."""
        cells = self.cells
        cells.loc[cells["reason"] != "", "published"] = np.nan
        cells = cells.drop(columns=PROVEN, errors="ignore")
        own = text_column(cells, "sbi", TOTAL) == TOTAL
        area, branches = cells[own].reset_index(drop=True), cells[~own].reset_index(drop=True)
        _derive(area, derived)
        return Protection(area, self.params, self.rounds, branches)


def _company_rule(cells: pd.DataFrame, companies: str, params: DisclosureParams) -> int:
    """Mark company-based cells of the finest areas (buurten) whose company count is
    withheld or published below ``min_companies`` (a function of what is published: it
    tells nothing new); return how many cells were newly marked. Wijken and gemeenten
    are large: their company figures follow the other rules."""
    mine = (cells["indicator"] == companies).to_numpy() & (
        text_column(cells, "sbi", TOTAL) == TOTAL
    )
    depth = area_depth(cells["level"])
    finest = depth == depth[mine].max()
    shown = cells["published"].where(cells["reason"] == "").to_numpy(dtype=float)
    small = mine & finest & ~(shown >= params.min_companies)
    keys = pd.MultiIndex.from_frame(cells[["level", "code"]])
    target = (
        keys.isin(keys[small])
        & (cells["unit_type"] == "company").to_numpy()
        & cells["sensitive"].to_numpy(dtype=bool)
        & cells["kind"].isin(["count", "sum"]).to_numpy()
        & ~mine
        & cells["value"].notna().to_numpy()
        & ~cells["reason"].isin(PRIMARY_RULES).to_numpy()
        & (text_column(cells, FROZEN, "") == "")  # a released cell keeps its status
    )
    cells.loc[target, "reason"] = AREA_COMPANIES
    _set_protection_levels(cells, target, params)
    return int(target.sum())


def _set_protection_levels(cells: pd.DataFrame, rows: np.ndarray, params: DisclosureParams) -> None:
    """``upper`` and ``lower`` protection of the ``rows`` (a mask), from their reasons."""
    part = cells.loc[rows]
    upper = protection_levels(part, part["reason"], params)
    cells.loc[rows, "upper"] = upper
    cells.loc[rows, "lower"] = np.minimum(upper, part["value"].abs().fillna(0))


def _derive(cells: pd.DataFrame, derived: pd.DataFrame) -> None:
    """Suppress and recompute rates and shares of sensitive counts from published parts."""
    if not len(derived):
        return
    published = cells["published"].where(cells["reason"] == "").to_numpy(dtype=float)
    hidden = (cells["reason"] != "").to_numpy()
    at = _cell_positions(cells)
    indicator = cells["indicator"].to_numpy()
    for spec in derived.itertuples(index=False):
        rows = np.flatnonzero(indicator == spec.indicator)
        num, den = at(spec.numerator, rows), at(spec.denominator, rows)
        gone = np.where(num >= 0, hidden[num], False) | np.where(den >= 0, hidden[den], False)
        parts = [np.where(p >= 0, published[p], np.nan) for p in (num, den)]
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(parts[1] > 0, parts[0] / parts[1] * spec.per, np.nan)
        current = cells["reason"].to_numpy(dtype=object)[rows]
        cells.loc[rows, "reason"] = np.where(gone & (current == ""), DERIVED, current)
        cells.loc[rows, "published"] = value


def _cell_positions(cells: pd.DataFrame) -> Callable[[str, np.ndarray], np.ndarray]:
    """A lookup of the cell of an indicator in the areas of ``rows`` (the row of each,
    -1 where it has none): by integer keys, one per indicator and area, instead of an
    index of texts per lookup (a national table has half a million cells)."""
    # (a missing level or code is a value of its own, as it was in an index of texts)
    level, levels = pd.factorize(cells["level"], use_na_sentinel=False)
    code, codes = pd.factorize(cells["code"], use_na_sentinel=False)
    area = level.astype(np.int64) * len(codes) + code
    indicator, names = pd.factorize(cells["indicator"], use_na_sentinel=False)
    width = max(len(levels) * len(codes), 1)
    keys = pd.Index(indicator.astype(np.int64) * width + area)
    if not keys.is_unique:
        cell = cells.iloc[int(np.flatnonzero(keys.duplicated())[0])]
        where = f"indicator {cell['indicator']!r}, {cell['level']} {cell['code']}"
        raise DisclosureError(f"two cells of one indicator for the same area and level: {where}")
    known = {name: k for k, name in enumerate(names)}

    def at(name: str, rows: np.ndarray) -> np.ndarray:
        if name not in known:
            return np.full(len(rows), -1, dtype=np.int64)
        return keys.get_indexer(known[name] * width + area[rows])

    return at
