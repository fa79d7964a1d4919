"""Supervised risk models with spatial cross-validation and per-area explanations.

Neighbouring areas resemble each other, so a random train/test split lets a model
score an area after learning from its neighbours: the metric looks better than it
will be in a new region. Folds are therefore groups of areas (wijken, gemeenten or
spatial blocks), and every area's score comes from the model of the fold in which
it was held out: no area is scored by a model that saw its own label.

The report puts the spatial-CV metric beside the random-CV metric (the gap is the
leakage a random split hides) and beside simple baselines, with a calibration table
and the importance of each feature (mean absolute contribution).

A count is modelled as a rate against its exposure (``poisson=True``): a Poisson loss
on ``count / exposure`` with the exposure as sample weight, which is the Poisson
model with a log-exposure offset (McCullagh and Nelder, 1989, *Generalized Linear
Models*, section 6.2.3), so a bigger area does not score higher for being bigger.

Contributions per area are exact: ``coef x standardised value`` for the regularised
linear model, TreeSHAP (the ``shap`` package) for the gradient boosting model. They
add up, with the fold's base value, to the area's prediction (on the log scale for a
Poisson model: contributions to the log rate).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, PoissonRegressor, RidgeCV
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import GroupKFold, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from zicht.errors import AnalysisError

MODELS = ("hgb", "ridge")
# spatial cross-validation folds: whole wijken, whole gemeenten, or square blocks
GROUPS = ("wijk", "gemeente", "blocks")


def make_model(name: str, seed: int = 0, poisson: bool = False) -> BaseEstimator:
    """``hgb``: HistGradientBoosting (handles missing values natively); ``ridge``:
    median imputation, standardisation and a regularised linear model (a
    cross-validated ridge regression, or with ``poisson`` an L2-penalised Poisson GLM
    with log link)."""
    if name == "hgb":
        return HistGradientBoostingRegressor(
            loss="poisson" if poisson else "squared_error",
            max_iter=300,
            learning_rate=0.05,
            min_samples_leaf=20,
            l2_regularization=1.0,
            random_state=seed,
        )
    if name == "ridge":
        final = (
            PoissonRegressor(alpha=1.0, max_iter=1000)
            if poisson
            else RidgeCV(alphas=np.logspace(-3, 3, 13))
        )
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), final)
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
    fitted: list[BaseEstimator] = field(default_factory=list)  # the model of each fold
    scale: float = 1.0  # the fitted models predict prediction / scale


def metrics_of(
    observed: np.ndarray, predicted: np.ndarray, weight: np.ndarray | None = None
) -> dict[str, float]:
    """R2 and mean absolute error (weighted by ``weight``, the exposure of a rate) and
    the Spearman rank correlation (what ranking relies on; NaN when either side is
    constant, as a small selection can make it)."""
    ok = ~(np.isnan(observed) | np.isnan(predicted))
    o, p = observed[ok], predicted[ok]
    w = None if weight is None else np.asarray(weight, dtype=float)[ok]
    constant = len(np.unique(o)) < 2 or len(np.unique(p)) < 2
    return {
        "r2": float(r2_score(o, p, sample_weight=w)),
        "mae": float(mean_absolute_error(o, p, sample_weight=w)),
        "spearman": np.nan if constant else float(stats.spearmanr(o, p).statistic),
        "n": int(ok.sum()),
    }


def _fit(
    estimator: BaseEstimator, X: pd.DataFrame, y: pd.Series, weight: pd.Series | None
) -> BaseEstimator:
    """A fresh clone of ``estimator`` fitted, with sample weights where given."""
    model = clone(estimator)
    if weight is None:
        return model.fit(X, y)
    if hasattr(model, "steps"):
        return model.fit(X, y, **{f"{model.steps[-1][0]}__sample_weight": weight.to_numpy()})
    return model.fit(X, y, sample_weight=weight.to_numpy())


def out_of_fold(
    estimator: BaseEstimator,
    X: pd.DataFrame,
    y: pd.Series,
    splits: list[tuple[np.ndarray, np.ndarray]],
    weight: pd.Series | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[BaseEstimator]]:
    """Predictions of each area by the model trained without its fold; ``progress`` is
    told the number of each fold before it is fitted."""
    prediction = np.full(len(y), np.nan)
    fold = np.full(len(y), -1)
    models = []
    for k, (train, test) in enumerate(splits):
        if progress is not None:
            progress(k)
        w = None if weight is None else weight.iloc[train]
        model = _fit(estimator, X.iloc[train], y.iloc[train], w)
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
    weight: pd.Series | None = None,
    evaluate: pd.Series | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ModelResult:
    """Train with spatial cross-validation and return out-of-fold scores and a report.

    Parameters
    ----------
    X, y
        Features and target, indexed by area code. Areas without a target (unknown,
        or under an area rule) are not used for training; they are scored by the model
        of the fold that holds their group (fold 0 where their group has no known
        target), which never saw their value either.
    groups
        The fold group of each area (its wijk or gemeente code, or a spatial block).
    model
        ``hgb``, ``ridge`` or any scikit-learn regressor.
    population, previous
        For the baselines: a population-only linear model, and "same as last year".
    weight
        The exposure of a rate target: the model becomes a Poisson model of
        ``y`` (a rate) weighted by it (a string ``model`` only), and the metrics are
        weighted by it.
    evaluate
        The areas the metrics are computed on (default: every area with a target);
        training uses every area with a target.
    """
    known = y.notna() & (weight.notna() & (weight > 0) if weight is not None else True)
    training = _Training.of_known(X, y, groups, weight, known)
    poisson = weight is not None
    estimator = make_model(model, seed, poisson) if isinstance(model, str) else model
    folds = _cross_validate(estimator, training, n_splits, seed, progress)
    scored = np.ones(len(training.y), bool) if evaluate is None else evaluate[known].to_numpy(bool)
    metrics = _metrics(training, folds, scored, population, previous)
    calibration = _calibration(training.y.to_numpy()[scored], folds.prediction[scored])
    name = model if isinstance(model, str) else type(model).__name__
    return _result(name, folds, training, X, groups, (metrics, calibration))


@dataclass
class _Training:
    """The areas with a target: what the folds train and are measured on."""

    X: pd.DataFrame
    y: pd.Series
    groups: pd.Series
    weight: pd.Series | None  # the exposure of a rate target
    known: np.ndarray  # which of all the areas these are

    @classmethod
    def of_known(
        cls,
        X: pd.DataFrame,
        y: pd.Series,
        groups: pd.Series,
        weight: pd.Series | None,
        known: pd.Series,
    ) -> _Training:
        """The areas where ``known``; spatial cross-validation needs two groups of them."""
        n_groups = groups[known].nunique()
        if n_groups < 2:
            raise AnalysisError(f"spatial cross-validation needs at least 2 groups, got {n_groups}")
        w = None if weight is None else weight[known].astype(float)
        return cls(X[known], y[known].astype(float), groups[known], w, known.to_numpy())


@dataclass
class _Folds:
    """Out-of-fold predictions of the training areas, in the target's unit."""

    spatial: list[tuple[np.ndarray, np.ndarray]]  # the (train, test) rows of each fold
    prediction: np.ndarray  # by the spatial folds
    random_prediction: np.ndarray  # by random folds: the leakage a random split hides
    fold: np.ndarray  # the spatial fold of each training area
    models: list[BaseEstimator]  # the model of each spatial fold
    scale: float  # the models predict the target / scale


def _cross_validate(
    estimator: BaseEstimator,
    training: _Training,
    n_splits: int,
    seed: int,
    progress: Callable[[int, int], None] | None,
) -> _Folds:
    """Fit ``estimator`` on spatial folds, then on as many random ones."""
    X, y, w = training.X, training.y, training.weight
    n_splits = min(n_splits, training.groups.nunique())
    spatial = list(GroupKFold(n_splits=n_splits).split(X, y, training.groups))
    # a rate is fitted as a relative risk (mean 1): the penalty of a GLM then means the
    # same whatever the rate's unit; predictions are rates again
    scale = float(np.average(y, weights=w)) if w is not None else 1.0
    scale = scale if scale > 0 else 1.0
    steps = 2 * len(spatial)  # the spatial folds, then as many random ones
    told = (lambda k: progress(k + 1, steps)) if progress is not None else None
    prediction, fold, models = out_of_fold(estimator, X, y / scale, spatial, w, told)
    random_splits = list(KFold(n_splits=n_splits, shuffle=True, random_state=seed).split(X))
    told = (lambda k: progress(len(spatial) + k + 1, steps)) if progress is not None else None
    random_prediction, _, _ = out_of_fold(estimator, X, y / scale, random_splits, w, told)
    return _Folds(spatial, prediction * scale, random_prediction * scale, fold, models, scale)


def _metrics(
    training: _Training,
    folds: _Folds,
    scored: np.ndarray,
    population: pd.Series | None,
    previous: pd.Series | None,
) -> pd.DataFrame:
    """Spatial CV, random CV and the baselines, on the ``scored`` areas."""
    y, weight = training.y, training.weight
    observed = y.to_numpy()[scored]
    w = None if weight is None else weight.to_numpy()[scored]
    rows = {
        "spatial CV": metrics_of(observed, folds.prediction[scored], w),
        "random CV": metrics_of(observed, folds.random_prediction[scored], w),
    }
    if population is not None:
        pop = population.reindex(y.index).to_frame("population")
        baseline = make_pipeline(SimpleImputer(strategy="median"), LinearRegression())
        pop_prediction, _, _ = out_of_fold(baseline, pop, y, folds.spatial, weight)
        rows["baseline: population only"] = metrics_of(observed, pop_prediction[scored], w)
    if previous is not None:
        last = previous.reindex(y.index).to_numpy(dtype=float)[scored]
        rows["baseline: previous year"] = metrics_of(observed, last, w)
    return pd.DataFrame(rows).T


def _result(
    name: str,
    folds: _Folds,
    training: _Training,
    X: pd.DataFrame,
    groups: pd.Series,
    report: tuple[pd.DataFrame, pd.DataFrame],
) -> ModelResult:
    """Every area scored and explained by the model of its group's fold (fold 0 where
    its group has no known target), with the ``report`` (metrics, calibration)."""
    by_group = pd.Series(folds.fold, index=training.groups.to_numpy()).groupby(level=0).first()
    fold = groups.map(by_group).fillna(0).to_numpy(dtype=int)
    scale = folds.scale
    prediction = _predict_unknown(folds.models, X, training.known, folds.prediction / scale, fold)
    contributions, base = _contributions(folds.models, X, fold)
    notes = []
    if contributions.isna().all().all():
        notes.append(f"{name} is neither linear nor a tree ensemble: no per-area contributions")
    return ModelResult(
        model=name + (" (Poisson)" if training.weight is not None else ""),
        prediction=pd.Series(prediction * scale, index=X.index),
        fold=pd.Series(fold, index=X.index),
        contributions=contributions,
        base=pd.Series(base + np.log(scale), index=X.index),  # Poisson: log(prediction)
        metrics=report[0],
        calibration=report[1],
        importance=contributions.abs().mean().sort_values(ascending=False),
        notes=notes,
        fitted=folds.models,
        scale=scale,
    )


def _predict_unknown(
    models: list[BaseEstimator],
    X: pd.DataFrame,
    known: np.ndarray,
    prediction: np.ndarray,
    fold: np.ndarray,
) -> np.ndarray:
    """Out-of-fold predictions of the known areas, and the fold model's for the rest."""
    out = np.full(len(X), np.nan)
    out[np.flatnonzero(known)] = prediction
    unknown = np.flatnonzero(~known)
    for k, fitted in enumerate(models):
        rows = unknown[fold[unknown] == k]
        if len(rows):
            out[rows] = fitted.predict(X.iloc[rows])
    return out


def predict_by_fold(result: ModelResult, X: pd.DataFrame) -> pd.Series:
    """Every area of ``X`` predicted by the model of its fold (the one that did not see
    its target), on the scale of :attr:`ModelResult.prediction`."""
    fold = result.fold.reindex(X.index)
    out = pd.Series(np.nan, index=X.index)
    for k, fitted in enumerate(result.fitted):
        rows = (fold == k).to_numpy()
        if rows.any():
            out[rows] = fitted.predict(X[rows]) * result.scale
    return out


MAX_CORNERS = 10  # estimated features per area whose intervals are searched corner by corner


def prediction_range(
    result: ModelResult, X: pd.DataFrame, low: pd.DataFrame, high: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """The lowest and highest prediction of each area when the features where ``low``
    and ``high`` differ run over their intervals (every corner of the box, by the
    area's fold model; a tree model is piecewise constant and a GLM monotone, so the
    extremes over the box are at its corners for the GLM and searched at them for
    trees; bounds beyond the features' observed range are cut to it). Areas with more
    than :data:`MAX_CORNERS` such features vary them all together."""
    predicted = result.prediction.reindex(X.index)
    lowest, highest = predicted.copy(), predicted.copy()
    varies = (low != high) & low.notna() & high.notna()
    # beyond the range seen in training a tree is flat; an infinite bound is cut there
    low, high = low.clip(X.min(), X.max(), axis=1), high.clip(X.min(), X.max(), axis=1)
    for i in np.flatnonzero(varies.any(axis=1).to_numpy() & predicted.notna().to_numpy()):
        columns = np.flatnonzero(varies.iloc[i].to_numpy())
        if len(columns) > MAX_CORNERS:
            corners = np.array([[0] * len(columns), [1] * len(columns)])
        else:
            corners = np.array(list(itertools.product((0, 1), repeat=len(columns))))
        rows = np.repeat(X.iloc[[i]].to_numpy(dtype=float), len(corners), axis=0)
        ends = np.stack([low.iloc[i, columns], high.iloc[i, columns]]).astype(float)
        rows[:, columns] = np.where(corners == 1, ends[1], ends[0])
        model = result.fitted[int(result.fold.iloc[i])]
        values = model.predict(pd.DataFrame(rows, columns=X.columns)) * result.scale
        lowest.iloc[i] = min(values.min(), predicted.iloc[i])
        highest.iloc[i] = max(values.max(), predicted.iloc[i])
    return lowest, highest


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
