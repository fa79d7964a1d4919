"""Every tuning constant of the complement search and the attacker's audit, with why.

None of these changes what is safe: the audit decides that. They bound how much work
the search does before it gives up on a shortcut and takes the slower, surer path
(exact programs, or one more complement). Changing one changes the published pattern
(more or fewer complements), never whether a published pattern is protected.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchLimits:
    """How far the protection loop and the attacker's programs go.

    Attributes
    ----------
    max_rounds
        Rounds of the protection loop after which every exposed cell is unpinned by
        the attacker's programs at once, and a round that withholds nothing more ends
        the search with an error. Suppressions only grow from round to round, so the
        loop ends; until then the cheap neighbourhood complements get their chance
        (they add fewer cells than the programs' certificates on most tables).
    unpin_passes
        Passes of :meth:`~disclosure.complements.Pattern.unpin` per call: each frees
        the next constraint that pins a cell in series (its wijk is its gemeente minus
        the other wijken, and those are the sum of their buurten). Three area levels
        and a second (SBI) hierarchy hold a cell through a few constraints at most;
        8 leaves room, and a later round continues where it stopped.
    share_depth
        Levels down which a complement shares its need with its withheld children
        (:meth:`~disclosure.complements.Pattern.share_down`): as deep as the three
        area levels go.
    propagation_rounds
        Passes of propagation at most (:func:`~disclosure.propagation.attacker_bounds`);
        it stops earlier at its fixed point, and the bounds hold after any number of
        passes: the cap only guards against a slow creep of floating-point bounds.
    decisive_witnesses
        Solutions of the attacker's program that may decide cells before the rest are
        solved one by one (:func:`~disclosure.witnesses.attacker_bounds_decisive`:
        ``zicht audit``, the estimates). A solution decides many cells at once, an
        exact program one side of one cell.
    anchored_witnesses
        The same within the protection loop on branche tables
        (:func:`~disclosure.witnesses.attacker_bounds_anchored`), which runs every
        round: fewer, since a cell left undecided only costs a complement or an exact
        program, never a leak.
    idle_witnesses
        Solutions in a row that decide no new cell, after which the witnesses stop:
        what is left competes within one sum, for the exact programs.
    max_exact_per_block
        Undecided cells of one block that the anchored search solves exactly, from the
        witnesses' last basis (more: the programs below decide them, or they get
        complements, which is safe).
    max_exact_cells, max_exact_block
        The exact programs after the anchored search: for at most this many undecided
        cells, in blocks of at most this many cells (a gemeente of 20,000 cells solves
        in about 0.05 s per program; Amsterdam's 169,000 in 46 s).
    cap_factor
        A cell without an upper bound is capped at ``cap_factor * (sum + 1)`` (the sum
        of the finite bounds, or of the anchored values): far above every true value,
        so the capped program's solutions are still the attacker's, and its sums stay
        bounded for the simplex. The same factor makes the big M of the disjunctions
        in the mixed-integer programs.
    complement_time_limit, complement_gap
        The complement programs (:mod:`disclosure.secondary`, a mixed-integer program
        per level; :mod:`disclosure.joint`, one per block): stop after 60 s or within
        2% of the cheapest pattern. The audit checks whatever they return; a dearer
        pattern only withholds a little more.
    """

    max_rounds: int = 10
    unpin_passes: int = 8
    share_depth: int = 3
    propagation_rounds: int = 200
    decisive_witnesses: int = 100
    anchored_witnesses: int = 30
    idle_witnesses: int = 5
    max_exact_per_block: int = 500
    max_exact_cells: int = 20_000
    max_exact_block: int = 40_000
    cap_factor: float = 10.0
    complement_time_limit: float = 60.0
    complement_gap: float = 0.02


LIMITS = SearchLimits()  # the defaults, which every run uses
