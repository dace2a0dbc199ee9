"""The white-box attacks: what an attacker holding the model file can score.

Each gives one score per record (higher = more likely a member) through the usual
:class:`~mia_notebook.engine.attacks.base.Attack` interface, and is in
``attacks='auto'`` when the audited model belongs to its family
(:func:`~.access.family_of`). Their ``threat_model`` is ``'white-box'``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ...references.signals import ReferenceSignals
from ..base import Attack, AttackContext, AttackUnavailable, register_attack
from ..lira import lira_scores, resolve_variance
from .access import problem_text
from .stage import GRAD_EPS, PROVIDER, REFERENCES, WhiteboxSignals, WhiteboxStage

__all__ = [
    "GradientLiraAttack",
    "GradientNormAttack",
    "StoredMatchAttack",
    "TreeLeavesAttack",
    "TreeLiraAttack",
    "WhiteboxAttack",
]


class WhiteboxAttack(Attack):
    """Base of the white-box attacks: the target model's white-box stage by family."""

    threat_model: ClassVar[str] = "white-box"
    family: ClassVar[str]
    kinds = frozenset({"proba", "decision", "regression", "label"})

    @classmethod
    def in_auto(cls, ctx: AttackContext) -> bool:
        stage = ctx.stages.get(PROVIDER)
        return isinstance(stage, WhiteboxStage) and stage.family == cls.family

    def unavailable_reason(self, ctx: AttackContext) -> str | None:
        stage = ctx.stages.get(PROVIDER)
        if not isinstance(stage, WhiteboxStage):
            return "needs the model itself (run it through audit())"
        if stage.family != self.family:
            return problem_text(stage.model, self.family)
        return super().unavailable_reason(ctx)

    @staticmethod
    def signals(ctx: AttackContext) -> WhiteboxSignals:
        signals: WhiteboxSignals = ctx.stage(PROVIDER)
        return signals

    def score(self, ctx: AttackContext) -> np.ndarray:
        return self.signals(ctx).score


def desaturate_floor(signal: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cap statistics at the gradient norm's floor (an exactly zero gradient, ~690.8)
    just beyond the largest other value, as LiRA's black-box statistic caps saturated
    probabilities: the gap to the floor is an artefact, and breaks the Gaussian fit."""
    floor = -np.log(GRAD_EPS) - 1.0
    below = [a[a < floor] for a in (signal, target)]
    largest = max((float(b.max()) for b in below if b.size), default=floor)
    lim = largest + np.log(2.0)
    return np.minimum(signal, lim).astype(signal.dtype), np.minimum(target, lim)


class _Calibrated(WhiteboxAttack):
    """LiRA online on the family's statistic, against the audit's reference models."""

    needs_references: ClassVar[bool] = True
    min_references: ClassVar[int] = 2

    def score(self, ctx: AttackContext) -> np.ndarray:
        target = self.signals(ctx).statistic
        refs: ReferenceSignals = ctx.stage(REFERENCES)
        if self.family not in refs.extra:  # the stage was built without this statistic
            raise AttackUnavailable(
                f"the reference models did not compute the {self.family} statistic"
            )
        signal = refs.extra[self.family]
        ok = np.isfinite(signal).all(axis=0)  # reference models whose statistic failed: out
        if ok.sum() < self.min_references:
            raise AttackUnavailable(
                f"the {self.family} statistic failed on {int((~ok).sum())} of "
                f"{ok.size} reference models"
            )
        variance = resolve_variance(ctx.options.lira_variance, int(ok.sum()))
        signal, target = desaturate_floor(signal[:, ok], target)
        mask = refs.in_mask[:, ok]
        return lira_scores(signal, mask, target, online=True, variance=variance)


@register_attack
class GradientNormAttack(WhiteboxAttack):
    """Per-record loss-gradient norm (:mod:`.gradients`); the score is the NEGATED norm,
    since the records a model was fitted on have smaller gradients."""

    name = "grad-norm"
    title = "Gradient norm (white-box)"
    family = "gradients"


@register_attack
class GradientLiraAttack(_Calibrated):
    """LiRA online on ``-log`` of the gradient norm, with the audit's reference models."""

    name = "grad-lira"
    title = "Gradient LiRA (white-box)"
    family = "gradients"


@register_attack
class TreeLeavesAttack(WhiteboxAttack):
    """The per-tree leaf statistic of :mod:`.trees` (leaf counts, purity, per-tree steps)."""

    name = "tree-leaves"
    title = "Tree leaves (white-box)"
    family = "trees"


@register_attack
class TreeLiraAttack(_Calibrated):
    """LiRA online on the per-tree leaf statistic, with the audit's reference models."""

    name = "tree-lira"
    title = "Tree-leaf LiRA (white-box)"
    family = "trees"


@register_attack
class StoredMatchAttack(WhiteboxAttack):
    """Negated distance to the nearest training row the model stores (:mod:`.instances`);
    an exact match (score 0) is near-certain membership."""

    name = "stored-match"
    title = "Stored rows (white-box)"
    family = "instances"
