"""What a white-box attacker can read from a fitted model, and in which family it falls.

The attacker holds the model file: the final estimator's parameters, and the earlier
steps of a ``Pipeline`` that turn raw records into the features it was fitted on.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .gradients import supports_gradients
from .instances import stored_rows
from .trees import supports_trees

__all__ = ["Family", "family_of", "final_step", "problem_text", "transformed"]

Family = Literal["gradients", "trees", "instances"]

#: What each family needs, for the "skipped" reasons.
NEEDS = {
    "gradients": (
        "a differentiable model (LogisticRegression, SGDClassifier/SGDRegressor, a linear "
        "regressor, MLPClassifier/MLPRegressor, also at the end of a Pipeline)"
    ),
    "trees": (
        "a tree ensemble (RandomForest, ExtraTrees, GradientBoosting, "
        "HistGradientBoosting, XGBoost, LightGBM, also at the end of a Pipeline)"
    ),
    "instances": (
        "a model that stores training rows (k-nearest neighbours, SVM support vectors, "
        "Gaussian processes, kernel ridge)"
    ),
}


def final_step(model: Any) -> Any:
    """The estimator at the end of (nested) Pipelines, or ``model`` itself."""
    while hasattr(model, "steps") and hasattr(model, "_final_estimator"):
        model = model._final_estimator
    return model


def transformed(model: Any, X: Any) -> Any:
    """``X`` through every step of (nested) Pipelines but the final estimator."""
    while hasattr(model, "steps") and hasattr(model, "_final_estimator"):
        if len(model.steps) > 1:
            X = model[:-1].transform(X)
        model = model._final_estimator
    return X


def family_of(model: Any) -> Family | None:
    """The white-box family the model's final estimator belongs to (None: none)."""
    est = final_step(model)
    try:
        if supports_gradients(est):
            return "gradients"
        if supports_trees(est):
            return "trees"
        if stored_rows(est) is not None:
            return "instances"
    except Exception:  # an unusual estimator whose attributes do not read as expected
        return None
    return None


def problem_text(model: Any, family: str) -> str | None:
    """Why the ``family`` attacks cannot read ``model`` (None: they can)."""
    if family_of(model) == family:
        return None
    name = type(final_step(model)).__name__
    return f"needs {NEEDS[family]}; the model is {name}"


def as_dense(X: Any) -> np.ndarray:
    """A float64 array of ``X`` (sparse matrices densified, frames converted)."""
    if hasattr(X, "toarray"):
        X = X.toarray()
    return np.asarray(X, dtype=np.float64)
