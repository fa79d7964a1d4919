"""CBS wijk and buurt boundaries: read, reproject to RD New, repair, check the hierarchy.

>>> from zicht.boundaries import read_boundaries
"""

from zicht import pandas_options  # noqa: F401  (text in pandas' own storage)
from zicht.boundaries.geometry import RD_NEW
from zicht.boundaries.read import Boundaries, BoundaryReport, list_layers, read_boundaries
from zicht.errors import BoundaryError

__all__ = [
    "RD_NEW",
    "BoundaryError",
    "Boundaries",
    "BoundaryReport",
    "list_layers",
    "read_boundaries",
]
