"""Threshold attacks on the target model's own outputs (no extra training).

Sign convention: members tend to have higher confidence, lower loss and lower entropy,
so every score below is oriented so that higher = more likely a member.
"""

from __future__ import annotations

import numpy as np

from ..references.statistics import logit_statistic
from .base import Attack, AttackContext, register_attack

_EPS = 1e-12

__all__ = [
    "ConfidenceAttack",
    "EntropyAttack",
    "LabelOnlyAttack",
    "LogitConfidenceAttack",
    "LossAttack",
    "ModifiedEntropyAttack",
]


def _clip(p: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(p, _EPS, 1.0 - _EPS))


@register_attack
class LossAttack(Attack):
    """Yeom et al. (2018): members have lower loss; score = -loss.

    Classification: cross-entropy of the true class. Regression: squared error.
    """

    name = "loss"
    title = "Loss (Yeom)"
    kinds = frozenset({"proba", "decision", "regression"})

    def score(self, ctx: AttackContext) -> np.ndarray:
        out = ctx.outputs
        if out.kind == "regression":
            assert out.y is not None
            return np.asarray(-np.square(out.pred - out.y))
        return np.asarray(np.log(np.maximum(out.true_class_proba, _EPS)))


@register_attack
class ConfidenceAttack(Attack):
    """True-class confidence: score = p_y."""

    name = "confidence"
    title = "Confidence"
    kinds = frozenset({"proba", "decision"})

    def score(self, ctx: AttackContext) -> np.ndarray:
        return ctx.outputs.true_class_proba


@register_attack
class LogitConfidenceAttack(Attack):
    """Logit-scaled confidence (as in LiRA): score = log(p_y) - log(1 - p_y).

    Computed as log p_y - log(sum of the other classes) so it keeps resolution when
    p_y is within 1e-16 of 1, where 1 - p_y rounds to 0.
    """

    name = "logit"
    title = "Logit confidence"
    kinds = frozenset({"proba", "decision"})

    def score(self, ctx: AttackContext) -> np.ndarray:
        out = ctx.outputs
        assert out.probs is not None and out.y_idx is not None
        # the same statistic the reference attacks model (their ``target``)
        return logit_statistic(out.probs, out.y_idx)


@register_attack
class EntropyAttack(Attack):
    """Prediction entropy: members get sharper predictions; score = -H(p)."""

    name = "entropy"
    title = "Entropy"
    kinds = frozenset({"proba", "decision"})

    def score(self, ctx: AttackContext) -> np.ndarray:
        p = ctx.outputs.probs
        assert p is not None
        return np.asarray(np.sum(p * np.log(np.clip(p, _EPS, 1.0)), axis=1))


@register_attack
class ModifiedEntropyAttack(Attack):
    """Song and Mittal (2021) modified entropy; score = -Mentr.

    Mentr = -(1 - p_y) log(p_y) - sum_{i != y} p_i log(1 - p_i): low for confident
    correct predictions, high for confident wrong ones.
    """

    name = "mentropy"
    title = "Modified entropy"
    kinds = frozenset({"proba", "decision"})

    def score(self, ctx: AttackContext) -> np.ndarray:
        out = ctx.outputs
        assert out.probs is not None and out.y_idx is not None
        p = out.probs
        p_y = out.true_class_proba
        term_y = -(1.0 - p_y) * np.log(_clip(p_y))
        others = -p * np.log(_clip(1.0 - p))
        rows = np.arange(p.shape[0])
        own = np.where(out.y_idx >= 0, others[rows, np.clip(out.y_idx, 0, None)], 0.0)
        mentr = term_y + others.sum(axis=1) - own
        return np.asarray(-mentr)


@register_attack
class LabelOnlyAttack(Attack):
    """Label-only gap attack: predict "member" when the model's label is correct."""

    name = "gap"
    title = "Label-only gap"
    person_rule = "mean"  # share of the person's rows the model gets right
    kinds = frozenset({"proba", "decision", "label"})

    def score(self, ctx: AttackContext) -> np.ndarray:
        return ctx.outputs.correct.astype(np.float64)
