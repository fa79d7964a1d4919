"""engine.indicators and engine.sources.tables: cells, roll-up rules, numeric parsing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from zicht.engine.cells import ratio_cells, roll_up
from zicht.engine.config import IndicatorSpec
from zicht.engine.sources.tables import TableError, to_number


def _spec(kind: str, **kw) -> IndicatorSpec:
    """An indicator as [[indicators]] declares it: a table column unless kw names parts."""
    base = dict(id="x", kind=kind, label_nl="x", label_en="x", **kw)
    if "numerator" not in kw:
        base.update(table="t", column="c")
    return TypeAdapter(IndicatorSpec).validate_python(base)


codes = st.lists(st.sampled_from(["WK036300", "WK036301", "WK036302"]), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(parents=codes, data=st.data())
def test_rates_roll_up_as_summed_numerator_over_summed_denominator(parents, data):
    n = len(parents)
    num = data.draw(st.lists(st.one_of(st.none(), st.integers(0, 10_000)), min_size=n, max_size=n))
    den = data.draw(st.lists(st.one_of(st.none(), st.integers(0, 10_000)), min_size=n, max_size=n))
    index = pd.Index([f"BU{i:08d}" for i in range(n)])
    num_s = pd.Series(num, index=index, dtype=float)
    den_s = pd.Series(den, index=index, dtype=float)
    parent = pd.Series(parents, index=index)
    cells = ratio_cells(num_s, den_s, per=1000)
    up = roll_up(cells, parent, _spec("rate", numerator="a", denominator="b", per=1000))
    for wijk in set(parents):
        both = (parent == wijk) & num_s.notna() & den_s.notna()
        if not both.any():
            assert np.isnan(up.loc[wijk, "value"])
            continue
        total_den = den_s[both].sum()
        expected = num_s[both].sum() / total_den * 1000 if total_den > 0 else np.nan
        np.testing.assert_allclose(up.loc[wijk, "value"], expected, equal_nan=True)

    counts = pd.DataFrame({"value": num_s, "numerator": num_s, "denominator": np.nan})
    summed = roll_up(counts, parent, _spec("count"))
    expected_sum = num_s.groupby(parent).sum(min_count=1)
    pd.testing.assert_series_equal(summed["value"], expected_sum, check_names=False)


def test_weighted_mean_is_not_a_plain_average():
    index = pd.Index(["BU03630000", "BU03630001"])
    value = pd.Series([1.0, 3.0], index=index)
    weight = pd.Series([300.0, 100.0], index=index)
    cells = pd.DataFrame({"value": value, "numerator": value * weight, "denominator": weight})
    up = roll_up(cells, pd.Series(["WK036300"] * 2, index=index), _spec("mean", weight="w"))
    assert up.loc["WK036300", "value"] == pytest.approx((1 * 300 + 3 * 100) / 400)


def test_statline_numbers_and_secret_marks():
    raw = pd.Series(
        ["  457400", "    20.8", ".", "", "  -0.100", "12,5"],
        index=[f"BU{i:08d}" for i in range(6)],
    )
    parsed = to_number(raw, "t.csv, column 'x'", non_negative=False)
    assert parsed.tolist()[:2] == [457400.0, 20.8]
    assert parsed.iloc[2:4].isna().all()
    assert parsed.tolist()[4:] == [-0.1, 12.5]


def test_non_numeric_and_negative_counts_name_the_culprit():
    raw = pd.Series(["10", "n.v.t.", "3"], index=["BU1", "BU2", "BU3"])
    with pytest.raises(
        TableError,
        match=r"t.csv, column 'x': 1 value\(s\) are not numbers, "
        r"e.g. 'n.v.t.' for BU2",
    ):
        to_number(raw, "t.csv, column 'x'", non_negative=True)
    with pytest.raises(TableError, match=r"1 negative value\(s\), e.g. for BU3"):
        to_number(
            pd.Series(["1", "2", "-4"], index=["BU1", "BU2", "BU3"]),
            "t.csv, column 'x'",
            non_negative=True,
        )


def test_na_values_codes_are_missing_not_negative():
    raw = pd.Series(["2330", "-99999999", "-99999999.0", "  5"], index=list("abcd"))
    parsed = to_number(raw, "w", non_negative=True, na_values=("-99999999",))
    assert parsed.tolist()[0] == 2330 and parsed.iloc[1:3].isna().all()
    numeric = pd.Series([2330.0, -99999999.0], index=["a", "b"])
    assert to_number(numeric, "w", True, ("-99999999",)).isna().tolist() == [False, True]
    with pytest.raises(TableError, match="list it in the table's na_values"):
        to_number(raw, "w", non_negative=True)
