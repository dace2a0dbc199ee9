"""Gradient-boosting libraries with native categorical features get every attack.

XGBoost, LightGBM and CatBoost are optional (the ``test`` extra): each test skips where
its package is absent. CatBoost with ``cat_features`` is refused by
``sklearn.base.clone``; its reference models are rebuilt from ``get_params()`` and the
report says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import fingerprint
from sklearn.base import clone

import mia_notebook as mn
from mia_notebook.engine.attacks import attack_class, available_attacks

FAST = {"references": 2, "n_jobs": 1, "progress": False, "attacks": "all"}


@pytest.fixture(scope="module")
def categorical_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded data with a pandas categorical column that drives the label."""
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], size=n)),
        }
    )
    logit = df["a"] + 1.5 * (df["colour"] == "red") + rng.normal(scale=0.7, size=n)
    df["y"] = (logit > 0.5).astype(int)
    return df.iloc[:200], df.iloc[200:]


def _assert_every_attack_ran(rep: mn.AuditReport) -> None:
    """Every black-box attack ran; only white-box attacks of another family (or of a
    model the white-box attacks cannot read, CatBoost) are skipped, with the reason."""
    for name, reason in rep.skipped.items():
        assert attack_class(name).threat_model == "white-box" and reason.startswith("needs ")
    assert sorted(rep.summary.index) == sorted(set(available_attacks()) - set(rep.skipped))
    if not rep.info.model.startswith("CatBoost"):  # XGBoost, LightGBM: leaves are read
        assert {"tree-leaves", "tree-lira"} <= set(rep.summary.index)
    assert rep.info.references_ok == 2


def test_xgboost_classifier_with_native_categoricals(categorical_frames):
    xgboost = pytest.importorskip("xgboost")
    tr, te = categorical_frames
    model = xgboost.XGBClassifier(
        n_estimators=20, max_depth=3, enable_categorical=True, tree_method="hist", n_jobs=1
    ).fit(tr.drop(columns="y"), tr["y"])
    rep = mn.audit(model, train=tr, test=te, target="y", **FAST)
    _assert_every_attack_ran(rep)
    assert not any("clone" in n for n in rep.notes)  # clone works: no fallback note


def test_lightgbm_classifier_with_pandas_categoricals(categorical_frames):
    lightgbm = pytest.importorskip("lightgbm")
    tr, te = categorical_frames
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1, n_jobs=1).fit(
        tr.drop(columns="y"), tr["y"]
    )
    rep = mn.audit(model, train=tr, test=te, target="y", **FAST)
    _assert_every_attack_ran(rep)


def test_catboost_with_cat_features_is_rebuilt_and_says_so(categorical_frames):
    catboost = pytest.importorskip("catboost")
    tr, te = (f.assign(colour=f["colour"].astype(str)) for f in categorical_frames)
    model = catboost.CatBoostClassifier(
        iterations=20,
        depth=3,
        cat_features=["colour"],
        verbose=0,
        thread_count=1,
        allow_writing_files=False,
        random_seed=0,
    ).fit(tr.drop(columns="y"), tr["y"])
    with pytest.raises(RuntimeError):
        clone(model)  # the reason for the fallback: clone's strict parameter check
    before = [fingerprint(o) for o in (model, tr, te)]
    rep = mn.audit(model, train=tr, test=te, target="y", **FAST)
    _assert_every_attack_ran(rep)
    note = next(n for n in rep.notes if "clone" in n)
    assert "sklearn.base.clone refused CatBoostClassifier" in note
    assert "rebuilt as CatBoostClassifier(**model.get_params())" in note
    assert [fingerprint(o) for o in (model, tr, te)] == before  # model and data untouched


def test_xgboost_regressor_gets_the_regression_attacks(categorical_frames):
    xgboost = pytest.importorskip("xgboost")
    tr, te = categorical_frames
    tr, te = (f.assign(y=f["a"] * 2 + f["b"]) for f in (tr, te))
    model = xgboost.XGBRegressor(
        n_estimators=30, max_depth=4, enable_categorical=True, tree_method="hist", n_jobs=1
    ).fit(tr.drop(columns="y"), tr["y"])
    rep = mn.audit(model, train=tr, test=te, target="y", **FAST)
    assert rep.info.model_kind == "regression"
    assert {"loss", "lira", "lira-offline", "shadow"} <= set(rep.summary.index)
    pred = model.predict(te.drop(columns="y"))
    np.testing.assert_allclose(
        rep.scores.loc["test", "loss"], -((pred - te["y"].to_numpy()) ** 2), rtol=1e-6
    )
