"""The singleton insider: the one unit behind a withheld cell knows that cell's value.

A cell with a single contributor (a *singleton*: one company, one person) is known
exactly to that contributor. It can put its own value into every sum the cell lies in
and so learn more of its neighbours than an outsider can: in a line with two withheld
cells, one of them a singleton, its unit reads off the other. tau-Argus guards against
this ("singleton protection": Hundepool et al., 2012, *Statistical Disclosure
Control*, section 4.4.4; de Wolf, 2002); so does the protection loop
(:mod:`disclosure.search`), with the insider this module models.

What the unit of a singleton ``s`` knows (:func:`own_cells`):

- every cell made only of its own records, exactly: ``s`` itself, the cells below it
  (its finer areas and SBI nodes, the indicators that are subsets or parts of it
  there), and every cell that holds it with one unit (that unit is itself), with the
  cells below those in turn;
- its own part of the cells that hold it with other units too (``holding``): their
  parent areas and nodes, the larger indicators and the sums they are in. What must
  stay protected there is the others' part: the cell's value less the unit's own.

Its bounds are the outsider's with those cells fixed, by propagation from there
(:class:`~disclosure.propagation.NearBounds`): an interval that holds every value
it cannot rule out, so a cell found pinned is pinned. Two units that pool what they
know (tau-Argus's multi-singletons) are asked too where their cells are parts of one
sum with at most one other part withheld, the line in which pooling pins the third
(:func:`coalitions`): together they know the cells that hold as many units as of them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from zicht.disclosure.edges import Edges
from zicht.disclosure.group import GroupCells
from zicht.disclosure.knowledge import Knowledge, protected
from zicht.disclosure.propagation import Incidence, NearBounds

# insiders propagated at once: up to 64, and no more copies of the group's bounds than
# make BATCH_CELLS (64 MB; a national branche group has 700,000 cells)
BATCH, BATCH_CELLS = 64, 4_000_000

Coalition = tuple[int, ...]  # the withheld singletons whose units pool what they know


@dataclass(frozen=True)
class InsiderFinding:
    """What the units of the singletons ``coalition`` pin: cells ``pinned``, the knowledge
    it pins them with (the published cells, and its own cells fixed), and the cheapest
    published cells that, withheld, relax what pins them (``relax``)."""

    coalition: tuple[int, ...]
    pinned: np.ndarray
    floor: np.ndarray  # per pinned cell, the least low bound that protects the others' part
    published: Knowledge  # what the outsider knows
    own: np.ndarray  # the coalition's own cells, and their values
    own_value: np.ndarray
    relax: np.ndarray  # published cells on the constraints that pin them (see _relax)
    around: np.ndarray  # every published cell on a constraint of theirs (the last resort)

    @property
    def knowledge(self) -> Knowledge:
        """What the coalition knows: the published cells, and its own cells fixed (made
        when asked: most findings are relaxed without it)."""
        low, high = self.published.low.copy(), self.published.high.copy()
        low[self.own] = high[self.own] = self.own_value
        return self.published.within(low, high)


@dataclass
class InsiderMemo:
    """What the insiders' step keeps from round to round, and from one protection pass
    over a table to the next (the company rule protects a table again): the
    :class:`Edges` and the :class:`Incidence` of its constraints, and what each
    coalition knows. All of it depends on the table (its cells, units and values),
    not on what is withheld."""

    structure: tuple[Edges, Incidence] | None = None
    known: dict[Coalition, Known] = field(default_factory=dict)


def singletons(group: GroupCells, suppressed: np.ndarray) -> np.ndarray:
    """Positions of the withheld cells with exactly one unit."""
    return np.flatnonzero(suppressed & (group.units == 1) & ~group.unknown)


def coalitions(group: GroupCells, knowledge: Knowledge, suppressed: np.ndarray) -> list[Coalition]:
    """The insiders to ask: each withheld singleton alone, and two withheld singletons
    that are parts of one sum with at most one other part withheld (tau-Argus's
    multi-singletons: two units who pool what they know pin the third), except in
    branche tables."""
    single = np.zeros(len(knowledge.low), dtype=bool)
    single[singletons(group, suppressed)] = True
    withheld = np.r_[suppressed, np.ones(len(knowledge.low) - len(suppressed), dtype=bool)]
    found: list[Coalition] = [(int(s),) for s in np.flatnonzero(single)]
    if group.two_way:
        # a unit of a branche cell cannot be placed in a buurt from the table, so the
        # pair's part of the area cells is not known to the model (see the docs)
        return found
    member, sums = knowledge.member, knowledge.group
    parts = np.bincount(sums[withheld[member]], minlength=len(knowledge.total))
    few = withheld[member] & single[member] & (parts[sums] <= 3)
    member, sums = member[few], sums[few]
    order = np.argsort(sums, kind="stable")
    member, sums = member[order], sums[order]
    starts = np.flatnonzero(np.r_[True, sums[1:] != sums[:-1]])
    pairs = {
        pair
        for parts_of_one in np.split(member, starts[1:])
        for pair in itertools.combinations(sorted(parts_of_one.tolist()), 2)
    }
    return found + sorted(pairs)


def insiders_pin(
    group: GroupCells,
    knowledge: Knowledge,
    bounds: tuple[np.ndarray, np.ndarray],
    suppressed: np.ndarray,
    ask: list[Coalition],
    structure: tuple[Edges, Incidence] | None = None,
    known: dict[Coalition, Known] | None = None,
) -> list[InsiderFinding]:
    """Per coalition of ``ask`` (one withheld singleton, or two who pool what they
    know), the primary withheld cells its units pin narrower than their protection
    (only the others' part counts). ``bounds``: the outsider's bounds of ``knowledge``
    (insiders know at least as much: their bounds start there, and only what their
    own cells change is propagated again). ``structure``: the group's :class:`Edges`
    and the :class:`Incidence` of ``knowledge``'s constraints, and ``known``: what each
    coalition knows (:func:`coalition_cells`), where the caller keeps them (they
    depend on the table, not on what is withheld)."""
    edges, incidence = structure or (Edges.of(group), Incidence.of(knowledge))
    known = {} if known is None else known
    outsider = knowledge.within(
        np.maximum(knowledge.low, bounds[0]), np.minimum(knowledge.high, bounds[1])
    )
    targets = np.flatnonzero(group.primary & suppressed)  # the same for every coalition
    # a target whose interval an insider leaves as the outsider's, and of which it has
    # no part, is as protected as the outsider finds it: only those the outsider finds
    # exposed are asked of every coalition (none, where the outsider check passed)
    is_target = np.zeros(len(knowledge.low), dtype=bool)  # (and the hidden rests)
    is_target[targets] = True
    nobody = Known(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    weak = _pinned(group, targets, nobody, outsider.low, outsider.high)
    found = []
    shown = ~suppressed & (group.value > 0) & ~group.fixed_shown
    size = max(1, min(BATCH, BATCH_CELLS // len(knowledge.low), len(ask)))
    near_bounds = NearBounds(outsider, incidence, size)
    for start in range(0, len(ask), size):
        batch = ask[start : start + size]
        cells = [coalition_cells(group, c, edges, known) for c in batch]
        low, high, moved = near_bounds([k.own for k in cells], [group.value[k.own] for k in cells])
        for c, mine, a, b, m in zip(batch, cells, low, high, moved):
            near = np.union1d(np.union1d(m, mine.holding), weak)
            near = np.setdiff1d(near[is_target[near]], mine.own, assume_unique=True)
            pinned = _pinned(group, near, mine, a, b)
            if len(pinned):
                found.append(_finding(group, knowledge, incidence, shown, c, mine, pinned, a, b))
    return found


def _finding(
    group: GroupCells,
    knowledge: Knowledge,
    incidence: Incidence,
    shown: np.ndarray,
    coalition: Coalition,
    mine: Known,
    pinned: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> InsiderFinding:
    """What the units of ``coalition`` pin (``pinned``, with their bounds ``low``-``high``)
    and what relaxes it. ``shown``: the published cells free to withhold (above 0)."""
    shown = shown.copy()
    shown[mine.own] = False  # not the insider's own
    relax = _relax(group, knowledge, incidence, pinned, shown, (low, high))
    around = _around(knowledge, incidence, pinned, shown)
    floor = np.maximum(group.value[pinned] - group.lower[pinned], part_of(mine, pinned))
    return InsiderFinding(
        coalition, pinned, floor, knowledge, mine.own, group.value[mine.own], relax, around
    )


def _relax(
    group: GroupCells,
    k: Knowledge,
    incidence: Incidence,
    pinned: np.ndarray,
    shown: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Per pinned cell, the cheapest cell of ``shown`` (published and free to withhold,
    not the insider's, above 0) in a sum group that binds at the cell's bound in the insider's
    propagation (``bounds``): withheld, it lets the group move. None where no such
    group has one (the loop then asks the programs: :meth:`Pattern.unpin`)."""
    low, high = bounds
    chosen = []
    for t in pinned:
        options = []
        for g in incidence_groups(incidence, int(t)):
            members = _members(k, incidence, int(g))
            total = int(k.total[g])
            if total == t:
                binds = np.isclose(high[members].sum(), high[t]) or np.isclose(
                    low[members].sum(), low[t]
                )
            else:
                others = members[members != t]
                binds = np.isclose(high[total] - low[others].sum(), high[t]) or np.isclose(
                    low[total] - high[others].sum(), low[t]
                )
            if binds:
                cells = np.r_[total, members]
                cells = cells[(cells < len(shown)) & (cells != t)]
                options += cells[shown[cells]].tolist()
        if options:
            chosen.append(min(options, key=lambda c: group.cost[c]))
    return np.unique(np.array(chosen, dtype=np.int64))


def _around(
    k: Knowledge, incidence: Incidence, pinned: np.ndarray, shown: np.ndarray
) -> np.ndarray:
    """The cells of ``shown`` in any sum group or subset pair with a pinned cell."""
    near = [np.zeros(0, dtype=np.int64)]
    for t in pinned:
        for g in incidence_groups(incidence, int(t)):
            near += [_members(k, incidence, int(g)), k.total[[g]]]
        pairs = incidence_pairs(incidence, int(t))
        near += [k.large[pairs], k.small[pairs]]
    cells = np.unique(np.concatenate(near))
    cells = cells[cells < len(shown)]
    return cells[shown[cells]]


def _members(k: Knowledge, incidence: Incidence, group: int) -> np.ndarray:
    """The members of sum group ``group`` (looked up, not searched for: a national
    group's knowledge has millions of entries)."""
    indptr, entries = incidence.entries
    return k.member[entries[indptr[group] : indptr[group + 1]]]


def incidence_groups(incidence: Incidence, cell: int) -> np.ndarray:
    """The sum groups ``cell`` is in (as total or member)."""
    indptr, indices = incidence.groups
    return indices[indptr[cell] : indptr[cell + 1]]


def incidence_pairs(incidence: Incidence, cell: int) -> np.ndarray:
    """The subset pairs ``cell`` is in (as the smaller or the larger)."""
    indptr, indices = incidence.pairs
    return indices[indptr[cell] : indptr[cell + 1]]


def part_of(mine: Known, cells: np.ndarray) -> np.ndarray:
    """The insiders' part of each of ``cells`` (0 where they hold none of it)."""
    part = np.zeros(len(cells))
    at = np.minimum(np.searchsorted(mine.holding, cells), max(len(mine.holding) - 1, 0))
    theirs = mine.holding[at] == cells if len(mine.holding) else np.zeros(len(cells), bool)
    part[theirs] = mine.part[at[theirs]]
    return part


def _pinned(
    group: GroupCells, cells: np.ndarray, mine: Known, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """The cells of ``cells`` (primary withheld cells, not the insiders' own) whose
    others' part (the value less the insiders' part, :attr:`Known.part`) bounds
    ``low``-``high`` do not protect."""
    part = part_of(mine, cells)
    rest = group.value[cells] - part
    ok = protected(
        rest,
        np.minimum(group.lower[cells], rest),
        group.upper[cells],
        low[cells] - part,
        high[cells] - part,
    )
    return cells[~ok]


@dataclass(frozen=True)
class Known:
    """What the units of a coalition know: the cells made only of their records
    (``own``), the cells that hold their records among others' (``holding``), each as
    sorted positions, and their part of each holding cell (``part``, a lower bound)."""

    own: np.ndarray
    holding: np.ndarray
    part: np.ndarray


def own_cells(group: GroupCells, s: int, edges: Edges) -> tuple[set[int], set[int]]:
    """The cells the unit of singleton ``s`` knows exactly (made only of its records),
    and the cells that hold its records among others'."""
    return _grown(group, _closure([s], edges.below), edges)


def coalition_cells(
    group: GroupCells,
    coalition: Coalition,
    edges: Edges,
    known: dict[Coalition, Known],
) -> Known:
    """What the units of ``coalition`` know together (:class:`Known`): a cell that
    holds records of as many of them as it has units is theirs alone. ``known``: what
    each coalition (each singleton alone, too) was found to know, as found; it is
    looked up and filled in."""
    if coalition in known:
        return known[coalition]
    if len(coalition) == 1:
        own, holding = own_cells(group, coalition[0], edges)
        known[coalition] = _known(group, own, holding, edges)
        return known[coalition]
    singles = [coalition_cells(group, (s,), edges, known) for s in coalition]
    own = set().union(*(k.own.tolist() for k in singles))
    theirs = Counter(c for k in singles for c in {*k.own.tolist(), *k.holding.tolist()})
    units = group.units
    own |= _closure([c for c, n in theirs.items() if c not in own and units[c] == n], edges.below)
    known[coalition] = _known(group, *_grown(group, own, edges), edges)
    return known[coalition]


def _grown(group: GroupCells, own: set[int], edges: Edges) -> tuple[set[int], set[int]]:
    """The cells ``own`` and those a cell of one unit that holds their records adds
    (that unit is one of them), with what is below it; and the cells that hold their
    records among others' (:func:`_holding`)."""
    one = group.units == 1
    while True:
        holding = _holding(own, edges)
        alone = [c for c in holding if one[c]]
        if not alone:
            return own, holding
        own |= _closure(alone, edges.below)


def _holding(own: set[int], edges: Edges) -> set[int]:
    """The cells that hold records of the units of ``own`` among others': the cells
    above them, and a cell that is all of one of those (the only buurt of a wijk: the
    units know where they are), and the cells above that, and so on."""
    holding = _closure(_with_unit(own, edges), edges.above)
    todo = list(holding)
    while todo:
        for p in edges.sole[todo.pop()]:
            if p not in holding:
                more = _closure([p], edges.above) - holding
                holding |= more
                todo += more
    return holding - own


def _with_unit(cells: set[int], edges: Edges) -> list[int]:
    """The cells of ``cells`` that may hold a unit."""
    return [c for c in cells if edges.has_unit[c]]


def _known(group: GroupCells, own: set[int], holding: set[int], edges: Edges) -> Known:
    """:class:`Known` of the cells ``own`` and ``holding``."""
    own_at = np.array(sorted(own), dtype=np.int64)
    holding_at = np.array(sorted(holding), dtype=np.int64)
    return Known(own_at, holding_at, _their_part(group, own, holding_at, edges))


def _their_part(group: GroupCells, own: set[int], holding: np.ndarray, edges: Edges) -> np.ndarray:
    """A lower bound of the insiders' part of each ``holding`` cell: their own cells at
    their value, and a holding cell at least the sum of its parts' in any one way it
    splits (a unit counted in subjects is one subject, though it made five reports:
    the part follows each indicator). Parts come before the cells they split (by
    :attr:`Edges.height`), so one pass settles every cell; where relations make a
    cycle, passes repeat until nothing moves. A cell that is all of a holding cell
    (the only buurt of a wijk) holds as much of theirs as it does: passes down to such
    cells and up again repeat until nothing moves."""
    cells = holding.tolist()
    wholes = set(cells)
    part = dict.fromkeys(cells, 0.0) | {c: float(group.value[c]) for c in own}
    order = sorted(part, key=edges.height.__getitem__)
    _parts_up(part, order, wholes, edges)
    for _ in range(len(cells)):  # parts only grow: a fixed point in as many passes
        if not _sole_parts_down(part, order, edges):
            break
        _parts_up(part, order, wholes, edges)  # then what they are parts of, again
    return np.array([part[c] for c in cells], dtype=float)


def _parts_up(part: dict[int, float], order: list[int], wholes: set[int], edges: Edges) -> None:
    """Each of ``wholes`` at least the sum of its parts' in one way it splits (see
    :func:`_their_part`)."""
    for _ in range(len(wholes) if edges.cyclic else 1):
        sums: dict[tuple[int, int], float] = {}
        moved = False
        for c in order:
            if c in wholes:
                ways = range(len(edges.splits[c]))
                best = max((sums.get((c, k), 0.0) for k in ways), default=0.0)
                if best > part[c]:
                    part[c], moved = best, True
            for whole, k in edges.part_of[c]:
                if whole in wholes:
                    sums[whole, k] = sums.get((whole, k), 0.0) + part[c]
        if not moved:
            break


def _sole_parts_down(part: dict[int, float], order: list[int], edges: Edges) -> bool:
    """A cell that is all of a whole (its only part in one way it splits) holds as
    much of theirs as the whole; returns whether a part moved."""
    moved = False
    for c in reversed(order):  # wholes before their parts
        for p in edges.sole[c]:
            if p in part and part[p] < part[c]:
                part[p], moved = part[c], True
    return moved


def _closure(starts: list[int], edges: list[list[int]]) -> set[int]:
    """``starts`` and every cell reachable from them along ``edges``."""
    todo = list(starts)
    seen = set(todo)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
