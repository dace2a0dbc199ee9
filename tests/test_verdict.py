"""The verdict: levels earned by corrected tests, the one-run epsilon bound, the gate.

Numbers are checked against slow reference implementations written from the papers'
formulas (loops over exact binomial terms), against sklearn's ROC, against full
enumeration of membership assignments, and against mechanisms of known epsilon.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve
from sklearn.neighbors import KNeighborsClassifier

import mia_notebook
from mia_notebook.engine.errors import MiaError
from mia_notebook.engine.verdict import (
    LEVELS,
    Policy,
    PrivacyRiskError,
    Verdict,
    check,
    judge,
)
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


# ------------------------------------------------------------------ policy


def test_policy_defaults_and_round_trip() -> None:
    p = Policy()
    assert p.fpr == (0.001, 0.01) and p.confidence == 0.95
    assert Policy.from_mapping(p.to_dict()) == p
    assert Policy.from_mapping({"fpr": 0.01, "tpr_high": 0.3}).fpr == (0.01,)
    json.dumps(p.to_dict())


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"tpr_hihg": 0.3}, r"Unknown policy key\(s\) \['tpr_hihg'\]"),
        ({"fpr": 1.5}, r"'fpr' must be in \(0, 1\)\. Got 1\.5"),
        ({"fpr": "0.01"}, r"'fpr' must be a number or a non-empty list"),
        ({"confidence": 1.0}, r"'confidence' must be in \(0, 1\)\. Got 1\.0"),
        ({"tpr_elevated": 0.005}, r"'tpr_elevated' must be in \(0\.01, 1\]\. Got 0\.005"),
        ({"tpr_high": 0.01}, r"'tpr_high' must be at least 'tpr_elevated' \(0\.05\)"),
        ({"epsilon_high": 0.5}, r"'epsilon_high' must be at least 'epsilon_elevated'"),
        ({"delta": -1e-5}, r"'delta' must be in \[0, 1\)"),
        ({"epsilon_high": "3"}, r"'epsilon_high' must be a number\. Got '3' of type str"),
    ],
)
def test_policy_errors_name_key_constraint_and_value(mapping: dict, message: str) -> None:
    with pytest.raises(MiaError, match=message):
        Policy.from_mapping(mapping)


# ------------------------------------------------------------------ real audits


def _frame(seed: int, n: int, flip: float = 0.0) -> pd.DataFrame:
    X, y = make_classification(
        n_samples=n, n_features=8, n_informative=5, flip_y=flip, random_state=seed
    )
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(label=y)


def _audit(model: Any, train: pd.DataFrame, test: pd.DataFrame) -> Any:
    return mia_notebook.audit(
        model, train=train, test=test, target="label", references=4, n_jobs=1, progress=False
    )


def _judge(report: Any, **kw: Any) -> Verdict:
    scores = {a: report.scores[a].to_numpy() for a in report.computed_attacks}
    return judge(scores, report.members, **kw)


def _null_setup(seed: int) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """A model whose outputs cannot depend on which records are members."""
    df = _frame(seed, 3000)
    fit, train, test = df.iloc[:1000], df.iloc[1000:2000], df.iloc[2000:]
    X, y = fit.drop(columns="label"), fit["label"].to_numpy()
    if seed % 2:
        model: Any = RandomForestClassifier(n_estimators=20, random_state=seed, n_jobs=1)
    else:
        # A DP-like model at small epsilon: labels through 0.5-randomized response,
        # heavy regularisation, and no member in its training data.
        rng = np.random.default_rng(seed)
        keep = math.exp(0.5) / (1 + math.exp(0.5))
        y = np.where(rng.random(y.size) < keep, y, 1 - y)
        model = LogisticRegression(C=1e-3)
    return model.fit(X, y), train, test


def test_no_false_alarms_on_membership_independent_models() -> None:
    levels = []
    for seed in range(20):
        model, train, test = _null_setup(seed)
        verdict = _judge(_audit(model, train, test), max_flag=10)
        levels.append(verdict.level)
        if verdict.level == "none":
            assert verdict.identified.size == 0 and verdict.n_identified == 0
            assert verdict.attack is None
            assert "no record is exposed beyond chance" in verdict.reason
    assert levels.count("none") >= 19, levels


@pytest.fixture(scope="module")
def leaky() -> dict[str, tuple[Any, pd.DataFrame, pd.DataFrame]]:
    df = _frame(0, 2000, flip=0.3)
    train, test = df.iloc[:1000], df.iloc[1000:]
    X, y = train.drop(columns="label"), train["label"]
    return {
        "1-NN": (KNeighborsClassifier(n_neighbors=1).fit(X, y), train, test),
        "forest": (
            RandomForestClassifier(n_estimators=50, random_state=0, n_jobs=1).fit(X, y),
            train,
            test,
        ),
    }


@pytest.mark.parametrize("name", ["1-NN", "forest"])
def test_overfit_models_reach_high(leaky: dict, name: str) -> None:
    model, train, test = leaky[name]
    report = _audit(model, train, test)
    verdict = _judge(report, max_flag=7)
    assert verdict.level == "high", verdict.reason
    assert verdict.attack in report.computed_attacks
    members = report.members
    assert members[verdict.identified].all()
    assert verdict.identified.size == min(7, verdict.n_identified)
    json.dumps(verdict.to_dict())
    # Identified = the members above the threshold that meets the FPR on non-members,
    # when flagging there beats chance (else nobody is accused).
    everyone = _judge(report)
    point = next(
        p
        for p in everyone.evidence["attacks"][verdict.attack]["points"]
        if p["fpr"] == verdict.evidence["fpr"]
    )
    if point["p_value"] > everyone.evidence["alpha_per_tpr_test"]:
        assert verdict.n_identified == everyone.identified.size == 0
        assert "no record can be singled out beyond chance" in verdict.reason
        assert verdict.evidence["epsilon_lb"] >= Policy().epsilon_high
        return
    assert f"{verdict.n_identified:,} record" in verdict.reason
    scores = report.scores[verdict.attack].to_numpy()
    above = scores > point["threshold"]
    assert sorted(everyone.identified) == list(np.flatnonzero(above & members))
    assert everyone.n_identified == verdict.n_identified == int((above & members).sum())
    assert int((above & ~members).sum()) <= math.floor(point["fpr"] * (~members).sum() + 1e-9)
    assert list(verdict.identified) == list(everyone.identified[:7])


def test_forest_reason_states_tpr_and_epsilon(leaky: dict) -> None:
    model, train, test = leaky["forest"]
    verdict = _judge(_audit(model, train, test), labels={"rmia": "RMIA, 4 reference models"})
    assert verdict.reason.startswith("An attacker who wrongly accuses 1 in 1,000 non-members")
    assert "ε ≥" in verdict.reason and "at 95% confidence" in verdict.reason
    if verdict.attack == "rmia":
        assert "RMIA, 4 reference models" in verdict.reason
    assert verdict.evidence["tpr_lower"] >= Policy().tpr_high


def test_level_is_stable_when_rows_are_shuffled(leaky: dict) -> None:
    for model, train, test in [leaky["forest"], _null_setup(3)]:
        first = _judge(_audit(model, train, test))
        shuffled = _judge(
            _audit(
                model, train.sample(frac=1.0, random_state=1), test.sample(frac=1.0, random_state=2)
            )
        )
        assert shuffled.level == first.level


def test_verdict_is_a_function_of_the_scores_not_their_order() -> None:
    rng = np.random.default_rng(2)
    n = 4000
    members = rng.random(n) < 0.5
    scores = {
        "a": np.round(rng.normal(size=n) + members * 1.2, 2),
        "b": rng.normal(size=n) + members * 0.3,
    }
    perm = rng.permutation(n)
    v1 = judge(scores, members)
    v2 = judge({k: s[perm] for k, s in scores.items()}, members[perm])
    assert v1.level == v2.level != "none"
    assert v1.reason == v2.reason and v1.evidence == v2.evidence
    assert sorted(perm[v2.identified]) == sorted(v1.identified)


def test_none_at_chance_and_identified_empty() -> None:
    rng = np.random.default_rng(4)
    members = rng.random(5000) < 0.5
    verdict = judge({"a": rng.normal(size=5000), "b": rng.normal(size=5000)}, members)
    assert verdict.level == "none" and verdict.attack is None
    assert verdict.identified.size == 0 and verdict.n_identified == 0
    assert verdict.reason.endswith("no record is exposed beyond chance.")
    assert verdict.evidence["epsilon_lb"] == 0.0


# ------------------------------------------------------------------ the gate


def _verdict_at(level: str) -> Verdict:
    return Verdict(level, "reason.", None, {}, Policy(), np.zeros(0, np.intp), 0)


@pytest.mark.parametrize("fail_on", LEVELS[1:])
def test_check_raises_from_fail_on_level_up(fail_on: str) -> None:
    for level in LEVELS:
        verdict = _verdict_at(level)
        if LEVELS.index(level) >= LEVELS.index(fail_on):
            with pytest.raises(PrivacyRiskError) as err:
                check(verdict, fail_on=fail_on)
            assert str(err.value) == str(verdict) == f"Privacy risk: {level}. reason."
        else:
            check(verdict, fail_on=fail_on)


def test_check_rejects_unknown_level() -> None:
    with pytest.raises(ValueError, match=r"'fail_on' parameter must be one of"):
        check(_verdict_at("high"), fail_on="severe")


# ------------------------------------------------------------------ bad input


def test_judge_rejects_bad_input_with_clear_messages() -> None:
    m = np.array([True, False, True, False])
    with pytest.raises(ValueError, match="1-d boolean array"):
        judge({"a": np.zeros(4)}, np.array([1, 0, 1, 0]))
    with pytest.raises(ValueError, match=r"attack 'a' must have shape \(4,\)"):
        judge({"a": np.zeros(3)}, m)
    with pytest.raises(ValueError, match="both members and non-members"):
        judge({"a": np.zeros(4)}, np.ones(4, bool))
    with pytest.raises(ValueError, match="'max_flag' parameter must be an int >= 0"):
        judge({"a": np.zeros(4)}, m, max_flag=-1)
    with pytest.raises(MiaError, match="Unknown policy key"):
        judge({"a": np.zeros(4)}, m, policy={"fpt": 0.1})


def test_judge_does_not_modify_its_inputs() -> None:
    rng = np.random.default_rng(6)
    members = rng.random(500) < 0.5
    scores = {"a": rng.normal(size=500)}
    scores["a"][:3] = np.nan
    before = (scores["a"].copy(), members.copy())
    judge(scores, members)
    np.testing.assert_array_equal(scores["a"], before[0])
    np.testing.assert_array_equal(members, before[1])


# ------------------------------------------------------------------ policy at work


def _separable(n_members: int, n_non: int, n_exposed: int) -> tuple[dict, np.ndarray]:
    """``n_exposed`` members score above every non-member; the rest are at chance."""
    rng = np.random.default_rng(9)
    members = np.r_[np.ones(n_members, bool), np.zeros(n_non, bool)]
    scores = rng.normal(size=members.size)
    scores[:n_exposed] = 10.0 + rng.random(n_exposed)
    return {"a": scores}, members


def test_high_needs_the_lower_bound_not_the_point_estimate() -> None:
    scores, members = _separable(200, 2000, 44)  # TPR 22% at 0.1% FPR, but on 200 members
    verdict = judge(scores, members, policy={"epsilon_high": 50.0, "epsilon_elevated": 40.0})
    assert verdict.evidence["tpr"] >= Policy().tpr_high > verdict.evidence["tpr_lower"]
    assert verdict.level == "elevated"
    strict = judge(
        scores,
        members,
        policy={
            "tpr_elevated": 0.3,
            "tpr_high": 0.4,
            "epsilon_high": 50.0,
            "epsilon_elevated": 40.0,
        },
    )
    assert strict.level == "low"
    assert judge(scores, members, policy={"tpr_high": 0.1}).level == "high"


def test_identified_are_the_exposed_members_capped_by_max_flag() -> None:
    scores, members = _separable(1000, 2000, 30)
    verdict = judge(scores, members, max_flag=5)
    assert verdict.n_identified == 30 and verdict.level != "none"
    assert list(verdict.identified) == list(np.argsort(-scores["a"][:30])[:5])
    assert "30 records identified at ≤ 0.1% FPR, 5 listed" in verdict.reason


def test_unresolvable_fpr_is_said_in_counts() -> None:
    scores, members = _separable(300, 60, 60)  # 60 non-members cannot resolve 1%
    verdict = judge(scores, members)
    assert verdict.evidence["fpr_resolvable"] is False
    assert "wrongly accuses none of the 60 non-members" in verdict.reason
    assert verdict.n_identified == 60


def test_delta_weakens_the_epsilon_bound_and_everything_is_json() -> None:
    scores, members = _separable(1000, 1000, 200)
    pure = judge(scores, members)
    approx = judge(scores, members, policy={"delta": 1e-5})
    assert 0 < approx.evidence["epsilon_lb"] < pure.evidence["epsilon_lb"]
    for v in (pure, approx, judge({"a": np.zeros(2000)}, members)):
        assert json.loads(json.dumps(v.to_dict()))["level"] == v.level
