"""White-box gradients: every supported model's per-record gradient against central
finite differences of the loss computed through the model's OWN forward pass
(``predict_proba`` / ``decision_function`` / ``predict`` of a perturbed copy)."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNet,
    ElasticNetCV,
    Lars,
    LarsCV,
    Lasso,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    LinearRegression,
    LogisticRegression,
    LogisticRegressionCV,
    OrthogonalMatchingPursuit,
    Perceptron,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.linear_model._sgd_fast import (
    EpsilonInsensitive,
    Hinge,
    ModifiedHuber,
    SquaredEpsilonInsensitive,
    SquaredHinge,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC, LinearSVR

from mia_notebook.engine.attacks.whitebox import final_step, transformed
from mia_notebook.engine.attacks.whitebox.gradients import _SQUARED as SQUARED
from mia_notebook.engine.attacks.whitebox.gradients import (
    gradient_norms,
    loss_derivative,
    per_record_gradients,
    supports_gradients,
)

#: Central differences with step H on float64: truncation ~H² and rounding ~1e-16/H,
#: so agreement to ATOL + RTOL * |gradient| is a real check of the backward pass.
H = 1e-6
RTOL, ATOL = 1e-5, 1e-7


def _margin_loss(loss: str, z: np.ndarray, t: np.ndarray, eps: float = 0.1) -> np.ndarray:
    """scikit-learn's documented losses (t in {-1, +1} for classifiers)."""
    m, r = t * z, z - t
    return {
        "hinge": lambda: np.maximum(0.0, 1.0 - m),
        "squared_hinge": lambda: np.maximum(0.0, 1.0 - m) ** 2,
        "log_loss": lambda: np.logaddexp(0.0, -m),
        "modified_huber": lambda: np.where(m >= -1, np.maximum(0.0, 1.0 - m) ** 2, -4.0 * m),
        "perceptron": lambda: np.maximum(0.0, -m),
        "squared_error": lambda: 0.5 * r**2,
        "huber": lambda: np.where(np.abs(r) <= eps, 0.5 * r**2, eps * np.abs(r) - 0.5 * eps**2),
        "epsilon_insensitive": lambda: np.maximum(0.0, np.abs(r) - eps),
        "squared_epsilon_insensitive": lambda: np.maximum(0.0, np.abs(r) - eps) ** 2,
    }[loss]()


def _record_losses(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each record's loss, from the model's own outputs."""
    est = final_step(model)
    name = type(est).__name__
    if name in {"LogisticRegression", "LogisticRegressionCV", "MLPClassifier"}:
        p = model.predict_proba(X)
        return -np.log(p[np.arange(len(y)), np.searchsorted(est.classes_, y)])
    loss = getattr(est, "loss", "squared_error")
    loss = {"LogisticRegression": "log_loss"}.get(name, loss)
    if name == "MLPRegressor" and loss == "poisson":
        pred = model.predict(X)
        return pred - y * np.log(pred)  # half Poisson deviance, up to a constant in y
    if not hasattr(est, "classes_"):
        if name == "MLPRegressor" or name in SQUARED:
            loss = "squared_error"
        return _margin_loss(loss, model.predict(X), y.astype(float), getattr(est, "epsilon", 0.1))
    z = np.asarray(model.decision_function(X), dtype=float)
    if name.startswith("Ridge"):
        loss = "squared_error"
    if z.ndim == 1:
        return _margin_loss(loss, z, np.where(y == est.classes_[1], 1.0, -1.0))
    t = np.where(y[:, None] == est.classes_[None, :], 1.0, -1.0)
    return _margin_loss(loss, z, t).sum(axis=1)


#: Where each loss is not differentiable (in t * z, or in |z - t| for regressors).
KINKS = {"hinge": 1.0, "perceptron": 0.0, "epsilon_insensitive": 0.1}


def _away_from_kinks(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Records whose margins are not within 1e-3 of a kink of the loss (central
    differences straddling a kink measure neither side's derivative)."""
    est = final_step(model)
    kink = KINKS.get(str(getattr(est, "loss", "")))
    if kink is not None and "epsilon" in str(est.loss):  # the tube's edge: the model's own
        kink = float(est.epsilon)
    if kink is None:
        return np.ones(len(X), dtype=bool)
    if not hasattr(est, "classes_"):
        return np.abs(np.abs(model.predict(X) - y) - kink) > 1e-3
    z = np.asarray(model.decision_function(X), dtype=float).reshape(len(X), -1)
    if z.shape[1] == 1:
        t = np.where(y == est.classes_[1], 1.0, -1.0)[:, None]
    else:
        t = np.where(y[:, None] == est.classes_[None, :], 1.0, -1.0)
    return np.all(np.abs(t * z - kink) > 1e-3, axis=1)


def _arrays(est: Any) -> list[tuple[Any, str, int | None]]:
    """(owner, attribute, index) of each parameter array, in per_record_gradients' order."""
    if hasattr(est, "coefs_"):
        out: list[tuple[Any, str, int | None]] = []
        for i in range(len(est.coefs_)):
            out += [(est, "coefs_", i), (est, "intercepts_", i)]
        return out
    arrays: list[tuple[Any, str, int | None]] = [(est, "coef_", None)]
    if getattr(est, "fit_intercept", True):
        arrays.append((est, "intercept_", None))
    return arrays


def _get(owner: Any, attr: str, i: int | None) -> np.ndarray:
    v = getattr(owner, attr)
    return np.atleast_1d(np.asarray(v[i] if i is not None else v, dtype=float))


def _set(owner: Any, attr: str, i: int | None, value: np.ndarray) -> None:
    old = getattr(owner, attr)
    if i is not None:
        old[i] = value.reshape(old[i].shape)
    elif np.ndim(old) == 0:
        setattr(owner, attr, float(value[0]))
    else:
        setattr(owner, attr, value.reshape(np.shape(old)))


def finite_difference_gradients(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Central differences of every record's loss in every parameter (slow reference)."""
    columns = []
    for owner_attr in _arrays(final_step(model)):
        base = _get(*owner_attr).ravel()
        for k in range(base.size):
            losses = []
            for step in (H, -H):
                m = copy.deepcopy(model)
                arr = base.copy()
                arr[k] += step
                _set(*_arrays(final_step(m))[_arrays(final_step(model)).index(owner_attr)], arr)
                losses.append(_record_losses(m, X, y))
            columns.append((losses[0] - losses[1]) / (2 * H))
    return np.column_stack(columns)


def _clf(n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(
        n_samples=120,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=n_classes,
    )
    return X, np.array(["a", "b", "c"])[y]


def _reg() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_regression(n_samples=120, n_features=4, noise=5.0, random_state=0)
    return X, y / 50


MODELS = {
    "logistic-binary": (LogisticRegression(C=10), 2),
    "logistic-multinomial": (LogisticRegression(C=10), 3),
    "logistic-no-intercept": (LogisticRegression(fit_intercept=False), 2),
    **{
        f"sgd-{loss}-{k}": (
            SGDClassifier(loss=loss, learning_rate="adaptive", eta0=0.01, random_state=0),
            k,
        )
        for loss in ("hinge", "log_loss", "modified_huber", "squared_hinge")
        for k in (2, 3)
    },
    "perceptron-2": (Perceptron(random_state=0), 2),
    "perceptron-3": (Perceptron(random_state=0), 3),
    "ridge-classifier-3": (RidgeClassifier(), 3),
    "ridge-classifier-cv-2": (RidgeClassifierCV(), 2),
    "logistic-cv-3": (LogisticRegressionCV(cv=3), 3),
    "linear-svc-3": (LinearSVC(C=1.0), 3),
    "mlp-binary-relu": (MLPClassifier(hidden_layer_sizes=(5,), max_iter=300, random_state=0), 2),
    "mlp-multiclass-tanh": (
        MLPClassifier(hidden_layer_sizes=(4, 3), activation="tanh", max_iter=300),
        3,
    ),
    "mlp-logistic": (
        MLPClassifier(hidden_layer_sizes=(4,), activation="logistic", max_iter=300),
        3,
    ),
    "mlp-identity": (
        MLPClassifier(hidden_layer_sizes=(3,), activation="identity", max_iter=300),
        2,
    ),
    "pipeline-logistic": (make_pipeline(StandardScaler(), LogisticRegression()), 3),
    "linear-regression": (LinearRegression(), 0),
    "ridge": (Ridge(alpha=3.0), 0),
    "lasso": (Lasso(alpha=0.01), 0),
    "elastic-net": (ElasticNet(alpha=0.01), 0),
    "ridge-cv": (RidgeCV(), 0),
    "lasso-cv": (LassoCV(cv=3), 0),
    "elastic-net-cv": (ElasticNetCV(cv=3), 0),
    "lars": (Lars(), 0),
    "lars-cv": (LarsCV(cv=3), 0),
    "lasso-lars": (LassoLars(alpha=0.01), 0),
    "lasso-lars-cv": (LassoLarsCV(cv=3), 0),
    "lasso-lars-ic": (LassoLarsIC(), 0),
    "bayesian-ridge": (BayesianRidge(), 0),
    "ard": (ARDRegression(), 0),
    "omp": (OrthogonalMatchingPursuit(), 0),
    **{
        f"sgd-regressor-{loss}": (
            SGDRegressor(loss=loss, learning_rate="adaptive", eta0=0.01, random_state=0),
            0,
        )
        for loss in ("squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive")
    },
    "linear-svr": (LinearSVR(epsilon=0.05, max_iter=5000, random_state=0), 0),
    "mlp-regressor": (MLPRegressor(hidden_layer_sizes=(6,), max_iter=300, random_state=0), 0),
    "mlp-regressor-poisson": (
        MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), max_iter=300),
        -1,
    ),
    "pipeline-mlp-regressor": (
        make_pipeline(
            StandardScaler(), MLPRegressor(hidden_layer_sizes=(4,), activation="tanh", max_iter=300)
        ),
        0,
    ),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_gradient_matches_finite_differences(name: str) -> None:
    template, n_classes = MODELS[name]
    X, y = _reg() if n_classes <= 0 else _clf(n_classes)
    if n_classes < 0:  # counts for the Poisson loss
        y = np.round(np.exp(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = copy.deepcopy(template).fit(X, y)
    rows = np.flatnonzero(_away_from_kinks(model, X, y))[:25]
    assert len(rows) == 25
    est, Xt = final_step(model), transformed(model, X[rows])
    assert supports_gradients(est)
    got = per_record_gradients(est, Xt, y[rows])
    want = finite_difference_gradients(model, X[rows], y[rows])
    assert got.shape == want.shape
    assert np.abs(want).max() > 1e-3  # not a vacuous comparison of zeros
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    # the cheap norm (no per-parameter array) is the full gradient's norm
    np.testing.assert_allclose(gradient_norms(est, Xt, y[rows]), np.linalg.norm(got, axis=1))


@pytest.mark.parametrize(
    ("loss", "reference"),
    [
        ("hinge", Hinge(1.0)),
        ("squared_hinge", SquaredHinge(1.0)),
        ("modified_huber", ModifiedHuber()),
        ("epsilon_insensitive", EpsilonInsensitive(0.1)),
        ("squared_epsilon_insensitive", SquaredEpsilonInsensitive(0.1)),
    ],
)
def test_loss_derivatives_match_sklearn_sgd(loss: str, reference: Any) -> None:
    """The derivatives agree with scikit-learn's own SGD loss objects (py_dloss)."""
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 200)
    t = rng.choice([-1.0, 1.0], 200) if "insensitive" not in loss else rng.normal(0, 2, 200)
    want = np.array([reference.py_dloss(float(a), float(b)) for a, b in zip(z, t, strict=True)])
    np.testing.assert_allclose(loss_derivative(loss, z, t, 0.1), want, rtol=1e-12, atol=1e-12)


def test_members_have_smaller_gradients_on_an_overfit_model() -> None:
    """Sign convention: the records a model was fitted on have smaller gradient norms."""
    X, y = make_classification(n_samples=400, n_features=60, n_informative=10, random_state=0)
    model = LogisticRegression(C=100, max_iter=2000).fit(X[:200], y[:200])
    norms = gradient_norms(model, X, y)
    assert np.median(norms[:200]) < 0.5 * np.median(norms[200:])


def test_unsupported_models_are_not_claimed() -> None:
    from sklearn.ensemble import RandomForestClassifier

    X, y = _clf(2)
    assert not supports_gradients(RandomForestClassifier(n_estimators=2).fit(X, y))
    multilabel = MLPClassifier(hidden_layer_sizes=(3,), max_iter=20).fit(
        X, np.column_stack([y == "a", y == "b"])
    )
    assert not supports_gradients(multilabel)


def test_gradient_statistic_of_a_binary_logistic_regression_is_its_logit_less_log_norm() -> None:
    """-log ||g|| + log(1 - |r|) = logit(p_y) - log ||[x, 1]||, far into the confident
    tail (no cancellation at p_y near 1); confidently WRONG records (p_y < 1e-13) lose
    digits in 1 - |r| and are only checked to be at least as low."""
    from mia_notebook.engine.attacks.whitebox.gradients import gradient_statistic

    X, y = make_classification(n_samples=200, n_features=30, random_state=1)
    model = LogisticRegression(C=1e4, max_iter=5000).fit(X[:100], y[:100])
    z = model.decision_function(X)
    margin = np.where(y == 1, z, -z)  # logit of the true class's probability
    want = margin - 0.5 * np.log1p((X**2).sum(axis=1))
    assert margin.max() > 40  # members at p_y = 1 - 1e-17 and beyond
    got = gradient_statistic(model, X, y)
    ok = margin > -30
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9, atol=1e-9)
    assert (got[~ok] <= want[ok].min()).all()
