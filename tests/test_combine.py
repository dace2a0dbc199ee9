"""engine/attacks/combine.py: one score per person from row scores, against slow
reference implementations, and the null: a person's score does not rise merely
because the person has more rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mia_notebook.engine.attacks import available_attacks
from mia_notebook.engine.attacks.base import attack_class
from mia_notebook.engine.attacks.combine import PERSON_RULES, combine


def _slow(rule: str, scores: np.ndarray, codes: np.ndarray, n_people: int) -> np.ndarray:
    """Person by person, in plain Python (scipy's norm for the z-scores)."""
    all_scores = [(-math.inf if math.isnan(s) else float(s)) for s in scores]
    out = []
    for person in range(n_people):
        rows = [float(scores[i]) for i in range(len(scores)) if codes[i] == person]
        if rule == "llr-sum":
            out.append(sum(rows))
        elif rule == "mean":
            out.append(sum(rows) / len(rows))
        elif rule == "max":
            out.append(max(rows))
        elif rule == "logit-sum":
            out.append(sum(math.log(p / (1 - p)) for p in rows))
        else:
            zs = []
            for s in rows:
                if rule == "p-stouffer":
                    zs.append(stats.norm.isf(math.exp(-s)))
                elif rule == "cdf-stouffer":
                    zs.append(stats.norm.ppf(s))
                else:  # rank-stouffer: mid-rank among every row
                    less = sum(v < s for v in all_scores)
                    equal = sum(v == s for v in all_scores)
                    zs.append(stats.norm.ppf((less + (equal + 1) / 2) / (len(all_scores) + 1)))
            out.append(sum(zs) / math.sqrt(len(zs)))
    return np.array(out)


@pytest.mark.parametrize("rule", PERSON_RULES)
def test_rules_match_slow_reference(rule, rng):
    n_people = 40
    codes = rng.integers(0, n_people, 300)
    codes[:n_people] = np.arange(n_people)  # everyone has a row
    if rule in ("cdf-stouffer", "logit-sum"):
        scores = rng.uniform(0.01, 0.99, codes.size)
    elif rule == "p-stouffer":
        scores = -np.log(rng.uniform(1e-6, 1.0, codes.size))
    else:
        scores = np.round(rng.normal(size=codes.size), 1)  # ties
    np.testing.assert_allclose(
        combine(rule, scores, codes, n_people), _slow(rule, scores, codes, n_people), rtol=1e-9
    )


def test_p_stouffer_keeps_resolution_for_tiny_p_values():
    s = np.array([50.0, 800.0])  # p = e^-50, e^-800 (underflows as a float)
    z = combine("p-stouffer", s, np.array([0, 1]), 2)
    assert np.isfinite(z).all() and z[1] > z[0] > 9


def test_every_attack_declares_a_known_rule():
    for name in available_attacks():
        assert attack_class(name).person_rule in PERSON_RULES, name
    assert attack_class("lira").person_rule == "llr-sum"
    assert attack_class("lira-offline").person_rule == "p-stouffer"
    assert attack_class("rmia").person_rule == "cdf-stouffer"
    assert attack_class("loss").person_rule == "rank-stouffer"
    assert attack_class("shadow").person_rule == "logit-sum"
    assert attack_class("gap").person_rule == "mean"


def _null_rows(rule: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Row scores of an attack against a model that does not depend on membership."""
    u = rng.uniform(size=size)
    if rule == "p-stouffer":
        return np.asarray(-np.log(u))  # p-values uniform
    if rule in ("cdf-stouffer", "logit-sum"):
        return u
    if rule == "mean":
        return (u < 0.8).astype(float)  # the model is right on 80% of rows
    if rule == "llr-sum":  # LiRA: t ~ OUT = N(0, 1), IN = N(1, 1)
        t = rng.normal(size=size)
        return np.asarray(stats.norm.logpdf(t, 1.0) - stats.norm.logpdf(t, 0.0))
    return rng.normal(size=size)  # any continuous score


def _one_and_twenty(rule: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Person scores of 2,000 people with 1 row and 2,000 people with 20 rows, under
    the null, combined in one call (the rank rule ranks them together)."""
    n1, n20 = 2000, 2000
    codes = np.concatenate([np.arange(n1), np.repeat(np.arange(n1, n1 + n20), 20)])
    person = combine(rule, _null_rows(rule, codes.size, rng), codes, n1 + n20)
    return person[:n1], person[n1:]


@pytest.mark.parametrize("rule", ["p-stouffer", "cdf-stouffer", "rank-stouffer"])
def test_stouffer_scores_do_not_depend_on_rows_per_person_under_the_null(rule, rng):
    one, twenty = _one_and_twenty(rule, rng)
    assert stats.ks_2samp(one, twenty).pvalue > 0.01  # one distribution for 1 or 20 rows
    assert stats.kstest(twenty, "norm").pvalue > 0.01  # standard normal


@pytest.mark.parametrize("rule", ["mean", "llr-sum", "logit-sum"])
def test_means_and_likelihood_sums_do_not_rise_with_rows_under_the_null(rule, rng):
    one, twenty = _one_and_twenty(rule, rng)
    if rule == "mean":  # same expectation
        assert abs(one.mean() - twenty.mean()) < 0.03
    elif rule == "llr-sum":  # a sum of log-likelihood ratios drifts DOWN under OUT
        assert twenty.mean() < one.mean()
    else:  # logit of a uniform has mean 0: the sum stays centred
        assert abs(twenty.mean()) < 0.5 and abs(one.mean()) < 0.2


def test_max_would_rise_with_rows(rng):
    """Why no rule takes the maximum: under the null it favours people with many rows."""
    one, twenty = _one_and_twenty("max", rng)
    assert stats.ks_2samp(one, twenty).pvalue < 1e-6 and twenty.mean() > one.mean() + 1
