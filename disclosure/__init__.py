"""Statistical disclosure control of everything the engine publishes.

Decides, for every published number, whether it may be published; computes no analytics
and imports nothing from ``models``, ``spatial`` or ``engine``.
"""

from zicht.disclosure.protect import Protection, protect
from zicht.disclosure.rules import DisclosureParams

__all__ = ["DisclosureParams", "Protection", "protect"]
