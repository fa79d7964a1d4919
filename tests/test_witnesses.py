"""Witness solutions with a known truth (:class:`disclosure.witnesses.Reach`): the
protection loop pushes each cell only as far as its protection needs, so that the
cells of one sum share its room. The verdict must stay the exact programs' verdict,
and every witness must stay a solution of the attacker's own program."""

from __future__ import annotations

from types import SimpleNamespace

import highspy
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse

from tests.test_disclosure import CHAINED, chained_table, table
from zicht.disclosure import LinkedCells, Relations
from zicht.disclosure.programs import attacker_bounds_lp, constraints, highs_model, linear_bounds
from zicht.disclosure.propagation import attacker_bounds
from zicht.disclosure.rounding import round_to_base
from zicht.disclosure.search import protection_criterion
from zicht.disclosure.witnesses import (
    Reach,
    _solved_bounded,
    attacker_bounds_anchored,
    attacker_bounds_decisive,
    witnessed,
)
from zicht.errors import DisclosureError

PROTECTION_MIN = 3.0


def _criterion(value, lower, upper, primary, withheld):  # type: ignore[no-untyped-def]
    """What the protection loop asks, and its Reach."""
    return protection_criterion(value, lower, upper, primary, withheld, PROTECTION_MIN)


def _chained(wijken, data):  # type: ignore[no-untyped-def]
    """A table with cycles of constraints (two subsets of one indicator, one of them
    chained), cells withheld at random, primaries among them with protection levels."""
    cells = chained_table(wijken, data)
    value = cells["value"].to_numpy()
    n = len(cells)
    primary = (value > 0) & (value < 10)
    withheld = primary | np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    upper = np.where(
        primary,
        np.array(data.draw(st.lists(st.sampled_from([1.0, 3.0, 8.0]), min_size=n, max_size=n))),
        0.0,
    )
    lower = np.minimum(upper, value)
    published = np.where(withheld, np.nan, round_to_base(value, 5))
    knowledge = LinkedCells(cells, CHAINED).knowledge(published, 2.0, True, 10)
    return value, knowledge, withheld, primary, lower, upper


table_values = st.lists(
    st.lists(st.sampled_from([0, 1, 3, 8, 10, 14, 25, 40]), min_size=1, max_size=5),
    min_size=1,
    max_size=3,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wijken=table_values, data=st.data())
def test_pushing_cells_only_as_far_as_they_need_keeps_the_programs_verdict(wijken, data):
    """With the truth known, the decisive verdict is the exact programs' verdict, for
    any number of witnesses, and the solver is left as it came (the cells the
    witnesses leave are solved on it: their bounds are the programs' own)."""
    value, knowledge, withheld, primary, lower, upper = _chained(wijken, data)
    enough, reach = _criterion(value, lower, upper, primary, withheld)
    asked = np.flatnonzero(withheld)
    low, high = attacker_bounds(knowledge)
    lp_low, lp_high = attacker_bounds_lp(knowledge, asked)
    witnesses = data.draw(st.sampled_from([1, 2, 3, 100]))
    d_low, d_high = attacker_bounds_decisive(
        knowledge, asked, low, high, enough, witnesses, reach=reach
    )
    np.testing.assert_array_equal(
        enough(asked, d_low[asked], d_high[asked]), enough(asked, lp_low, lp_high)
    )
    exact = np.isclose(d_low[asked], lp_low, atol=1e-6) & np.isclose(
        d_high[asked], lp_high, atol=1e-6
    )
    outer = (d_low[asked] == low[asked]) & (d_high[asked] == high[asked])
    assert (exact | outer).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wijken=table_values, data=st.data())
def test_anchored_witnesses_with_a_reach_prove_only_what_the_programs_prove(wijken, data):
    """The anchored search (branche tables) with a reach: a cell it finds enough is
    enough by the exact programs, and its range lies inside the exact interval (each
    witness solves the attacker's program: never a bound past the attacker's own)."""
    value, knowledge, withheld, primary, lower, upper = _chained(wijken, data)
    enough, reach = _criterion(value, lower, upper, primary, withheld)
    low, high = attacker_bounds(knowledge)
    bounded = knowledge.within(low, high)
    asked = np.flatnonzero(withheld)
    anchor = np.r_[value, np.zeros(len(bounded.low) - len(value))]
    lp_low, lp_high = attacker_bounds_lp(bounded, asked)
    agree, seen_low, seen_high = attacker_bounds_anchored(
        bounded,
        asked,
        anchor,
        enough,
        np.r_[withheld, np.ones(len(bounded.low) - len(value), dtype=bool)],
        reach=reach,
    )
    assert enough(asked[agree], lp_low[agree], lp_high[agree]).all()
    found = seen_low <= seen_high
    assert (seen_low[found] >= lp_low[found] - 1e-6).all()
    assert (seen_high[found] <= lp_high[found] + 1e-6).all()


def test_cells_of_one_sum_share_its_room():
    """Twelve withheld buurten of one wijk, each a primary needing 3 either way: pushed
    to their ends, one cell takes all the room of the sum per program, and four
    witnesses decide few; pushed only as far as they need, four decide them all."""
    values = [[4, 5, 6, 4, 5, 6, 4, 5, 6, 4, 5, 6], [40]]
    cells = table(values)
    value = cells["value"].to_numpy()
    primary = cells["level"].eq("buurt").to_numpy() & np.isin(np.arange(len(cells)), range(12))
    withheld = primary.copy()
    withheld[13] = True  # the second wijk: its own buurt stays the complement
    withheld[12] = True  # and the first wijk's buurten are held by their wijk alone
    upper = np.where(primary, 3.0, 0.0)
    lower = np.minimum(upper, value)
    published = np.where(withheld, np.nan, round_to_base(value, 5))
    knowledge = LinkedCells(cells, Relations()).knowledge(published, 2.0, True, 10)
    enough, reach = _criterion(value, lower, upper, primary, withheld)
    asked = np.flatnonzero(primary)
    low, high = attacker_bounds(knowledge)
    verdict = enough(asked, *attacker_bounds_lp(knowledge, asked))
    assert verdict.all()  # the exact programs find every buurt protected

    def decided_by_witnesses(r: Reach | None) -> int:
        bounded = knowledge.within(low, high)
        done = witnessed(highs_model(bounded), bounded, asked, asked, enough, 4, reach=r)[0]
        return int(done.sum())

    assert decided_by_witnesses(reach) == len(asked)
    assert decided_by_witnesses(None) < len(asked) // 2


class _Recorded:
    """A HiGHS solver that keeps every column bound it is given and every solution it
    gives (the rest passes through)."""

    def __init__(self, solver: highspy.Highs) -> None:
        self.solver = solver
        self.bounds: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.solutions: list[np.ndarray] = []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.solver, name)

    def changeColsBounds(self, n, cols, low, high):  # type: ignore[no-untyped-def]
        self.bounds.append((np.array(cols), np.array(low, float), np.array(high, float)))
        return self.solver.changeColsBounds(n, cols, low, high)

    def getSolution(self):  # type: ignore[no-untyped-def]
        solution = self.solver.getSolution()
        self.solutions.append(np.array(solution.col_value))
        return solution


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wijken=table_values, data=st.data())
def test_every_witness_solves_the_attackers_own_program(wijken, data):
    """The soundness of a reach, directly: every bound a witness program is given lies
    within the program's own, every witness satisfies the attacker's constraints and
    bounds, and the solver ends with its own bounds and no costs (the exact programs
    solve on it next)."""
    value, knowledge, withheld, primary, lower, upper = _chained(wijken, data)
    enough, reach = _criterion(value, lower, upper, primary, withheld)
    bounded = knowledge.within(*attacker_bounds(knowledge))
    asked = np.flatnonzero(withheld)
    solver = _Recorded(highs_model(bounded))
    before = solver.getLp()
    own_low, own_high = np.array(before.col_lower_), np.array(before.col_upper_)
    witnessed(
        solver, bounded, asked, asked, enough, data.draw(st.sampled_from([2, 100])), reach=reach
    )  # type: ignore[arg-type]
    for cols, low, high in solver.bounds:
        assert (low >= own_low[cols] - 1e-9).all() and (high <= own_high[cols] + 1e-9).all()
    rows, cols, coefficients, row_low, row_high = constraints(bounded)
    a = sparse.csr_matrix((coefficients, (rows, cols)), shape=(len(row_low), len(own_low)))
    for x in solver.solutions:
        assert (x >= own_low - 1e-6).all() and (x <= own_high + 1e-6).all()
        sums = a @ x
        assert (sums >= row_low - 1e-6).all() and (sums <= row_high + 1e-6).all()
    after = solver.getLp()
    np.testing.assert_array_equal(after.col_lower_, own_low)
    np.testing.assert_array_equal(after.col_upper_, own_high)
    assert not np.any(after.col_cost_)


class _FirstUnbounded:
    """A solver whose first solve from a warm basis wrongly ends unbounded (HiGHS did,
    on a national branche table of euros and counts) and whose solve afresh does not,
    unless it ``always`` does, or does only with presolve (``presolved``)."""

    def __init__(self, always: bool = False, presolved: bool = False) -> None:
        self.always = always
        self.presolved = presolved
        self.presolve = "off"
        self.cleared = False
        self.status = highspy.HighsModelStatus.kNotset

    def setOptionValue(self, name: str, value: object) -> None:
        if name == "presolve":
            self.presolve = str(value)

    def changeColCost(self, *_: object) -> None:
        pass

    def clearSolver(self) -> None:
        self.cleared = True

    def run(self) -> None:
        status = highspy.HighsModelStatus
        bounded = self.cleared and not self.always and (self.presolve == "on" or not self.presolved)
        self.status = status.kOptimal if bounded else status.kUnbounded

    def getModelStatus(self) -> highspy.HighsModelStatus:
        return self.status

    def getInfo(self):  # type: ignore[no-untyped-def]
        return SimpleNamespace(objective_function_value=7.0)


def test_a_minimum_that_ends_unbounded_from_the_last_basis_is_solved_afresh():
    """A cell's minimum cannot run off (the cells are at least 0): an unbounded end
    from the last basis is solved again from scratch before it is called an error."""
    solver = _FirstUnbounded()
    low, high = linear_bounds(solver, np.array([0]), (np.array([True]), np.array([False])))  # type: ignore[arg-type]
    assert solver.cleared and low[0] == 7.0 and np.isnan(high[0])
    with pytest.raises(DisclosureError, match="no lower bound"):  # and afresh too
        linear_bounds(
            _FirstUnbounded(always=True), np.array([0]), (np.array([True]), np.array([False]))
        )  # type: ignore[arg-type]


def test_a_maximum_that_ends_unbounded_from_the_last_basis_is_solved_afresh():
    """An unbounded maximum read wrongly would call any cell protected: it is solved
    again from scratch, and infinite only where that ends unbounded too."""
    maximum = (np.array([False]), np.array([True]))
    solver = _FirstUnbounded()
    low, high = linear_bounds(solver, np.array([0]), maximum)  # type: ignore[arg-type]
    assert solver.cleared and high[0] == -7.0 and np.isnan(low[0])
    low, high = linear_bounds(_FirstUnbounded(always=True), np.array([0]), maximum)  # type: ignore[arg-type]
    assert high[0] == np.inf


def test_a_witness_that_ends_unbounded_from_the_last_basis_is_solved_afresh():
    """A witness is read only from a bounded solution: an unbounded end from the last
    basis is solved again from scratch (and with presolve), as the exact programs do,
    and a program that stays unbounded leaves its cells to the exact programs."""
    solver = _FirstUnbounded()
    assert _solved_bounded(solver) and solver.cleared  # type: ignore[arg-type]
    assert _solved_bounded(_FirstUnbounded(presolved=True))  # type: ignore[arg-type]
    assert not _solved_bounded(_FirstUnbounded(always=True))  # type: ignore[arg-type]
