"""What an outsider can know of every published cell, and estimates of withheld ones.

Everything here reads what the run publishes and nothing else: the layers as written
(NULL where withheld), the ``indicators`` table (kinds, relations, exposures) and the
rule parameters. For every sensitive count or sum the attacker's interval comes from
:func:`zicht.disclosure.attack` (the same bounds ``zicht audit`` checks), and a withheld
cell's point estimate from :func:`disclosure.estimate.top_down`; rates and shares of
estimated parts are recomputed with their intervals. Scores built on these estimates
are functions of published figures alone, so publishing them reveals nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zicht.boundaries.codes import PARENT_COLUMN
from zicht.disclosure import LinkedCells, Relations, attack
from zicht.disclosure.estimate import ratio_interval, top_down
from zicht.disclosure.rounding import half_width


@dataclass
class LevelEstimates:
    """Per area (rows: codes) and indicator (columns): the published value or an
    estimate (``point``), what an outsider knows it lies in (``low``, ``high``) and
    whether it was estimated (``estimated``: withheld, or computed from a withheld part).
    """

    point: pd.DataFrame
    low: pd.DataFrame
    high: pd.DataFrame
    estimated: pd.DataFrame

    @classmethod
    def exact(cls, values: pd.DataFrame) -> LevelEstimates:
        """Values known exactly (public figures, or the true values in a benchmark)."""
        values = values.apply(pd.to_numeric, errors="coerce").astype(float)
        nothing = pd.DataFrame(False, index=values.index, columns=values.columns)
        return cls(values, values.copy(), values.copy(), nothing)

    def without(self, out: pd.Series) -> LevelEstimates:
        """The same with the areas in ``out`` (bool per code) blanked: the area rule."""
        keep = ~out.reindex(self.point.index).fillna(False).astype(bool).to_numpy()
        mask = np.broadcast_to(keep[:, None], self.point.shape)
        point, low, high = (f.where(mask, np.nan) for f in (self.point, self.low, self.high))
        return LevelEstimates(point, low, high, self.estimated & mask)

    def reindex(self, codes: pd.Index) -> LevelEstimates:
        """The same for the areas ``codes``, in that order."""
        point, low, high = (f.reindex(codes) for f in (self.point, self.low, self.high))
        return LevelEstimates(point, low, high, self.estimated.reindex(codes, fill_value=False))


def relations_of(indicators: pd.DataFrame) -> Relations:
    """The relations the ``indicators`` table declares (``subset_of``, ``sum_of``)."""
    subsets, sums = [], []
    for indicator_id, spec in indicators.iterrows():
        for larger in _listed(spec.get("subset_of")):
            subsets.append((str(indicator_id), larger))
        parts = _listed(spec.get("sum_of"))
        if parts:
            sums.append((str(indicator_id), tuple(parts)))
    return Relations(tuple(subsets), tuple(sums))


def _listed(text: object) -> list[str]:
    return [t for t in str(text).split(",") if t] if isinstance(text, str) else []


def additive_sensitive(indicators: pd.DataFrame) -> list[str]:
    """The sensitive counts and sums: the cells disclosure control protects."""
    sensitive = indicators[indicators["sensitive"] == 1]
    return [
        str(i)
        for i, spec in sensitive.iterrows()
        if spec["kind"] in ("count", "sum") and pd.isna(spec["numerator"])
    ]


def published_cells(
    group: list[str], layers: dict[str, pd.DataFrame]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The cells of a group's indicators on every level (indicator, level, code,
    parent, and for own areas ``members``) and their published values (NaN:
    withheld)."""
    frames, published = [], []
    for indicator_id in group:
        for level, layer in layers.items():
            parent = layer[PARENT_COLUMN[level]] if level in PARENT_COLUMN else None
            frames.append(
                pd.DataFrame(
                    {
                        "indicator": indicator_id,
                        "level": level,
                        "code": layer["code"].to_numpy(),
                        "parent": parent.to_numpy() if parent is not None else None,
                        # an own area is the sum of the buurten its layer lists
                        "members": layer["buurten"].to_numpy() if "buurten" in layer else None,
                    }
                )
            )
            values = layer.get(indicator_id, pd.Series(np.nan, index=layer.index))
            published.append(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float))
    return pd.concat(frames, ignore_index=True), np.concatenate(published)


@dataclass
class GroupBounds:
    """One linked group's cells, published values and the attacker's interval of each."""

    cells: pd.DataFrame
    shown: np.ndarray
    low: np.ndarray
    high: np.ndarray
    parent: np.ndarray  # position of each cell's parent cell (-1: none)


def group_bounds(
    cells: pd.DataFrame,
    shown: np.ndarray,
    kinds: pd.Series,
    params: dict,
    relations: Relations,
    exact: bool = False,
    wide: float | None = None,
) -> GroupBounds:
    """The attacker's interval of every cell of a linked group (``cells`` and their
    published values ``shown``: :func:`published_cells`).

    By propagation: an interval that holds every value the attacker cannot rule out
    (exactly that interval where propagation is exact). With ``wide``, the programs
    decide which withheld cells are narrower than ``wide`` where propagation is not
    exact, or with ``exact`` everywhere (the programs' verdict, with a cell shown wide
    enough keeping its outer interval); with ``exact`` alone, withheld cells get the
    programs' interval (:func:`~zicht.disclosure.attack`). Raises
    :class:`~zicht.errors.DisclosureError` when the published figures contradict
    each other."""
    count = (kinds.reindex(cells["indicator"]) == "count").to_numpy()
    linked = LinkedCells(cells, relations)
    half = np.where(
        count, half_width(params["count_base"], True), half_width(params["sum_base"], False)
    )
    knowledge = linked.knowledge(shown, half, count, params["min_units"])
    withheld = np.flatnonzero(np.isnan(shown))
    low, high = attack(
        knowledge, withheld, exact=exact, wide=wide, needs_programs=linked.needs_programs
    )
    n = len(cells)
    return GroupBounds(cells, shown, low[:n], high[:n], linked.parent)


def estimate_layers(
    layers: dict[str, pd.DataFrame], indicators: pd.DataFrame, params: dict
) -> dict[str, LevelEstimates]:
    """Published values, intervals and estimates of every indicator on every level.

    Parameters
    ----------
    layers
        Per level, the layer as published (``code``, the parent code columns and one
        column per indicator, NaN where withheld).
    indicators
        The ``indicators`` table, indexed by id (``kind``, ``sensitive``,
        ``numerator``, ``denominator``, ``per``, ``subset_of``, ``sum_of``,
        ``exposure``).
    params
        The rule parameters as recorded in the run table.
    """
    ids = [str(i) for i in indicators.index]
    frames = {
        level: LevelEstimates.exact(layer.set_index("code").reindex(columns=ids))
        for level, layer in layers.items()
    }
    additive = additive_sensitive(indicators)
    relations = relations_of(indicators).among(additive)
    bounds = {}
    for group in relations.groups(additive):
        cells, shown = published_cells(group, layers)
        found = group_bounds(cells, shown, indicators["kind"], params, relations.among(group))
        for indicator_id in group:
            bounds[indicator_id] = found
    for indicator_id in _dependency_order(additive, indicators):
        _estimate_one(indicator_id, bounds[indicator_id], indicators, frames)
    subsets = set(relations.closed().subsets)
    for indicator_id, spec in indicators.iterrows():
        if isinstance(spec["numerator"], str) and spec["kind"] in ("rate", "share"):
            for estimates in frames.values():
                _ratio(str(indicator_id), spec, estimates, subsets)
    return frames


def _dependency_order(additive: list[str], indicators: pd.DataFrame) -> list[str]:
    """Indicators after those their estimate uses (a larger set, the exposure)."""
    needs = {
        i: {
            d
            for d in (*_listed(indicators.at[i, "subset_of"]), indicators.at[i, "exposure"])
            if isinstance(d, str) and d in additive and d != i
        }
        for i in additive
    }
    order: list[str] = []
    while len(order) < len(additive):
        ready = [i for i in additive if i not in order and needs[i] <= set(order)]
        # a cycle (not in a valid config) is broken in config order
        order += ready or [next(i for i in additive if i not in order)]
    return order


def _estimate_one(
    indicator_id: str,
    bounds: GroupBounds,
    indicators: pd.DataFrame,
    frames: dict[str, LevelEstimates],
) -> None:
    """Estimates of one indicator's withheld cells, written into ``frames``."""
    rows = np.flatnonzero((bounds.cells["indicator"] == indicator_id).to_numpy())
    local = np.full(len(bounds.cells), -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    parent = np.where(bounds.parent[rows] >= 0, local[np.maximum(bounds.parent[rows], 0)], -1)
    cells = bounds.cells.iloc[rows]
    low, high = bounds.low[rows], bounds.high[rows]
    exposure = _lookup(frames, indicators.at[indicator_id, "exposure"], cells)
    # a part is estimated at most at its whole's estimate (the interval stays the
    # outsider's: the whole's estimate is no bound on the truth)
    cap = high
    for larger in _listed(indicators.at[indicator_id, "subset_of"]):
        cap = np.maximum(low, np.fmin(cap, _lookup(frames, larger, cells)))
    # a published value the hierarchy narrows further is moved into that interval
    shown = bounds.shown[rows]
    shown = np.where(np.isnan(shown), np.nan, np.clip(shown, low, high))
    point = top_down(parent, shown, low, cap, exposure)
    for level, estimates in frames.items():
        mine = (cells["level"] == level).to_numpy()
        codes = cells["code"].to_numpy()[mine]
        for frame, values in ((estimates.point, point), (estimates.low, low)):
            frame.loc[codes, indicator_id] = values[mine]
        estimates.high.loc[codes, indicator_id] = high[mine]
        estimates.estimated.loc[codes, indicator_id] = np.isnan(shown[mine])


def _lookup(
    frames: dict[str, LevelEstimates], indicator_id: object, cells: pd.DataFrame
) -> np.ndarray:
    """Point values of ``indicator_id`` at each cell's level and code (NaN: none)."""
    out = np.full(len(cells), np.nan)
    if not isinstance(indicator_id, str):
        return out
    for level, estimates in frames.items():
        if indicator_id not in estimates.point:
            continue
        mine = (cells["level"] == level).to_numpy()
        values = estimates.point[indicator_id].reindex(cells["code"].to_numpy()[mine])
        out[mine] = values.to_numpy(dtype=float)
    return out


def _ratio(
    indicator_id: str,
    spec: pd.Series,
    estimates: LevelEstimates,
    subsets: set[tuple[str, str]],
) -> None:
    """A rate or share recomputed from its parts' estimates where it is withheld;
    ``subsets``: the (part, whole) pairs, closed."""
    num, den = str(spec["numerator"]), str(spec["denominator"])
    if num not in estimates.point or den not in estimates.point:
        return
    withheld = estimates.point[indicator_id].isna()
    parts = estimates.point[num].notna() & estimates.point[den].notna()
    todo = (withheld & parts).to_numpy()
    if not todo.any():
        return
    per = float(spec.get("per", 1.0) if pd.notna(spec.get("per", 1.0)) else 1.0)
    whole = spec["kind"] == "share" or (num, den) in subsets
    point = estimates.point[num] / estimates.point[den] * per
    low, high = ratio_interval(
        (estimates.low[num].to_numpy(), estimates.high[num].to_numpy()),
        (estimates.low[den].to_numpy(), estimates.high[den].to_numpy()),
        per,
        whole,
    )
    point = point.where(estimates.point[den] > 0, 0.0)
    if whole:
        point = point.clip(upper=per)
    estimates.point.loc[todo, indicator_id] = point[todo]
    estimates.low.loc[todo, indicator_id] = low[todo]
    estimates.high.loc[todo, indicator_id] = high[todo]
    estimates.estimated.loc[todo, indicator_id] = (
        estimates.estimated[num] | estimates.estimated[den]
    )[todo]
