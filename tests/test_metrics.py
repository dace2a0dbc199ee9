"""Metrics against sklearn.metrics and slow reference implementations written here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

from mia_notebook.engine import metrics as M
from mia_notebook.engine.bounds import candidate_thresholds, epsilon_from_sorted
from mia_notebook.engine.sorted_scores import SortedScores, clean_scores


def slow_tpr_at_fpr(scores: np.ndarray, members: np.ndarray, target: float) -> float:
    """Try every threshold 'score >= t'; keep the best TPR whose FPR <= target."""
    best = 0.0
    for t in np.r_[np.unique(scores), np.inf]:
        pred = scores >= t
        fpr = pred[~members].mean()
        tpr = pred[members].mean()
        if fpr <= target + 1e-12:
            best = max(best, tpr)
    return best


def slow_advantage(scores: np.ndarray, members: np.ndarray) -> float:
    return max(
        (scores[members] >= t).mean() - (scores[~members] >= t).mean()
        for t in np.r_[np.unique(scores), np.inf]
    )


def slow_eps_bound(scores, members, thresholds, confidence=0.95, delta=0.0) -> float:
    """Direct formula, one threshold at a time, two-sided Beta quantiles by hand."""
    alpha = (1 - confidence) / (4 * len(thresholds))
    n_p, n_n = members.sum(), (~members).sum()
    best = 0.0
    for t in thresholds:
        tp = int((scores[members] >= t).sum())
        fp = int((scores[~members] >= t).sum())
        fn, tn = n_p - tp, n_n - fp

        def lo(k, n):
            return 0.0 if k == 0 else stats.beta(k, n - k + 1).ppf(alpha)

        def hi(k, n):
            return 1.0 if k == n else stats.beta(k + 1, n - k).ppf(1 - alpha)

        for num, den in ((lo(tp, n_p), hi(fp, n_n)), (lo(tn, n_n), hi(fn, n_p))):
            if num - delta > 0:
                best = max(best, math.log((num - delta) / den))
    return best


@pytest.fixture
def separable_scores(rng):
    members = np.r_[np.ones(3000, bool), np.zeros(3000, bool)]
    scores = np.r_[rng.normal(1.0, 1, 3000), rng.normal(0, 1, 3000)]
    return scores, members


def test_auc_and_roc_match_sklearn(separable_scores):
    s, m = separable_scores
    met = M.attack_metrics(s, m, [0.01])
    assert met.auc == pytest.approx(roc_auc_score(m, s), abs=1e-12)
    curve = M.roc(s, m)
    fpr, tpr, _ = roc_curve(m, s, drop_intermediate=False)
    np.testing.assert_allclose(curve.fpr, fpr)
    np.testing.assert_allclose(curve.tpr, tpr)
    assert 0.7 < met.auc < 0.8  # N(1,1) vs N(0,1): AUC = Phi(1/sqrt 2) = 0.760


@pytest.mark.parametrize("target", [0.001, 0.01, 0.1, 0.5])
def test_tpr_at_fpr_matches_slow_reference(separable_scores, target):
    s, m = separable_scores
    fast = M.tpr_at_fpr(M.roc(s, m), target)
    assert fast.tpr == pytest.approx(slow_tpr_at_fpr(s, m, target), abs=1e-12)
    assert fast.achieved_fpr <= target + 1e-12
    assert fast.resolvable


def test_ties_never_push_fpr_past_target():
    # 10 non-members tied with 10 members at the top: counting that group means FPR 0.1.
    members = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    scores = np.r_[np.full(10, 5.0), np.linspace(0, 1, 90), np.full(10, 5.0), np.linspace(0, 1, 90)]
    res = M.tpr_at_fpr(M.roc(scores, members), 0.05)
    assert res.tpr == 0.0
    assert res.achieved_fpr == 0.0
    assert res.coarse  # the tied group is 10% of non-members > 5% target
    assert res.note is M.Note.COARSE and res.note_text == "coarse: ties"
    # Without ties the same threshold region is fine-grained and not coarse.
    res2 = M.tpr_at_fpr(M.roc(np.arange(200.0), members), 0.05)
    assert not res2.coarse


def test_unresolvable_fpr_is_flagged():
    members = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    scores = np.arange(100.0)[::-1]  # members (first 50) score highest
    res = M.tpr_at_fpr(M.roc(scores, members), 0.001)
    assert not res.resolvable and res.note is M.Note.UNRESOLVABLE
    assert res.note_text == "needs ≥ 1,000 non-members" and math.isnan(res.value)
    row = M.metrics_row(M.attack_metrics(scores, members, [0.001, 0.1]))
    assert math.isnan(row["TPR@0.1%FPR"])
    assert row["TPR@10%FPR"] == 1.0  # members all score above every non-member
    assert row[M.NOTES] == "TPR@0.1%FPR: needs ≥ 1,000 non-members"
    assert list(row) == M.summary_columns([0.001, 0.1])


def test_tpr_interval_is_the_exact_binomial_interval_over_members():
    members = np.r_[np.ones(40, bool), np.zeros(200, bool)]
    # 13 members score above every non-member, the other 27 below all of them
    scores = np.r_[np.full(13, 9.0), np.zeros(27), np.linspace(1, 2, 200)]
    res = M.tpr_at_fpr(M.roc(scores, members), 0.01, confidence=0.9)
    assert res.tpr == pytest.approx(13 / 40) and res.note is M.Note.NONE
    ci = stats.binomtest(13, 40).proportion_ci(confidence_level=0.9, method="exact")
    assert res.interval == pytest.approx((ci.low, ci.high))
    met = M.attack_metrics(scores, members, [0.01], confidence=0.9)
    assert met.tpr[0].interval == pytest.approx((ci.low, ci.high))  # the metrics' confidence


def test_confidence_has_one_range_everywhere():
    from mia_notebook.engine import MiaValueError
    from mia_notebook.engine.options import validate_option

    scores, members = np.arange(10.0), np.r_[np.ones(5, bool), np.zeros(5, bool)]
    for bad in (0.3, 1.0):
        with pytest.raises(MiaValueError, match=r"'confidence' parameter must be in \[0.5, 1\)"):
            M.epsilon_lower_bound(scores, members, confidence=bad)
        with pytest.raises(MiaValueError, match=r"'confidence' parameter must be in \[0.5, 1\)"):
            validate_option("confidence", bad)


def test_advantage_matches_slow_reference(separable_scores):
    s, m = separable_scores
    met = M.attack_metrics(s, m, [0.01])
    assert met.advantage == pytest.approx(slow_advantage(s, m), abs=1e-12)
    assert met.balanced_accuracy == pytest.approx(0.5 + met.advantage / 2)


def test_epsilon_bound_matches_slow_reference(separable_scores):
    s, m = separable_scores
    thr = candidate_thresholds(s)
    fast = M.epsilon_lower_bound(s, m)
    assert fast == pytest.approx(slow_eps_bound(s, m, thr), rel=1e-9)
    assert fast > 0.3


def test_clopper_pearson_against_scipy_binomtest():
    lo, hi = M.clopper_pearson(np.array([0, 7, 20]), 20, 0.025)
    ci = stats.binomtest(7, 20).proportion_ci(confidence_level=0.95, method="exact")
    assert lo[1] == pytest.approx(ci.low) and hi[1] == pytest.approx(ci.high)
    assert lo[0] == 0.0 and hi[2] == 1.0


def test_epsilon_bound_below_true_epsilon_of_randomized_response():
    """Scores from eps-DP randomized response: the bound must stay below eps."""
    eps = 1.0
    p = math.exp(eps) / (1 + math.exp(eps))
    rng = np.random.default_rng(3)
    members = rng.random(20_000) < 0.5
    truthful = rng.random(20_000) < p
    scores = np.where(truthful, members, ~members).astype(float)
    bound = M.epsilon_lower_bound(scores, members)
    assert 0.7 < bound <= eps  # strong evidence, yet never above the truth


def test_epsilon_bound_is_zero_without_signal(rng):
    members = rng.random(5000) < 0.5
    for _ in range(5):
        assert M.epsilon_lower_bound(rng.normal(size=5000), members) == 0.0


def test_single_class_gives_nan_and_warning():
    with pytest.warns(M.UndefinedMetricWarning):
        assert M.roc(np.arange(5.0), np.ones(5, bool)) is None
    met = M.attack_metrics(np.arange(5.0), np.ones(5, bool), [0.1])
    assert math.isnan(met.auc) and math.isnan(met.epsilon_lb)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=4, max_size=60),
    st.lists(st.booleans(), min_size=4, max_size=60),
    st.sampled_from([0.01, 0.1, 0.3]),
)
def test_property_tpr_and_advantage_match_slow(raw_scores, raw_members, target):
    n = min(len(raw_scores), len(raw_members))
    s = np.asarray(raw_scores[:n], float)
    m = np.asarray(raw_members[:n], bool)
    if m.all() or not m.any():
        return
    met = M.attack_metrics(s, m, [target])
    assert met.tpr[0].tpr == pytest.approx(slow_tpr_at_fpr(s, m, target))
    assert met.advantage == pytest.approx(slow_advantage(s, m))
    assert met.auc == pytest.approx(roc_auc_score(m, s))
    assert 0.0 <= met.epsilon_lb < math.inf


# ------------------------------------------------- one sort shared (sorted_scores.py)

_SCORE_VALUES = st.one_of(
    st.integers(-3, 3).map(float),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.5, 1e-300]),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_SCORE_VALUES, st.booleans()), min_size=2, max_size=80))
def test_property_roc_from_sorted_is_sklearns_roc_curve(pairs):
    """The ROC built from per-class sorted scores is sklearn's roc_curve (every point,
    thresholds included) on the cleaned scores, with ties, NaN and +-inf."""
    s = np.array([p[0] for p in pairs])
    m = np.array([p[1] for p in pairs])
    if m.all() or not m.any():
        return
    clean, _ = clean_scores(s, m)
    curve = M.roc(s, m)
    fpr, tpr, thr = roc_curve(m, clean, drop_intermediate=False)
    np.testing.assert_array_equal(curve.fpr, fpr)
    np.testing.assert_array_equal(curve.tpr, tpr)
    np.testing.assert_array_equal(curve.thresholds, thr)
    assert M.attack_metrics(s, m, [0.1]).auc == pytest.approx(roc_auc_score(m, clean), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=1, max_size=300), st.integers(1, 4))
def test_property_sorted_quantiles_are_numpys_inverted_cdf(values, repeat):
    """Reading the epsilon bound's candidate thresholds off the sorted scores gives
    exactly np.quantile(method='inverted_cdf'), duplicates included."""
    s = np.repeat(np.asarray(values), repeat)
    np.testing.assert_array_equal(
        candidate_thresholds(np.sort(s), is_sorted=True), candidate_thresholds(s)
    )


def test_sorted_scores_are_shared_and_match_a_fresh_sort(rng):
    """SortedScores.members_first (the report's layout) equals SortedScores.of, does
    not write into the caller's array, and the epsilon bound from it equals the bound
    from the raw scores."""
    n = 500
    s = np.r_[rng.normal(0.5, 1, n), rng.normal(0, 1, n), [np.nan, np.inf]]
    m = np.r_[np.ones(n, bool), np.zeros(n + 2, bool)]
    before = s.copy()
    a, b = SortedScores.members_first(s, n), SortedScores.of(s, m)
    np.testing.assert_array_equal(s, before)
    np.testing.assert_array_equal(a.members, b.members)
    np.testing.assert_array_equal(a.nonmembers, b.nonmembers)
    np.testing.assert_array_equal(a.pooled, np.sort(clean_scores(s, m)[0]))
    assert epsilon_from_sorted(a) == M.epsilon_lower_bound(s, m)
    summary = M.summary_from_sorted(a)
    assert summary.auc == pytest.approx(roc_auc_score(m, clean_scores(s, m)[0]), abs=1e-12)
