"""The public audit: what an outsider can derive from the published cells.

The attacker knows the rules and reads everything published
(:class:`~disclosure.knowledge.Knowledge`: an interval per cell, the sums of the
hierarchy and of the relations, the subsets). :func:`attack` gives the interval of
every cell the attacker cannot narrow further:

1. propagation (:mod:`disclosure.propagation`): each constraint in turn narrows the
   intervals, to a fixed point. Exact on a tree of sums with one subset per indicator;
2. with ``exact``, the attacker's programs (:mod:`disclosure.programs`) for every
   withheld cell: its exact minimum and maximum;
3. with ``wide``, the programs' verdict on "is the cell's interval at least ``wide``"
   (:func:`~disclosure.witnesses.attacker_bounds_decisive`): witness solutions decide
   most cells, the rest are solved exactly. Asked where propagation may be wider than
   the programs (``needs_programs``), or everywhere with ``exact``.

``zicht audit`` and the estimates from published figures read the output with this;
the protection loop (:mod:`disclosure.search`) asks the same questions of the
pattern it is building.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from zicht.disclosure.knowledge import Knowledge
from zicht.disclosure.programs import attacker_bounds_exact
from zicht.disclosure.propagation import attacker_bounds
from zicht.disclosure.witnesses import attacker_bounds_decisive


class AttackerIntervals(NamedTuple):
    """The attacker's interval of every cell: ``low`` and ``high`` (may be infinite)."""

    low: np.ndarray
    high: np.ndarray


def attack(
    knowledge: Knowledge,
    withheld: np.ndarray,
    *,
    exact: bool = False,
    wide: float | None = None,
    needs_programs: bool = True,
) -> AttackerIntervals:
    """The attacker's interval of every cell of ``knowledge`` (see the module docstring).

    Parameters
    ----------
    knowledge
        What the attacker knows (:meth:`~disclosure.linked.LinkedCells.knowledge`).
    withheld
        The positions of the withheld cells: the programs are asked about these.
    exact
        Without ``wide``: the programs' interval of every withheld cell. With
        ``wide``: the programs' verdict everywhere, not only where propagation may be
        wider than them.
    wide
        Decide, as the programs would, which withheld cells have an interval at least
        this wide (same units as the cells); a cell shown wide enough keeps its
        propagated interval.
    needs_programs
        Whether propagation may be wider than the programs here (cycles of
        constraints: :attr:`~disclosure.linked.LinkedCells.needs_programs`).

    Raises
    ------
    zicht.errors.DisclosureError
        When the published figures contradict each other.
    """
    low, high = attacker_bounds(knowledge)
    if len(withheld) and exact and wide is None:
        low, high = attacker_bounds_exact(knowledge, withheld, low, high)
    elif len(withheld) and wide is not None and (exact or needs_programs):
        width = wide

        def enough(_: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
            return hi - lo >= width - 1e-9

        # the programs only narrow: a cell propagation already finds too narrow is so
        asked = withheld[enough(withheld, low[withheld], high[withheld])]
        low, high = attacker_bounds_decisive(knowledge, asked, low, high, enough)
    return AttackerIntervals(low, high)
