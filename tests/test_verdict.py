"""The verdict on real audits: no false alarms, real leaks reach 'high', stability,
the policy, the gate and bad input. Its statistics are in test_verdict_stats.py.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
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
