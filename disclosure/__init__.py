"""Statistical disclosure control of everything the engine publishes.

Decides, for every published number, whether it may be published; computes no analytics
and imports nothing from ``models``.
"""
