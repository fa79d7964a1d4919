"""The attribute tables of the GeoPackage that describe a run: ``indicators``,
``models`` and ``run`` (everything needed to reproduce it), and the model details the
report shows."""

from __future__ import annotations

import hmac
import json
import os
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd

from zicht.boundaries import Boundaries
from zicht.disclosure import Relations
from zicht.engine.analysis import LevelAnalysis
from zicht.engine.analysis.evidence import hotspots_of
from zicht.engine.cells import IndicatorCells
from zicht.engine.config import Config, IndicatorSpec
from zicht.engine.outputs.branches import lq_column
from zicht.engine.outputs.disclosure_record import DisclosureRecord
from zicht.engine.outputs.language import label_marks, percent, say
from zicht.engine.outputs.manifest import folder_files, sha256_of
from zicht.engine.outputs.report import ModelDetail
from zicht.engine.publish import indicator_exposures
from zicht.engine.sbi import SbiTree
from zicht.engine.themes import THEME_OUTPUTS
from zicht.versions import engine_version, software_versions

DEFAULT_ATTRIBUTION = "Bron: CBS, CC BY 4.0."


def indicator_table(
    cells: dict[str, IndicatorCells], config: Config, relations: Relations | None = None
) -> pd.DataFrame:
    """The ``indicators`` table of the output contract, with the relations between
    indicators an attacker knows anyway (``subset_of``, ``sum_of``: ids, comma-separated),
    a ratio's factor ``per`` and each count's ``exposure`` (what its withheld cells are
    estimated in proportion to, and what a score measures it against)."""
    relations = relations or Relations()
    exposures = indicator_exposures(config, relations)
    larger = {i: ",".join(b for a, b in relations.subsets if a == i) for i in cells}
    parts = {t: ",".join(p) for t, p in relations.sums}
    rows = [
        {
            "id": d.id,
            "theme": d.theme,
            "kind": d.kind,
            "sensitive": int(cells[d.id].sensitive),
            "numerator": d.references.get("numerator"),
            "denominator": d.references.get("denominator"),
            "weight": d.references.get("weight"),
            "per": getattr(d, "per", None),
            "exposure": exposures.get(d.id),
            "label_nl": _label(d, cells[d.id], config, "nl"),
            "label_en": _label(d, cells[d.id], config, "en"),
            "unit": d.unit,
            "direction": d.direction,
            "source": cells[d.id].source,
            "synthetic": int(cells[d.id].synthetic),
            "unit_type": cells[d.id].unit_type,
            "subset_of": larger.get(d.id) or None,
            "sum_of": parts.get(d.id),
            "map": int(d.map),
        }
        for d in config.indicators
        if d.id in cells
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "theme",
            "kind",
            "label_nl",
            "label_en",
            "unit",
            "direction",
            "source",
            "synthetic",
            "sensitive",
            "numerator",
            "denominator",
            "weight",
            "per",
            "exposure",
            "unit_type",
            "subset_of",
            "sum_of",
            "map",
        ],
    )


def _label(d: IndicatorSpec, cells: IndicatorCells, config: Config, language: str) -> str:
    """An indicator's label, marked where its figures are synthetic or estimates."""
    estimate = d.id in config.estimates
    return d.label(language) + label_marks(cells.synthetic, estimate, language)


def model_table(analyses: dict[str, LevelAnalysis]) -> pd.DataFrame:
    """The ``models`` table: per supervised theme model, its metrics per validation,
    and whether it scores its theme (``used``: 0 where its spatial-CV rank correlation
    is below ``models.min_skill`` and the theme is the composite index)."""
    rows = []
    for level, analysis in analyses.items():
        fitted = [(t, m, 1) for t, m in analysis.models.items()]
        fitted += [(t, m, 0) for t, m in analysis.rejected.items()]
        for theme, model, used in fitted:
            for validation, metrics in model.metrics.iterrows():
                rows.append(
                    {
                        "level": level,
                        "theme": theme,
                        "model": model.model,
                        "validation": validation,
                        "r2": round(metrics["r2"], 4),
                        "mae": round(metrics["mae"], 4),
                        "spearman": round(metrics["spearman"], 4),
                        "areas": int(metrics["n"]),
                        "used": used,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=["level", "theme", "model", "validation", "r2", "mae", "spearman", "areas", "used"],
    )


def model_details(
    analyses: dict[str, LevelAnalysis], layers: dict[str, gpd.GeoDataFrame], config: Config
) -> dict[str, ModelDetail]:
    """Per supervised theme, for the report: the five most important features, and the
    calibration (mean prediction against mean observed, per fifth of the predictions).

    The observed means use published target values only: a mean over a group of
    areas, minus the published others, would otherwise give back a withheld value.
    """
    language = config.language
    labels = {d.id: d.label(language) for d in config.indicators}
    nearby = say(" (in omliggende gebieden)", language)
    details: dict[str, ModelDetail] = {}
    for level, analysis in analyses.items():
        # a model below models.min_skill too: the report says why it is not used
        for theme, model in {**analysis.models, **analysis.rejected}.items():
            target = next(t.target for t in config.models.targets if t.theme == theme)
            layer = layers[level].set_index("code").reindex(model.prediction.index)
            exposure_id = config.indicator(target).exposure or target
            exposure = layer[exposure_id]
            # the modelled rate, per 1,000 of the exposure (as the model predicts it)
            published = (layer[target] / exposure * 1000).where(exposure > 0)
            frame = pd.DataFrame({"predicted": model.prediction, "observed": published})
            frame["group"] = pd.qcut(frame["predicted"].rank(method="first"), 5, labels=False) + 1
            calibration = frame.groupby("group").agg(
                predicted=("predicted", "mean"),
                observed=("observed", "mean"),
                published=("observed", "count"),
                areas=("predicted", "size"),
            )
            importance = [
                (
                    labels.get(name.removesuffix("__buren"), name)
                    + (nearby if name.endswith("__buren") else ""),
                    value,
                )
                for name, value in model.importance.head(5).items()
            ]
            exposure_label = labels.get(exposure_id, exposure_id).lower()
            per = say("per 1.000 {exposure}", language, exposure=exposure_label)
            details[theme] = ModelDetail(
                target=f"{labels[target]} {per}", importance=importance, calibration=calibration
            )
    return details


SCORE_COLUMNS = [
    "niveau",
    "thema",
    "thema_naam",
    "score",
    "gebieden",
    "met_score",
    "waarvan_geschat",
    "zonder_score",
    "gebiedsregel",
    "methode",
    "modelkwaliteit",
    "top10_gewichten",
    "top10_normalisatie",
    "top10_weglaten",
]


def score_table(
    analyses: dict[str, LevelAnalysis],
    layers: dict[str, gpd.GeoDataFrame],
    themes: dict[str, str],
) -> pd.DataFrame:
    """The ``scores`` table: per level and theme (``themes``: id -> name), how the
    score is made (in Dutch) and
    how many areas have one from published figures only, one with an estimated input,
    none, and none because of the area rule. Counts of published columns only."""
    rows = []
    for level, analysis in analyses.items():
        layer = layers[level]
        for theme, description in analysis.descriptions.items():
            risk = layer[f"risk_{theme}"].notna()
            estimated = pd.to_numeric(layer[f"estimated_{theme}"], errors="coerce") == 1
            ruled = layer["suppression"].fillna("").str.contains("gebiedsregel")
            rows.append(
                {
                    "niveau": level,
                    "thema": theme,
                    "thema_naam": themes.get(theme, theme),
                    "score": description,
                    "gebieden": len(layer),
                    "met_score": int(risk.sum()),
                    "waarvan_geschat": int((risk & estimated).sum()),
                    "zonder_score": int((~risk).sum()),
                    "gebiedsregel": int((~risk & ruled).sum()),
                    **_method_columns(analysis, theme),
                }
            )
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def _method_columns(analysis: LevelAnalysis, theme: str) -> dict[str, object]:
    """What a theme's score is on a level (``model <name>`` or ``composiet``), the
    spatial-CV rank correlation of its model (used or not), and the share of its top
    10% that stays there with other weights, the other normalisation and the least of
    leaving one indicator out (composites only)."""
    stable = analysis.sensitivity.get(theme, {})
    left = stable.get("leave_one_out") or {}
    skill = analysis.skill.get(theme)
    return {
        "methode": f"model {analysis.model_of[theme]}"
        if theme in analysis.model_of
        else "composiet",
        "modelkwaliteit": None if skill is None else round(skill, 3),
        "top10_gewichten": stable.get("weights"),
        "top10_normalisatie": stable.get("normalisation"),
        "top10_weglaten": min(left.values()) if isinstance(left, dict) and left else None,
    }


def score_types(
    analyses: dict[str, LevelAnalysis], language: str = "nl"
) -> dict[tuple[str, str], str]:
    """Per (level, theme): what the score is, in a few words for the lists."""
    return {
        (level, theme): (
            f"model {a.model_of[theme]}"
            if theme in a.model_of
            else say("samengestelde index", language)
        )
        for level, a in analyses.items()
        for theme in a.descriptions
    }


def score_explanations(scores: pd.DataFrame, language: str = "nl") -> list[str]:
    """The ``scores`` table as sentences, for the XLSX notes."""
    lines = []
    for row in scores.itertuples(index=False):
        lines.append(
            say(
                "{theme} ({level}): {how} Score voor {scored} van {areas} gebieden ({share}), "
                "waarvan {estimated} met een geschat cijfer; geen score voor {none} (waarvan "
                "{ruled} door de gebiedsregel).",
                language,
                theme=row.thema_naam,
                level=row.niveau,
                how=row.score,
                scored=row.met_score,
                areas=row.gebieden,
                share=percent(row.met_score, row.gebieden),
                estimated=row.waarvan_geschat,
                none=row.zonder_score,
                ruled=row.gebiedsregel,
            )
        )
    return lines


_OUTPUT_ALIASES = {
    "nl": {
        "risk": "Risicoscore",
        "risk_low": "Score laag",
        "risk_high": "Score hoog",
        "estimated": "Geschat",
        "rank": "Rang",
        "rank_low": "Rang vanaf",
        "rank_high": "Rang tot en met",
        "skill": "Modelkwaliteit",
        "drivers": "Factoren",
        "hotspot": "Hotspot",
        "gi_z": "Gi*-z",
        "gi_p": "Gi*-p gecorrigeerd",
        "lisa": "LISA",
        "coverage": "Dekking",
        "trend": "Trend",
    },
    "en": {
        "risk": "Risk score",
        "risk_low": "Score low",
        "risk_high": "Score high",
        "estimated": "Estimated",
        "rank": "Rank",
        "rank_low": "Rank from",
        "rank_high": "Rank to",
        "skill": "Model skill",
        "drivers": "Drivers",
        "hotspot": "Hot spot",
        "gi_z": "Gi* z",
        "gi_p": "Gi* p corrected",
        "lisa": "LISA",
        "coverage": "Coverage",
        "trend": "Trend",
    },
}
_BASE_ALIASES = {
    "nl": {
        "code": "CBS-code",
        "naam": "Naam",
        "niveau": "Niveau",
        "wijkcode": "Wijkcode",
        "gemeentecode": "Gemeentecode",
        "suppressed": "Gebiedsregel",
        "suppression": "Onderdrukking",
    },
    "en": {
        "code": "CBS code",
        "naam": "Name",
        "niveau": "Level",
        "wijkcode": "Wijk code",
        "gemeentecode": "Gemeente code",
        "suppressed": "Area rule",
        "suppression": "Withheld",
    },
}


def field_aliases(config: Config, themes: dict[str, str]) -> dict[str, str]:
    """Every layer column's name for people, in the run's language: the indicator
    labels, and per theme its outputs ("Risicoscore Drugs")."""
    language = config.language
    aliases = dict(_BASE_ALIASES[language])
    for d in config.indicators:
        aliases[d.id] = d.label(language) + label_marks(False, d.id in config.estimates, language)
    words = _OUTPUT_ALIASES[language]
    for theme, name in themes.items():
        for output in THEME_OUTPUTS:
            aliases[f"{output}_{theme}"] = f"{words[output]} {name}"
    for trend in config.trends:
        aliases[f"trend_{trend.id}"] = f"{words['trend']} {trend.label(language)}"
    if config.branches is not None:
        tree = SbiTree.default()
        for risk in config.branches.risk:
            aliases[lq_column(risk.sbi)] = f"{risk.sbi} {tree.name(risk.sbi, language)}"
    return aliases


def _boundaries_record(boundaries: Boundaries, config: Config) -> dict[str, object]:
    """What was read, repaired, dropped, dissolved, selected and found suspect."""
    report = boundaries.report
    return {
        "path": Path(report.path).name,
        "layer": report.layer,
        "schema": report.schema,
        "source_crs": report.source_crs,
        "counts": report.counts,
        "repaired": len(report.repaired),
        "dropped": report.dropped_non_polygon,
        "water_dropped": report.water_dropped,
        "dissolved": report.built_by_dissolving,
        "gaps_closed": report.rings_closed,
        "suspects": report.suspects,
        "suspects_excluded": config.boundaries.quality.suspects == "exclude",
        "select": list(config.boundaries.select),
    }


def attribution(config: Config) -> str:
    """The attribution text every output carries."""
    return config.attribution or DEFAULT_ATTRIBUTION


DIGEST_KEY = "ZICHT_DIGEST_KEY"


def input_digests(config: Config) -> tuple[dict[str, str], dict[str, str | None]]:
    """The SHA-256 of every public input file (boundaries, and tables and rasters
    marked ``public``) and, per confidential input (microdata, other tables and
    rasters), None, or where the steward set :data:`DIGEST_KEY` in the environment an
    HMAC-SHA256 keyed with it: a plain digest of a confidential file would prove two
    outputs used the same records and let an insider test guesses of its contents."""
    public = [config.boundaries.path]
    public += [t.path for t in config.tables if t.public]
    public += [r.path for r in config.rasters if r.public]
    confidential = [t.path for t in config.tables if not t.public]
    confidential += [m.path for m in config.microdata if m.path is not None]
    confidential += [r.path for r in config.rasters if not r.public]
    key = os.environ.get(DIGEST_KEY, "").encode()
    return (
        {Path(p).name: sha256_of(Path(p)) for p in public},
        {Path(p).name: _keyed_digest(Path(p), key) if key else None for p in confidential},
    )


def _keyed_digest(path: Path, key: bytes) -> str:
    """HMAC-SHA256 of a file's bytes under ``key``, hex-encoded and labelled."""
    digest = hmac.new(key, digestmod="sha256")
    # a folder (microdata in partitions): its files' paths and bytes in path order
    files = folder_files(path) if path.is_dir() else [path]
    for file in files:
        if file != path:
            digest.update(f"{file.relative_to(path).as_posix()}\0".encode())
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return "hmac-sha256:" + digest.hexdigest()


def run_table(
    config: Config,
    boundaries: Boundaries,
    started: datetime,
    finished: datetime,
    timings: dict[str, float],
    disclosure: DisclosureRecord | None = None,
    analyses: dict[str, LevelAnalysis] | None = None,
    estimates: tuple[dict[str, object], ...] = (),
) -> pd.DataFrame:
    """The ``run`` table: one key/value row per fact needed to reproduce the run;
    ``estimates``: how each table moved from other boundaries was moved (a row only
    where there is one)."""
    public, confidential = input_digests(config)
    rows = {
        "engine_version": engine_version(),
        # the versions that decided it: other solvers may choose other complements
        "software": json.dumps(software_versions()),
        "config_file": config.path.name,
        "config_sha256": config.sha256,
        "seed": str(config.seed),
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "input_sha256": json.dumps(public),
        "inputs_confidential": json.dumps(confidential),
        "boundaries": json.dumps(_boundaries_record(boundaries, config)),
        "timings_s": json.dumps(timings),
        "spatial": json.dumps(
            {
                "weights": config.spatial.weights,
                "permutations": config.spatial.permutations,
                "correction": config.spatial.correction,
                "inference": config.spatial.inference,
                # what each theme's hotspot and LISA classes are of
                "hotspots_of": hotspots_of(
                    config, {t for a in (analyses or {}).values() for t in a.model_of}
                ),
                "max_permutations": config.spatial.max_permutations,
                "alpha": config.spatial.alpha,
                "islands_joined": {
                    lv: a.islands for lv, a in (analyses or {}).items() if a.graph is not None
                },
            }
        ),
        "disclosure": disclosure.to_json() if disclosure is not None else "",
        # per level and theme: the share of the composite's top 10% that stays there
        # with other weights, the other normalisation, each indicator left out
        "sensitivity": json.dumps(
            {lv: a.sensitivity for lv, a in (analyses or {}).items() if a.sensitivity}
        ),
        "score_draws": str(config.models.draws),
        "attribution": attribution(config),
    }
    if estimates:
        rows["estimates"] = json.dumps(list(estimates), ensure_ascii=False)
    return pd.DataFrame({"key": list(rows), "value": list(rows.values())})
