"""White-box attacks: tree signals against slow loops and the libraries' own raw scores,
stored rows and the finding, 'auto', threat-model labels, one reference pass, null
models."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from xgboost import XGBClassifier, XGBRegressor

import mia_notebook as mn
from bench.false_alarms import frame
from mia_notebook.engine.attacks.lira import lira_scores, resolve_variance
from mia_notebook.engine.attacks.whitebox import family_of
from mia_notebook.engine.attacks.whitebox.gradients import gradient_norms
from mia_notebook.engine.attacks.whitebox.stage import GradientStatistic
from mia_notebook.engine.attacks.whitebox.trees import (
    LEAF_SIZE_POWER,
    booster_trees,
    tree_statistic,
)
from mia_notebook.engine.cache import CACHE
from mia_notebook.engine.errors import MiaValueError
from mia_notebook.engine.verdict import judge


def _xy(n_classes: int = 2, n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    if n_classes == 0:
        X, y = make_regression(n_samples=n, n_features=5, noise=10.0, random_state=seed)
        return X, y
    X, y = make_classification(
        n_samples=n,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    return X, y


# ----------------------------------------------------------------------------- trees


def _raw_score(est: Any, X: np.ndarray) -> np.ndarray:
    """The library's own raw score (margin per output column)."""
    name = type(est).__name__
    if name.startswith("XGB"):
        raw = est.predict(X, output_margin=True)
    elif name.startswith("LGBM"):
        raw = est.predict(X, raw_score=True)
    elif hasattr(est, "decision_function"):
        raw = est.decision_function(X)
    else:
        raw = est.predict(X)
    return np.asarray(raw, dtype=np.float64).reshape(len(X), -1)


BOOSTERS = {
    "gb-binary": (GradientBoostingClassifier(n_estimators=15, random_state=0), 2),
    "gb-3": (GradientBoostingClassifier(n_estimators=10, random_state=0), 3),
    "gb-regressor": (GradientBoostingRegressor(n_estimators=15, random_state=0), 0),
    "hgb-binary": (HistGradientBoostingClassifier(max_iter=15, random_state=0), 2),
    "hgb-3": (HistGradientBoostingClassifier(max_iter=10, random_state=0), 3),
    "hgb-regressor": (HistGradientBoostingRegressor(max_iter=15, random_state=0), 0),
    "xgb-binary": (XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1), 2),
    "xgb-3": (XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1), 3),
    "xgb-regressor": (XGBRegressor(n_estimators=15, max_depth=3, n_jobs=1), 0),
    "lgbm-binary": (LGBMClassifier(n_estimators=15, verbose=-1, n_jobs=1), 2),
    "lgbm-3": (LGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1), 3),
    "lgbm-regressor": (LGBMRegressor(n_estimators=15, verbose=-1, n_jobs=1), 0),
}


@pytest.mark.parametrize("name", list(BOOSTERS))
def test_booster_steps_add_up_to_the_raw_score_and_counts_are_leaf_sizes(name: str) -> None:
    """Per tree: the leaf each record reaches and its value. Their sum per output column
    is the library's raw score up to one constant (the baseline); and, where the library
    keeps sample counts, every leaf's count is the number of training rows reaching it."""
    est, n_classes = BOOSTERS[name]
    X, y = _xy(n_classes)
    est.fit(X, y)
    trees = list(booster_trees(est, X))
    raw = _raw_score(est, X)
    total = np.zeros_like(raw)
    for k, _, value, _ in trees:
        total[:, k] += value
    assert len({k for k, _, _, _ in trees}) == raw.shape[1]
    offset = raw - total
    # XGBoost and LightGBM add up in float32: tolerance relative to the scores' scale
    atol = 1e-6 * max(1.0, float(np.abs(raw).max()))
    np.testing.assert_allclose(offset, offset[:1].repeat(len(X), axis=0), atol=atol)
    if name.startswith("xgb"):
        return  # XGBoost keeps the hessian sum (cover), not counts
    for _, leaf, _, count in trees:
        sizes = np.bincount(leaf)
        np.testing.assert_array_equal(count, sizes[leaf])


def _slow_bagged(est: Any, X: np.ndarray, y: np.ndarray, y_scale: float) -> np.ndarray:
    """tree_statistic's bagged formula, one record and one tree at a time."""
    out = []
    for i in range(len(X)):
        terms = []
        for tree in est.estimators_:
            leaf = tree.apply(X[i : i + 1])[0]
            n = tree.tree_.n_node_samples[leaf]
            value = tree.tree_.value[leaf, 0]
            if hasattr(est, "classes_"):
                q = value[list(est.classes_).index(y[i])] / value.sum()
                terms.append((2 * q - 1) / n**LEAF_SIZE_POWER)
            else:
                terms.append(-np.log((value[0] - y[i]) ** 2 + 1e-9 * y_scale))
        out.append(np.mean(terms))
    return np.array(out)


@pytest.mark.parametrize(
    "est",
    [
        RandomForestClassifier(n_estimators=5, random_state=0),
        ExtraTreesClassifier(n_estimators=5, min_samples_leaf=3, random_state=0),
        RandomForestRegressor(n_estimators=5, random_state=0),
    ],
    ids=["rf", "extra-trees", "rf-regressor"],
)
def test_bagged_statistic_matches_a_slow_loop(est: Any) -> None:
    n_classes = 0 if "Regressor" in type(est).__name__ else 3
    X, y = _xy(n_classes, n=120)
    est.fit(X[:60], y[:60])
    y_scale = float(np.var(y)) if n_classes == 0 else 1.0
    np.testing.assert_allclose(tree_statistic(est, X, y, y_scale), _slow_bagged(est, X, y, y_scale))


def test_a_regression_forest_predicts_its_members_exactly_tree_by_tree() -> None:
    """Members are predicted exactly by the trees they are in-bag for; the ensemble's
    mean hides it, the per-tree statistic separates members from non-members."""
    X, y = _xy(0, n=400)
    forest = RandomForestRegressor(n_estimators=30, random_state=0).fit(X[:200], y[:200])
    member = np.arange(400) < 200
    stat = tree_statistic(forest, X, y, float(np.var(y)))
    assert roc_auc_score(member, stat) == 1.0
    assert roc_auc_score(member, -((forest.predict(X) - y) ** 2)) < 0.95


# ------------------------------------------------------------------------ instances


def _frames(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = frame(seed, n)
    return df.iloc[: n // 2], df.iloc[n // 2 :]


def _fit(model: Any, train: pd.DataFrame) -> Any:
    return model.fit(train.drop(columns="label"), train["label"])


def test_knn_file_contains_every_training_record_and_says_so() -> None:
    train, test = _frames()
    knn = _fit(make_pipeline(StandardScaler(), KNeighborsClassifier(5)), train)
    report = mn.audit(knn, train=train, test=test, target="label", references=2, progress=False)
    info = report.info.whitebox
    assert info == {
        "stored_attribute": "_fit_X",
        "stored_rows": 200,
        "members_stored_verbatim": 200,
        "members_stored_distinct": 200,
        "nonmembers_matching_stored": 0,
        "train_test_duplicates": 0,
    }
    assert any("contains 200 of the 200 training records verbatim" in n for n in report.notes)
    assert report.info.threat_models["stored-match"] == "white-box"
    assert report.info.threat_models["lira"] == "black-box"
    scores = report.scores["stored-match"].to_numpy()
    assert (scores[:200] == 0).all() and (scores[200:] < 0).all()


def test_svm_stores_only_its_support_vectors_and_duplicates_are_not_counted() -> None:
    train, test = _frames()
    test = test.copy()
    test.iloc[:7] = train.iloc[:7].to_numpy()  # 7 test records duplicate training rows
    svm = _fit(SVC(C=1.0), train)
    report = mn.audit(svm, train=train, test=test, target="label", attacks="stored-match")
    info = report.info.whitebox
    assert info["stored_rows"] == len(svm.support_) == info["members_stored_verbatim"]
    assert info["train_test_duplicates"] == 7
    assert info["nonmembers_matching_stored"] == int(np.isin(np.arange(7), svm.support_).sum())
    note = next(n for n in report.notes if n.startswith("White-box finding"))
    assert f"contains {len(svm.support_)} of the 200 training records" in note
    assert "7 test records duplicate a training record exactly" in note


# ------------------------------------------------------------------- audit wiring


@pytest.mark.parametrize(
    ("model", "family", "names"),
    [
        (LogisticRegression(), "gradients", {"grad-norm", "grad-lira"}),
        (HistGradientBoostingClassifier(max_iter=10), "trees", {"tree-leaves", "tree-lira"}),
        (KNeighborsClassifier(), "instances", {"stored-match"}),
    ],
)
def test_auto_offers_the_models_family_and_labels_it(model: Any, family: str, names: set) -> None:
    train, test = _frames()
    model = _fit(model, train)
    assert family_of(model) == family
    report = mn.audit(model, train=train, test=test, target="label", references=2, progress=False)
    whitebox = {a for a, t in report.info.threat_models.items() if t == "white-box"}
    assert whitebox == names
    assert set(report.info.threat_models) == set(report.computed_attacks)


def test_naming_a_white_box_attack_the_model_cannot_serve_is_a_clear_error() -> None:
    train, test = _frames()
    forest = _fit(RandomForestClassifier(n_estimators=5, random_state=0), train)
    with pytest.raises(MiaValueError, match=r"needs a differentiable model .* RandomForest"):
        mn.audit(forest, train=train, test=test, target="label", attacks="grad-norm")
    report = mn.audit(forest, train=train, test=test, target="label", attacks="all", references=2)
    assert "the model is RandomForestClassifier" in report.skipped["stored-match"]


class CountingLogistic(LogisticRegression):
    """A real logistic regression that counts its fits (class-level: in-process only)."""

    fits: ClassVar[list[int]] = []

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CountingLogistic:
        CountingLogistic.fits.append(len(X))
        return super().fit(X, y, sample_weight)


@pytest.mark.parametrize("outputs", ["proba", "label"])
def test_reference_models_are_trained_once_for_black_and_white_box(outputs: str) -> None:
    """LiRA/RMIA (or label-robust under outputs='label') and grad-lira read the same
    reference models, which computed both statistics in one pass."""
    train, test = _frames(seed=1)
    model = _fit(CountingLogistic(C=10), train)
    CountingLogistic.fits.clear()
    report = mn.audit(
        model,
        train=train,
        test=test,
        target="label",
        references=4,
        n_jobs=1,
        outputs=outputs,
        seed=11,
        progress=False,
    )
    assert "grad-lira" in report.computed_attacks
    assert len(CountingLogistic.fits) == 4
    black = "label-robust" if outputs == "label" else "lira"
    assert black in report.computed_attacks


def test_grad_lira_is_lira_on_the_gradient_statistic_of_the_same_reference_models() -> None:
    train, test = _frames(seed=2)
    model = _fit(LogisticRegression(C=10), train)
    report = mn.audit(model, train=train, test=test, target="label", references=4, n_jobs=1)
    refs = report.evidence["references"]
    pop = pd.concat([train, test])
    X, y = pop.drop(columns="label"), pop["label"].to_numpy()
    target = GradientStatistic()(model, X, y)
    want = lira_scores(
        refs.extra["gradients"], refs.in_mask, target, variance=resolve_variance("auto", 4)
    )
    np.testing.assert_allclose(report.scores["grad-lira"].to_numpy(), want)
    # grad-norm: the negated norm itself (members have smaller gradients)
    norms = gradient_norms(model, X.to_numpy(), y)
    np.testing.assert_allclose(report.scores["grad-norm"].to_numpy(), -norms, rtol=1e-9, atol=1e-15)


# ------------------------------------------------------------------------ null models


@pytest.mark.parametrize(
    "model",
    [KNeighborsClassifier(3), SVC(), LogisticRegression(C=100), RandomForestRegressor(20)],
    ids=["knn", "svc", "logistic", "forest-regressor"],
)
def test_models_fitted_on_disjoint_rows_stay_none(model: Any) -> None:
    """A model that saw none of the audited records: white-box attacks at chance and the
    verdict at 'none' (no stored row matches, no gradient or leaf favours members)."""
    df = frame(5, 1500)
    fit, train, test = df.iloc[:500], df.iloc[500:1000], df.iloc[1000:]
    target = "label"
    if isinstance(model, RandomForestRegressor):
        df = df.assign(label=df["x0"] * 2 + df["x1"])
        fit, train, test = df.iloc[:500], df.iloc[500:1000], df.iloc[1000:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _fit(model, fit)
    report = mn.audit(model, train=train, test=test, target=target, references=4, n_jobs=1)
    white = [a for a, t in report.info.threat_models.items() if t == "white-box"]
    assert white
    scores = {a: report.scores[a].to_numpy() for a in report.computed_attacks}
    verdict = judge(scores, report.members)
    assert verdict.level == "none", verdict.reason
    for a in white:
        assert abs(roc_auc_score(report.members, np.nan_to_num(scores[a])) - 0.5) < 0.07
    if report.info.whitebox:
        assert report.info.whitebox["members_stored_verbatim"] == 0


def test_each_reference_statistic_is_cached_on_its_own() -> None:
    """After an audit whose reference models gave both statistics, a black-box-only or
    a white-box-only audit retrains nothing; new statistics need new fits, once."""
    train, test = _frames(seed=3)
    model = _fit(LogisticRegression(C=5), train)
    args = {"train": train, "test": test, "target": "label", "references": 4, "n_jobs": 1}
    args["reference_rounds"] = "fixed"  # one round: every count below is that round's
    CACHE.clear()
    first = mn.audit(model, attacks="lira,grad-lira", **args)
    assert first.info.references_trained == 4
    for attacks in ("rmia", "grad-lira", "auto"):
        assert mn.audit(model, attacks=attacks, **args).info.references_trained == 0
    CACHE.clear()
    assert mn.audit(model, attacks="rmia", **args).info.references_trained == 4
    assert mn.audit(model, attacks="auto", **args).info.references_trained == 4
    assert mn.audit(model, attacks="grad-lira", **args).info.references_trained == 0


def _failing_statistic(model: Any, X: Any, labels: Any, kind: str, y_scale: float) -> Any:
    raise RuntimeError("cannot read this model")


def test_a_failing_white_box_statistic_never_costs_the_black_box_its_references() -> None:
    from mia_notebook.engine.references import StatisticSet
    from mia_notebook.engine.references.training import fit_reference

    X, y = _xy(2, n=100)
    stats = StatisticSet(None, (("bad", _failing_statistic),))
    _, stat, err = fit_reference(0, LogisticRegression(), X, y, np.arange(50), "proba", 1.0, stats)
    assert err is None and stat is not None and stat.shape == (100, 2)
    assert np.isfinite(stat[:, 0]).all() and np.isnan(stat[:, 1]).all()


def test_a_model_the_white_box_stage_cannot_read_is_skipped_with_the_reason() -> None:
    train, test = _frames()
    train, test = train.assign(x7=train["x7"] > 0), test.assign(x7=test["x7"] > 0)
    model = HistGradientBoostingClassifier(max_iter=10, categorical_features=[7])
    model = _fit(model, train)
    report = mn.audit(model, train=train, test=test, target="label", references=2)
    assert "categorical splits" in report.skipped["tree-leaves"]
    assert "lira" in report.computed_attacks
