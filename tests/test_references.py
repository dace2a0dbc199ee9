"""Reference models: IN/OUT bookkeeping, cache and resume, failures, Dask, progress."""

from __future__ import annotations

import io

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import features, fingerprint
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mia_notebook as mn
from mia_notebook.engine.cache import CACHE
from mia_notebook.engine.progress import TextProgress, bar_text, format_eta
from mia_notebook.engine.references import in_out_mask

#: These tests count the models one fixed-size audit trains (adaptive rounds: test_few_references).
FAST = {"n_jobs": 1, "progress": False, "reference_rounds": "fixed"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    mn.clear_cache()
    yield
    mn.clear_cache()


@pytest.fixture(scope="module")
def small(synth_three_way):
    train, test, _ = synth_three_way
    return train.iloc[:400], test.iloc[:400]


@pytest.fixture(scope="module")
def logreg(small):
    tr, _ = small
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(features(tr), tr["label"])


# ------------------------------------------------------------------- splits
@pytest.mark.parametrize("n_refs", [1, 2, 3, 8])
def test_every_record_is_in_for_half_of_the_references(n_refs):
    mask = in_out_mask(5000, n_refs, seed=3)
    per_row = mask.sum(axis=1)
    assert set(np.unique(per_row)) <= {n_refs // 2, n_refs // 2 + n_refs % 2}
    # each reference model trains on about half of the rows
    np.testing.assert_allclose(mask.mean(axis=0), 0.5, atol=0.03)
    np.testing.assert_array_equal(mask, in_out_mask(5000, n_refs, seed=3))
    assert not np.array_equal(mask, in_out_mask(5000, n_refs, seed=4))


class Memorizer(ClassifierMixin, BaseEstimator):
    """Answers 0.99 for the label of a row it was trained on, 0.5/0.5 otherwise."""

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        self.classes_ = np.unique(y)
        self.seen_ = {r.tobytes(): lab for r, lab in zip(X, y, strict=True)}
        return self

    def predict_proba(self, X):
        X = np.asarray(X, dtype=float)
        out = np.full((len(X), len(self.classes_)), 1 / len(self.classes_))
        for i, r in enumerate(X):
            lab = self.seen_.get(r.tobytes())
            if lab is not None:
                out[i] = 0.01 / (len(self.classes_) - 1)
                out[i, np.searchsorted(self.classes_, lab)] = 0.99
        return out


def test_a_reference_never_saw_a_record_it_counts_as_out(small):
    tr, te = small
    model = Memorizer().fit(features(tr), tr["label"])
    rep = mn.audit(
        model, train=tr, test=te, target="label", attacks="lira,rmia", references=6, **FAST
    )
    ev = rep.evidence["references"]
    # The memorizer's statistic is logit(0.99) ~ 4.6 exactly on its training rows.
    seen = ev.signal > 2.0
    np.testing.assert_array_equal(seen, ev.in_mask)
    np.testing.assert_array_equal(ev.target > 2.0, rep.members)
    assert rep.summary.loc["lira", "AUC"] == pytest.approx(1.0)


# -------------------------------------------------------------------- cache
def test_rerun_with_other_view_or_cheaper_attack_retrains_nothing(small, logreg):
    tr, te = small
    args = {"train": tr, "test": te, "target": "label", "references": 4, **FAST}
    first = mn.audit(logreg, attacks="all", **args)
    assert first.info.references_trained == 4 and first.info.references_cached == 0
    for change in (
        {"fpr": [0.05]},
        {"flag": 3},
        {"slice": "x1"},
        {"redact": ["x2"]},
        {"attacks": "rmia"},
        {"attacks": "lira-offline,loss"},
    ):
        rep = mn.audit(logreg, **{**args, "attacks": "all", **change})
        assert rep.info.references_trained == 0, change
        assert rep.info.references_cached == 4
    again = mn.audit(logreg, attacks="all", **args)
    pd.testing.assert_frame_equal(again.scores, first.scores)
    # new seed, new reference count or new model parameters: new reference models
    assert mn.audit(logreg, attacks="rmia", **{**args, "seed": 1}).info.references_trained == 4
    assert (
        mn.audit(logreg, attacks="rmia", **{**args, "references": 2}).info.references_trained == 2
    )
    other = make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(
        features(tr), tr["label"]
    )
    assert mn.audit(other, attacks="rmia", **args).info.references_trained == 4


def test_reference_signals_are_float32_and_cached_per_model(small, logreg):
    tr, te = small
    rep = mn.audit(logreg, train=tr, test=te, target="label", attacks="lira", references=4, **FAST)
    ev = rep.evidence["references"]
    assert ev.signal.dtype == np.float32
    ref_keys = [k for k in CACHE._items if k[0] == "reference"]
    assert len(ref_keys) == 4


def test_audit_never_changes_model_or_frames(small, logreg):
    tr, te = small
    before = [fingerprint(o) for o in (logreg, tr, te)]
    mn.audit(
        logreg,
        train=tr,
        test=te,
        target="label",
        attacks="all",
        references=3,
        population=te.iloc[:50],
        **FAST,
    )
    assert [fingerprint(o) for o in (logreg, tr, te)] == before


class InterruptAfter:
    """A progress display whose update() raises KeyboardInterrupt after k models."""

    def __init__(self, k):
        self.k = k
        self.closed = False

    def start(self, total, description):
        self.total = total

    def update(self, done):
        if done >= self.k:
            raise KeyboardInterrupt

    def close(self):
        self.closed = True


def test_interrupt_keeps_finished_models_and_rerun_resumes(small, logreg):
    tr, te = small
    args = {
        "train": tr,
        "test": te,
        "target": "label",
        "attacks": "lira,rmia",
        "references": 6,
        "n_jobs": 1,
        "reference_rounds": "fixed",
    }
    stop = InterruptAfter(2)
    with pytest.raises(KeyboardInterrupt, match="2 of 6 are trained and cached"):
        mn.audit(logreg, progress=stop, **args)
    assert stop.closed
    resumed = mn.audit(logreg, progress=False, **args)
    assert resumed.info.references_cached == 2
    assert resumed.info.references_trained == 4
    mn.clear_cache()
    fresh = mn.audit(logreg, progress=False, **args)
    np.testing.assert_array_equal(
        resumed.evidence["references"].signal, fresh.evidence["references"].signal
    )
    pd.testing.assert_frame_equal(resumed.scores, fresh.scores)


# ----------------------------------------------------------------- failures
FLAKY = {"calls": 0, "fail_on": set()}


class FlakyClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression whose n-th fit call raises (counted in FLAKY)."""

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        FLAKY["calls"] += 1
        if FLAKY["calls"] in FLAKY["fail_on"]:
            raise ValueError("flaky solver exploded")
        self.lr_ = LogisticRegression(C=self.C).fit(X, y)
        self.classes_ = self.lr_.classes_
        return self

    def predict_proba(self, X):
        return self.lr_.predict_proba(X)


def test_failing_reference_fits_do_not_lose_the_others(small):
    tr, te = small
    model = FlakyClassifier().fit(features(tr), tr["label"])
    FLAKY.update(calls=0, fail_on={2, 4})
    args = {
        "train": tr,
        "test": te,
        "target": "label",
        "attacks": "lira,rmia,loss",
        "references": 6,
        **FAST,
    }
    rep = mn.audit(model, **args)
    assert rep.info.references_ok == 4
    assert len(rep.info.references_failed) == 2
    assert any(
        "2 of 6 reference model fits failed" in n and "flaky solver exploded" in n
        for n in rep.notes
    )
    assert rep.evidence["references"].signal.shape[1] == 4
    assert set(rep.summary.index) == {"loss", "lira", "rmia"}
    # the next run retries only the failed ones
    again = mn.audit(model, **args)
    assert again.info.references_trained == 2 and again.info.references_cached == 4
    assert again.info.references_failed == {}


def test_all_reference_fits_failing_skips_the_attacks_with_the_reason(small):
    tr, te = small
    model = FlakyClassifier().fit(features(tr), tr["label"])
    FLAKY.update(calls=0, fail_on=set(range(1, 100)))
    rep = mn.audit(model, train=tr, test=te, target="label", attacks="auto", references=3, **FAST)
    assert FLAKY["calls"] == 3  # the failure is not retried by every attack
    assert "loss" in rep.summary.index
    assert "All 3 reference model fits failed" in rep.skipped["lira"]
    assert "flaky solver exploded" in rep.skipped["rmia"]
    FLAKY.update(fail_on=set())


# --------------------------------------------------------------- parallel
def test_joblib_processes_give_the_same_numbers(small, logreg):
    tr, te = small
    args = {
        "train": tr,
        "test": te,
        "target": "label",
        "attacks": "lira,rmia",
        "references": 4,
        "progress": False,
    }
    seq = mn.audit(logreg, n_jobs=1, **args)
    mn.clear_cache()
    par = mn.audit(logreg, n_jobs=2, **args)
    pd.testing.assert_frame_equal(seq.scores, par.scores)


WORKERS: list[str] = []


class WhereFitted(ClassifierMixin, BaseEstimator):
    """Records the Dask worker each fit runs on (raises outside a Dask worker)."""

    def fit(self, X, y):
        from distributed import get_worker

        if getattr(self, "target_", False):
            self.lr_ = LogisticRegression().fit(X, y)
        else:
            WORKERS.append(get_worker().address)
            self.lr_ = LogisticRegression().fit(X, y)
        self.classes_ = self.lr_.classes_
        return self

    def predict_proba(self, X):
        return self.lr_.predict_proba(X)


def test_dask_cluster_trains_the_references(small):
    distributed = pytest.importorskip("distributed")
    tr, te = small
    model = WhereFitted()
    model.target_ = True  # clones (no target_ attribute) must run on a worker
    model.fit(features(tr), tr["label"])
    WORKERS.clear()
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        rep = mn.audit(
            model,
            train=tr,
            test=te,
            target="label",
            attacks="lira,rmia",
            references=3,
            progress=False,
        )
    assert len(WORKERS) == 3 and all(w.startswith("inproc://") for w in WORKERS)
    assert rep.info.references_ok == 3


# ---------------------------------------------------------------- progress
def test_text_progress_draws_a_bar_with_eta_and_erases_it():
    buf = io.StringIO()
    bar = TextProgress(stream=buf, min_interval=0.0)
    bar.start(4, "Training reference models")
    for i in range(1, 5):
        bar.update(i)
    drawn = buf.getvalue()
    assert "Training reference models 4/4 [" in drawn and "ETA" in drawn
    bar.close()
    assert buf.getvalue().endswith("\r") and buf.getvalue().split("\r")[-2].strip() == ""
    assert bar_text("x", 1, 4, 3.0).endswith("ETA 0:09")
    assert format_eta(3725) == "1:02:05" and format_eta(float("nan")) == "?"


def test_progress_goes_to_stderr_by_default_and_can_be_silenced(small, logreg, capsys):
    tr, te = small
    args = {"train": tr, "test": te, "target": "label", "attacks": "rmia", "n_jobs": 1}
    args["reference_rounds"] = "fixed"
    mn.audit(logreg, references=2, **args)
    assert "Training reference models" in capsys.readouterr().err
    mn.audit(logreg, references=3, progress=False, **args)
    assert capsys.readouterr().err == ""
    seen = []

    class Recorder:
        def start(self, total, description):
            seen.append(("start", total))

        def update(self, done):
            seen.append(("update", done))

        def close(self):
            seen.append(("close",))

    mn.audit(logreg, references=4, progress=Recorder(), **args)
    assert seen[0] == ("start", 4) and seen[-1] == ("close",)
    assert [s[1] for s in seen if s[0] == "update"] == [1, 2, 3, 4]


# ------------------------------------------------------------------- magic
@pytest.fixture
def magic(small, logreg):
    """``%mia_audit`` without a global IPython shell (test_magics owns that one).

    Traits are set directly: that is what ``%config MiaAudit.x = ...`` does.
    """
    from mia_notebook.magics import MiaAudit

    tr, te = small
    ns = {"train_df": tr, "test_df": te, "clf": logreg, "extra_df": te.iloc[:100]}
    magics = MiaAudit(shell=None)
    return magics, lambda line: magics.mia_audit(line, local_ns=ns)


LINE = "clf --train train_df --test test_df --target label --attacks lira,rmia,loss --n-jobs 1"


def test_magic_reference_options(magic, capsys):
    magics, run = magic
    magics.progress = False
    rep = run(LINE + " --references 3 --population extra_df --lira-variance per-record")
    assert rep.options.references == 3 and rep.info.population_rows == 100
    assert rep.options.lira_variance == "per-record"
    assert rep.evidence["references"].pop_signal.shape == (100, 3)
    magics.references = 2
    assert run(LINE).options.references == 2
    assert capsys.readouterr().err == ""  # %config MiaAudit.progress = False: silent
    magics.progress = True
    run(LINE + " --references 4")
    assert "Training reference models" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("opts", "match"),
    [
        ("--references 0", r"'references' parameter must be in \[1, 1024\]"),
        ("--population nope", "No variable named 'nope' for --population"),
        ("--population clf", "'population' parameter must be a pandas DataFrame"),
        ("--lira-variance wide", "'lira_variance' parameter must be one of"),
        ("--n-jobs 0", "'n_jobs' parameter must be a non-zero int"),
    ],
)
def test_magic_bad_reference_options_are_usage_errors(magic, opts, match):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match=match):
        magic[1](f"{LINE} {opts}")


def test_magic_clear_cache_reports_what_it_freed(magic, capsys):
    magics, run = magic
    magics.progress = False
    run(LINE + " --references 2")
    n_items, n_bytes = len(CACHE), CACHE.nbytes
    assert n_items >= 3
    capsys.readouterr()
    assert run("--clear-cache") is None
    out = capsys.readouterr().out
    assert f"freed {n_bytes / 1024**2:.1f} MB in {n_items} entries" in out
    assert len(CACHE) == 0
