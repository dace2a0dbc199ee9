"""Per-record gradients of the training loss with respect to a model's parameters.

A model fitted by (stochastic) gradient descent sits near a stationary point of its
training loss: the records it trained on pull on its parameters as little as the fit
allowed, so their per-record gradients are small, while records it never saw pull
harder. That is the white-box signal of Nasr et al. (2019) and Leino and Fredrikson
(2020), computed here for scikit-learn's differentiable models:

* linear models (``coef_``, ``intercept_``): closed form. The loss's derivative with
  respect to the linear output ``z`` is a residual ``r`` (one entry per output column),
  and the gradient with respect to (coef, intercept) is ``r ⊗ [x, 1]``, so its norm is
  ``||r|| * sqrt(||x||² + 1)``;
* multi-layer perceptrons (``coefs_``, ``intercepts_``): a numpy backward pass with the
  model's hidden activation, output activation and loss (log loss; for regressors half
  the squared error, or half the Poisson deviance, as scikit-learn defines them).

:func:`gradient_norms` gives the norms (the ``grad-norm`` attack), and
:func:`gradient_statistic` the statistic the reference models are compared on
(``grad-lira``): ``-log`` of the norm, spread out for confidently wrong records of
log-loss classifiers.

The regularisation term (``alpha``, ``C``, ``l1_ratio``...) is NOT part of the
per-record gradient: it is the same vector for every record, so it carries no
membership information, and leaving it out keeps the statistic the per-record loss's
own gradient (what the finite-difference tests check).

Everything works on the final estimator of a ``Pipeline``, on the features its earlier
steps produce (see :func:`~.access.final_step`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, softmax

from ...errors import MiaValueError
from ...target import label_index

__all__ = [
    "LINEAR_LOSSES",
    "REGRESSION_LOSSES",
    "gradient_norms",
    "gradient_statistic",
    "known_name",
    "loss_derivative",
    "per_record_gradients",
    "supports_gradients",
]

#: Losses of linear classifiers (on targets in {-1, +1}) and regressors.
LINEAR_LOSSES = frozenset(
    {"log_loss", "hinge", "squared_hinge", "modified_huber", "perceptron", "squared_error"}
)
REGRESSION_LOSSES = frozenset(
    {"squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"}
)
#: Regressors fitted on half the squared error (plus a penalty we leave out).
_SQUARED = frozenset(
    {
        "LinearRegression",
        "Ridge",
        "RidgeCV",
        "Lasso",
        "LassoCV",
        "ElasticNet",
        "ElasticNetCV",
        "Lars",
        "LarsCV",
        "LassoLars",
        "LassoLarsCV",
        "LassoLarsIC",
        "BayesianRidge",
        "ARDRegression",
        "OrthogonalMatchingPursuit",
    }
)
_CLASSIFIER_LOSS = {
    "LogisticRegression": "log_loss",
    "LogisticRegressionCV": "log_loss",
    "RidgeClassifier": "squared_error",
    "RidgeClassifierCV": "squared_error",
}


_MARGIN = frozenset({"SGDClassifier", "Perceptron", "LinearSVC"})
_REGRESSION = frozenset({"SGDRegressor", "LinearSVR"})
_MLP = frozenset({"MLPClassifier", "MLPRegressor"})


def known_name(est: Any, known: frozenset[str]) -> str:
    """The first class name in ``type(est)``'s MRO that is in ``known`` (so subclasses
    of supported estimators are supported), else the estimator's own class name."""
    names = [c.__name__ for c in type(est).__mro__]
    return next((n for n in names if n in known), names[0])


def _linear_loss(est: Any) -> str | None:
    """The loss name of a supported linear model (None: not one)."""
    name = known_name(est, _SQUARED | _CLASSIFIER_LOSS.keys() | _MARGIN | _REGRESSION)
    if not hasattr(est, "coef_"):
        return None
    if name in _SQUARED:
        return "squared_error"
    if name in _CLASSIFIER_LOSS:
        return _CLASSIFIER_LOSS[name]
    loss = getattr(est, "loss", None)
    if name in _MARGIN and loss in LINEAR_LOSSES:
        return str(loss)
    if name in _REGRESSION and loss in REGRESSION_LOSSES:
        return str(loss)
    return None


def supports_gradients(est: Any) -> bool:
    """Whether :func:`per_record_gradients` handles the (final) estimator ``est``."""
    if known_name(est, _MLP) in _MLP:
        multilabel = getattr(getattr(est, "_label_binarizer", None), "y_type_", "")
        return hasattr(est, "coefs_") and multilabel != "multilabel-indicator"
    return _linear_loss(est) is not None


def loss_derivative(loss: str, z: np.ndarray, t: np.ndarray, epsilon: float = 0.1) -> np.ndarray:
    """d loss(z, t) / dz elementwise: ``t`` in {-1, +1} for margin losses, else values.

    The losses are scikit-learn's (``sklearn.linear_model.SGDClassifier`` and
    ``SGDRegressor``): hinge ``max(0, 1 - tz)``, squared hinge, log loss
    ``log(1 + exp(-tz))``, modified Huber, perceptron ``max(0, -tz)``, half squared
    error ``(z - t)² / 2``, Huber, and the (squared) epsilon-insensitive losses.
    """
    m = t * z
    r = z - t
    out: np.ndarray
    if loss == "hinge":
        out = np.where(m < 1.0, -t, 0.0)
    elif loss == "squared_hinge":
        out = -2.0 * t * np.maximum(0.0, 1.0 - m)
    elif loss == "log_loss":
        out = -t * expit(-m)
    elif loss == "modified_huber":
        out = np.where(m >= 1.0, 0.0, np.where(m >= -1.0, -2.0 * t * (1.0 - m), -4.0 * t))
    elif loss == "perceptron":
        out = np.where(m <= 0.0, -t, 0.0)
    elif loss == "squared_error":
        out = r
    elif loss == "huber":
        out = np.clip(r, -epsilon, epsilon)
    elif loss == "epsilon_insensitive":
        out = np.where(np.abs(r) > epsilon, np.sign(r), 0.0)
    elif loss == "squared_epsilon_insensitive":
        out = 2.0 * np.sign(r) * np.maximum(0.0, np.abs(r) - epsilon)
    else:
        raise MiaValueError(f"Unsupported loss '{loss}'.")
    return np.asarray(out, dtype=np.float64)


def _one_hot(est: Any, labels: np.ndarray) -> np.ndarray:
    """(n, n_classes) indicator of each record's label (all zero: a label never seen)."""
    classes = np.asarray(est.classes_)
    idx = label_index(classes, labels)
    out = np.zeros((len(idx), len(classes)))
    ok = idx >= 0
    out[np.flatnonzero(ok), idx[ok]] = 1.0
    return out


def _linear_residual(est: Any, X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """d loss / d z of a linear model, shape (n, n_outputs) (columns of ``coef_``)."""
    loss = _linear_loss(est)
    assert loss is not None
    z = np.asarray(X @ np.atleast_2d(est.coef_).T + np.ravel(est.intercept_), dtype=np.float64)
    if not hasattr(est, "classes_"):  # a regressor: one output
        y = np.asarray(labels, dtype=np.float64).reshape(-1, 1)
        return loss_derivative(loss, z, y, float(getattr(est, "epsilon", 0.1)))
    onehot = _one_hot(est, labels)
    if z.shape[1] == 1:  # binary: one output for classes_[1]
        t = 2.0 * onehot[:, 1:2] - 1.0
        return loss_derivative(loss, z, t)
    if loss == "log_loss" and _is_multinomial(est, X, z):
        return _softmax_residual(z, onehot)
    return loss_derivative(loss, z, 2.0 * onehot - 1.0)  # one-vs-rest


def _softmax_residual(z: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """``softmax(z) - onehot`` without cancellation: the label's entry is minus the sum
    of the other classes' probabilities (``p_y - 1`` would round to 0 near p_y = 1 and
    floor every confident member's gradient at float64's resolution)."""
    p = softmax(z, axis=1)
    rest = (p * (1.0 - onehot)).sum(axis=1, keepdims=True)
    return np.asarray(np.where(onehot == 1.0, -rest, p))


def _output_delta(name: str, z: np.ndarray, target: np.ndarray) -> np.ndarray:
    """d loss / d z at the output layer, ``output - target``, computed from ``z`` so that
    a confident member's tiny residual is not lost to rounding."""
    if name == "softmax":
        return _softmax_residual(z, target)
    if name == "logistic":  # binary log loss, target in {0, 1}
        return np.asarray(np.where(target == 1.0, -expit(-z), expit(z)))
    return np.asarray(_activate(name, z) - target)


def _is_multinomial(est: Any, X: np.ndarray, z: np.ndarray) -> bool:
    """Whether a multiclass logistic model is multinomial (softmax) or one-vs-rest."""
    rows = slice(0, min(len(X), 32))
    probs = np.asarray(est.predict_proba(X[rows]), dtype=np.float64)
    return bool(np.allclose(softmax(z[rows], axis=1), probs, rtol=1e-6, atol=1e-9))


def _activation_derivative(name: str, a: np.ndarray) -> np.ndarray:
    """The hidden activation's derivative, from its output ``a`` (as scikit-learn's MLP)."""
    if name == "identity":
        return np.asarray(np.ones_like(a))
    if name == "logistic":
        return a * (1.0 - a)
    if name == "tanh":
        return np.asarray(1.0 - a * a)
    if name == "relu":
        return (a > 0).astype(np.float64)
    raise MiaValueError(f"Unsupported MLP activation '{name}'.")


def _activate(name: str, z: np.ndarray) -> np.ndarray:
    funcs = {
        "identity": lambda v: v,
        "logistic": expit,
        "tanh": np.tanh,
        "relu": lambda v: np.maximum(v, 0.0),
        "softmax": lambda v: softmax(v, axis=1),
        "exp": np.exp,  # MLPRegressor(loss='poisson')
    }
    if name not in funcs:
        raise MiaValueError(f"Unsupported MLP activation '{name}'.")
    return np.asarray(funcs[name](z))


def _mlp_backward(
    est: Any, X: np.ndarray, labels: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each layer's input activations and output deltas (d loss / d pre-activation).

    The output delta is ``output - target`` for every pairing scikit-learn uses
    (logistic + binary log loss, softmax + log loss, identity + half squared error,
    exp + half Poisson deviance).
    """
    acts = [np.asarray(X, dtype=np.float64)]
    n_layers = len(est.coefs_)
    for W, b in zip(est.coefs_[:-1], est.intercepts_[:-1], strict=True):
        acts.append(_activate(est.activation, acts[-1] @ W + b))
    z_out = acts[-1] @ est.coefs_[-1] + est.intercepts_[-1]
    if hasattr(est, "classes_"):
        target = np.asarray(est._label_binarizer.transform(labels), dtype=np.float64)
    else:
        target = np.asarray(labels, dtype=np.float64).reshape(len(X), -1)
    deltas = [_output_delta(est.out_activation_, z_out, target)]
    for i in range(n_layers - 1, 0, -1):
        back = deltas[0] @ est.coefs_[i].T
        deltas.insert(0, back * _activation_derivative(est.activation, acts[i]))
    return acts, deltas


def _layers(est: Any, X: np.ndarray, labels: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(inputs with a ones column when the layer has an intercept, deltas) per layer."""
    if hasattr(est, "coefs_"):
        acts, deltas = _mlp_backward(est, X, labels)
        return [
            (np.column_stack([a, np.ones(len(a))]), d) for a, d in zip(acts, deltas, strict=True)
        ]
    r = _linear_residual(est, X, labels)
    x = np.asarray(X, dtype=np.float64)
    if getattr(est, "fit_intercept", True):
        x = np.column_stack([x, np.ones(len(x))])
    return [(x, r)]


def per_record_gradients(est: Any, X: Any, labels: Any) -> np.ndarray:
    """The full gradient of each record's loss, shape (n_samples, n_parameters).

    Parameter order: per layer, the weights (``coef_`` / ``coefs_[i]`` flattened in C
    order, with inputs as rows) then the intercepts. Memory is n_samples x n_parameters:
    for checks on a few records; :func:`gradient_norms` needs none of it.

    Parameters
    ----------
    est : fitted supported estimator (see :func:`supports_gradients`)
    X : array-like of shape (n_samples, n_features)
        The estimator's own input (after any Pipeline steps).
    labels : array-like of shape (n_samples,)
        True labels (classifiers) or targets (regressors).
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    parts = []
    for inputs, deltas in _layers(est, X, labels):
        outer = inputs[:, :, None] * deltas[:, None, :]  # (n, n_in [+1], n_out)
        if hasattr(est, "coefs_"):  # weights (n_in, n_out), then the intercept row
            parts += [outer[:, :-1, :].reshape(len(X), -1), outer[:, -1, :]]
        else:  # coef_ is (n_out, n_in): transpose to its order, intercept last
            has_b = inputs.shape[1] > X.shape[1]
            w = outer[:, : X.shape[1], :].transpose(0, 2, 1).reshape(len(X), -1)
            parts += [w, outer[:, -1, :]] if has_b else [w]
    return np.concatenate(parts, axis=1)


def gradient_norms(est: Any, X: Any, labels: Any) -> np.ndarray:
    """Euclidean norm of each record's loss gradient, shape (n_samples,).

    Exact and cheap: a per-record layer gradient is an outer product, whose norm is the
    product of its factors' norms, so no (n_samples, n_parameters) array is built.
    """
    X = np.asarray(X, dtype=np.float64)
    sq = np.zeros(len(X))
    for inputs, deltas in _layers(est, X, np.asarray(labels)):
        sq += np.einsum("ij,ij->i", inputs, inputs) * np.einsum("ij,ij->i", deltas, deltas)
    return np.asarray(np.sqrt(sq))


def _log_loss_model(est: Any) -> bool:
    """Classifiers fitted on log loss, whose output residual ``p - onehot`` is bounded."""
    if known_name(est, _MLP) == "MLPClassifier":
        return True
    return hasattr(est, "classes_") and _linear_loss(est) == "log_loss"


def gradient_statistic(est: Any, X: Any, labels: Any, floor: float = 1e-300) -> np.ndarray:
    """``-log ||gradient||``, plus ``log(1 - ||r|| / r_max)`` for log-loss classifiers.

    ``r`` is the output residual ``p - onehot`` (``r_max`` 1 for one logistic output,
    sqrt(2) for softmax). The gradient norm alone cannot tell a confidently wrong record
    from a merely wrong one (both have ``||r||`` near its maximum, and ``-log`` squashes
    them together); the second term spreads them out again. For a binary logistic
    regression the statistic is exactly ``logit(p_y) - log ||[x, 1]||``. Higher = more
    member-like. Shape (n_samples,).
    """
    X = np.asarray(X, dtype=np.float64)
    layers = _layers(est, X, np.asarray(labels))
    sq = sum(np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", d, d) for a, d in layers)
    stat = -np.log(np.maximum(np.sqrt(sq), floor))
    if _log_loss_model(est):
        r = layers[-1][1]
        r_max = 1.0 if r.shape[1] == 1 else np.sqrt(2.0)
        stat = stat + np.log(np.maximum(1.0 - np.sqrt(np.einsum("ij,ij->i", r, r)) / r_max, floor))
    return np.asarray(stat)
