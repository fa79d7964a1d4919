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
(:func:`~disclosure.propagation.attacker_bounds_near`): an interval that holds every value
it cannot rule out, so a cell found pinned is pinned. Two units that pool what they
know (tau-Argus's multi-singletons) are asked too where their cells are parts of one
sum with at most one other part withheld, the line in which pooling pins the third
(:func:`coalitions`): together they know the cells that hold as many units as of them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from zicht.disclosure.group import GroupCells
from zicht.disclosure.knowledge import Knowledge, protected
from zicht.disclosure.propagation import Incidence, attacker_bounds_near

# insiders propagated at once: up to 64, and no more copies of the group's bounds than
# make BATCH_CELLS (a national branche group has half a million cells)
BATCH, BATCH_CELLS = 64, 1_000_000

Coalition = tuple[int, ...]  # the withheld singletons whose units pool what they know


@dataclass(frozen=True)
class InsiderFinding:
    """What the units of the singletons ``coalition`` pin: cells ``pinned``, the knowledge
    it pins them with (the published cells, and its own cells fixed), and the cheapest
    published cells that, withheld, relax what pins them (``relax``)."""

    coalition: tuple[int, ...]
    pinned: np.ndarray
    knowledge: Knowledge
    relax: np.ndarray  # published cells on the constraints that pin them (see _relax)
    around: np.ndarray  # every published cell on a constraint of theirs (the last resort)


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
) -> list[InsiderFinding]:
    """Per coalition of ``ask`` (one withheld singleton, or two who pool what they
    know), the primary withheld cells its units pin narrower than their protection
    (only the others' part counts). ``bounds``: the outsider's bounds of ``knowledge``
    (insiders know at least as much: their bounds start there, and only what their
    own cells change is propagated again). ``structure``: the group's :class:`Edges`
    and the :class:`Incidence` of ``knowledge``'s constraints, where the caller keeps
    them (they do not change from round to round)."""
    edges, incidence = structure or (Edges.of(group), Incidence.of(knowledge))
    outsider = knowledge.within(
        np.maximum(knowledge.low, bounds[0]), np.minimum(knowledge.high, bounds[1])
    )
    alone: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    found = []
    targets = np.flatnonzero(group.primary & suppressed)  # the same for every coalition
    size = max(1, min(BATCH, BATCH_CELLS // len(knowledge.low)))
    for start in range(0, len(ask), size):
        batch = ask[start : start + size]
        owned = [coalition_cells(group, c, edges, alone) for c in batch]
        fixed = [np.flatnonzero(own) for own, _ in owned]
        low, high = attacker_bounds_near(
            outsider, fixed, [group.value[f] for f in fixed], incidence
        )
        for c, (own, part), f, a, b in zip(batch, owned, fixed, low, high):
            pinned = _pinned(group, targets, own, part, a, b)
            if len(pinned):
                known_low, known_high = knowledge.low.copy(), knowledge.high.copy()
                known_low[f] = known_high[f] = group.value[f]
                shown = ~suppressed & ~own & (group.value > 0) & ~group.fixed_shown
                relax = _relax(group, knowledge, incidence, pinned, shown, (a, b))
                around = _around(knowledge, incidence, pinned, shown)
                found.append(
                    InsiderFinding(
                        c, pinned, knowledge.within(known_low, known_high), relax, around
                    )
                )
    return found


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
        near += [k.large[k.small == t], k.small[k.large == t]]
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


def _pinned(
    group: GroupCells,
    targets: np.ndarray,
    own: np.ndarray,
    part: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> np.ndarray:
    """The cells of ``targets`` (the primary withheld cells), not the insider's own,
    whose others' part (the value less the insider's ``part``) bounds ``low``-``high``
    do not protect."""
    t = targets[~own[targets]]
    rest = group.value[t] - part[t]
    ok = protected(
        rest, np.minimum(group.lower[t], rest), group.upper[t], low[t] - part[t], high[t] - part[t]
    )
    return t[~ok]


@dataclass(frozen=True)
class Edges:
    """Per cell, the cells it holds (``below``: finer areas and SBI nodes, subsets and
    parts in its area), those that hold it (``above``), and the ways it splits into
    cells that do not overlap (``splits``: its finer areas, its finer SBI nodes, the
    parts of a sum it totals, a subset alone)."""

    below: list[list[int]]
    above: list[list[int]]
    splits: list[list[np.ndarray]]
    has_unit: np.ndarray  # cells that may hold a unit (an unknown count may)

    @classmethod
    def of(cls, group: GroupCells) -> Edges:
        """The edges of ``group``'s hierarchies and relations."""
        linked, n = group.linked, len(group.value)
        below: list[list[int]] = [[] for _ in range(n)]
        above: list[list[int]] = [[] for _ in range(n)]
        pairs = [(int(p[c]), int(c)) for p in group.parents for c in np.flatnonzero(p >= 0)]
        pairs += list(zip(linked.large.tolist(), linked.small.tolist()))
        relation = linked.group >= linked.n_tree_groups
        totals = linked.total[linked.group[relation]].tolist()
        pairs += list(zip(totals, linked.member[relation].tolist()))
        for big, small in pairs:
            if big < n and small < n:  # not the hidden rests of subset pairs
                below[big].append(small)
                above[small].append(big)
        splits: list[list[np.ndarray]] = [[] for _ in range(n)]
        for p in group.parents:
            children = np.flatnonzero(p >= 0)
            order = np.argsort(p[children], kind="stable")
            children = children[order]
            starts = np.flatnonzero(np.r_[True, np.diff(p[children]) != 0])
            for kids in np.split(children, starts[1:]) if len(children) else []:
                splits[int(p[kids[0]])].append(kids)
        entries = np.flatnonzero(relation)
        entries = entries[np.argsort(linked.group[entries], kind="stable")]
        groups = linked.group[entries]
        starts = np.flatnonzero(np.r_[True, np.diff(groups) != 0])
        for one in np.split(entries, starts[1:]) if len(entries) else []:
            parts = linked.member[one]
            splits[int(linked.total[linked.group[one[0]]])].append(parts[parts < n])
        for big, small in zip(linked.large.tolist(), linked.small.tolist()):
            if big < n and small < n:
                splits[big].append(np.array([small]))
        return cls(below, above, splits, np.nan_to_num(group.units, nan=2.0) >= 1)


def own_cells(group: GroupCells, s: int, edges: Edges) -> tuple[np.ndarray, np.ndarray]:
    """The cells the unit of singleton ``s`` knows exactly (made only of its records),
    and the cells that hold its records among others' (each a mask)."""
    n = len(group.value)
    has_unit = edges.has_unit
    own = _closure(np.array([s]), edges.below, n)
    while True:
        holding = _closure(np.flatnonzero(own & has_unit), edges.above, n) & ~own
        alone = np.flatnonzero(holding & (group.units == 1))
        if not len(alone):
            return own, holding
        own |= _closure(alone, edges.below, n)


def coalition_cells(
    group: GroupCells,
    coalition: Coalition,
    edges: Edges,
    alone: dict[int, tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """The cells the units of ``coalition`` know exactly together, and their part of
    the others (0 elsewhere): a cell that holds records of as many of them as it has
    units is theirs alone. ``alone``: each singleton's :func:`own_cells` (positions),
    as found."""
    n = len(group.value)
    for s in coalition:
        if s not in alone:  # (as positions: a mask per singleton of a national group is GBs)
            own_s, holding_s = own_cells(group, s, edges)
            alone[s] = np.flatnonzero(own_s), np.flatnonzero(holding_s)
    owns, holds = zip(
        *(tuple(_mask(a[k], n) for k in (0, 1)) for a in (alone[s] for s in coalition))
    )
    own = np.logical_or.reduce(owns)
    has_unit = edges.has_unit
    if len(coalition) > 1:
        theirs = np.sum([o | h for o, h in zip(owns, holds)], axis=0)
        own |= _closure(np.flatnonzero(~own & (group.units == theirs)), edges.below, n)
        while True:  # a cell of one unit that holds their records is one of them
            holding = _closure(np.flatnonzero(own & has_unit), edges.above, n) & ~own
            one = np.flatnonzero(holding & (group.units == 1))
            if not len(one):
                break
            own |= _closure(one, edges.below, n)
    holding = _closure(np.flatnonzero(own & has_unit), edges.above, len(own)) & ~own
    part = _their_part(group, own, holding, edges)
    return own, np.where(own, 0.0, part)


def _their_part(
    group: GroupCells, own: np.ndarray, holding: np.ndarray, edges: Edges
) -> np.ndarray:
    """A lower bound of the insiders' part of each ``holding`` cell: their own cells at
    their value, and a holding cell at least the sum of its parts' in any one way it
    splits (a unit counted in subjects is one subject, though it made five reports:
    the part follows each indicator)."""
    part = np.where(own, group.value, 0.0)
    cells = np.flatnonzero(holding)
    for _ in range(len(cells)):
        before = part[cells].copy()
        for c in cells:
            for parts in edges.splits[c]:
                part[c] = max(part[c], part[parts].sum())
        if np.array_equal(before, part[cells]):
            break
    return np.where(holding, part, 0.0)


def _mask(positions: np.ndarray, n: int) -> np.ndarray:
    """A mask of ``n`` cells, true at ``positions``."""
    mask = np.zeros(n, dtype=bool)
    mask[positions] = True
    return mask


def _closure(starts: np.ndarray, edges: list[list[int]], n: int) -> np.ndarray:
    """``starts`` and every cell reachable from them along ``edges``."""
    todo = starts.tolist()
    seen = set(todo)  # a set: a numpy lookup per step is many times slower
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    mask = np.zeros(n, dtype=bool)
    mask[np.fromiter(seen, dtype=np.int64, count=len(seen))] = True
    return mask
