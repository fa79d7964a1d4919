"""zicht's errors: one root, one subclass per stage (as ``rasterio.errors``).

Every stage raises a subclass of :class:`ZichtError`, so a caller catches one class
and the command line maps each to its exit code in one place (``exit_code``):

=====  ==========================================================
code   meaning
=====  ==========================================================
0      the run or check succeeded
1      internal error (a bug: anything that is not a ZichtError)
2      bad input: a file, layer, column, key or code at fault
3      disclosure control or the audit found a disclosure problem
=====  ==========================================================

The root lives at the top of the package, outside every stage, so each stage imports it
without an import running back up the flow (boundaries -> sources -> disclosure ->
spatial/models -> outputs).
Messages name the file, layer, column, key or code at fault, never a withheld value.
"""

from __future__ import annotations

QUOTE_LIMIT = 80  # characters of an input value an error message quotes


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters: a message quotes enough of a bad
    input value to find it, never a whole file's worth of it."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ZichtError(Exception):
    """Root of every error zicht raises on purpose."""

    exit_code = 2


class BoundaryError(ZichtError, ValueError):
    """A boundary file cannot be used.

    The message names the file, the layer and, where relevant, the column or
    the area codes at fault. ``problems`` holds every individual problem so
    callers can report them all at once.
    """

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class ConfigError(ZichtError, ValueError):
    """The configuration cannot be used; the message names the file and the key.

    ``problems`` holds every problem found in one pass.
    """

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems or [message])


class SourceError(ZichtError, ValueError):
    """An indicator source (area table, microdata, raster) cannot be used."""


class TableError(SourceError):
    """An area table cannot be read or joined; the message names file, column or codes."""


class MicrodataError(SourceError):
    """A file of unit-level records cannot be used; the message names file and column."""


class RasterError(SourceError):
    """A raster cannot be used; the message names the file and what is wrong."""


class AnalysisError(ZichtError, ValueError):
    """Spatial statistics or models were asked for something they cannot do."""


class OutputError(ZichtError, OSError):
    """An output directory cannot be written or read; the message names it."""


class DisclosureError(ZichtError):
    """Disclosure control could not protect a cell, or an audit found a recoverable
    withheld value. Nothing is written when a run raises it."""

    exit_code = 3
