"""Run with a Python that has QGIS (Debian's python3-qgis): open a zicht GeoPackage as
QGIS does and print, per layer, what it loaded. Used by tests/test_qgis.py."""

import json
import os
import sys

from qgis.core import QgsVectorLayer
from qgis.PyQt.QtXml import QDomDocument
from qgis_common import start, styled

app = start()
report = {}
for name in sys.argv[2:]:
    layer = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", name, "ogr")
    count, ids, names, _, error = layer.listStylesInDatabase()
    imported = []
    # QGIS lists every style in the file: this layer's `count` first, then the others'
    for style_id in ids[:count]:
        qml, _ = layer.getStyleFromDatabase(style_id)
        doc = QDomDocument()
        probe = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", "probe", "ogr")
        ok = doc.setContent(qml) and probe.importNamedStyle(doc)[0]
        imported.append(bool(ok) and probe.renderer().type() == "RuleRenderer")
    report[name] = {
        **styled(layer),
        "styles": count,
        "styles_imported": imported,
        "error": error,
    }
print(json.dumps(report))
sys.stdout.flush()
os._exit(0)  # QGIS may crash while tearing down headless; the report is out
