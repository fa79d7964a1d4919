"""CBS wijk and buurt boundaries: read, reproject to RD New, repair, check the hierarchy.

>>> from boundaries import read_boundaries
"""

from boundaries.errors import BoundaryError
from boundaries.geometry import RD_NEW
from boundaries.read import Boundaries, BoundaryReport, list_layers, read_boundaries

__all__ = [
    "RD_NEW",
    "BoundaryError",
    "Boundaries",
    "BoundaryReport",
    "list_layers",
    "read_boundaries",
]
