"""Protect a table of cells: primary rules, complementary suppression, rounding, audit.

:func:`protect` takes every cell the engine would publish (one row per indicator,
level and area; columns :data:`~disclosure.rules.CELL_FIELDS`) and decides what may
be published. Sensitive counts and sums are rounded (counts to multiples of 5) and
suppressed where unsafe; complements are added until the attacker's audit finds every
unsafe cell protected. Rates and shares of sensitive counts are recomputed from the
published (rounded) numerator and denominator, and suppressed where either is.

Every suppressed cell keeps its reason: a primary rule (``area``, ``frequency``,
``dominance``, ``p%``), ``secondary`` or ``derived``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from boundaries.errors import DisclosureError
from disclosure.audit import Tree, attacker_bounds, parent_positions, protected
from disclosure.rounding import half_width, round_to_base
from disclosure.rules import (
    DERIVED,
    PRIMARY_RULES,
    SECONDARY,
    DisclosureParams,
    primary,
    protection_levels,
)
from disclosure.secondary import suppress_complements

DEPTH = {"gemeente": 0, "wijk": 1, "buurt": 2}
MAX_ROUNDS = 10


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

    @property
    def failures(self) -> pd.DataFrame:
        c = self.cells
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
    """
    params = params or DisclosureParams()
    params.validate()
    cells = cells.reset_index(drop=True).copy()
    cells["reason"] = primary(cells, sizes, params)
    cells["upper"] = protection_levels(cells, cells["reason"], params)
    cells["lower"] = np.minimum(cells["upper"], cells["value"].abs().fillna(0))
    cells["published"] = cells["value"].astype(float)
    cells["attacker_low"] = np.nan
    cells["attacker_high"] = np.nan
    rounds = 0
    sensitive_additive = cells["sensitive"] & cells["kind"].isin(["count", "sum"])
    derived_ids = set(derived["indicator"]) if len(derived) else set()
    for indicator, group in cells[sensitive_additive].groupby("indicator", sort=False):
        if indicator in derived_ids:
            continue
        rounds = max(rounds, _protect_indicator(cells, group.index.to_numpy(), params))
    _derive(cells, derived)
    cells.loc[cells["reason"] != "", "published"] = np.nan
    return Protection(cells, params, rounds)


def _protect_indicator(cells: pd.DataFrame, rows: np.ndarray, params: DisclosureParams) -> int:
    frame = cells.loc[rows]
    parent = parent_positions(
        frame["level"].to_numpy(), frame["code"].to_numpy(), frame["parent"].to_numpy()
    )
    depth = frame["level"].map(DEPTH).to_numpy()
    value = np.nan_to_num(frame["value"].to_numpy(dtype=float))
    reason = frame["reason"].to_numpy(dtype=object)
    upper = frame["upper"].to_numpy(dtype=float)
    lower = frame["lower"].to_numpy(dtype=float)
    is_count = (frame["kind"] == "count").all()
    base = params.count_base if is_count else params.sum_base
    half = half_width(base, integer=is_count)
    primary_mask = np.isin(reason, PRIMARY_RULES)
    # A cell unknown at the source is left out of its parent's sum (it counts as 0
    # there), and an attacker who reads the documentation treats it as exactly 0.
    unknown = np.isnan(frame["value"].to_numpy(dtype=float))
    suppressed = primary_mask.copy()
    need = np.where(primary_mask, upper, 0.0)
    cell_half = np.where(unknown, 0.0, half)

    for rounds in range(1, MAX_ROUNDS + 3):
        suppressed, need = suppress_complements(value, parent, depth, suppressed, need)
        suppressed &= ~unknown
        published = np.where(suppressed, np.nan, round_to_base(value, base))
        low, high = attacker_bounds(Tree.from_published(parent, published, cell_half))
        exposed = primary_mask & ~protected(value, lower, upper, low, high)
        if not exposed.any():
            break
        if rounds > MAX_ROUNDS:
            # last resort: withhold the indicator's whole gemeente tree of an exposed cell
            top = _top_of(np.flatnonzero(exposed), parent)
            suppressed |= np.isin(_top_of(np.arange(len(parent)), parent), top)
            continue
        for i in np.flatnonzero(exposed):
            q = parent[i]
            if q >= 0 and not suppressed[q]:
                suppressed[q] = True
            if q >= 0:
                need[q] = max(need[q], upper[i])
            kids = np.flatnonzero(parent == i)
            if len(kids) and not suppressed[kids].any():
                suppressed[kids] = True
    else:  # pragma: no cover - the whole-tree fallback always protects
        raise DisclosureError("disclosure control could not protect every cell")

    reason = np.where(suppressed & (reason == ""), SECONDARY, reason)
    cells.loc[rows, "reason"] = reason
    cells.loc[rows, "published"] = np.where(unknown, np.nan, published)
    cells.loc[rows, "attacker_low"] = np.where(suppressed, low, np.nan)
    cells.loc[rows, "attacker_high"] = np.where(suppressed, high, np.nan)
    return rounds


def _top_of(cells: np.ndarray, parent: np.ndarray) -> np.ndarray:
    top = cells.copy()
    for _ in range(3):
        up = parent[top]
        top = np.where(up >= 0, up, top)
    return top


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
