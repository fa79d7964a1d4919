"""Primary suppression: which cells are unsafe to publish, and why.

Cells come as one long table (see :data:`CELL_FIELDS`): one row per indicator, level
and area. Only *sensitive* cells are checked: those computed from unit-level or
otherwise confidential sources. Figures that are already public (CBS kerncijfers as
CBS published them, after CBS's own disclosure control) are not suppressed again.

Rules and their defaults (all configurable in ``[disclosure]``):

``min_inhabitants = 50``, ``min_households = 20`` (area rule)
    No person- or address-based figure for an area with fewer inhabitants or
    households, or where their number is unknown. CBS itself publishes no or few
    person-based figures for the smallest buurten (its thresholds vary per figure,
    from 10 to 200 inhabitants; see the NaNs in the Kerncijfers wijken en buurten).
``min_companies = 20`` (area rule for companies)
    No company-based figure for an area whose published number of companies is
    withheld or below 20: many registrations are sole traders at their home address,
    where a company is a person. CBS publishes a sector breakdown of a buurt only with
    at least 20 companies. Decided on the published count, so it reveals nothing.
``min_units = 10`` (frequency or threshold rule)
    A count or sum to which fewer than 10 distinct units (persons, addresses,
    companies) contribute is unsafe. The ESSnet Handbook on Statistical Disclosure
    Control (Hundepool et al., 2010, section 4.2.2) gives 3 as the usual minimum;
    justice and financial-intelligence data are far more sensitive, so 10. A cell
    with no contributors (a zero) is safe (``zero_safe``), as in tau-Argus.
``dominance_n = 2``, ``dominance_k = 85`` ((n,k) dominance rule)
    A sum is unsafe if its 2 largest contributors make up more than 85% of it
    (ESSnet handbook 4.2.2; tau-Argus default style).
``p_percent = 15`` (p% rule)
    A sum is unsafe if the second largest contributor could estimate the largest
    contribution to within 15%: ``total - x1 - x2 < p/100 * x1`` (ESSnet 4.2.2).
Rates, shares and means derived from an unsafe cell are unsafe too (``derived``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zicht.errors import ConfigError

CELL_FIELDS = [
    "indicator",
    "level",
    "code",
    "parent",
    "value",
    "units",
    "top1",
    "top2",
    "top3",
    "kind",
    "sensitive",
    "unit_type",
]
PERSON_TYPES = ("person", "address")
UNIT_TYPES = (*PERSON_TYPES, "company")  # what one contributing unit of a source is

AREA, FREQUENCY, DOMINANCE, P_PERCENT = "area", "frequency", "dominance", "p%"
AREA_COMPANIES = "area_companies"  # the area rule for company-based figures
SECONDARY, DERIVED = "secondary", "derived"
PRIMARY_RULES = (AREA, AREA_COMPANIES, FREQUENCY, DOMINANCE, P_PERCENT)


@dataclass(frozen=True)
class DisclosureParams:
    """Rule parameters; see the module docstring for each default and its source."""

    min_inhabitants: int = 50
    min_households: int = 20
    min_companies: int = 20
    min_units: int = 10
    zero_safe: bool = True
    dominance_n: int = 2
    dominance_k: float = 85.0
    p_percent: float = 15.0
    protection_ratio: float = 0.30
    protection_min: float = 5.0
    count_base: int = 5
    sum_base: float = 1000.0

    def validate(self) -> None:
        if min(self.min_inhabitants, self.min_households, self.min_companies) < 0 or (
            self.min_units < 1
        ):
            raise ConfigError("thresholds must be non-negative (min_units at least 1)")
        if not 1 <= self.dominance_n <= 3:
            raise ConfigError("dominance_n must be 1, 2 or 3 (three largest contributions kept)")
        if not 0 < self.dominance_k <= 100 or not 0 < self.p_percent <= 100:
            raise ConfigError("dominance_k and p_percent are percentages in (0, 100]")
        if self.protection_ratio < 0 or self.protection_min < 0:
            raise ConfigError("protection levels must be non-negative")
        if self.count_base < 1 or self.sum_base <= 0:
            raise ConfigError("rounding bases must be positive")


def primary(cells: pd.DataFrame, sizes: pd.DataFrame, params: DisclosureParams) -> pd.Series:
    """The primary rule that makes each cell unsafe ('' where safe).

    ``sizes`` is indexed by (level, code) with ``inhabitants`` and ``households``.
    The first rule that applies is reported, in the order area, frequency,
    dominance, p%.
    """
    reason = pd.Series("", index=cells.index, dtype=object)
    sensitive = cells["sensitive"].astype(bool)
    additive = cells["kind"].isin(["count", "sum"])
    # a cell without a value (secret at the source) is not published and has nothing
    # of ours to protect
    check = sensitive & additive & cells["value"].notna()

    key = pd.MultiIndex.from_arrays([cells["level"], cells["code"]])
    inhabitants = sizes["inhabitants"].reindex(key).to_numpy()
    households = sizes["households"].reindex(key).to_numpy()
    with np.errstate(invalid="ignore"):
        small = ~(inhabitants >= params.min_inhabitants) | ~(households >= params.min_households)
    person_based = cells["unit_type"].isin(PERSON_TYPES).to_numpy()
    area_rule = check.to_numpy() & person_based & small
    reason[area_rule] = AREA

    units = cells["units"].to_numpy(dtype=float)
    value = cells["value"].to_numpy(dtype=float)
    zero = (value == 0) & params.zero_safe
    few = (units < params.min_units) & ~zero
    reason[check.to_numpy() & (reason == "").to_numpy() & few] = FREQUENCY

    sums = (cells["kind"] == "sum").to_numpy() & check.to_numpy() & (value > 0)
    top = cells[["top1", "top2", "top3"]].to_numpy(dtype=float)
    top = np.nan_to_num(top, nan=0.0)
    largest_n = top[:, : params.dominance_n].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dominated = largest_n > params.dominance_k / 100 * value
        p_rule = (value - top[:, 0] - top[:, 1]) < params.p_percent / 100 * top[:, 0]
    reason[sums & (reason == "").to_numpy() & dominated] = DOMINANCE
    reason[sums & (reason == "").to_numpy() & p_rule] = P_PERCENT
    return reason


def protection_levels(
    cells: pd.DataFrame, reason: pd.Series, params: DisclosureParams
) -> pd.Series:
    """Upper protection level per unsafe cell: how far above its value an attacker's
    interval must reach (``max(ratio x value, minimum)``; for dominance and p% cells
    at least p% of the largest contribution)."""
    value = cells["value"].to_numpy(dtype=float)
    upl = np.maximum(params.protection_ratio * np.abs(value), params.protection_min)
    sums = reason.isin([DOMINANCE, P_PERCENT]).to_numpy()
    top1 = np.nan_to_num(cells["top1"].to_numpy(dtype=float))
    upl[sums] = np.maximum(upl[sums], params.p_percent / 100 * top1[sums])
    upl[(reason == "").to_numpy()] = 0.0
    return pd.Series(upl, index=cells.index)
