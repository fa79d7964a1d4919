"""Shared set-up for the benchmarks: the national 2015 buurt set from ../shared/data.

The benchmarks read real national data that the repository does not ship (the demo
and the tests never need it). When it is absent they say so and exit with code 0.
"""

from __future__ import annotations

import resource
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zicht.engine.config import Config

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
NATIONAL_2015 = SHARED / "nl_buurten_2015.gpkg"

# The 2015 kerncijfers as indicators (CBS codes secret or missing values -99999999).
NATIONAL_BASE = {
    "run": {
        "name": "national benchmark",
        "seed": 2015,
        "attribution": "Bron: CBS Wijk- en Buurtkaart 2015, CC BY 4.0.",
    },
    "boundaries": {"path": str(NATIONAL_2015), "layer": "buurten"},
    "tables": [
        {
            "id": "kwb2015",
            "path": str(NATIONAL_2015),
            "layer": "buurten",
            "key": "BU_CODE",
            "na_values": [-99999999, -99999997],
            "public": True,
            "source": "CBS Wijk- en Buurtkaart 2015",
        }
    ],
    "indicators": [
        {
            "id": "inwoners",
            "kind": "count",
            "table": "kwb2015",
            "column": "AANT_INW",
            "label_nl": "Inwoners",
            "label_en": "Inhabitants",
            "unit": "personen",
        },
        {
            "id": "huishoudens",
            "kind": "count",
            "table": "kwb2015",
            "column": "AANTAL_HH",
            "label_nl": "Huishoudens",
            "label_en": "Households",
            "unit": "huishoudens",
        },
        {
            "id": "oppervlakte_land",
            "kind": "sum",
            "table": "kwb2015",
            "column": "OPP_LAND",
            "label_nl": "Oppervlakte land",
            "label_en": "Land area",
            "unit": "ha",
        },
        {
            "id": "omgevingsadressendichtheid",
            "kind": "mean",
            "table": "kwb2015",
            "column": "OAD",
            "weight": "huishoudens",
            "label_nl": "Omgevingsadressendichtheid",
            "label_en": "Address density",
            "unit": "adressen per km2",
        },
        {
            "id": "uitkeringen_ww",
            "kind": "count",
            "table": "kwb2015",
            "column": "WW_UIT_TOT",
            "label_nl": "WW-uitkeringen",
            "label_en": "Unemployment benefits",
            "unit": "uitkeringen",
        },
        {
            "id": "ww_per_1000",
            "kind": "rate",
            "numerator": "uitkeringen_ww",
            "denominator": "inwoners",
            "per": 1000,
            "label_nl": "WW per 1.000 inwoners",
            "label_en": "Unemployment benefits per 1,000",
            "unit": "per 1.000",
        },
    ],
    "synthetic": {
        "inhabitants": "inwoners",
        "households": "huishoudens",
        "address_density": "omgevingsadressendichtheid",
        "land_area": "oppervlakte_land",
    },
}


def require_national_data() -> None:
    if not NATIONAL_2015.exists():
        print(
            f"SKIPPED: {NATIONAL_2015} is absent; this benchmark needs the national buurt "
            "set from the project's shared data folder."
        )
        sys.exit(0)


def national_config(
    scale: float = 1.0, branche_tables: bool = False, boundaries: Path = NATIONAL_2015
) -> Config:
    """The demo's themes (synthetic sources and indicators) on the national 2015 buurten,
    or on the buurten of the file ``boundaries`` (a part of them, in the same layout);
    with ``branche_tables``, also the demo's area x SBI tables of the companies."""
    # imported here, not with the module: a run's second processes (the groups', the
    # workbook's) import the benchmark's main module again, and need none of zicht for it
    from zicht.engine.config import parse_config
    from zicht.engine.data import DEMO_CONFIG

    demo = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw = {key: value for key, value in NATIONAL_BASE.items()}
    raw["boundaries"] = {"path": str(boundaries), "layer": "buurten"}
    raw["synthetic"] = dict(NATIONAL_BASE["synthetic"], scale=scale)
    raw["microdata"] = demo["microdata"]
    tables = demo["branches"]["indicators"] if branche_tables else []
    raw["indicators"] = NATIONAL_BASE["indicators"] + [
        d for d in demo["indicators"] if d.get("theme", "none") != "none" or d["id"] in tables
    ]
    # the risk branches the themed indicators refer to; the branche tables only where
    # asked (benchmarks/branches.py measures their disclosure control)
    raw["branches"] = dict(demo["branches"], indicators=tables)
    raw["branches"].pop("companies", None)
    return parse_config(raw, REPO / "benchmarks" / "national.toml", "benchmark")


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
