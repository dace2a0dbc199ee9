"""An epsilon lower bound that holds for one training run (Steinke, Nasr & Jagielski 2023).

The audit sees one trained model. Its members are, we assume, a random subset of the
records: each record was included independently with probability ``prior`` (the
members' share). The auditor guesses "member" for the ``k_plus`` most member-like
records, "non-member" for the ``k_minus`` least member-like ones, and abstains on the
rest. If training is (epsilon, delta)-DP, the number ``v`` of correct guesses among the
``r = k_plus + k_minus`` is stochastically dominated by a sum of Bernoulli variables
whose success probability is the accuracy of epsilon-randomized response (Theorem 3.1
of "Privacy auditing with one (1) training run", NeurIPS 2023):

    P[W >= v] <= f(v) + 2 m delta max_{i=1..v} (f(v - i) - f(v)) / i,
    f(v) = P[Binomial(r, e^eps / (1 + e^eps)) >= v].

With ``prior = 1/2`` this is the paper's statement. With another prior the accuracy of a
"member" guess is bounded by ``prior e^eps / (prior e^eps + 1 - prior)`` and of a
"non-member" guess by ``(1 - prior) e^eps / ((1 - prior) e^eps + prior)`` (DP bounds
the posterior odds by e^eps times the prior odds), so ``f`` becomes the tail of the sum
of two binomials; it reduces to the paper's ``f`` at ``prior = 1/2``.

The lower bound is the epsilon at which the observed ``v`` has p-value ``alpha``: any
smaller epsilon is rejected at confidence ``1 - alpha``.

Conventions: a higher score means "more likely a member". Tied scores are never split
between guessing and abstaining (a tie group is guessed whole or not at all), so the
guesses depend on the scores only, never on the records' order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal, special

from ..sorted_scores import SortedScores

__all__ = [
    "GuessCounts",
    "SortedScores",
    "counts_from_sorted",
    "guess_counts",
    "one_run_epsilon",
    "one_run_p_value",
]

# Root-finding tolerance on epsilon; the bound returned is the root minus this, so it
# stays a lower bound.
_XTOL = 1e-4
_EPS_MAX = 60.0


@dataclass(frozen=True)
class GuessCounts:
    """The outcome of one abstaining guesser.

    Attributes
    ----------
    k_plus, k_minus : int
        Records guessed "member" (top scores) and "non-member" (bottom scores).
    correct_plus, correct_minus : int
        How many of those guesses were right.
    """

    k_plus: int
    k_minus: int
    correct_plus: int
    correct_minus: int

    @property
    def guesses(self) -> int:
        return self.k_plus + self.k_minus

    @property
    def correct(self) -> int:
        return self.correct_plus + self.correct_minus


def guess_counts(
    scores: np.ndarray, members: np.ndarray, *, k_plus: int, k_minus: int
) -> GuessCounts:
    """Guess "member" on the top ``k_plus`` scores and "non-member" on the bottom ``k_minus``.

    Tie groups that straddle a cut are left out whole, so the counts may be smaller
    than asked for; ``k_plus + k_minus`` must not exceed the number of records.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        Membership scores (higher = more likely a member); NaN counts as lowest.
    members : ndarray of bool, shape (n_samples,)
    k_plus, k_minus : int
        Guesses asked for in each tail.
    """
    return counts_from_sorted(SortedScores.of(scores, members), k_plus=k_plus, k_minus=k_minus)


def counts_from_sorted(ss: SortedScores, *, k_plus: int, k_minus: int) -> GuessCounts:
    """:func:`guess_counts` on scores already sorted by :class:`SortedScores`."""
    n = ss.size
    if k_plus < 0 or k_minus < 0 or k_plus + k_minus > n:
        raise ValueError(
            f"k_plus and k_minus must be >= 0 with a sum of at most {n}. "
            f"Got {k_plus} and {k_minus} instead."
        )
    n_plus, correct_plus = ss.top(k_plus)
    n_minus, correct_minus = ss.bottom(k_minus)
    return GuessCounts(n_plus, n_minus, correct_plus, correct_minus)


def _accuracies(eps: float, prior: float) -> tuple[float, float]:
    """Largest accuracy of a "member" and of a "non-member" guess under eps-DP."""
    odds = math.exp(min(eps, _EPS_MAX))
    q_plus = prior * odds / (prior * odds + 1.0 - prior)
    q_minus = (1.0 - prior) * odds / ((1.0 - prior) * odds + prior)
    return q_plus, q_minus


def _binom_window(k: int, q: float) -> tuple[int, np.ndarray]:
    """(first index, pmf) of Binomial(k, q) on mean ± (12 sd + 40).

    Bernstein's inequality puts less than ~1e-25 of the mass outside that window, far
    below any alpha the audit uses.
    """
    if k == 0:
        return 0, np.ones(1)
    mean, sd = k * q, math.sqrt(k * q * (1.0 - q))
    lo = max(int(mean - 12.0 * sd - 40.0), 0)
    hi = min(int(mean + 12.0 * sd + 40.0) + 1, k)
    j = np.arange(lo, hi + 1, dtype=np.float64)
    log_pmf = (
        special.gammaln(k + 1.0)
        - special.gammaln(j + 1.0)
        - special.gammaln(k - j + 1.0)
        + special.xlogy(j, q)
        + special.xlog1py(k - j, -q)
    )
    return lo, np.exp(log_pmf)


def _correct_pmf(k_plus: int, k_minus: int, eps: float, prior: float) -> tuple[int, np.ndarray]:
    """(first index, pmf) of the dominating count of correct guesses."""
    q_plus, q_minus = _accuracies(eps, prior)
    lo_p, pmf_p = _binom_window(k_plus, q_plus)
    lo_m, pmf_m = _binom_window(k_minus, q_minus)
    if min(pmf_p.size, pmf_m.size) > 512:
        pmf = np.clip(signal.fftconvolve(pmf_p, pmf_m), 0.0, None)
    else:
        pmf = np.convolve(pmf_p, pmf_m)
    return lo_p + lo_m, pmf


def _tail(k_plus: int, k_minus: int, v: int, q_plus: float, q_minus: float) -> float:
    """P[Binomial(k_plus, q_plus) + Binomial(k_minus, q_minus) >= v] (v >= 1)."""
    if q_plus == q_minus:  # one binomial (prior 1/2): no convolution needed
        k_plus, k_minus = k_plus + k_minus, 0
    if k_plus < k_minus:  # sum over the shorter window
        k_plus, k_minus, q_plus, q_minus = k_minus, k_plus, q_minus, q_plus
    if k_minus == 0:
        return float(special.bdtrc(v - 1, k_plus, q_plus)) if v <= k_plus else 0.0
    lo, pmf = _binom_window(k_minus, q_minus)
    need = v - np.arange(lo, lo + pmf.size)  # the other binomial must reach this
    sf = special.bdtrc(np.clip(need - 1, 0, k_plus), k_plus, q_plus)  # P[other >= need]
    sf = np.where(need <= 0, 1.0, np.where(need > k_plus, 0.0, sf))
    return min(float(pmf @ sf), 1.0)


def one_run_p_value(
    counts: GuessCounts, eps: float, *, prior: float = 0.5, delta: float = 0.0, m: int
) -> float:
    """Probability of at least ``counts.correct`` correct guesses under (eps, delta)-DP.

    Parameters
    ----------
    counts : GuessCounts
    eps : float
        The epsilon of the null hypothesis (>= 0).
    prior : float, default=0.5
        Probability that a record is a member.
    delta : float, default=0.0
    m : int
        Number of records that could have been members (the ``m`` of the theorem).
    """
    v = counts.correct
    if v == 0:
        return 1.0
    if delta == 0.0:
        return _tail(counts.k_plus, counts.k_minus, v, *_accuracies(eps, prior))
    lo, pmf = _correct_pmf(counts.k_plus, counts.k_minus, eps, prior)
    # cdf[j] = P[W < lo + j]
    cdf = np.concatenate([[0.0], np.cumsum(pmf)])

    def below(x: np.ndarray) -> np.ndarray:  # P[W < x]
        out: np.ndarray = cdf[np.clip(x - lo, 0, pmf.size)]
        return out

    tail = float(pmf[max(v - lo, 0) :].sum())  # P[W >= v], summed: no cancellation
    if delta > 0.0:
        i = np.arange(1, max(v - lo, 1) + 1)
        gap = below(np.array([v]))[0] - below(v - i)
        tail += 2.0 * m * delta * float(np.max(gap / i))
    return min(tail, 1.0)


def one_run_epsilon(
    counts: GuessCounts, *, alpha: float, prior: float = 0.5, delta: float = 0.0, m: int
) -> float:
    """Lower bound on epsilon at confidence ``1 - alpha`` from one run's guesses.

    Returns 0.0 when the guesses are no better than chance at that confidence.

    Parameters
    ----------
    counts : GuessCounts
    alpha : float
        1 - confidence, in (0, 1).
    prior : float, default=0.5
        Probability that a record is a member, in (0, 1).
    delta : float, default=0.0
    m : int
        Number of records that could have been members.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"The 'alpha' parameter must be in (0, 1). Got {alpha} instead.")
    if not 0.0 < prior < 1.0:
        raise ValueError(f"The 'prior' parameter must be in (0, 1). Got {prior} instead.")

    def excess(eps: float) -> float:
        return one_run_p_value(counts, eps, prior=prior, delta=delta, m=m) - alpha

    chance = counts.k_plus * prior + counts.k_minus * (1.0 - prior)
    if counts.correct <= chance or excess(0.0) >= 0.0:
        return 0.0  # no better than chance (0 is always a valid lower bound)
    hi = 1.0
    while excess(hi) < 0.0:
        if hi >= _EPS_MAX:
            return _EPS_MAX
        hi = min(hi * 2.0, _EPS_MAX)
    root = float(optimize.brentq(excess, 0.0, hi, xtol=_XTOL))
    return max(root - _XTOL, 0.0)
