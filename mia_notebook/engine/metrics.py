"""Membership-inference metrics.

Conventions (used everywhere in the package): members are the positive class, and a
higher score means "more likely a member".

* ROC and AUC come from :mod:`sklearn.metrics`.
* TPR at a target FPR uses the largest threshold whose FPR does not exceed the target.
  Tied scores form one ROC point, so a tied group that would push the FPR past the
  target is never counted.
* The epsilon lower bound turns one-sided Clopper-Pearson intervals on (TPR, FPR) and
  (TNR, FNR) into a bound that holds with the stated confidence for any
  (epsilon, delta)-DP training algorithm, simultaneously over all candidate thresholds
  (union bound).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import auc as auc_from_curve
from sklearn.metrics import roc_curve

__all__ = [
    "AttackMetrics",
    "RocCurve",
    "ScoreSummary",
    "TprAtFpr",
    "attack_metrics",
    "clopper_pearson",
    "epsilon_lower_bound",
    "metrics_from_summary",
    "roc",
    "score_summary",
    "summarize",
    "tpr_at_fpr",
]

# Candidate thresholds for the epsilon bound: pooled-score quantiles at these tail
# fractions, in each tail. Chosen without looking at membership labels, so the union
# bound over them is valid.
_EPS_TAIL_POINTS = 24


@dataclass(frozen=True)
class RocCurve:
    """An ROC curve with one point per distinct score threshold."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    n_members: int
    n_nonmembers: int


@dataclass(frozen=True)
class TprAtFpr:
    """TPR at a target FPR, with what is needed to judge how precise it is.

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
    """

    target: float
    tpr: float
    achieved_fpr: float
    resolvable: bool
    coarse: bool

    @property
    def note(self) -> str:
        if not self.resolvable:
            need = math.ceil(1.0 / self.target - 1e-9)
            return f"needs ≥ {need:,} non-members"
        if self.coarse:
            return "coarse: ties"
        return ""


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


def _as_inputs(scores: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    m = np.asarray(members, dtype=bool).ravel()
    if s.shape != m.shape:
        raise ValueError(
            f"scores and members must have the same length. Got {s.shape[0]} and {m.shape[0]}."
        )
    if not np.all(np.isfinite(s)):
        # Map +-inf to finite extremes so the ranking is kept; NaN ranks lowest.
        finite = s[np.isfinite(s)]
        lo = finite.min() - 1.0 if finite.size else -1.0
        hi = finite.max() + 1.0 if finite.size else 1.0
        s = np.where(np.isnan(s), lo - 1.0, np.clip(s, lo, hi))
    return s, m


def roc(scores: np.ndarray, members: np.ndarray) -> RocCurve | None:
    """ROC curve of membership scores; ``None`` (with a warning) if a class is empty.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Membership scores, higher means more likely a member.
    members : array-like of bool, shape (n_samples,)
        True for training-set members.
    """
    s, m = _as_inputs(scores, members)
    n_pos, n_neg = int(m.sum()), int((~m).sum())
    if n_pos == 0 or n_neg == 0:
        warnings.warn(
            f"ROC is undefined with {n_pos} members and {n_neg} non-members; "
            "metrics are NaN. Provide records of both kinds.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return None
    fpr, tpr, thr = roc_curve(m, s, drop_intermediate=False)
    return RocCurve(fpr=fpr, tpr=tpr, thresholds=thr, n_members=n_pos, n_nonmembers=n_neg)


class UndefinedMetricWarning(UserWarning):
    """A metric could not be computed (e.g. no non-members in a slice)."""


def tpr_at_fpr(curve: RocCurve | None, target: float) -> TprAtFpr:
    """TPR at the largest threshold whose FPR does not exceed ``target``."""
    if curve is None:
        return TprAtFpr(target, math.nan, math.nan, False, False)
    idx = int(np.searchsorted(curve.fpr, target + 1e-12, side="right") - 1)
    idx = max(idx, 0)
    resolvable = curve.n_nonmembers * target >= 1.0 - 1e-9
    coarse = False
    if idx + 1 < curve.fpr.size:
        coarse = bool(curve.fpr[idx + 1] - curve.fpr[idx] > target + 1e-12)
    return TprAtFpr(
        target=target,
        tpr=float(curve.tpr[idx]),
        achieved_fpr=float(curve.fpr[idx]),
        resolvable=bool(resolvable),
        coarse=coarse,
    )


def clopper_pearson(
    k: np.ndarray | int, n: np.ndarray | int, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Clopper-Pearson bounds for a binomial proportion ``k / n``.

    Returns ``(lower, upper)``: each is a one-sided ``1 - alpha`` confidence bound
    (``lower`` is 0 where ``k == 0``, ``upper`` is 1 where ``k == n``).
    """
    k_arr = np.asarray(k, dtype=np.float64)
    n_arr = np.asarray(n, dtype=np.float64) * np.ones_like(k_arr)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(k_arr > 0, stats.beta.ppf(alpha, k_arr, n_arr - k_arr + 1), 0.0)
        upper = np.where(k_arr < n_arr, stats.beta.ppf(1 - alpha, k_arr + 1, n_arr - k_arr), 1.0)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def _candidate_thresholds(s: np.ndarray) -> np.ndarray:
    """Label-independent thresholds: pooled-score quantiles, dense in both tails."""
    n = s.size
    tail = np.unique(np.geomspace(1.0 / n, 0.5, _EPS_TAIL_POINTS))
    qs = np.unique(np.concatenate([tail, 1.0 - tail]))
    return np.unique(np.quantile(s, qs, method="inverted_cdf"))


def epsilon_lower_bound(
    scores: np.ndarray,
    members: np.ndarray,
    *,
    confidence: float = 0.95,
    delta: float = 0.0,
) -> float:
    """Empirical lower bound on the epsilon of (epsilon, delta)-DP.

    For each candidate threshold ``t`` (predict "member" when ``score >= t``), DP
    implies ``TPR <= e^eps * FPR + delta`` and ``TNR <= e^eps * FNR + delta``. Using a
    lower confidence bound for the numerator rate and an upper one for the
    denominator rate gives a bound on epsilon. All intervals hold simultaneously with
    probability ``confidence`` (Bonferroni over every interval used), so the result is
    a lower bound at that confidence. Returns 0.0 when no threshold gives evidence, NaN
    when a class is empty.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
    members : array-like of bool, shape (n_samples,)
    confidence : float, default=0.95
    delta : float, default=0.0
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"The 'confidence' parameter must be in (0, 1). Got {confidence} instead.")
    s, m = _as_inputs(scores, members)
    n_pos, n_neg = int(m.sum()), int((~m).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    thr = _candidate_thresholds(s)
    pos_sorted = np.sort(s[m])
    neg_sorted = np.sort(s[~m])
    tp = n_pos - np.searchsorted(pos_sorted, thr, side="left")
    fp = n_neg - np.searchsorted(neg_sorted, thr, side="left")
    fn, tn = n_pos - tp, n_neg - fp
    # 4 one-sided intervals per threshold: TPR lo, FPR hi, TNR lo, FNR hi.
    alpha = (1.0 - confidence) / (4 * thr.size)
    tpr_lo, _ = clopper_pearson(tp, n_pos, alpha)
    _, fpr_hi = clopper_pearson(fp, n_neg, alpha)
    tnr_lo, _ = clopper_pearson(tn, n_neg, alpha)
    _, fnr_hi = clopper_pearson(fn, n_pos, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        e1 = np.log(np.clip(tpr_lo - delta, 0.0, None) / fpr_hi)
        e2 = np.log(np.clip(tnr_lo - delta, 0.0, None) / fnr_hi)
    best = np.nanmax(np.concatenate([e1, e2, [0.0]]))
    return float(max(best, 0.0))


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
    s, m = _as_inputs(scores, members)
    n_pos, n_neg = int(m.sum()), int((~m).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        curve = roc(s, m)
    if curve is None:
        nan = math.nan
        return ScoreSummary(None, nan, nan, nan, n_pos, n_neg, confidence, delta)
    return ScoreSummary(
        curve=curve,
        # trapezoid over the full ROC (no points dropped) is exactly roc_auc_score
        auc=float(auc_from_curve(curve.fpr, curve.tpr)),
        advantage=float(np.max(curve.tpr - curve.fpr)),
        epsilon_lb=epsilon_lower_bound(s, m, confidence=confidence, delta=delta),
        n_members=n_pos,
        n_nonmembers=n_neg,
        confidence=confidence,
        delta=delta,
    )


def metrics_from_summary(base: ScoreSummary, fpr_targets: Sequence[float]) -> AttackMetrics:
    """:class:`AttackMetrics` at ``fpr_targets`` from a precomputed :class:`ScoreSummary`."""
    return AttackMetrics(
        auc=base.auc,
        tpr=tuple(tpr_at_fpr(base.curve, t) for t in fpr_targets),
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


def metrics_row(met: AttackMetrics) -> dict[str, object]:
    """One summary-table row (numbers; unresolvable TPR cells are NaN)."""
    row: dict[str, object] = {"AUC": met.auc}
    notes = []
    for t in met.tpr:
        row[fpr_label(t.target)] = t.tpr if t.resolvable else math.nan
        if t.note:
            notes.append(f"{fpr_label(t.target)}: {t.note}")
    row.update(
        {
            "advantage": met.advantage,
            "balanced_accuracy": met.balanced_accuracy,
            "epsilon_lb": met.epsilon_lb,
            "members": met.n_members,
            "non_members": met.n_nonmembers,
            "notes": "; ".join(notes),
        }
    )
    return row


def summarize(
    scores: pd.DataFrame,
    members: np.ndarray,
    fpr_targets: Sequence[float],
    *,
    confidence: float = 0.95,
    delta: float = 0.0,
) -> pd.DataFrame:
    """Summary table, one row per attack (a column of ``scores``)."""
    rows = {
        name: metrics_row(
            attack_metrics(scores[name].to_numpy(), members, fpr_targets,
                           confidence=confidence, delta=delta)
        )
        for name in scores.columns
    }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "attack"
    return out
