"""Awkward real-world input: clear errors or warnings, and the user's objects untouched."""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import fingerprint
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import mia_notebook as mn
from mia_notebook.engine import MiaTypeError, MiaValueError, ModelPredictionError
from mia_notebook.engine.cache import CACHE
from mia_notebook.engine.validators import parse_names, validate_fpr, validate_int

# These tests are about input handling: the threshold attacks (no reference models) keep
# them fast, and the comparisons below need the same attack list on every model.
audit = functools.partial(mn.audit, attacks="loss,confidence,logit,entropy,mentropy,gap")


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["y"] = df["a"] + rng.normal(size=n) > 0
    return df.iloc[:300], df.iloc[300:]


@pytest.fixture(scope="module")
def clf(frames):
    tr, _ = frames
    return LogisticRegression().fit(tr[["a", "b"]], tr["y"])


def _auc(rep):
    return rep.summary["AUC"].to_numpy()


def test_extra_object_column_the_model_never_saw_is_ignored(frames, clf):
    tr, te = frames
    tr2, te2 = tr.assign(note="free text"), te.assign(note="other")
    np.testing.assert_allclose(
        _auc(audit(clf, train=tr2, test=te2, target="y")),
        _auc(audit(clf, train=tr, test=te, target="y")),
    )


def test_numpy_fitted_model_and_extra_columns_name_the_fix(frames):
    tr, te = frames
    model = LogisticRegression().fit(tr[["a", "b"]].to_numpy(), tr["y"])
    with pytest.raises(MiaValueError, match=r"fitted on 2 features but 3 columns.*--features"):
        audit(model, train=tr.assign(c=1.0), test=te.assign(c=1.0), target="y")
    rep = audit(model, train=tr.assign(c=1.0), test=te.assign(c=1.0), target="y", features="a,b")
    assert list(rep.info.features) == ["a", "b"]


def test_category_in_test_absent_from_train():
    tr = pd.DataFrame({"c": ["u", "v"] * 50, "y": [0, 1] * 50})
    te = pd.DataFrame({"c": ["u", "w"] * 50, "y": [0, 1] * 50}, index=range(100, 200))
    pipe = make_pipeline(
        ColumnTransformer([("oh", OneHotEncoder(handle_unknown="error"), ["c"])]),
        LogisticRegression(),
    ).fit(tr[["c"]], tr["y"])
    with pytest.raises(ModelPredictionError, match="handle_unknown='ignore'"):
        audit(pipe, train=tr, test=te, target="y")


def test_bool_string_nullable_and_arrow_targets_agree(frames, clf):
    tr, te = frames
    base = _auc(audit(clf, train=tr, test=te, target="y"))
    nullable = {"a": "Float64", "b": "Float64", "y": "boolean"}
    np.testing.assert_allclose(
        _auc(audit(clf, train=tr.astype(nullable), test=te.astype(nullable), target="y")),
        base,
    )
    pytest.importorskip("pyarrow")
    arrow = {"a": "double[pyarrow]", "b": "double[pyarrow]", "y": "bool[pyarrow]"}
    np.testing.assert_allclose(
        _auc(audit(clf, train=tr.astype(arrow), test=te.astype(arrow), target="y")), base
    )
    strings = {True: "yes", False: "no"}
    tr_s, te_s = tr.assign(y=tr["y"].map(strings)), te.assign(y=te["y"].map(strings))
    clf_s = LogisticRegression().fit(tr_s[["a", "b"]], tr_s["y"])
    np.testing.assert_allclose(_auc(audit(clf_s, train=tr_s, test=te_s, target="y")), base)


def test_datetime_target_is_refused(frames, clf):
    tr, te = frames
    dates = pd.date_range("2020-01-01", periods=600)
    with pytest.raises(MiaTypeError, match="dates/durations"):
        audit(clf, train=tr.assign(y=dates[:300]), test=te.assign(y=dates[300:]), target="y")


def test_labels_foreign_to_the_model_are_refused(frames, clf):
    tr, te = frames
    with pytest.raises(MiaValueError, match="not among the model's classes"):
        audit(clf, train=tr.assign(y=tr["y"].map({True: "t", False: "f"})), test=te, target="y")


def test_multiindex_and_duplicated_index_labels(frames, clf):
    tr, te = frames
    mi = pd.MultiIndex.from_arrays([np.arange(600) % 7, np.arange(600)], names=["site", "id"])
    both = pd.concat([tr, te]).set_axis(mi)
    rep = audit(clf, train=both.iloc[:300], test=both.iloc[300:], target="y")
    assert set(rep.flagged(5).index) <= set(both.iloc[:300].index)
    dup = pd.concat([tr, te]).set_axis(np.arange(600) // 2)
    rep = audit(clf, train=dup.iloc[:300], test=dup.iloc[300:], target="y")
    np.testing.assert_allclose(_auc(rep), _auc(audit(clf, train=tr, test=te, target="y")))


@pytest.mark.parametrize("n", [1, 2])
def test_tiny_or_single_class_frames(frames, clf, n):
    tr, te = frames
    one_class = tr[tr["y"]].iloc[:n]
    with pytest.raises(MiaValueError, match="single class"):
        audit(clf, train=one_class, test=te, target="y")


class Wrapped:
    """A duck-typed model whose predict_proba is replaced by ``fn``."""

    def __init__(self, inner, fn):
        self.inner, self.fn, self.classes_ = inner, fn, inner.classes_

    def predict_proba(self, X):
        return self.fn(self.inner.predict_proba(X))


def test_probabilities_that_do_not_sum_to_one_are_renormalised(frames, clf):
    tr, te = frames
    with pytest.warns(UserWarning, match="do not sum to 1"):
        rep = audit(Wrapped(clf, lambda p: p * 3), train=tr, test=te, target="y")
    np.testing.assert_allclose(_auc(rep), _auc(audit(clf, train=tr, test=te, target="y")))
    assert any("renormalised" in n for n in rep.notes)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_probabilities_are_refused(frames, clf, bad):
    tr, te = frames

    def poison(p):
        p = p.copy()
        p[0, 0] = bad
        return p

    with pytest.raises(ModelPredictionError, match="NaN or inf"):
        audit(Wrapped(clf, poison), train=tr, test=te, target="y")


def test_model_that_raises(frames, clf):
    tr, te = frames

    def boom(p):
        raise RuntimeError("backend unavailable")

    with pytest.raises(ModelPredictionError, match=r"RuntimeError in predict_proba.*backend"):
        audit(Wrapped(clf, boom), train=tr, test=te, target="y")


def test_non_deterministic_model_warns(frames, clf):
    tr, te = frames
    rng = np.random.default_rng(0)

    def noisy(p):
        q = np.clip(p + rng.normal(0, 0.05, p.shape), 0, None)
        return q / q.sum(axis=1, keepdims=True)

    with pytest.warns(UserWarning, match="non-deterministic"):
        rep = audit(Wrapped(clf, noisy), train=tr, test=te, target="y")
    assert any("non-deterministic" in n for n in rep.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audit(clf, train=tr, test=te, target="y")  # deterministic: no warning


def test_failed_audits_leave_objects_unchanged(frames, clf):
    tr, te = frames
    before = [fingerprint(o) for o in (clf, tr, te)]
    for kwargs in ({"target": "nope"}, {"fpr": 0}, {"slice": "zz"}):
        with pytest.raises(MiaValueError):
            audit(clf, train=tr, test=te, **{"target": "y", **kwargs})
    with pytest.raises(ModelPredictionError):
        audit(clf, train=tr, test=te.assign(a=np.nan), target="y")
    assert [fingerprint(o) for o in (clf, tr, te)] == before


# ------------------------------------------------------------ property-based
@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=5))
def test_validate_fpr_accepts_exactly_open_unit_interval(values):
    ok = (
        bool(values)
        and all(0 < v < 1 for v in values if not math.isnan(v))
        and not any(math.isnan(v) for v in values)
    )
    if ok:
        out = validate_fpr(values)
        assert list(out) == sorted(set(values))
    else:
        with pytest.raises(MiaValueError, match="'fpr' parameter"):
            validate_fpr(values)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.integers(-5, 50), st.text(max_size=4), st.floats(), st.booleans()))
def test_validate_int_types_and_ranges(value):
    try:
        out = validate_int(value, "flag", low=0, high=40)
    except (MiaValueError, MiaTypeError) as e:
        assert "'flag' parameter" in str(e)
    else:
        assert 0 <= out <= 40 and not isinstance(value, bool | float)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="ab, ", max_size=6), max_size=4))
def test_parse_names_round_trip(names):
    joined = ",".join(names)
    assert parse_names(joined, "x") == tuple(p.strip() for p in joined.split(",") if p.strip())


@settings(max_examples=40, deadline=None)
@given(
    n_train=st.integers(0, 30),
    n_test=st.integers(0, 30),
    nan_target=st.booleans(),
    target=st.sampled_from(["y", "missing"]),
)
def test_prepare_data_errors_are_mia_errors(frames, clf, n_train, n_test, nan_target, target):
    tr, te = frames
    tr2, te2 = tr.iloc[:n_train].copy(), te.iloc[:n_test].copy()
    if nan_target and n_test:
        te2["y"] = te2["y"].astype(object)
        te2.iloc[0, te2.columns.get_loc("y")] = None
    try:
        rep = audit(clf, train=tr2, test=te2, target=target, flag=0)
    except (MiaValueError, MiaTypeError) as e:
        assert str(e)  # a message, never a raw pandas/numpy error
    else:
        assert rep.info.n_members == n_train and rep.info.n_nonmembers == n_test


def test_enormous_references_is_refused_before_any_training(frames, clf):
    tr, te = frames
    before = len(CACHE)
    with pytest.raises(MiaValueError, match=r"'references' parameter must be in \[1, 1024\]"):
        mn.audit(clf, train=tr, test=te, target="y", attacks="lira", references=10**6)
    assert len(CACHE) == before  # nothing was trained or cached
