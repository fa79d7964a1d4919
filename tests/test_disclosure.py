"""disclosure/: primary rules, complementary suppression, rounding and the attacker's audit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disclosure.audit import Tree, attacker_bounds, attacker_bounds_lp, protected
from disclosure.protect import protect
from disclosure.rounding import half_width, round_to_base
from disclosure.rules import DisclosureParams, primary

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


def tree_of(cells: pd.DataFrame, published: np.ndarray, half: float) -> Tree:
    # parents built independently of disclosure.audit.parent_positions, as a cross-check
    pos = {(lv, c): i for i, (lv, c) in enumerate(zip(cells["level"], cells["code"]))}
    up = {"buurt": "wijk", "wijk": "gemeente"}
    parent = np.array(
        [pos.get((up.get(lv, ""), p), -1) for lv, p in zip(cells["level"], cells["parent"])]
    )
    return Tree.from_published(parent, published, half)


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
        from disclosure.rules import protection_levels

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
    low, high = attacker_bounds_lp(tree_of(cells, published, 0.0), np.array([0]))
    assert low[0] == pytest.approx(3) and high[0] == pytest.approx(3)  # exactly disclosed
    protected_cells = protect(cells, NO_SIZES, NO_DERIVED).cells
    assert protected_cells["reason"].tolist().count("secondary") >= 1


@settings(max_examples=60, deadline=None)
@given(wijken=wijk_values, data=st.data())
def test_bound_propagation_equals_the_linear_programs(wijken, data):
    cells = table(wijken)
    hide = np.array(data.draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells))))
    published = np.where(hide, np.nan, round_to_base(cells["value"].to_numpy(), 5))
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
