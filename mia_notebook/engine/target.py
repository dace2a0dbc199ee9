"""Query the user's model for per-record signals, without refitting or changing it.

The adapter chooses the richest interface the model offers:

* ``proba``: ``predict_proba`` -> class probabilities;
* ``decision``: ``decision_function`` -> probabilities by sigmoid / softmax (monotone,
  so threshold attacks rank records exactly as on the raw margins);
* ``regression``: a regressor -> predictions, squared error;
* ``label``: only ``predict`` -> predicted labels (label-only attacks).
"""

from __future__ import annotations

import hashlib
import pickle
import uuid
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import joblib
import numpy as np
import pandas as pd
from sklearn.base import is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .data import AuditData, as_float_array
from .errors import MiaTypeError, MiaValueError, ModelPredictionError

__all__ = [
    "TargetOutputs",
    "decision_to_probs",
    "fingerprint_model",
    "label_index",
    "model_kind",
    "query_model",
]

Kind = Literal["proba", "decision", "regression", "label"]

#: Rows per ``predict_proba`` call, to bound memory on large frames.
CHUNK_ROWS = 65_536


@dataclass
class TargetOutputs:
    """What the model says about each record (members first, then non-members).

    Attributes
    ----------
    kind : {'proba', 'decision', 'regression', 'label'}
    probs : ndarray of shape (n_samples, n_classes) or None
        Class probabilities (classification with proba/decision only).
    pred : ndarray of shape (n_samples,)
        Predicted label index into ``classes`` (classification) or the prediction
        (regression).
    y_idx : ndarray of shape (n_samples,) or None
        Index of the true label in ``classes``; -1 for a label the model never saw.
    y : ndarray of shape (n_samples,) or None
        True values (regression only).
    classes : ndarray of shape (n_classes,) or None
    notes : list of str
        Caveats about how the signals were obtained.
    """

    kind: Kind
    probs: np.ndarray | None
    pred: np.ndarray
    y_idx: np.ndarray | None
    y: np.ndarray | None
    classes: np.ndarray | None
    notes: list[str] = field(default_factory=list)

    @property
    def true_class_proba(self) -> np.ndarray:
        """Probability of the true class, shape (n_samples,); 0 for unseen labels."""
        assert self.probs is not None and self.y_idx is not None
        rows = np.arange(self.probs.shape[0])
        p = self.probs[rows, np.clip(self.y_idx, 0, None)]
        return np.where(self.y_idx >= 0, p, 0.0)

    @property
    def correct(self) -> np.ndarray:
        """Bool array: the model's predicted label equals the true label."""
        assert self.y_idx is not None
        return np.asarray(self.pred == self.y_idx)


def check_model(model: Any) -> None:
    """Raise a clear error unless ``model`` is a fitted model instance we can query."""
    if isinstance(model, type):
        raise MiaTypeError(
            f"The model must be a fitted instance, but got the class {model.__name__}. "
            f"Fit it first, e.g. clf = {model.__name__}().fit(X, y)."
        )
    if not any(hasattr(model, m) for m in ("predict_proba", "decision_function", "predict")):
        raise MiaTypeError(
            "The model must have predict_proba, decision_function or predict. "
            f"Got {type(model).__name__}, which has none of them."
        )
    if hasattr(model, "get_params") and hasattr(model, "fit"):
        try:
            check_is_fitted(model)
        except NotFittedError as e:
            raise MiaValueError(
                f"The model {type(model).__name__} is not fitted. Call .fit(X, y) before "
                "auditing it."
            ) from e
        except TypeError:
            pass  # not an sklearn estimator after all


def _is_regressor(model: Any) -> bool:
    try:
        return bool(is_regressor(model))
    except Exception:  # duck-typed models without sklearn tags
        return getattr(model, "_estimator_type", None) == "regressor"


def model_kind(model: Any, y_train: pd.Series) -> Kind:
    """Which interface to query (see module docstring)."""
    if _is_regressor(model) and not hasattr(model, "predict_proba"):
        return "regression"
    if hasattr(model, "predict_proba"):
        return "proba"
    if hasattr(model, "decision_function"):
        return "decision"
    if pd.api.types.is_float_dtype(y_train.dtype):
        vals = y_train.dropna().to_numpy(dtype=np.float64)
        if vals.size and not np.all(np.equal(np.mod(vals, 1), 0)):
            return "regression"
    return "label"


def fingerprint_model(model: Any) -> str:
    """Hash of the fitted model (parameters and learned state)."""
    try:  # C pickler: 3-10x faster than joblib.hash on a large forest
        return hashlib.blake2b(pickle.dumps(model, protocol=5), digest_size=8).hexdigest()
    except Exception:
        pass
    try:
        return str(joblib.hash(model))[:16]
    except Exception:  # unpicklable duck-typed models: a token for this very object
        return _identity_token(model)


# An unpicklable model has no content hash. ``id()`` is reused once an object is
# garbage-collected, so a new model at an old address would hit the old model's cache
# entries: each live object gets its own random token instead, forgotten with it.
_TOKENS: dict[int, tuple[weakref.ref[Any], str]] = {}


def _identity_token(model: Any) -> str:
    held = _TOKENS.get(id(model))
    if held is not None and held[0]() is model:
        return held[1]
    token, key = f"obj-{uuid.uuid4().hex[:16]}", id(model)

    def forget(_: weakref.ref[Any]) -> None:
        _TOKENS.pop(key, None)

    try:
        ref = weakref.ref(model, forget)
    except TypeError:  # not weak-referenceable: never share a cache entry
        return token
    _TOKENS[key] = (ref, token)
    return token


def _call_chunked(
    fn: Callable[[Any], Any], data: AuditData, frame: pd.DataFrame, what: str, split: str
) -> np.ndarray:
    parts = []
    for start in range(0, len(frame), CHUNK_ROWS):
        X = data.model_input(frame, start, start + CHUNK_ROWS)
        try:
            out = fn(X)
        except Exception as e:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            hint = (
                "Categories unseen in fit: use OneHotEncoder(handle_unknown='ignore') in the "
                "pipeline, or drop those rows."
                if "unknown categor" in msg.lower() or "found unknown" in msg.lower()
                else "Check that these rows are preprocessed like the training data (missing "
                "values imputed, same columns and dtypes), e.g. by auditing a Pipeline."
            )
            raise ModelPredictionError(
                f"The model raised {type(e).__name__} in {what} on the '{split}' rows: "
                f"{msg}. {hint}"
            ) from e
        parts.append(np.asarray(out))
    return np.concatenate(parts, axis=0)


def _both(fn: Callable[[Any], Any], data: AuditData, what: str) -> np.ndarray:
    return np.concatenate(
        [
            _call_chunked(fn, data, data.train, what, "train"),
            _call_chunked(fn, data, data.test, what, "test"),
        ],
        axis=0,
    )


def _clean_probs(probs: np.ndarray, n_classes: int, notes: list[str]) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != n_classes:
        raise ModelPredictionError(
            f"predict_proba returned shape {probs.shape}, expected (n_samples, {n_classes}) "
            "to match the model's classes_."
        )
    bad = ~np.isfinite(probs).all(axis=1)
    if bad.any():
        raise ModelPredictionError(
            f"predict_proba returned NaN or inf for {int(bad.sum())} record(s). "
            "Fix the model or its inputs (e.g. impute missing values) before auditing."
        )
    sums = probs.sum(axis=1)
    if (probs < 0).any() or not np.allclose(sums, 1.0, atol=1e-3):
        warnings.warn(
            "predict_proba returned rows that do not sum to 1 (or negative values); they "
            "were clipped at 0 and renormalised, so probability-based scores use the "
            "normalised values.",
            UserWarning,
            stacklevel=4,
        )
        notes.append("predict_proba rows were renormalised to sum to 1")
        probs = np.clip(probs, 0.0, None)
        sums = probs.sum(axis=1, keepdims=True)
        probs = np.divide(probs, sums, out=np.full_like(probs, 1.0 / n_classes), where=sums > 0)
    return probs


def decision_to_probs(dec: np.ndarray, n_classes: int) -> np.ndarray:
    dec = np.asarray(dec, dtype=np.float64)
    if dec.ndim == 1 or (dec.ndim == 2 and dec.shape[1] == 1):
        p1 = 1.0 / (1.0 + np.exp(-np.clip(dec.ravel(), -700, 700)))
        return np.column_stack([1.0 - p1, p1])
    if dec.shape[1] != n_classes:
        raise ModelPredictionError(
            f"decision_function returned shape {dec.shape}, expected {n_classes} columns."
        )
    z = dec - dec.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _classes(model: Any, labels: pd.Series) -> np.ndarray:
    classes = getattr(model, "classes_", None)
    if classes is not None:
        return np.asarray(classes)
    return np.asarray(pd.unique(labels.dropna()))


def label_index(classes: np.ndarray, values: Any) -> np.ndarray:
    idx = pd.Index(classes).get_indexer(pd.Index(np.asarray(values)))
    return np.asarray(idx, dtype=np.int64)


def query_model(model: Any, data: AuditData) -> TargetOutputs:
    """Query ``model`` on every record of ``data`` (members first)."""
    check_model(model)
    labels = data.labels()
    ytype = labels.dtype
    if pd.api.types.is_datetime64_any_dtype(ytype) or pd.api.types.is_timedelta64_dtype(ytype):
        raise MiaTypeError(
            f"The target column '{data.target}' holds dates/durations ({ytype}). Audit the "
            "column the model predicts: class labels or numbers."
        )
    kind = model_kind(model, data.train[data.target])
    notes: list[str] = []
    if kind == "regression":
        pred = as_float_array(_both(model.predict, data, "predict").ravel())
        _check_deterministic(model.predict, data, pred, notes)
        return TargetOutputs(kind, None, pred, None, as_float_array(labels), None, notes)
    classes = _classes(model, labels)
    y_idx = _check_labels(classes, labels, data)
    unseen = int((y_idx < 0).sum())
    if unseen:
        notes.append(f"{unseen} test record(s) have a label the model never saw (probability 0)")
    if kind == "label":
        pred = label_index(classes, _both(model.predict, data, "predict").ravel())
        _check_deterministic(model.predict, data, classes[pred], notes)
        return TargetOutputs(kind, None, pred, y_idx, None, classes, notes)
    if kind == "proba":
        raw = _both(model.predict_proba, data, "predict_proba")
        _check_deterministic(model.predict_proba, data, raw, notes)
        probs = _clean_probs(raw, len(classes), notes)
    else:
        dec = _both(model.decision_function, data, "decision_function")
        _check_deterministic(model.decision_function, data, dec, notes)
        probs = decision_to_probs(dec, len(classes))
        notes.append("scores from decision_function, mapped to probabilities by sigmoid/softmax")
    pred = probs.argmax(axis=1)
    return TargetOutputs(kind, probs, pred, y_idx, None, classes, notes)


def _check_labels(classes: np.ndarray, labels: pd.Series, data: AuditData) -> np.ndarray:
    """Index of each label in ``classes``; errors for single-class splits or foreign labels."""
    for name, part in (("train", data.train), ("test", data.test)):
        if part[data.target].nunique() < 2:
            raise MiaValueError(
                f"The '{name}' split has a single class ({part[data.target].iloc[0]}) in "
                f"'{data.target}'. Membership metrics need each split to cover the classes: "
                "use a stratified split."
            )
    y_idx = label_index(classes, labels)
    foreign = int((y_idx[: data.n_train] < 0).sum())
    if foreign:
        example = labels.iloc[int(np.argmax(y_idx[: data.n_train] < 0))]
        raise MiaValueError(
            f"{foreign} train label(s) in '{data.target}' (e.g. {example!r}) are not among "
            f"the model's classes {list(classes)[:10]}. Is '{data.target}' the column the "
            "model was trained on, encoded the same way?"
        )
    return y_idx


#: Rows re-queried to detect non-deterministic models.
_DETERMINISM_ROWS = 256


def _check_deterministic(
    fn: Callable[[Any], Any], data: AuditData, first: np.ndarray, notes: list[str]
) -> None:
    """Warn when querying the same rows twice gives different outputs."""
    n = min(_DETERMINISM_ROWS, data.n_train)
    try:
        again = np.asarray(fn(data.model_input(data.train, 0, n)))
    except Exception:  # the first pass succeeded; a flaky second pass is itself a finding
        again = None
    same = again is not None and again.shape == first[:n].shape
    if same and again is not None:
        a, b = np.asarray(first[:n]), again
        if a.dtype.kind in "fc" and b.dtype.kind in "fc":
            same = bool(np.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True))
        else:
            same = bool(np.array_equal(a, b))
    if not same:
        warnings.warn(
            "The model gave different outputs for the same rows on a second query: its "
            "predictions are non-deterministic, so membership scores (and the risk numbers) "
            "will vary between runs. Fix its random_state if you can.",
            UserWarning,
            stacklevel=3,
        )
        notes.append("model predictions are non-deterministic: scores vary between runs")
