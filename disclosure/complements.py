"""Complementary suppression: the pattern of withheld cells, and the ways to grow it.

A :class:`Pattern` is what the protection loop withholds (``suppressed``) and how much
each withheld cell must hide (``need``). It grows in three ways, cheapest first:

- :meth:`Pattern.complete`: the complement programs of :mod:`disclosure.secondary`,
  per subtable of the area hierarchy (tau-Argus's modular method, de Wolf, 2002,
  *HiTaS: a heuristic approach to cell suppression in hierarchical tables*); for a
  branche table the joint program of :mod:`disclosure.joint` over both hierarchies;
- :meth:`Pattern.widen`: for a cell the audit still finds exposed, the cheapest cover
  (:meth:`Pattern.cover`: the joint program with the cell needing what it wants), else
  what touches it (its parent, children and related cells), each complement sharing
  its need with its withheld children (:meth:`Pattern.share_down`);
- :meth:`Pattern.unpin`: where all of that is withheld already, the published cells
  on the constraints that bind at the cell's bound in the attacker's program
  (:func:`~disclosure.pins.attacker_pins`), which is how a cell pinned from afar (a
  buurt whose withheld wijk is held by the other wijken of the gemeente) is freed.

Suppressions only grow. Choosing the cheapest complements that protect every cell at
once is the complementary suppression problem (Fischetti and Salazar-Gonzalez, 2001,
*Solving the cell suppression problem on tabular data with linear constraints*); the
loop approximates it with these local steps, and the audit checks the result.
"""

from __future__ import annotations

import numpy as np

from zicht.disclosure.group import GroupCells
from zicht.disclosure.joint import JointMemo, joint_complements
from zicht.disclosure.knowledge import Knowledge, Labels
from zicht.disclosure.limits import LIMITS, SearchLimits
from zicht.disclosure.pins import Pins, attacker_pins
from zicht.disclosure.rules import SECONDARY
from zicht.disclosure.secondary import Children, suppress_complements


class Pattern:
    """The cells withheld so far (``suppressed``) and what each must hide (``need``).

    ``keep`` starts from the group's secondary suppressions already chosen (a later
    pass over the same cells) instead of the primary ones alone.
    """

    def __init__(
        self,
        group: GroupCells,
        keep: bool,
        limits: SearchLimits = LIMITS,
        threads: int = 1,
        joint: JointMemo | None = None,
    ) -> None:
        self.group = group
        self.limits = limits
        self.threads = threads  # for the joint program's blocks
        secondary = (group.reason == SECONDARY) if keep else False
        self.suppressed: np.ndarray = group.primary | secondary | group.never | group.fixed_hidden
        self.need: np.ndarray = np.where(group.primary, group.upper, 0.0)
        self._last_joint: tuple[bytes, bytes, bytes | None] | None = None  # what it returned
        self.joint = joint or JointMemo()  # what the joint program keeps

    def size(self) -> tuple[int, float]:
        """How many cells are withheld and how much they must hide together: a step
        that changes neither added nothing."""
        return int(self.suppressed.sum()), float(self.need.sum())

    def complete(self) -> None:
        """Complementary suppressions: for a branche table the joint program over both
        hierarchies and every relation at once (:func:`~disclosure.joint.joint_complements`:
        one complement serves a row and a column, and none is left alone in a sum);
        otherwise the complement programs of the area hierarchy, subtable by subtable
        (tau-Argus's modular method). The attacker's programs then check the table as a
        whole. Cells unknown at the source are never withheld: they are published as
        unknown."""
        g = self.group
        if not g.two_way:
            self._complete_one(g.linked.parent, g.depth, g.children[0])
        elif self._joint() is None:  # a block out of time
            self._by_subtables()
        # a cell released before keeps its status: the programs may lean on a published
        # one as a complement, and the audit then finds what that leaves exposed
        self.suppressed &= ~(g.unknown | g.fixed_shown)

    def _by_subtables(self) -> None:
        """A branche table's complements the modular way, where the joint program
        found no solution in its time: the area and the SBI subtables in turn, until
        neither adds any (the attacker's programs then check the table as a whole)."""
        g = self.group
        while True:
            before = self.suppressed.copy()
            self._complete_one(g.linked.parent, g.depth, g.children[0])
            if g.linked.sbi_parent is None or g.sbi_depth is None:
                break
            self._complete_one(g.linked.sbi_parent, g.sbi_depth, g.children[1])
            if np.array_equal(before, self.suppressed):
                break

    def _complete_one(self, parent: np.ndarray, depth: np.ndarray, children: Children) -> None:
        """The complement programs of one hierarchy (:func:`suppress_complements`)."""
        self.suppressed, self.need = suppress_complements(
            self.group.value, parent, depth, self.suppressed, self.need, children, self.limits
        )

    def widen(self, exposed: np.ndarray) -> np.ndarray:
        """Give each exposed cell the room it needs: the cheapest cover first (the joint
        program over the whole linked table, :func:`~disclosure.joint.joint_complements`,
        with each exposed cell needing as much as it wants), and where that adds
        nothing, what pins each one down: its parent, its children, and the cells of
        related indicators in the same area. Returns the exposed cells for which none
        of that was new."""
        if self.cover(exposed):
            return np.zeros(0, dtype=np.int64)
        idle = []
        for i in exposed:
            before = self.size()
            self._widen_one(int(i))
            if self.size() == before:
                idle.append(int(i))
        return np.array(idle, dtype=np.int64)

    def cover(self, cells: np.ndarray) -> bool:
        """The cheapest cover of ``cells``: each must hide as much as it wants, in every
        sum it is in (:func:`~disclosure.joint.joint_complements`), in the blocks
        (gemeenten) of ``cells`` only: the audit found the others protected. Returns
        whether it withheld anything new."""
        self.need[cells] = np.maximum(self.need[cells], self.group.wanted[cells])
        return bool(self._joint(cells))

    def _joint(self, near: np.ndarray | None = None) -> bool | None:
        """The joint program on the pattern as it is, in the blocks of the cells
        ``near`` (None: every block), not again on the pattern it returned last (it
        would add nothing); returns whether it withheld anything, None where a block
        found no solution in its time (that block keeps its pattern; the others take
        theirs)."""
        g = self.group
        asked = (
            self.suppressed.tobytes(),
            self.need.tobytes(),
            None if near is None else np.asarray(near).tobytes(),
        )
        if self._last_joint == asked:
            return False
        structure = self.joint.structure_of(g)
        joint = joint_complements(
            g,
            self.suppressed,
            self.need,
            self.limits,
            self.threads,
            near=near,
            structure=structure,
            free=self.joint.free,
        )
        self.joint.free = joint.free
        grown = joint.suppressed & ~(g.unknown | g.fixed_shown)
        new = grown & ~self.suppressed
        self.suppressed = grown | self.suppressed
        if not joint.complete:
            return None
        self._last_joint = (self.suppressed.tobytes(), self.need.tobytes(), asked[2])
        return bool(new.any())

    def _widen_one(self, i: int) -> None:
        """:meth:`widen` for one exposed cell ``i``."""
        g, suppressed, need = self.group, self.suppressed, self.need
        # in a branche table a parent is a large total (the gemeente, all branches):
        # the smallest published sibling that hides anything is the cheaper complement
        partners = [
            _sibling(i, p, kids, suppressed, g.value) if g.two_way else int(p[i])
            for p, kids in zip(g.parents, g.children)
        ]
        for kids_of in g.children:
            kids = kids_of.of(i)
            if len(kids) and not suppressed[kids].any():
                if not g.two_way:
                    suppressed[kids[~g.fixed_shown[kids]]] = True
                else:  # all sections of an area would be a heavy price: the smallest
                    shown = kids[(g.value[kids] > 0) & ~g.fixed_shown[kids]]
                    free = kids[~g.fixed_shown[kids]]
                    suppressed[shown[np.argmin(g.value[shown])] if len(shown) else free] = True
        partners += g.related.get(i, [])
        for q in partners:
            # not the hidden rest cells, nor a cell a release has published
            if 0 <= q < len(suppressed) and q != i and not g.fixed_shown[q]:
                suppressed[q] = True
                need[q] = max(need[q], g.wanted[i])
                if g.two_way:
                    self.share_down(q)

    def withhold(self, cells: np.ndarray, for_cells: np.ndarray) -> None:
        """Withhold ``cells`` as complements of ``for_cells``: each hides as much as the
        neediest of those needs (and shares it with its withheld children)."""
        cells = cells[~self.group.fixed_shown[cells]]  # an earlier release showed them
        self.suppressed[cells] = True
        self.need[cells] = np.maximum(self.need[cells], self.group.wanted[for_cells].max())
        if self.group.two_way:
            for q in cells:
                self.share_down(int(q))

    def share_down(self, q: int, levels: int | None = None) -> None:
        """A complement ``q`` hides its need only if its withheld children (in either
        hierarchy) can move that much: they share it, the largest first, each as much
        of its value as is still to hide, and pass it on to theirs (``levels`` deep,
        :attr:`SearchLimits.share_depth` by default). Without this a withheld child
        pinned from below keeps the complement pinned, round after round (a branche
        table's wijk total whose withheld section has published divisions)."""
        levels = self.limits.share_depth if levels is None else levels
        if levels == 0:
            return
        value, need = self.group.value, self.need
        for kids_of in self.group.children:
            kids = kids_of.of(q)
            kids = kids[self.suppressed[kids]]
            still = need[q]
            for k in kids[np.argsort(-value[kids], kind="stable")]:
                if still <= 0:
                    break
                share = min(value[k], still)
                still -= share
                if share > need[k]:
                    need[k] = share
                    self.share_down(int(k), levels - 1)

    def unpin(
        self,
        cells: np.ndarray,
        knowledge: Knowledge,
        labels: Labels | None = None,
        floor: np.ndarray | None = None,
    ) -> None:
        """Withhold the published cells that the attacker's program shows to pin each of
        ``cells`` (:func:`~disclosure.pins.attacker_pins`), and again where the next
        constraint pins it (:attr:`SearchLimits.unpin_passes` times at most).

        The constraints that bind at a cell's bound hold it in series (its wijk is its
        gemeente minus the other wijken, and those are the sum of their buurten):
        relaxing one of them gives it room. Per cell that is the cheapest one
        (``cost``): one cell that may rise, or the smallest cells that together can
        fall as far as the cell still lacks. The program is the anchored one of the
        loop (published cells at their true values), narrower than the attacker's:
        what frees a cell there frees it for the attacker. ``labels``: the blocks of
        ``knowledge``, where known. ``floor``: per cell, how low its bound must be able
        to go (its value less its lower protection level, by default; an insider's
        part where that is more: only the others' part is protected from it).
        """
        g = self.group
        low, high = knowledge.low.copy(), knowledge.high.copy()
        floor = g.value[cells] - g.lower[cells] if floor is None else floor
        for _ in range(self.limits.unpin_passes):
            # the attacker's knowledge with what this has withheld so far
            pins, lacking = self._pins(knowledge.within(low, high), cells, floor, labels)
            withheld = self.suppressed | g.unknown | g.fixed_shown
            chosen = [
                _relaxed(p, short, g.value, g.cost, withheld)
                for p, short in zip(pins, lacking)
                if short > 1e-6
            ]
            more = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *chosen]))
            if not len(more):
                return
            self.suppressed[more] = True
            low[more], high[more] = 0.0, np.inf
            cells, floor = cells[lacking > 1e-6], floor[lacking > 1e-6]

    def _pins(
        self, now: Knowledge, cells: np.ndarray, floor: np.ndarray, labels: Labels | None
    ) -> tuple[list[Pins], np.ndarray]:
        """What pins each of ``cells`` and how much room it still lacks: room above
        first; a primary cell that has it may lack room below (down to ``floor``)."""
        g = self.group
        anchor, free = g.anchor(now)
        pins = attacker_pins(now, anchor, free, cells, -np.ones(len(cells)), labels)
        lacking = g.value[cells] + g.wanted[cells] - np.array([p.bound for p in pins])
        below = np.flatnonzero(~(lacking > 1e-6) & (g.lower[cells] > 0))
        if len(below):
            found = attacker_pins(now, anchor, free, cells[below], np.ones(len(below)), labels)
            for k, p in zip(below, found):
                pins[k], lacking[k] = p, p.bound - floor[k]
        return pins, lacking


def _sibling(
    i: int, parent: np.ndarray, children: Children, suppressed: np.ndarray, value: np.ndarray
) -> int:
    """The smallest published, non-zero sibling of cell ``i`` in a hierarchy, else its
    parent (-1 at the top)."""
    if parent[i] < 0:
        return -1
    siblings = children.of(int(parent[i]))
    siblings = siblings[~suppressed[siblings] & (value[siblings] > 0) & (siblings != i)]
    return int(siblings[np.argmin(value[siblings])]) if len(siblings) else int(parent[i])


def _relaxed(
    p: Pins, short: float, value: np.ndarray, cost: np.ndarray, withheld: np.ndarray
) -> np.ndarray:
    """The cheapest published cells whose withholding relaxes one binding constraint
    of ``p`` (none where every pinning cell is withheld already)."""
    usable = np.zeros(len(p.cells), dtype=bool)
    inside = p.cells < len(value)  # not the hidden rest cells
    usable[inside] = ~withheld[p.cells[inside]]
    options = [
        _relaxation(p, usable & (p.item == item), value, cost, short)
        for item in np.unique(p.item[usable])
    ]
    return min(options, key=lambda option: option[0], default=(np.inf, p.cells[:0]))[1]


def _relaxation(
    p: Pins, mine: np.ndarray, value: np.ndarray, cost: np.ndarray, short: float
) -> tuple[float, np.ndarray]:
    """The cheapest cells of one binding constraint that relax it, and their cost: the
    cheapest that may rise, else the smallest that can fall by ``short`` together
    (all of them, at a penalty, if they cannot)."""
    rise = p.cells[mine & (p.direction > 0)]
    if len(rise):
        best = rise[np.argmin(cost[rise])]
        return float(cost[best]), np.array([best])
    fall = p.cells[mine & (p.direction < 0)]
    fall = fall[value[fall] > 0]
    if not len(fall):  # (cells at 0 cannot fall: nothing here relaxes it)
        return np.inf, fall
    fall = fall[np.argsort(value[fall], kind="stable")]
    enough = int(np.searchsorted(np.cumsum(value[fall]), max(short, 0.0))) + 1
    penalty = 0.0 if enough <= len(fall) else float(cost.sum())
    return float(cost[fall[:enough]].sum()) + penalty, fall[:enough]
