"""Models that keep training rows: k-nearest neighbours, SVM support vectors, and more.

Such a model file holds (some of) its training records verbatim, in the features its
final estimator was fitted on. Whoever has the file can read them: a record that matches
a stored row exactly is near-certainly a member. The attack's score is the negated
Euclidean distance from a record's features to the nearest stored row (0 for an exact
match; higher = more likely a member), and the finding counts the training records the
file contains verbatim.

Honesty: a test record identical to a training record (same features) matches a stored
row too, through no leak of its own. Those train/test duplicates are counted and
reported, and never counted as training records found in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["STORED_ATTRIBUTES", "StoredMatch", "duplicate_count", "match_stored", "stored_rows"]

#: Attributes in which scikit-learn estimators keep training rows, and what they are.
STORED_ATTRIBUTES = {
    "_fit_X": "training rows (k-nearest neighbours)",
    "support_vectors_": "support vectors",
    "X_train_": "training rows (Gaussian process)",
    "X_fit_": "training rows (kernel ridge)",
}


def stored_rows(est: Any) -> tuple[str, np.ndarray] | None:
    """(attribute name, stored rows as float64) of ``est``, or None if it keeps none."""
    if getattr(est, "metric", None) == "precomputed" or getattr(est, "kernel", None) == (
        "precomputed"
    ):
        return None  # distances or kernels, not rows
    for attr in STORED_ATTRIBUTES:
        rows = getattr(est, attr, None)
        if rows is None or isinstance(rows, (str, bytes)) or not hasattr(rows, "shape"):
            continue
        if hasattr(rows, "toarray"):
            rows = rows.toarray()
        arr = np.asarray(rows)
        if arr.ndim == 2 and arr.shape[0] > 0 and np.issubdtype(arr.dtype, np.number):
            return attr, arr.astype(np.float64)
    return None


def _row_keys(X: np.ndarray) -> np.ndarray:
    """One hashable key per row (exact values; -0.0 equals 0.0), shape (n,)."""
    return pd.util.hash_pandas_object(pd.DataFrame(X + 0.0), index=False).to_numpy()


@dataclass(frozen=True)
class StoredMatch:
    """The stored rows compared with the audited records.

    Attributes
    ----------
    distance : ndarray of float64, shape (n_records,)
        Euclidean distance from each record's features to the nearest stored row.
    exact : ndarray of bool, shape (n_records,)
        The record's features equal a stored row exactly.
    attribute : str
        Where the rows are kept (e.g. ``_fit_X``).
    n_stored : int
        Rows the model keeps.
    """

    distance: np.ndarray
    exact: np.ndarray
    attribute: str
    n_stored: int


def match_stored(est: Any, Xt: np.ndarray, chunk: int = 4096) -> StoredMatch:
    """Nearest stored row of each record ``Xt`` (the final estimator's features)."""
    from sklearn.neighbors import NearestNeighbors

    found = stored_rows(est)
    assert found is not None
    attr, rows = found
    nn = NearestNeighbors(n_neighbors=1).fit(rows)
    dist = np.concatenate(
        [nn.kneighbors(Xt[i : i + chunk])[0][:, 0] for i in range(0, len(Xt), chunk)]
    )
    exact = np.isin(_row_keys(Xt), _row_keys(rows))
    dist = np.where(exact, 0.0, np.maximum(dist, 0.0))  # kneighbors' rounding: not 0 exactly
    return StoredMatch(np.asarray(dist, dtype=np.float64), exact, attr, len(rows))


def duplicate_count(train: pd.DataFrame, test: pd.DataFrame, features: list[str]) -> int:
    """Test records whose feature values equal some training record's exactly."""
    keys_train = pd.util.hash_pandas_object(train[features], index=False)
    keys_test = pd.util.hash_pandas_object(test[features], index=False)
    return int(keys_test.isin(set(keys_train.to_numpy())).sum())
