"""The JupyterLab renderer's JSON (mia_notebook/render/mime.py), checked on real audits.

The thinned ROC curves must give exactly Python's TPR (and notes) at every FPR target
the renderer offers; the payload must hold no feature value beyond the flagged records,
no redacted value, and stay under its size cap.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import mia_notebook as mn
from mia_notebook.engine.metrics import RocCurve, tpr_at_fpr
from mia_notebook.engine.results import AuditReport
from mia_notebook.render.mime import MIME_TYPE, payload_json, report_payload
from mia_notebook.report import render_bundle

ATTACKS = ["loss", "confidence", "entropy"]


def _frames(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    x, y = make_classification(
        n_samples=2 * n, n_features=6, n_informative=4, flip_y=0.1, random_state=seed
    )
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(6)]).assign(label=y)
    df["token"] = [f"tok-{i:05d}-z" for i in range(2 * n)]
    df["secret"] = [f"999-{i:05d}" for i in range(2 * n)]
    return df.iloc[:n], df.iloc[n:]


@pytest.fixture(scope="module")
def forest_report() -> AuditReport:
    """Forest probabilities: many ties, and more ROC points than a small cap keeps."""
    train, test = _frames(1500, seed=1)
    feats = [f"x{i}" for i in range(6)]
    clf = RandomForestClassifier(n_estimators=15, max_depth=9, random_state=0, n_jobs=1)
    clf.fit(train[feats], train["label"])
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
    c = entry["curve"]
    thr = np.array([np.inf if t is None else t for t in c["thresholds"]])
    return RocCurve(np.array(c["fpr"]), np.array(c["tpr"]), thr, c["n_members"], c["n_nonmembers"])


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


def test_flagged_ranks_decide_flag_status_at_each_threshold(forest_report: AuditReport) -> None:
    """rank <= (records scoring >= threshold) <=> score >= threshold, for listed records."""
    payload = report_payload(forest_report, max_points=300)
    flagged = payload["flagged"]
    positions = forest_report.flagged_positions()
    assert len(flagged["rows"]) == len(positions) == 7
    for entry in payload["attacks"]:
        curve = _curve(entry)
        scores = forest_report.scores[entry["name"]].to_numpy()
        col = flagged["columns"].index(f"rank ({entry['name']})") + 1
        for target in payload["fpr_choices"]:
            t = tpr_at_fpr(curve, target)
            idx = int(np.flatnonzero((curve.fpr == t.achieved_fpr) & (curve.tpr == t.tpr))[-1])
            at_or_above = int((scores >= curve.thresholds[idx]).sum())
            assert at_or_above == round(
                t.tpr * curve.n_members + t.achieved_fpr * curve.n_nonmembers
            )
            want = [bool(scores[p] >= curve.thresholds[idx]) for p in positions]
            assert [row[col] <= at_or_above for row in flagged["rows"]] == want


def test_payload_holds_only_flagged_features_and_no_redacted_value(
    forest_report: AuditReport,
) -> None:
    text = payload_json(forest_report)
    json.loads(text)  # strict JSON: no NaN / Infinity
    assert "999-" not in text
    listed = set(forest_report.flagged()["token"])
    tokens = set(forest_report.data.train["token"]) | set(forest_report.data.test["token"])
    assert {t for t in tokens if t in text} == listed
    payload = json.loads(text)
    assert "secret" in payload["flagged"]["columns"] and payload["redacted"] == ["secret"]
    assert "versions" not in payload and "fingerprints" not in payload


def test_size_cap_thins_then_drops_rows(forest_report: AuditReport) -> None:
    full = len(payload_json(forest_report).encode())
    capped = report_payload(forest_report, max_bytes=full // 3)
    size = len(json.dumps(capped, separators=(",", ":")).encode())
    assert size <= full // 3
    assert capped["truncated"] and "thinned" in capped["truncated"][-1]
    tiny = report_payload(forest_report, max_bytes=2000)
    assert tiny["flagged"]["rows"] == [] and "flagged rows dropped" in tiny["truncated"][-1]


class _ReportWithVerdict(AuditReport):
    """An AuditReport carrying a verdict, as the verdict work will add."""

    @property
    def verdict(self) -> Any:
        return type("Verdict", (), {"level": "high", "reason": "AUC 0.9", "attack": "loss"})()


def test_verdict_is_written_when_the_report_has_one(forest_report: AuditReport) -> None:
    assert report_payload(forest_report)["verdict"] is None
    fields_ = {f.name: getattr(forest_report, f.name) for f in fields(forest_report)}
    payload = report_payload(_ReportWithVerdict(**fields_))
    assert payload["verdict"] == {"level": "high", "reason": "AUC 0.9", "attack": "loss"}


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
    assert payload["fpr_targets"] == [0.01, 0.05] and payload["version"] == 1
    # 300 non-members cannot resolve 0.1% FPR: the payload lets the renderer say so.
    curve = _curve(payload["attacks"][0])
    assert not tpr_at_fpr(curve, 0.001).resolvable
    assert json.dumps(payload, allow_nan=False)
