"""What pins a withheld cell: the published cells behind its bound in the attacker's program.

At the optimum of a linear program its reduced costs are a certificate of the bound
(Chvátal, 1983, *Linear Programming*, ch. 10; the same sensitivity that tau-Argus's
audit reads, Hundepool et al., 2012, section 4.3). :func:`attacker_pins` reads them
for a cell's minimum or maximum in the anchored program
(:func:`~disclosure.witnesses.anchored`) and names the published cells on the
constraints that bind there: withholding one of them gives the cell room
(:meth:`~disclosure.complements.Pattern.unpin`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zicht.disclosure.knowledge import EMPTY, Knowledge, Labels, blocks
from zicht.disclosure.programs import PRIMAL, UNBOUNDED, highs_model, solve
from zicht.disclosure.witnesses import anchored
from zicht.errors import DisclosureError


@dataclass(frozen=True)
class Pins:
    """What holds a cell at its bound in the attacker's program: the published
    ``cells`` on the constraints that bind there, the ``direction`` in which each would
    have to move to give it room (+1 up, -1 down), and per cell its binding constraint
    (``item``): withholding one cell of an item relaxes that constraint. ``bound`` is
    the cell's bound (NaN: none found)."""

    bound: float
    cells: np.ndarray = field(default_factory=lambda: EMPTY)
    direction: np.ndarray = field(default_factory=lambda: EMPTY)
    item: np.ndarray = field(default_factory=lambda: EMPTY)


def attacker_pins(
    k: Knowledge,
    anchor: np.ndarray,
    withheld: np.ndarray,
    cells: np.ndarray,
    signs: np.ndarray,
    labels: Labels | None = None,
) -> list[Pins]:
    """What pins each of ``cells`` when the attacker minimises it (``signs`` +1) or
    maximises it (-1), in the program of
    :func:`~disclosure.witnesses.attacker_bounds_anchored` (published cells held at
    ``anchor``, except those marked ``withheld``; ``labels``: ``k``'s
    :func:`~disclosure.knowledge.block_labels`, where known).

    At the optimum of a linear program its reduced costs are a certificate of the
    bound: a variable with a non-zero reduced cost sits on a bound that limits the
    optimum, and moving it by t moves the optimum by the reduced cost times t
    (Chvátal, 1983, *Linear Programming*, ch. 10; the same sensitivity that tau-Argus's
    audit reads, Hundepool et al., 2012, section 4.3). Here such a variable is a
    published cell moving within its interval, a withheld one held by a published
    subset partner, or the fixed part of a sum group that published cells make up:
    withholding one of those published cells lets the cell move further.
    """
    withheld = np.asarray(withheld, dtype=bool)
    pins = [Pins(np.nan)] * len(cells)
    for which, table, local, inside in blocks(k, cells, labels):  # a gemeente's table
        found = _pins_in_block(table, anchor[inside], withheld[inside], local, signs[which])
        for q, p in zip(which.tolist(), found):
            pins[q] = Pins(p.bound, inside[p.cells], p.direction, p.item)
    return pins


def _pins_in_block(
    k: Knowledge, anchor: np.ndarray, withheld: np.ndarray, cells: np.ndarray, signs: np.ndarray
) -> list[Pins]:
    """:func:`attacker_pins` within one block of the table."""
    sub, position, kept = anchored(k, anchor, withheld)
    free_cells = np.flatnonzero(withheld)
    pins = [Pins(np.nan)] * len(cells)
    asked = np.flatnonzero(position[cells] >= 0)
    for which, block, local, inside in blocks(sub, position[cells[asked]]):
        # bounded: the anchored program caps every cell it lets move
        solver = highs_model(block)
        solver.setOptionValue("simplex_strategy", PRIMAL)  # one cost at a time
        for q, j in zip(asked[which].tolist(), local.tolist()):
            sign = float(signs[q])
            solver.changeColCost(j, sign)
            try:
                outcome = solve(solver)
            except DisclosureError:  # numerical trouble: no certificate for this cell
                solver.changeColCost(j, 0.0)
                continue
            reduced = np.asarray(solver.getSolution().col_dual)
            bound = sign * solver.getInfo().objective_function_value
            solver.changeColCost(j, 0.0)
            if outcome in UNBOUNDED:
                continue
            binding = np.flatnonzero(np.abs(reduced) > 1e-9)
            binding = binding[binding != j]
            moves = -np.sign(reduced[binding])
            pins[q] = _published_pins(k, withheld, free_cells, kept, inside[binding], moves, bound)
    return pins


def _published_pins(
    k: Knowledge,
    withheld: np.ndarray,
    free_cells: np.ndarray,
    kept: np.ndarray,
    variables: np.ndarray,
    moves: np.ndarray,
    bound: float,
) -> Pins:
    """The published cells behind binding variables of the anchored program
    (:func:`_anchored`), each with the direction that relaxes its constraint."""
    n = len(k.low)
    found: list[tuple[int, float, int]] = []  # (cell, direction, item)
    for v, move in zip(variables.tolist(), moves.tolist()):
        if v >= len(free_cells):  # the fixed part of a sum group: its published cells
            g = int(kept[v - len(free_cells)])
            members = k.member[k.group == g]
            held = members[~withheld[members]]
            total = int(k.total[g])
            if withheld[total]:  # fixed part = the published members
                found += [(int(c), move, n + g) for c in held]
            else:  # fixed part = the published total - the published members
                found += [(total, move, n + g)] + [(int(c), -move, n + g) for c in held]
            continue
        cell = int(free_cells[v])
        if np.isfinite(k.high[cell]):  # published, moving within its interval
            found.append((cell, move, cell))
        elif move > 0:  # held below a published superset
            found += [(int(c), 1.0, int(c)) for c in k.large[k.small == cell] if not withheld[c]]
        else:  # held above a published subset
            found += [(int(c), -1.0, int(c)) for c in k.small[k.large == cell] if not withheld[c]]
    if not found:
        return Pins(bound)
    cells, direction, item = (np.array(column) for column in zip(*found))
    return Pins(bound, cells.astype(np.int64), direction.astype(float), item.astype(np.int64))
