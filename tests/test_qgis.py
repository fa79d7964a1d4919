"""The GeoPackage opens styled in a real QGIS (Debian's python3-qgis), when installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin")


def _has_qgis() -> bool:
    if SYSTEM_PYTHON is None:
        return False
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"],
        capture_output=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _has_qgis(), reason="QGIS (Debian's python3-qgis) is not installed")
def test_layers_open_styled_in_qgis(demo_out):
    out = demo_out
    script = Path(__file__).with_name("qgis_open.py")
    result = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(out / "zicht.gpkg"), "buurten", "wijken", "gemeenten"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for name, layer in report.items():
        assert layer["valid"], name
        assert layer["renderer"] == "RuleRenderer", name  # the default style was applied
        assert layer["labeling"] == "rule-based", name
        assert layer["styles"] >= 1 and all(layer["styles_imported"]), name
    assert report["buurten"]["features"] == 518 and report["buurten"]["rules"] == 6
    # risk, hotspots and LISA for four themes, the crime trend and the crime map
    assert report["buurten"]["styles"] == 14
