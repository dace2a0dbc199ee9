"""label-robust: noise model, statistic against a slow loop, strength, chance, caching."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from conftest import features, fingerprint
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier

import mia_notebook as mn
from mia_notebook.engine.attacks.label_robust import (
    Perturbation,
    make_perturbation,
    robustness,
)
from mia_notebook.engine.cache import CACHE
from mia_notebook.engine.data import prepare_data


class CountingTree(DecisionTreeClassifier):
    """A real decision tree that counts its predict calls (class-level, so not pickled)."""

    calls: ClassVar[list[int]] = []

    def predict(self, X):  # type: ignore[override]
        CountingTree.calls.append(len(X))
        return super().predict(X)


@pytest.fixture(scope="module")
def mixed():
    """Numeric, integer, few-valued integer and string columns; 2 classes."""
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame(
        {
            "a": rng.normal(5, 2, n),
            "b": rng.normal(0, 0.1, n),
            "age": rng.integers(18, 90, n),
            "kids": rng.integers(0, 4, n),
            "city": rng.choice(["x", "y", "z"], n, p=[0.6, 0.3, 0.1]),
        }
    )
    df["label"] = (df["a"] + 10 * df["b"] + (df["city"] == "x") + rng.normal(0, 1, n)) > 6
    df["label"] = df["label"].astype(int)
    return df.iloc[:300], df.iloc[300:]


def _spec(tr, te, model=None, **kw) -> Perturbation:
    data = prepare_data(model or object(), tr, te, "label")
    return make_perturbation(data, None, **kw)


def test_noise_model_from_population(mixed):
    tr, te = mixed
    spec = _spec(tr, te, seed=1)
    both = pd.concat([tr, te])
    assert spec.numeric == ("a", "b", "age")
    np.testing.assert_allclose(spec.scales, [both[c].std(ddof=0) for c in spec.numeric])
    cats = {c: dict(zip(v, f, strict=True)) for c, v, f in spec.categories}
    assert set(cats) == {"kids", "city"}  # 4 distinct integers: resampled as categories
    assert cats["city"]["x"] == pytest.approx((both["city"] == "x").mean())


def test_copies_deterministic_and_frame_untouched(mixed):
    tr, te = mixed
    spec = _spec(tr, te, seed=3, levels=(0.5,), copies=400)
    part = tr.iloc[:5][list(spec.features)]
    before = fingerprint(part)
    a, b = spec.copies_of(part, 0), spec.copies_of(part, 0)
    pd.testing.assert_frame_equal(a, b)
    assert fingerprint(part) == before
    assert len(a) == 5 * 400 and list(a.columns) == list(spec.features)
    assert a["age"].dtype == part["age"].dtype and a["kids"].dtype == part["kids"].dtype
    c = _spec(tr, te, seed=4, levels=(0.5,), copies=400).copies_of(part, 0)
    assert not a["a"].equals(c["a"])
    # the noise of record 0 does not depend on how many records share its chunk
    pd.testing.assert_frame_equal(spec.copies_of(part.iloc[:1], 0), a.iloc[:400])


def test_noise_scale_and_resampling_rates(mixed):
    tr, te = mixed
    spec = _spec(tr, te, seed=0, levels=(0.2,), copies=4000)
    part = tr.iloc[:1][list(spec.features)]
    cop = spec.copies_of(part, 0)
    sd_a = spec.scales[0] * 0.2
    # sample sd of 4000 normals: within 5% of sigma (about 4.5 standard errors)
    assert np.std(cop["a"] - part["a"].iloc[0]) == pytest.approx(sd_a, rel=0.05)
    assert np.mean(cop["a"] - part["a"].iloc[0]) == pytest.approx(0, abs=5 * sd_a / 63)
    both = pd.concat([tr, te])
    p_x = (both["city"] == "x").mean()
    own = part["city"].iloc[0]
    # changed iff resampled (prob 0.2) and drawn a different value
    p_change = 0.2 * (1 - (both["city"] == own).mean())
    se = math.sqrt(p_change * (1 - p_change) / 4000)
    assert (cop["city"] != own).mean() == pytest.approx(p_change, abs=5 * se)
    assert set(cop["city"]) <= {"x", "y", "z"} and 0 < p_x < 1


def _slow_robustness(model, X, labels, spec):
    """One predict call per copy: the definition, without batching."""
    out = []
    frame = X[list(spec.features)]
    for i in range(len(frame)):
        chunk, pos = divmod(i, spec.chunk_records)
        part = frame.iloc[chunk * spec.chunk_records : (chunk + 1) * spec.chunk_records]
        copies = spec.copies_of(part, chunk).iloc[pos * spec.n_copies : (pos + 1) * spec.n_copies]
        right = model.predict(frame.iloc[[i]])[0] == labels[i]
        kept = [model.predict(copies.iloc[[j]])[0] == labels[i] for j in range(len(copies))]
        out.append(0.5 * right + 0.5 * np.mean(kept))
    return np.array(out)


def test_statistic_matches_slow_loop_and_batches(mixed, monkeypatch):
    tr, te = mixed
    enc = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["city"]), remainder="passthrough"
    )
    model = make_pipeline(enc, CountingTree(max_depth=6, random_state=0))
    model.fit(features(tr), tr["label"])
    spec = _spec(tr, te, model, seed=2, levels=(0.1, 0.5), copies=3)
    monkeypatch.setattr("mia_notebook.engine.attacks.label_robust.CHUNK_ROWS", 7 * 70)
    assert spec.chunk_records == 70
    X, y = features(te).iloc[:150], te["label"].to_numpy()[:150]
    CountingTree.calls.clear()
    fast = robustness(model, X, y, spec)
    assert CountingTree.calls == [70 * 7, 70 * 7, 10 * 7]  # one call per chunk
    np.testing.assert_allclose(fast, _slow_robustness(model, X, y, spec))
    assert ((fast >= 0) & (fast <= 1)).all()


def _overfit_forest():
    X, y = make_classification(
        n_samples=1200, n_features=10, n_informative=5, flip_y=0.1, random_state=0
    )
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]).assign(label=y)
    tr, te = df.iloc[:600], df.iloc[600:]
    model = RandomForestClassifier(n_estimators=50, random_state=0, n_jobs=1)
    return model.fit(features(tr), tr["label"]), tr, te


def _auc(report, name):
    return roc_auc_score(report.scores["member"], report.scores[name])


def test_beats_gap_on_an_overfit_forest():
    model, tr, te = _overfit_forest()
    rep = mn.audit(
        model,
        train=tr,
        test=te,
        target="label",
        outputs="label",
        references=8,
        n_jobs=1,
        progress=False,
    )
    # behind a labels API: gap and label-robust; the file itself: the forest's leaves
    whitebox = ["tree-leaves", "tree-lira"]
    assert list(rep.scores.columns) == ["member", "gap", "label-robust", *whitebox]
    assert {rep.info.threat_models[a] for a in whitebox} == {"white-box"}
    assert _auc(rep, "label-robust") >= _auc(rep, "gap") + 0.05


def test_stays_at_chance_when_membership_does_not_matter(synth_three_way):
    a, b, c = synth_three_way
    model = RandomForestClassifier(n_estimators=50, random_state=0, n_jobs=1)
    model.fit(features(c), c["label"])  # trained on neither "members" a nor "non-members" b
    tr, te = a.iloc[:1000], b.iloc[:1000]
    rep = mn.audit(
        model,
        train=tr,
        test=te,
        target="label",
        attacks="label-robust",
        references=8,
        n_jobs=1,
        progress=False,
    )
    tol = 3 * math.sqrt((2000 + 1) / (12 * 1000 * 1000))  # 3 sigma of a null AUC
    assert abs(_auc(rep, "label-robust") - 0.5) < tol


def test_without_references_the_statistic_is_the_score(mixed):
    tr, te = mixed

    class PredictOnly:  # not clonable: no reference models
        def __init__(self, model):
            self.model, self.classes_ = model, model.classes_

        def predict(self, X):
            return self.model.predict(X)

    inner = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["city"]), remainder="passthrough"
        ),
        DecisionTreeClassifier(random_state=0),
    ).fit(features(tr), tr["label"])
    cols = list(features(tr).columns)
    rep = mn.audit(
        PredictOnly(inner), train=tr, test=te, target="label", features=cols, progress=False
    )
    assert list(rep.scores.columns) == ["member", "gap", "label-robust"]  # auto: labels only
    spec = _spec(tr, te, PredictOnly(inner), seed=0)
    want = robustness(inner, pd.concat([tr, te])[cols], pd.concat([tr, te])["label"], spec)
    np.testing.assert_allclose(rep.scores["label-robust"].to_numpy(), want)
    assert any("not calibrated" in n for n in rep.notes)


def test_cached_seeded_progress_and_untouched(mixed):
    tr, te = mixed
    model = CountingTree(random_state=0).fit(features(tr).drop(columns="city"), tr["label"])
    tr2, te2 = tr.drop(columns="city"), te.drop(columns="city")
    before = [fingerprint(model), fingerprint(tr2), fingerprint(te2)]

    class Record:
        def __init__(self):
            self.started: list[str] = []

        def start(self, total, description):
            self.started.append(description)

        def update(self, done):
            pass

        def close(self):
            pass

    CACHE.clear()
    bar = Record()
    kw = dict(train=tr2, test=te2, target="label", attacks="label-robust", references=4, n_jobs=1)
    first = mn.audit(model, progress=bar, **kw)
    assert any("label-robust" in d for d in bar.started)
    CountingTree.calls.clear()
    again = mn.audit(model, progress=False, **kw)
    assert len(CountingTree.calls) <= 2  # the target query and its determinism check
    pd.testing.assert_frame_equal(first.scores, again.scores)
    other = mn.audit(model, progress=False, **{**kw, "seed": 1})
    assert not np.array_equal(other.scores["label-robust"], first.scores["label-robust"])
    assert [fingerprint(model), fingerprint(tr2), fingerprint(te2)] == before
