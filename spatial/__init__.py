"""Spatial weights and autocorrelation hotspots (libpysal graphs, esda-compatible statistics)."""
