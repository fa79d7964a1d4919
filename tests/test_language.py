"""One language per output: the Dutch demo has no English word in its values, classes,
drivers, lists or report, and the same run in English has no Dutch one."""

from __future__ import annotations

import html
import re

import geopandas as gpd
import pandas as pd
import pytest

from tests.conftest import DEMO_STADSDEEL, _demo_on
from zicht.engine import load_config, run
from zicht.engine.data import DEMO_BOUNDARIES, DEMO_CONFIG
from zicht.engine.outputs.language import CLASS_LABELS, ENGLISH, class_label, percent, say
from zicht.engine.sbi import SbiTree

# words that give a language away in running text (area names are taken out first)
ENGLISH_WORDS = (
    r"\b(the|and|not significant|no pattern|estimated|hot spot|cold spot|"
    r"high-high|low-low|withheld|score from|areas|because|yes|no)\b"
)
DUTCH_WORDS = (
    r"\b(de|het|een|van|en|niet|geen|gebieden|onderdrukt|geschat|hoger|lager|"
    r"patroon|hoog|laag|ja|nee|aantal|inwoners|verkopen|woningen)\b"
)


@pytest.fixture(scope="module")
def english_out(tmp_path_factory):
    """The demo on :data:`DEMO_STADSDEEL`, run in English (``[run] language = "en"``):
    its report has the sections of the whole demo's (scores, hotspots, trends, models,
    withheld figures, branches; only the wijken's top 10 is missing) and its lists every
    column, in a fifth of the time."""
    folder = tmp_path_factory.mktemp("english")
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace('language = "nl"', 'language = "en"')
    text = text.replace('title = "Risicobeeld ondermijning Amsterdam"', 'title = "Risk Amsterdam"')
    text = text.replace('path = "amsterdam_buurten_2024.gpkg"', f'path = "{DEMO_BOUNDARIES}"')
    (folder / "demo_en.toml").write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        _demo_on(mp, DEMO_STADSDEEL)
        return run(load_config(folder / "demo_en.toml"), folder / "out").out_dir


def _report_text(out) -> str:
    """The report's visible text without area names, map titles and the sources (the
    data publishers' own citation)."""
    page = (out / "report.html").read_text(encoding="utf-8")
    page = re.sub(r"<(style|title)>.*?</\1>", " ", page, flags=re.S)
    page = page.split("<section><h2>Bronnen</h2>")[0].split("<section><h2>Sources</h2>")[0]
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    names = set()
    for layer in ("buurten", "wijken", "gemeenten"):
        names |= set(gpd.read_file(out / "zicht.gpkg", layer=layer)["naam"].astype(str))
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def _found(pattern: str, text: str) -> list[str]:
    return sorted({m.group(0) for m in re.finditer(pattern, text, flags=re.I)})


def test_every_dutch_text_has_its_english():
    assert all(ENGLISH.values())
    assert say("ja", "en") == "yes" and say("ja") == "ja"
    with pytest.raises(KeyError):
        say("een tekst zonder vertaling", "en")
    for labels in CLASS_LABELS.values():
        assert all(nl != en or nl == "LISA" for nl, en in labels.values() if " " in nl)


def test_shares_never_round_to_all_or_nothing():
    assert percent(517, 518) == "99%" and percent(1, 518) == "1%"
    assert percent(518, 518) == "100%" and percent(0, 518) == "0%"


def test_the_dutch_demo_speaks_dutch(demo_out):
    text = _report_text(demo_out)
    assert _found(ENGLISH_WORDS, text) == []
    for code in [c for c in SbiTree.default().parent if "." in c]:
        # an SBI code (49.32) is not a number
        text = re.sub(r"(?<![\d.,])" + re.escape(code) + r"(?![\d.,])", "", text)
    assert not re.search(r"\d\.\d\d\b", text)  # decimals with a comma: 0,29
    lists = pd.read_csv(demo_out / "hotspots.csv", sep=";", decimal=",", encoding="utf-8-sig")
    dutch = {labels[0] for kind in CLASS_LABELS.values() for labels in kind.values()}
    for column in ("Hotspot (Gi*)", "Cluster (LISA)", "Trend geregistreerde misdrijven", "Geschat"):
        assert set(lists[column].dropna()) <= dutch, column
    drivers = " ".join(lists["Belangrijkste factoren"].dropna())
    assert re.search(r"\([+-]\d,\d\d\)", drivers) and not re.search(r"\([+-]\d\.\d\d\)", drivers)
    assert _found(ENGLISH_WORDS, drivers) == []
    layer = gpd.read_file(demo_out / "zicht.gpkg", layer="buurten")
    # the GeoPackage keeps codes; the labels table says them in Dutch
    assert set(layer["hotspot_drugs"].dropna()) <= set(CLASS_LABELS["hotspot"])
    assert class_label("trend", "diminishing cold") == "afnemende coldspot"


def test_the_english_run_speaks_english(english_out):
    assert "<h1>Risk Amsterdam</h1>" in (english_out / "report.html").read_text()
    text = _report_text(english_out)
    assert _found(DUTCH_WORDS, text) == []
    lists = pd.read_csv(english_out / "hotspots.csv", encoding="utf-8-sig")
    assert list(lists.columns[:3]) == ["Theme", "Level", "Rank"]
    english = {labels[1] for kind in CLASS_LABELS.values() for labels in kind.values()}
    for column in ("Hot spot (Gi*)", "Cluster (LISA)", "Trend registered crimes", "Estimated"):
        assert set(lists[column].dropna()) <= english, column
    values = " ".join(
        lists[c].dropna().astype(str).str.cat(sep=" ")
        for c in ("Theme", "Main drivers", "Withheld figures", "Score based on", "Synthetic data")
    )
    assert _found(DUTCH_WORDS, values) == []
    scores = gpd.read_file(english_out / "zicht.gpkg", layer="scores")
    assert _found(DUTCH_WORDS, " ".join(scores["score"])) == []
    labels = gpd.read_file(english_out / "zicht.gpkg", layer="labels")
    assert "hot spot (95%)" in set(labels["label"])
