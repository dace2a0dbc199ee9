"""Rendering: self-contained HTML, escaping, redaction, JSON."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
from conftest import features
from sklearn.ensemble import RandomForestClassifier

import mia_notebook as mn
from mia_notebook.engine.results import REDACTED
from mia_notebook.render.bundle import render_bundle
from mia_notebook.render.mime import MIME_TYPE

XSS = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>"]


@pytest.fixture(scope="module")
def report(cancer_splits):
    tr, te = cancer_splits
    tr = tr.assign(
        name=[XSS[i % 2] for i in range(len(tr))], ssn=[f"999-{i:04d}" for i in range(len(tr))]
    )
    te = te.assign(name="x", ssn=[f"888-{i:04d}" for i in range(len(te))])
    clf = RandomForestClassifier(n_estimators=20, random_state=0).fit(
        features(tr).drop(columns=["name", "ssn"]), tr["label"]
    )
    return mn.audit(clf, train=tr, test=te, target="label", redact=["ssn"], flag=6, slice="name")


def test_bundle_is_self_contained_html_with_inline_png(report):
    bundle = render_bundle(report)
    assert set(bundle) == {"text/plain", "text/html", MIME_TYPE}
    html = bundle["text/html"]
    m = re.search(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert m is not None
    png = base64.b64decode(m.group(1))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert "<script" not in html.lower().replace("&lt;script", "")
    assert "http" not in html  # nothing external


def test_numbers_in_html_are_the_reports(report):
    html = report._repr_mimebundle_()["text/html"]
    for name, row in report.summary.iterrows():
        assert f"{row['AUC']:.3f}" in html
        assert f"[{name}]" in html


def test_user_values_are_escaped(report):
    html = report.to_html()
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_redacted_values_never_appear(report):
    flagged = report.flagged()
    assert (flagged["ssn"] == REDACTED).all()
    outputs = [report.to_html(), report.to_json(), repr(report)]
    outputs.append(render_bundle(report)["text/plain"])
    outputs.append(flagged.to_string())
    for out in outputs:
        assert not re.search(r"(999|888)-\d{4}", out)
    assert "ssn" in report.to_html()  # the column is named, its values are masked


def test_flag_zero_lists_no_records(report):
    rep = report.with_options(flag=0)
    assert rep.flagged().empty
    assert "No records listed" in rep.to_html()


def test_json_round_trip(report):
    data = json.loads(report.to_json())
    assert data["strongest_attack"] == report.strongest
    assert data["summary"][0]["AUC"] == pytest.approx(report.summary["AUC"].iloc[0])
    assert data["settings"]["redact"] == ["ssn"]
    assert data["versions"]["mia_notebook"] == mn.__version__
    assert len(data["flagged"]) == 6
    # unresolvable TPR is null, not a fake number
    assert data["summary"][0]["TPR@0.1%FPR"] is None


def test_flagged_are_top_members_by_score(report):
    flagged = report.flagged(attack="loss", k=6)
    member_scores = report.scores.loc["train", "loss"]
    top = np.sort(member_scores.to_numpy())[::-1][:6]
    np.testing.assert_allclose(flagged["score (loss)"].to_numpy(), top)
    assert set(flagged.index) <= set(member_scores.index)


def test_to_html_writes_standalone_page(report, tmp_path):
    path = tmp_path / "audit.html"
    report.to_html(path)
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>") and "ROC curves" in text


def test_slice_by_redacted_column_masks_group_labels(report):
    rep = report.with_options(redact=["ssn", "name"])
    sl = rep.slices("name")
    assert all(str(i).startswith("group ") for i in sl.index)
    assert "&lt;script" not in rep.to_html() and "<script>" not in rep.to_html()
