"""``fit=``: the user's training function trains every reference model (issue 21 part 1).

A model that ``clone`` and ``get_params`` cannot rebuild gets only the threshold attacks;
with ``fit=`` it gets the reference attacks, in-process, in joblib's processes and on
Dask. The reference cache keys carry the function's identity, so a changed function
retrains the references.
"""

from __future__ import annotations

import hashlib
import sys
import threading

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import mia_notebook as mn
from mia_notebook.engine.references.training import unfitted_copy
from mia_notebook.engine.references.user_fit import FitNotShippable, fit_identity

REFERENCE_ATTACKS = {"lira", "lira-offline", "rmia", "rmia-offline", "shadow"}


class Wrapped:
    """A fitted forest behind custom preprocessing (centring and scaling learned from the
    training rows). ``__init__`` takes fitted parts, not hyper-parameters, and there is no
    ``get_params``: neither ``clone`` nor ``type(m)(**m.get_params())`` can rebuild it."""

    def __init__(self, forest, center, scale):
        self._forest, self._center, self._scale = forest, center, scale

    def fit(self, X, y):  # refits in place: still nothing clone can copy
        self._forest.fit((np.asarray(X, float) - self._center) / self._scale, y)
        return self

    def predict_proba(self, X):
        return self._forest.predict_proba((np.asarray(X, float) - self._center) / self._scale)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    @property
    def classes_(self):
        return self._forest.classes_


def train_wrapped(train_frame):
    """A module-level fit function (importable, so loky and Dask workers can run it)."""
    X = train_frame.drop(columns="label").to_numpy(float)
    center, scale = X.mean(axis=0), X.std(axis=0) + 1e-9
    forest = RandomForestClassifier(n_estimators=30, random_state=0, n_jobs=1)
    forest.fit((X - center) / scale, train_frame["label"].to_numpy())
    return Wrapped(forest, center, scale)


def train_logreg(train_frame):
    X = train_frame.drop(columns="label")
    return LogisticRegression(max_iter=2000).fit(X, train_frame["label"])


@pytest.fixture(scope="module")
def overfit():
    """1,000 members and 1,000 non-members of a noisy task (15% flipped labels)."""
    X, y = make_classification(
        n_samples=2000, n_features=12, n_informative=5, flip_y=0.15, random_state=3
    )
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(12)]).assign(label=y)
    return df.iloc[:1000], df.iloc[1000:]


def _audit(model, data, **kw):
    tr, te = data
    kw.setdefault("reference_rounds", "fixed")  # the counts below are of one round
    return mn.audit(model, train=tr, test=te, target="label", progress=False, **kw)


def test_an_unclonable_model_gets_reference_attacks_from_fit_and_they_are_stronger(overfit):
    model = train_wrapped(overfit[0])
    with pytest.raises(TypeError):
        unfitted_copy(model)
    plain = _audit(model, overfit, references=8, n_jobs=1)
    assert set(plain.skipped) >= REFERENCE_ATTACKS
    assert "clone" in plain.skipped["lira"] and "fit=" in plain.skipped["lira"]
    assert plain.info.fit_function is None

    rep = _audit(model, overfit, references=8, n_jobs=1, fit=train_wrapped)
    assert set(rep.computed_attacks) >= REFERENCE_ATTACKS
    assert rep.info.references_ok == 8 and rep.info.fit_function.endswith(".train_wrapped")
    assert any("fit function" in n and "train_wrapped" in n for n in rep.notes)
    threshold = plain.summary
    best_threshold_auc = threshold["AUC"].max()
    tpr = "TPR@1%FPR"
    assert rep.summary.loc["rmia", "AUC"] > best_threshold_auc + 0.05
    assert rep.summary.loc["rmia", tpr] > threshold[tpr].max() + 0.1
    # the threshold attacks are the same with or without fit= (same target outputs)
    np.testing.assert_array_equal(rep.scores["loss"], plain.scores["loss"])


def test_train_frame_has_the_feature_and_target_columns_of_the_in_rows(overfit):
    tr, te = overfit
    seen = []

    def recording(train_frame):
        seen.append(train_frame)
        return train_logreg(train_frame)

    model = train_logreg(tr)
    _audit(model, overfit, attacks="lira", references=2, n_jobs=1, fit=recording)
    assert len(seen) == 2
    for frame in seen:
        assert list(frame.columns) == list(tr.columns)  # features, then the target
        assert (frame.dtypes == tr.dtypes).all()
        assert len(frame) == (len(tr) + len(te)) // 2
    # each record is IN for exactly one of the two reference models
    both = pd.concat(seen).drop(columns="label").round(12)
    assert not both.duplicated().any() and len(both) == len(tr) + len(te)


def test_a_changed_fit_function_retrains_the_references(overfit):
    """The cache key carries the function's code, defaults and closure."""
    model = train_logreg(overfit[0])
    mn.clear_cache()
    code = (
        "def fit(train_frame, C={C}):\n"
        "    X = train_frame.drop(columns='label')\n"
        "    return LogisticRegression(C=C, max_iter={it}).fit(X, train_frame['label'])\n"
    )

    def define(C, it):
        ns = {"LogisticRegression": LogisticRegression, "__name__": __name__}
        exec(code.format(C=C, it=it), ns)
        return ns["fit"]

    kw = {"attacks": "lira", "references": 2, "n_jobs": 1}
    first = _audit(model, overfit, fit=define(1.0, 2000), **kw)
    assert (first.info.references_trained, first.info.references_cached) == (2, 0)
    again = _audit(model, overfit, fit=define(1.0, 2000), **kw)  # a new object, same code
    assert (again.info.references_trained, again.info.references_cached) == (0, 2)
    body = _audit(model, overfit, fit=define(1.0, 3000), **kw)  # a changed body
    assert (body.info.references_trained, body.info.references_cached) == (2, 0)
    default = _audit(model, overfit, fit=define(0.01, 2000), **kw)  # a changed default
    assert default.info.references_trained == 2
    assert not np.allclose(default.scores["lira"], first.scores["lira"])


def test_fit_identity_follows_closures_and_the_helpers_it_calls():
    def make(k):
        def fit(frame):
            return k

        return fit

    assert fit_identity(make(1)) == fit_identity(make(1))
    assert fit_identity(make(1)) != fit_identity(make(2))
    assert fit_identity(train_wrapped).startswith(f"fit:{__name__}.train_wrapped:")
    before = fit_identity(train_wrapped)
    original = Wrapped.predict_proba
    try:  # a method of a class the function builds changes: a new identity
        Wrapped.predict_proba = lambda self, X: original(self, X) * 1.0  # type: ignore
        assert fit_identity(train_wrapped) != before
    finally:
        Wrapped.predict_proba = original  # type: ignore
    assert fit_identity(train_wrapped) == before
    code = "def fit(frame):\n    return EPOCHS\n"  # a global constant the function reads
    ns: dict = {"EPOCHS": 60, "__name__": __name__}
    exec(code, ns)
    sixty = fit_identity(ns["fit"])
    ns["EPOCHS"] = 61
    assert fit_identity(ns["fit"]) != sixty


def test_fit_runs_in_joblib_processes(overfit):
    model = train_wrapped(overfit[0])
    rep = _audit(model, overfit, attacks="rmia", references=4, n_jobs=2, fit=train_wrapped)
    assert rep.info.references_ok == 4 and not rep.info.references_failed
    local = _audit(model, overfit, attacks="rmia", references=4, n_jobs=1, fit=train_wrapped)
    assert local.info.references_cached == 4  # the same key in and out of process


def test_an_unpicklable_fit_gets_an_error_that_says_the_fix(overfit):
    model = train_logreg(overfit[0])
    lock = threading.Lock()

    def locked(train_frame):
        with lock:
            return train_logreg(train_frame)

    mn.clear_cache()
    with pytest.raises(FitNotShippable) as e:
        _audit(model, overfit, attacks="lira", references=3, n_jobs=2, fit=locked)
    text = str(e.value)
    assert "locked" in text and "lock" in text and "module level" in text
    assert "n_jobs=1" in text and "threading" in text
    # both fixes work
    assert _audit(model, overfit, attacks="lira", references=3, n_jobs=1, fit=locked)
    mn.clear_cache()
    with joblib.parallel_config(backend="threading"):
        rep = _audit(model, overfit, attacks="lira", references=3, n_jobs=2, fit=locked)
    assert rep.info.references_ok == 3


@pytest.mark.parametrize("sequential_below_s", [0.0, 3.0])
def test_an_unpicklable_fit_fails_before_any_fit_under_the_default_n_jobs(
    overfit, monkeypatch, sequential_below_s
):
    """The default n_jobs fits one model in-process, then sends the rest to workers
    unless they would take under SEQUENTIAL_BELOW_S. The pickling check comes before
    that first fit: the error costs no fit (it used to cost one), and it does not depend
    on how fast the fit is (a fast fit used to pass, a slow one to fail)."""
    from mia_notebook.engine.references import training

    monkeypatch.setattr(training, "SEQUENTIAL_BELOW_S", sequential_below_s)
    model = train_logreg(overfit[0])
    lock, calls = threading.Lock(), []

    def locked(train_frame):
        calls.append(1)
        with lock:
            return train_logreg(train_frame)

    mn.clear_cache()
    with pytest.raises(FitNotShippable, match="module level"):
        _audit(model, overfit, attacks="lira", references=3, fit=locked)
    assert calls == []
    # one model to train stays in this process: nothing to pickle, no error
    rep = _audit(model, overfit, attacks="rmia", references=1, fit=locked)
    assert rep.info.references_ok == 1 and len(calls) == 1


def test_dask_runs_the_fit_function(overfit):
    distributed = pytest.importorskip("distributed")
    model = train_wrapped(overfit[0])
    mn.clear_cache()
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        rep = _audit(model, overfit, attacks="lira", references=3, fit=train_wrapped)
    assert rep.info.references_ok == 3 and rep.info.fit_function.endswith("train_wrapped")


def test_failing_fits_are_reported_as_today(overfit):
    model = train_logreg(overfit[0])
    calls = []

    def flaky(train_frame):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return None if len(calls) == 3 else train_logreg(train_frame)

    rep = _audit(model, overfit, attacks="lira", references=4, n_jobs=1, fit=flaky)
    assert rep.info.references_ok == 2
    failed = rep.info.references_failed
    assert sorted(failed.values()) == [
        "RuntimeError: out of memory",
        f"TypeError: the fit function {__name__}.{flaky.__qualname__} returned None; it "
        "must return the fitted model",
    ]
    assert any("2 of 4 reference model fits failed" in n for n in rep.notes)


def test_fit_must_be_callable_and_is_saved_as_its_name(overfit, tmp_path):
    with pytest.raises(mn.MiaTypeError, match="The 'fit' parameter must be a callable"):
        mn.AuditOptions(fit="train_logreg")
    model = train_logreg(overfit[0])
    rep = _audit(model, overfit, attacks="lira", references=2, n_jobs=1, fit=train_logreg)
    assert rep.options.to_dict()["fit"] == f"{__name__}.train_logreg"
    assert rep.settings["fit_function"] == f"{__name__}.train_logreg"
    rep.save(tmp_path / "r.mia")
    loaded = mn.load(tmp_path / "r.mia")
    assert loaded.options.fit is None and loaded.info.fit_function == rep.info.fit_function
    assert any("not saved" in n and "train_logreg" in n for n in loaded.notes)
    assert loaded.to_html().count("train_logreg") >= 1
    loaded.save(tmp_path / "again.mia")  # saved again: the note is not repeated
    assert mn.load(tmp_path / "again.mia").notes == loaded.notes


def test_label_only_references_are_trained_with_fit_too(overfit):
    """Under outputs='label', label-robust's reference models come from fit= as well."""
    model = train_wrapped(overfit[0])
    calls = []

    def counting(train_frame):
        calls.append(len(train_frame))
        return train_wrapped(train_frame)

    rep = _audit(
        model,
        overfit,
        attacks="label-robust",
        outputs="label",
        references=2,
        n_jobs=1,
        fit=counting,
    )
    assert len(calls) == 2 and rep.info.fit_function.endswith("counting")
    assert not any("not calibrated" in n for n in rep.notes)


class _FrameCalls:
    """Fit calls per distinct training frame, in order of first sight. Read through a
    module-level object, which the fit function's cache identity ignores."""

    def __init__(self, always: bool = False) -> None:
        self.always, self.calls = always, {}

    def count(self, train_frame: pd.DataFrame) -> tuple[int, int]:
        """(which distinct frame this is, how many times it was fitted, this one too)."""
        key = hashlib.sha1(train_frame.to_numpy().tobytes()).hexdigest()
        self.calls[key] = self.calls.get(key, 0) + 1
        return list(self.calls).index(key), self.calls[key]


FRAMES = _FrameCalls()


def fails_for_model_1(train_frame):
    """Reference model 1 (the second frame under n_jobs=1) fails: on its first call, or
    always."""
    which, n = FRAMES.count(train_frame)
    if which == 1 and (FRAMES.always or n == 1):
        raise RuntimeError("out of memory")
    return train_logreg(train_frame)


@pytest.mark.parametrize("always", [False, True])
def test_a_failed_fit_is_retried_once_in_the_next_adaptive_round(overfit, monkeypatch, always):
    """Rounds of 2, 4 and 8 models: model 1 fails in the first. A transient failure
    succeeds on its retry in the second round; a deterministic one fails it too and is
    then reported failed without a third fit (it was refitted in every round)."""
    from mia_notebook.engine import adaptive

    monkeypatch.setattr(adaptive, "settled", lambda previous, current: False)
    monkeypatch.setattr(adaptive, "decided", lambda previous, current: False)
    monkeypatch.setattr(sys.modules[__name__], "FRAMES", _FrameCalls(always))
    model = train_logreg(overfit[0])
    mn.clear_cache()
    rep = _audit(
        model,
        overfit,
        attacks="lira",
        references=8,
        reference_rounds="adaptive",
        n_jobs=1,
        fit=fails_for_model_1,
    )
    assert any("used all 8 reference models" in n for n in rep.notes)
    assert list(FRAMES.calls.values()) == [1, 2, 1, 1, 1, 1, 1, 1]  # model 1 fitted twice
    if not always:
        assert rep.info.references_ok == 8 and not rep.info.references_failed
        assert (rep.info.references_trained, rep.info.references_cached) == (4, 4)
        return
    error = "RuntimeError: out of memory (failed 2 times; not fitted again)"
    assert rep.info.references_failed == {"1": error}
    assert rep.info.references_ok == 7 and rep.info.references_cached == 3
    assert any(f"1 of 8 reference model fits failed (model 1: {error})" in n for n in rep.notes)
