"""CBS wijk and buurt boundaries: read, reproject to RD New, repair, check the hierarchy.

>>> from zicht.boundaries import read_boundaries
"""

import pandas as _pd

from zicht.boundaries.geometry import RD_NEW
from zicht.boundaries.read import Boundaries, BoundaryReport, list_layers, read_boundaries
from zicht.errors import BoundaryError

# Text columns in pandas' own storage: with pyarrow installed (Parquet microdata,
# engine.sources.partitions) pandas would store them in pyarrow, whose missing values
# and comparisons behave otherwise (a boolean mask with <NA> cannot be combined).
_pd.set_option("mode.string_storage", "python")

__all__ = [
    "RD_NEW",
    "BoundaryError",
    "Boundaries",
    "BoundaryReport",
    "list_layers",
    "read_boundaries",
]
