"""What both QGIS scripts (qgis_open.py, qgis_project.py) start with and report per
layer; imported from the folder of the script, with the system Python that has QGIS."""

from qgis.core import QgsApplication, QgsVectorLayer


def start() -> QgsApplication:
    """A headless QGIS."""
    app = QgsApplication([], False)
    app.initQgis()
    return app


def styled(layer: QgsVectorLayer) -> dict:
    """Whether the layer loaded and how it draws: features, renderer, its rules."""
    renderer = layer.renderer()
    return {
        "valid": layer.isValid(),
        "features": layer.featureCount(),
        "renderer": renderer.type() if renderer else None,
        "rules": len(renderer.rootRule().children())
        if renderer and renderer.type() == "RuleRenderer"
        else 0,
        "labeling": layer.labeling().type() if layer.labeling() else None,
    }
