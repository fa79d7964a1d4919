"""Real-data evaluation: predict 2025 registered crime per buurt from 2024 figures.

Data: ../shared/data/nl_buurten_2024_kerncijfers_misdrijven.csv (14,574 buurten, CBS
kerncijfers 2024 and Politie registered crime 2021-2025). Two feature sets:

1. the 2024 kerncijfers only;
2. the kerncijfers plus registered crime 2021-2024.

For each: spatial cross-validation with folds grouped by gemeente (a model must work
in a gemeente it has not seen) beside random 5-fold CV (which lets a buurt learn from
its neighbours), and two baselines: population only (a linear model on inhabitants,
same spatial folds) and "same as last year" (2024 crime as the prediction for 2025).
Metrics: R2, mean absolute error (crimes per buurt) and Spearman rank correlation
(what prioritising buurten relies on).

    python -m benchmarks.model_eval
"""

from __future__ import annotations

import time

import pandas as pd

from benchmarks.common import SHARED

CSV = SHARED / "nl_buurten_2024_kerncijfers_misdrijven.csv"
KERNCIJFERS = [
    "inwoners",
    "inwoners65plus",
    "inwoners0tot15",
    "dichtheid",
    "huishoudensgrootte",
    "huishoudens",
    "wozWaarde",
    "koopwoningen",
    "eengezinswoning",
    "inkomenPerInwoner",
    "stedelijkheid",
    "adressendichtheid",
    "oppervlakteLandHa",
    "afstandHuisarts",
    "afstandSupermarkt",
    "afstandSchool",
    "scholenBinnen3km",
    "goedErvarenGezondheid_pct",
]
PAST_CRIME = ["misdrijven_2021", "misdrijven_2022", "misdrijven_2023", "misdrijven_2024"]


def main() -> None:
    if not CSV.exists():
        print(f"SKIPPED: {CSV} is absent; this benchmark needs the national 2024 table.")
        return
    from zicht.models.supervised import fit_out_of_fold

    data = pd.read_csv(CSV, dtype={"buurtcode": str}).set_index("buurtcode")
    data = data[data["misdrijven_2025"].notna()]
    print(
        f"{len(data):,} buurten with registered crime 2025 in "
        f"{data['gemeentecode'].nunique()} gemeenten; folds grouped by gemeente\n"
    )
    rows = []
    for label, features in (
        ("kerncijfers 2024", KERNCIJFERS),
        ("kerncijfers + crime 2021-2024", KERNCIJFERS + PAST_CRIME),
    ):
        for model in ("hgb", "ridge"):
            start = time.perf_counter()
            result = fit_out_of_fold(
                data[features],
                data["misdrijven_2025"],
                data["gemeentecode"],
                model,
                n_splits=5,
                seed=0,
                population=data["inwoners"],
                previous=data["misdrijven_2024"],
            )
            seconds = time.perf_counter() - start
            for validation, m in result.metrics.iterrows():
                rows.append(
                    {
                        "features": label,
                        "model": model,
                        "validation": validation,
                        "R2": m["r2"],
                        "MAE": m["mae"],
                        "Spearman": m["spearman"],
                        "seconds": seconds,
                    }
                )
            if model == "hgb":
                top = ", ".join(result.importance.index[:5])
                print(f"{label}, hgb: most important features: {top}")
    table = pd.DataFrame(rows).drop_duplicates(subset=["features", "model", "validation"])
    print()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
