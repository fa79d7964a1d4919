"""How a score is made, in words in the run's language: the labels of its inputs and
the description of a composite or model theme (the QGIS styles and the report show
them)."""

from __future__ import annotations

import pandas as pd

from zicht.engine.config import Config, TargetSpec
from zicht.models.explain import lower_first
from zicht.models.supervised import ModelResult

TEXT = {
    "nl": {
        "against": "{label} t.o.v. {exposure}",
        "nearby": "{label} (in omliggende gebieden)",
        "lower": " (lager is riskanter)",
        "rank": "rangschikking",
        "robust": "robuuste z-waarden",
        "composite": "Samengestelde index ({method}) van: {parts}. Aantallen tellen als "
        "verhouding tot hun noemer, naar het cijfer van de wijk of gemeente getrokken waar "
        "die noemer klein is, zodat een paar gevallen geen uitschieter maken. Onderdrukte "
        "cijfers zijn geschat uit "
        "gepubliceerde cijfers.",
        "lag": " en hun gemiddelde in omliggende gebieden",
        "model": "Voorspelmodel ({model}): verwacht aantal {target} per 1.000 {exposure}, "
        "voorspeld uit "
        "{features}{lag}. Getraind op gepubliceerde en geschatte aantallen, gevalideerd per "
        "{folds} op de gepubliceerde; de score van een gebied komt van een model dat zijn "
        "eigen aantal niet zag.",
        "wijk": "wijk",
        "gemeente": "gemeente",
        "blocks": "ruimtelijk blok",
        "and": " en ",
        "fallback": "Het model {model} voorspelde de rangorde in ruimtelijke kruisvalidatie "
        "te zwak (rangcorrelatie {skill}, drempel {threshold}): de score is daarom op elk "
        "niveau de samengestelde index. ",
        "unknown": "niet te bepalen",
        "aggregated": " Per {level}: het verwachte aantal van de buurten erin, gedeeld door "
        "hun totaal (hetzelfde model als op buurtniveau).",
    },
    "en": {
        "against": "{label} relative to {exposure}",
        "nearby": "{label} (in surrounding areas)",
        "lower": " (lower is riskier)",
        "rank": "ranks",
        "robust": "robust z-scores",
        "composite": "Composite index ({method}) of: {parts}. Counts enter relative to their "
        "denominator, drawn towards the wijk or gemeente figure where that denominator is "
        "small, so that a few cases make no outlier. Withheld figures are estimated from "
        "published figures.",
        "lag": " and their mean in surrounding areas",
        "model": "Prediction model ({model}): expected number of {target} per 1,000 "
        "{exposure}, predicted "
        "from {features}{lag}. Trained on published and estimated counts, validated per "
        "{folds} on the published ones; an area's score comes from a model that did not "
        "see its own count.",
        "wijk": "wijk",
        "gemeente": "gemeente",
        "blocks": "spatial block",
        "and": " and ",
        "fallback": "The model {model} predicted the ranking too weakly in spatial "
        "cross-validation (rank correlation {skill}, threshold {threshold}): the score is "
        "therefore the composite index on every level. ",
        "unknown": "undetermined",
        "aggregated": " Per {level}: the expected number of its buurten over their total "
        "(the same model as on the buurt level).",
    },
}


def indicator_label(config: Config, indicator_id: str) -> str:
    d = config.indicator(indicator_id)
    return d.label(config.language)


def input_label(config: Config, indicator_id: str) -> str:
    """An indicator's label as a score input, in the run's language: a count or sum
    with an exposure is measured against it."""
    d = config.indicator(indicator_id)
    if d.kind in ("count", "sum") and d.exposure and d.direction != "none":
        text = TEXT[config.language]["against"]
        return text.format(
            label=indicator_label(config, d.id),
            exposure=lower_first(indicator_label(config, d.exposure)),
        )
    return indicator_label(config, d.id)


def composite_description(config: Config, theme: str, indicators: pd.DataFrame) -> str:
    """How a composite theme's score is made, in the run's language."""
    text = TEXT[config.language]
    parts = []
    for d in config.theme_indicators(theme):
        parts.append(input_label(config, d.id) + (text["lower"] if d.direction == "lower" else ""))
    method = text["rank"] if config.models.method == "rank" else text["robust"]
    return text["composite"].format(method=method, parts="; ".join(parts))


def model_description(
    config: Config,
    target: TargetSpec,
    indicators: pd.DataFrame,
    model: ModelResult,
    features: list[str],
) -> str:
    """How a model theme's score is made (from ``features``), in the run's language."""
    text = TEXT[config.language]
    return text["model"].format(
        model=_model_name(model.model, config.language),
        target=lower_first(indicator_label(config, target.target)),
        exposure=lower_first(indicator_label(config, indicators.at[target.target, "exposure"])),
        features=_join([lower_first(indicator_label(config, f)) for f in features], text["and"]),
        lag=text["lag"] if target.spatial_lag else "",
        folds=text[target.groups],
    )


# the models by what they are, not by their short names in the configuration
MODEL_NAMES = {
    "hgb": ("beslisbomen, gradient boosting", "decision trees, gradient boosting"),
    "ridge": ("lineaire regressie", "linear regression"),
}


def _model_name(name: str, language: str) -> str:
    """``hgb (Poisson)`` as readers know it: ``beslisbomen, gradient boosting; Poisson``."""
    short, _, detail = name.partition(" (")
    words = MODEL_NAMES.get(short)
    plain = (words[1] if language == "en" else words[0]) if words else short
    return f"{plain}; {detail.rstrip(')')}" if detail else plain


def _join(items: list[str], and_: str) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + and_ + items[-1]


def _decimal(value: float, language: str) -> str:
    text = f"{value:.2f}"
    return text.replace(".", ",") if language == "nl" else text


def fallback_description(config: Config, rejected: ModelResult | None, skill: float | None) -> str:
    """Why a theme with a model is the composite index (empty where no model was
    rejected): its rank correlation in spatial CV against ``models.min_skill``."""
    if rejected is None:
        return ""
    language = config.language
    return TEXT[language]["fallback"].format(
        model=_model_name(rejected.model, language),
        skill=TEXT[language]["unknown"]
        if skill is None or skill != skill
        else _decimal(skill, language),
        threshold=_decimal(config.models.min_skill, language),
    )


def aggregated_description(config: Config, level: str) -> str:
    """How a model theme is scored on a coarser ``level``, in the run's language."""
    text = TEXT[config.language]
    return text["aggregated"].format(level=text.get(level, level))
