"""Statistics behind the verdict: the one-run epsilon bound and the exact TPR tests.

Checked against slow reference implementations written from the papers' formulas
(loops over exact binomial terms), against sklearn's ROC, against full enumeration of
membership assignments, and against randomized response of known epsilon.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_curve

from mia_notebook.engine.references import in_out_mask
from mia_notebook.engine.verdict import Policy
from mia_notebook.engine.verdict.evidence import Family, gather_evidence
from mia_notebook.engine.verdict.one_run import (
    GuessCounts,
    guess_counts,
    one_run_epsilon,
    one_run_p_value,
)

# ----------------------------------------------------------------- slow references


def slow_p_value(
    k_plus: int, k_minus: int, v: int, eps: float, prior: float, delta: float, m: int
) -> float:
    """Theorem 3.1 of Steinke, Nasr & Jagielski (2023), term by term with exact integers.

    The count of correct guesses is the sum of Binomial(k_plus, q+) and
    Binomial(k_minus, q-) (q+ = q- = e^eps / (1 + e^eps) at prior 1/2).
    """
    e = math.exp(eps)
    q_p = prior * e / (prior * e + 1 - prior)
    q_m = (1 - prior) * e / ((1 - prior) * e + prior)

    def pmf(k: int, q: float, j: int) -> float:
        return math.comb(k, j) * q**j * (1 - q) ** (k - j) if 0 <= j <= k else 0.0

    dist = [
        sum(pmf(k_plus, q_p, a) * pmf(k_minus, q_m, w - a) for a in range(w + 1))
        for w in range(k_plus + k_minus + 1)
    ]
    tail = sum(dist[v:])
    if delta == 0:
        return min(tail, 1.0)
    worst = max(sum(dist[v - i : v]) / i for i in range(1, v + 1))
    return min(tail + 2 * m * delta * worst, 1.0)


def slow_epsilon(counts: GuessCounts, alpha: float, prior: float, delta: float, m: int) -> float:
    """Bisection on :func:`slow_p_value` (60 halvings)."""

    def p(eps: float) -> float:
        return slow_p_value(counts.k_plus, counts.k_minus, counts.correct, eps, prior, delta, m)

    if p(0.0) >= alpha:
        return 0.0
    lo, hi = 0.0, 1.0
    while p(hi) < alpha:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if p(mid) < alpha else (lo, mid)
    return lo


def slow_guess_counts(
    scores: np.ndarray, members: np.ndarray, k_plus: int, k_minus: int
) -> GuessCounts:
    """Walk the records in score order; a tie group is taken whole or not at all."""
    groups = sorted({float(s) for s in scores})
    top_n = top_ok = bot_n = bot_ok = 0
    for g in reversed(groups):
        idx = [i for i in range(len(scores)) if scores[i] == g]
        if top_n + len(idx) > k_plus:
            break
        top_n += len(idx)
        top_ok += sum(bool(members[i]) for i in idx)
    for g in groups:
        idx = [i for i in range(len(scores)) if scores[i] == g]
        if bot_n + len(idx) > k_minus:
            break
        bot_n += len(idx)
        bot_ok += sum(not members[i] for i in idx)
    return GuessCounts(top_n, bot_n, top_ok, bot_ok)


# ------------------------------------------------------------------ one-run bound


@pytest.mark.parametrize("prior", [0.5, 0.3])
@pytest.mark.parametrize("delta", [0.0, 1e-4])
def test_one_run_matches_slow_reference(prior: float, delta: float) -> None:
    rng = np.random.default_rng(1)
    for _ in range(6):
        k_plus, k_minus = int(rng.integers(0, 40)), int(rng.integers(1, 40))
        r = k_plus + k_minus
        v = int(rng.integers(r // 2, r + 1))
        c_plus = min(v, k_plus)
        counts = GuessCounts(k_plus, k_minus, c_plus, v - c_plus)
        for eps in (0.0, 0.7, 2.5):
            fast = one_run_p_value(counts, eps, prior=prior, delta=delta, m=200)
            slow = slow_p_value(k_plus, k_minus, v, eps, prior, delta, 200)
            assert fast == pytest.approx(slow, rel=1e-9, abs=1e-15)
        fast_eps = one_run_epsilon(counts, alpha=0.05, prior=prior, delta=delta, m=200)
        slow_eps = slow_epsilon(counts, 0.05, prior, delta, 200)
        assert fast_eps <= slow_eps + 1e-9  # never above the exact root
        assert fast_eps == pytest.approx(slow_eps, abs=3e-4)


def test_one_run_equals_clopper_pearson_at_even_prior() -> None:
    """At prior 1/2 and delta 0 the bound is logit of the Clopper-Pearson lower bound."""
    for r, v, alpha in [(50, 45, 0.05), (400, 260, 0.01), (3000, 1700, 1e-4)]:
        counts = GuessCounts(r // 2, r - r // 2, v // 2, v - v // 2)
        q = stats.beta.ppf(alpha, v, r - v + 1)
        expected = math.log(q / (1 - q))
        assert one_run_epsilon(counts, alpha=alpha, m=r) == pytest.approx(expected, abs=2e-4)


def test_guess_counts_keep_ties_whole_and_match_slow_reference() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        n = int(rng.integers(5, 40))
        scores = rng.integers(0, 6, size=n).astype(float)  # many ties
        members = rng.random(n) < 0.5
        k_plus = int(rng.integers(0, n + 1))
        k_minus = int(rng.integers(0, n - k_plus + 1))
        got = guess_counts(scores, members, k_plus=k_plus, k_minus=k_minus)
        assert got == slow_guess_counts(scores, members, k_plus, k_minus)
    with pytest.raises(ValueError, match="k_plus and k_minus"):
        guess_counts(np.zeros(3), np.ones(3, bool), k_plus=2, k_minus=2)


@pytest.mark.parametrize("prior", [0.5, 0.75])
def test_one_run_bound_never_exceeds_true_epsilon_of_randomized_response(prior: float) -> None:
    """epsilon-randomized response on the membership bit: exceedances at most ~alpha."""
    eps_true, n, trials, alpha = 1.0, 2000, 400, 0.05
    keep = math.exp(eps_true) / (1 + math.exp(eps_true))
    rng = np.random.default_rng(11)
    bounds = []
    for _ in range(trials):
        members = rng.random(n) < prior  # each record a member independently
        bit = np.where(rng.random(n) < keep, members, ~members)
        counts = guess_counts(
            bit.astype(float), members, k_plus=int(bit.sum()), k_minus=int(n - bit.sum())
        )
        bounds.append(one_run_epsilon(counts, alpha=alpha, prior=prior, m=n))
    bounds_arr = np.array(bounds)
    exceed = int((bounds_arr > eps_true).sum())
    # Binomial(400, 0.05): mean 20, sd 4.4; a bound that is not a bound exceeds ~50%.
    assert exceed <= 35, exceed
    assert np.median(bounds_arr) > 0.6 * eps_true  # and the bound is not vacuous


def test_one_run_bound_is_zero_at_chance() -> None:
    rng = np.random.default_rng(5)
    zeros = 0
    for _ in range(100):
        members = rng.random(1000) < 0.5
        scores = rng.normal(size=1000)
        family = Family.of(n_attacks=1, members=members, policy=Policy())
        zeros += gather_evidence("x", scores, members, family).epsilon == 0.0
    assert zeros >= 95


# ------------------------------------------------------------------ TPR evidence


def test_tpr_points_agree_with_sklearn_roc() -> None:
    rng = np.random.default_rng(8)
    n = 3000
    members = rng.random(n) < 0.4
    scores = np.round(rng.normal(size=n) + members * 0.8, 1)  # ties on purpose
    policy = Policy(fpr=(0.001, 0.01, 0.05), tpr_elevated=0.1, tpr_high=0.3)
    family = Family.of(n_attacks=1, members=members, policy=policy)
    ev = gather_evidence("x", scores, members, family)
    fpr, tpr, _ = roc_curve(members, scores, drop_intermediate=False)
    n_neg = int((~members).sum())
    for point in ev.points:
        i = int(np.searchsorted(fpr, point.allowed_fp / n_neg + 1e-12, side="right") - 1)
        assert point.tpr == pytest.approx(tpr[i])
        assert point.fp <= point.allowed_fp == math.floor(point.fpr * n_neg + 1e-9)
        lo = stats.beta.ppf(family.alpha_tpr, point.tp, members.sum() - point.tp + 1)
        assert point.tpr_lower == pytest.approx(lo)


def test_tpr_p_value_is_exact_by_enumeration() -> None:
    """Enumerate every membership assignment of 6 of 12 records with distinct scores."""
    scores = np.arange(12, dtype=float)
    observed = np.zeros(12, bool)
    observed[[11, 10, 9, 7, 3, 0]] = True
    policy = Policy(fpr=(0.2,), tpr_elevated=0.5, tpr_high=0.6)
    family = Family.of(n_attacks=1, members=observed, policy=policy)
    point = gather_evidence("x", scores, observed, family).points[0]
    at_least = total = 0
    for subset in itertools.combinations(range(12), 6):
        m = np.zeros(12, bool)
        m[list(subset)] = True
        total += 1
        at_least += gather_evidence("x", scores, m, family).points[0].tp >= point.tp
    assert point.p_value == pytest.approx(at_least / total)


# ------------------------------------------------------------------ the null's design


@pytest.mark.parametrize("n_refs", [1, 2, 3, 4, 5, 16])
def test_reference_split_is_balanced_within_members_non_members_and_extra_rows(
    n_refs: int,
) -> None:
    """Every reference model trains on half of each block (up to one row), and when a
    block has room for every IN/OUT pattern, each is used about equally often: so
    members and non-members get the same mix of patterns (the exact tests' null)."""
    blocks = (700, 301, 55)
    mask = in_out_mask(sum(blocks), n_refs, 7, blocks=blocks)
    np.testing.assert_array_equal(mask, in_out_mask(sum(blocks), n_refs, 7, blocks=blocks))
    assert set(mask.sum(axis=1)) <= {n_refs // 2, n_refs // 2 + n_refs % 2}
    n_patterns = math.comb(n_refs, n_refs // 2) * (1 + n_refs % 2)
    starts = np.cumsum((0, *blocks))
    for size, start in zip(blocks, starts, strict=False):
        block = mask[start : start + size]
        in_per_model = block.sum(axis=0)
        assert in_per_model.min() >= size // 2 and in_per_model.max() <= (size + 1) // 2
        counts = np.unique(block @ (1 << np.arange(n_refs)), return_counts=True)[1]
        if n_patterns <= size:
            assert counts.size == n_patterns and counts.max() - counts.min() <= 2
    assert not np.array_equal(mask, in_out_mask(sum(blocks), n_refs, 8, blocks=blocks))


def test_reference_split_rejects_blocks_that_do_not_cover_the_rows() -> None:
    with pytest.raises(ValueError, match=r"'blocks' parameter must be sizes >= 0 summing"):
        in_out_mask(10, 4, 0, blocks=(5, 4))


@pytest.mark.parametrize("shift", [0.0, 0.3, 1.5])
def test_tpr_test_p_values_are_scipys_hypergeometric_cdf(shift: float) -> None:
    """Every TPR point's exact p-value is scipy's hypergeometric CDF of its counts, and
    its lower bound is scipy's one-sided Clopper-Pearson bound (no signal to a strong one;
    the p-value is summed in log space by the verdict, without scipy)."""
    rng = np.random.default_rng(7)
    members = np.r_[np.ones(3000, bool), np.zeros(4000, bool)]
    scores = rng.normal(size=members.size) + shift * members
    policy = Policy.from_mapping({"fpr": [0.001, 0.01, 0.05], "tpr_elevated": 0.1})
    family = Family.of(n_attacks=3, members=members, policy=policy)
    points = gather_evidence("a", scores, members, family).points
    n_pos, n_neg = 3000, 4000
    for p in points:
        want = stats.hypergeom.cdf(p.allowed_fp, n_pos + n_neg, n_neg, p.tp + p.allowed_fp)
        assert p.p_value == pytest.approx(want if p.tp else 1.0, rel=1e-9, abs=1e-300)
        lower = stats.beta.ppf(family.alpha_tpr, p.tp, n_pos - p.tp + 1) if p.tp else 0.0
        assert p.tpr_lower == pytest.approx(lower, rel=1e-9)
    assert (points[-1].p_value < 1e-6) == (shift >= 0.3)
