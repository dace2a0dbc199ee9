"""compare(): the same numbers as single audits, summary columns, deltas, errors, the
magic form and the rendered page."""

from __future__ import annotations

import base64
import math
import re

import numpy as np
import pandas as pd
import pytest
from conftest import NON_DEFAULT, features, fingerprint, with_patients
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

import mia_notebook as mn
from mia_notebook.engine import MiaTypeError, MiaValueError
from mia_notebook.engine.metrics import tpr_at_fpr

OPTS = {"references": 4, "n_jobs": 1, "progress": False, "seed": 0}


@pytest.fixture(autouse=True)
def _fresh_cache():
    mn.clear_cache()
    yield
    mn.clear_cache()


@pytest.fixture(scope="module")
def fitted(cancer_splits):
    tr, _ = cancer_splits
    X = features(tr)
    rf = RandomForestClassifier(n_estimators=25, random_state=0, n_jobs=1).fit(X, tr["label"])
    lr = LogisticRegression(max_iter=3000).fit(X, tr["label"])
    return rf, lr


@pytest.fixture(scope="module")
def cmp(cancer_splits, fitted):
    tr, te = cancer_splits
    rf, lr = fitted
    models = {"forest": rf, "logreg": lr, "forest, labels": (rf, "label")}
    return mn.compare(models, train=tr, test=te, target="label", **OPTS)


def test_numbers_equal_single_audits(cmp, cancer_splits, fitted):
    tr, te = cancer_splits
    rf, lr = fitted
    mn.clear_cache()
    singles = {
        "forest": mn.audit(rf, train=tr, test=te, target="label", **OPTS),
        "logreg": mn.audit(lr, train=tr, test=te, target="label", **OPTS),
        "forest, labels": mn.audit(rf, train=tr, test=te, target="label", outputs="label", **OPTS),
    }
    summ = cmp.summary
    fpr = cmp.fpr
    for name, single in singles.items():
        pd.testing.assert_frame_equal(cmp.reports[name].scores, single.scores)
        assert summ.loc[name, "level"] == single.verdict.level
        assert summ.loc[name, "epsilon_lb"] == single.verdict.evidence["epsilon_lb"]
        attack = summ.loc[name, "attack"]
        if single.verdict.attack is not None:
            assert attack == single.verdict.attack
        # TPR at the comparison's FPR, from the attack's scores (slow reference: a loop)
        scores = single.scores[attack].to_numpy()
        members = single.scores["member"].to_numpy()
        neg = np.sort(scores[~members])[::-1]
        k = math.floor(fpr * neg.size + 1e-9)  # non-members allowed above threshold
        best = 0.0
        for thr in np.unique(scores):
            if (neg >= thr).sum() <= k:
                best = max(best, float((scores[members] >= thr).mean()))
        assert summ.loc[name, "tpr"] == pytest.approx(best)
        point = tpr_at_fpr(single.roc_curves()[attack], fpr, single.options.confidence)
        assert (summ.loc[name, "tpr_low"], summ.loc[name, "tpr_high"]) == point.interval


def test_utility_matches_sklearn(cmp, cancer_splits, fitted):
    _, te = cancer_splits
    rf, lr = fitted
    X, y = features(te), te["label"]
    summ = cmp.summary
    for name, model in (("forest", rf), ("logreg", lr)):
        assert summ.loc[name, "accuracy"] == pytest.approx(accuracy_score(y, model.predict(X)))
        auc = roc_auc_score(y, model.predict_proba(X)[:, 1])
        assert summ.loc[name, "roc_auc"] == pytest.approx(auc)
    # a labels-only API keeps the labels (same accuracy) and shows no scores (no ROC AUC)
    assert summ.loc["forest, labels", "accuracy"] == summ.loc["forest", "accuracy"]
    assert math.isnan(summ.loc["forest, labels", "roc_auc"])


def test_utility_auc_equals_sklearn_with_ties_and_several_classes():
    from mia_notebook.engine.utility import _proba_auc, binary_auc

    rng = np.random.default_rng(0)
    y = rng.random(3000) < 0.4
    scores = np.round(rng.random(3000) + 0.3 * y, 2)  # many ties
    assert binary_auc(y, scores) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    y3 = rng.integers(0, 3, 900)
    probs = rng.dirichlet(np.ones(3), 900) + np.eye(3)[y3] * 0.2
    norm = probs / probs.sum(axis=1, keepdims=True)
    expected = roc_auc_score(y3, norm, multi_class="ovr")
    assert _proba_auc(y3, probs) == pytest.approx(expected, abs=1e-12)


def test_summary_columns_and_order(cmp):
    summ = cmp.summary
    assert list(summ.index) == ["forest", "logreg", "forest, labels"]
    assert summ.index.name == "model"
    assert summ.loc["forest", "estimator"] == "RandomForestClassifier"
    for col in ("level", "accuracy", "roc_auc", "tpr", "tpr_low", "tpr_high", "epsilon_lb"):
        assert col in summ.columns
    assert set(summ["level"]) <= set(mn.LEVELS)
    assert list(summ["outputs"]) == ["proba", "proba", "label"]
    assert (summ["tpr_low"] <= summ["tpr"]).all() and (summ["tpr"] <= summ["tpr_high"]).all()
    # 285 non-members resolve FPR 0.01 but not 0.001: the largest resolvable policy FPR
    assert cmp.fpr == 0.01 and (summ["fpr"] == 0.01).all()


def test_deltas_against_the_first_model(cmp):
    summ, deltas = cmp.summary, cmp.deltas
    assert cmp.baseline == "forest"
    assert (deltas.loc["forest"].fillna(0) == 0).all()
    for col in ("accuracy", "tpr", "epsilon_lb"):
        expected = summ[col] - summ.loc["forest", col]
        pd.testing.assert_series_equal(deltas[col], expected.astype(float), check_names=False)
    steps = [
        mn.LEVELS.index(v) - mn.LEVELS.index(summ.loc["forest", "level"]) for v in summ["level"]
    ]
    assert list(deltas["level_change"]) == steps


def test_riskiest_and_verdict_line(cmp):
    summ = cmp.summary
    top = max(mn.LEVELS.index(v) for v in summ["level"])
    assert mn.LEVELS.index(summ.loc[cmp.riskiest, "level"]) == top
    line = cmp.verdict_line
    for name, level in summ["level"].items():
        assert f"{name}: {level}" in line
    if top > 0:
        assert line.startswith(f"Riskiest: {cmp.riskiest} (")


def test_riskiest_tie_goes_to_the_earlier_model(cancer_splits, fitted):
    tr, te = cancer_splits
    rf, _ = fitted
    kw = {"train": tr, "test": te, "target": "label", "attacks": "loss", "progress": False}
    same = mn.compare({"a": rf, "b": (rf, "proba")}, **kw)
    assert same.riskiest == "a"
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(features(tr), tr["label"])
    piped = mn.compare({"p": pipe}, **kw)
    assert piped.summary.loc["p", "estimator"] == "Pipeline(LogisticRegression)"


def test_html_has_table_both_plots_and_verdict_first(cmp):
    html = cmp._repr_mimebundle_()["text/html"]
    body = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    first_text = re.sub(r"<[^>]+>", "\n", body).strip().splitlines()[0]
    assert first_text == cmp.verdict_line.replace("&", "&amp;")
    assert body.count("<table") == 2  # models and deltas
    for name in cmp.reports:
        assert f">{name}<" in body
    pngs = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", body)
    assert len(pngs) == 2
    assert all(base64.b64decode(p)[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert "ROC curve of each model" in body and "Utility against TPR" in body
    assert repr(cmp).splitlines()[0] == cmp.verdict_line


def test_one_query_of_the_model_per_audit(cancer_splits):
    """Utility comes from the audits' cached outputs: no further predict call."""
    tr, te = cancer_splits

    class Counting(RandomForestClassifier):
        calls = 0

        def predict_proba(self, X):
            type(self).calls += 1
            return super().predict_proba(X)

    model = Counting(n_estimators=10, random_state=0, n_jobs=1).fit(features(tr), tr["label"])
    mn.audit(model, train=tr, test=te, target="label", attacks="loss", progress=False)
    single = Counting.calls
    mn.clear_cache()
    Counting.calls = 0
    mn.compare({"m": model}, train=tr, test=te, target="label", attacks="loss", progress=False)
    assert Counting.calls == single


def test_regressors_report_r2_and_refuse_label():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    df = X.assign(progression=y)
    tr, te = df.iloc[::2], df.iloc[1::2]
    Xtr = tr.drop(columns="progression")
    tree = DecisionTreeRegressor(random_state=0).fit(Xtr, tr["progression"])
    lin = LinearRegression().fit(Xtr, tr["progression"])
    kw = {"train": tr, "test": te, "target": "progression", "attacks": "loss", "progress": False}
    c = mn.compare({"tree": tree, "linear": lin}, **kw)
    assert "r2" in c.summary.columns and "accuracy" not in c.summary.columns
    Xte = te.drop(columns="progression")
    assert c.summary.loc["linear", "r2"] == pytest.approx(
        r2_score(te["progression"], lin.predict(Xte))
    )
    with pytest.raises(MiaValueError, match="Model 'tree': outputs='label' applies to classifiers"):
        mn.compare({"linear": lin, "tree": (tree, "label")}, **kw)


@pytest.mark.parametrize(
    ("models", "error", "needle"),
    [
        ({}, MiaValueError, "'models' parameter is empty"),
        ([("a", 1), ("a", 2)], MiaValueError, "model name 'a' appears twice"),
        ({"a": ("x", "label", 3)}, MiaValueError, "(model, outputs) pair"),
        ("rf", MiaTypeError, "mapping of name to model"),
    ],
)
def test_bad_models_argument(cancer_splits, models, error, needle):
    tr, te = cancer_splits
    with pytest.raises(error, match=re.escape(needle)):
        mn.compare(models, train=tr, test=te, target="label", progress=False)


def test_bad_outputs_form_names_the_model(cancer_splits, fitted):
    tr, te = cancer_splits
    rf, _ = fitted
    with pytest.raises(MiaValueError, match=r"Model 'x': .*'topk:K'"):
        mn.compare({"x": (rf, "top1")}, train=tr, test=te, target="label")


def test_models_with_different_features(cancer_splits):
    tr, te = cancer_splits
    cols = list(features(tr).columns)
    small = LogisticRegression(max_iter=3000).fit(tr[cols[:5]], tr["label"])
    big = LogisticRegression(max_iter=3000).fit(tr[cols], tr["label"])
    kw = {"train": tr, "test": te, "target": "label", "attacks": "loss", "progress": False}
    c = mn.compare({"big": big, "small": small}, **kw)  # each model's own columns
    assert list(c.reports["small"].info.features) == cols[:5]
    assert any("different feature columns" in n for n in c.notes)
    # a shared features= that does not fit one model: the error says per-model features
    with pytest.raises(MiaValueError, match=r"Model 'small'.*features=\{'small'"):
        mn.compare({"big": big, "small": small}, features=cols, **kw)
    per_model = mn.compare({"big": big, "small": small}, features={"small": cols[:5]}, **kw)
    assert list(per_model.reports["small"].info.features) == cols[:5]


def test_inputs_untouched(cancer_splits, fitted):
    tr, te = cancer_splits
    rf, lr = fitted
    before = [fingerprint(rf), fingerprint(lr), fingerprint(tr), fingerprint(te)]
    mn.compare({"a": rf, "b": (lr, "round:1")}, train=tr, test=te, target="label", **OPTS)
    assert [fingerprint(rf), fingerprint(lr), fingerprint(tr), fingerprint(te)] == before


def test_magic_compares_models(cancer_splits, fitted):
    from IPython.core.error import UsageError

    from mia_notebook.magics import MiaAudit

    tr, te = cancer_splits
    rf, lr = fitted
    ns = {"rf": rf, "lr": lr, "tr": tr, "te": te}
    magics = MiaAudit(shell=None)
    magics.progress = False
    line = "--train tr --test te --target label --references 4 --n-jobs 1"
    c = magics.mia_audit(f"rf,lr,rf:label {line}", local_ns=ns)
    assert isinstance(c, mn.ComparisonReport)
    assert list(c.summary.index) == ["rf", "lr", "rf:label"]
    assert c.summary.loc["rf:label", "outputs"] == "label"
    direct = mn.compare(
        {"rf": rf, "lr": lr, "rf:label": (rf, "label")}, train=tr, test=te, target="label", **OPTS
    )
    pd.testing.assert_frame_equal(c.summary, direct.summary)
    with pytest.raises(UsageError, match="appears twice"):
        magics.mia_audit(f"rf,rf {line}", local_ns=ns)
    with pytest.raises(UsageError, match="No variable named 'nope'"):
        magics.mia_audit(f"rf,nope {line}", local_ns=ns)
    with pytest.raises(UsageError, match="Model 'rf:top1'"):
        magics.mia_audit(f"rf,rf:top1 {line}", local_ns=ns)


# ------------------------------------------------------------- options and saved reports
def test_compare_carries_every_option(cancer_splits):
    tr, te = with_patients(*cancer_splits)
    cols = list(NON_DEFAULT["features"])
    small = LogisticRegression(max_iter=5000).fit(tr[cols], tr["label"])
    opts = mn.AuditOptions(**NON_DEFAULT)
    models = {"a": small, "b": (small, "topk:1")}
    c = mn.compare(models, train=tr, test=te, target="label", options=opts, progress=False)
    assert c.reports["a"].options == opts
    assert c.reports["b"].options == opts.replace(outputs="topk:1")
    by_keyword = mn.compare(
        models, train=tr, test=te, target="label", progress=False, **NON_DEFAULT
    )
    assert [r.options for r in by_keyword.reports.values()] == [
        r.options for r in c.reports.values()
    ]


def test_compare_takes_saved_reports_next_to_fitted_models(cancer_splits, fitted, tmp_path):
    tr, te = cancer_splits
    rf, lr = fitted
    kw = {"train": tr, "test": te, "target": "label", **OPTS}
    mn.audit(lr, **kw).save(tmp_path / "v1.mia")
    loaded = mn.load(tmp_path / "v1.mia")
    c = mn.compare({"v1": loaded, "v2": rf}, **kw)
    fresh = mn.compare({"v1": lr, "v2": rf}, **kw)
    pd.testing.assert_frame_equal(c.summary, fresh.summary)
    pd.testing.assert_frame_equal(c.deltas, fresh.deltas)
    assert c.reports["v1"] is loaded and c.notes == fresh.notes == ()
    # a saved report is judged under the comparison's policy, from its saved scores
    strict = {"tpr_elevated": 0.9, "tpr_high": 1.0, "epsilon_elevated": 50, "epsilon_high": 60}
    judged = mn.compare({"v1": loaded, "v2": rf}, policy=strict, **kw).reports["v1"]
    assert judged.scores is loaded.scores
    again = loaded.with_options(policy=strict).verdict
    assert judged.verdict.to_dict() == again.to_dict() and judged.verdict.policy.tpr_high == 1.0
    # other compute options or other records: said in the notes
    other = mn.audit(lr, **{**kw, "seed": 5})
    notes = mn.compare({"old": other, "new": rf}, **kw).notes
    assert notes == ("'old' was audited with other options: seed.",)
    with pytest.raises(MiaValueError, match="Model 'v1': a report's outputs are the ones"):
        mn.compare({"v1": (loaded, "label")}, **kw)
