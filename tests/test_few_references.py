"""Few reference models (issue 21): the Student-t LiRA, the fitted RMIA ``a``, and the
null model staying at level ``none`` with them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import logit
from sklearn.linear_model import LogisticRegression

from mia_notebook.engine.attacks.lira import (
    PRIOR_DOF,
    lira_scores,
    pooled_std,
    student_t_logpdf,
    student_t_predictive,
)
from mia_notebook.engine.attacks.reference import masked_moments
from mia_notebook.engine.attacks.rmia import fit_a, log_likelihood_ratio
from mia_notebook.engine.errors import MiaValueError
from mia_notebook.engine.validators import validate_lira_variance, validate_rmia_a


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_student_t_logpdf_matches_scipy(rng):
    x, loc = rng.normal(size=50), rng.normal(size=50)
    df, scale = rng.uniform(0.5, 30, 50), rng.uniform(0.1, 3, 50)
    np.testing.assert_allclose(
        student_t_logpdf(x, df, loc, scale), stats.t.logpdf(x, df, loc, scale), rtol=1e-10
    )


def _slow_bayes(signal, in_mask, target, online, prior_dof=PRIOR_DOF):
    """Record by record: conjugate normal / inverse-gamma posterior predictive."""
    n_in, _, var_in = masked_moments(signal, in_mask)
    n_out, _, var_out = masked_moments(signal, ~in_mask)
    s2 = pooled_std([(n_in, var_in), (n_out, var_out)] if online else [(n_out, var_out)], signal)
    s2 = s2**2
    gap = np.mean(
        [signal[i, in_mask[i]].mean() - signal[i, ~in_mask[i]].mean() for i in range(len(target))]
    )
    out = []
    for i in range(len(target)):
        parts = []
        for side in (in_mask[i], ~in_mask[i]):
            v = signal[i, side].astype(np.float64)
            other = signal[i, ~side].astype(np.float64)
            n = max(v.size, 1)
            mu = v.mean() if v.size else other.mean() + (gap if side is in_mask[i] else -gap)
            ss = ((v - v.mean()) ** 2).sum() if v.size >= 2 else 0.0
            alpha, beta = (prior_dof + n - 1) / 2, (prior_dof * s2 + ss) / 2
            parts.append(stats.t(2 * alpha, mu, np.sqrt(beta / alpha * (1 + 1 / n))))
        t_in, t_out = parts
        out.append(
            t_in.logpdf(target[i]) - t_out.logpdf(target[i]) if online else -t_out.logsf(target[i])
        )
    return np.array(out)


@pytest.mark.parametrize("online", [True, False])
@pytest.mark.parametrize("n_refs", [2, 3, 8])
def test_bayes_lira_matches_a_record_by_record_posterior(rng, online, n_refs):
    n = 60
    signal = rng.normal(size=(n, n_refs)).astype(np.float32)
    in_mask = np.zeros((n, n_refs), bool)
    for i in range(n):  # every record IN for a random non-empty proper subset
        k = rng.integers(1, n_refs)
        in_mask[i, rng.choice(n_refs, k, replace=False)] = True
    signal += in_mask * 0.8
    target = rng.normal(size=n) + 0.3
    fast = lira_scores(signal, in_mask, target, online=online, variance="bayes")
    np.testing.assert_allclose(fast, _slow_bayes(signal, in_mask, target, online), rtol=1e-6)


def test_bayes_predictive_approaches_the_sample_variance_with_many_models():
    count = np.array([1, 2, 10_000])
    var = np.array([np.nan, 4.0, 4.0])
    df, scale = student_t_predictive(count, var, pooled_var=1.0)
    np.testing.assert_allclose(df, PRIOR_DOF + count - 1)
    assert scale[0] == pytest.approx(np.sqrt(2.0))  # the prior alone, one observation
    assert scale[2] == pytest.approx(2.0, rel=1e-3)  # the data win
    assert validate_lira_variance("bayes") == "bayes"


@pytest.mark.parametrize("a_true", [0.1, 0.33, 0.7])
@pytest.mark.parametrize("n_refs", [1, 4])
def test_fit_a_recovers_a_known_a(rng, a_true, n_refs):
    n = 20_000
    p_out = rng.beta(5, 2, size=(n, n_refs))
    p_in = a_true * p_out + (1 - a_true)  # the paper's linear relation, exactly
    in_mask = rng.random((n, n_refs)) < 0.5
    signal = logit(np.where(in_mask, p_in, p_out)).astype(np.float32)
    assert fit_a(signal, in_mask) == pytest.approx(a_true, abs=0.02)


def test_fit_a_is_clipped_and_validated(rng):
    signal = rng.normal(size=(100, 1)).astype(np.float32)
    assert 0.0 <= fit_a(signal, np.zeros((100, 1), bool)) <= 1.0  # no IN side: default
    assert validate_rmia_a("fit") == "fit"
    with pytest.raises(MiaValueError, match="'auto', 'fit'"):
        validate_rmia_a("fitted")


def test_offline_in_only_records_read_the_relation_backwards():
    # one reference model; record 0 is OUT of it, record 1 IN
    p = np.array([[0.6], [0.9]])
    in_mask = np.array([[False], [True]])
    a = 0.5
    llr = log_likelihood_ratio(logit(p).astype(np.float32), in_mask, np.zeros(2), online=False, a=a)
    p_out_1 = (0.9 - (1 - a)) / a  # 0.8
    expected_px = np.array([(1 + a) / 2 * 0.6 + (1 - a) / 2, (1 + a) / 2 * p_out_1 + (1 - a) / 2])
    np.testing.assert_allclose(llr, np.log(0.5) - np.log(expected_px), rtol=1e-6)


def test_null_model_stays_at_none_with_the_new_options():
    """A model fitted on other rows of the same distribution: members and non-members
    are equally unseen, so the audit must say 'none' with the new variants."""
    import mia_notebook

    rng = np.random.default_rng(3)
    X = rng.normal(size=(900, 4))
    y = (X[:, 0] + rng.normal(size=900) > 0).astype(int)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(y=y)
    model = LogisticRegression().fit(X[600:], y[600:])
    rep = mia_notebook.audit(
        model,
        train=frame.iloc[:300],
        test=frame.iloc[300:600],
        target="y",
        attacks=["rmia", "rmia-offline", "lira", "lira-offline"],
        references=2,
        lira_variance="bayes",
        rmia_a="fit",
        seed=0,
        progress=False,
    )
    assert rep.verdict.level == "none"


# ------------------------------------------------------------------ adaptive rounds
def test_nested_design_is_nested_and_balanced():
    from mia_notebook.engine.references.population import nested_in_out_mask

    full = nested_in_out_mask(1001, 16, 5, blocks=[500, 501])
    for k in (1, 2, 3, 4, 8):
        np.testing.assert_array_equal(
            nested_in_out_mask(1001, k, 5, blocks=[500, 501]), full[:, :k]
        )
    # every model trains on half of the members and half of the non-members (+- 1 row)
    assert np.all(np.abs(full[:500].sum(axis=0) - 250) <= 1)
    assert np.all(np.abs(full[500:].sum(axis=0) - 250.5) <= 1)
    # pairs are complementary: each row IN for exactly k / 2 of the first k models
    for k in (2, 4, 16):
        assert np.all(full[:, :k].sum(axis=1) == k // 2)
    # the 2^(8/2) patterns of the first 8 models are equally common within each block
    for rows in (slice(0, 500), slice(500, 1001)):
        codes = full[rows, 0:8:2] @ (1 << np.arange(4))
        counts = np.bincount(codes, minlength=16)
        assert counts.max() - counts.min() <= 1


def test_round_sizes_never_exceed_the_cap():
    from mia_notebook.engine.adaptive import round_sizes

    assert round_sizes(16) == [2, 4, 8, 16]
    assert round_sizes(12) == [2, 4, 8, 12]
    assert round_sizes(3) == [2, 3]
    for cap in range(3, 70):
        sizes = round_sizes(cap)
        assert max(sizes) == cap and sizes == sorted(set(sizes))


@pytest.fixture(scope="module")
def leaky_case():
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = (X[:, 0] + rng.normal(size=600) > 0).astype(int)
    frame = pd.DataFrame(X, columns=list("abcde")).assign(y=y)
    model = RandomForestClassifier(30, random_state=0).fit(X[:300], y[:300])
    return model, frame.iloc[:300], frame.iloc[300:]


def _audit(model, train, test, attacks="rmia", **kw):
    import mia_notebook

    mia_notebook.clear_cache()
    return mia_notebook.audit(
        model,
        train=train,
        test=test,
        target="y",
        attacks=attacks,
        seed=0,
        progress=False,
        n_jobs=1,
        **kw,
    )


def test_adaptive_stops_early_on_a_clear_case_and_reuses_its_models(leaky_case):
    model, train, test = leaky_case
    rep = _audit(model, train, test, references=16, reference_rounds="adaptive")
    used = rep.info.references_ok
    assert used < 16  # a fully grown forest: the verdict is clear from the start
    assert any(f"stopped at {used} of 16" in n for n in rep.notes)
    # the last round trained only the models the previous one lacked
    assert rep.info.references_cached == used // 2
    assert rep.info.references_trained == used - used // 2
    assert rep.verdict.level != "none"


def test_adaptive_never_exceeds_the_cap(leaky_case, monkeypatch):
    from mia_notebook.engine import adaptive

    model, train, test = leaky_case
    monkeypatch.setattr(adaptive, "settled", lambda previous, current: False)
    monkeypatch.setattr(adaptive, "decided", lambda previous, current: False)
    rep = _audit(model, train, test, references=6, reference_rounds="adaptive")
    assert rep.info.references_ok == 6
    assert any("used all 6 reference models" in n for n in rep.notes)


def test_settled_compares_levels_and_tpr_intervals(leaky_case):
    from mia_notebook.engine.adaptive import settled

    model, train, test = leaky_case
    a = _audit(model, train, test, references=2)
    assert settled(a, a)
    # the same records audited against a model that saw neither half: level 'none'
    other = LogisticRegression().fit(test[list("abcde")], test["y"])
    null = _audit(other, train.iloc[:150], train.iloc[150:], references=2)
    assert a.verdict.level != null.verdict.level
    assert not settled(a, null) and not settled(null, a)


def test_tpr_upper_bounds_are_clopper_pearson_at_the_verdicts_budget(leaky_case):
    from mia_notebook.engine.adaptive import tpr_upper_bounds

    model, train, test = leaky_case
    ev = _audit(model, train, test, attacks="rmia,loss", references=2).verdict.evidence
    n, alpha = ev["members"], ev["alpha_per_tpr_test"]
    points = [p for a in ev["attacks"].values() for p in a["points"]]
    # the upper end of the two-sided interval whose lower end the verdict quotes
    expected = [
        1.0 if p["tp"] == n else stats.beta.ppf(1 - alpha, p["tp"] + 1, n - p["tp"]) for p in points
    ]
    np.testing.assert_allclose(tpr_upper_bounds(ev), expected, rtol=1e-9)
    for p, upper in zip(points, expected, strict=True):
        assert p["tpr_lower"] <= p["tp"] / n <= upper
        if p["tp"] > 0:  # the mirror image: the lower bound at the same budget
            assert p["tpr_lower"] == pytest.approx(stats.beta.ppf(alpha, p["tp"], n - p["tp"] + 1))


def test_decided_needs_the_same_level_and_upper_bounds_below_the_next_line(leaky_case):
    from mia_notebook.engine.adaptive import decided, tpr_upper_bounds

    model, train, test = leaky_case
    rep = _audit(model, train, test, references=2)
    ev = rep.verdict.evidence
    upper = max(tpr_upper_bounds(ev))
    lower = max(p["tpr_lower"] for a in ev["attacks"].values() for p in a["points"])
    assert lower >= 0.05  # 'elevated' on the TPR at least
    never_high = {"epsilon_elevated": 1e-9, "epsilon_high": 1e9}
    # the 'high' line above every upper bound: 'elevated' cannot move
    clear = rep.with_options(policy={**never_high, "tpr_high": min(upper + 0.01, 1.0)})
    assert clear.verdict.level == "elevated" and decided(clear, clear)
    # the line between the best lower and upper bound: more models might reach it
    line = (lower + upper) / 2
    open_ = rep.with_options(policy={**never_high, "tpr_high": line})
    assert open_.verdict.level == "elevated" and not decided(open_, open_)
    assert not decided(clear, open_) and not decided(open_, clear)
    # at 'high' nothing is above; different levels never stop
    high = rep.with_options(policy={"epsilon_elevated": 1e-9, "epsilon_high": 1e-9})
    assert high.verdict.level == "high" and decided(high, high)
    assert not decided(high, clear) and not decided(clear, high)


def test_adaptive_stops_at_4_on_a_membership_independent_model():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(8000, 4))
    y = (X[:, 0] + rng.normal(size=8000) > 0).astype(int)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(y=y)
    model = LogisticRegression().fit(X[6000:], y[6000:])  # saw none of the audited rows
    train, test = frame.iloc[:3000], frame.iloc[3000:6000]
    rep = _audit(model, train, test, attacks="loss,rmia,lira", reference_rounds="adaptive")
    assert rep.verdict.level == "none"
    assert rep.info.references_ok == 4 and rep.options.reference_rounds == "adaptive"
    assert rep.evidence["references"].signal.shape == (6000, 4)
    assert any("stopped at 4 of 16" in n and "'none' in both rounds" in n for n in rep.notes)
