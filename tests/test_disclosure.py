"""disclosure/: primary rules, complementary suppression, rounding and the attacker's audit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zicht.disclosure import DisclosureParams, Knowledge, LinkedCells, Relations, attack, protect
from zicht.disclosure.knowledge import block_labels, protected, published_interval
from zicht.disclosure.pins import attacker_pins
from zicht.disclosure.programs import attacker_bounds_lp
from zicht.disclosure.propagation import attacker_bounds, attacker_bounds_again
from zicht.disclosure.rounding import half_width, round_to_base
from zicht.disclosure.rules import primary
from zicht.disclosure.witnesses import attacker_bounds_decisive

NO_DERIVED = pd.DataFrame(columns=["indicator", "numerator", "denominator", "per"])
NO_SIZES = pd.DataFrame(
    {"inhabitants": [], "households": []},
    index=pd.MultiIndex.from_tuples([], names=["level", "code"]),
)


def table(
    wijken: list[list[int]],
    units: list[list[int]] | None = None,
    indicator: str = "x",
    kind: str = "count",
    unit_type: str = "company",
) -> pd.DataFrame:
    """A one-gemeente hierarchical table from buurt values per wijk."""
    rows = []
    for w, values in enumerate(wijken):
        wijk = f"WK0001{w:02d}"
        for b, v in enumerate(values):
            u = units[w][b] if units else v
            rows.append(
                dict(
                    level="buurt",
                    code=f"BU0001{w:02d}{b:02d}",
                    parent=wijk,
                    value=float(v),
                    units=float(u),
                )
            )
        rows.append(
            dict(
                level="wijk",
                code=wijk,
                parent="GM0001",
                value=float(sum(values)),
                units=float(sum(units[w]) if units else sum(values)),
            )
        )
    total = sum(sum(v) for v in wijken)
    all_units = sum(sum(u) for u in units) if units else total
    rows.append(
        dict(
            level="gemeente", code="GM0001", parent=None, value=float(total), units=float(all_units)
        )
    )
    cells = pd.DataFrame(rows)
    cells["indicator"], cells["kind"], cells["sensitive"] = indicator, kind, True
    cells["unit_type"] = unit_type
    cells[["top1", "top2", "top3"]] = np.nan
    return cells


def tree_of(
    cells: pd.DataFrame, published: np.ndarray, half: float, semantics: bool = True
) -> Knowledge:
    """The attacker's knowledge of one indicator: rounding, the publication rules
    (published counts above 0 hold at least 10 units, a published 0 is exact) and the
    hierarchy, with parents built independently of disclosure.audit, as a cross-check."""
    pos = {(lv, c): i for i, (lv, c) in enumerate(zip(cells["level"], cells["code"]))}
    up = {"buurt": "wijk", "wijk": "gemeente"}
    parent = np.array(
        [pos.get((up.get(lv, ""), p), -1) for lv, p in zip(cells["level"], cells["parent"])]
    )
    low, high = published_interval(published, half, semantics, 10)
    return Knowledge.of_tree(parent, low, high)


def lp_exposed(
    cells: pd.DataFrame,
    published: np.ndarray,
    reason: pd.Series,
    upper: np.ndarray,
    lower: np.ndarray,
) -> np.ndarray:
    """The attacker's linear programs for every primary cell: which are not protected."""
    tree = tree_of(cells, published, half_width(5, True))
    primary_cells = np.flatnonzero(reason.isin(["area", "frequency", "dominance", "p%"]))
    if not len(primary_cells):
        return np.zeros(0, dtype=bool)
    low, high = attacker_bounds_lp(tree, primary_cells)
    value = cells["value"].to_numpy()[primary_cells]
    return ~protected(value, lower[primary_cells], upper[primary_cells], low, high)


wijk_values = st.lists(
    st.lists(st.one_of(st.integers(0, 9), st.integers(10, 80)), min_size=1, max_size=6),
    min_size=1,
    max_size=5,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wijken=wijk_values)
def test_after_protection_no_unsafe_cell_is_recoverable(wijken):
    cells = table(wijken)
    result = protect(cells, NO_SIZES, NO_DERIVED).cells
    assert len(protect(cells, NO_SIZES, NO_DERIVED).failures) == 0
    # the attacker's exact linear programs agree: every primary cell is protected
    exposed = lp_exposed(
        cells,
        result["published"].to_numpy(),
        result["reason"],
        result["upper"].to_numpy(),
        result["lower"].to_numpy(),
    )
    assert not exposed.any()
    # unsafe cells are suppressed; safe published cells are rounded to multiples of 5
    assert result.loc[result["reason"] == "frequency", "published"].isna().all()
    shown = result["published"].dropna()
    assert (shown % 5 == 0).all()


def test_without_secondary_suppression_the_audit_finds_leaks():
    rng = np.random.default_rng(7)
    leaks = 0
    for _ in range(40):
        wijken = [
            list(rng.choice([1, 3, 20, 40, 60], size=rng.integers(1, 5)))
            for _ in range(rng.integers(1, 4))
        ]
        cells = table(wijken)
        params = DisclosureParams()
        reason = primary(cells, NO_SIZES, params)
        from zicht.disclosure.rules import protection_levels

        upper = protection_levels(cells, reason, params).to_numpy()
        lower = np.minimum(upper, cells["value"].to_numpy())
        primary_only = np.where(reason != "", np.nan, round_to_base(cells["value"], 5))
        leaks += lp_exposed(cells, primary_only, reason, upper, lower).any()
    assert leaks >= 10  # the audit can fail: it does on primary suppression alone


def test_single_unsafe_buurt_is_recovered_by_subtraction():
    cells = table([[3, 40, 50]])
    reason = primary(cells, NO_SIZES, DisclosureParams())
    assert reason.tolist()[:3] == ["frequency", "", ""]
    published = np.where(reason != "", np.nan, cells["value"].to_numpy())
    low, high = attacker_bounds_lp(tree_of(cells, published, 0.0, False), np.array([0]))
    assert low[0] == pytest.approx(3) and high[0] == pytest.approx(3)  # exactly disclosed
    protected_cells = protect(cells, NO_SIZES, NO_DERIVED).cells
    assert protected_cells["reason"].tolist().count("secondary") >= 1


@settings(max_examples=60, deadline=None)
@given(wijken=wijk_values, data=st.data())
def test_bound_propagation_equals_the_linear_programs(wijken, data):
    cells = table(wijken)
    hide = np.array(data.draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells))))
    value = cells["value"].to_numpy()
    hide |= (value > 0) & (value < 10)  # such counts are never published
    published = np.where(hide, np.nan, round_to_base(value, 5))
    tree = tree_of(cells, published, 2.0)
    low, high = attacker_bounds(tree)
    lp_low, lp_high = attacker_bounds_lp(tree, np.arange(len(cells)))
    np.testing.assert_allclose(low, lp_low, atol=1e-6)
    np.testing.assert_allclose(high, lp_high, atol=1e-6)


def test_frequency_counts_units_not_records():
    cells = table([[12, 40]], units=[[1, 30]])  # 12 reports about one company
    reason = primary(cells, NO_SIZES, DisclosureParams())
    assert reason.iloc[0] == "frequency" and reason.iloc[1] == ""


def test_zero_cells_are_safe_unless_configured():
    cells = table([[0, 40]])
    assert primary(cells, NO_SIZES, DisclosureParams()).iloc[0] == ""
    assert primary(cells, NO_SIZES, DisclosureParams(zero_safe=False)).iloc[0] == "frequency"


def test_dominance_and_p_percent_rules_by_hand():
    cells = table([[1000, 1000, 1000]], units=[[20, 20, 20]], kind="sum")
    # (2, 85): the two largest contributions make 900 of 1000 > 85% -> unsafe
    cells.loc[0, ["top1", "top2", "top3"]] = [800, 100, 50]
    # 840 of 1000 (84%): (2,85) holds; p% with p=15: 1000 - 840 = 160 >= 0.15 * 500 -> safe
    cells.loc[1, ["top1", "top2", "top3"]] = [500, 340, 100]
    # 840 of 1000 by one company: (2,85) holds, but with p=20 the rest (160) is less
    # than 20% of 840 (168): the runner-up could estimate it too closely -> p%
    cells.loc[2, ["top1", "top2", "top3"]] = [840, 0, 0]
    assert primary(cells, NO_SIZES, DisclosureParams()).tolist()[:3] == ["dominance", "", ""]
    assert primary(cells, NO_SIZES, DisclosureParams(p_percent=20)).tolist()[:3] == [
        "dominance",
        "",
        "p%",
    ]


def test_area_rule_applies_to_person_based_figures_only():
    persons = table([[40, 40]], unit_type="person")
    companies = table([[40, 40]], unit_type="company", indicator="y")
    sizes = pd.DataFrame(
        {"inhabitants": [30.0, 900.0, 930.0, 930.0], "households": [20.0, 400.0, 420.0, 420.0]},
        index=pd.MultiIndex.from_tuples(
            [
                ("buurt", "BU00010000"),
                ("buurt", "BU00010001"),
                ("wijk", "WK000100"),
                ("gemeente", "GM0001"),
            ]
        ),
    )
    both = pd.concat([persons, companies], ignore_index=True)
    reason = primary(both, sizes, DisclosureParams())
    assert reason.tolist()[:2] == ["area", ""]
    assert reason.tolist()[4:6] == ["", ""]


def test_derived_rates_follow_their_published_parts():
    counts = table([[3, 40, 52]], indicator="n")
    population = table([[400, 500, 600]], indicator="pop")
    rate = table([[0, 0, 0]], indicator="rate")
    cells = pd.concat([counts, population, rate], ignore_index=True)
    derived = pd.DataFrame(
        [{"indicator": "rate", "numerator": "n", "denominator": "pop", "per": 1000.0}]
    )
    out = protect(cells, NO_SIZES, derived).cells.set_index(["indicator", "code"])
    assert out.loc[("rate", "BU00010000"), "reason"] == "derived"
    assert np.isnan(out.loc[("rate", "BU00010000"), "published"])
    # published rates come from the published, rounded parts
    shown = out.loc["rate"]["published"].dropna()
    assert len(shown) >= 2
    for code, rate in shown.items():
        n, pop = out.loc[("n", code), "published"], out.loc[("pop", code), "published"]
        assert rate == pytest.approx(n / pop * 1000) and n % 5 == 0 and pop % 5 == 0
    hidden = out[out["reason"] != ""]
    assert hidden["published"].isna().all()


def test_rounding_to_five_and_its_interval():
    assert round_to_base(np.array([0, 2, 3, 7, 8, 12.5]), 5).tolist() == [0, 0, 5, 5, 10, 15]
    assert half_width(5, integer=True) == 2 and half_width(1000, integer=False) == 500


def test_cells_without_a_value_need_no_protection():
    cells = table([[3, 40, 50]])
    cells.loc[1, "value"] = np.nan  # secret at the source
    out = protect(cells, NO_SIZES, NO_DERIVED)
    assert out.cells.loc[1, "reason"] == "" and np.isnan(out.cells.loc[1, "published"])
    assert len(out.failures) == 0


def test_a_complementary_wijk_is_unpinned_by_its_buurten():
    # sums of euros (rounded to 1,000, so little slack): a buurt of 40 M dominated by
    # one contributor needs 12 M of uncertainty; its sibling (11 M) cannot give that,
    # so the wijk total goes; wijk 1 is then the complement, but its published buurten
    # would pin it down (wijk = sum of buurten), so some of them must go too
    M = 1_000_000
    cells = table(
        [[40 * M, 11 * M], [10 * M, 10 * M, 5 * M]], units=[[50, 50], [50, 50, 50]], kind="sum"
    )
    cells[["top1", "top2", "top3"]] = [[v * 0.05, v * 0.04, v * 0.03] for v in cells["value"]]
    cells.loc[0, ["top1", "top2", "top3"]] = [37 * M, 0.5 * M, 0.4 * M]
    out = protect(cells, NO_SIZES, NO_DERIVED)
    result = out.cells.set_index("code")
    assert result.loc["BU00010000", "reason"] == "dominance"
    assert result.loc["WK000100", "reason"] == "secondary"
    assert result.loc["WK000101", "reason"] == "secondary"
    assert (result.loc[["BU00010100", "BU00010101", "BU00010102"], "reason"] == "secondary").any()
    assert result.loc["GM0001", "reason"] == ""  # no whole-tree fallback was needed
    assert out.rounds <= 3 and len(out.failures) == 0


# --- the attacker who knows the rules: linked tables, publication semantics, reasons ---


def linked_table(wijken: list[list[int]], shares: list[list[float]]) -> pd.DataFrame:
    """Two linked counts in one gemeente: ``all`` per buurt, and ``part`` (a subset of
    it, e.g. sales to legal persons among sales) as ``round(share x all)``."""
    parts = [[int(round(v * f)) for v, f in zip(vs, fs)] for vs, fs in zip(wijken, shares)]
    return pd.concat(
        [table(wijken, indicator="all"), table(parts, indicator="part")], ignore_index=True
    )


SUBSET = Relations(subsets=(("part", "all"),))
linked_values = st.lists(
    st.lists(
        st.tuples(st.one_of(st.integers(0, 9), st.integers(10, 80)), st.floats(0, 1)),
        min_size=1,
        max_size=5,
    ),
    min_size=1,
    max_size=4,
)


def exact_exposures(
    cells: pd.DataFrame, out: pd.DataFrame, relations: Relations, reasons: bool = False
) -> int:
    """How many unsafe cells the attacker's exact programs (HiGHS) pin down, reading
    the published values, the rules, the relations and (``reasons``) per-cell reasons."""
    linked = LinkedCells(cells, relations)
    knowledge = linked.knowledge(out["published"].to_numpy(), 2.0, True, 10)
    if reasons:
        hidden = np.zeros(linked.n_hidden, dtype=bool)
        frequency = np.r_[(out["reason"] == "frequency").to_numpy(), hidden]
        knowledge.low = np.where(frequency, np.maximum(knowledge.low, 1), knowledge.low)
        knowledge.high = np.where(frequency, np.minimum(knowledge.high, 9), knowledge.high)
        complement = np.r_[(out["reason"] == "secondary").to_numpy(), hidden]
        knowledge.zero_or_at_least = np.where(complement, 10, 0)
    unsafe = np.flatnonzero(out["reason"].isin(["area", "frequency", "dominance", "p%"]))
    if not len(unsafe):
        return 0
    low, high = attacker_bounds_lp(knowledge, unsafe)
    ok = protected(
        out["value"].to_numpy()[unsafe],
        out["lower"].to_numpy()[unsafe],
        out["upper"].to_numpy()[unsafe],
        low,
        high,
    )
    return int((~ok).sum())


def test_propagating_again_only_where_something_changed_gives_the_same_bounds():
    # three gemeenten of two wijken of three buurten: three blocks
    rng = np.random.default_rng(7)
    parent, value = [], []
    for _ in range(3):
        top = len(parent)
        parent.append(-1)
        value.append(0.0)
        for _ in range(2):
            wijk = len(parent)
            parent.append(top)
            value.append(0.0)
            for _ in range(3):
                parent.append(wijk)
                value.append(float(rng.integers(0, 40)))
                value[wijk] += value[-1]
                value[top] += value[-1]
    parent, value = np.array(parent), np.array(value)

    def knowing(withheld: np.ndarray) -> Knowledge:
        low, high = published_interval(np.where(withheld, np.nan, value), 2.0, False, 10)
        return Knowledge.of_tree(parent, low, high)

    withheld = rng.random(len(value)) < 0.3
    before = knowing(withheld)
    bounds = attacker_bounds(before)
    labels = block_labels(before)
    blocks = labels.block
    assert labels.n == 3
    for _ in range(5):
        withheld = withheld | (rng.random(len(value)) < 0.1) & (blocks == rng.integers(3))
        now = knowing(withheld)
        again = attacker_bounds_again(now, before, bounds, blocks)
        np.testing.assert_allclose(np.stack(again), np.stack(attacker_bounds(now)))
        before, bounds = now, again


def test_the_programs_certificate_names_what_pins_a_withheld_cell():
    # GM = WK1 + WK2, WK1 = B1 + B2, WK2 = B3 + B4; B1 (7) and WK1 are withheld, so
    # B1 = GM - WK2 - B2 exactly: published B2 (down), GM (up) or WK2 (down) pin it
    parent = np.array([-1, 0, 0, 1, 1, 2, 2])
    value = np.array([20.0, 10, 10, 7, 3, 4, 6])
    withheld = np.zeros(7, dtype=bool)
    withheld[[1, 3]] = True
    knowledge = Knowledge.of_tree(
        parent, np.where(withheld, 0, value), np.where(withheld, np.inf, value)
    )
    [pins] = attacker_pins(knowledge, value, withheld, np.array([3]), np.array([-1.0]))
    assert pins.bound == pytest.approx(7.0)
    assert set(zip(pins.cells.tolist(), pins.direction.tolist())) == {
        (4, -1.0),
        (0, 1.0),
        (2, -1.0),
    }

    # withholding B2 or GM gives room above; WK2 is pinned by its own buurten, and
    # the next certificate names them
    def pins_with(cell: int) -> tuple[float, object]:
        more = withheld.copy()
        more[cell] = True
        wider = Knowledge.of_tree(parent, np.where(more, 0, value), np.where(more, np.inf, value))
        [after] = attacker_pins(wider, value, more, np.array([3]), np.array([-1.0]))
        # the anchored program caps an unbounded cell: it agrees with the attacker's
        assert (after.bound > 8.0) == (attacker_bounds_lp(wider, np.array([3]))[1][0] > 8.0)
        return after.bound, after

    assert pins_with(4)[0] > 7.0 + 1.0 and pins_with(0)[0] > 7.0 + 1.0
    bound, after = pins_with(2)
    assert bound == pytest.approx(7.0)
    assert {(5, -1.0), (6, -1.0)} <= set(zip(after.cells.tolist(), after.direction.tolist()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=linked_values)
def test_linked_tables_are_protected_against_the_attacker_who_knows_the_rules(values):
    wijken = [[v for v, _ in w] for w in values]
    cells = linked_table(wijken, [[f for _, f in w] for w in values])
    result = protect(cells, NO_SIZES, NO_DERIVED, relations=SUBSET)
    assert len(result.failures) == 0
    assert exact_exposures(cells, result.cells, SUBSET) == 0
    # no withheld cell is pinned to an interval narrower than protection_min
    withheld = result.cells["reason"] != ""
    width = result.cells["attacker_high"] - result.cells["attacker_low"]
    assert (width[withheld] >= 5 - 1e-6).all()


def test_with_per_cell_reasons_published_the_attacker_finds_exposures():
    """The same protection, with today's per-cell reasons published: the MILP attacker
    (frequency = 1..9 units, secondary = 0 or at least 10) pins unsafe cells down."""
    rng = np.random.default_rng(12)
    exposed_tables = 0
    for _ in range(25):
        wijken = [list(rng.choice([1, 2, 3, 12, 30], size=rng.integers(2, 5))) for _ in range(2)]
        shares = [list(rng.uniform(0, 1, len(w))) for w in wijken]
        cells = linked_table(wijken, shares)
        out = protect(cells, NO_SIZES, NO_DERIVED, relations=SUBSET).cells
        assert exact_exposures(cells, out, SUBSET) == 0
        exposed_tables += exact_exposures(cells, out, SUBSET, reasons=True) > 0
    assert exposed_tables >= 5


def test_the_reasons_attacker_recovers_a_sum_of_ones():
    # nine buurten labelled "frequency" under a published gemeente total of 9 (the
    # national example): each is at least 1, so each is exactly 1
    cells = table([[1] * 9])
    published = np.full(len(cells), np.nan)
    published[-1] = 9.0
    knowledge = tree_of(cells, published, 0.0, semantics=False)
    knowledge.low[:9] = 1.0
    low, high = attacker_bounds_lp(knowledge, np.arange(9))
    assert np.allclose(low, 1) and np.allclose(high, 1)
    prop_low, prop_high = attacker_bounds(knowledge)
    assert np.allclose(prop_low[:9], 1) and np.allclose(prop_high[:9], 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=linked_values, data=st.data())
def test_propagation_equals_the_programs_on_linked_tables(values, data):
    wijken = [[v for v, _ in w] for w in values]
    cells = linked_table(wijken, [[f for _, f in w] for w in values])
    value = cells["value"].to_numpy()
    hide = np.array(data.draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells))))
    hide |= (value > 0) & (value < 10)
    published = np.where(hide, np.nan, round_to_base(value, 5))
    knowledge = LinkedCells(cells, SUBSET).knowledge(published, 2.0, True, 10)
    low, high = (bound[: len(cells)] for bound in attacker_bounds(knowledge))
    lp_low, lp_high = attacker_bounds_lp(knowledge, np.arange(len(cells)))
    np.testing.assert_allclose(low, lp_low, atol=1e-6)
    np.testing.assert_allclose(high, lp_high, atol=1e-6)


def test_a_window_is_the_sum_of_its_years():
    years = [table([[4, 30]], indicator=f"y{i}") for i in range(3)]
    window = table([[12, 90]], indicator="w")
    cells = pd.concat([*years, window], ignore_index=True)
    sums = Relations(sums=(("w", ("y0", "y1", "y2")),))
    # published: the window, and two of three years: the third is their difference
    published = np.full(len(cells), np.nan)
    w = (cells["indicator"] == "w").to_numpy()
    published[w] = cells.loc[w, "value"]
    for i in (0, 1):
        y = (cells["indicator"] == f"y{i}").to_numpy()
        published[y] = cells.loc[y, "value"]
    knowledge = LinkedCells(cells, sums).knowledge(published, 0.0, False, 10)
    third = np.flatnonzero((cells["indicator"] == "y2").to_numpy())
    low, high = attacker_bounds(knowledge)
    assert np.allclose(low[third], [4, 30, 34, 34]) and np.allclose(high[third], [4, 30, 34, 34])
    # protected together, the years keep their unsafe cells hidden
    out = protect(cells, NO_SIZES, NO_DERIVED, relations=sums)
    assert len(out.failures) == 0
    assert exact_exposures(cells, out.cells, sums) == 0


def test_company_area_rule_follows_the_published_company_count():
    companies = table([[40, 12, 25]], indicator="vestigingen")
    risky = table([[15, 11, 12]], indicator="risicobranche")
    cells = pd.concat([companies, risky], ignore_index=True)
    out = protect(
        cells,
        NO_SIZES,
        NO_DERIVED,
        relations=Relations(subsets=(("risicobranche", "vestigingen"),)),
        companies="vestigingen",
    ).cells
    out = out.set_index(["indicator", "code"])
    # 12 companies is published as 10: below 20, so nothing else company-based there;
    # 25 companies (published 25) and 40 keep their figures where otherwise safe
    assert out.loc[("risicobranche", "BU00010001"), "reason"] == "area_companies"
    assert out.loc[("risicobranche", "BU00010000"), "reason"] != "area_companies"
    assert out.loc[("vestigingen", "BU00010001"), "reason"] != "area_companies"


CHAINED = Relations(subsets=(("a", "all"), ("b", "all"), ("c", "a")))  # closed: c <= all


def chained_table(wijken: list[list[int]], data: st.DataObject) -> pd.DataFrame:
    """The tables of :data:`CHAINED`: ``all`` from ``wijken``, ``a`` and ``b`` drawn
    shares of it, ``c`` a drawn share of ``a``."""
    fractions = st.lists(st.floats(0, 1), min_size=3, max_size=3)
    shares = [[data.draw(fractions) for _ in w] for w in wijken]
    a = [[int(v * f[0]) for v, f in zip(w, fs)] for w, fs in zip(wijken, shares)]
    b = [[int(v * f[1]) for v, f in zip(w, fs)] for w, fs in zip(wijken, shares)]
    c = [[int(v * f[2]) for v, f in zip(w, fs)] for w, fs in zip(a, shares)]
    tables = zip((wijken, a, b, c), ("all", "a", "b", "c"))
    return pd.concat([table(t, indicator=i) for t, i in tables], ignore_index=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wijken=st.lists(
        st.lists(st.sampled_from([0, 1, 3, 8, 10, 14, 25, 40]), min_size=1, max_size=4),
        min_size=1,
        max_size=3,
    ),
    data=st.data(),
)
def test_overlapping_and_chained_subsets_are_decided_by_the_programs(wijken, data):
    """Two subsets of one indicator make cycles where propagation can be wider than the
    programs (wijken [[0], [1], [1, 10, 1]] showed it): such a group is marked, and the
    decisive bounds give every cell the programs' verdict."""
    cells = chained_table(wijken, data)
    value = cells["value"].to_numpy()
    hide = np.array(data.draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells))))
    hide |= (value > 0) & (value < 10)
    published = np.where(hide, np.nan, round_to_base(value, 5))
    linked = LinkedCells(cells, CHAINED)
    assert linked.needs_programs and not LinkedCells(cells, SUBSET).needs_programs
    knowledge = linked.knowledge(published, 2.0, True, 10)
    low, high = (bound[: len(cells)] for bound in attacker_bounds(knowledge))
    everything = np.arange(len(cells))
    lp_low, lp_high = attacker_bounds_lp(knowledge, everything)
    # propagation is never narrower than the programs: what it exposes is exposed
    assert (low <= lp_low + 1e-6).all() and (high >= lp_high - 1e-6).all()
    width = data.draw(st.sampled_from([1.0, 5.0, 12.0]))

    def enough(_: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return hi - lo >= width - 1e-9

    withheld = np.flatnonzero(np.isnan(published))
    full_low, full_high = attacker_bounds(knowledge)
    witnesses = data.draw(st.sampled_from([0, 2, 100]))  # 0: the programs decide alone
    d_low, d_high = attacker_bounds_decisive(
        knowledge, withheld, full_low, full_high, enough, witnesses
    )
    np.testing.assert_array_equal(
        enough(withheld, d_low[withheld], d_high[withheld]),
        enough(withheld, lp_low[withheld], lp_high[withheld]),
    )
    # a cell the witnesses decided keeps its outer bounds; the others have the programs'
    # own, solved on the witnesses' model (which must be left as it was: no costs, no caps)
    exact = np.isclose(d_low[withheld], lp_low[withheld], atol=1e-6) & np.isclose(
        d_high[withheld], lp_high[withheld], atol=1e-6
    )
    outer = (d_low[withheld] == full_low[withheld]) & (d_high[withheld] == full_high[withheld])
    assert (exact | outer).all()
    if witnesses == 0:
        np.testing.assert_allclose(d_low[withheld], lp_low[withheld], atol=1e-6)
        np.testing.assert_allclose(d_high[withheld], lp_high[withheld], atol=1e-6)


def test_where_propagation_is_wider_the_programs_give_the_bound():
    """A found case: all <= 47 in the gemeente, yet the programs show b <= 46 there
    (propagation says 47); with no witnesses the programs decide every cell."""
    wijken, a, b, c = [[25, 8, 1], [10]], [[16, 3, 0], [9]], [[2, 0, 0], [7]], [[11, 2, 0], [1]]
    cells = pd.concat(
        [table(t, indicator=i) for t, i in zip((wijken, a, b, c), ("all", "a", "b", "c"))],
        ignore_index=True,
    )
    shown = [0, 0, 0, 1, 1, 0, 1] + [0] * 6 + [1] + [0, 1, 1, 0, 0, 0, 0] + [1, 0, 0, 1, 0, 0, 1]
    published = np.where(np.array(shown) == 1, round_to_base(cells["value"].to_numpy(), 5), np.nan)
    knowledge = LinkedCells(cells, CHAINED).knowledge(published, 2.0, True, 10)
    low, high = attacker_bounds(knowledge)
    b_gemeente = int(
        np.flatnonzero((cells["indicator"] == "b") & (cells["level"] == "gemeente"))[0]
    )
    assert high[b_gemeente] == 47
    withheld = np.flatnonzero(np.isnan(published))
    d_low, d_high = attacker_bounds_decisive(
        knowledge, withheld, low, high, lambda i, lo, hi: hi - lo >= 5, max_witnesses=0
    )
    assert d_high[b_gemeente] == pytest.approx(46)
    lp_low, lp_high = attacker_bounds_lp(knowledge, withheld)
    np.testing.assert_allclose(d_high[withheld], lp_high, atol=1e-6)


def test_attack_is_propagation_and_on_request_the_programs():
    """The public audit on the found case above: propagation alone (47), the exact
    programs with ``exact`` (46), and with ``wide`` the programs' verdict only where
    propagation may be wider than them."""
    wijken, a, b, c = [[25, 8, 1], [10]], [[16, 3, 0], [9]], [[2, 0, 0], [7]], [[11, 2, 0], [1]]
    cells = pd.concat(
        [table(t, indicator=i) for t, i in zip((wijken, a, b, c), ("all", "a", "b", "c"))],
        ignore_index=True,
    )
    shown = [0, 0, 0, 1, 1, 0, 1] + [0] * 6 + [1] + [0, 1, 1, 0, 0, 0, 0] + [1, 0, 0, 1, 0, 0, 1]
    published = np.where(np.array(shown) == 1, round_to_base(cells["value"].to_numpy(), 5), np.nan)
    knowledge = LinkedCells(cells, CHAINED).knowledge(published, 2.0, True, 10)
    withheld = np.flatnonzero(np.isnan(published))
    b_gemeente = int(
        np.flatnonzero((cells["indicator"] == "b") & (cells["level"] == "gemeente"))[0]
    )
    propagated = attack(knowledge, withheld)
    np.testing.assert_array_equal(np.stack(propagated), np.stack(attacker_bounds(knowledge)))
    assert propagated.high[b_gemeente] == 47
    exact = attack(knowledge, withheld, exact=True)
    np.testing.assert_allclose(exact.high[withheld], attacker_bounds_lp(knowledge, withheld)[1])
    assert exact.high[b_gemeente] == pytest.approx(46)
    # wide: each withheld cell's verdict "at least 5 wide" is the programs' verdict
    decided = attack(knowledge, withheld, wide=5.0, needs_programs=True)
    lp_width = exact.high[withheld] - exact.low[withheld]
    decided_width = decided.high[withheld] - decided.low[withheld]
    np.testing.assert_array_equal(decided_width >= 5 - 1e-9, lp_width >= 5 - 1e-9)
    not_asked = attack(knowledge, withheld, wide=5.0, needs_programs=False)
    np.testing.assert_array_equal(np.stack(not_asked), np.stack(propagated))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wijken=st.lists(
        st.lists(st.sampled_from([0, 3, 8, 10, 14, 25, 40]), min_size=1, max_size=4),
        min_size=1,
        max_size=3,
    ),
    data=st.data(),
)
def test_overlapping_subsets_are_protected_against_the_exact_attacker(wijken, data):
    fractions = st.lists(st.floats(0, 1), min_size=3, max_size=3)
    shares = [[data.draw(fractions) for _ in w] for w in wijken]
    parts = [
        [[int(v * f[k]) for v, f in zip(w, fs)] for w, fs in zip(wijken, shares)] for k in (0, 1)
    ]
    c = [[int(v * f[2]) for v, f in zip(w, fs)] for w, fs in zip(parts[0], shares)]
    cells = pd.concat(
        [
            table(wijken, indicator="all"),
            table(parts[0], indicator="a"),
            table(parts[1], indicator="b"),
            table(c, indicator="c"),
        ],
        ignore_index=True,
    )
    result = protect(cells, NO_SIZES, NO_DERIVED, relations=CHAINED)
    assert len(result.failures) == 0
    assert exact_exposures(cells, result.cells, CHAINED) == 0


def test_unpinning_does_not_choose_a_constraint_only_empty_cells_are_on():
    # a cell pinned from below by two constraints: one of published zeros (they cannot
    # fall), one of a published 5; withholding the zeros frees nothing, the 5 does
    from zicht.disclosure.complements import _relaxed
    from zicht.disclosure.pins import Pins

    value = np.array([0.0, 0.0, 5.0, 40.0])
    cost = np.array([1.0, 1.0, 2.0, 3.0])
    pins = Pins(
        bound=40.0,
        cells=np.array([0, 1, 2]),
        direction=np.array([-1.0, -1.0, -1.0]),
        item=np.array([7, 7, 8]),
    )
    withheld = np.array([False, False, False, True])
    assert _relaxed(pins, 10.0, value, cost, withheld).tolist() == [2]


def test_a_derived_cell_finds_its_parts_in_its_own_area_and_level():
    """The lookup of a rate's numerator and denominator (``_cell_positions``): by
    indicator, level and code, a missing code a value of its own, a missing part -1;
    two cells of one indicator for the same area are an error, not a silent pick."""
    import importlib

    from zicht.errors import DisclosureError

    protect_module = importlib.import_module("zicht.disclosure.protect")
    cells = pd.DataFrame(
        {
            "indicator": ["rate", "rate", "rate", "part", "part", "part"],
            "level": ["buurt", "wijk", "buurt", "wijk", "buurt", "buurt"],
            "code": ["B1", "W1", None, "W1", "B1", None],
        }
    )
    at = protect_module._cell_positions(cells)
    np.testing.assert_array_equal(at("part", np.array([0, 1, 2])), [4, 3, 5])
    np.testing.assert_array_equal(at("absent", np.array([0, 1])), [-1, -1])
    twice = pd.concat([cells, cells.iloc[[4]]], ignore_index=True)
    with pytest.raises(DisclosureError, match="two cells of one indicator.*'part', buurt B1"):
        protect_module._cell_positions(twice)
