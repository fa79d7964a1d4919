"""Statistical disclosure control of everything the engine publishes.

Decides, for every published number, whether it may be published; computes no analytics
and imports nothing from ``models``, ``spatial`` or ``engine``.

In the manner of sdcTable: the problem is a table of cells with the attacker's
knowledge of it (:mod:`~zicht.disclosure.knowledge`, :mod:`~zicht.disclosure.linked`);
:func:`protect` decides what may be published; :func:`attack` is what an outsider can
derive from what is published. The modules, from the problem to the loop:

- :mod:`~zicht.disclosure.rules`, :mod:`~zicht.disclosure.rounding`: the primary rules
  and the rounding (:class:`DisclosureParams`);
- :mod:`~zicht.disclosure.knowledge`: the attacker's knowledge, its blocks and the
  published intervals; :mod:`~zicht.disclosure.linked`: related indicators as one table;
- :mod:`~zicht.disclosure.propagation`, :mod:`~zicht.disclosure.programs`,
  :mod:`~zicht.disclosure.witnesses`, :mod:`~zicht.disclosure.pins`: the attacker's
  bounds by propagation, by exact programs, by witness solutions, and what pins a cell;
- :mod:`~zicht.disclosure.audit`: the public audit, :func:`attack`;
- :mod:`~zicht.disclosure.secondary`, :mod:`~zicht.disclosure.complements`: the
  complements (programs per subtable; widen, share down, unpin);
- :mod:`~zicht.disclosure.group`, :mod:`~zicht.disclosure.search`: the protection loop
  for one group of linked indicators; :mod:`~zicht.disclosure.protect`: the whole
  table, the company rule, derived rates;
- :mod:`~zicht.disclosure.limits`: every tuning constant (:class:`SearchLimits`);
- :mod:`~zicht.disclosure.estimate`: point estimates of withheld cells.
"""

from zicht.disclosure.audit import AttackerIntervals, attack
from zicht.disclosure.knowledge import Knowledge
from zicht.disclosure.limits import SearchLimits
from zicht.disclosure.linked import LinkedCells, Relations
from zicht.disclosure.protect import Protection, protect
from zicht.disclosure.rules import DisclosureParams

__all__ = [
    "AttackerIntervals",
    "DisclosureParams",
    "Knowledge",
    "LinkedCells",
    "Protection",
    "Relations",
    "SearchLimits",
    "attack",
    "protect",
]
