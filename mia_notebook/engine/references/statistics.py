"""Per-record statistics of a model: what reference models and the target are compared on.

The threshold attacks use them too, so this module needs nothing from the trainer.
Sign convention: higher = the model fits the record better (members: higher).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cache import CACHE
from ..data import as_float_array
from ..target import TargetOutputs, decision_to_probs, label_index
from ..whatif import OutputsForm, transform_probs

__all__ = [
    "EPS",
    "REG_EPS",
    "StatisticFn",
    "StatisticSet",
    "TransformedStatistic",
    "logit_statistic",
    "regression_statistic",
    "statistic",
    "target_statistic",
]

#: Probabilities are clipped to [EPS, 1 - EPS] in the logit statistic (as the
#: ``logit`` threshold attack does), so it lies in about [-27.6, 27.6].
EPS = 1e-12
#: A per-record statistic of a fitted model: (model, X, labels, kind, y_scale) -> array.
StatisticFn = Callable[[Any, Any, np.ndarray, str, float], np.ndarray]
#: Regression statistic: -log(squared error + REG_EPS * var(y)).
REG_EPS = 1e-9


def logit_statistic(probs: np.ndarray, y_idx: np.ndarray) -> np.ndarray:
    """log(p_y) - log(sum_{j != y} p_j) per row; p_y = 0 for a label index of -1.

    Higher = the model is more confident in the true label (members: higher).
    Invariant to the rows' normalisation, and exact when p_y is within 1e-16 of 1.

    Parameters
    ----------
    probs : ndarray of shape (n_samples, n_classes)
    y_idx : ndarray of int, shape (n_samples,)

    Returns
    -------
    ndarray of float64, shape (n_samples,)
    """
    rows = np.arange(probs.shape[0])
    p_y = np.where(y_idx >= 0, probs[rows, np.clip(y_idx, 0, None)], 0.0)
    rest = probs.sum(axis=1) - p_y
    return np.asarray(np.log(np.maximum(p_y, EPS)) - np.log(np.maximum(rest, EPS)))


def regression_statistic(pred: np.ndarray, y: np.ndarray, y_scale: float) -> np.ndarray:
    """-log(squared error + REG_EPS * y_scale): higher = smaller error (members: higher)."""
    err2 = np.square(np.asarray(pred, dtype=np.float64).ravel() - y)
    return np.asarray(-np.log(err2 + REG_EPS * y_scale))


def statistic(
    model: Any, X: Any, labels: np.ndarray, kind: str, y_scale: float = 1.0
) -> np.ndarray:
    """The per-record statistic of a fitted ``model`` on ``X`` with true ``labels``.

    Classifiers (``kind`` 'proba' or 'decision'): logit-scaled true-class confidence
    (:func:`logit_statistic`). Regressors: :func:`regression_statistic`.

    Returns
    -------
    ndarray of float64, shape (n_samples,)
    """
    if kind == "regression":
        return regression_statistic(model.predict(X), as_float_array(labels), y_scale)
    classes = np.asarray(model.classes_)
    if kind == "proba":
        probs = np.asarray(model.predict_proba(X), dtype=np.float64)
    else:
        probs = decision_to_probs(model.decision_function(X), len(classes))
    return logit_statistic(probs, label_index(classes, labels))


def target_statistic(outputs: TargetOutputs, y_scale: float) -> np.ndarray:
    """:func:`statistic` of the target model, from its already-queried outputs."""
    if outputs.kind == "regression":
        assert outputs.y is not None
        return regression_statistic(outputs.pred, outputs.y, y_scale)
    assert outputs.probs is not None and outputs.y_idx is not None
    return logit_statistic(outputs.probs, outputs.y_idx)


@dataclass(frozen=True)
class TransformedStatistic:
    """The reference statistic (logit-scaled true-class confidence) after ``form``.

    A picklable callable with the signature of :func:`statistic`, for reference models
    under an ``outputs=`` what-if: their probabilities go through the same
    :func:`~mia_notebook.engine.whatif.transform_probs` as the target's.
    """

    form: OutputsForm

    @property
    def cache_key(self) -> str:
        return f"outputs={self.form}"

    def __call__(
        self, model: Any, X: Any, labels: np.ndarray, kind: str, y_scale: float = 1.0
    ) -> np.ndarray:
        classes = np.asarray(model.classes_)
        if kind == "proba":
            probs = np.asarray(model.predict_proba(X), dtype=np.float64)
        else:
            probs = decision_to_probs(model.decision_function(X), len(classes))
        return logit_statistic(transform_probs(probs, self.form), label_index(classes, labels))


@dataclass(frozen=True)
class StatisticSet:
    """Several statistics of one fitted model in one pass, so that a reference model
    serves every attack that needs it without being trained again.

    A picklable callable with the signature of :func:`statistic`, returning shape
    (n_samples, 1 + len(extras)): column 0 is ``main`` (None: :func:`statistic`), then
    each of ``extras`` in order. An extra that raises gives a NaN column, so it never
    costs the main statistic its reference model.

    Attributes
    ----------
    main : callable or None
    extras : tuple of (str, callable)
        Named statistics (e.g. the white-box ones), same signature as :func:`statistic`.
    """

    main: StatisticFn | None
    extras: tuple[tuple[str, StatisticFn], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.extras)

    @property
    def cache_key(self) -> str:
        keys = [str(getattr(fn, "cache_key", repr(fn))) for _, fn in self.extras]
        main = "main" if self.main is None else str(getattr(self.main, "cache_key", self.main))
        return "+".join([main, *keys])

    @staticmethod
    def main_of(fn: StatisticFn | None) -> StatisticFn | None:
        """The main statistic of ``fn`` (``fn`` itself unless it is a StatisticSet)."""
        return fn.main if isinstance(fn, StatisticSet) else fn

    @staticmethod
    def split(full: np.ndarray, fn: StatisticFn | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Reference columns of shape (n_rows, n_refs[, 1 + n_extra]): the main
        statistic's (n_rows, n_refs), and each extra's by name (none unless ``fn`` is a
        StatisticSet)."""
        if not isinstance(fn, StatisticSet):
            return full, {}
        extra = {name: np.ascontiguousarray(full[:, :, i + 1]) for i, name in enumerate(fn.names)}
        return np.ascontiguousarray(full[:, :, 0]), extra

    @staticmethod
    def cache_parts(
        key: tuple[Hashable, ...], fn: StatisticFn | None
    ) -> list[tuple[Hashable, ...]]:
        """Cache keys (less the model index) of each column ``fn`` gives: ``key`` for the
        main statistic, then one per extra. Each statistic is cached on its own, so a
        later audit that needs only some of them reuses what an earlier pass computed."""
        if not isinstance(fn, StatisticSet):
            return [key]
        extra = [(*key, "extra", n, str(getattr(f, "cache_key", repr(f)))) for n, f in fn.extras]
        return [key, *extra]

    @staticmethod
    def cached(parts: list[tuple[Hashable, ...]], j: int) -> np.ndarray | None:
        """Model ``j``'s cached columns (None unless every part is cached)."""
        values = [CACHE.get((*part, j)) for part in parts]
        found = [np.asarray(v) for v in values if v is not None]
        if len(found) < len(values):
            return None
        return found[0] if len(found) == 1 else np.column_stack(found)

    @staticmethod
    def store(parts: list[tuple[Hashable, ...]], j: int, stat: np.ndarray) -> None:
        """Cache model ``j``'s columns, each under its own part's key."""
        columns = [stat] if stat.ndim == 1 else [stat[:, i] for i in range(stat.shape[1])]
        for part, column in zip(parts, columns, strict=True):
            CACHE.put((*part, j), np.ascontiguousarray(column))

    def __call__(
        self, model: Any, X: Any, labels: np.ndarray, kind: str, y_scale: float = 1.0
    ) -> np.ndarray:
        first = (self.main or statistic)(model, X, labels, kind, y_scale)
        rest = []
        for _, fn in self.extras:  # an extra that fails is NaN: the main one still counts
            try:
                rest.append(np.asarray(fn(model, X, labels, kind, y_scale), dtype=np.float64))
            except Exception:
                rest.append(np.full(len(first), np.nan))
        return np.column_stack([first, *rest]).astype(np.float64, copy=False)
