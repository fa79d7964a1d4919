"""Per-area drivers of a score, as data and as plain Dutch text for policy teams.

>>> import pandas as pd
>>> c = pd.DataFrame({"a": [0.3, -0.1], "b": [-0.2, 0.05], "c": [0.0, 0.4]}, index=["x", "y"])
>>> labels = {"a": "veel verkopen", "b": "weinig koopwoningen", "c": "hoge dichtheid"}
>>> for text in drivers_text(c, labels):
...     print(text)
veel verkopen (+0.30); weinig koopwoningen (-0.20)
hoge dichtheid (+0.40); veel verkopen (-0.10); weinig koopwoningen (+0.05)
>>> driver_sentence(drivers_text(c, labels)["x"])
'Hoger door: veel verkopen. Lager door: weinig koopwoningen.'
"""

from __future__ import annotations

import pandas as pd


def top_drivers(row: pd.Series, k: int = 3) -> pd.Series:
    """The ``k`` contributions largest in absolute value (zero contributions dropped)."""
    nonzero = row[row.abs() > 1e-12]
    return nonzero.reindex(nonzero.abs().sort_values(ascending=False).index[:k])


def drivers_text(contributions: pd.DataFrame, labels: dict[str, str], k: int = 3) -> pd.Series:
    """Per area: ``label (+0.30); label (-0.20)`` for its top ``k`` drivers."""

    def one(row: pd.Series) -> str | None:
        top = top_drivers(row, k)
        if top.empty:
            return None
        return "; ".join(f"{labels.get(name, name)} ({value:+.2f})" for name, value in top.items())

    return contributions.apply(one, axis=1)


def driver_sentence(drivers: object) -> str:
    """A short sentence from a drivers text (``label (+0.30); label (-0.20)``): which
    indicators push the score up and which pull it down. Works on the published text,
    so the report needs nothing else."""
    if not isinstance(drivers, str) or not drivers:
        return "-"
    up: list[str] = []
    down: list[str] = []
    for part in drivers.split("; "):
        label, _, value = part.rpartition(" (")
        (down if value.startswith("-") else up).append(label.lower() if label else part)
    parts = []
    if up:
        parts.append("Hoger door: " + _join(up) + ".")
    if down:
        parts.append("Lager door: " + _join(down) + ".")
    return " ".join(parts)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " en " + items[-1]
