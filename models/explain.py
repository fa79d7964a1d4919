"""Per-area drivers of a score, as data and as plain text for policy teams (Dutch, or
English with ``language="en"``).

>>> import pandas as pd
>>> c = pd.DataFrame({"a": [0.3, -0.1], "b": [-0.2, 0.05], "c": [0.0, 0.4]}, index=["x", "y"])
>>> labels = {"a": "veel verkopen", "b": "weinig koopwoningen", "c": "hoge dichtheid"}
>>> for text in drivers_text(c, labels):
...     print(text)
veel verkopen (+0,30); weinig koopwoningen (-0,20)
hoge dichtheid (+0,40); veel verkopen (-0,10); weinig koopwoningen (+0,05)
>>> driver_sentence(drivers_text(c, labels)["x"])
'Hoger door: veel verkopen. Lager door: weinig koopwoningen.'
>>> drivers_text(c, labels, c > 0.35)["y"]
'hoge dichtheid, geschat (+0,40); veel verkopen (-0,10); weinig koopwoningen (+0,05)'
>>> driver_sentence(drivers_text(c, labels, c > 0.35)["y"])
'Hoger door: hoge dichtheid (geschat) en weinig koopwoningen. Lager door: veel verkopen.'
>>> english = drivers_text(c, {"a": "many sales"}, c > 0.35, language="en")["y"]
>>> english
'c, estimated (+0.40); many sales (-0.10); b (+0.05)'
>>> driver_sentence(english, "en")
'Higher because of: c (estimated) and b. Lower because of: many sales.'
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def top_drivers(row: pd.Series, k: int = 3) -> pd.Series:
    """The ``k`` contributions largest in absolute value (zero contributions dropped)."""
    nonzero = row[row.abs() > 1e-12]
    return nonzero.reindex(nonzero.abs().sort_values(ascending=False).index[:k])


WORDS = {
    "nl": {"estimated": "geschat", "up": "Hoger door:", "down": "Lager door:", "and": " en "},
    "en": {
        "estimated": "estimated",
        "up": "Higher because of:",
        "down": "Lower because of:",
        "and": " and ",
    },
}


def drivers_text(
    contributions: pd.DataFrame,
    labels: dict[str, str],
    estimated: pd.DataFrame | None = None,
    k: int = 3,
    language: str = "nl",
) -> pd.Series:
    """Per area: ``label (+0,30); label (-0,20)`` for its top ``k`` drivers (zero
    contributions dropped; a decimal point in English); a driver whose value was
    estimated (``estimated``, same shape) reads ``label, geschat``."""
    mark = ", " + WORDS[language]["estimated"]
    point = "," if language == "nl" else "."
    values = contributions.to_numpy(dtype=float)
    values = np.where(np.isnan(values), 0.0, values)
    marks = np.zeros(values.shape, dtype=bool)
    if estimated is not None:
        marks = estimated.reindex_like(contributions).fillna(False).to_numpy(dtype=bool)
    names = [labels.get(c, c) for c in contributions.columns]
    # the stable sort keeps column order among equal contributions, as top_drivers does
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    texts: list[str | None] = []
    for i, row in enumerate(order):
        parts = [
            f"{names[j]}{mark if marks[i, j] else ''} ({_signed(values[i, j], point)})"
            for j in row
            if abs(values[i, j]) > 1e-12
        ]
        texts.append("; ".join(parts) or None)
    return pd.Series(texts, index=contributions.index, dtype=object)


def _signed(value: float, point: str) -> str:
    return f"{value:+.2f}".replace(".", point)


def driver_sentence(drivers: object, language: str = "nl") -> str:
    """A short sentence from a drivers text (``label (+0,30); label (-0,20)``): which
    indicators push the score up and which pull it down. Works on the published text,
    so the report needs nothing else."""
    words = WORDS[language]
    if not isinstance(drivers, str) or not drivers:
        return "-"
    up: list[str] = []
    down: list[str] = []
    for part in drivers.split("; "):
        label, _, value = part.rpartition(" (")
        label = label.replace(f", {words['estimated']}", f" ({words['estimated']})")
        (down if value.startswith("-") else up).append(lower_first(label) if label else part)
    parts = []
    if up:
        parts.append(f"{words['up']} {_join(up, words['and'])}.")
    if down:
        parts.append(f"{words['down']} {_join(down, words['and'])}.")
    return " ".join(parts)


def lower_first(label: str) -> str:
    """A label inside a sentence: its first letter in lower case, unless it starts an
    abbreviation (``WOZ-waarde``, ``KvK``).

    >>> lower_first("Gemiddelde WOZ-waarde"), lower_first("WOZ-waarde"), lower_first("KvK")
    ('gemiddelde WOZ-waarde', 'WOZ-waarde', 'KvK')
    """
    if len(label) > 1 and (label[1].isupper() or label[:3] == "KvK"):
        return label
    return label[:1].lower() + label[1:]


def _join(items: list[str], and_: str) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + and_ + items[-1]
