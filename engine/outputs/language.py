"""Numbers and class breaks as the outputs show them: Dutch by default.

>>> dutch_number(7664), dutch_number(0.25, 2), dutch_number(-1234.5, 1)
('7.664', '0,25', '-1.234,5')
>>> class_breaks(pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
[1.0, 2.8, 4.6, 6.4, 8.2, 10.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def dutch_number(value: float, decimals: int = 0) -> str:
    """``value`` with a dot between thousands and a decimal comma."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def class_breaks(values: pd.Series, classes: int = 5) -> list[float]:
    """Edges of ``classes`` classes holding a fifth (etc.) of the published values each,
    from the lowest to the highest value; fewer where values repeat, [] without any."""
    known = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if not len(known):
        return []
    edges = np.unique(np.quantile(known, np.linspace(0, 1, classes + 1)))
    return [float(e) for e in edges] if len(edges) > 1 else [float(edges[0])] * 2


_TRENDS = {
    "new": ("nieuwe", "new"),
    "consecutive": ("aaneengesloten", "consecutive"),
    "intensifying": ("toenemende", "intensifying"),
    "persistent": ("aanhoudende", "persistent"),
    "diminishing": ("afnemende", "diminishing"),
    "sporadic": ("sporadische", "sporadic"),
    "oscillating": ("wisselende", "oscillating"),
    "historical": ("historische", "historical"),
}
# the machine-readable codes in the GeoPackage and their labels: (Dutch, English)
CLASS_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "hotspot": {
        **{
            f"{kind} {c}%": (f"{kind}spot ({c}%)", f"{kind} spot ({c}%)")
            for kind in ("hot", "cold")
            for c in (99, 95, 90)
        },
        "not significant": ("niet significant", "not significant"),
    },
    "lisa": {
        "HH": ("hoog-hoog", "high-high"),
        "LH": ("laag-hoog", "low-high"),
        "LL": ("laag-laag", "low-low"),
        "HL": ("hoog-laag", "high-low"),
        "not significant": ("niet significant", "not significant"),
    },
    "trend": {
        **{name: (f"{nl} hotspot", f"{en} hot spot") for name, (nl, en) in _TRENDS.items()},
        **{
            f"{name} cold": (f"{nl} coldspot", f"{en} cold spot")
            for name, (nl, en) in _TRENDS.items()
        },
        "no pattern": ("geen patroon", "no pattern"),
    },
    "estimated": {"1": ("ja", "yes"), "0": ("nee", "no")},
}


def class_label(kind: str, code: object, language: str = "nl") -> str | None:
    """The label of a class code (``hotspot``, ``lisa``, ``trend``, ``estimated``) in
    ``language``; None for a missing code, the code itself for an unknown one."""
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return None
    key = str(int(code)) if isinstance(code, (int, float, np.integer)) else str(code)
    labels = CLASS_LABELS[kind].get(key)
    return (labels[1] if language == "en" else labels[0]) if labels else key


def class_kind(column: str) -> str | None:
    """Which class vocabulary a layer column uses (``hotspot_drugs`` -> ``hotspot``)."""
    head = column.split("_")[0]
    return head if head in ("hotspot", "lisa", "trend", "estimated") else None


def label_table(columns: list[str], language: str = "nl") -> pd.DataFrame:
    """The ``labels`` table of the GeoPackage: per class column of ``columns``, each
    code and its label in ``language`` (a lookup for tools other than QGIS)."""
    rows = [
        {"kolom": column, "code": code, "label": labels[1] if language == "en" else labels[0]}
        for column in columns
        if (kind := class_kind(column))
        for code, labels in CLASS_LABELS[kind].items()
    ]
    return pd.DataFrame(rows, columns=["kolom", "code", "label"])
