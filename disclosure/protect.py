"""Protect a table of cells: primary rules, complementary suppression, rounding, audit.

:func:`protect` takes every cell the engine would publish (one row per indicator,
level and area; columns :data:`~disclosure.rules.CELL_FIELDS`) and decides what may
be published. Sensitive counts and sums are rounded (counts to multiples of 5) and
suppressed where unsafe; complements are added until the attacker's audit
(:mod:`disclosure.audit`, with everything an outsider knows: the publication rules,
the hierarchy and the relations between indicators) finds every unsafe cell
protected, and no withheld cell pinned to an interval narrower than
``protection_min``. Related indicators (:class:`~disclosure.linked.Relations`) are
protected together, as one linked table. Rates and shares of sensitive counts are
recomputed from the published (rounded) numerator and denominator, and suppressed
where either is.

Complements come from three places, cheapest first: the complement programs of
:mod:`disclosure.secondary` (per subtable, tau-Argus style); for a cell the audit still
finds exposed, what touches it (its parent, children and related cells); and where all
of that is withheld already, the published cells on the constraints that bind at the
cell's bound in the attacker's program (read from its reduced costs,
:func:`~disclosure.audit.attacker_pins`), which is how a cell pinned from afar (a
buurt whose withheld wijk is held by the other wijken of the gemeente) is freed.

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

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zicht.disclosure.audit import (
    Knowledge,
    Labels,
    Pins,
    attacker_bounds,
    attacker_bounds_again,
    attacker_bounds_anchored,
    attacker_bounds_decisive,
    attacker_bounds_within,
    attacker_pins,
    block_labels,
    needed_sides,
    protected,
)
from zicht.disclosure.linked import TOTAL, LinkedCells, Relations, text_column
from zicht.disclosure.rounding import half_width, round_to_base
from zicht.disclosure.rules import (
    AREA_COMPANIES,
    DERIVED,
    PRIMARY_RULES,
    SECONDARY,
    DisclosureParams,
    primary,
    protection_levels,
)
from zicht.disclosure.secondary import Children, suppress_complements
from zicht.errors import DisclosureError

DEPTH = {"gemeente": 0, "wijk": 1, "buurt": 2}
# after this many rounds every exposed cell is unpinned by the attacker's programs, and
# a round that withholds nothing more ends the search (suppressions only grow: it ends)
MAX_ROUNDS = 10
PROVEN = "_proven_as"  # working column: the reason a cell had when proven protected
# the exact programs on a two-way table: for at most this many undecided cells, in
# blocks of at most this many cells (a gemeente of 20,000 cells solves in about 0.05 s
# per program; Amsterdam's 169,000 in 46 s)
MAX_EXACT_CELLS, MAX_EXACT_BLOCK = 20_000, 40_000


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


def protect(
    cells: pd.DataFrame,
    sizes: pd.DataFrame,
    derived: pd.DataFrame,
    params: DisclosureParams | None = None,
    relations: Relations | None = None,
    companies: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    threads: int = 1,
) -> Protection:
    """Decide what may be published (see the module docstring).

    Parameters
    ----------
    cells
        One row per indicator, level and area (:data:`~disclosure.rules.CELL_FIELDS`).
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
        Threads for the attacker's programs (blocks of the table solve side by side).
    """
    params = params or DisclosureParams()
    params.validate()
    relations = relations or Relations()
    cells = cells.reset_index(drop=True).copy()
    cells["reason"] = primary(cells, sizes, params)
    _set_protection_levels(cells, np.ones(len(cells), dtype=bool), params)
    cells["published"] = cells["value"].astype(float)
    cells["attacker_low"] = np.nan
    cells["attacker_high"] = np.nan
    sensitive_additive = cells["sensitive"] & cells["kind"].isin(["count", "sum"])
    derived_ids = set(derived["indicator"]) if len(derived) else set()
    protected_ids = [
        i for i in dict.fromkeys(cells.loc[sensitive_additive, "indicator"]) if i not in derived_ids
    ]
    groups = relations.among(protected_ids).groups(protected_ids)
    rounds = 0

    def rows_of(group: list[str]) -> np.ndarray:
        return np.flatnonzero(cells["indicator"].isin(group).to_numpy() & sensitive_additive)

    with_companies = companies is not None and companies in protected_ids
    steps = len(groups) + int(with_companies)  # the company count alone is a step of its own
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, steps)

    if companies is not None and with_companies:  # (is not None: for the type checker)
        # the company count alone first; the rule follows from what it publishes. The
        # linked group below holds these cells too, and its programs (a superset of the
        # constraints) decide them: here propagation sets the first pattern
        step()
        rounds = _protect_group(cells, rows_of([companies]), Relations(), params, programs=False)
        linked = next(g for g in groups if companies in g)
        groups.remove(linked)
        _company_rule(cells, companies, params)
        # proofs hold for the programs they were found in: the linked group's are larger
        cells[PROVEN] = None
        step()
        rows, among = rows_of(linked), relations.among(linked)
        # the same cells and relations each time the company rule withholds more
        table = LinkedCells(cells.loc[rows], among)
        while True:
            rounds = max(
                rounds,
                _protect_group(
                    cells,
                    rows,
                    among,
                    params,
                    keep=True,
                    threads=threads,
                    table=table,
                ),
            )
            if not _company_rule(cells, companies, params):
                break
    for group in groups:
        step()
        rounds = max(
            rounds,
            _protect_group(cells, rows_of(group), relations.among(group), params, threads=threads),
        )
    cells.loc[cells["reason"] != "", "published"] = np.nan
    cells = cells.drop(columns=PROVEN, errors="ignore")
    own = text_column(cells, "sbi", TOTAL) == TOTAL
    area, branches = cells[own].reset_index(drop=True), cells[~own].reset_index(drop=True)
    _derive(area, derived)
    return Protection(area, params, rounds, branches)


def _company_rule(cells: pd.DataFrame, companies: str, params: DisclosureParams) -> int:
    """Mark company-based cells of the finest areas (buurten) whose company count is
    withheld or published below ``min_companies`` (a function of what is published: it
    tells nothing new); return how many cells were newly marked. Wijken and gemeenten
    are large: their company figures follow the other rules."""
    mine = (cells["indicator"] == companies).to_numpy() & (
        text_column(cells, "sbi", TOTAL) == TOTAL
    )
    depth = _depth(cells["level"])
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
    )
    cells.loc[target, "reason"] = AREA_COMPANIES
    _set_protection_levels(cells, target, params)
    return int(target.sum())


def _depth(levels: pd.Series) -> np.ndarray:
    """The :data:`DEPTH` of each area level (looked up by index: ``Series.map`` over
    the strings of a national table takes a second)."""
    found = pd.Index(list(DEPTH)).get_indexer(levels)
    if (found < 0).any():
        unknown = sorted(set(levels[found < 0]))
        raise DisclosureError(f"unknown area level(s) {unknown}: expected one of {list(DEPTH)}")
    return np.array(list(DEPTH.values()))[found]


def _set_protection_levels(cells: pd.DataFrame, rows: np.ndarray, params: DisclosureParams) -> None:
    """``upper`` and ``lower`` protection of the ``rows`` (a mask), from their reasons."""
    part = cells.loc[rows]
    upper = protection_levels(part, part["reason"], params)
    cells.loc[rows, "upper"] = upper
    cells.loc[rows, "lower"] = np.minimum(upper, part["value"].abs().fillna(0))


def _protect_group(
    cells: pd.DataFrame,
    rows: np.ndarray,
    relations: Relations,
    params: DisclosureParams,
    keep: bool = False,
    threads: int = 1,
    programs: bool = True,
    table: LinkedCells | None = None,
) -> int:
    """Complements for a group of linked indicators until the attacker finds nothing;
    ``keep`` starts from the complements already chosen instead of none. Without
    ``programs`` only propagation checks (for a first pattern that a later group with
    the same cells checks in full). ``table``: the group's :class:`LinkedCells`, where
    the caller has them already."""
    frame = cells.loc[rows]
    linked = table or LinkedCells(frame, relations)
    depth = _depth(frame["level"])
    raw = frame["value"].to_numpy(dtype=float)
    # A cell unknown at the source is left out of its parent's sum (it counts as 0
    # there), and an attacker who reads the documentation treats it as exactly 0.
    unknown = np.isnan(raw)
    value = np.nan_to_num(raw)
    reason = frame["reason"].to_numpy(dtype=object)
    upper = frame["upper"].to_numpy(dtype=float)
    lower = frame["lower"].to_numpy(dtype=float)
    count = (frame["kind"] == "count").to_numpy()
    base = np.where(count, params.count_base, params.sum_base)
    half = np.where(count, half_width(params.count_base, True), half_width(params.sum_base, False))
    half = np.where(unknown, 0.0, half)
    primary_mask = np.isin(reason, PRIMARY_RULES)
    # the rests of SBI nodes are never published: withheld from the start, at no cost
    never = frame["never"].fillna(False).to_numpy(dtype=bool) if "never" in frame else False
    suppressed = primary_mask | ((reason == SECONDARY) if keep else False) | never
    need = np.where(primary_mask, upper, 0.0)
    sbi_depth = frame["sbi_depth"].to_numpy() if linked.sbi_parent is not None else None
    # Suppressions only grow from round to round, and with them what the attacker
    # cannot rule out: a cell the programs found protected stays protected.
    # A later call (``keep``, after the company rule withheld more) keeps them too, for
    # cells whose rule has not changed since: the company rule is decided on published
    # figures, so what it withholds only widens the attacker's programs.
    proven = np.zeros(len(rows), dtype=bool)
    if keep and PROVEN in frame:
        proven = (frame[PROVEN] == frame["reason"]).to_numpy(dtype=bool).copy()
    family = _family(linked)
    # what losing a cell costs: as in the complement programs, a total is dearer than
    # its parts
    kids = sum(children.ends - children.starts for children in family[0])
    cost = (1.0 + np.log1p(value)) * (1.0 + kids)
    wanted = np.maximum(upper, params.protection_min)  # the room an exposed cell needs
    was_idle = np.zeros(0, dtype=np.int64)
    last: tuple[Knowledge, tuple[np.ndarray, np.ndarray]] | None = None
    for rounds in itertools.count(1):
        suppressed, need = _complements(
            value, linked, depth, sbi_depth, suppressed, need, family[0]
        )
        suppressed &= ~unknown
        published = np.where(suppressed, np.nan, round_to_base(value, base))
        knowledge = linked.knowledge(
            np.where(unknown, 0.0, published), half, count, params.min_units
        )
        # from the second round on, only the blocks (gemeenten) where something changed
        if last is None:
            labels = block_labels(knowledge)  # the constraints stay: so do the blocks
            low, high = attacker_bounds(knowledge)
        else:
            low, high = attacker_bounds_again(knowledge, last[0], last[1], labels[1])
        last = knowledge, (low, high)
        enough = _protects(value, lower, upper, primary_mask, suppressed & ~never, params)
        # a rest of an SBI node is never published: only a primary one needs protection
        check = np.flatnonzero(primary_mask | (suppressed & ~never))
        exposed = np.zeros(len(rows), dtype=bool)
        exposed[check] = ~enough(check, low[check], high[check])
        if programs and linked.needs_programs and not exposed.any():
            # the programs only narrow, so they are asked only once propagation finds
            # nothing more: what it exposes is exposed, whatever they would say
            todo = check[~proven[check]]
            agree = _programs_agree(
                linked, knowledge, todo, low, high, enough, value, threads, labels
            )
            proven[todo], exposed[todo] = agree, ~agree
        low, high = low[: len(rows)], high[: len(rows)]
        if not exposed.any():
            break
        now = np.flatnonzero(exposed)
        before = int(suppressed.sum()), float(need.sum())
        idle = _widen(now, linked, suppressed, need, wanted, value, family)
        # what the neighbourhood could not free in two rounds, the attacker's program
        # points at
        pinned = now if rounds > MAX_ROUNDS else np.intersect1d(idle, was_idle)
        was_idle = idle
        if len(pinned):
            _unpin(
                pinned, linked, knowledge, value, lower, wanted, suppressed, unknown, cost, labels
            )
        if rounds > MAX_ROUNDS and (int(suppressed.sum()), float(need.sum())) == before:
            raise DisclosureError("disclosure control could not protect every cell")
    reason = np.where(suppressed & (reason == ""), SECONDARY, reason)
    cells.loc[rows, PROVEN] = pd.Series(reason, dtype=object).where(proven, None).to_numpy()
    cells.loc[rows, "reason"] = reason
    cells.loc[rows, "published"] = np.where(unknown, np.nan, published)
    cells.loc[rows, "attacker_low"] = np.where(suppressed, low, np.nan)
    cells.loc[rows, "attacker_high"] = np.where(suppressed, high, np.nan)
    return rounds


def _programs_agree(
    linked: LinkedCells,
    knowledge: Knowledge,
    check: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    enough: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    value: np.ndarray,
    threads: int = 1,
    labels: Labels | None = None,
) -> np.ndarray:
    """Whether the attacker's programs find each cell of ``check`` protected. Branche
    tables (two hierarchies, large blocks) are decided by solutions around the true
    values (:func:`~disclosure.audit.attacker_bounds_anchored`: a cell not shown to be
    protected gets complements); other groups as the programs decide them. ``labels``:
    the blocks of ``knowledge``, where known."""
    if linked.sbi_parent is None:
        low, high = attacker_bounds_decisive(knowledge, check, low, high, enough)
        return np.asarray(enough(check, low[check], high[check]), dtype=bool)
    bounded = Knowledge(
        low,
        high,
        knowledge.total,
        knowledge.member,
        knowledge.group,
        knowledge.small,
        knowledge.large,
    )
    anchor, free = _anchor(linked, knowledge, value)
    agree, inner_low, inner_high = attacker_bounds_anchored(
        bounded, check, anchor, enough, free, threads=threads
    )
    # what those solutions cannot show, the exact programs decide where their block
    # (a gemeente's whole table) is small enough to solve cell by cell: only the side
    # of its interval that the solutions did not settle
    left = check[~agree]
    if 0 < len(left) <= MAX_EXACT_CELLS:
        sides = needed_sides(enough, left, inner_low[~agree], inner_high[~agree])
        lo, hi, solved = attacker_bounds_within(
            bounded, left, low, high, MAX_EXACT_BLOCK, threads, sides, labels
        )
        found = np.asarray(enough(left[solved], lo[left[solved]], hi[left[solved]]))
        agree[np.flatnonzero(~agree)[solved]] = found
    return agree


def _complements(
    value: np.ndarray,
    linked: LinkedCells,
    depth: np.ndarray,
    sbi_depth: np.ndarray | None,
    suppressed: np.ndarray,
    need: np.ndarray,
    children: list[Children],
) -> tuple[np.ndarray, np.ndarray]:
    """Complementary suppressions over the area hierarchy, and for branche tables over
    the SBI hierarchy too: each in turn, until neither adds any (the subtables of one
    dimension are protected one at a time, as tau-Argus's modular method does; the
    attacker's programs then check the table as a whole). ``children``: of each
    hierarchy, as :func:`_family` has them."""
    while True:
        before = suppressed.copy()
        suppressed, need = suppress_complements(
            value, linked.parent, depth, suppressed, need, children[0]
        )
        if linked.sbi_parent is None or sbi_depth is None:
            return suppressed, need
        suppressed, need = suppress_complements(
            value, linked.sbi_parent, sbi_depth, suppressed, need, children[1]
        )
        if np.array_equal(before, suppressed):
            return suppressed, need


def _protects(
    value: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    primary: np.ndarray,
    suppressed: np.ndarray,
    params: DisclosureParams,
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Whether an interval of cells ``i`` protects them: it covers a primary cell's
    protection interval, and a withheld cell's is at least ``protection_min`` wide."""

    def enough(i: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        covers = protected(value[i], lower[i], upper[i], low, high)
        wide = high - low >= params.protection_min - 1e-6
        return np.where(primary[i], covers, True) & np.where(suppressed[i], wide, True)

    return enough


def _sibling(
    i: int, parent: np.ndarray, children: Children, suppressed: np.ndarray, value: np.ndarray
) -> int:
    """The smallest published, non-zero sibling of cell ``i`` in a hierarchy, else its
    parent (-1 at the top)."""
    if parent[i] < 0:
        return -1
    siblings = children.of(int(parent[i]))
    siblings = siblings[~suppressed[siblings] & (value[siblings] > 0) & (siblings != i)]
    return int(siblings[np.argmin(value[siblings])]) if len(siblings) else int(parent[i])


def _family(linked: LinkedCells) -> tuple[list[Children], dict[int, list[int]]]:
    """The children of every cell in each hierarchy, and its relation partners: what
    :func:`_widen` looks up, built once per group of linked indicators."""
    parents = [linked.parent] + ([linked.sbi_parent] if linked.sbi_parent is not None else [])
    return [Children(p) for p in parents], _relation_partners(linked)


def _relation_partners(linked: LinkedCells) -> dict[int, list[int]]:
    """Per cell, the cells a relation between indicators ties it to: the other side of
    a subset pair, the total of a relation sum it is in, the members of one it totals."""
    partners: dict[int, list[int]] = {}
    for a, b in zip(linked.small.tolist(), linked.large.tolist()):
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    relation = linked.group >= linked.n_tree_groups
    for member, group in zip(linked.member[relation].tolist(), linked.group[relation].tolist()):
        total = int(linked.total[group])
        partners.setdefault(member, []).append(total)
        partners.setdefault(total, []).append(member)
    return partners


def _widen(
    exposed: np.ndarray,
    linked: LinkedCells,
    suppressed: np.ndarray,
    need: np.ndarray,
    wanted: np.ndarray,
    value: np.ndarray,
    family: tuple[list[Children], dict[int, list[int]]],
) -> np.ndarray:
    """Withhold what pins each exposed cell down: its parent, its children, and the
    cells of related indicators in the same area; each must hide as much as it needs.
    Returns the exposed cells for which none of that was new."""
    two_way = linked.sbi_parent is not None
    parents = [linked.parent] + ([linked.sbi_parent] if linked.sbi_parent is not None else [])
    children, related = family
    idle = []
    for i in exposed:
        # in a branche table a parent is a large total (the gemeente, all branches):
        # the smallest published sibling that hides anything is the cheaper complement
        partners = [
            _sibling(i, p, kids, suppressed, value) if two_way else int(p[i])
            for p, kids in zip(parents, children)
        ]
        before = int(suppressed.sum()), float(need.sum())
        for kids_of in children:
            kids = kids_of.of(int(i))
            if len(kids) and not suppressed[kids].any():
                if not two_way:
                    suppressed[kids] = True
                else:  # all sections of an area would be a heavy price: the smallest
                    shown = kids[value[kids] > 0]
                    suppressed[shown[np.argmin(value[shown])] if len(shown) else kids] = True
        partners += related.get(int(i), [])
        for q in partners:
            if 0 <= q < len(suppressed) and q != i:  # not the hidden rest cells
                suppressed[q] = True
                need[q] = max(need[q], wanted[i])
                if two_way:
                    _share_down(q, children, suppressed, need, value)
        if (int(suppressed.sum()), float(need.sum())) == before:
            idle.append(int(i))
    return np.array(idle, dtype=np.int64)


def _unpin(
    cells: np.ndarray,
    linked: LinkedCells,
    knowledge: Knowledge,
    value: np.ndarray,
    lower: np.ndarray,
    wanted: np.ndarray,
    suppressed: np.ndarray,
    unknown: np.ndarray,
    cost: np.ndarray,
    labels: Labels | None = None,
    passes: int = 8,
) -> None:
    """Withhold the published cells that the attacker's program shows to pin each of
    ``cells`` (:func:`~disclosure.audit.attacker_pins`), and again where the next
    constraint pins it (``passes`` times at most).

    The constraints that bind at a cell's bound hold it in series (its wijk is its
    gemeente minus the other wijken, and those are the sum of their buurten): relaxing
    one of them gives it room. Per cell that is the cheapest one (``cost``): one cell
    that may rise, or the smallest cells that together can fall as far as the cell
    still lacks. The program is the anchored one of :func:`_programs_agree` (published
    cells at their true values), narrower than the attacker's: what frees a cell
    there frees it for the attacker. ``labels``: the blocks of ``knowledge``, where
    known.
    """
    low, high = knowledge.low.copy(), knowledge.high.copy()
    for _ in range(passes):
        # the attacker's knowledge with what this has withheld so far
        now = dataclasses.replace(knowledge, low=low, high=high)
        anchor, free = _anchor(linked, now, value)
        # room above first; a primary cell that has it may lack room below
        pins = attacker_pins(now, anchor, free, cells, -np.ones(len(cells)), labels)
        lacking = value[cells] + wanted[cells] - np.array([p.bound for p in pins])
        below = np.flatnonzero(~(lacking > 1e-6) & (lower[cells] > 0))
        if len(below):
            for k, p in zip(
                below, attacker_pins(now, anchor, free, cells[below], np.ones(len(below)), labels)
            ):
                pins[k], lacking[k] = p, p.bound - (value[cells[k]] - lower[cells[k]])
        withheld = suppressed | unknown
        chosen = [
            _relaxed(p, short, value, cost, withheld)
            for p, short in zip(pins, lacking)
            if short > 1e-6
        ]
        more = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *chosen]))
        if not len(more):
            return
        suppressed[more] = True
        low[more], high[more] = 0.0, np.inf
        cells = cells[lacking > 1e-6]


def _relaxed(
    p: Pins, short: float, value: np.ndarray, cost: np.ndarray, withheld: np.ndarray
) -> np.ndarray:
    """The cheapest published cells whose withholding relaxes one binding constraint
    of ``p`` (none where every pinning cell is withheld already)."""
    usable = np.zeros(len(p.cells), dtype=bool)
    inside = p.cells < len(value)  # not the hidden rest cells
    usable[inside] = ~withheld[p.cells[inside]]
    options = [
        _relaxation(p, usable & (p.item == item), value, cost, short)
        for item in np.unique(p.item[usable])
    ]
    return min(options, key=lambda option: option[0])[1] if options else p.cells[:0]


def _relaxation(
    p: Pins, mine: np.ndarray, value: np.ndarray, cost: np.ndarray, short: float
) -> tuple[float, np.ndarray]:
    """The cheapest cells of one binding constraint that relax it, and their cost: the
    cheapest that may rise, else the smallest that can fall by ``short`` together
    (all of them, at a penalty, if they cannot)."""
    rise = p.cells[mine & (p.direction > 0)]
    if len(rise):
        best = rise[np.argmin(cost[rise])]
        return float(cost[best]), np.array([best])
    fall = p.cells[mine & (p.direction < 0)]
    fall = fall[value[fall] > 0]
    fall = fall[np.argsort(value[fall], kind="stable")]
    enough = int(np.searchsorted(np.cumsum(value[fall]), max(short, 0.0))) + 1
    penalty = 0.0 if enough <= len(fall) else float(cost.sum())
    return float(cost[fall[:enough]].sum()) + penalty, fall[:enough]


def _anchor(
    linked: LinkedCells, knowledge: Knowledge, value: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The anchored programs' known solution (the true values, and the rests of the
    subset pairs) and the cells that move in them: the withheld ones, and an area's
    own cells within their rounding (a small part of a branche table, on which the
    protection of the area layers rests); branche cells are held as published."""
    anchor = np.r_[value, value[linked.large] - value[linked.small]]
    free = np.isinf(knowledge.high) | np.r_[linked.own, np.zeros(linked.n_hidden, dtype=bool)]
    return anchor, free


def _share_down(
    q: int,
    children: list[Children],
    suppressed: np.ndarray,
    need: np.ndarray,
    value: np.ndarray,
    levels: int = 3,
) -> None:
    """A complement ``q`` hides its need only if its withheld children (in either
    hierarchy) can move that much: they share it, the largest first, each as much of
    its value as is still to hide, and pass it on to theirs (``levels`` deep). Without
    this a withheld child pinned from below keeps the complement pinned, round after
    round (a branche table's wijk total whose withheld section has published
    divisions)."""
    if levels == 0:
        return
    for kids_of in children:
        kids = kids_of.of(q)
        kids = kids[suppressed[kids]]
        still = need[q]
        for k in kids[np.argsort(-value[kids], kind="stable")]:
            if still <= 0:
                break
            share = min(value[k], still)
            still -= share
            if share > need[k]:
                need[k] = share
                _share_down(int(k), children, suppressed, need, value, levels - 1)


def _derive(cells: pd.DataFrame, derived: pd.DataFrame) -> None:
    """Suppress and recompute rates and shares of sensitive counts from published parts."""
    if not len(derived):
        return
    key = pd.MultiIndex.from_arrays([cells["indicator"], cells["level"], cells["code"]])
    published = pd.Series(cells["published"].where(cells["reason"] == "").to_numpy(), index=key)
    hidden = pd.Series((cells["reason"] != "").to_numpy(), index=key)
    for spec in derived.itertuples(index=False):
        rows = np.flatnonzero((cells["indicator"] == spec.indicator).to_numpy())
        levels, codes = cells["level"].to_numpy()[rows], cells["code"].to_numpy()[rows]
        num_key = pd.MultiIndex.from_arrays([[spec.numerator] * len(rows), levels, codes])
        den_key = pd.MultiIndex.from_arrays([[spec.denominator] * len(rows), levels, codes])
        num = published.reindex(num_key).to_numpy(dtype=float)
        den = published.reindex(den_key).to_numpy(dtype=float)
        gone = hidden.reindex(num_key).fillna(False).to_numpy(dtype=bool) | hidden.reindex(
            den_key
        ).fillna(False).to_numpy(dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(den > 0, num / den * spec.per, np.nan)
        current = cells["reason"].to_numpy(dtype=object)[rows]
        cells.loc[rows, "reason"] = np.where(gone & (current == ""), DERIVED, current)
        cells.loc[rows, "published"] = value
