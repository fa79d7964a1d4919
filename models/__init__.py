"""Risk scores per theme: a transparent composite index and supervised models with spatial CV."""

import pandas as _pd

# Text columns in pandas' own storage: with pyarrow installed (Parquet microdata,
# engine.sources.partitions) pandas would store them in pyarrow, whose missing values
# and comparisons behave otherwise (a boolean mask with <NA> cannot be combined).
_pd.set_option("mode.string_storage", "python")
