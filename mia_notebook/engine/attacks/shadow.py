"""The shadow-model attack of Shokri et al. (2017), "Membership Inference Attacks
Against Machine Learning Models".

The reference models are the shadow models: their membership of every record is known,
so their outputs on IN and OUT records are training data for attack classifiers, one
per class of the true label as in the paper (one in all for regressors). Each attack
classifier is a logistic regression on a spline basis of the statistic (logit-scaled
true-class confidence; -log squared error for regressors), which gives a smooth score
(records with the same statistic, e.g. a forest's vote fractions, still tie). It is then
applied to the target model's statistic.

The attack classifiers learn from reference models' membership only; the target's
membership is never used. Score = predicted probability of "member" (higher = more
likely a member).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer

from .base import AttackContext, register_attack
from .reference import ReferenceAttack

__all__ = ["ShadowAttack", "shadow_scores"]

#: (record, reference model) pairs used to train each attack classifier, at most.
MAX_TRAIN_PAIRS = 20_000
#: Classes with fewer training pairs share the pooled attack classifier.
MIN_CLASS_PAIRS = 200


def _attack_model(x: np.ndarray, y: np.ndarray) -> Any:
    if y.all() or not y.any():
        return None
    n_knots = int(min(8, max(3, np.unique(x).size // 20)))
    model = make_pipeline(
        SplineTransformer(n_knots=n_knots, degree=3, extrapolation="linear"),
        LogisticRegression(C=1.0, max_iter=1000),
    )
    return model.fit(x[:, None], y)


def _sample_pairs(
    signal: np.ndarray, in_mask: np.ndarray, rows: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Flattened (statistic, IN) pairs of ``rows`` x all references, subsampled."""
    n_pairs = rows.size * signal.shape[1]
    flat = rng.choice(n_pairs, size=min(n_pairs, MAX_TRAIN_PAIRS), replace=False)
    r, c = np.divmod(flat, signal.shape[1])
    return signal[rows[r], c].astype(np.float64), in_mask[rows[r], c]


def shadow_scores(
    signal: np.ndarray,
    in_mask: np.ndarray,
    target: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    random_state: int = 0,
) -> np.ndarray:
    """Shokri-style attack scores (higher = more likely a member).

    Parameters
    ----------
    signal, in_mask : ndarray of shape (n_records, n_refs)
        Reference statistics and IN/OUT bookkeeping (the shadow models' known
        membership).
    target : ndarray of shape (n_records,)
        The target model's statistic.
    groups : ndarray of int, shape (n_records,), default=None
        Attack-classifier group of each record (the true class); None: one classifier.
    random_state : int, default=0
        Seed of the training-pair subsample.

    Returns
    -------
    ndarray of float64, shape (n_records,)
    """
    n = signal.shape[0]
    rng = np.random.default_rng(random_state)
    groups = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups)
    pooled = _attack_model(*_sample_pairs(signal, in_mask, np.arange(n), rng))
    t = np.asarray(target, dtype=np.float64)
    scores = np.full(n, 0.5)
    if pooled is not None:
        scores = pooled.predict_proba(t[:, None])[:, 1]
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        if rows.size * signal.shape[1] < MIN_CLASS_PAIRS or np.unique(groups).size == 1:
            continue
        model = _attack_model(*_sample_pairs(signal, in_mask, rows, rng))
        if model is not None:
            scores[rows] = model.predict_proba(t[rows, None])[:, 1]
    return np.asarray(scores, dtype=np.float64)


@register_attack
class ShadowAttack(ReferenceAttack):
    """Shadow-model attack (Shokri et al. 2017): per-class attack classifiers trained on
    the reference (shadow) models' outputs for their known IN/OUT records."""

    name = "shadow"
    title = "Shadow models (Shokri)"
    person_rule = "logit-sum"  # a membership probability: log-odds add up
    kinds = frozenset({"proba", "decision", "regression"})

    def score(self, ctx: AttackContext) -> np.ndarray:
        refs = self.references(ctx)
        groups = ctx.outputs.y_idx if ctx.outputs.kind != "regression" else None
        return shadow_scores(
            refs.signal, refs.in_mask, refs.target, groups, random_state=ctx.random_state
        )
