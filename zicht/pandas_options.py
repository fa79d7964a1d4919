"""The pandas settings every stage relies on, set once when a stage is imported.

Text columns stay in pandas' own storage. With pyarrow installed (it reads Parquet
microdata, :mod:`zicht.engine.sources.partitions`) pandas 3 would store text in
pyarrow arrays, whose missing values behave otherwise in boolean logic: a mask holding
``<NA>`` cannot be combined with ``&`` or used to select rows.
"""

import pandas as pd

pd.set_option("mode.string_storage", "python")
