"""The rows reference models train on, and their seeded IN/OUT split.

The population is the audited records (members first, then non-members), then any extra
``population`` rows. :func:`in_out_mask` splits it once per audit: every record is IN
(in the training half) for about half of the reference models and OUT for the others,
so each record gets both IN and OUT models (the "online" setting of LiRA/RMIA).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import pandas as pd

from ..data import AuditData, as_float_array, check_columns, check_frame, fingerprint_frame
from ..errors import MiaValueError

__all__ = ["Population", "check_population", "in_out_mask", "make_population", "take_rows"]


@dataclass(frozen=True)
class Population:
    """Rows reference models are trained on: the audited records, then extra rows.

    Attributes
    ----------
    X : DataFrame or ndarray of shape (n_rows, n_features)
        Model input, in the form the model was fitted on (a new object).
    labels : ndarray of shape (n_rows,)
        True labels (or regression targets).
    n_records : int
        The first ``n_records`` rows are the audited records (members first).
    fingerprint : str
        Hash of the rows (train, test and extra population) and the columns used.
    y_scale : float
        Variance of the labels (regression statistic scale); 1 for classification.
    """

    X: Any
    labels: np.ndarray
    n_records: int
    fingerprint: str
    y_scale: float = 1.0

    @property
    def n_rows(self) -> int:
        return len(self.labels)

    @property
    def n_extra(self) -> int:
        return self.n_rows - self.n_records


def take_rows(X: Any, rows: np.ndarray) -> Any:
    """Rows ``rows`` (positions) of a DataFrame or an array."""
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def check_population(population: Any, data: AuditData) -> pd.DataFrame | None:
    """Validate the optional extra ``population`` frame against the audited data."""
    if population is None:
        return None
    frame = check_frame("population", population)
    check_columns("population", frame, [*data.features, data.target])
    n_missing = int(frame[data.target].isna().sum())
    if n_missing:
        raise MiaValueError(
            f"The target column '{data.target}' has {n_missing} missing value(s) in "
            "'population'. Drop those rows first."
        )
    return frame


def make_population(data: AuditData, extra: pd.DataFrame | None, kind: str) -> Population:
    """The reference-training population: ``data``'s records then ``extra`` rows."""
    cols = [*data.features, data.target]
    parts = [data.train[cols], data.test[cols]]
    fps = [fingerprint_frame(p) for p in parts]
    if extra is not None:
        parts.append(extra[cols])
        fps.append(fingerprint_frame(parts[-1]))
    frame = pd.concat(parts, ignore_index=True)
    X = frame[list(data.features)]
    X_in = X if data.pass_frame else X.to_numpy()
    labels = frame[data.target].to_numpy()
    y_scale = 1.0
    if kind == "regression":
        labels = as_float_array(frame[data.target])
        y_scale = float(np.var(labels)) or 1.0
    fp = str(joblib.hash((fps, cols, data.pass_frame)))[:16]
    return Population(X_in, labels, data.n_train + data.n_test, fp, y_scale)


def in_out_mask(n_rows: int, n_references: int, seed: int) -> np.ndarray:
    """Which rows each reference model trains on, shape (n_rows, n_references), bool.

    Every row is IN for exactly ``n_references // 2`` models (for an odd count, a fair
    coin adds one more), chosen uniformly at random per row: so each reference model
    trains on about half of the rows, and each row has both IN and OUT models when
    ``n_references >= 2``. Deterministic in (n_rows, n_references, seed).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_references, 0x4D4941]))
    k = np.full(n_rows, n_references // 2)
    if n_references % 2:
        k += rng.random(n_rows) < 0.5
    mask = np.empty((n_rows, n_references), dtype=bool)
    step = 16_384  # bounded temporaries for large populations
    for start in range(0, n_rows, step):
        u = rng.random((min(step, n_rows - start), n_references))
        ranks = np.argsort(np.argsort(u, axis=1), axis=1)
        mask[start : start + len(u)] = ranks < k[start : start + len(u), None]
    return mask
