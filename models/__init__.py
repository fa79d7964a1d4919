"""Risk scores per theme: a transparent composite index and supervised models with spatial CV."""

from zicht import pandas_options  # noqa: F401  (text in pandas' own storage)
