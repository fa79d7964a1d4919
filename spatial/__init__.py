"""Spatial weights and autocorrelation hotspots (libpysal graphs, esda-compatible statistics)."""

from zicht import pandas_options  # noqa: F401  (text in pandas' own storage)
