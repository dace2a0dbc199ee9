"""Each row's OUT confidence predicted from its features, for offline RMIA.

Offline RMIA needs each row's confidence under reference models that did *not* train on
it (p_OUT). With few reference models that mean is noisy, and with one, half of the rows
have none. A gradient-boosted regression (scikit-learn's ``HistGradientBoostingRegressor``)
learns the OUT confidence from the features and the true label on every (row, reference
model) pair where the model did not train on the row, and predicts it for every row;
offline RMIA counts the prediction as one more OUT model (:mod:`.rmia`).

It never sees the target model or its membership: its training pairs are the reference
models' OUT confidences, on records and population rows whose IN/OUT halves are seeded
and balanced across members and non-members, and members, non-members and z samples
get their prediction by the same rule, so a model that does not depend on membership
still scores members and non-members alike (``bench/false_alarms.py``).

Measured on forests (census, ``fair`` and churn data, 3 seeds each, 1, 2 and 4 reference
models): TPR at 1% FPR rose in 26 of 27 cases against the relation read backwards; the
numbers are in ``bench/results_few_references.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import pandas as pd
from scipy.special import expit

from ..cache import CACHE
from .base import AttackContext, StageInputs

__all__ = ["PROVIDER", "FeatureStage", "RecordFeatures", "encode_frame", "predict_out"]

#: Name of the lazy stage in the attack context (:meth:`AttackContext.stage`).
PROVIDER = "record_features"
#: Training pairs at most (a seeded sample beyond), to bound the regression's cost.
MAX_PAIRS = 200_000
#: A non-numeric column with more distinct values is given to the regression as ordinal
#: codes instead of categories (the regression's own limit is 255 bins).
MAX_CATEGORIES = 250
#: Boosting iterations of the regression.
MAX_ITER = 200
#: Rows per ``predict`` call (its float64 copy of the features stays small).
CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class RecordFeatures:
    """The rows' features and true label as a numeric matrix for the regression.

    Attributes
    ----------
    X : ndarray of float32, shape (n_records + n_extra, n_columns)
        The audited records (members first), then the extra population rows; missing
        values are NaN.
    n_records : int
    categorical : ndarray of bool, shape (n_columns,)
        Columns holding category codes.
    """

    X: np.ndarray
    n_records: int
    categorical: np.ndarray


def encode_frame(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(float32 matrix, categorical mask): numbers as they are, booleans as 0/1, anything
    else as codes of its distinct values (NaN stays NaN). float32 halves the memory of a
    large audit; the regression bins every column into at most 255 values anyway."""
    X = np.empty((len(frame), frame.shape[1]), dtype=np.float32)
    categorical = np.zeros(frame.shape[1], dtype=bool)
    for j, name in enumerate(frame.columns):
        s = frame[name]
        if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            X[:, j] = s.astype("float64").to_numpy()
            continue
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        X[:, j] = np.where(codes < 0, np.nan, codes)
        categorical[j] = len(uniques) <= MAX_CATEGORIES
    return X, categorical


@dataclass
class FeatureStage(StageInputs):
    """The lazy stage that encodes the audit's rows once (see :class:`RecordFeatures`)."""

    def __call__(self) -> RecordFeatures:
        # the frames' own columns, not references.make_population (which also hashes
        # every frame for the reference cache: 0.4 s at 1M rows x 30 columns)
        cols = [*self.data.features, self.data.target]
        extra = [] if self.population is None else [self.population[cols]]
        parts = [self.data.train[cols], self.data.test[cols], *extra]
        X, categorical = encode_frame(pd.concat(parts, ignore_index=True))
        return RecordFeatures(X, self.data.n_train + self.data.n_test, categorical)


def _training_pairs(
    X: np.ndarray, signal: np.ndarray, out: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Features and OUT confidence of every (row, model) pair with the model OUT (a
    seeded sample of :data:`MAX_PAIRS` beyond)."""
    rows, models = np.nonzero(out)
    if rows.size > MAX_PAIRS:
        keep = np.sort(np.random.default_rng([seed, 7]).choice(rows.size, MAX_PAIRS, False))
        rows, models = rows[keep], models[keep]
    return X[rows], expit(signal[rows, models].astype(np.float64))


def predict_out(
    ctx: AttackContext,
    signal: tuple[np.ndarray, np.ndarray],
    in_mask: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Predicted p_OUT of the records and of the extra rows, or None when the audit has
    no features stage or no row has an OUT model (then nothing is predicted).

    ``signal`` and ``in_mask`` are (records', extra rows') reference statistics and
    IN/OUT bookkeeping, as in :class:`~..references.ReferenceSignals`.
    """
    if PROVIDER not in ctx.stages:
        return None
    feats: RecordFeatures = ctx.stage(PROVIDER)
    out = ~np.vstack(in_mask)
    if not out.any():
        return None
    stacked = np.vstack(signal)
    # the same reference models and rows (a panel re-run, another rmia_a): no refit
    key = ("p_out", joblib.hash((stacked, out, feats.X, feats.categorical, ctx.random_state)))
    cached = CACHE.get(key)
    if cached is None:
        cached = _fit_predict(feats, stacked, out, ctx.random_state)
        CACHE.put(key, cached)
    predicted = np.asarray(cached)
    return predicted[: feats.n_records], predicted[feats.n_records :]


def _fit_predict(feats: RecordFeatures, signal: np.ndarray, out: np.ndarray, seed: int) -> Any:
    """The regression's predicted p_OUT of every row (records, then extra rows)."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    X, y = _training_pairs(feats.X, signal, out, seed)
    model = HistGradientBoostingRegressor(
        max_iter=MAX_ITER,
        categorical_features=feats.categorical if feats.categorical.any() else None,
        random_state=seed,
    )
    # One OpenMP thread: on a busy machine more threads made a small fit 20x slower
    # (0.37 s vs 6.7 s for 1,500 rows, 2 cores), and the result does not depend on it.
    with threadpool_limits(1):
        model.fit(X, y)
        parts = [
            model.predict(feats.X[i : i + CHUNK_ROWS]) for i in range(0, len(feats.X), CHUNK_ROWS)
        ]
    return np.clip(np.concatenate(parts), 0.0, 1.0)
