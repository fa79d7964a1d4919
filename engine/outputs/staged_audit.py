"""The audit of a run's staged output, before anything goes public
(:func:`engine.pipeline.run`), in two parts: the published tables and pages while a
second process still writes ``hotspots.xlsx`` (nothing the audit reads), then the
manifest, once it lists every file.

The files are audited as an attacker would read them; where they publish exactly the
figures the protection loop proved, its verdict holds for them
(:func:`~engine.outputs.verify.audit_directory`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from zicht.engine.outputs.own_areas import OWN_LAYER_PREFIX, OWN_LEVEL
from zicht.engine.outputs.verify import audit_directory, manifest_problems
from zicht.errors import DisclosureError

log = logging.getLogger("zicht")


def proven_layers(
    layers: dict[str, gpd.GeoDataFrame], own_layers: dict[str, gpd.GeoDataFrame]
) -> dict[str, pd.DataFrame]:
    """The published layers whose figures the protection loop proved, as the audit
    reads them back (own areas as ``eigen:<id>``), without geometry."""
    proven = {
        level: pd.DataFrame(layer.drop(columns="geometry")) for level, layer in layers.items()
    }
    for name, layer in own_layers.items():
        level = OWN_LEVEL + name.removeprefix(OWN_LAYER_PREFIX)
        proven[level] = pd.DataFrame(layer.drop(columns="geometry"))
    return proven


def audit_staged(staging: Path, proven: dict[str, pd.DataFrame]) -> None:
    """Audit the staged files but the manifest (:func:`check_manifest`); raise
    :class:`~zicht.errors.DisclosureError` on a problem."""
    audit = audit_directory(staging, proven=proven, manifest=False)
    _refuse(audit.problems)
    log.info(
        "audit: %d sensitive cells, %d withheld, none recoverable",
        audit.cells_checked,
        audit.withheld,
    )


def check_manifest(staging: Path) -> None:
    """Every file the staged manifest lists is there with its checksum."""
    _refuse(manifest_problems(staging))


def _refuse(problems: list[str]) -> None:
    """Stop the run where the audit found ``problems`` (the first one named: codes
    and columns, never a value)."""
    if problems:
        raise DisclosureError(
            f"disclosure audit of the output failed ({len(problems)} "
            f"problem(s), first: {problems[0]}); nothing was written"
        )


@dataclass
class Meanwhile:
    """A step a run takes while it waits for something else (the audit while the
    workbook is written): whether it ran, and the wall time it took, in seconds (the
    run's timings count it as the audit's, not as the writing's)."""

    step: Callable[[], None]
    seconds: float = 0.0
    ran: bool = False

    def __call__(self) -> None:
        start = time.perf_counter()
        self.step()
        self.ran = True
        self.seconds += time.perf_counter() - start
