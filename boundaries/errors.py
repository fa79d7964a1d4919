"""Errors raised while reading or validating boundary files."""

from __future__ import annotations


class BoundaryError(ValueError):
    """A boundary file cannot be used.

    The message names the file, the layer and, where relevant, the column or
    the area codes at fault. ``problems`` holds every individual problem so
    callers can report them all at once.
    """

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])
