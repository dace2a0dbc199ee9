"""LiRA, RMIA and shadow attacks: formulas against slow loops, soundness, strength."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import features
from scipy import stats
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

import mia_notebook as mn
from mia_notebook.engine import MiaTypeError, MiaValueError
from mia_notebook.engine.attacks.lira import lira_scores
from mia_notebook.engine.attacks.reference import desaturate, saturation_limit
from mia_notebook.engine.attacks.rmia import (
    _auc,
    calibrate_a,
    dominance_scores,
    fit_a,
    rmia_scores,
)
from mia_notebook.engine.attacks.shadow import shadow_scores

REFERENCE_ATTACKS = ["lira", "lira-offline", "rmia", "rmia-offline", "shadow"]


# ----------------------------------------------------------- slow reference formulas
def _random_case(rng, n=60, n_refs=6):
    signal = rng.normal(0, 2, size=(n, n_refs)).astype(np.float32)
    in_mask = rng.random((n, n_refs)) < 0.5
    in_mask[:, 0], in_mask[:, 1] = True, False  # every row has IN and OUT models
    in_mask[0, :] = [True] * (n_refs - 1) + [False]  # unbalanced rows too
    in_mask[1, :] = [False] * (n_refs - 1) + [True]
    signal = signal + 1.5 * in_mask  # IN models see the record: higher statistic
    target = rng.normal(0.5, 2, size=n)
    return signal, in_mask, target


def _slow_lira(signal, in_mask, target, online, variance):
    n, _ = signal.shape
    ins = [signal[i, in_mask[i]].astype(np.float64) for i in range(n)]
    outs = [signal[i, ~in_mask[i]].astype(np.float64) for i in range(n)]
    ss, dof = 0.0, 0
    for groups in [ins, outs] if online else [outs]:
        for g in groups:
            if len(g) >= 2:
                ss += np.sum((g - g.mean()) ** 2)
                dof += len(g) - 1
    sigma = np.sqrt(ss / dof)
    scores = []
    for i in range(n):
        mu_in, mu_out = ins[i].mean(), outs[i].mean()

        def sd(g):
            if variance == "global":
                return sigma
            s = np.std(g, ddof=1) if len(g) >= 2 else sigma
            return max(s, 0.1 * sigma)

        if online:
            scores.append(
                stats.norm.logpdf(target[i], mu_in, sd(ins[i]))
                - stats.norm.logpdf(target[i], mu_out, sd(outs[i]))
            )
        else:
            scores.append(-stats.norm.logsf(target[i], mu_out, sd(outs[i])))
    return np.array(scores)


@pytest.mark.parametrize("online", [True, False])
@pytest.mark.parametrize("variance", ["global", "per-record"])
def test_lira_matches_slow_loop(rng, online, variance):
    signal, in_mask, target = _random_case(rng)
    fast = lira_scores(signal, in_mask, target, online=online, variance=variance)
    np.testing.assert_allclose(
        fast, _slow_lira(signal, in_mask, target, online, variance), rtol=1e-5, atol=1e-6
    )


def _slow_rmia(signal, in_mask, target, online, a, gamma, z=None):
    def lr(sig, mask, t):
        out = []
        for i in range(sig.shape[0]):
            p = 1 / (1 + np.exp(-sig[i].astype(np.float64)))
            px = p.mean() if online else (1 + a) / 2 * p[~mask[i]].mean() + (1 - a) / 2
            out.append((1 / (1 + np.exp(-t[i]))) / px)
        return np.array(out)

    lr_x = lr(signal, in_mask, target)
    lr_z = lr_x if z is None else lr(*z)
    scores = []
    for i in range(len(lr_x)):
        zs = [lr_z[j] for j in range(len(lr_z)) if z is not None or j != i]
        frac = np.mean([lr_x[i] / v > gamma for v in zs])
        scores.append(frac)
    return np.array(scores), lr_x


@pytest.mark.parametrize("online", [True, False])
@pytest.mark.parametrize("gamma", [1.0, 2.0, 0.5])
@pytest.mark.parametrize("with_population", [False, True])
def test_rmia_matches_slow_loop(rng, online, gamma, with_population):
    signal, in_mask, target = _random_case(rng)
    z = _random_case(rng, n=40) if with_population else None
    kw = {} if z is None else {"z_signal": z[0], "z_in_mask": z[1], "z_target": z[2]}
    fast = rmia_scores(signal, in_mask, target, online=online, a=0.4, gamma=gamma, **kw)
    slow, lr_x = _slow_rmia(signal, in_mask, target, online, 0.4, gamma, z)
    m = len(target) - 1 if z is None else len(z[2])
    # The fraction of dominated z, up to a tie-break smaller than one step 1/m.
    assert np.all(np.abs(fast - slow) < 1 / m)
    assert np.all((fast > 0) & (fast < 1))
    # Ranking: the tie-break follows LR(x), so ties of the fraction are resolved by it.
    order = np.lexsort((lr_x, slow))
    assert np.all(np.diff(fast[order]) >= 0)


def test_rmia_never_counts_a_record_as_its_own_z():
    llr = np.array([0.0, 1.0, 2.0])
    # gamma < 1: LR(x)/LR(x) = 1 > gamma would count x against itself.
    # scores are (count + tie) / (m + 1) with m = 2 other records and tie in (0, 1)
    count = np.floor(dominance_scores(llr, llr, gamma=0.5, z_is_x=True) * 3)
    np.testing.assert_array_equal(count, [0, 1, 2])


def test_rmia_a_calibration_uses_reference_models_only(rng):
    signal, in_mask, _ = _random_case(rng, n=400, n_refs=8)
    a = calibrate_a(signal, in_mask)
    assert 0.0 <= a <= 1.0
    # the fast rank-sum AUC used by the calibration agrees with scikit-learn
    score = np.round(rng.normal(size=400), 1)  # with ties
    assert _auc(in_mask[:, 2], score) == pytest.approx(roc_auc_score(in_mask[:, 2], score))
    # one reference model cannot be scored by others: its ``a`` is fitted instead
    assert calibrate_a(signal[:, :1], in_mask[:, :1]) == fit_a(signal[:, :1], in_mask[:, :1])


def test_saturated_probabilities_are_capped_at_the_models_resolution():
    # A 50-tree forest: probabilities k/50, 0 and 1 clipped at 1e-12 (about +-27.6).
    p = np.array([0.0, 0.02, 0.5, 0.98, 1.0])
    eps = 1e-12
    stat = np.log(np.clip(p, eps, 1)) - np.log(np.clip(1 - p, eps, 1))
    lim = saturation_limit(stat)
    assert lim == pytest.approx(np.log(0.99 / 0.01))
    sig, tgt = desaturate(stat[:, None].astype(np.float32), stat)
    assert sig.dtype == np.float32 and sig[-1, 0] == pytest.approx(lim, rel=1e-6)
    assert tgt[-1] == pytest.approx(lim) and tgt[0] == pytest.approx(-lim)
    np.testing.assert_allclose(tgt[1:4], stat[1:4])


def test_shadow_learns_from_reference_membership(rng):
    signal, in_mask, _ = _random_case(rng, n=2000, n_refs=4)
    target = rng.normal(0.0, 2.0, 2000) + 1.5 * (np.arange(2000) < 1000)
    s = shadow_scores(signal, in_mask, target)
    assert roc_auc_score(np.arange(2000) < 1000, s) > 0.6
    assert np.all((s >= 0) & (s <= 1))


# ----------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def logreg(cancer_splits):
    tr, _ = cancer_splits
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(features(tr), tr["label"])


def test_membership_independent_model_audits_as_chance(synth_three_way):
    """Model fitted on a third split: every new attack is at chance, epsilon bound 0."""
    fit_part, fake_members, nonmembers = synth_three_way
    clf = RandomForestClassifier(n_estimators=30, random_state=0).fit(
        features(fit_part), fit_part["label"]
    )
    rep = mn.audit(
        clf,
        train=fake_members,
        test=nonmembers,
        target="label",
        attacks=REFERENCE_ATTACKS,
        references=4,
        n_jobs=1,
        progress=False,
    )
    summ = rep.summary
    assert list(summ.index) == REFERENCE_ATTACKS
    assert (summ["AUC"] - 0.5).abs().max() < 0.03, summ["AUC"]
    assert (summ["epsilon_lb"] == 0.0).all(), summ["epsilon_lb"]


@pytest.fixture(scope="module")
def forest_report(synth_three_way):
    train, test, _ = synth_three_way
    tr, te = train.iloc[:1500], test.iloc[:1500]
    forest = RandomForestClassifier(n_estimators=40, random_state=0).fit(features(tr), tr["label"])
    return mn.audit(
        forest,
        train=tr,
        test=te,
        target="label",
        attacks="all",
        references=8,
        reference_rounds="fixed",  # all 8 (the adaptive default may stop at 4)
        n_jobs=1,
        progress=False,
    )


def test_lira_and_rmia_beat_loss_at_low_fpr_on_an_overfit_forest(forest_report):
    summ = forest_report.summary
    for low in ("TPR@1%FPR",):
        assert summ.loc["lira", low] > summ.loc["loss", low] + 0.05
        assert summ.loc["rmia", low] > summ.loc["loss", low] + 0.05
        assert summ.loc["rmia-offline", low] > summ.loc["loss", low] + 0.05
    assert summ.loc["rmia", "AUC"] > summ.loc["loss", "AUC"]
    assert summ.loc["lira", "AUC"] > summ.loc["loss", "AUC"]


def test_reference_evidence_is_on_the_report(forest_report):
    ev = forest_report.evidence["references"]
    n = len(forest_report.scores)
    assert ev.signal.dtype == np.float32 and ev.signal.shape == (n, 8)
    assert ev.in_mask.dtype == bool and ev.in_mask.shape == (n, 8)
    assert ev.target.shape == (n,)
    # target statistic = the logit threshold attack's score (same records, same order)
    np.testing.assert_allclose(ev.target, forest_report.scores["logit"].to_numpy())
    # every record is IN for exactly half of the reference models
    assert (ev.in_mask.sum(axis=1) == 4).all()
    assert forest_report.options.references == 8 and forest_report.info.references_ok == 8


def test_pipeline_and_rmia_online_with_one_to_four_references(cancer_splits):
    tr, te = cancer_splits
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1e3, max_iter=2000)).fit(
        features(tr), tr["label"]
    )
    for n_refs in (1, 2, 4):
        rep = mn.audit(
            clf,
            train=tr,
            test=te,
            target="label",
            attacks="rmia,rmia-offline",
            references=n_refs,
            n_jobs=1,
            progress=False,
        )
        assert rep.summary["AUC"].notna().all()
        assert rep.evidence["references"].signal.shape[1] == n_refs


def test_regressor_runs_lira_and_shadow_not_rmia():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    df = X.assign(progression=y)
    tr, te = df.iloc[::2], df.iloc[1::2]
    tree = DecisionTreeRegressor(random_state=0, min_samples_leaf=2).fit(
        tr.drop(columns="progression"), tr["progression"]
    )
    rep = mn.audit(
        tree, train=tr, test=te, target="progression", references=4, n_jobs=1, progress=False
    )
    assert {"loss", "lira", "lira-offline", "shadow"} <= set(rep.summary.index)
    assert "regressor" in rep.skipped["rmia"]
    assert rep.summary.loc["lira", "AUC"] > 0.6
    with pytest.raises(MiaValueError, match="cannot run on this model"):
        mn.audit(tree, train=tr, test=te, target="progression", attacks="rmia", references=2)


class NoFitModel:
    """predict_proba only (e.g. a wrapped remote model): nothing to retrain."""

    def __init__(self, inner):
        self.inner = inner
        self.classes_ = inner.classes_

    def predict_proba(self, X):
        return self.inner.predict_proba(X)


def test_model_without_fit_skips_reference_attacks_with_a_note(cancer_splits, logreg):
    tr, te = cancer_splits
    inner = logreg
    rep = mn.audit(
        NoFitModel(inner), train=tr, test=te, target="label", references=2, progress=False
    )
    assert "loss" in rep.summary.index
    for name in REFERENCE_ATTACKS:
        assert "has no fit method" in rep.skipped[name]
    assert "references" not in rep.evidence
    with pytest.raises(MiaValueError, match="cannot run on this model: needs reference"):
        mn.audit(NoFitModel(inner), train=tr, test=te, target="label", attacks="lira")


def test_lira_online_needs_two_references(cancer_splits, logreg):
    tr, te = cancer_splits
    clf = logreg
    with pytest.raises(MiaValueError, match="at least 2 reference models"):
        mn.audit(clf, train=tr, test=te, target="label", attacks="lira", references=1)
    rep = mn.audit(clf, train=tr, test=te, target="label", references=1, n_jobs=1, progress=False)
    assert "lira" in rep.skipped and "lira-offline" in rep.summary.index


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"references": 0}, MiaValueError, r"'references' parameter must be in \[1, 1024\]"),
        ({"references": "many"}, MiaTypeError, "'references' parameter must be an int"),
        ({"lira_variance": "wide"}, MiaValueError, "'lira_variance' parameter must be one"),
        ({"population": "df"}, MiaTypeError, "'population' parameter must be a pandas"),
        ({"n_jobs": 1.5}, MiaTypeError, "'n_jobs' parameter must be an int"),
        ({"progress": "yes"}, MiaTypeError, "'progress' parameter must be True, False"),
    ],
)
def test_bad_reference_options(cancer_splits, logreg, kwargs, exc, match):
    tr, te = cancer_splits
    clf = logreg
    with pytest.raises(exc, match=match):
        mn.audit(clf, train=tr, test=te, target="label", attacks="lira", **kwargs)


def test_population_missing_columns_is_an_error(cancer_splits, logreg):
    tr, te = cancer_splits
    clf = logreg
    with pytest.raises(MiaValueError, match="'population' dataframe has no column"):
        mn.audit(
            clf,
            train=tr,
            test=te,
            target="label",
            attacks="lira",
            population=te.drop(columns=["mean radius"]),
        )
    with pytest.raises(MiaValueError, match="'population' dataframe is empty"):
        mn.audit(clf, train=tr, test=te, target="label", population=te.iloc[:0])


def test_population_rows_train_references_and_serve_as_rmia_z(synth_three_way):
    train, test, extra = synth_three_way
    tr, te, pop = train.iloc[:600], test.iloc[:600], extra.iloc[:800]
    clf = RandomForestClassifier(n_estimators=20, random_state=0).fit(features(tr), tr["label"])
    rep = mn.audit(
        clf,
        train=tr,
        test=te,
        target="label",
        attacks="rmia,lira",
        references=4,
        population=pop,
        n_jobs=1,
        progress=False,
    )
    ev = rep.evidence["references"]
    assert ev.signal.shape == (1200, 4)
    assert ev.pop_signal.shape == (800, 4) and ev.pop_target.shape == (800,)
    assert rep.info.population_rows == 800
    assert rep.summary.loc["rmia", "AUC"] > 0.6
    assert isinstance(rep.scores, pd.DataFrame)


def test_population_the_model_cannot_take_is_reported(cancer_splits, logreg):
    tr, te = cancer_splits
    bad = te.copy()
    bad.iloc[0, 0] = np.nan  # the references cannot train on it
    rep = mn.audit(
        logreg,
        train=tr,
        test=te,
        target="label",
        attacks="rmia,loss",
        references=1,
        population=bad,
        n_jobs=1,
        progress=False,
    )
    assert list(rep.summary.index) == ["loss"]
    assert "All 1 reference model fits failed" in rep.skipped["rmia"]
    assert "Input X contains NaN" in rep.skipped["rmia"]
