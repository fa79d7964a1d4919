"""The versions a run was made with, for its ``run`` table, ``manifest.json`` and the
release ledger: a rerun on other versions of the solvers may choose other complements
(and so publish other cells), so a release says which versions decided it."""

from __future__ import annotations

import logging
import platform
from importlib.metadata import PackageNotFoundError, version

log = logging.getLogger("zicht")

# the HiGHS whose complements the project measured and documents (pyproject.toml keeps
# scipy at the releases that bundle it)
PINNED_HIGHS = "1.8.0"

# the packages that decide what a run publishes and computes: the solvers of the
# complement and attacker programs (scipy bundles the HiGHS of the complements,
# highspy is the attacker's), the tables, the geometry, the rasters, the estimates
# across boundaries (tobler) and the statistics and models
DECIDING_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "highspy",
    "shapely",
    "geopandas",
    "pyogrio",
    "pyproj",
    "rasterio",
    "tobler",
    "libpysal",
    "scikit-learn",
    "shap",
    "numba",
)


def engine_version() -> str:
    """The installed zicht version ("unknown" when run from a source tree)."""
    return _installed("zicht")


def software_versions() -> dict[str, str]:
    """Python's version and the installed version of each of :data:`DECIDING_PACKAGES`
    ("unknown" where one is not installed as a distribution)."""
    return (
        {"python": platform.python_version()}
        | {name: _installed(name) for name in DECIDING_PACKAGES}
        | {"highs_of_scipy": scipy_highs()}
    )


def scipy_highs() -> str:
    """The version of the HiGHS that scipy bundles, which solves the complement
    programs (scipy keeps it private: "unknown" where that moves)."""
    try:
        from scipy.optimize._highspy._core import _Highs

        return str(_Highs().version())
    except (ImportError, AttributeError, TypeError, ValueError, RuntimeError):
        # a private binding may move or change its signature: never fail a run on it
        return "unknown"


def check_complement_solver() -> None:
    """Log a warning where scipy bundles a HiGHS other than :data:`PINNED_HIGHS` (an
    install that ignored the pin): its complements, and so the cells withheld, may
    differ from those of an install that kept it."""
    found = scipy_highs()
    if found != PINNED_HIGHS:
        log.warning(
            "the complement programs run on HiGHS %s (scipy %s), not on HiGHS %s that zicht "
            "is checked with: a rerun on an install that keeps the pin (scipy 1.15 or "
            "1.16) may withhold other cells",
            found,
            _installed("scipy"),
            PINNED_HIGHS,
        )


def _installed(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"
