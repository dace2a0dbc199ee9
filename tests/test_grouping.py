"""The group metrics of a slice column, computed from one sort of the scores, against
slow per-subset reference computations (sklearn, the per-subset DeLong of
``auc_with_variance``); and the panel's background warm-up of every slice column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import mia_notebook as mn
from mia_notebook.engine import metrics
from mia_notebook.engine.group_auc import inside_and_rest_aucs, score_order
from mia_notebook.engine.grouping import MISSING, auc_with_variance, group_summaries, value_groups


def _case(seed: int, n: int = 3000, ties: bool = False):
    rng = np.random.default_rng(seed)
    labels = rng.choice(["a", "b", "c", "d", "e"], n, p=[0.4, 0.3, 0.2, 0.08, 0.02])
    members = rng.random(n) < 0.45
    scores = rng.normal(size=n) + 0.7 * (members & (labels == "b"))
    if ties:  # coarse scores: many records share a value, across groups and classes
        scores = np.round(scores, 1)
    return scores, members, value_groups(pd.Series(labels), masked=False)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inside_and_rest_aucs_match_per_subset_delong(seed, ties):
    scores, members, groups = _case(seed, ties=ties)
    every = range(len(groups.order))
    got = inside_and_rest_aucs(scores, members, groups.codes, every)
    labels = groups.labels.to_numpy()
    for k, g in enumerate(groups.order):
        inside = labels == g
        want = (*auc_with_variance(scores[inside], members[inside]),
                *auc_with_variance(scores[~inside], members[~inside]))  # fmt: skip
        np.testing.assert_allclose(got[k], want, rtol=1e-12, atol=1e-15)
        assert got[k, 0] == pytest.approx(roc_auc_score(members[inside], scores[inside]))
    # a precomputed order gives the same numbers
    np.testing.assert_array_equal(
        inside_and_rest_aucs(scores, members, groups.codes, every, score_order(scores)), got
    )


def test_exposed_group_compares_only_the_largest_groups():
    from mia_notebook.engine.grouping import exposed_group

    scores, members, groups = _case(4, n=6000)
    scores = scores + 3.0 * (members & (groups.labels.to_numpy() == "e"))  # small, leaking
    found = exposed_group(scores, members, groups, confidence=0.95)
    assert found is not None and found.label == "e" and found.n_tested == 5
    limited = exposed_group(scores, members, groups, confidence=0.95, limit=4)
    assert limited is not None and limited.label == "b" and limited.n_tested == 4


def test_inside_and_rest_aucs_nan_for_a_group_without_two_of_a_class():
    scores = np.array([0.1, 0.9, 0.4, 0.5, 0.7, 0.2])
    members = np.array([True, True, False, False, True, False])
    groups = value_groups(pd.Series(["x", "x", "x", "x", "y", "y"]), masked=False)
    got = inside_and_rest_aucs(scores, members, groups.codes, [0, 1])
    assert np.isfinite(got[0, :2]).all() and np.isnan(got[1, :2]).all()
    assert got[0, 0] == pytest.approx(roc_auc_score(members[:4], scores[:4]))


@pytest.mark.parametrize("ties", [False, True])
def test_group_summaries_match_score_summary_per_group(ties):
    scores, members, groups = _case(3, ties=ties)
    scores[:7] = np.nan  # NaN ranks lowest, as in score_summary
    labels = groups.labels.to_numpy()
    got = group_summaries(scores, members, groups, confidence=0.9, delta=1e-5, limit=3)
    sizes = {g: (labels == g).sum() for g in groups.order}
    largest = sorted(sizes, key=lambda g: -sizes[g])[:3]
    assert list(got) == [g for g in groups.order if g in largest]  # value order kept
    for g, summary in got.items():
        inside = labels == g
        want = metrics.score_summary(scores[inside], members[inside], confidence=0.9, delta=1e-5)
        assert summary.auc == want.auc and summary.epsilon_lb == want.epsilon_lb
        assert summary.advantage == want.advantage
        np.testing.assert_array_equal(summary.curve.tpr, want.curve.tpr)
        np.testing.assert_array_equal(summary.curve.fpr, want.curve.fpr)


def test_value_groups_labels_codes_and_bins():
    values = pd.Series([3, 1, None, 2, 1, 3], dtype="float64")
    groups = value_groups(values, masked=False)
    assert groups.order == ["1.0", "2.0", "3.0", MISSING]
    assert groups.labels.tolist() == ["3.0", "1.0", MISSING, "2.0", "1.0", "3.0"]
    assert groups.codes.tolist() == [2, 0, 3, 1, 0, 2]
    mixed = value_groups(pd.Series([1, "a", 1, "b"], dtype=object), masked=False)
    assert mixed.order == ["1", "a", "b"] and mixed.labels.tolist() == ["1", "a", "1", "b"]
    ages = pd.Series(np.r_[np.arange(18, 98), [np.nan]])
    binned = value_groups(ages, masked=False)
    assert len(binned.order) == 5 and binned.order[-1] == MISSING
    assert binned.counts().tolist() == [20, 20, 20, 20, 1]
    assert binned.labels.iloc[0] == binned.order[0] and binned.labels.iloc[-1] == MISSING
    # groups no record has are dropped (a categorical's unused category)
    cat = pd.Series(pd.Categorical(["x", "z"], categories=["x", "y", "z"]))
    assert value_groups(cat, masked=False).order == ["x", "z"]


def test_panel_warms_every_slice_column_in_the_background():
    from mia_notebook.panel import AuditPanel

    rng = np.random.default_rng(0)
    n = 1200
    df = pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n)})
    df["label"] = (df.x0 + rng.normal(size=n) > 0).astype(int)
    df["region"] = rng.choice(["n", "s"], n)
    df["age"] = rng.integers(18, 90, n)
    train, test = df.iloc[:600], df.iloc[600:]
    clf = LogisticRegression().fit(train[["x0", "x1"]], train.label)
    report = mn.audit(clf, train=train, test=test, target="label", features=["x0", "x1"],
                      attacks=["loss", "gap"], progress=False)  # fmt: skip
    panel = AuditPanel(report, model=clf)
    assert panel.warming is not None
    panel.warming.join(timeout=60)
    attack = report.strongest or report.attacks[0]
    for col in ("region", "age", "x0"):
        key = ("slices", col, False, attack, report.options.confidence, report.options.delta)
        assert key in report._memo, col
        # the warmed numbers are the ones a fresh report computes on demand
        fresh = mn.audit(clf, train=train, test=test, target="label", features=["x0", "x1"],
                         attacks=["loss", "gap"], progress=False)  # fmt: skip
        pd.testing.assert_frame_equal(report.slices(col), fresh.slices(col))
    AuditPanel.warm_in_background = False
    try:
        assert AuditPanel(report, model=clf).warming is None
    finally:
        AuditPanel.warm_in_background = True
