"""outputs= what-ifs: parsing, exact transforms, skipped attacks, and "hiding never helps"."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import features, fingerprint
from sklearn.datasets import load_diabetes, make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

import mia_notebook as mn
from mia_notebook.engine import MiaTypeError, MiaValueError
from mia_notebook.engine.references import TransformedStatistic, logit_statistic
from mia_notebook.engine.target import TargetOutputs
from mia_notebook.engine.whatif import (
    OUTPUT_FORMS,
    OutputsForm,
    apply_outputs,
    parse_outputs,
    round_probs,
    topk_probs,
)

PROBA_ATTACKS = {
    "loss",
    "confidence",
    "logit",
    "entropy",
    "mentropy",
    "lira",
    "lira-offline",
    "rmia",
    "rmia-offline",
    "shadow",
}


# ----------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("proba", OutputsForm("proba")),
        ("label", OutputsForm("label")),
        ("topk:1", OutputsForm("topk", 1)),
        (" TopK : 3 ", OutputsForm("topk", 3)),
        ("round:2", OutputsForm("round", 2)),
        (None, OutputsForm("proba")),
    ],
)
def test_parse_valid_forms(text, form):
    assert parse_outputs(text) == form
    assert str(parse_outputs(str(form))) == str(form)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("probs", "['proba', 'label', 'topk:K', 'round:D']"),
        ("top1", "['proba', 'label', 'topk:K', 'round:D']"),
        ("round:-1", "D >= 1"),
        ("topk:0", "K >= 1"),
        ("round:0", "D >= 1"),
        ("topk", "needs a number"),
        ("label:2", "takes no parameter"),
    ],
)
def test_parse_bad_forms_name_the_fix(text, needle):
    with pytest.raises(MiaValueError, match="outputs") as e:
        parse_outputs(text)
    assert needle in str(e.value)
    assert list(OUTPUT_FORMS) == ["proba", "label", "topk:K", "round:D"]


def test_parse_wrong_type():
    with pytest.raises(MiaTypeError, match="must be a string"):
        parse_outputs(2)  # type: ignore[arg-type]


# ----------------------------------------------------------------- exact transforms
def test_topk_exact_values():
    p = np.array([[0.5, 0.3, 0.2], [0.05, 0.6, 0.35], [0.4, 0.4, 0.2]])
    np.testing.assert_allclose(
        topk_probs(p, 1), [[0.5, 0.25, 0.25], [0.2, 0.6, 0.2], [0.4, 0.3, 0.3]]
    )  # the tie in row 3 goes to the lower class index
    np.testing.assert_allclose(
        topk_probs(p, 2), [[0.5, 0.3, 0.2], [0.05, 0.6, 0.35], [0.4, 0.4, 0.2]]
    )
    q = np.array([[0.05, 0.6, 0.2, 0.15]])
    np.testing.assert_allclose(topk_probs(q, 2), [[0.1, 0.6, 0.2, 0.1]])
    np.testing.assert_allclose(topk_probs(q, 1), [[0.4 / 3, 0.6, 0.4 / 3, 0.4 / 3]])
    np.testing.assert_allclose(topk_probs(q, 4), q)
    assert topk_probs(q, 4) is not q
    np.testing.assert_allclose(topk_probs(p, 1).sum(axis=1), 1.0)


def test_topk_hidden_mass_never_negative():
    p = np.array([[0.7, 0.31, 0.0]])  # rows that sum above 1 (unnormalised model output)
    out = topk_probs(p, 2)
    np.testing.assert_allclose(out, [[0.7, 0.31, 0.0]])
    np.testing.assert_allclose(topk_probs(p, 1), [[0.7, 0.15, 0.15]])


def test_round_exact_values():
    p = np.array([[0.123456, 0.876544], [0.125, 0.875], [0.0004, 0.9996]])
    np.testing.assert_array_equal(round_probs(p, 2), [[0.12, 0.88], [0.12, 0.88], [0.0, 1.0]])
    np.testing.assert_array_equal(round_probs(p, 1), [[0.1, 0.9], [0.1, 0.9], [0.0, 1.0]])
    np.testing.assert_array_equal(round_probs(p, 3), [[0.123, 0.877], [0.125, 0.875], [0.0, 1.0]])


def _outputs() -> TargetOutputs:
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    return TargetOutputs(
        "proba",
        probs,
        probs.argmax(axis=1),
        np.array([0, 1]),
        None,
        np.array(["a", "b", "c"]),
        ["n"],
    )


def test_apply_outputs_new_object_input_unchanged():
    out = _outputs()
    before = out.probs.copy()
    lab = apply_outputs(out, OutputsForm("label"))
    assert lab.kind == "label" and lab.probs is None
    np.testing.assert_array_equal(lab.pred, [0, 2])
    np.testing.assert_array_equal(lab.correct, [True, False])
    top = apply_outputs(out, OutputsForm("topk", 1))
    np.testing.assert_allclose(top.probs, [[0.7, 0.15, 0.15], [0.2, 0.2, 0.6]])
    np.testing.assert_array_equal(out.probs, before)
    assert out.notes == ["n"] and len(top.notes) == 2
    assert apply_outputs(out, OutputsForm()) is out


# ----------------------------------------------------------------- through audit()
@pytest.fixture(scope="module")
def four_class():
    X, y = make_classification(
        n_samples=800, n_features=8, n_informative=5, n_classes=4, flip_y=0.05, random_state=3
    )
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(label=y)
    tr, te = train_test_split(df, test_size=0.5, random_state=0, stratify=y)
    model = RandomForestClassifier(n_estimators=30, random_state=0, n_jobs=1)
    model.fit(features(tr), tr["label"])
    return model, tr, te


def _audit(model, tr, te, **kw):
    kw.setdefault("references", 8)
    return mn.audit(model, train=tr, test=te, target="label", n_jobs=1, progress=False, **kw)


def _auc(report, name):
    return roc_auc_score(report.scores["member"], report.scores[name])


def _tpr_at(report, name, fpr=0.01):
    f, t, _ = roc_curve(report.scores["member"], report.scores[name])
    return float(t[f <= fpr].max())


def test_label_skips_probability_attacks_with_the_reason(four_class):
    model, tr, te = four_class
    rep = _audit(model, tr, te, outputs="label", attacks="all")
    # white-box attacks of other families (gradients, stored rows) are skipped too; the
    # forest's own (tree-*) hold the file, not the API, so outputs= does not hide them
    other_family = {"grad-norm", "grad-lira", "stored-match"}
    assert set(rep.skipped) == PROBA_ATTACKS | other_family
    probas = [r for a, r in rep.skipped.items() if a in PROBA_ATTACKS]
    assert all("outputs='label' shows predicted labels only" in r for r in probas)
    assert {"gap", "label-robust", "tree-leaves", "tree-lira"} <= set(rep.scores.columns)
    assert str(rep.options.outputs) == "label" and rep.info.model_kind == "proba"
    auto = _audit(model, tr, te, outputs="label")
    whitebox = {"tree-leaves", "tree-lira"}
    assert set(auto.scores.columns) == {"member", "gap", "label-robust", *whitebox}
    proba = _audit(model, tr, te)
    assert "label-robust" not in proba.scores.columns  # auto: only when labels are all


def test_reference_outputs_get_the_same_transform(four_class):
    model, tr, te = four_class
    rep = _audit(model, tr, te, outputs="round:1", attacks="lira")
    refs = rep.evidence["references"]
    y_idx = np.searchsorted(model.classes_, pd.concat([tr, te])["label"].to_numpy())
    want = logit_statistic(
        round_probs(model.predict_proba(features(pd.concat([tr, te]))), 1), y_idx
    )
    np.testing.assert_allclose(refs.target, want)
    # the references' probabilities were rounded too: each statistic is log(a) - log(b)
    # with a = p_y and b = the other classes' sum, both multiples of 0.1 (clipped at 1e-12)
    tenths = np.maximum(np.arange(0, 31) / 10, 1e-12)
    possible = np.unique(np.round(np.log(tenths)[:, None] - np.log(tenths)[None, :], 3))
    got = np.unique(np.round(refs.signal.astype(np.float64), 3))
    assert np.isin(got, possible).all()
    assert len(got) > 5
    stat = TransformedStatistic(OutputsForm("topk", 1))
    Xs = features(tr)
    np.testing.assert_allclose(
        stat(model, Xs, tr["label"].to_numpy(), "proba"),
        logit_statistic(
            topk_probs(model.predict_proba(Xs), 1),
            np.searchsorted(model.classes_, tr["label"].to_numpy()),
        ),
    )


def _tolerance(report) -> tuple[float, float]:
    """3 sigma of an AUC (Hanley-McNeil at 0.5, the widest) and of a TPR (binomial)."""
    n1 = int(report.scores["member"].sum())
    n0 = len(report.scores) - n1
    return 3 * math.sqrt((n0 + n1 + 1) / (12 * n0 * n1)), 3 * 0.5 / math.sqrt(n1)


@pytest.mark.parametrize("form", ["label", "topk:1", "topk:2", "round:1", "round:2"])
def test_hiding_never_makes_the_strongest_attack_stronger(four_class, form):
    model, tr, te = four_class
    full = _audit(model, tr, te, attacks="all")
    less = _audit(model, tr, te, attacks="all", outputs=form)
    tol_auc, tol_tpr = _tolerance(full)
    names_full = [c for c in full.scores.columns if c != "member"]
    names_less = [c for c in less.scores.columns if c != "member"]
    best_full = max(_auc(full, n) for n in names_full)
    best_less = max(_auc(less, n) for n in names_less)
    assert best_less <= best_full + tol_auc, (form, best_less, best_full)
    tpr_full = max(_tpr_at(full, n) for n in names_full)
    tpr_less = max(_tpr_at(less, n) for n in names_less)
    assert tpr_less <= tpr_full + tol_tpr, (form, tpr_less, tpr_full)
    assert best_full > 0.6  # an overfit forest: there is something to hide


def test_label_changes_strongest_attack_downwards(four_class):
    model, tr, te = four_class
    full = _audit(model, tr, te, attacks="lira,gap")
    less = _audit(model, tr, te, outputs="label")
    assert _auc(less, "gap") == pytest.approx(_auc(full, "gap"))  # same labels
    assert max(_auc(less, "gap"), _auc(less, "label-robust")) < _auc(full, "lira")


def test_topk_at_least_classes_warns_and_audits_proba(four_class):
    model, tr, te = four_class
    full = _audit(model, tr, te, attacks="loss,lira")
    with pytest.warns(UserWarning, match=r"hides nothing.*4 classes"):
        same = _audit(model, tr, te, attacks="loss,lira", outputs="topk:4")
    pd.testing.assert_frame_equal(full.scores, same.scores)
    assert str(same.options.outputs) == "proba"


def test_decision_function_model_is_transformed(four_class):
    _, tr, te = four_class
    svc = LinearSVC(random_state=0).fit(features(tr), tr["label"])
    rep = _audit(svc, tr, te, attacks="confidence", outputs="topk:1", references=2)
    both = pd.concat([tr, te])
    dec = svc.decision_function(features(both))
    soft = np.exp(dec - dec.max(axis=1, keepdims=True))
    soft /= soft.sum(axis=1, keepdims=True)
    want = topk_probs(soft, 1)[np.arange(len(both)), both["label"].to_numpy()]
    np.testing.assert_allclose(rep.scores["confidence"].to_numpy(), want)
    assert rep.info.model_kind == "decision" and str(rep.options.outputs) == "topk:1"


def test_regressor_with_label_is_refused():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    df = X.assign(label=y)
    tr, te = df.iloc[:200], df.iloc[200:400]
    reg = LinearRegression().fit(features(tr), tr["label"])
    for form in ("label", "round:2", "topk:1"):
        with pytest.raises(MiaValueError, match=r"regressor.*outputs='proba'"):
            _audit(reg, tr, te, outputs=form)


def test_predict_only_model_refuses_probability_forms(cancer_splits):
    tr, te = cancer_splits

    class PredictOnly:
        def __init__(self, model):
            self.model = model
            self.classes_ = model.classes_

        def predict(self, X):
            return self.model.predict(X)

    inner = LogisticRegression(max_iter=2000).fit(features(tr), tr["label"])
    model = PredictOnly(inner)
    with pytest.raises(MiaValueError, match=r"only predict.*Use outputs='label' or 'proba'"):
        _audit(model, tr, te, outputs="round:2", features=list(features(tr).columns))
    rep = _audit(model, tr, te, outputs="label", features=list(features(tr).columns))
    assert "gap" in rep.scores.columns


def test_unknown_form_through_audit_lists_forms(four_class):
    model, tr, te = four_class
    with pytest.raises(MiaValueError, match=r"one of \['proba', 'label', 'topk:K', 'round:D'\]"):
        _audit(model, tr, te, outputs="top-1")


def test_model_and_frames_untouched(four_class):
    model, tr, te = four_class
    before = [fingerprint(model), fingerprint(tr), fingerprint(te)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for form in ("label", "topk:2", "round:1"):
            _audit(model, tr, te, outputs=form, attacks="all")
    assert [fingerprint(model), fingerprint(tr), fingerprint(te)] == before


# ----------------------------------------------------------------- the magic
def test_magic_outputs_option(cancer_splits):
    """``--outputs`` and ``%config MiaAudit.outputs`` (no global IPython shell here)."""
    from IPython.core.error import UsageError
    from traitlets import TraitError

    from mia_notebook.magics import MiaAudit

    tr, te = cancer_splits
    model = RandomForestClassifier(n_estimators=20, random_state=0, n_jobs=1)
    ns = {"clf": model.fit(features(tr), tr["label"]), "tr": tr, "te": te}
    magics = MiaAudit(shell=None)
    magics.progress = False
    line = "clf --train tr --test te --target label --references 2 --n-jobs 1"
    rep = magics.mia_audit(line + " --outputs label", local_ns=ns)
    assert str(rep.options.outputs) == "label"
    # the forest's white-box attacks read the file, which outputs= does not restrict
    assert set(rep.scores.columns) == {"member", "gap", "label-robust", "tree-leaves", "tree-lira"}
    with pytest.raises(UsageError, match=r"one of \['proba', 'label', 'topk:K', 'round:D'\]"):
        magics.mia_audit(line + " --outputs top1", local_ns=ns)
    magics.outputs = "round:1"  # what %config MiaAudit.outputs = 'round:1' does
    assert str(magics.mia_audit(line + " --attacks loss", local_ns=ns).options.outputs) == "round:1"
    with pytest.raises(TraitError, match="D >= 1"):
        magics.outputs = "round:0"
