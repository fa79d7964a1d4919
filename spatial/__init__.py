"""Spatial weights and autocorrelation hotspots (libpysal graphs, esda-compatible statistics)."""

import pandas as _pd

# Text columns in pandas' own storage: with pyarrow installed (Parquet microdata,
# engine.sources.partitions) pandas would store them in pyarrow, whose missing values
# and comparisons behave otherwise (a boolean mask with <NA> cannot be combined).
_pd.set_option("mode.string_storage", "python")
