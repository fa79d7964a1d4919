"""The protection loop: complements for one group of linked indicators until the
attacker finds nothing.

:func:`protect_group` is the algorithm (:func:`search_group` the loop itself, on a
copy of the group's cells); :class:`Search` its state (the pattern of
withheld cells, what the programs have proven, what the last round found) with one
method per step. The steps are those of :mod:`disclosure.complements` and the
attacker's audit (:mod:`disclosure.propagation`, :mod:`disclosure.witnesses`,
:mod:`disclosure.programs`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

import numpy as np
import pandas as pd

from zicht.disclosure.complements import Pattern
from zicht.disclosure.group import GroupCells
from zicht.disclosure.insiders import (
    Coalition,
    Edges,
    InsiderFinding,
    InsiderMemo,
    coalitions,
    insiders_pin,
)
from zicht.disclosure.joint import JointMemo
from zicht.disclosure.knowledge import Knowledge, Labels, block_labels, protected
from zicht.disclosure.limits import LIMITS, SearchLimits
from zicht.disclosure.linked import LinkedCells, Relations
from zicht.disclosure.programs import attacker_bounds_within
from zicht.disclosure.propagation import Incidence, attacker_bounds, attacker_bounds_again
from zicht.disclosure.rounding import round_to_base
from zicht.disclosure.rules import SECONDARY, DisclosureParams
from zicht.disclosure.witnesses import (
    Criterion,
    Reach,
    attacker_bounds_anchored,
    attacker_bounds_decisive,
    needed_sides,
)
from zicht.errors import DisclosureError

PROVEN = "_proven_as"  # working column: the reason a cell had when proven protected


@dataclass
class TableMemo:
    """What the protection of one linked table keeps from round to round, and from one
    pass over the table to the next (the company rule protects it again): the
    insiders' step's :class:`~disclosure.insiders.InsiderMemo` and the joint
    program's :class:`~disclosure.joint.JointMemo`. Both depend on the table, not on
    what is withheld."""

    insiders: InsiderMemo = field(default_factory=InsiderMemo)
    joint: JointMemo = field(default_factory=JointMemo)


class SearchOptions(TypedDict, total=False):
    """The keyword options of :func:`search_group`, as :func:`protect_group` passes them."""

    keep: bool
    threads: int
    programs: bool
    table: LinkedCells | None
    limits: SearchLimits
    memo: TableMemo | None


def protect_group(
    cells: pd.DataFrame,
    rows: np.ndarray,
    relations: Relations,
    params: DisclosureParams,
    **options: Unpack[SearchOptions],
) -> int:
    """Complements for the ``rows`` of ``cells`` (a group of linked indicators) until
    the attacker finds nothing (:func:`search_group`, with its keyword ``options``);
    writes the decision into ``cells`` and returns the number of rounds."""
    search, rounds = search_group(cells.loc[rows], relations, params, **options)
    search.decision().write(cells, rows)
    return rounds


def search_group(
    frame: pd.DataFrame,
    relations: Relations,
    params: DisclosureParams,
    *,
    keep: bool = False,
    threads: int = 1,
    programs: bool = True,
    table: LinkedCells | None = None,
    limits: SearchLimits = LIMITS,
    memo: TableMemo | None = None,
) -> tuple[Search, int]:
    """The protection loop over the cells of ``frame`` (a group of linked indicators,
    as the decision so far has them); returns its final state (whose
    :meth:`Search.decision` a caller writes back) and the number of rounds. It reads
    nothing but ``frame``, so groups search side by side.

    Each round, in this order:

    1. complements: the complement programs (:meth:`Pattern.complete`; a branche table's
       both hierarchies in one program);
    2. propagation: the attacker's bounds of that pattern; cells they leave exposed;
    3. exact programs, only where propagation exposes nothing (the programs only
       narrow) and may be wider than them: cells they do not prove protected;
    4. nothing exposed: done;
    5. widen: the cheapest cover of the exposed cells, else what touches each
       (:meth:`Pattern.widen`);
    6. unpin: cells that widening could not help two rounds running get what the
       attacker's program names as pinning them (:meth:`Pattern.unpin`); after
       ``limits.max_rounds`` rounds every exposed cell does;
    7. fail: after ``limits.max_rounds``, a round that withholds nothing more raises
       :class:`~zicht.errors.DisclosureError` (suppressions only grow: it ends).

    ``keep`` starts from the complements already chosen (and the proofs still valid).
    Without ``programs`` only propagation checks. ``table`` (the group's
    :class:`~disclosure.linked.LinkedCells`) and ``memo`` (what the insiders' step and
    the joint program keep: :class:`TableMemo`): where the caller has them already."""
    group = GroupCells.of(frame, table or LinkedCells(frame, relations), params)
    search = Search(group, _kept_proofs(frame, keep), keep, limits, threads, memo)
    for rounds in itertools.count(1):
        grew = None  # whether asking the insiders grew the pattern (None: not asked)
        search.pattern.complete()
        knowledge = search.publish()
        exposed = search.propagate(knowledge)
        if programs and group.linked.needs_programs and not exposed.any():
            exposed = search.ask_programs(knowledge, threads)
        if not exposed.any() and programs:
            grew, exposed = search.ask_insiders(knowledge)
            if grew:
                continue
        if not exposed.any():
            break
        last_resort = rounds > limits.max_rounds
        before = search.pattern.size()
        search.widen_and_unpin(np.flatnonzero(exposed), knowledge, last_resort)
        if last_resort and search.pattern.size() == before:
            raise DisclosureError(_stuck(frame, exposed, insiders=grew is False))
    return search, rounds


def _stuck(frame: pd.DataFrame, exposed: np.ndarray, insiders: bool) -> str:
    """Why the search gives up: how many cells stay exposed, of which indicators and
    levels, and to whom (never a value)."""
    stuck = frame.iloc[np.flatnonzero(exposed[: len(frame)])]
    whom = "the unit of a withheld singleton" if insiders else "an outside attacker"
    return (
        f"disclosure control could not protect every cell: {len(stuck)} cell(s) of "
        f"{sorted(set(stuck['indicator']))} ({sorted(set(stuck['level']))}) stay exposed "
        f"to {whom}"
    )


def _kept_proofs(frame: pd.DataFrame, keep: bool) -> np.ndarray:
    """Cells proven protected by an earlier pass over the same cells (``keep``), whose
    rule has not changed since: the company rule is decided on published figures, so
    what it withholds only widens the attacker's programs."""
    if keep and PROVEN in frame:
        return (frame[PROVEN] == frame["reason"]).to_numpy(dtype=bool).copy()
    return np.zeros(len(frame), dtype=bool)


class Search:
    """The state of the protection loop for one group (see :func:`protect_group`).

    ``pattern``: what is withheld. ``proven``: cells the programs found protected;
    suppressions only grow from round to round, and with them what the attacker cannot
    rule out, so a proven cell stays proven. The rest is what the last round found:
    the published values, the attacker's bounds, the criterion.
    """

    def __init__(
        self,
        group: GroupCells,
        proven: np.ndarray,
        keep: bool,
        limits: SearchLimits,
        threads: int = 1,
        memo: TableMemo | None = None,
    ) -> None:
        self.group = group
        self.limits = limits
        memo = memo or TableMemo()
        self.pattern = Pattern(group, keep, limits, threads, memo.joint)
        self.proven = proven
        self.was_idle = np.zeros(0, dtype=np.int64)  # exposed cells widening left alone
        self.labels: Labels | None = None  # the blocks: the constraints stay, so do they
        self.last: tuple[Knowledge, tuple[np.ndarray, np.ndarray]] | None = None
        self.published = np.zeros(0)
        self.low, self.high = np.zeros(0), np.zeros(0)
        self.enough, self.reach = _protects(group, self.pattern.suppressed)
        self.check = np.zeros(0, dtype=np.int64)
        self.insiders_clear: set[Coalition] = set()  # insiders found to pin nothing
        self.memo = memo.insiders  # for the insiders

    def publish(self) -> Knowledge:
        """The published values of the pattern (rounded; NaN where withheld) and what
        the attacker knows from them."""
        g = self.group
        self.published = np.where(self.pattern.suppressed, np.nan, round_to_base(g.value, g.base))
        shown = np.where(g.unknown, 0.0, self.published)
        return g.linked.knowledge(shown, g.half, g.count, g.params.min_units)

    def propagate(self, knowledge: Knowledge) -> np.ndarray:
        """The attacker's bounds by propagation (from the second round on, only in the
        blocks, gemeenten, where something changed) and the cells they leave exposed:
        a primary cell whose protection interval is not covered, a withheld one
        narrower than ``protection_min`` (a rest of an SBI node is never published:
        only a primary one needs protection)."""
        if self.last is None or self.labels is None:
            self.labels = block_labels(knowledge)
            low, high = attacker_bounds(knowledge)
        else:
            low, high = attacker_bounds_again(knowledge, *self.last, self.labels.block)
        self.last = knowledge, (low, high)
        self.low, self.high = low, high
        g, suppressed = self.group, self.pattern.suppressed
        self.enough, self.reach = _protects(g, suppressed & ~g.never)
        self.check = np.flatnonzero(g.primary | (suppressed & ~g.never))
        exposed = np.zeros(len(g.value), dtype=bool)
        exposed[self.check] = ~self.enough(self.check, low[self.check], high[self.check])
        return exposed

    def ask_programs(self, knowledge: Knowledge, threads: int) -> np.ndarray:
        """The cells the attacker's programs do not find protected (those proven in an
        earlier round are not asked again)."""
        todo = self.check[~self.proven[self.check]]
        agree = programs_agree(self, knowledge, todo, threads)
        exposed = np.zeros(len(self.group.value), dtype=bool)
        self.proven[todo], exposed[todo] = agree, ~agree
        return exposed

    def ask_insiders(self, knowledge: Knowledge) -> tuple[bool, np.ndarray]:
        """Whether the pattern grew, and the cells the unit of a withheld singleton pins
        (:mod:`disclosure.insiders`). What binds them in that unit's propagation is
        withheld (:meth:`Pattern.withhold`), else what pins them in its program
        (:meth:`Pattern.unpin`), else every published cell on a constraint of theirs.
        In branche tables, whose programs take seconds, the last two swap: what no
        constraint of theirs gives gets the cheapest cover of every such finding at
        once, and what pins it where that adds nothing in its gemeente
        (:meth:`_cover_insiders`). Where none of that adds anything, the round widens
        around them."""
        assert self.labels is not None  # set by propagate
        # withholding more only widens what an insider knows: insiders who pinned
        # nothing pin nothing later, and are not asked again
        ask = coalitions(self.group, knowledge, self.pattern.suppressed)
        ask = [c for c in ask if c not in self.insiders_clear]
        if self.memo.structure is None:  # the constraints stay, so do these
            self.memo.structure = Edges.of(self.group), Incidence.of(knowledge)
        found = insiders_pin(
            self.group,
            knowledge,
            (self.low, self.high),
            self.pattern.suppressed,
            ask,
            self.memo.structure,
            self.memo.known,
        )
        self.insiders_clear |= set(ask) - {f.coalition for f in found}
        before = self.pattern.size()
        exposed = np.zeros(len(self.group.value), dtype=bool)
        waiting = []  # findings that nothing on their own constraints relaxes
        for finding in found:
            exposed[finding.pinned] = True
            if len(finding.relax):
                self.pattern.withhold(finding.relax, finding.pinned)
                continue
            size = self.pattern.size()
            if not self.group.two_way:  # (a branche table's programs take seconds each)
                self.pattern.unpin(finding.pinned, finding.knowledge, self.labels, finding.floor)
            if self.pattern.size() == size:  # all that touches them
                self.pattern.withhold(finding.around, finding.pinned)
            if self.pattern.size() == size and self.group.two_way:
                waiting.append(finding)
        if waiting:
            self._cover_insiders(waiting)
        return self.pattern.size() != before, exposed

    def _cover_insiders(self, waiting: list[InsiderFinding]) -> None:
        """The cheapest cover of what the ``waiting`` findings pin, in one program per
        block (gemeente) for all of them (one at a time, a national branche table
        solved a gemeente's program hundreds of times a round); where it adds nothing
        in a finding's block, what pins its cells in that insider's program."""
        assert self.labels is not None  # set by propagate
        block = self.labels.block
        before = self.pattern.suppressed.copy()
        self.pattern.cover(np.concatenate([f.pinned for f in waiting]))
        grown = np.unique(block[np.flatnonzero(self.pattern.suppressed & ~before)])
        for finding in waiting:
            if not np.isin(block[finding.pinned], grown).any():
                self.pattern.unpin(finding.pinned, finding.knowledge, self.labels, finding.floor)

    def widen_and_unpin(self, exposed: np.ndarray, knowledge: Knowledge, last_resort: bool) -> None:
        """Widen around the ``exposed`` cells; unpin those that widening left alone this
        round and the last (every exposed cell, as the ``last_resort``)."""
        idle = self.pattern.widen(exposed)
        pinned = exposed if last_resort else np.intersect1d(idle, self.was_idle)
        self.was_idle = idle
        if len(pinned):
            self.pattern.unpin(pinned, knowledge, self.labels)

    def decision(self) -> GroupDecision:
        """What the search decided for each cell of the group: reasons (``secondary``
        for complements), the proofs, the published values and the attacker's
        interval of withheld cells."""
        g, suppressed = self.group, self.pattern.suppressed
        n = len(g.value)
        reason = np.where(suppressed & (g.reason == ""), SECONDARY, g.reason)
        return GroupDecision(
            reason=reason,
            proven_as=pd.Series(reason, dtype=object).where(self.proven, None).to_numpy(),
            published=np.where(g.unknown, np.nan, self.published),
            attacker_low=np.where(suppressed, self.low[:n], np.nan),
            attacker_high=np.where(suppressed, self.high[:n], np.nan),
        )


@dataclass
class GroupDecision:
    """The decision of one group's search (:meth:`Search.decision`), one value per
    cell of the group, in its order: small and picklable, so that a group searched in
    another process comes back as this."""

    reason: np.ndarray
    proven_as: np.ndarray
    published: np.ndarray
    attacker_low: np.ndarray
    attacker_high: np.ndarray

    def write(self, cells: pd.DataFrame, rows: np.ndarray) -> None:
        """Into the ``rows`` of ``cells``, the group's rows."""
        cells.loc[rows, PROVEN] = self.proven_as
        cells.loc[rows, "reason"] = self.reason
        cells.loc[rows, "published"] = self.published
        cells.loc[rows, "attacker_low"] = self.attacker_low
        cells.loc[rows, "attacker_high"] = self.attacker_high


def programs_agree(
    search: Search, knowledge: Knowledge, check: np.ndarray, threads: int = 1
) -> np.ndarray:
    """Whether the attacker's programs find each cell of ``check`` protected. Branche
    tables (two hierarchies, large blocks) are decided by solutions around the true
    values (:func:`~disclosure.witnesses.attacker_bounds_anchored`: a cell not shown
    to be protected gets complements); other groups as the programs decide them."""
    low, high, enough = search.low, search.high, search.enough
    reach = search.reach
    if not search.group.two_way:
        low, high = attacker_bounds_decisive(
            knowledge, check, low, high, enough, threads=threads, reach=reach
        )
        return np.asarray(enough(check, low[check], high[check]), dtype=bool)
    limits = search.limits
    bounded = knowledge.within(low, high)
    anchor, free = search.group.anchor(knowledge)
    agree, inner_low, inner_high = attacker_bounds_anchored(
        bounded,
        check,
        anchor,
        enough,
        free,
        max_witnesses=limits.anchored_witnesses,
        max_exact=limits.max_exact_per_block,
        threads=threads,
        reach=reach,
    )
    # what those solutions cannot show, the exact programs decide where their block
    # (a gemeente's whole table) is small enough to solve cell by cell: only the side
    # of its interval that the solutions did not settle
    left = check[~agree]
    if 0 < len(left) <= limits.max_exact_cells:
        sides = needed_sides(enough, left, inner_low[~agree], inner_high[~agree])
        lo, hi, solved = attacker_bounds_within(
            bounded, left, low, high, limits.max_exact_block, threads, sides, search.labels
        )
        found = np.asarray(enough(left[solved], lo[left[solved]], hi[left[solved]]))
        agree[np.flatnonzero(~agree)[solved]] = found
    return agree


def _protects(group: GroupCells, suppressed: np.ndarray) -> tuple[Criterion, Reach]:
    """:func:`protection_criterion` of ``group``'s cells, ``suppressed`` withheld."""
    return protection_criterion(
        group.value,
        group.lower,
        group.upper,
        group.primary,
        suppressed,
        group.params.protection_min,
    )


def protection_criterion(
    value: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    primary: np.ndarray,
    suppressed: np.ndarray,
    protection_min: float,
) -> tuple[Criterion, Reach]:
    """Whether an interval of cells ``i`` protects them: it covers a primary cell's
    protection interval (``value`` minus ``lower`` to plus ``upper``), and a withheld
    cell's (``suppressed``) is at least ``protection_min`` wide. Also how far a
    solution must take each cell for that to hold
    (:class:`~disclosure.witnesses.Reach`), from the same figures."""

    def enough(i: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        covers = protected(value[i], lower[i], upper[i], low, high)
        wide = high - low >= protection_min - 1e-6
        return np.where(primary[i], covers, True) & np.where(suppressed[i], wide, True)

    reach = Reach(
        value=value,
        low=np.where(primary, value - lower, np.inf),
        high=np.where(primary, value + upper, -np.inf),
        width=np.where(suppressed, protection_min, 0.0),
    )
    return enough, reach
