"""The JupyterLab renderer's JSON (mia_notebook/render/mime.py), checked on real audits.

The thinned ROC curves must give exactly Python's TPR (and notes) at every FPR target
the renderer offers; its claims (who may be flagged at each target) must follow the
verdict's exact test, checked against scipy; the payload must hold no feature value
beyond the flagged records, no redacted value, and stay under its size cap. It groups
rank-equivalent attacks as the report does. A comparison's JSON
(mia_notebook/render/mime_compare.py) gives every model's figures of the
ComparisonReport, from the same thinned curves, and holds no record at all.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import hypergeom
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import mia_notebook as mn
from mia_notebook.engine.compare import ComparisonReport, model_row
from mia_notebook.engine.metrics import RocCurve, tpr_at_fpr
from mia_notebook.engine.results import AuditReport
from mia_notebook.render import render_bundle
from mia_notebook.render.compare import render_comparison_bundle
from mia_notebook.render.mime import (
    FPR_CHOICES,
    MIME_TYPE,
    VERSION,
    payload_json,
    report_payload,
    saved_curve,
)
from mia_notebook.render.mime_compare import COMPARISON_MIME_TYPE, comparison_payload

ATTACKS = ["loss", "confidence", "entropy"]


def _frames(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    x, y = make_classification(
        n_samples=2 * n, n_features=6, n_informative=4, flip_y=0.1, random_state=seed
    )
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(6)]).assign(label=y)
    df["token"] = [f"tok-{i:05d}-z" for i in range(2 * n)]
    df["secret"] = [f"999-{i:05d}" for i in range(2 * n)]
    return df.iloc[:n], df.iloc[n:]


FEATURES = [f"x{i}" for i in range(6)]


def _forest(train: pd.DataFrame) -> RandomForestClassifier:
    clf = RandomForestClassifier(n_estimators=15, max_depth=9, random_state=0, n_jobs=1)
    return clf.fit(train[FEATURES], train["label"])


@pytest.fixture(scope="module")
def forest_report() -> AuditReport:
    """Forest probabilities: many ties, and more ROC points than a small cap keeps."""
    train, test = _frames(1500, seed=1)
    feats = FEATURES
    clf = _forest(train)
    return mn.audit(
        clf,
        train=train[[*feats, "token", "secret", "label"]],
        test=test[[*feats, "token", "secret", "label"]],
        target="label",
        attacks=ATTACKS,
        flag=7,
        redact=["secret"],
    )


def _curve(entry: dict[str, Any]) -> RocCurve:
    return saved_curve(entry["curve"])


@pytest.mark.parametrize("max_points", [2000, 300, 60])
def test_thinned_curves_give_pythons_tpr_at_every_offered_target(
    forest_report: AuditReport, max_points: int
) -> None:
    payload = report_payload(forest_report, max_points=max_points)
    full = forest_report.roc_curves()
    assert [a["name"] for a in payload["attacks"]] == ATTACKS
    assert set(forest_report.options.fpr) <= set(payload["fpr_choices"])
    thinned_any = False
    for entry in payload["attacks"]:
        curve = _curve(entry)
        whole = full[entry["name"]]
        assert curve.fpr.size <= max_points + 2 * len(payload["fpr_choices"])
        thinned_any |= curve.fpr.size < whole.fpr.size
        assert np.all(np.diff(curve.fpr) >= 0) and np.all(np.diff(curve.tpr) >= 0)
        assert (curve.fpr[0], curve.tpr[-1], curve.fpr[-1]) == (0.0, 1.0, 1.0)
        for target in payload["fpr_choices"]:
            assert tpr_at_fpr(curve, target) == tpr_at_fpr(whole, target), (entry["name"], target)
        row = forest_report.summary.loc[entry["name"]]
        assert entry["AUC"] == pytest.approx(row["AUC"], abs=0)
        assert entry["epsilon_lb"] == pytest.approx(row["epsilon_lb"], abs=0)
    if max_points < 2000:
        assert thinned_any, "the cap should thin these curves"


def _reference_claims(report: AuditReport, choices: list[float]) -> list[tuple[str, int, float]]:
    """Slow reference for ``claims``: scipy's hypergeometric CDF, the Bonferroni share of
    the verdict's family at the policy's targets, of every offered target elsewhere."""
    verdict = report.verdict
    members = report.members
    n_pos, n_neg = int(members.sum()), int((~members).sum())
    policy_fpr = [f for f in verdict.policy.fpr if n_neg * f >= 1] or [max(verdict.policy.fpr)]
    offered = sorted({*(f for f in choices if n_neg * f >= 1), *policy_fpr})
    budget = (1 - verdict.policy.confidence) / 2 / len(report.computed_attacks)
    scores = report.scores[verdict.attack].to_numpy()
    nonmembers = np.sort(scores[~members])
    out = []
    for f in choices:
        if f not in offered:
            out.append(("unresolvable", 0, math.nan))
            continue
        allowed = math.floor(f * n_neg + 1e-9)
        threshold = nonmembers[n_neg - 1 - allowed] if allowed < n_neg else -np.inf
        tp = int((scores[members] > threshold).sum())
        p = float(hypergeom.cdf(allowed, n_pos + n_neg, n_neg, tp + allowed)) if tp else 1.0
        alpha = budget / len(policy_fpr if f in policy_fpr else offered)
        claim = tp > 0 and p <= alpha
        out.append(("claim" if claim else "chance", tp if claim else 0, p))
    return out


def _listed(payload: dict[str, Any], claim: dict[str, Any]) -> list[Any]:
    """The renderer's rule (labextension/src/compute.ts flaggedRows), in Python."""
    f = payload["flagged"]
    col = f["columns"].index(f["rank_column"]) + 1
    if not claim["claim"]:
        return []
    return [r[0] for r in f["rows"] if r[col] <= claim["identified"]][: f["limit"]]


@pytest.mark.parametrize(
    "policy", [None, {"fpr": [0.03, 0.1], "tpr_elevated": 0.3, "tpr_high": 0.5}]
)
def test_claims_follow_the_verdicts_exact_test(
    forest_report: AuditReport, policy: dict[str, Any] | None
) -> None:
    # 0.0002 cannot be resolved with 1,500 non-members: offered only as the report's own
    report = forest_report.with_options(fpr=(0.0002, 0.001, 0.01, 0.1))
    report = report if policy is None else report.with_options(policy=policy)
    payload = report_payload(report)
    verdict = report.verdict
    assert set(verdict.policy.fpr) <= set(payload["fpr_choices"])
    assert payload["verdict"] == {
        "level": verdict.level,
        "reason": verdict.reason,
        "attack": verdict.attack,
        "n_identified": verdict.n_identified,
        "fpr": verdict.evidence["fpr"],
        "policy_fpr": list(verdict.policy.fpr),
        "confidence": 0.95,
        "tests": verdict.evidence["tests"],
        "setting": verdict.setting,
        "settings": {s: v.level for s, v in verdict.settings.items()},
    }
    want = _reference_claims(report, payload["fpr_choices"])
    claims = payload["claims"]
    assert [c["fpr"] for c in claims] == payload["fpr_choices"]
    assert [(c["why"], c["identified"]) for c in claims] == [w[:2] for w in want]
    for c, (_, _, p) in zip(claims, want, strict=True):
        if c["p_value"] is not None:
            assert c["p_value"] == pytest.approx(p, rel=1e-6, abs=1e-300)
    whys = {c["why"] for c in claims}
    assert {"claim", "chance", "unresolvable"} <= whys  # every case is exercised
    # At the verdict's own target the renderer lists exactly what Python's report lists.
    own = next(c for c in claims if c["fpr"] == verdict.evidence["fpr"])
    assert own["identified"] == verdict.n_identified
    assert _listed(payload, own) == list(report.flagged().index)
    # Elsewhere: the members above the threshold there, most exposed first, at most `flag`.
    scores = report.scores[verdict.attack].to_numpy()[: report.n_members]
    order = np.argsort(-scores, kind="stable")
    for c in claims:
        want_rows = list(report.data.train.index[order[: min(c["identified"], 7)]])
        assert _listed(payload, c) == want_rows, c["fpr"]


def test_offered_targets_are_resolvable_or_the_reports_own_and_marked(
    forest_report: AuditReport,
) -> None:
    """Of the standard targets, only those the 1,500 non-members resolve are offered; a
    target the report itself asks for is offered anyway, with what it needs."""
    report = forest_report.with_options(fpr=(0.0002, 0.01))
    payload = report_payload(report)
    n_neg = report.data.n_test
    standard = [f for f in FPR_CHOICES if f * n_neg >= 1]
    assert payload["fpr_choices"] == sorted({*standard, 0.0002, *report.verdict.policy.fpr})
    notes = dict(zip(payload["fpr_choices"], payload["choice_notes"], strict=True))
    assert notes[0.0002] == "needs ≥ 5,000 non-members"
    assert all(notes[f] == "" for f in standard)
    assert 0.0001 not in notes and 0.0005 not in notes


def test_policy_claims_at_the_verdicts_target(forest_report: AuditReport) -> None:
    report = forest_report.with_options(policy={"fpr": [0.1], "tpr_elevated": 0.3, "tpr_high": 0.5})
    payload = report_payload(report)
    assert report.verdict.n_identified > 7 and payload["verdict"]["fpr"] == 0.1
    own = next(c for c in payload["claims"] if c["fpr"] == 0.1)
    assert own["claim"] and _listed(payload, own) == list(report.flagged().index)
    assert len(report.flagged()) == 7


def test_at_level_none_nobody_is_flagged_at_any_target() -> None:
    """Labels independent of the features: no attack beats chance, no record is listed."""
    train, test = _frames(600, seed=7)
    rng = np.random.default_rng(0)
    train = train.assign(label=rng.integers(0, 2, len(train)))
    test = test.assign(label=rng.integers(0, 2, len(test)))
    feats = [f"x{i}" for i in range(6)]
    clf = LogisticRegression().fit(train[feats], train["label"])
    report = mn.audit(
        clf, train=train, test=test, target="label", attacks=["loss", "confidence"], flag=5
    )
    payload = report_payload(report)
    assert report.verdict.level == "none" and payload["verdict"]["level"] == "none"
    assert all(not c["claim"] and c["why"] == "none" for c in payload["claims"])
    assert payload["flagged"]["rows"] == [] and payload["flagged"]["attack"] is None
    assert payload["flagged"]["reason"] == report.verdict.reason
    assert "tok-" not in payload_json(report)  # no record's values at all


def test_payload_holds_only_flagged_features_and_no_redacted_value(
    forest_report: AuditReport,
) -> None:
    text = payload_json(forest_report)
    json.loads(text)  # strict JSON: no NaN / Infinity
    assert "999-" not in text
    payload = json.loads(text)
    most = max(c["identified"] for c in payload["claims"])
    verdict_attack = forest_report.verdict.attack
    listed = set(forest_report.flagged(k=min(7, most), attack=verdict_attack)["token"])
    assert len(listed) == 7  # some target claims: the top members of the verdict's attack
    tokens = set(forest_report.data.train["token"]) | set(forest_report.data.test["token"])
    assert {t for t in tokens if t in text} == listed
    assert "secret" in payload["flagged"]["columns"] and payload["redacted"] == ["secret"]
    assert "versions" not in payload and "fingerprints" not in payload


def test_size_cap_thins_then_drops_rows(forest_report: AuditReport) -> None:
    full = len(payload_json(forest_report).encode())
    capped = report_payload(forest_report, max_bytes=full // 2)
    size = len(json.dumps(capped, separators=(",", ":")).encode())
    assert size <= full // 2
    assert capped["truncated"] and "thinned" in capped["truncated"][-1]
    tiny = report_payload(forest_report, max_bytes=2000)
    assert tiny["flagged"]["rows"] == [] and "flagged rows dropped" in tiny["truncated"][-1]


def test_bundle_keeps_static_html_beside_the_renderer_json() -> None:
    train, test = _frames(300, seed=2)
    feats = [f"x{i}" for i in range(6)]
    clf = LogisticRegression(max_iter=500).fit(train[feats], train["label"])
    report = mn.audit(
        clf,
        train=train[[*feats, "label"]],
        test=test[[*feats, "label"]],
        target="label",
        attacks=["loss"],
        fpr=[0.01, 0.05],
    )
    bundle = render_bundle(report)
    assert set(bundle) == {"text/plain", "text/html", MIME_TYPE}
    assert "<script" not in bundle["text/html"].lower()
    payload = bundle[MIME_TYPE]
    assert payload["fpr_targets"] == [0.01, 0.05] and payload["version"] == VERSION
    # 300 non-members cannot resolve 0.1% FPR: the payload lets the renderer say so.
    curve = _curve(payload["attacks"][0])
    assert not tpr_at_fpr(curve, 0.001).resolvable
    assert json.dumps(payload, allow_nan=False)


# ------------------------------------------------- groups of rank-equivalent attacks


def test_groups_are_the_reports_rank_groups(forest_report: AuditReport) -> None:
    payload = report_payload(forest_report)
    groups = forest_report.rank_groups()
    assert payload["groups"] == [list(g) for g in groups]
    assert any(len(g) > 1 for g in groups), "binary task: loss and confidence are one group"
    # The group's row shows its first attack's numbers, as the static table does.
    grouped = forest_report.grouped_summary()
    by_name = {a["name"]: a for a in payload["attacks"]}
    for group in payload["groups"]:
        assert by_name[group[0]]["AUC"] == grouped.loc[group[0], "AUC"]
    # Hidden attacks leave their groups; every shown attack is in exactly one group.
    hidden = forest_report.with_options(show=["confidence", "entropy"])
    shown = report_payload(hidden)
    assert shown["groups"] == [list(g) for g in hidden.rank_groups()]
    assert sorted(a for g in shown["groups"] for a in g) == ["confidence", "entropy"]


# ----------------------------------------------------------------- comparisons


@pytest.fixture(scope="module")
def comparison() -> ComparisonReport:
    """A leaky forest, a logistic regression and the forest's labels-rounded what-if."""
    train, test = _frames(1500, seed=1)
    forest = _forest(train)
    logreg = LogisticRegression(max_iter=500).fit(train[FEATURES], train["label"])
    return mn.compare(
        {"forest": forest, "logreg": logreg, "forest, rounded": (forest, "round:1")},
        train=train,
        test=test,
        target="label",
        features=FEATURES,
        attacks=ATTACKS,
        flag=7,
        redact=["secret"],
        progress=False,
    )


def _row_curve(model: dict[str, Any]) -> RocCurve:
    return _curve(next(a for a in model["report"]["attacks"] if a["name"] == model["attack"]))


def test_comparison_payload_has_the_comparisons_figures(comparison: ComparisonReport) -> None:
    payload = comparison_payload(comparison)
    summary = comparison.summary
    assert payload["version"] == 1 and payload["kind"] == "comparison"
    assert (payload["fpr"], payload["baseline"]) == (comparison.fpr, comparison.baseline)
    assert payload["riskiest"] == comparison.riskiest
    assert payload["verdict_line"] == comparison.verdict_line
    assert payload["utility_columns"] == list(comparison.utility.columns)
    assert comparison.fpr in payload["fpr_choices"]
    assert [m["name"] for m in payload["models"]] == list(comparison.reports)
    for m in payload["models"]:
        row = summary.loc[m["name"]]
        assert (m["level"], m["attack"], m["estimator"]) == (
            row["level"],
            row["attack"],
            row["estimator"],
        )
        assert m["outputs"] == row["outputs"] and m["epsilon_lb"] == row["epsilon_lb"]
        assert m["utility"] == {c: row[c] for c in payload["utility_columns"]}
        # The model's own report payload, as for a single report, its records removed.
        own = report_payload(comparison.reports[m["name"]])
        assert m["report"]["verdict"] == own["verdict"]
        assert m["report"]["claims"] == own["claims"] and m["report"]["groups"] == own["groups"]
        # Every attack's numbers; the curve of the row attack only (the one drawn).
        assert [a["AUC"] for a in m["report"]["attacks"]] == [a["AUC"] for a in own["attacks"]]
        curves = [a["name"] for a in m["report"]["attacks"] if a["curve"] is not None]
        assert curves == [m["attack"]]
    assert {m["level"] for m in payload["models"]} >= {"none"}
    assert len({m["level"] for m in payload["models"]}) >= 2


@pytest.mark.parametrize("max_bytes", [None, 16_000])
def test_comparison_curves_give_pythons_tpr_at_every_offered_target(
    comparison: ComparisonReport, max_bytes: int | None
) -> None:
    kw = {} if max_bytes is None else {"max_bytes": max_bytes}
    payload = comparison_payload(comparison, **kw)
    if max_bytes is not None:
        assert len(json.dumps(payload, separators=(",", ":")).encode()) <= max_bytes
        assert "thinned" in payload["truncated"][-1]
    summary = comparison.summary
    for m in payload["models"]:
        curve, report = _row_curve(m), comparison.reports[m["name"]]
        for target, interval in zip(payload["fpr_choices"], m["intervals"], strict=True):
            want = model_row(m["name"], report, target).tpr
            got = tpr_at_fpr(curve, target, report.options.confidence)
            assert got == want, (m["name"], target)
            assert interval == (list(want.interval) if want.resolvable else None)
        at = tpr_at_fpr(curve, payload["fpr"])
        assert at.value == pytest.approx(summary.loc[m["name"], "tpr"], nan_ok=True, abs=0)


def test_comparison_payload_holds_no_record_values(comparison: ComparisonReport) -> None:
    text = json.dumps(comparison_payload(comparison), allow_nan=False)
    assert "tok-" not in text and "999-" not in text  # no feature value, redacted or not
    payload = json.loads(text)
    for m in payload["models"]:
        flagged = m["report"]["flagged"]
        assert (flagged["rows"], flagged["columns"], flagged["ranks"]) == ([], [], {})
        assert m["report"]["redacted"] == ["secret"]


def test_comparison_bundle_keeps_static_html_beside_the_json(
    comparison: ComparisonReport,
) -> None:
    # What a notebook shows (the installed renderer), as render/compare.py builds it.
    assert set(comparison._repr_mimebundle_()) == {"text/plain", "text/html", COMPARISON_MIME_TYPE}
    bundle = render_comparison_bundle(comparison)
    assert COMPARISON_MIME_TYPE != MIME_TYPE and "v1" in COMPARISON_MIME_TYPE
    assert "mia-compare" in bundle["text/html"] and "<script" not in bundle["text/html"]
    assert bundle[COMPARISON_MIME_TYPE]["models"][0]["name"] == "forest"
