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
        # every style labels the areas' names (the gemeente's boundary style too)
        assert layer["labeling"] == "rule-based", name
        assert layer["styles"] >= 1 and all(layer["styles_imported"]), name
        assert len(layer["styles_imported"]) == layer["styles"], name  # its own, each once
    # five classes, no score, and the hotspots' outline over them
    assert report["buurten"]["features"] == 518 and report["buurten"]["rules"] == 7
    # risk, hotspots and LISA for four themes, the crime trend, the crime map, boundaries
    assert report["buurten"]["styles"] == 15


@pytest.mark.skipif(not _has_qgis(), reason="QGIS (Debian's python3-qgis) is not installed")
def test_the_project_opens_in_qgis_grouped_and_every_layer_renders(demo_out, tmp_path):
    """QGIS reads zicht.qgz (from a copy of the folder elsewhere: the paths are
    relative), finds every layer valid and styled, and draws each; the pictures are
    kept in tmp_path to look at."""
    folder = tmp_path / "moved"
    folder.mkdir()
    for name in ("zicht.qgz", "zicht.gpkg"):
        shutil.copy(demo_out / name, folder / name)
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    result = subprocess.run(
        [
            SYSTEM_PYTHON,
            str(Path(__file__).with_name("qgis_project.py")),
            str(folder / "zicht.qgz"),
            str(pictures),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] and report["title"] == "Risicobeeld ondermijning Amsterdam"
    assert report["crs_valid"] and report["crs"] == "EPSG:28992"  # not the layers': its own
    layers = report["layers"]
    # buurten, wijken (no trend), gemeenten; the branche analysis per wijk and gemeente:
    # a location quotient per risk branche and the boundaries
    assert len(layers) == 15 + 14 + 2 + 2 * (12 + 1)
    for layer in layers:
        assert layer["valid"] and layer["renderer"] == "RuleRenderer", layer["name"]
        assert layer["features"] in (518, 110, 1), layer["name"]
        assert layer["aliases"] > 10, layer["name"]  # the fields' names in Dutch
        assert layer["colours"] >= 3, layer["name"]  # drawn: more than a blank picture
        # the withheld labels only from 1:25,000 in, where they do not crowd the map;
        # the names last, from buurt, city or province scale in by level
        *withheld, names = layer["label_scales"]
        assert all(scale == 25_000 for scale in withheld), layer["name"]
        assert names in (25_000, 75_000, 1_000_000), layer["name"]
    groups = {tuple(layer["groups"]) for layer in layers}
    assert ("Buurten", "Drugs") in groups and ("Wijken", "Verdachte transacties") in groups
    assert ("Brancheanalyse", "Wijken") in groups
    shown = [layer["name"] for layer in layers if layer["visible"]]
    assert shown == ["Risico Drugs"]  # one map at a time: the best-covered theme
