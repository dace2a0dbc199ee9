"""The statistics behind the verdict: one family of tests, one attack's evidence.

Members are the positive class; a higher score means "more likely a member". Records
are sorted once per attack and tie groups are never split, so every figure depends on
the scores alone, not on the records' order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import special

from ..sorted_scores import SortedScores, finite_scores
from .one_run import (
    GuessCounts,
    counts_from_sorted,
    one_run_epsilon,
    one_run_p_value,
)
from .policy import LEVELS, Policy

__all__ = ["AttackEvidence", "Family", "TprPoint", "gather_evidence", "identify"]

# Abstention settings of the one-run bound, as shares of all records guessed: only the
# most member-like ("top"), or both tails in proportion to the members' share ("both").
_TOP_SHARES = (0.002, 0.01, 0.03, 0.1, 0.3)
_BOTH_SHARES = (0.01, 0.03, 0.1, 0.3, 1.0)


def _guess_settings(n: int, prior: float) -> tuple[tuple[int, int], ...]:
    settings = [(round(q * n), 0) for q in _TOP_SHARES]
    for q in _BOTH_SHARES:
        r = round(q * n)
        settings.append((round(prior * r), r - round(prior * r)))
    return tuple(sorted({s for s in settings if sum(s) > 0}))


@dataclass(frozen=True)
class Family:
    """Every test the verdict compares, and the error budget each one gets.

    Half of ``1 - confidence`` goes to the TPR tests (attacks × resolvable FPR targets),
    half to the epsilon bounds (attacks × abstention settings), each split evenly
    (Bonferroni). When no FPR target is resolvable, the TPR tests use the largest one
    (no non-member may be accused) and the split is the same.
    """

    fpr: tuple[float, ...]
    resolvable: bool
    n_attacks: int
    settings: tuple[tuple[int, int], ...]
    confidence: float
    delta: float
    n_members: int
    n_nonmembers: int

    @classmethod
    def of(cls, *, n_attacks: int, members: np.ndarray, policy: Policy) -> Family:
        n_pos = int(members.sum())
        n_neg = int(members.size - n_pos)
        resolvable = tuple(f for f in policy.fpr if n_neg * f >= 1.0 - 1e-9)
        prior = n_pos / members.size if members.size else 0.5
        return cls(
            fpr=resolvable or (policy.fpr[-1],),
            resolvable=bool(resolvable),
            n_attacks=n_attacks,
            settings=_guess_settings(members.size, prior) if 0 < n_pos < members.size else (),
            confidence=policy.confidence,
            delta=policy.delta,
            n_members=n_pos,
            n_nonmembers=n_neg,
        )

    @property
    def prior(self) -> float:
        return self.n_members / (self.n_members + self.n_nonmembers)

    @property
    def alpha_tpr(self) -> float:
        return (1.0 - self.confidence) / 2.0 / (self.n_attacks * len(self.fpr))

    @property
    def alpha_epsilon(self) -> float:
        return (1.0 - self.confidence) / 2.0 / (self.n_attacks * max(len(self.settings), 1))

    def to_dict(self) -> dict[str, Any]:
        return {
            "confidence": self.confidence,
            "fpr_compared": list(self.fpr),
            "fpr_resolvable": self.resolvable,
            "attacks_compared": self.n_attacks,
            "abstention_settings": len(self.settings),
            "tests": self.n_attacks * (len(self.fpr) + len(self.settings)),
            "alpha_per_tpr_test": self.alpha_tpr,
            "alpha_per_epsilon_test": self.alpha_epsilon,
            "members": self.n_members,
            "non_members": self.n_nonmembers,
            "delta": self.delta,
        }


@dataclass(frozen=True)
class TprPoint:
    """An attacker's record at one FPR target.

    ``tp`` members and ``fp`` non-members score strictly above ``threshold``, the
    ``allowed_fp + 1``-th highest non-member score, so ``fp <= allowed_fp =
    floor(fpr * non-members)`` and no tie group is split.
    ``p_value`` is exact under "scores do not depend on membership" (members a random
    subset of the records); ``tpr_lower`` is a one-sided Clopper-Pearson bound.
    Reference attacks' scores also depend on which reference models a record was IN
    for (its pattern), so they are exchangeable only within a pattern. The split gives
    members and non-members the same mix of patterns
    (``references.population.in_out_mask``), so no pattern effect can favour either
    side; the test is then not exact for those attacks, and ``bench/false_alarms.py``
    measures its p-values super-uniform on membership-independent models.
    """

    fpr: float
    allowed_fp: int
    tp: int
    fp: int
    tpr: float
    tpr_lower: float
    p_value: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (v if math.isfinite(v) else None) if isinstance(v, float) else v
            for k, v in self.__dict__.items()
        }


@dataclass(frozen=True)
class AttackEvidence:
    """One attack's tests: a :class:`TprPoint` per FPR target, its best epsilon bound."""

    name: str
    points: tuple[TprPoint, ...]
    epsilon: float
    guesses: GuessCounts | None
    alpha_tpr: float

    def _point_level(self, p: TprPoint, policy: Policy) -> int:
        if p.tpr_lower >= policy.tpr_high:
            return 3
        if p.tpr_lower >= policy.tpr_elevated:
            return 2
        return 1 if p.p_value <= self.alpha_tpr else 0

    def _epsilon_level(self, policy: Policy) -> int:
        if self.epsilon >= policy.epsilon_high:
            return 3
        if self.epsilon >= policy.epsilon_elevated:
            return 2
        return 1 if self.epsilon > 0.0 else 0

    def level(self, policy: Policy) -> str:
        """The highest level this attack's evidence supports."""
        best = max(
            [self._epsilon_level(policy)] + [self._point_level(p, policy) for p in self.points]
        )
        return LEVELS[best]

    def verdict_point(self, policy: Policy) -> TprPoint:
        """The FPR target with the strongest claim, then the largest TPR-to-FPR lift."""
        return max(
            self.points, key=lambda p: (self._point_level(p, policy), p.tpr_lower / p.fpr, -p.fpr)
        )

    def best_lift(self, policy: Policy) -> float:
        p = self.verdict_point(policy)
        return p.tpr_lower / p.fpr

    def to_dict(self) -> dict[str, Any]:
        return {
            "points": [p.to_dict() for p in self.points],
            "epsilon_lb": self.epsilon,
            "guesses": None if self.guesses is None else self.guesses.__dict__.copy(),
        }


def _log_choose(n: float, k: np.ndarray) -> np.ndarray:
    out: np.ndarray = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return out


def _hypergeom_cdf(k: int, total: int, good: int, draws: int) -> float:
    """P[X <= k] for X ~ Hypergeometric(total, good, draws) (scipy.stats.hypergeom.cdf,
    without its per-call overhead: the pmf terms in log space, summed)."""
    lo = max(0, draws - (total - good))
    if k < lo:
        return 0.0
    j = np.arange(lo, min(k, draws, good) + 1, dtype=np.float64)
    log_pmf = (
        _log_choose(good, j)
        + _log_choose(total - good, draws - j)
        - _log_choose(total, np.array(draws))
    )
    top = float(log_pmf.max())  # log-sum-exp, shifted by the largest term
    return min(math.exp(top) * float(np.exp(log_pmf - top).sum()), 1.0)


def _tpr_point(ss: SortedScores, fpr: float, family: Family) -> TprPoint:
    n_pos, n_neg = family.n_members, family.n_nonmembers
    allowed = math.floor(fpr * n_neg + 1e-9)
    # Flag what scores above the (allowed+1)-th highest non-member: whole tie groups only.
    above = float(ss.nonmembers[n_neg - 1 - allowed]) if allowed < n_neg else -math.inf
    tp = ss.above(ss.members, above, strict=True)
    fp = ss.above(ss.nonmembers, above, strict=True)
    # At most `allowed` non-members among the top tp + allowed records, by chance alone.
    p_value = _hypergeom_cdf(allowed, n_pos + n_neg, n_neg, tp + allowed) if tp > 0 else 1.0
    alpha = family.alpha_tpr
    # one-sided Clopper-Pearson: the alpha-quantile of Beta(tp, n_pos - tp + 1)
    lower = float(special.betaincinv(tp, n_pos - tp + 1, alpha)) if tp > 0 else 0.0
    return TprPoint(fpr, allowed, tp, fp, tp / n_pos, lower, p_value, above)


@lru_cache(maxsize=4096)
def _epsilon(counts: GuessCounts, alpha: float, prior: float, delta: float, m: int) -> float:
    return one_run_epsilon(counts, alpha=alpha, prior=prior, delta=delta, m=m)


def gather_evidence(
    name: str,
    scores: np.ndarray,
    members: np.ndarray,
    family: Family,
    *,
    sorted_scores: SortedScores | None = None,
) -> AttackEvidence:
    """Every test of ``family`` on one attack's scores (NaN scores count as lowest).

    ``sorted_scores``, when given, must be ``SortedScores.of(scores, members)`` (a
    caller that already sorted them saves the sort).
    """
    ss = SortedScores.of(scores, members) if sorted_scores is None else sorted_scores
    points = tuple(_tpr_point(ss, f, family) for f in family.fpr)
    best_eps, best_counts = 0.0, None
    alpha, n = family.alpha_epsilon, int(members.size)
    for k_plus, k_minus in family.settings:
        counts = counts_from_sorted(ss, k_plus=k_plus, k_minus=k_minus)
        if (
            best_eps > 0.0
            and one_run_p_value(counts, best_eps, prior=family.prior, delta=family.delta, m=n)
            >= alpha
        ):
            continue  # cannot beat the best bound so far: skip the root finding
        eps = _epsilon(counts, alpha, family.prior, family.delta, n)
        if eps > best_eps:
            best_eps, best_counts = eps, counts
    return AttackEvidence(name, points, best_eps, best_counts, family.alpha_tpr)


def identify(
    scores: np.ndarray, members: np.ndarray, threshold: float, max_flag: int | None
) -> tuple[np.ndarray, int]:
    """Members scoring above ``threshold``: (positions, most member-like first; count).

    At most ``max_flag`` positions are returned; among tied scores the earlier record
    comes first. The count is of all such members.
    """
    s = finite_scores(scores)  # the cleaning SortedScores (and so the threshold) used
    hit = np.flatnonzero(members & (s > threshold))
    hit = hit[np.argsort(-s[hit], kind="stable")]
    return (hit if max_flag is None else hit[:max_flag]).astype(np.intp), int(hit.size)
