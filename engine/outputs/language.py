"""Numbers and class breaks as the outputs show them: Dutch by default.

>>> dutch_number(7664), dutch_number(0.25, 2), dutch_number(-1234.5, 1)
('7.664', '0,25', '-1.234,5')
>>> class_breaks(pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
[1.0, 2.8, 4.6, 6.4, 8.2, 10.0]
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

LEVEL_NAMES = {"buurt": "Buurten", "wijk": "Wijken", "gemeente": "Gemeenten"}  # say() them
# a rate per inhabitant of an area with fewer inhabitants than this is shown but marked,
# and kept out of the class breaks: 1 crime among 5 inhabitants is 200 per 1.000
LOW_POPULATION = 50
POPULATION = "inwoners"


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


def low_population(layer: pd.DataFrame, indicators: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per rate or share per inhabitant: which areas have fewer than
    :data:`LOW_POPULATION` inhabitants (their figures are marked on the page and kept
    out of the class breaks)."""
    if POPULATION not in layer:
        return {}
    people = pd.to_numeric(layer[POPULATION], errors="coerce").astype(float)
    small = (people < LOW_POPULATION).to_numpy(dtype=bool)  # unknown: not small
    per_inhabitant = indicators[
        indicators["kind"].isin(["rate", "share"]) & (indicators["denominator"] == POPULATION)
    ]
    return {str(i): small for i in per_inhabitant["id"] if i in layer}


def local_time(moment: datetime) -> str:
    """A run's time stamp as Dutch readers read a clock: Amsterdam time (a time
    without a zone is taken as UTC), ``dd-mm-yyyy hh:mm``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(ZoneInfo("Europe/Amsterdam"))
    except ZoneInfoNotFoundError:  # no time zone data on this machine: UTC, said so
        return f"{moment.astimezone(UTC):%d-%m-%Y %H:%M} UTC"
    return f"{moment:%d-%m-%Y %H:%M}"


def class_decimals(values: pd.Series) -> int:
    """Decimals to show a map's values with: none from 100 up, else two."""
    known = pd.to_numeric(values, errors="coerce").dropna()
    return 0 if len(known) and known.abs().max() >= 100 else 2


def class_legend(breaks: list[float], decimals: int, language: str = "nl") -> list[str]:
    """``low - high`` of each class between ``breaks``, in the run's language."""
    return [
        f"{number(lo, decimals, language)} - {number(hi, decimals, language)}"
        for lo, hi in zip(breaks[:-1], breaks[1:])
    ]


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
        {"kolom": column, "code": code, "label": class_label(kind, code, language)}
        for column in columns
        if (kind := class_kind(column))
        for code in CLASS_LABELS[kind]
    ]
    return pd.DataFrame(rows, columns=["kolom", "code", "label"])


def number(value: float, decimals: int = 0, language: str = "nl") -> str:
    """``value`` as the run's language writes it: 7.664 and 0,25, or 7,664 and 0.25."""
    return dutch_number(value, decimals) if language == "nl" else f"{value:,.{decimals}f}"


def and_join(items: list[str], language: str = "nl") -> str:
    """``a, b en c`` (``a, b and c``): a list inside a sentence.

    >>> and_join(["Vastgoed", "Drugs", "Branches"]), and_join(["a"], "en")
    ('Vastgoed, Drugs en Branches', 'a')
    """
    and_ = " and " if language == "en" else " en "
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + and_ + items[-1]


def percent(part: float, total: float) -> str:
    """``part`` of ``total`` as a whole percentage that says 100% only when it is all
    and 0% only when it is none: 517 of 518 is 99%, not 100%."""
    if total <= 0:
        return "0%"
    share = round(100 * part / total)
    if part < total:
        share = min(share, 99)
    if part > 0:
        share = max(share, 1)
    return f"{share}%"


def say(text: str, language: str = "nl", **values: object) -> str:
    """``text`` (Dutch, with ``{name}`` placeholders) in ``language``, filled in. A
    Dutch text without an English version is a bug: the tests render English runs."""
    if language == "en":
        text = ENGLISH[text]
    return text.format(**values) if values else text


# The English of every Dutch text the outputs show (the report, the lists).
ENGLISH = {
    " Dat is te zwak: de score van dit thema is daarom de samengestelde index, niet dit "
    "model (drempel models.min_skill).": (
        " That is too weak: this theme's score is therefore the composite index, not this "
        "model (threshold models.min_skill)."
    ),
    "rang {first}-{last}": "rank {first}-{last}",
    " Schattingen, met areale interpolatie overgezet van de grenzen van een ander jaar: "
    "{ids}.": " Estimates, moved from the boundaries of another year by areal interpolation: "
    "{ids}.",
    " Modelkwaliteit: rangcorrelatie {skill} in ruimtelijke kruisvalidatie.": (
        " Model skill: rank correlation {skill} in spatial cross-validation."
    ),
    " Van de hoogste 10% blijft {weights} daar bij andere gewichten, {method} bij een "
    "andere standaardisatie en minstens {left} als één indicator wegvalt.": (
        " Of the top 10%, {weights} stays there with other weights, {method} with another "
        "standardisation and at least {left} when one indicator is left out."
    ),
    "{title}: locatiequotiënten van de risicobranches per gebied ({areas})": (
        "{title}: location quotients of the risk sectors per area ({areas})"
    ),
    "{title}: eigen gebieden ({areas}), samengesteld uit buurten": (
        "{title}: own areas ({areas}), made of buurten"
    ),
    "{title}: {areas} met de gepubliceerde indicatoren (na statistische geheimhouding), risicoscores, hotspots en clusters per thema": (  # noqa: E501
        "{title}: {areas} with the published indicators (after statistical disclosure"
        " control), risk scores, hot spots and clusters per theme"
    ),
    "Brancheanalyse": "Sector analysis",
    "Eigen gebieden": "Own areas",
    "Hoe vaak komt een risicobranche voor in een gebied, vergeleken met het geheel? De locatiequotiënt is het aandeel van de branche onder de vestigingen van het gebied, gedeeld door dat aandeel in alle gebieden samen: 2 betekent twee keer zo vaak als gemiddeld. Cijfers van kleine branches in kleine gebieden zijn onderdrukt; de quotiënt is dan onbekend.": (  # noqa: E501
        "How common is a risk-prone sector in an area, compared with the whole? The "
        "location quotient is the sector's share of the area's establishments divided by "
        "its share in all areas together: 2 means twice as common as on average. Figures "
        "of small sectors in small areas are withheld; the quotient is then unknown."
    ),
    "Locatiequotiënt van alle risicobranches samen per gebied ({level}).": (
        "Location quotient of all risk-prone sectors together per area ({level})."
    ),
    "SBI": "SBI",
    "Risicobranche": "Risk-prone sector",
    "Waarom": "Why",
    "Gebieden waar de branche het vaakst voorkomt (locatiequotiënt)": (
        "Areas where the sector is most common (location quotient)"
    ),
    "Onderdrukt": "Withheld",
    "kaart risicobranches": "map of risk-prone sectors",
    "2 of meer": "2 or more",
    # report: page
    "Gemaakt op {created} met zicht. Gebieden: {buurten} buurten, {wijken} wijken.": (
        "Made on {created} (Amsterdam time) with zicht. Areas: {buurten} buurten "
        "(neighbourhoods), {wijken} wijken (districts)."
    ),
    "{area}: geen trend (te weinig cijfers)": "{area}: no trend (too few figures)",
    " (minder dan {n} inwoners)": " (fewer than {n} inhabitants)",
    "Ontwikkeling van hotspots": "Development of hot spots",
    "Hoe de hotspots van {name} zich over de jaren ontwikkelen ({level}). Gearceerd: "
    "geen trend, omdat cijfers ontbreken of te klein zijn.": (
        "How the hot spots of {name} develop over the years ({level}). Hatched: no trend, "
        "because figures are missing or too small."
    ),
    "Gebieden met minder dan {n} inwoners hebben een kleur, maar tellen niet mee voor de "
    "klassen: hun cijfer per inwoner is onbetrouwbaar.": (
        "Areas with fewer than {n} inhabitants are coloured but not counted for the "
        "classes: their figure per inhabitant is unreliable."
    ),
    "Let op: synthetische gegevens.": "Note: synthetic data.",
    "De thema's {themes} zijn berekend op gegenereerde, niet-echte microdata. Ze laten zien "
    "hoe de analyse werkt, niet hoe het werkelijk is.": (
        "The themes {themes} are computed on generated, not real, microdata. They show how "
        "the analysis works, not how things are."
    ),
    "Hoe lees je dit?": "How to read this",
    "Een hoge risicoscore of een hotspot is een patroon in de gegevens, geen bewijs van "
    "criminaliteit of ondermijning in een buurt, en zegt niets over de mensen die er wonen. "
    "Gebruik het om vragen te stellen en samen met partners te duiden, niet om conclusies "
    "te trekken.": (
        "A high risk score or a hot spot is a pattern in the data, not evidence of crime or "
        "subversion in a neighbourhood, and it says nothing about the people who live there. "
        "Use it to ask questions and to interpret together with partners, not to draw "
        "conclusions."
    ),
    "De risicoscore (0-100) is de plaats van een gebied ten opzichte van de andere "
    "gebieden: 90 betekent dat 90% van de gebieden lager scoort. Waar een cijfer is "
    "onderdrukt, rekent de score met een schatting uit de gepubliceerde cijfers (de rest "
    "van de wijk, verdeeld naar bijvoorbeeld inwoners of verkopen); de bandbreedte naast "
    "de score laat zien hoe ver die kan uitvallen als zo'n cijfer alles is wat de "
    "publicatie toelaat. Een hotspot is een groep aangrenzende gebieden met samen een "
    "opvallend hoge score; de zekerheid (90, 95 of 99%) is gecorrigeerd voor het toetsen "
    "van veel gebieden tegelijk.": (
        "The risk score (0-100) is an area's place among the other areas: 90 means that 90% "
        "of the areas score lower. Where a figure was withheld, the score uses an estimate "
        "from the published figures (the rest of the wijk, shared by inhabitants or sales, "
        "for example); the range beside the score shows how far it can go if such a figure "
        "is anything the publication allows. A hot spot is a group of neighbouring areas "
        "with a remarkably high score together; its confidence (90, 95 or 99%) is corrected "
        "for testing many areas at once."
    ),
    "synthetisch": "synthetic",
    "{level}: risicoscore en hotspots ({shown} van de gebieden heeft een score).": (
        "{level}: risk score and hot spots ({shown} of the areas have a score)."
    ),
    "geen score": "no score",
    "hotspot": "hot spot",
    "coldspot": "cold spot",
    "Top 10 {level}": "Top 10 {level}",
    "Gebied": "Area",
    "Score": "Score",
    "Bandbreedte": "Range",
    "Hotspot": "Hot spot",
    "Waarom hoog?": "Why high?",
    "Kwaliteit van het voorspelmodel.": "Quality of the prediction model.",
    "Het model leunt het meest op: {factors}.": "The model relies most on: {factors}.",
    "Een vergelijking van voorspelde en werkelijke aantallen ({target}) per groep buurten "
    "wordt niet getoond: maar {share} van de buurten heeft een gepubliceerd aantal, de rest "
    "is onderdrukt, en een gemiddelde over alleen de gepubliceerde buurten zou een "
    "vertekend beeld geven.": (
        "A comparison of predicted and actual numbers ({target}) per group of buurten is not "
        "shown: only {share} of the buurten have a published number, the rest is withheld, "
        "and a mean over the published buurten alone would be biased."
    ),
    "Klopt het niveau? Per vijfde van de buurten, van laagste naar hoogste voorspelling, de "
    "gemiddelde voorspelling en het gemiddelde werkelijke aantal ({target}). Alleen "
    "gepubliceerde aantallen tellen mee, zodat niets onderdrukts terug te rekenen is.": (
        "Is the level right? Per fifth of the buurten, from the lowest to the highest "
        "prediction, the mean prediction and the mean actual number ({target}). Only "
        "published numbers count, so that nothing withheld can be worked out."
    ),
    "Vijfde": "Fifth",
    "Voorspeld": "Predicted",
    "Werkelijk": "Actual",
    "Buurten met gepubliceerd aantal": "Buurten with a published number",
    "{published} van {areas}": "{published} of {areas}",
    "Kaarten": "Maps",
    "{name} ({level}; {shown} van de gebieden heeft een gepubliceerd cijfer).": (
        "{name} ({level}; {shown} of the areas have a published figure)."
    ),
    "onderdrukt of geen cijfer": "withheld or no figure",
    "Wat is onderdrukt, en waarom": "What was withheld, and why",
    "Cijfers die iets over een persoon, adres of bedrijf kunnen verraden, zijn niet "
    "gepubliceerd. Een cijfer wordt onderdrukt als minder dan {min_units} personen, adressen "
    "of bedrijven eraan bijdragen, als één of twee bijdragers het bepalen, of als het gebied "
    "minder dan {min_inhabitants} inwoners heeft. Andere cijfers zijn aanvullend onderdrukt, "
    "zodat niets terug te rekenen is uit totalen; een controle die rekent als een aanvaller "
    "bevestigt dat. Aantallen zijn afgerond op {count_base}-tallen.": (
        "Figures that could give away something about a person, address or company were not "
        "published. A figure is withheld when fewer than {min_units} persons, addresses or "
        "companies contribute to it, when one or two contributors dominate it, or when the "
        "area has fewer than {min_inhabitants} inhabitants. Other figures were withheld as "
        "well, so that nothing can be worked out from totals; a check that computes as an "
        "attacker would confirms it. Counts are rounded to multiples of {count_base}."
    ),
    "Van de {cells} gevoelige cellen is {share} gepubliceerd ({published}); {areas} gebieden "
    "hebben te weinig inwoners voor persoonsgegevens.": (
        "Of the {cells} sensitive cells, {share} were published ({published}); {areas} areas "
        "have too few inhabitants for personal data."
    ),
    "Er zijn geen gevoelige cijfers in deze run: niets hoefde te worden onderdrukt.": (
        "This run has no sensitive figures: nothing had to be withheld."
    ),
    "Reden": "Reason",
    "Cellen": "Cells",
    "Aandeel": "Share",
    "Bronnen": "Sources",
    "Bron: CBS.": "Source: CBS.",
    # report: levels and rules
    "Buurten": "Buurten (neighbourhoods)",
    "Wijken": "Wijken (districts)",
    "Gemeenten": "Gemeenten (municipalities)",
    "buurten": "buurten",
    "wijken": "wijken",
    "gemeenten": "gemeenten",
    "te weinig inwoners of huishoudens in het gebied": (
        "too few inhabitants or households in the area"
    ),
    "te weinig bedrijven in de buurt (bedrijfsgegevens)": (
        "too few companies in the buurt (company data)"
    ),
    "te weinig personen, adressen of bedrijven in de cel": (
        "too few persons, addresses or companies in the cell"
    ),
    "één of twee bijdragers bepalen het totaal": "one or two contributors dominate the total",
    "de grootste bijdrage is te goed te schatten (p%-regel)": (
        "the largest contribution could be estimated too closely (p% rule)"
    ),
    "aanvullend onderdrukt, zodat niets terug te rekenen is": (
        "withheld as well, so that nothing can be worked out"
    ),
    "afgeleid van een onderdrukt getal": "derived from a withheld number",
    # report: scores, ranges, maps
    "geschat": "estimated",
    "{area}: geen score (onderdrukt of ontbrekend)": "{area}: no score (withheld or missing)",
    "{area}: score {score}": "{area}: score {score}",
    "{area}: onderdrukt of geen cijfer": "{area}: withheld or no figure",
    "kaart {name}": "map {name}",
    "{published} van de {areas} gebieden hebben een score uit gepubliceerde cijfers alleen, "
    "{estimated} een score met een geschat cijfer, {none} geen score": (
        "{published} of the {areas} areas have a score from published figures alone, "
        "{estimated} a score with an estimated figure, {none} no score"
    ),
    " ({ruled} door de gebiedsregel)": " ({ruled} by the area rule)",
    # report: model quality
    "Getoetst op wijken die het model niet kende, volgt de volgorde van de voorspellingen "
    "die van de werkelijkheid met een rangcorrelatie van {spearman} (1 is perfect, 0 is "
    "willekeurig); het model verklaart {r2} van de verschillen tussen buurten.": (
        "Tested on wijken the model had not seen, the order of the predictions follows that "
        "of reality with a rank correlation of {spearman} (1 is perfect, 0 is random); the "
        "model explains {r2} of the differences between buurten."
    ),
    " Dat is beter dan een voorspelling op alleen het aantal inwoners ({r2}).": (
        " That is better than a prediction from the number of inhabitants alone ({r2})."
    ),
    " Dat is niet beter dan een voorspelling op alleen het aantal inwoners ({r2}).": (
        " That is no better than a prediction from the number of inhabitants alone ({r2})."
    ),
    " Met een willekeurige verdeling van de toets zou het model beter lijken ({r2}), omdat "
    "buren op elkaar lijken; het eerlijke cijfer is het eerste.": (
        " With a random split of the test the model would look better ({r2}), because "
        "neighbours resemble each other; the honest figure is the first."
    ),
    "per 1.000 {exposure}": "per 1,000 {exposure}",
    # record: model details, score types and explanations
    " (in omliggende gebieden)": " (in surrounding areas)",
    "samengestelde index": "composite index",
    "{theme} ({level}): {how} Score voor {scored} van {areas} gebieden ({share}), waarvan "
    "{estimated} met een geschat cijfer; geen score voor {none} (waarvan {ruled} door de "
    "gebiedsregel).": (
        "{theme} ({level}): {how} A score for {scored} of {areas} areas ({share}), of which "
        "{estimated} with an estimated figure; no score for {none} (of which {ruled} by the "
        "area rule)."
    ),
    # lists: what is withheld (the words of the public ``suppression`` column)
    "onderdrukt": "withheld",
    "gebiedsregel personen": "area rule persons",
    "gebiedsregel bedrijven": "area rule companies",
    "ja": "yes",
    "nee": "no",
    "Toelichting": "Notes",
    "Een hoge score of een hotspot is een patroon in de gegevens, geen bewijs van "
    "criminaliteit.": "A high score or a hot spot is a pattern in the data, not evidence of crime.",
    "Lege cellen zijn onderdrukt om personen, adressen en bedrijven te beschermen; de kolom "
    "'Afgeschermde cijfers' zegt waarom.": (
        "Empty cells were withheld to protect persons, addresses and companies; the column "
        "'Withheld figures' says why."
    ),
    "een of meer cijfers afgeschermd": "one or more figures withheld",
    "Thema's met 'Synthetische gegevens = ja' zijn gebaseerd op gegenereerde, niet-echte "
    "microdata.": "Themes with 'Synthetic data = yes' are based on generated, not real, microdata.",
    "Score laag en Score hoog: de score van het gebied als zijn geschatte en afgeronde cijfers "
    "over alles lopen wat uit de publicatie volgt, alle andere gebieden gelijk. Geschat = ja: "
    "de score gebruikt een schatting van een onderdrukt cijfer, gemaakt uit gepubliceerde "
    "cijfers alleen.": (
        "Score low and Score high: the area's score when its estimated and rounded figures run "
        "over everything the publication allows, every other area unchanged. Estimated = yes: "
        "the score uses an estimate of a withheld figure, made from published figures alone."
    ),
    "Geen gepubliceerde scores voor thema {name} op niveau {level}.": (
        "No published scores for theme {name} at level {level}."
    ),
    "rang": "rank",
    "naam": "name",
    "bandbreedte": "range",
    "factoren": "drivers",
    "Let op: dit thema is berekend op synthetische (gegenereerde) microdata.": (
        "Note: this theme is computed on synthetic (generated) microdata."
    ),
}


# what an indicator's label says of its figures
SYNTHETIC_MARK = {"nl": " (synthetisch)", "en": " (synthetic)"}
ESTIMATE_MARK = {"nl": " (schatting)", "en": " (estimate)"}  # [[tables]] interpolate_from


def label_marks(synthetic: bool, estimate: bool, language: str) -> str:
    """The marks an indicator's label gets: synthetic figures, estimates (moved from
    the boundaries of another year)."""
    return (SYNTHETIC_MARK[language] if synthetic else "") + (
        ESTIMATE_MARK[language] if estimate else ""
    )
