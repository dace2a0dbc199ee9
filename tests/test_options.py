"""One options object, validated once: every option has one rule and one message."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mia_notebook as mn
from mia_notebook.engine import MiaTypeError, MiaValueError
from mia_notebook.engine.options import (
    AuditOptions,
    option_fields,
    option_names,
    validate_option,
    view_option_names,
)
from mia_notebook.engine.validators import DEFAULT_REFERENCES


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("fpr", "0.1, 0.01", (0.01, 0.1)),
        ("fpr", [0.5, 0.5], (0.5,)),
        ("fpr", 0.2, (0.2,)),
        ("flag", "7", 7),
        ("seed", 2**32 - 1, 2**32 - 1),
        ("confidence", 0.5, 0.5),
        ("delta", 0, 0.0),
        ("references", None, DEFAULT_REFERENCES),
        ("references", 1024, 1024),
        ("n_jobs", -1, -1),
        ("n_jobs", None, None),
        ("lira_variance", "global", "global"),
        ("rmia_a", "auto", "auto"),
        ("rmia_a", "0.25", 0.25),
        ("slice", "", None),
        ("redact", "a, b", ("a", "b")),
        ("attacks", "loss,lira", ("loss", "lira")),
        ("show", "", None),
        ("show", "loss", ("loss",)),
        ("features", ["a"], ("a",)),
        ("policy", "tpr_high=0.1", mn.Policy(tpr_high=0.1)),
        ("policy", '{"fpr": [0.01], "tpr_high": 0.3}', mn.Policy(fpr=(0.01,), tpr_high=0.3)),
        ("policy", {}, None),
        ("outputs", "round:2", validate_option("outputs", "ROUND:2")),
    ],
)
def test_validate_option_normalises_good_values(name, value, expected):
    assert validate_option(name, value) == expected


@pytest.mark.parametrize(
    ("name", "value", "exc", "message"),
    [
        ("fpr", [2.0], MiaValueError, "The 'fpr' parameter must be in (0, 1). Got 2.0 instead."),
        ("fpr", 1.5, MiaValueError, "The 'fpr' parameter must be in (0, 1). Got 1.5 instead."),
        ("fpr", [], MiaValueError, "The 'fpr' parameter is empty"),
        ("fpr", "a,b", MiaValueError, "The 'fpr' parameter must be numbers in (0, 1)"),
        ("flag", -1, MiaValueError, "The 'flag' parameter must be >= 0. Got -1 instead."),
        ("flag", 2.5, MiaTypeError, "The 'flag' parameter must be an int. Got 2.5 instead."),
        ("seed", -3, MiaValueError, "The 'seed' parameter must be in [0, 4294967295]"),
        ("confidence", 0.3, MiaValueError, "The 'confidence' parameter must be in [0.5, 1)."),
        ("confidence", "high", MiaTypeError, "The 'confidence' parameter must be a number."),
        ("delta", 1.0, MiaValueError, "The 'delta' parameter must be in [0, 1). Got 1.0"),
        ("references", 0, MiaValueError, "The 'references' parameter must be in [1, 1024]"),
        ("n_jobs", 0, MiaValueError, "The 'n_jobs' parameter must be a non-zero int"),
        ("lira_variance", "wide", MiaValueError, "The 'lira_variance' parameter must be one"),
        ("rmia_a", 1.5, MiaValueError, "The 'rmia_a' parameter must be in [0, 1]. Got 1.5"),
        ("slice", 3, MiaTypeError, "The 'slice' parameter must be a column name. Got 3"),
        ("redact", 5, MiaTypeError, "The 'redact' parameter must be a list of column names"),
        ("attacks", "lossy", MiaValueError, "Unknown attack 'lossy'. Choose from ["),
        ("attacks", "", MiaValueError, "The 'attacks' parameter is empty"),
        ("velocity", 1, MiaValueError, "Unknown option 'velocity'. Options: ["),
        ("seeed", 1, MiaValueError, "Unknown option 'seeed'. Did you mean 'seed'?"),
        ("policy", "tpr_high", MiaValueError, "The 'policy' parameter must be key=value pairs"),
        ("policy", "tpr_high=x", MiaTypeError, "The 'policy' parameter's 'tpr_high' must be"),
        ("policy", "{nope", MiaValueError, "The 'policy' parameter is not a valid JSON object"),
        ("policy", "speed=1", MiaValueError, "Unknown policy key(s) ['speed']"),
    ],
)
def test_validate_option_names_the_parameter_and_the_value(name, value, exc, message):
    with pytest.raises(exc) as info:
        validate_option(name, value)
    assert str(info.value).startswith(message)


def test_audit_options_are_frozen_typed_and_validated_once():
    opts = AuditOptions(fpr="0.1,0.001", references=None, seed="3", redact="x")
    assert opts.fpr == (0.001, 0.1) and opts.references == DEFAULT_REFERENCES
    assert opts.seed == 3 and opts.redact == ("x",) and opts.attacks == ("auto",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.seed = 4  # type: ignore[misc]
    with pytest.raises(MiaValueError, match=r"Unknown option 'fprs'. Did you mean 'fpr'"):
        opts.replace(fprs=0.1)
    assert opts.replace(seed="5").seed == 5  # replace validates too
    with pytest.raises(MiaValueError, match="The 'seed' parameter must be in"):
        opts.replace(seed=-1)
    assert AuditOptions(**opts.to_dict()) == opts  # plain values round-trip
    assert opts.changed(AuditOptions()) == {"fpr": (0.001, 0.1), "redact": ("x",), "seed": 3}


def test_a_dict_policy_takes_the_options_confidence_and_delta():
    opts = AuditOptions(confidence=0.99, delta=0.01, policy={"tpr_high": 0.3})
    assert opts.policy == mn.Policy(confidence=0.99, delta=0.01, tpr_high=0.3)
    assert AuditOptions(confidence=0.9).policy_or_default == mn.Policy(confidence=0.9)


def test_the_entry_point_tests_set_every_option():
    from conftest import NON_DEFAULT

    assert list(NON_DEFAULT) == option_names()  # add a value there for a new option
    changed = AuditOptions(**NON_DEFAULT).changed(AuditOptions())
    assert set(changed) == set(option_names())  # each differs from the default


def test_every_option_is_defined_once_with_its_metadata():
    names = option_names()
    assert names == [f.name for f in dataclasses.fields(AuditOptions)]
    assert set(view_option_names()) == {
        "fpr", "flag", "slice", "redact", "show", "confidence", "delta", "policy", "setting"
    }  # fmt: skip
    for name, spec, default in option_fields():
        assert spec.help and spec.help[0].isupper(), name
        assert validate_option(name, default) == default, name  # defaults are normal forms
        assert f"{name} : " in (AuditOptions.__doc__ or ""), name  # documented from it
        assert f"{name} : " in (mn.audit.__doc__ or "") and f"{name} : " in (
            mn.compare.__doc__ or ""
        ), name


def test_audit_and_validate_option_give_the_same_message(cancer_splits):
    tr, te = cancer_splits
    clf = LogisticRegression(max_iter=5000).fit(tr.drop(columns="label"), tr["label"])
    for name, bad in (("fpr", 1.5), ("confidence", 0.2), ("references", 0), ("rmia_a", 2)):
        with pytest.raises(mn.MiaError) as direct:
            validate_option(name, bad)
        with pytest.raises(mn.MiaError) as through_audit:
            mn.audit(clf, train=tr, test=te, target="label", **{name: bad})
        assert str(direct.value) == str(through_audit.value)


class CountingLogisticRegression(LogisticRegression):
    """A real LogisticRegression that counts how often the audit queries it."""

    calls = 0

    def predict_proba(self, X):
        type(self).calls += 1
        return super().predict_proba(X)


@pytest.fixture
def frames_with_extra_columns():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["y"] = (df["a"] + rng.normal(size=n) > 0).astype(int)
    df["region"] = rng.choice(["north", "south"], size=n)
    tr, te = df.iloc[:200], df.iloc[200:]
    model = CountingLogisticRegression().fit(tr[["a", "b"]], tr["y"])
    return tr, te, model


def test_slice_column_only_in_train_fails_in_audit_before_any_model_query(
    frames_with_extra_columns,
):
    tr, te, model = frames_with_extra_columns
    CountingLogisticRegression.calls = 0
    with pytest.raises(MiaValueError) as info:
        mn.audit(model, train=tr, test=te.drop(columns="region"), target="y", slice="region")
    msg = str(info.value)
    assert "Cannot slice by 'region': it is not a column of test" in msg
    assert "must be in both frames" in msg
    assert CountingLogisticRegression.calls == 0  # validated up front, nothing computed
    with pytest.raises(MiaValueError, match="it is not a column of train or test"):
        mn.audit(model, train=tr, test=te, target="y", slice="town")
    with pytest.raises(MiaValueError, match=r"Cannot redact \['town'\]: no such column"):
        mn.audit(model, train=tr, test=te, target="y", redact="town")
    assert CountingLogisticRegression.calls == 0
    rep = mn.audit(model, train=tr, test=te, target="y", slice="region", attacks="loss")
    assert set(rep.slices("region").index) == {"north", "south"}  # the display works
