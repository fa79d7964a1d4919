"""Run with a Python that has QGIS (Debian's python3-qgis): open a zicht project as
QGIS does, render every layer to a PNG in a folder, and print what it found. Used by
tests/test_qgis.py."""

import json
import os
import sys

from qgis.core import QgsMapRendererSequentialJob, QgsMapSettings, QgsProject
from qgis.PyQt.QtCore import QSize
from qgis_common import start, styled

app = start()
project = QgsProject.instance()
ok = project.read(sys.argv[1])
pictures = sys.argv[2]
report = {
    "ok": ok,
    "title": project.title(),
    "crs": project.crs().authid(),
    "crs_valid": project.crs().isValid(),
    "layers": [],
}
root = project.layerTreeRoot()
for k, node in enumerate(root.findLayers()):
    layer = node.layer()
    groups, parent = [], node.parent()
    while parent is not None and parent.name():
        groups.insert(0, parent.name())
        parent = parent.parent()
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(layer.extent())
    settings.setOutputSize(QSize(360, 300))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    picture = os.path.join(pictures, f"{k:02d}.png")
    image.save(picture)
    colours = {image.pixel(x, y) for x in range(0, 360, 6) for y in range(0, 300, 6)}
    labeling = layer.labeling()
    rules = labeling.rootRule().children() if labeling is not None else []
    report["layers"].append(
        {
            "name": layer.name(),
            "groups": groups,
            **styled(layer),
            "visible": node.isVisible(),
            "colours": len(colours),
            "picture": picture,
            "aliases": sum(1 for f in layer.fields() if f.alias()),
            "label_scales": [rule.settings().minimumScale for rule in rules],
        }
    )
print(json.dumps(report))
sys.stdout.flush()
os._exit(0)  # QGIS may crash while tearing down headless; the report is out
