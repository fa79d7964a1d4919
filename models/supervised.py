"""Supervised risk models with spatial cross-validation and per-area explanations.

Neighbouring areas resemble each other, so a random train/test split lets a model
score an area after learning from its neighbours: the metric looks better than it
will be in a new region. Folds are therefore groups of areas (wijken, gemeenten or
spatial blocks), and every area's score comes from the model of the fold in which
it was held out: no area is scored by a model that saw its own label.

The report puts the spatial-CV metric beside the random-CV metric (the gap is the
leakage a random split hides) and beside simple baselines, with a calibration table
and the importance of each feature (mean absolute contribution).

Contributions per area are exact: ``coef x standardised value`` for the regularised
linear model, TreeSHAP (the ``shap`` package) for the gradient boosting model. They
add up, with the fold's base value, to the area's prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import GroupKFold, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from boundaries.errors import AnalysisError

MODELS = ("hgb", "ridge")
# spatial cross-validation folds: whole wijken, whole gemeenten, or square blocks
GROUPS = ("wijk", "gemeente", "blocks")


def make_model(name: str, seed: int = 0) -> BaseEstimator:
    """``hgb``: HistGradientBoosting (handles missing values natively); ``ridge``:
    median imputation, standardisation and a cross-validated ridge regression."""
    if name == "hgb":
        return HistGradientBoostingRegressor(
            max_iter=300,
            learning_rate=0.05,
            min_samples_leaf=20,
            l2_regularization=1.0,
            random_state=seed,
        )
    if name == "ridge":
        return make_pipeline(
            SimpleImputer(strategy="median"),
            StandardScaler(),
            RidgeCV(alphas=np.logspace(-3, 3, 13)),
        )
    raise AnalysisError(f"model must be one of {MODELS}, got {name!r}")


def spatial_blocks(x: np.ndarray, y: np.ndarray, size: float) -> np.ndarray:
    """Group label of the ``size`` x ``size`` metre block each point (RD New) lies in."""
    if size <= 0:
        raise AnalysisError("block size must be positive metres")
    bx = np.floor(np.asarray(x) / size).astype(np.int64)
    by = np.floor(np.asarray(y) / size).astype(np.int64)
    return bx * 1_000_003 + by


@dataclass
class ModelResult:
    """Out-of-fold predictions, their explanations, and the model report."""

    model: str
    prediction: pd.Series
    fold: pd.Series
    contributions: pd.DataFrame
    base: pd.Series
    metrics: pd.DataFrame
    calibration: pd.DataFrame
    importance: pd.Series
    notes: list[str] = field(default_factory=list)


def metrics_of(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """R2, mean absolute error and Spearman rank correlation (what ranking relies on)."""
    ok = ~(np.isnan(observed) | np.isnan(predicted))
    o, p = observed[ok], predicted[ok]
    return {
        "r2": float(r2_score(o, p)),
        "mae": float(mean_absolute_error(o, p)),
        "spearman": float(stats.spearmanr(o, p).statistic),
        "n": int(ok.sum()),
    }


def out_of_fold(
    estimator: BaseEstimator,
    X: pd.DataFrame,
    y: pd.Series,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, list[BaseEstimator]]:
    """Predictions of each area by the model trained without its fold."""
    prediction = np.full(len(y), np.nan)
    fold = np.full(len(y), -1)
    models = []
    for k, (train, test) in enumerate(splits):
        model = clone(estimator).fit(X.iloc[train], y.iloc[train])
        prediction[test] = model.predict(X.iloc[test])
        fold[test] = k
        models.append(model)
    return prediction, fold, models


def fit_out_of_fold(
    X: pd.DataFrame,
    y: pd.Series,
    groups: pd.Series,
    model: str = "hgb",
    n_splits: int = 5,
    seed: int = 0,
    population: pd.Series | None = None,
    previous: pd.Series | None = None,
) -> ModelResult:
    """Train with spatial cross-validation and return out-of-fold scores and a report.

    Parameters
    ----------
    X, y
        Features and target, indexed by area code. Areas without a target (withheld
        by disclosure control, or unknown) are not used for training; they are scored
        by the model of the fold that holds their group (fold 0 where their group has
        no known target), which never saw their value either.
    groups
        The fold group of each area (its wijk or gemeente code, or a spatial block).
    model
        ``hgb``, ``ridge`` or any scikit-learn regressor.
    population, previous
        For the baselines: a population-only linear model, and "same as last year".
    """
    known = y.notna()
    X_all, groups_all = X, groups
    X, y, groups = X[known], y[known].astype(float), groups[known]
    n_groups = groups.nunique()
    if n_groups < 2:
        raise AnalysisError(f"spatial cross-validation needs at least 2 groups, got {n_groups}")
    n_splits = min(n_splits, n_groups)
    name = model if isinstance(model, str) else type(model).__name__
    estimator = make_model(model, seed) if isinstance(model, str) else model
    spatial = list(GroupKFold(n_splits=n_splits).split(X, y, groups))
    prediction, fold, models = out_of_fold(estimator, X, y, spatial)
    random_splits = list(KFold(n_splits=n_splits, shuffle=True, random_state=seed).split(X))
    random_prediction, _, _ = out_of_fold(estimator, X, y, random_splits)

    rows = {
        "spatial CV": metrics_of(y.to_numpy(), prediction),
        "random CV": metrics_of(y.to_numpy(), random_prediction),
    }
    if population is not None:
        pop = population.reindex(X.index).to_frame("population")
        baseline = make_pipeline(SimpleImputer(strategy="median"), LinearRegression())
        pop_prediction, _, _ = out_of_fold(baseline, pop, y, spatial)
        rows["baseline: population only"] = metrics_of(y.to_numpy(), pop_prediction)
    if previous is not None:
        rows["baseline: previous year"] = metrics_of(
            y.to_numpy(), previous.reindex(X.index).to_numpy(dtype=float)
        )
    metrics = pd.DataFrame(rows).T

    calibration = _calibration(y.to_numpy(), prediction)
    fold_of_group = pd.Series(fold, index=groups.to_numpy()).groupby(level=0).first()
    fold = groups_all.map(fold_of_group).fillna(0).to_numpy(dtype=int)
    unknown = np.flatnonzero(~known.to_numpy())
    prediction_all = np.full(len(X_all), np.nan)
    prediction_all[np.flatnonzero(known.to_numpy())] = prediction
    for k, fitted in enumerate(models):
        rows = unknown[fold[unknown] == k]
        if len(rows):
            prediction_all[rows] = fitted.predict(X_all.iloc[rows])
    X, prediction = X_all, prediction_all
    contributions, base = _contributions(models, X, fold)
    notes = []
    if contributions.isna().all().all():
        notes.append(f"{name} is neither linear nor a tree ensemble: no per-area contributions")
    importance = contributions.abs().mean().sort_values(ascending=False)
    return ModelResult(
        name,
        pd.Series(prediction, index=X.index),
        pd.Series(fold, index=X.index),
        contributions,
        pd.Series(base, index=X.index),
        metrics,
        calibration,
        importance,
        notes,
    )


def _is_tree_ensemble(model: BaseEstimator) -> bool:
    return any(hasattr(model, attr) for attr in ("_predictors", "estimators_", "tree_"))


def _contributions(
    models: list[BaseEstimator], X: pd.DataFrame, fold: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-area contributions from the model of the fold that held the area out."""
    out = pd.DataFrame(np.nan, index=X.index, columns=X.columns)
    base = np.zeros(len(X))
    for k, model in enumerate(models):
        rows = np.flatnonzero(fold == k)
        Xk = X.iloc[rows]
        final = model[-1] if hasattr(model, "steps") else model
        if hasattr(final, "coef_"):
            transformed = model[:-1].transform(Xk) if hasattr(model, "steps") else Xk.to_numpy()
            values = np.asarray(transformed) * final.coef_
            base[rows] = final.intercept_
        elif _is_tree_ensemble(final):
            import shap  # imported here: it takes a second and only trees need it

            explainer = shap.TreeExplainer(final)
            values = explainer.shap_values(Xk)
            base[rows] = float(np.ravel(explainer.expected_value)[0])
        else:
            base[rows] = np.nan
            continue
        out.iloc[rows] = values
    return out, base


def _calibration(observed: np.ndarray, predicted: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted and mean observed per decile of the prediction."""
    ok = ~np.isnan(predicted)
    frame = pd.DataFrame({"predicted": predicted[ok], "observed": observed[ok]})
    frame["decile"] = pd.qcut(frame["predicted"].rank(method="first"), bins, labels=False) + 1
    return frame.groupby("decile").agg(
        predicted=("predicted", "mean"), observed=("observed", "mean"), areas=("observed", "size")
    )
