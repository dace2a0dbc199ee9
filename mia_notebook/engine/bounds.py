"""Confidence bounds: Clopper-Pearson intervals and the epsilon lower bound of DP.

The epsilon lower bound turns one-sided Clopper-Pearson intervals on (TPR, FPR) and
(TNR, FNR) into a bound that holds with the stated confidence for any
(epsilon, delta)-DP training algorithm, simultaneously over all candidate thresholds
(union bound). Members are the positive class; higher scores = more likely a member.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .sorted_scores import SortedScores
from .validators import validate_confidence

__all__ = [
    "candidate_thresholds",
    "clopper_pearson",
    "epsilon_from_sorted",
    "epsilon_lower_bound",
]

# Candidate thresholds for the epsilon bound: pooled-score quantiles at these tail
# fractions, in each tail. Chosen without looking at membership labels, so the union
# bound over them is valid.
_EPS_TAIL_POINTS = 24


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


def _tail_fractions(n: int) -> np.ndarray:
    tail = np.unique(np.geomspace(1.0 / n, 0.5, _EPS_TAIL_POINTS))
    return np.unique(np.concatenate([tail, 1.0 - tail]))


def candidate_thresholds(s: np.ndarray, *, is_sorted: bool = False) -> np.ndarray:
    """Label-independent thresholds: pooled-score quantiles, dense in both tails.

    The quantiles are numpy's ``method="inverted_cdf"``; on ascending ``s``
    (``is_sorted=True``) they are read off by index instead of selected again.
    """
    n = s.size
    qs = _tail_fractions(n)
    if not is_sorted:
        return np.unique(np.quantile(s, qs, method="inverted_cdf"))
    index = n * qs - 1.0  # numpy's inverted_cdf: the next order statistic unless exact
    below = np.floor(index)
    pick = np.where(index - below == 0, below, below + 1).astype(np.intp)
    return np.unique(s[np.clip(pick, 0, n - 1)])


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
    confidence = validate_confidence(confidence)
    return epsilon_from_sorted(SortedScores.of(scores, members), confidence=confidence, delta=delta)


def epsilon_from_sorted(ss: SortedScores, *, confidence: float = 0.95, delta: float = 0.0) -> float:
    """:func:`epsilon_lower_bound` on scores already sorted per class."""
    confidence = validate_confidence(confidence)
    n_pos, n_neg = ss.members.size, ss.nonmembers.size
    if n_pos == 0 or n_neg == 0:
        return math.nan
    thr = candidate_thresholds(ss.pooled, is_sorted=True)
    tp = n_pos - np.searchsorted(ss.members, thr, side="left")
    fp = n_neg - np.searchsorted(ss.nonmembers, thr, side="left")
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
