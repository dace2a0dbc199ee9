"""Task utility of a model on the audit's non-members (``test``), as the API shows it."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import r2_score

from .target import TargetOutputs

__all__ = ["ACCURACY", "R2", "ROC_AUC", "binary_auc", "task_utility"]

#: Utility columns, named for what they measure.
ACCURACY, ROC_AUC, R2 = "accuracy", "roc_auc", "r2"


def binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of ``scores`` for the boolean ``positive`` (ties count half): the
    Mann-Whitney statistic, equal to ``sklearn.metrics.roc_auc_score`` and several times
    faster on large sets (one sort per class, no threshold curve)."""
    pos, neg = np.sort(scores[positive]), np.sort(scores[~positive])
    if not pos.size or not neg.size:
        return math.nan
    below = np.searchsorted(neg, pos, "left") + np.searchsorted(neg, pos, "right")
    return float(below.sum(dtype=np.float64) / (2.0 * pos.size * neg.size))


def _proba_auc(y_idx: np.ndarray, probs: np.ndarray | None) -> float:
    if probs is None or (y_idx < 0).any() or np.unique(y_idx).size < 2:
        return math.nan
    if probs.shape[1] == 2:
        return binary_auc(y_idx == 1, probs[:, 1])
    if np.unique(y_idx).size < probs.shape[1]:
        return math.nan
    # one-vs-rest on normalised probabilities, averaged over the classes (sklearn's
    # roc_auc_score(multi_class="ovr"), which is macro by default)
    norm = probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-300)
    return float(np.mean([binary_auc(y_idx == k, norm[:, k]) for k in range(probs.shape[1])]))


def task_utility(seen: TargetOutputs, n_members: int) -> dict[str, float]:
    """Utility on the non-members (``test``) of what the API returns.

    Parameters
    ----------
    seen : TargetOutputs
        The outputs the attacker sees (after the ``outputs=`` what-if), members first.
    n_members : int
        Number of members: the non-members are the records after them.

    Returns
    -------
    dict of str to float
        Classifiers: ``accuracy`` of the predicted label (unchanged by every what-if)
        and ``roc_auc`` from the visible probabilities (NaN when only labels are
        visible; one-vs-rest for several classes). Regressors: ``r2``.
    """
    test = slice(n_members, None)
    if seen.kind == "regression":
        assert seen.y is not None
        return {R2: float(r2_score(seen.y[test], seen.pred[test]))}
    assert seen.y_idx is not None
    y_idx = seen.y_idx[test]
    probs = None if seen.probs is None else seen.probs[test]
    return {ACCURACY: float(np.mean(seen.pred[test] == y_idx)), ROC_AUC: _proba_auc(y_idx, probs)}
