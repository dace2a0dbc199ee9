"""Offline RMIA's p_OUT predicted from the features, counted as one more OUT reference
model (engine/attacks/out_regression.py): the encoding, the scores against a
record-by-record computation, and what the audit reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import mia_notebook
from mia_notebook.engine.attacks.out_regression import MAX_CATEGORIES, MAX_ITER, encode_frame


def test_encode_frame_keeps_numbers_and_codes_the_rest():
    frame = pd.DataFrame(
        {
            "x": [1.5, np.nan, -2.0, 0.0],
            "flag": [True, False, True, True],
            "city": ["b", "a", None, "b"],
            "many": [f"v{i}" for i in range(4)],
        }
    )
    X, categorical = encode_frame(frame)
    np.testing.assert_array_equal(X[:, 0], [1.5, np.nan, -2.0, 0.0])
    np.testing.assert_array_equal(X[:, 1], [1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(X[:, 2], [0.0, 1.0, np.nan, 0.0])  # order of appearance
    assert categorical.tolist() == [False, False, True, True]
    wide = pd.DataFrame({"id": [f"r{i}" for i in range(MAX_CATEGORIES + 1)]})
    assert encode_frame(wide)[1].tolist() == [False]  # too many values: ordinal codes


def _slow_offline_rmia(p_target, p_out, a, z_target, z_out):
    """Record by record: LR(x) against every z, ties broken by LR(x) (dominance_scores)."""
    lr_z = [
        np.log(t) - np.log((1 + a) / 2 * q + (1 - a) / 2)
        for t, q in zip(z_target, z_out, strict=True)
    ]
    out = []
    for t, q in zip(p_target, p_out, strict=True):
        lr = np.log(t) - np.log((1 + a) / 2 * q + (1 - a) / 2)
        count = sum(v < lr for v in lr_z)
        out.append((count + 0.5 + np.arctan(lr) / np.pi) / (len(lr_z) + 1))
    return np.array(out)


@pytest.mark.parametrize("n_refs", [1, 2, 3])
def test_offline_rmia_counts_the_predicted_p_out_as_one_more_out_model(synth_three_way, n_refs):
    train, test, extra = (part.iloc[:400] for part in synth_three_way)
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(
        train.drop(columns="label"), train["label"]
    )
    rep = mia_notebook.audit(
        model,
        train=train,
        test=test,
        target="label",
        population=extra,
        attacks=["rmia-offline"],
        references=n_refs,
        reference_rounds="fixed",
        seed=0,
        progress=False,
    )
    refs = rep.evidence["references"]
    in_mask = np.r_[refs.in_mask, refs.pop_in_mask]
    if n_refs == 1:  # half of the rows have no OUT model
        assert 0.3 < in_mask[:, 0].mean() < 0.7

    # the regression, by hand: (features, label) -> OUT confidence of every OUT pair
    X = pd.concat([train, test, extra], ignore_index=True).to_numpy(dtype=np.float64)
    p_ref = expit(np.r_[refs.signal, refs.pop_signal].astype(np.float64))
    rows, models = np.nonzero(~in_mask)
    reg = HistGradientBoostingRegressor(max_iter=MAX_ITER, random_state=0)
    prior = np.clip(reg.fit(X[rows], p_ref[rows, models]).predict(X), 0, 1)
    p_out = np.array(
        [
            (p_ref[i, ~in_mask[i]].sum() + prior[i]) / ((~in_mask[i]).sum() + 1)
            for i in range(len(X))
        ]
    )
    n = len(refs.target)
    a = rep.info.learned["rmia-offline"]["a"]
    expected = _slow_offline_rmia(
        expit(refs.target), p_out[:n], a, expit(refs.pop_target), p_out[n:]
    )
    np.testing.assert_allclose(rep.scores["rmia-offline"].to_numpy(), expected, rtol=1e-7)


@pytest.fixture(scope="module")
def adult_like() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded rows with a string category and a numeric feature."""
    rng = np.random.default_rng(4)
    n = 600
    city = rng.choice(["north", "south", "east"], n)
    age = rng.integers(18, 80, n).astype(float)
    y = ((age > 45) ^ (city == "east") ^ (rng.random(n) < 0.2)).astype(int)
    frame = pd.DataFrame({"city": city, "age": age, "label": y})
    return frame.iloc[:300].copy(), frame.iloc[300:].copy()


def test_string_categories_through_a_pipeline(adult_like):
    tr, te = adult_like
    before = (tr.copy(), te.copy())
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["city"]), remainder="passthrough"),
        RandomForestClassifier(n_estimators=20, random_state=0),
    ).fit(tr[["city", "age"]], tr["label"])
    rep = mia_notebook.audit(
        model,
        train=tr,
        test=te,
        target="label",
        attacks=["rmia-offline"],
        references=1,
        reference_rounds="fixed",
        progress=False,
    )
    assert np.isfinite(rep.scores["rmia-offline"]).all()
    pd.testing.assert_frame_equal(tr, before[0])  # nothing the user owns changed
    pd.testing.assert_frame_equal(te, before[1])


def test_the_prediction_is_reused_when_only_rmia_a_changes(cancer_splits, monkeypatch):
    from mia_notebook.engine.attacks import out_regression

    calls = []
    real = out_regression._fit_predict

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(out_regression, "_fit_predict", counted)
    tr, te = cancer_splits
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(
        tr.drop(columns="label"), tr["label"]
    )
    mia_notebook.clear_cache()
    kw = dict(train=tr, test=te, target="label", attacks=["rmia-offline"], progress=False)
    kw |= dict(references=2, reference_rounds="fixed")
    first = mia_notebook.audit(model, rmia_a=0.5, **kw)
    second = mia_notebook.audit(model, rmia_a=0.9, **kw)
    assert len(calls) == 1  # same reference models and rows: fitted once
    assert not np.allclose(first.scores["rmia-offline"], second.scores["rmia-offline"])
