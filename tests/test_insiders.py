"""disclosure/insiders.py: the unit behind a singleton knows its own cell; the
protection holds against it too (tau-Argus's singleton protection)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_disclosure import NO_DERIVED, NO_SIZES, table
from zicht.disclosure import DisclosureParams, LinkedCells, Relations, protect
from zicht.disclosure.group import GroupCells
from zicht.disclosure.insiders import Edges, coalition_cells, insiders_pin
from zicht.disclosure.knowledge import protected
from zicht.disclosure.programs import attacker_bounds_lp
from zicht.disclosure.propagation import Incidence, attacker_bounds, attacker_bounds_near
from zicht.disclosure.rules import PRIMARY_RULES

SUBSET = Relations(subsets=(("part", "all"),))


def two_counts(wijken: list[list[tuple[int, int]]]) -> pd.DataFrame:
    """``all`` and its subset ``part`` per buurt, with as many units as records."""
    return pd.concat(
        [
            table([[a for a, _ in w] for w in wijken], indicator="all"),
            table([[min(p, a) for a, p in w] for w in wijken], indicator="part"),
        ],
        ignore_index=True,
    )


def knowledge_of(cells: pd.DataFrame, published: np.ndarray, relations: Relations):
    """The outsider's knowledge of ``published`` (rounding to 5, the demo's rules)."""
    return LinkedCells(cells, relations).knowledge(published, 2.0, True, 10)


def insider_exposures(cells: pd.DataFrame, out: pd.DataFrame, relations: Relations) -> list:
    """Written apart from disclosure.insiders, with the exact programs (HiGHS): for
    each withheld cell with one unit, the primary cells that the attacker's linear
    programs pin narrower than their protection once that cell's value is known. The
    unit's own cells (its indicator and smaller ones in its area and below, and cells
    that hold it with that one unit) are left out; of the cells that hold it, what must
    stay protected is the others' part."""
    knowledge = knowledge_of(cells, out["published"].to_numpy(), relations)
    n = len(cells)
    withheld = out["reason"].ne("").to_numpy()
    unsafe = np.flatnonzero(out["reason"].isin(PRIMARY_RULES).to_numpy())
    value, units = cells["value"].to_numpy(float), cells["units"].to_numpy(float)
    smaller = {(a, b) for a, b in relations.subsets}
    found = []
    for s in np.flatnonzero(withheld & (units == 1)):
        low, high = knowledge.low.copy(), knowledge.high.copy()
        low[s] = high[s] = value[s]
        mine = _own(cells, s, units, smaller)
        low[:n][mine] = high[:n][mine] = value[mine]
        targets = unsafe[~mine[unsafe]]
        if not len(targets):
            continue
        a, b = attacker_bounds_lp(knowledge.within(low, high), targets)
        records = np.flatnonzero(mine & (units >= 1))  # its cells with its records
        holds = np.array([any(_holds(cells, t, j, smaller) for j in records) for t in targets])
        part = np.where(holds, value[s], 0.0)  # (at least) its part of the cells that hold it
        rest = value[targets] - part
        ok = protected(
            rest,
            np.minimum(out["lower"].to_numpy()[targets], rest),
            out["upper"].to_numpy()[targets],
            a - part,
            b - part,
        )
        found += [(int(s), int(t)) for t in targets[~ok]]
    return found


def _own(cells: pd.DataFrame, s: int, units: np.ndarray, smaller: set) -> np.ndarray:
    """The cells made only of the records of the one unit of ``s``: those ``s`` holds,
    and, in turn, those that hold one of them with one unit (that unit is this one)
    and what those hold."""
    n = len(cells)
    mine = np.array([_holds(cells, s, i, smaller) for i in range(n)])
    while True:
        more = [
            i
            for i in range(n)
            if not mine[i]
            and units[i] == 1
            and any(_holds(cells, i, j, smaller) for j in np.flatnonzero(mine & (units >= 1)))
        ]
        if not more:
            return mine
        for i in more:
            mine |= np.array([_holds(cells, i, j, smaller) for j in range(n)])


def _holds(cells: pd.DataFrame, big: int, small: int, smaller: set) -> bool:
    """Whether cell ``big`` holds every record of cell ``small``: the same or a larger
    indicator, the same area or one around it."""
    ind, code = cells["indicator"].to_numpy(), cells["code"].to_numpy()
    same = ind[big] == ind[small] or (ind[small], ind[big]) in smaller
    area = code[small] == code[big] or (
        code[big].startswith("WK")
        and code[small].startswith("BU")
        and code[small][2:8] == code[big][2:8]
    )
    area |= code[big].startswith("GM") and code[small][2:6] == code[big][2:6]
    return bool(same and area)


def test_the_singleton_case_tau_argus_guards():
    # two buurten of one wijk withheld, one of them a single company: the outsider
    # cannot split what the wijk leaves for them (21, give or take the rounding of the
    # wijk), its one company can (about 20 for the other)
    cells = table([[1, 20, 40, 45], [12, 30, 30]])
    published = cells["value"].to_numpy(float).copy()
    withheld = cells["code"].isin(["BU00010000", "BU00010001"]).to_numpy()
    published[withheld] = np.nan
    linked = LinkedCells(cells, Relations())
    knowledge = linked.knowledge(published, 0.0, True, 10)  # published exactly
    frame = cells.assign(
        reason=np.where(withheld, "frequency", ""),
        upper=np.where(withheld, [3.0, 1.0] + [0.0] * (len(cells) - 2), 0.0),
        lower=np.where(withheld, [1.0, 1.0] + [0.0] * (len(cells) - 2), 0.0),
    )
    group = GroupCells.of(frame, linked, DisclosureParams())
    outsider = attacker_bounds(knowledge)
    low, high = outsider[0][:2], outsider[1][:2]  # [0, 21] each
    assert protected(np.array([1.0, 20.0]), 1.0, np.array([3.0, 1.0]), low, high).all()
    found = insiders_pin(group, knowledge, outsider, withheld, [(0,)])
    assert [(f.coalition, f.pinned.tolist()) for f in found] == [((0,), [1])]
    # and protect() withholds more, until its one unit pins nothing
    out = protect(cells, NO_SIZES, NO_DERIVED)
    assert insider_exposures(cells, out.cells, Relations()) == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wijken=st.lists(
        st.lists(
            st.tuples(
                st.one_of(st.just(1), st.integers(0, 9), st.integers(10, 60)), st.integers(0, 12)
            ),
            min_size=2,
            max_size=5,
        ),
        min_size=2,
        max_size=4,
    )
)
def test_no_singleton_insider_pins_a_cell_the_exact_programs_would_find(wijken):
    cells = two_counts(wijken)
    out = protect(cells, NO_SIZES, NO_DERIVED, relations=SUBSET)
    assert len(out.failures) == 0
    assert insider_exposures(cells, out.cells, SUBSET) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wijken=st.lists(
        st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=5),
        min_size=1,
        max_size=4,
    ),
    data=st.data(),
)
def test_propagating_from_a_few_known_cells_reaches_the_same_bounds(wijken, data):
    cells = two_counts(wijken)
    value = cells["value"].to_numpy(float)
    withheld = np.array(
        data.draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells)))
    )
    # rounding only (no publication rules: the values need not pass them here)
    linked = LinkedCells(cells, SUBSET)
    knowledge = linked.knowledge(np.where(withheld, np.nan, value), 2.0, False, 10)
    low, high = attacker_bounds(knowledge)
    fixed = [np.flatnonzero(withheld & (np.arange(len(cells)) % 3 == j)) for j in range(3)]
    near_low, near_high, moved = attacker_bounds_near(
        knowledge.within(low, high), fixed, [value[f] for f in fixed], Incidence.of(knowledge)
    )
    for j, f in enumerate(fixed):
        k_low, k_high = low.copy(), high.copy()
        k_low[f] = k_high[f] = value[f]
        again_low, again_high = attacker_bounds(knowledge.within(k_low, k_high))
        np.testing.assert_allclose(near_low[j], again_low, atol=1e-9)
        np.testing.assert_allclose(near_high[j], again_high, atol=1e-9)
        # every cell whose interval moved is named as moved
        changed = (again_low != low) | (again_high != high)
        assert set(np.flatnonzero(changed)) <= set(moved[j].tolist())


def test_without_the_insider_step_the_exact_insider_finds_a_cell(monkeypatch):
    """The control: protected against the outsider alone, a table where the one unit of
    a withheld cell pins another (found by a random search)."""
    from zicht.disclosure.search import Search

    def no_insiders(self, knowledge):
        return False, np.zeros(len(self.group.value), dtype=bool)

    wijken = [[(2, 1), (4, 7), (0, 10)], [(1, 4), (2, 2), (1, 4), (1, 2)]]
    cells = two_counts(wijken)
    assert (
        insider_exposures(
            cells, protect(cells, NO_SIZES, NO_DERIVED, relations=SUBSET).cells, SUBSET
        )
        == []
    )
    monkeypatch.setattr(Search, "ask_insiders", no_insiders)
    outsider_only = protect(cells, NO_SIZES, NO_DERIVED, relations=SUBSET)
    assert len(outsider_only.failures) == 0
    assert insider_exposures(cells, outsider_only.cells, SUBSET) != []


def test_two_insiders_know_the_cells_of_their_records_not_every_empty_cell():
    # wijk 0 holds the two singletons and an empty buurt: its two units are theirs, so
    # it is theirs alone, and so is its empty buurt; the empty buurt of wijk 1 holds
    # none of their records, and they cannot know it is empty
    cells = table([[1, 1, 0], [0, 12]])
    frame = cells.assign(reason="", upper=0.0, lower=0.0)
    group = GroupCells.of(frame, LinkedCells(cells, Relations()), DisclosureParams())
    pair = coalition_cells(group, (0, 1), Edges.of(group), {})
    codes = cells["code"].to_numpy()
    assert set(codes[pair.own]) == {"BU00010000", "BU00010001", "BU00010002", "WK000100"}
    assert codes[pair.holding].tolist() == ["GM0001"]
    assert pair.part.tolist() == [2.0]  # their two records of the gemeente's 14


def _their_part_reference(group, own, holding, edges) -> np.ndarray:
    """The insiders' part of each holding cell as a fixed point, pass after pass over
    the cells in position order (as disclosure.insiders did before it ordered them): a
    whole at least the sum of its parts in one way it splits, and a cell that is all of
    a whole as much as the whole."""
    part = np.where(own, group.value, 0.0)
    cells = np.flatnonzero(holding)
    while True:
        before = part.copy()
        for c in cells:
            for parts in edges.splits[c]:
                part[c] = max(part[c], part[parts].sum())
            for p in edges.sole[c]:
                if holding[p]:
                    part[p] = max(part[p], part[c])
        if np.array_equal(before, part):
            return part[cells]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wijken=st.lists(
        st.lists(
            st.tuples(st.one_of(st.just(1), st.integers(0, 30)), st.integers(0, 30)),
            min_size=1,
            max_size=4,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_the_part_in_one_pass_is_the_fixed_point(wijken):
    cells = two_counts(wijken)
    frame = cells.assign(reason="", upper=0.0, lower=0.0)
    group = GroupCells.of(frame, LinkedCells(cells, SUBSET), DisclosureParams())
    edges = Edges.of(group)
    assert not edges.cyclic
    known: dict = {}
    for s in np.flatnonzero(group.units == 1):
        mine = coalition_cells(group, (int(s),), edges, known)
        own, holding = np.zeros(len(cells), bool), np.zeros(len(cells), bool)
        own[mine.own], holding[mine.holding] = True, True
        expected = _their_part_reference(group, own, holding, edges)
        np.testing.assert_array_equal(mine.part, expected)


def test_a_unit_knows_that_the_only_buurt_of_its_wijk_holds_its_record():
    # the singleton is a company of division 01 in wijk 0, whose one buurt is all of
    # it: that buurt holds the company's record (it knows where it is), the buurten of
    # wijk 1 do not; a check that took the buurt for someone else's asked to protect
    # the others' part below the company's own record, which no pattern can
    from tests.test_branches import two_way

    cells = two_way(np.array([[1, 0, 3, 4], [2, 5, 0, 6]]))
    totals = cells[(cells["sbi"] == "totaal") & (cells["level"] == "wijk")]
    buurten = [("BU00010000", "WK000100", 8.0), ("BU00010100", "WK000101", 6.0)]
    buurten += [("BU00010101", "WK000101", 7.0)]
    rows = [
        totals.iloc[0].to_dict() | dict(level="buurt", code=code, parent=wijk, value=v, units=v)
        for code, wijk, v in buurten
    ]
    cells = pd.concat([cells, pd.DataFrame(rows)], ignore_index=True)
    frame = cells.assign(reason="", upper=0.0, lower=0.0)
    group = GroupCells.of(frame, LinkedCells(cells, Relations()), DisclosureParams())
    singleton = cells.index[(cells["code"] == "WK000100") & (cells["sbi"] == "01")][0]
    mine = coalition_cells(group, (int(singleton),), Edges.of(group), {})
    part = dict(zip(cells["code"].to_numpy()[mine.holding], mine.part))
    assert part.get("BU00010000") == 1.0
    assert "BU00010100" not in part and "BU00010101" not in part
