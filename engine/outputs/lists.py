"""Ranked hotspot lists for police analysts: ``hotspots.csv``, ``hotspots.xlsx``, terminal.

One row per area and theme (buurten, wijken and gemeenten), ranked by risk within each
theme and level, in the run's language (Dutch by default). The Dutch CSV opens
correctly in a Dutch Excel by double-click: ``;`` as separator, ``,`` as decimal
mark, UTF-8 with a byte order mark; the English one uses ``,`` and ``.``. Every value
comes from the published layers, so whatever disclosure control withheld is empty
here too. The workbook's writer is in :mod:`engine.outputs.workbook`.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from zicht.engine.config import Config
from zicht.engine.outputs.language import class_label, number, say
from zicht.engine.publish import WITHHELD_TEXT
from zicht.engine.themes import theme_output_columns

# the lists' columns and their headers, in Dutch and English
COLUMNS = {
    "thema": ("Thema", "Theme"),
    "niveau": ("Niveau", "Level"),
    "rang": ("Rang", "Rank"),
    "code": ("Code", "Code"),
    "naam": ("Naam", "Name"),
    "wijk": ("Wijk", "Wijk"),
    "gemeente": ("Gemeente", "Gemeente"),
    "risico": ("Risicoscore (0-100)", "Risk score (0-100)"),
    "risico_laag": ("Score laag", "Score low"),
    "risico_hoog": ("Score hoog", "Score high"),
    "rang_van": ("Rang vanaf", "Rank from"),
    "rang_tot": ("Rang tot en met", "Rank to"),
    "modelkwaliteit": ("Modelkwaliteit (rangcorrelatie)", "Model skill (rank correlation)"),
    "geschat": ("Geschat", "Estimated"),
    "scoretype": ("Score op basis van", "Score based on"),
    "hotspot": ("Hotspot (Gi*)", "Hot spot (Gi*)"),
    "lisa": ("Cluster (LISA)", "Cluster (LISA)"),
    "trend": ("Trend", "Trend"),
    "drijvers": ("Belangrijkste factoren", "Main drivers"),
    "onderdrukking": ("Afgeschermde cijfers", "Withheld figures"),
    "synthetisch": ("Synthetische gegevens", "Synthetic data"),
    "thema_code": ("Themacode", "Theme code"),
}


def list_headers(config: Config) -> dict[str, str]:
    """Column -> header in the run's language; the trend column is named after its trend."""
    index = 1 if config.language == "en" else 0
    headers = {key: names[index] for key, names in COLUMNS.items()}
    if config.trends:
        headers["trend"] = f"Trend {config.trends[0].label(config.language)}"
    return headers


def hotspot_table(
    layers: dict[str, gpd.GeoDataFrame],
    config: Config,
    synthetic_themes: set[str],
    score_types: dict[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """The ranked list: per theme and level, areas with a score by rank, then the rest.
    ``score_types`` names per (level, theme) what the score is ("samengestelde index",
    "model ...")."""
    score_types = score_types or {}
    rows = []
    names = _area_names(layers)
    trend = next((f"trend_{t.id}" for t in config.trends), None)
    language = config.language

    def labels(kind: str, values: pd.Series) -> pd.Series:
        return values.map(lambda code: class_label(kind, code, language))

    yes, no = say("ja", language), say("nee", language)
    for theme in config.scored_themes:
        for level in ("buurt", "wijk", "gemeente"):
            layer = layers.get(level)
            if layer is None or f"risk_{theme}" not in layer:
                continue
            frame = pd.DataFrame(
                {
                    "thema": config.theme_name(theme),
                    "niveau": level,
                    "rang": layer[f"rank_{theme}"],
                    "code": layer["code"],
                    "naam": layer["naam"],
                    "wijk": layer["wijkcode"].map(names) if level == "buurt" else layer["naam"],
                    "gemeente": layer["gemeentecode"].map(names),
                    "risico": pd.to_numeric(layer[f"risk_{theme}"], errors="coerce"),
                    "risico_laag": pd.to_numeric(layer.get(f"risk_low_{theme}"), errors="coerce"),
                    "risico_hoog": pd.to_numeric(layer.get(f"risk_high_{theme}"), errors="coerce"),
                    "rang_van": layer.get(f"rank_low_{theme}"),
                    "rang_tot": layer.get(f"rank_high_{theme}"),
                    "geschat": labels(
                        "estimated", layer.get(f"estimated_{theme}", pd.Series(dtype=float))
                    ),
                    "scoretype": score_types.get((level, theme)),
                    "modelkwaliteit": layer.get(f"skill_{theme}"),
                    "hotspot": labels("hotspot", layer[f"hotspot_{theme}"]),
                    "lisa": labels("lisa", layer[f"lisa_{theme}"]),
                    "trend": labels("trend", layer[trend]) if trend and trend in layer else None,
                    "drijvers": layer[f"drivers_{theme}"],
                    "onderdrukking": _theme_suppression(
                        layer, _theme_columns(config, theme), language
                    ),
                    "synthetisch": yes if theme in synthetic_themes else no,
                    "thema_code": theme,
                }
            )
            rows.append(frame.sort_values(["rang", "code"], na_position="last"))
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(COLUMNS))
    for column in ("rang", "rang_van", "rang_tot"):
        table[column] = pd.to_numeric(table[column]).astype("Int64")
    return table if trend else table.drop(columns="trend")


def _area_names(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, str]:
    """The names of the wijken and gemeenten by code."""
    names = {}
    for level in ("wijk", "gemeente"):
        if level in layers:
            names.update(dict(zip(layers[level]["code"], layers[level]["naam"])))
    return names


def _theme_columns(config: Config, theme: str) -> set[str]:
    """The columns a theme's row is about: its indicators (with their parts) and outputs."""
    columns = set(theme_output_columns(theme))
    for d in config.indicators:
        if d.theme == theme:
            columns |= {d.id, *d.references.values()}
    return columns


def _theme_suppression(
    layer: pd.DataFrame, columns: set[str], language: str = "nl"
) -> list[str | None]:
    """Per area, what is withheld of one theme, in the words of the public
    ``suppression`` column: the area rules, or "een of meer cijfers afgeschermd" where a
    figure of the theme is withheld. Never the rule of a single cell."""
    texts = layer["suppression"] if "suppression" in layer else pd.Series(None, index=layer.index)
    mine = layer[[c for c in columns if c in layer]]
    withheld = mine.isna().any(axis=1)
    out = []
    for text, hidden in zip(texts, withheld):
        text = text if isinstance(text, str) and text else None
        rules = [p for p in text.split("; ") if p != WITHHELD_TEXT] if text else []
        out.append("; ".join(rules) or (LIST_WITHHELD if hidden and text else None))
    return [None if t is None else "; ".join(say(p, language) for p in t.split("; ")) for t in out]


# in a ranked list, "onderdrukt" beside rank 1 reads as if the area were withheld: the
# list says which figures are
LIST_WITHHELD = "een of meer cijfers afgeschermd"


# what makes a spreadsheet read a text as a formula (or, after a tab or return, start a
# new cell that does): OWASP's list for CSV injection
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: object) -> object:
    """A text that a spreadsheet would read as a formula, with a ``'`` before it (shown
    as text, not run); anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _formula_like(values: pd.Series) -> bool:
    """Whether any value of a column is a text a spreadsheet would run: each
    distinct value looked at once."""
    return any(neutralised(value) is not value for value in pd.unique(values.dropna()))


def write_csv(table: pd.DataFrame, path: Path, headers: dict[str, str], language: str) -> None:
    """Excel CSV, UTF-8 with BOM: ``;`` and a decimal comma in Dutch, ``,`` and ``.``
    in English. Texts that would run as formulas are neutralised (an area named
    ``=HYPERLINK(...)`` stays text)."""
    sep, decimal = (";", ",") if language == "nl" else (",", ".")
    table = table.copy()
    for column in table.columns:
        values = table[column]
        if not pd.api.types.is_numeric_dtype(values) and _formula_like(values):
            table[column] = values.map(neutralised)
    table.rename(columns=headers).to_csv(
        path, sep=sep, decimal=decimal, index=False, encoding="utf-8-sig", float_format="%.1f"
    )


def read_list(path: Path) -> tuple[pd.DataFrame, str]:
    """A ``hotspots.csv`` as written, with the column keys, and its language."""
    with open(path, encoding="utf-8-sig") as f:
        header = f.readline()
    language = "nl" if header.startswith(COLUMNS["thema"][0] + ";") else "en"
    sep, decimal = (";", ",") if language == "nl" else (",", ".")
    table = pd.read_csv(path, sep=sep, decimal=decimal, encoding="utf-8-sig")
    index = 1 if language == "en" else 0
    keys = {names[index]: key for key, names in COLUMNS.items()}
    keys |= {c: "trend" for c in table.columns if c.startswith("Trend")}
    return table.rename(columns=keys), language


def format_for_terminal(
    table: pd.DataFrame, theme: str, top: int, level: str = "buurt", language: str = "nl"
) -> str:
    """The top ``top`` areas of one theme as a plain text table."""
    chosen = (table["thema_code"] == theme) | (table["thema"].str.lower() == theme.lower())
    name = str(table.loc[chosen, "thema"].iloc[0]) if chosen.any() else theme
    part = table[chosen & (table["niveau"] == level)].dropna(subset=["rang"])
    part = part.head(top)
    if part.empty:
        return say(
            "Geen gepubliceerde scores voor thema {name} op niveau {level}.",
            language,
            name=name,
            level=level,
        )
    words = [say(w, language) for w in ("rang", "naam", "bandbreedte", "factoren")]
    lines = [
        f"{name} ({level}), top {len(part)}:",
        f"{words[0]:>4}  {'code':<11} {words[1]:<40} {'score':>5} {words[2]:<12} "
        f"{'hotspot':<18} {'lisa':<16} {words[3]}",
    ]
    for row in part.itertuples(index=False):
        band = "-"
        if pd.notna(row.risico_laag) and row.risico_hoog - row.risico_laag >= 0.5:
            band = f"{row.risico_laag:.0f}-{row.risico_hoog:.0f}"
        lines.append(
            f"{int(row.rang):>4}  {row.code:<11} {str(row.naam):<40} "
            f"{number(row.risico, 1, language):>5} {band:<12} {_text(row.hotspot):<18} "
            f"{_text(row.lisa):<16} {_text(row.drijvers)}"
        )
    if (part["synthetisch"] == say("ja", language)).any():
        lines.append(
            say("Let op: dit thema is berekend op synthetische (gegenereerde) microdata.", language)
        )
    return "\n".join(lines)


def _text(value: object) -> str:
    return "-" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
