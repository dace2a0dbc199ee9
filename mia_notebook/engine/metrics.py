"""Membership-inference metrics.

Conventions (used everywhere in the package): members are the positive class, and a
higher score means "more likely a member".

* ROC and AUC are those of :mod:`sklearn.metrics` (``roc_curve`` with
  ``drop_intermediate=False``, ``roc_auc_score``), computed from the scores sorted per
  class (:class:`.sorted_scores.SortedScores`), the sort the verdict reads too.
* TPR at a target FPR uses the largest threshold whose FPR does not exceed the target.
  Tied scores form one ROC point, so a tied group that would push the FPR past the
  target is never counted.
* The epsilon lower bound (:mod:`.bounds`) turns one-sided Clopper-Pearson intervals
  on (TPR, FPR) and (TNR, FNR) into a bound that holds with the stated confidence for
  any (epsilon, delta)-DP training algorithm, simultaneously over all candidate
  thresholds (union bound).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from .bounds import clopper_pearson, epsilon_from_sorted, epsilon_lower_bound
from .sorted_scores import SortedScores

__all__ = [
    "ADVANTAGE",
    "AUC",
    "BALANCED_ACCURACY",
    "EPSILON_LB",
    "MEMBERS",
    "NON_MEMBERS",
    "NOTES",
    "AttackMetrics",
    "Note",
    "RocCurve",
    "ScoreSummary",
    "TprAtFpr",
    "attack_metrics",
    "clopper_pearson",
    "epsilon_lower_bound",
    "fpr_label",
    "metrics_from_summary",
    "metrics_row",
    "resolves",
    "roc",
    "roc_from_sorted",
    "score_summary",
    "summary_columns",
    "summary_from_sorted",
    "threshold_index",
    "tpr_at_fpr",
]

# Column names of the summary and slice tables, defined here only. The TPR columns are
# named by :func:`fpr_label` (e.g. 'TPR@0.1%FPR').
AUC = "AUC"
ADVANTAGE = "advantage"
BALANCED_ACCURACY = "balanced_accuracy"
EPSILON_LB = "epsilon_lb"
MEMBERS = "members"
NON_MEMBERS = "non_members"
NOTES = "notes"


@dataclass(frozen=True)
class RocCurve:
    """An ROC curve with one point per distinct score threshold."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    n_members: int
    n_nonmembers: int


class Note(str, Enum):
    """Why a TPR-at-FPR value must be read with care (``NONE``: it can be read as is)."""

    NONE = ""
    #: Fewer than 1 / FPR non-members: no threshold resolves the FPR; the value is NaN.
    UNRESOLVABLE = "unresolvable"
    #: Tied non-member scores span more than the target FPR: the value is limited by ties.
    COARSE = "coarse"

    def text(self, target: float) -> str:
        """The note as the tables print it, for FPR ``target``."""
        if self is Note.UNRESOLVABLE:
            return f"needs ≥ {math.ceil(1.0 / target - 1e-9):,} non-members"
        return "coarse: ties" if self is Note.COARSE else ""


@dataclass(frozen=True)
class TprAtFpr:
    """TPR at a target FPR: the value, its confidence interval and a note.

    Attributes
    ----------
    target : float
        The FPR asked for.
    tpr : float
        TPR at the largest threshold whose FPR is at most ``target`` (NaN when the
        curve is undefined).
    achieved_fpr : float
        The FPR actually reached at that threshold (at most ``target``).
    resolvable : bool
        False when there are fewer than ``1 / target`` non-members, so no threshold
        can resolve this FPR: the value is then not meaningful.
    coarse : bool
        True when a group of tied non-member scores spans more than ``target`` of the
        non-members right above the chosen threshold, so the figure is limited by ties.
    interval : tuple of float
        Two-sided Clopper-Pearson interval of ``tpr`` over the members, at the
        ``confidence`` of the metrics ((NaN, NaN) when the curve is undefined or no
        confidence was asked for).
    """

    target: float
    tpr: float
    achieved_fpr: float
    resolvable: bool
    coarse: bool
    interval: tuple[float, float] = (math.nan, math.nan)

    @property
    def note(self) -> Note:
        if not self.resolvable:
            return Note.UNRESOLVABLE
        return Note.COARSE if self.coarse else Note.NONE

    @property
    def note_text(self) -> str:
        return self.note.text(self.target)

    @property
    def value(self) -> float:
        """The TPR as tables show it: NaN when the FPR cannot be resolved."""
        return self.tpr if self.resolvable else math.nan


@dataclass(frozen=True)
class AttackMetrics:
    """All summary numbers for one attack."""

    auc: float
    tpr: tuple[TprAtFpr, ...]
    advantage: float
    balanced_accuracy: float
    epsilon_lb: float
    n_members: int
    n_nonmembers: int


def roc(scores: np.ndarray, members: np.ndarray) -> RocCurve | None:
    """ROC curve of membership scores; ``None`` (with a warning) if a class is empty.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Membership scores, higher means more likely a member.
    members : array-like of bool, shape (n_samples,)
        True for training-set members.
    """
    ss = SortedScores.of(scores, members)
    curve = roc_from_sorted(ss)
    if curve is None:
        n_pos, n_neg = ss.members.size, ss.nonmembers.size
        warnings.warn(
            f"ROC is undefined with {n_pos} members and {n_neg} non-members; "
            "metrics are NaN. Provide records of both kinds.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    return curve


def roc_from_sorted(ss: SortedScores) -> RocCurve | None:
    """The ROC curve of scores sorted per class (None if a class is empty).

    Equal to ``sklearn.metrics.roc_curve(members, scores, drop_intermediate=False)``:
    one point per distinct score, highest first, after a first point at threshold
    +inf; a point's TPR and FPR count the records scoring at least its threshold.
    """
    n_pos, n_neg = ss.members.size, ss.nonmembers.size
    if n_pos == 0 or n_neg == 0:
        return None
    values, is_member = ss.merged
    values, is_member = values[::-1], is_member[::-1]  # highest first
    tps_all = np.cumsum(is_member)
    last = np.flatnonzero(np.diff(values, append=-np.inf))  # each tie group's last record
    distinct, tps = values[last], tps_all[last]
    fps = last + 1 - tps
    return RocCurve(
        fpr=np.concatenate([[0.0], fps / n_neg]),
        tpr=np.concatenate([[0.0], tps / n_pos]),
        thresholds=np.concatenate([[np.inf], distinct]),
        n_members=int(n_pos),
        n_nonmembers=int(n_neg),
    )


class UndefinedMetricWarning(UserWarning):
    """A metric could not be computed (e.g. no non-members in a slice)."""


def resolves(n_nonmembers: int, target: float) -> bool:
    """Whether ``n_nonmembers`` can resolve FPR ``target``: at least ``1 / target`` of
    them (else no threshold's FPR is meaningful at that level)."""
    return bool(n_nonmembers * target >= 1.0 - 1e-9)


def threshold_index(curve: RocCurve, targets: Sequence[float]) -> np.ndarray:
    """Index into ``curve`` of the largest threshold whose FPR does not exceed each
    target (0, the point at threshold +inf, when none does): the point
    :func:`tpr_at_fpr` reads."""
    found = np.searchsorted(curve.fpr, np.asarray(targets, dtype=np.float64) + 1e-12, "right")
    out: np.ndarray = np.maximum(found - 1, 0)
    return out


def tpr_at_fpr(curve: RocCurve | None, target: float, confidence: float | None = 0.95) -> TprAtFpr:
    """TPR at the largest threshold whose FPR does not exceed ``target``, with its
    two-sided Clopper-Pearson interval at ``confidence`` (``None``: no interval, which
    spares two beta quantiles when only the point is needed, e.g. for drawing)."""
    if curve is None:
        return TprAtFpr(target, math.nan, math.nan, False, False)
    idx = int(threshold_index(curve, [target])[0])
    resolvable = resolves(curve.n_nonmembers, target)
    coarse = False
    if idx + 1 < curve.fpr.size:
        coarse = bool(curve.fpr[idx + 1] - curve.fpr[idx] > target + 1e-12)
    tpr = float(curve.tpr[idx])
    lo = hi = math.nan
    if confidence is not None:
        k = round(tpr * curve.n_members)
        low, high = clopper_pearson(k, curve.n_members, (1.0 - confidence) / 2.0)
        lo, hi = float(low), float(high)
    return TprAtFpr(
        target=target,
        tpr=tpr,
        achieved_fpr=float(curve.fpr[idx]),
        resolvable=bool(resolvable),
        coarse=coarse,
        interval=(float(lo), float(hi)),
    )


@dataclass(frozen=True)
class ScoreSummary:
    """The FPR-independent part of an attack's metrics, computed once per score vector.

    Changing FPR targets only needs :func:`metrics_from_summary` on this (cheap), so
    view changes reuse the ROC curve, AUC and epsilon bound instead of recomputing them.

    Attributes
    ----------
    curve : RocCurve or None
        None when a class is empty (every metric is then NaN).
    auc, advantage, epsilon_lb : float
    n_members, n_nonmembers : int
    confidence, delta : float
        The settings ``epsilon_lb`` was computed with.
    """

    curve: RocCurve | None
    auc: float
    advantage: float
    epsilon_lb: float
    n_members: int
    n_nonmembers: int
    confidence: float
    delta: float


def score_summary(
    scores: np.ndarray,
    members: np.ndarray,
    *,
    confidence: float = 0.95,
    delta: float = 0.0,
) -> ScoreSummary:
    """ROC curve, AUC, advantage and epsilon bound of one attack's scores.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
    members : array-like of bool, shape (n_samples,)
    confidence : float, default=0.95
    delta : float, default=0.0
    """
    return summary_from_sorted(SortedScores.of(scores, members), confidence=confidence, delta=delta)


def summary_from_sorted(
    ss: SortedScores, *, confidence: float = 0.95, delta: float = 0.0
) -> ScoreSummary:
    """:func:`score_summary` of scores already sorted per class."""
    n_pos, n_neg = int(ss.members.size), int(ss.nonmembers.size)
    curve = roc_from_sorted(ss)
    if curve is None:
        nan = math.nan
        return ScoreSummary(None, nan, nan, nan, n_pos, n_neg, confidence, delta)
    return ScoreSummary(
        curve=curve,
        # trapezoid over the full ROC (no points dropped) is exactly roc_auc_score
        auc=float(np.trapezoid(curve.tpr, curve.fpr)),  # sklearn.metrics.auc's rule
        advantage=float(np.max(curve.tpr - curve.fpr)),
        epsilon_lb=epsilon_from_sorted(ss, confidence=confidence, delta=delta),
        n_members=n_pos,
        n_nonmembers=n_neg,
        confidence=confidence,
        delta=delta,
    )


def metrics_from_summary(base: ScoreSummary, fpr_targets: Sequence[float]) -> AttackMetrics:
    """:class:`AttackMetrics` at ``fpr_targets`` from a precomputed :class:`ScoreSummary`."""
    return AttackMetrics(
        auc=base.auc,
        tpr=tuple(tpr_at_fpr(base.curve, t, base.confidence) for t in fpr_targets),
        advantage=base.advantage,
        balanced_accuracy=0.5 + base.advantage / 2.0,
        epsilon_lb=base.epsilon_lb,
        n_members=base.n_members,
        n_nonmembers=base.n_nonmembers,
    )


def attack_metrics(
    scores: np.ndarray,
    members: np.ndarray,
    fpr_targets: Sequence[float],
    *,
    confidence: float = 0.95,
    delta: float = 0.0,
) -> AttackMetrics:
    """Every summary number for one attack's scores."""
    base = score_summary(scores, members, confidence=confidence, delta=delta)
    return metrics_from_summary(base, fpr_targets)


def fpr_label(target: float) -> str:
    """Column label for a TPR at ``target`` FPR, e.g. ``'TPR@0.1%FPR'``."""
    pct = f"{target * 100:.6g}"
    return f"TPR@{pct}%FPR"


def summary_columns(fpr_targets: Sequence[float]) -> list[str]:
    """Columns of a summary or slice table, in order."""
    return [
        AUC,
        *(fpr_label(t) for t in fpr_targets),
        ADVANTAGE,
        BALANCED_ACCURACY,
        EPSILON_LB,
        MEMBERS,
        NON_MEMBERS,
        NOTES,
    ]


def metrics_row(met: AttackMetrics) -> dict[str, object]:
    """One summary-table row: numbers (unresolvable TPR cells are NaN), and the notes
    of the TPR cells as one text cell (the typed notes are ``met.tpr[i].note``)."""
    notes = [f"{fpr_label(t.target)}: {t.note_text}" for t in met.tpr if t.note is not Note.NONE]
    return {
        AUC: met.auc,
        **{fpr_label(t.target): t.value for t in met.tpr},
        ADVANTAGE: met.advantage,
        BALANCED_ACCURACY: met.balanced_accuracy,
        EPSILON_LB: met.epsilon_lb,
        MEMBERS: met.n_members,
        NON_MEMBERS: met.n_nonmembers,
        NOTES: "; ".join(notes),
    }
