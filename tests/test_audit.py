"""End-to-end audits of real scikit-learn models through the Python API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import features, fingerprint
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeRegressor

import mia_notebook as mn
from mia_notebook.engine import MiaTypeError, MiaValueError

THRESHOLD_ATTACKS = ["loss", "confidence", "logit", "entropy", "mentropy", "gap"]


def audit(model, **kwargs):
    """mn.audit with the threshold attacks unless a test asks for others (keeps tests fast;
    the reference attacks have their own tests)."""
    kwargs.setdefault("attacks", THRESHOLD_ATTACKS)
    return mn.audit(model, **kwargs)


def test_membership_independent_model_audits_as_chance(synth_three_way):
    """Model trained on a third split; 'members' and 'non-members' are both unseen."""
    fit_part, fake_members, nonmembers = synth_three_way
    clf = RandomForestClassifier(n_estimators=50, random_state=0).fit(
        features(fit_part), fit_part["label"]
    )
    rep = audit(clf, train=fake_members, test=nonmembers, target="label", attacks=THRESHOLD_ATTACKS)
    summ = rep.summary
    assert list(summ.index) == THRESHOLD_ATTACKS
    assert (summ["AUC"] - 0.5).abs().max() < 0.03
    assert (summ["epsilon_lb"] == 0.0).all()


def test_overfit_model_audits_far_above_chance(synth_three_way):
    train, test, _ = synth_three_way
    knn = KNeighborsClassifier(n_neighbors=1).fit(features(train), train["label"])
    rep = audit(knn, train=train, test=test, target="label")
    # 1-NN is always right on its members, so the gap attack's AUC is 1 - test_acc / 2.
    test_acc = knn.score(features(test), test["label"])
    assert rep.summary.loc["gap", "AUC"] == pytest.approx(1 - test_acc / 2)
    assert rep.summary.loc["gap", "AUC"] > 0.55
    assert rep.summary["epsilon_lb"].max() > 0.5
    forest = RandomForestClassifier(n_estimators=50, random_state=0).fit(
        features(train), train["label"]
    )
    rep = audit(forest, train=train, test=test, target="label")
    assert rep.summary.loc["loss", "AUC"] > 0.7


def test_scores_match_hand_computation_and_sklearn_auc(cancer_splits):
    tr, te = cancer_splits
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=100, max_iter=5000)).fit(
        features(tr), tr["label"]
    )
    rep = audit(clf, train=tr, test=te, target="label")
    probs = np.r_[clf.predict_proba(features(tr)), clf.predict_proba(features(te))]
    y = np.r_[tr["label"], te["label"]]
    p_y = probs[np.arange(len(y)), y]
    np.testing.assert_allclose(rep.scores["confidence"], p_y)
    np.testing.assert_allclose(rep.scores["loss"], np.log(np.maximum(p_y, 1e-12)))
    members = rep.scores["member"].to_numpy()
    assert members[: len(tr)].all() and not members[len(tr) :].any()
    for name in THRESHOLD_ATTACKS:
        assert rep.summary.loc[name, "AUC"] == pytest.approx(
            roc_auc_score(members, rep.scores[name])
        )
    # The scores keep the rows' original index labels.
    assert list(rep.scores.loc["train"].index) == list(tr.index)


def test_audit_never_changes_model_or_frames(cancer_splits):
    tr, te = cancer_splits
    clf = RandomForestClassifier(n_estimators=20, random_state=0).fit(features(tr), tr["label"])
    before = [fingerprint(o) for o in (clf, tr, te)]
    rep = audit(clf, train=tr, test=te, target="label", slice="mean radius", redact=["mean area"])
    rep.flagged(5)
    rep.slices("mean radius")
    rep.to_html()
    assert [fingerprint(o) for o in (clf, tr, te)] == before


def _census_like(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    job = rng.choice(["clerk", "nurse", "engineer", "farmer"], n)
    age = rng.integers(18, 80, n)
    hours = rng.normal(40, 8, n).round()
    logit = 0.04 * (age - 45) + 0.05 * (hours - 40) + (job == "engineer") * 1.0
    label = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), ">50K", "<=50K")
    return pd.DataFrame({"age": age, "job": job, "hours": hours, "income": label})


def test_pipeline_with_string_categoricals_and_string_labels():
    df = _census_like(3000, 0)
    tr, te = df.iloc[:1500], df.iloc[1500:]
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["job"])], remainder="passthrough"
    )
    clf = make_pipeline(pre, RandomForestClassifier(n_estimators=30, random_state=0))
    clf.fit(tr.drop(columns="income"), tr["income"])
    rep = audit(clf, train=tr, test=te, target="income", slice="job")
    assert list(rep.info.features) == ["age", "job", "hours"]
    assert rep.summary.loc["loss", "AUC"] > 0.6
    sl = rep.slices("job")
    assert set(sl.index) == {"clerk", "nurse", "engineer", "farmer"}
    assert sl["members"].sum() == 1500 and sl["non_members"].sum() == 1500
    per_class = rep.slices()
    assert set(per_class.index) == {">50K", "<=50K"}


def test_multiclass_and_hist_gradient_boosting():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True, as_frame=True)
    df = X.assign(digit=y)
    tr, te = df.iloc[::2], df.iloc[1::2]
    clf = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(
        tr.drop(columns="digit"), tr["digit"]
    )
    rep = audit(clf, train=tr, test=te, target="digit")
    assert rep.summary.loc["loss", "AUC"] > 0.6
    assert len(rep.slices()) == 10


def test_decision_function_only_model(cancer_splits):
    tr, te = cancer_splits
    svm = make_pipeline(StandardScaler(), LinearSVC(C=10, max_iter=20000)).fit(
        features(tr), tr["label"]
    )
    assert not hasattr(svm, "predict_proba")
    rep = audit(svm, train=tr, test=te, target="label")
    assert rep.info.model_kind == "decision"
    assert any("decision_function" in n for n in rep.notes)
    # sigmoid is monotone: the confidence attack ranks exactly like the signed margin
    margin = np.r_[svm.decision_function(features(tr)), svm.decision_function(features(te))]
    y = np.r_[tr["label"], te["label"]]
    signed = np.where(y == 1, margin, -margin)
    members = rep.scores["member"].to_numpy()
    assert rep.summary.loc["confidence", "AUC"] == pytest.approx(roc_auc_score(members, signed))


class LabelOnlyModel:
    """A duck-typed model that only predicts labels (e.g. a remote API)."""

    def __init__(self, inner):
        self.inner = inner

    def predict(self, X):
        return self.inner.predict(X)


class DuckProbaModel:
    """A duck-typed model with predict_proba and classes_ (like a GBM library wrapper)."""

    def __init__(self, inner):
        self.inner = inner
        self.classes_ = inner.classes_

    def predict_proba(self, X):
        return self.inner.predict_proba(np.asarray(X))


def test_predict_only_model_runs_label_only_attack(cancer_splits):
    tr, te = cancer_splits
    inner = RandomForestClassifier(n_estimators=20, random_state=0).fit(features(tr), tr["label"])
    rep = audit(LabelOnlyModel(inner), train=tr, test=te, target="label", attacks="auto")
    assert list(rep.summary.index) == ["gap", "label-robust"]
    assert {"loss", "confidence", "logit", "entropy", "mentropy"} <= set(rep.skipped)
    assert "lira" in rep.skipped  # reference attacks need probabilities (and fit)
    assert "predicted labels only" in rep.skipped["loss"]
    assert "Not run" in rep.to_html()
    with pytest.raises(MiaValueError, match="cannot run on this model"):
        audit(LabelOnlyModel(inner), train=tr, test=te, target="label", attacks="loss")


def test_duck_typed_proba_model(cancer_splits):
    tr, te = cancer_splits
    inner = RandomForestClassifier(n_estimators=20, random_state=0).fit(
        features(tr).to_numpy(), tr["label"]
    )
    rep = audit(DuckProbaModel(inner), train=tr, test=te, target="label")
    assert rep.info.model_kind == "proba"
    assert rep.summary.loc["loss", "AUC"] > 0.55


def test_regressor_uses_squared_error_loss():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    df = X.assign(progression=y)
    tr, te = df.iloc[::2], df.iloc[1::2]
    tree = DecisionTreeRegressor(random_state=0).fit(
        tr.drop(columns="progression"), tr["progression"]
    )
    rep = audit(tree, train=tr, test=te, target="progression", attacks="all", references=4)
    assert "loss" in rep.summary.index and "lira" in rep.summary.index
    assert {"confidence", "entropy", "gap"} <= set(rep.skipped)  # need class probabilities
    pred = tree.predict(te.drop(columns="progression"))
    np.testing.assert_allclose(
        rep.scores.loc["test", "loss"], -((pred - te["progression"].to_numpy()) ** 2)
    )
    assert rep.summary.loc["loss", "AUC"] > 0.9  # unpruned tree: zero error on members
    ridge = Ridge().fit(tr.drop(columns="progression"), tr["progression"])
    assert (
        audit(ridge, train=tr, test=te, target="progression", attacks="loss").summary.loc[
            "loss", "AUC"
        ]
        < 0.6
    )


def test_model_fitted_on_numpy_gets_numpy(cancer_splits):
    tr, te = cancer_splits
    clf = LogisticRegression(max_iter=5000).fit(features(tr).to_numpy(), tr["label"])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X has feature names" warning
        audit(clf, train=tr, test=te, target="label")


def test_with_options_reuses_scores(cancer_splits):
    tr, te = cancer_splits
    clf = RandomForestClassifier(n_estimators=20, random_state=0).fit(features(tr), tr["label"])
    rep = audit(clf, train=tr, test=te, target="label")
    rep2 = rep.with_options(fpr=[0.05], flag=3, show=["loss", "gap"])
    assert rep2.scores is rep.scores
    assert list(rep2.summary.columns[:2]) == ["AUC", "TPR@5%FPR"]
    assert list(rep2.summary.index) == ["loss", "gap"]
    assert len(rep2.flagged(attack="loss")) == 3  # an explicit ranking honours --flag
    with pytest.raises(MiaValueError, match="fpr"):
        rep.with_options(fpr=[1.5])


def test_same_seed_same_numbers(cancer_splits):
    tr, te = cancer_splits
    clf = RandomForestClassifier(n_estimators=20, random_state=0).fit(features(tr), tr["label"])
    a = audit(clf, train=tr, test=te, target="label", seed=3)
    mn.clear_cache()
    b = audit(clf, train=tr, test=te, target="label", seed=3)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.scores, b.scores)


# ----------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def fitted(cancer_splits):
    tr, _ = cancer_splits
    return LogisticRegression(max_iter=5000).fit(features(tr), tr["label"])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"target": "nope"}, MiaValueError, "no column"),
        ({"fpr": [1.5]}, MiaValueError, r"'fpr' parameter must be in \(0, 1\). Got 1.5"),
        ({"fpr": 0}, MiaValueError, "'fpr' parameter must be in"),
        ({"flag": -1}, MiaValueError, "'flag' parameter must be >= 0"),
        ({"seed": "x"}, MiaTypeError, "'seed' parameter must be an int"),
        ({"attacks": "lira2"}, MiaValueError, "Unknown attack 'lira2'"),
        ({"slice": "nope"}, MiaValueError, "Cannot slice by 'nope'"),
        ({"redact": ["nope"]}, MiaValueError, "Cannot redact"),
        ({"features": ["mean radius"]}, MiaValueError, "do not match the columns"),
    ],
)
def test_bad_options_raise_clear_errors(cancer_splits, fitted, kwargs, exc, match):
    tr, te = cancer_splits
    args = {"train": tr, "test": te, "target": "label", **kwargs}
    with pytest.raises(exc, match=match):
        audit(fitted, **args)


def test_bad_data_raises_clear_errors(cancer_splits, fitted):
    tr, te = cancer_splits
    with pytest.raises(MiaValueError, match="'train' dataframe is empty"):
        audit(fitted, train=tr.iloc[:0], test=te, target="label")
    with pytest.raises(MiaTypeError, match="must be a pandas DataFrame"):
        audit(fitted, train=tr.to_numpy(), test=te, target="label")
    with pytest.raises(MiaValueError, match="single class"):
        audit(fitted, train=tr[tr["label"] == 1], test=te, target="label")
    with pytest.raises(MiaValueError, match="appear in both train and test"):
        audit(fitted, train=tr, test=pd.concat([te, tr.iloc[:5]]), target="label")
    with pytest.raises(MiaValueError, match="has no column"):
        audit(fitted, train=tr, test=te.drop(columns="mean radius"), target="label")
    with pytest.raises(MiaValueError, match="missing value"):
        bad = te.copy()
        bad.iloc[0, bad.columns.get_loc("label")] = np.nan
        audit(fitted, train=tr, test=bad, target="label")


def test_bad_models_raise_clear_errors(cancer_splits):
    tr, te = cancer_splits
    with pytest.raises(MiaTypeError, match="got the class RandomForestClassifier"):
        audit(RandomForestClassifier, train=tr, test=te, target="label")
    with pytest.raises(MiaValueError, match="is not fitted"):
        audit(RandomForestClassifier(), train=tr, test=te, target="label")
    with pytest.raises(MiaTypeError, match="predict_proba, decision_function or predict"):
        audit(object(), train=tr, test=te, target="label")


def test_nan_the_model_cannot_take(cancer_splits, fitted):
    tr, te = cancer_splits
    bad = te.copy()
    bad.iloc[3, 0] = np.nan
    with pytest.raises(mn.ModelPredictionError, match=r"ValueError in predict_proba on the 'test'"):
        audit(fitted, train=tr, test=bad, target="label")


def test_reset_index_splits_are_not_mistaken_for_shared_rows(cancer_splits, fitted):
    tr, te = cancer_splits
    rep = audit(
        fitted, train=tr.reset_index(drop=True), test=te.reset_index(drop=True), target="label"
    )
    assert rep.info.n_members == len(tr)


# ------------------------------------------------------------- attack registry
@pytest.fixture
def own_registry(monkeypatch):
    """A copy of the attack registry, so attacks registered by a test do not leak."""
    from mia_notebook.engine import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


@pytest.fixture(scope="module")
def scaled(cancer_splits):
    """A logistic regression that converges fast (reference models refit it)."""
    tr, _ = cancer_splits
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(features(tr), tr["label"])


def test_a_registered_attack_runs_by_name_and_never_sees_membership(
    cancer_splits, scaled, own_registry
):
    from dataclasses import fields

    from mia_notebook.engine.attacks import Attack, AttackContext, register_attack

    tr, te = cancer_splits
    seen = []

    @register_attack
    class MarginAttack(Attack):
        """Distance of the true-class probability from 1/2."""

        name = "margin"
        title = "Margin"
        kinds = frozenset({"proba"})
        auto = False

        def score(self, ctx: AttackContext) -> np.ndarray:
            seen.append({f.name for f in fields(ctx)})
            return np.abs(ctx.outputs.true_class_proba - 0.5)

    rep = mn.audit(scaled, train=tr, test=te, target="label", attacks="margin,loss")
    p_y = np.r_[
        scaled.predict_proba(features(tr))[np.arange(len(tr)), tr["label"]],
        scaled.predict_proba(features(te))[np.arange(len(te)), te["label"]],
    ]
    np.testing.assert_allclose(rep.scores["margin"], np.abs(p_y - 0.5))
    assert rep.summary.loc["margin", "AUC"] == pytest.approx(
        roc_auc_score(rep.members, np.abs(p_y - 0.5))
    )
    assert "member" not in str(seen[0]) and "outputs" in seen[0]  # no ground truth
    assert (
        "margin"
        not in audit(scaled, train=tr, test=te, target="label", attacks="auto").summary.index
    )  # auto = False
    assert (
        "margin"
        in mn.audit(
            scaled,
            train=tr,
            test=te,
            target="label",
            attacks="all",
            references=2,
            n_jobs=1,
            progress=False,
        ).summary.index
    )


def test_attack_instances_run_with_their_settings_and_report_what_they_learned(
    cancer_splits, scaled
):
    tr, te = cancer_splits
    fixed = mn.create_attack("rmia-offline", a=0.5)
    rep = mn.audit(
        scaled,
        train=tr,
        test=te,
        target="label",
        attacks=[fixed, "loss"],
        references=4,
        n_jobs=1,
        progress=False,
    )
    assert list(rep.summary.index) == ["loss", "rmia-offline"]
    assert rep.info.learned == {"rmia-offline": {"a": 0.5}}  # returned by the attack, not set
    assert rep.info.instances == ("rmia-offline",) and rep.options.attacks == (
        "loss",
        "rmia-offline",
    )
    auto = mn.audit(
        scaled,
        train=tr,
        test=te,
        target="label",
        attacks="rmia-offline,rmia",
        references=4,
        n_jobs=1,
        progress=False,
    )
    assert set(auto.info.learned) == {"rmia-offline"}  # online RMIA has no 'a'
    assert 0.0 <= auto.info.learned["rmia-offline"]["a"] <= 1.0
    with pytest.raises(MiaValueError, match="holds several 'lira' attacks"):
        mn.audit(
            scaled,
            train=tr,
            test=te,
            target="label",
            attacks=[mn.create_attack("lira", variance="global"), mn.create_attack("lira")],
        )
    with pytest.raises(MiaValueError, match="The 'rmia_a' parameter must be in"):
        mn.create_attack("rmia-offline", a=3)
    with pytest.raises(MiaValueError, match="The 'lira_variance' parameter must be one of"):
        mn.create_attack("lira", variance="wide")
