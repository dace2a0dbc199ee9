"""The verdict in each threat model (issue 20, part 2): behind an API (black-box attacks
only) and shared as a file (every attack); policy per setting; ``setting=`` for the
verdict, compare() rows and ``--fail-on``; the label in every view; save and load.

A kNN classifier with k = 25 behind a labels API reveals nothing a label-only attacker
can find (its labels barely depend on one record), but its file stores every training
row verbatim: black-box 'none', white-box 'high'.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mia_notebook as mn
from mia_notebook.engine.errors import MiaValueError
from mia_notebook.engine.verdict import Policy
from mia_notebook.engine.verdict.settings import SettingPolicies
from mia_notebook.render import render_bundle, render_html, render_text
from mia_notebook.render.mime import MIME_TYPE

SCHEMA = Path(mn.__file__).parent / "engine" / "report_file.schema.json"
KNN_ATTACKS = ["gap", "stored-match"]  # label-only black-box, stored rows white-box


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    d = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    d = d.sample(frac=1.0, random_state=0)
    return d.iloc[:284], d.iloc[284:]


def _fit(model, train):
    return model.fit(train.drop(columns="label"), train["label"])


@pytest.fixture(scope="module")
def knn_report(frames) -> mn.AuditReport:
    train, test = frames
    knn = _fit(make_pipeline(StandardScaler(), KNeighborsClassifier(25)), train)
    return mn.audit(
        knn, train=train, test=test, target="label", outputs="label", attacks=KNN_ATTACKS,
        progress=False,
    )  # fmt: skip


def test_knn_is_safe_behind_a_labels_api_but_not_as_a_file(knn_report) -> None:
    v = knn_report.verdict
    assert set(v.settings) == {"black-box", "white-box"}
    black, white = v.settings["black-box"], v.settings["white-box"]
    assert black.level in ("none", "low") and white.level == "high"
    # each setting is judged on its attacker's attacks: the black-box one never sees
    # the stored rows; the white-box one compares both attacks (Bonferroni over two)
    assert set(black.evidence["attacks"]) == {"gap"}
    assert set(white.evidence["attacks"]) == {"gap", "stored-match"}
    assert white.attack == "stored-match" and black.attack in (None, "gap")
    # the report's verdict is the worse setting's, and the sentence gives both
    assert v.level == "high" and v.setting == "white-box" and v.attack == "stored-match"
    assert v.reason.startswith(f"Behind a labels API: {black.level}. Shared as a file: high. ")
    assert v.reason.endswith(white.reason)
    assert str(v).startswith("Privacy risk: high. Behind a labels API:")
    # the black-box setting, named: its own level, attack and flagged records
    b = knn_report.with_options(setting="black-box")
    assert b.verdict.level == black.level and b.verdict.setting == "black-box"
    assert b.verdict.attack == black.attack
    assert list(b.verdict.identified) == list(black.identified)
    assert b.verdict.reason.startswith(f"Behind a labels API: {black.level}. Shared as a file")
    assert len(b.flagged()) == black.identified.size
    assert knn_report.with_options(setting="white-box").verdict.level == "high"


def test_when_both_settings_agree_the_sentence_has_one_setting(frames) -> None:
    train, test = frames
    lr = _fit(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), train)
    report = mn.audit(
        lr, train=train, test=test, target="label", attacks=["loss", "grad-norm"], progress=False
    )
    v = report.verdict
    assert report.info.threat_models == {"loss": "black-box", "grad-norm": "white-box"}
    assert v.settings["black-box"].level == v.settings["white-box"].level == v.level
    assert v.reason.startswith(f"Behind a probability API or shared as a file: {v.level}. ")
    assert "Shared as a file" not in v.reason


def test_only_black_box_attacks_keep_the_verdict_unsplit(frames) -> None:
    train, test = frames
    lr = _fit(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), train)
    report = mn.audit(lr, train=train, test=test, target="label", attacks=["loss"], progress=False)
    v = report.verdict
    assert list(v.settings) == ["black-box"] and v.setting == "black-box"
    assert v.reason == v.settings["black-box"].reason  # no setting sentence
    assert not v.reason.startswith("Behind")
    # a white-box setting that was not judged falls back to the one that was
    assert report.with_options(setting="white-box").verdict.setting == "black-box"


def test_a_policy_per_setting_changes_only_that_setting(knn_report) -> None:
    base = knn_report.verdict.settings
    # the stored-row match reaches TPR >= 98% and eps >= 4.4: lines above both leave
    # the white-box setting at 'elevated' (tpr_elevated 0.05 still passes)
    strict = {"tpr_high": 1.0, "epsilon_high": 50.0}
    for policy in (
        {"white-box": strict},
        "white-box.tpr_high=1,white-box.epsilon_high=50",
        json.dumps({"white-box": strict}),
        SettingPolicies(white_box=Policy(**strict)),
    ):
        rep = knn_report.with_options(policy=policy)
        assert isinstance(rep.options.policy, SettingPolicies)
        v = rep.verdict.settings
        assert v["white-box"].level == "elevated", policy
        assert v["white-box"].policy == Policy(**strict)
        assert v["black-box"].policy == Policy() == base["black-box"].policy
        assert v["black-box"].to_dict() == base["black-box"].to_dict()
        assert rep.verdict.reason.startswith(
            f"Behind a labels API: {v['black-box'].level}. Shared as a file: elevated."
        )
    # the options' confidence reaches a per-setting dict policy that does not set it
    rep = knn_report.with_options(confidence=0.9, policy={"black-box": {"tpr_high": 0.5}})
    assert rep.verdict.settings["black-box"].policy.confidence == 0.9
    assert rep.verdict.settings["white-box"].policy == Policy(confidence=0.9)
    with pytest.raises(MiaValueError, match="Unknown setting"):
        knn_report.with_options(policy={"white-box": strict, "grey-box": strict})


def test_labels_in_html_text_and_payload(knn_report) -> None:
    text = render_text(knn_report)
    head = next(line for line in text.splitlines() if line.startswith("attack "))
    assert head.rstrip().endswith("threat model")
    rows = {line.split()[0]: line.split()[-1] for line in text.splitlines()
            if line.split() and line.split()[0] in KNN_ATTACKS}  # fmt: skip
    assert rows == {"gap": "black-box", "stored-match": "white-box"}
    html = render_html(knn_report)
    assert re.search(r"<th[^>]*>threat model</th></tr>", html)  # the last column
    cells = re.findall(r'<td class="mia-text mia-threat"[^>]*>([^<]*)</td>', html)
    assert sorted(cells) == ["black-box", "white-box"]
    payload = render_bundle(knn_report)[MIME_TYPE]
    assert {a["name"]: a["threat"] for a in payload["attacks"]} == {
        "gap": "black-box",
        "stored-match": "white-box",
    }
    assert payload["verdict"]["reason"] == knn_report.verdict.reason
    assert payload["verdict"]["setting"] == "white-box"
    assert payload["verdict"]["settings"] == {"black-box": "none", "white-box": "high"}


def test_saved_and_loaded_reports_keep_both_settings(knn_report, tmp_path) -> None:
    policy = {"white-box": {"tpr_high": 1.0, "epsilon_high": 50.0}}
    original = knn_report.with_options(policy=policy, setting="black-box")
    path = original.save(tmp_path / "knn.mia")
    with zipfile.ZipFile(path) as zf:  # the file states the per-setting policy and setting
        manifest = json.loads(zf.read("report.json"))
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))
    assert manifest["options"]["setting"] == "black-box"
    assert manifest["options"]["policy"]["black-box"] is None
    assert manifest["info"]["threat_models"] == {"gap": "black-box", "stored-match": "white-box"}
    bad = {**manifest, "options": {**manifest["options"], "policy": {"grey-box": None}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json.loads(SCHEMA.read_text()))
    loaded = mn.load(path)
    assert loaded.options == original.options
    assert loaded.verdict.to_dict() == original.verdict.to_dict()
    assert loaded.verdict.setting == "black-box"
    assert loaded.verdict.settings["white-box"].level == "elevated"
    # re-judged with another policy per setting, from the saved scores
    again = loaded.with_options(policy=None, setting="worst")
    assert again.verdict.to_dict() == knn_report.verdict.to_dict()
    assert again.verdict.settings["white-box"].level == "high"


def test_compare_rows_use_the_setting_named(frames, knn_report) -> None:
    train, test = frames
    knn = _fit(make_pipeline(StandardScaler(), KNeighborsClassifier(25)), train)
    kw = dict(train=train, test=test, target="label", attacks=KNN_ATTACKS, progress=False)
    worst = mn.compare({"knn": knn, "knn:label": knn}, **kw)
    black = mn.compare({"knn": knn, "knn:label": knn}, setting="black-box", **kw)
    assert worst.summary.loc["knn:label", "level"] == "high"
    assert worst.summary.loc["knn:label", "setting"] == "white-box"
    assert worst.summary.loc["knn:label", "threat"] == "white-box"
    want = knn_report.verdict.settings["black-box"].level
    assert black.summary.loc["knn:label", "level"] == want
    assert black.summary.loc["knn:label", "setting"] == "black-box"
    assert black.reports["knn:label"].options.setting == "black-box"


@pytest.fixture(scope="module")
def ip(frames):
    shell = start_ipython() or get_ipython()
    train, test = frames
    shell.user_ns.update(
        train_df=train,
        test_df=test,
        knn=_fit(make_pipeline(StandardScaler(), KNeighborsClassifier(25)), train),
    )
    shell.run_line_magic("load_ext", "mia_notebook")
    return shell


def test_fail_on_gates_the_setting_named_in_a_shell(ip, knn_report) -> None:
    line = (
        "%mia_audit knn --train train_df --test test_df --target label --outputs label "
        "--attacks gap,stored-match -o r"
    )
    res = ip.run_cell(line + " --fail-on high")  # worst case: the file is 'high'
    assert isinstance(res.error_in_exec, mn.PrivacyRiskError)
    assert "Shared as a file: high." in str(res.error_in_exec)
    res = ip.run_cell(line + " --setting black-box --fail-on elevated")
    assert res.success, res.error_in_exec  # behind the labels API it passes
    assert ip.user_ns["r"].verdict.setting == "black-box"
    res = ip.run_cell(line + " --setting white-box --fail-on elevated")
    assert isinstance(res.error_in_exec, mn.PrivacyRiskError)
    res = ip.run_cell(line + " --policy white-box.tpr_high=1,white-box.epsilon_high=50 "
                      "--fail-on high")  # fmt: skip
    assert res.success, res.error_in_exec  # the white-box line moved: 'elevated' now
    assert ip.user_ns["r"].verdict.level == "elevated"
    # %config defaults: the setting and a per-setting policy, as traits
    ip.run_line_magic("config", "MiaAudit.setting = 'black-box'")
    ip.run_line_magic("config", "MiaAudit.policy = {'white-box': {'tpr_high': 1.0}}")
    try:
        res = ip.run_cell(line + " --fail-on elevated")
        assert res.success, res.error_in_exec
        r = ip.user_ns["r"]
        assert r.verdict.setting == "black-box"
        assert r.verdict.settings["white-box"].policy.tpr_high == 1.0
    finally:
        ip.run_line_magic("config", "MiaAudit.setting = 'worst'")
        ip.run_line_magic("config", "MiaAudit.policy = {}")
    # a comparison gates on its riskiest row in the setting named
    cmp_line = (
        "%mia_audit knn,knn:label --train train_df --test test_df --target label "
        "--attacks gap,stored-match -o cmp"
    )
    res = ip.run_cell(cmp_line + " --setting white-box --fail-on high")
    assert isinstance(res.error_in_exec, mn.PrivacyRiskError)
    res = ip.run_cell(cmp_line + " --setting black-box --fail-on elevated")
    assert (knn_report.verdict.settings["black-box"].level == "none") == res.success


def test_the_static_roc_legend_and_a_mixed_group_name_the_threat_model(knn_report) -> None:
    from mia_notebook.render.plots import curve_styles
    from mia_notebook.render.tables import threat_text

    labels = {g: s.label for g, s in curve_styles(knn_report).items()}
    assert "\n(black-box, AUC " in labels[("gap",)]
    assert "\n(white-box, AUC 1.000)" in labels[("stored-match",)]
    # a rank-equivalent group mixing both is labelled with both, black-box first
    assert threat_text(knn_report, ["stored-match", "gap"]) == "black-box, white-box"


def test_the_panel_judges_the_setting_chosen_instantly(frames, knn_report) -> None:
    from mia_notebook.panel import AuditPanel

    panel = AuditPanel(knn_report)
    assert panel.setting.value == "worst" and panel.report.verdict.level == "high"
    scores = panel.report.scores
    panel.setting.value = "black-box"
    assert panel.report.options.setting == "black-box"
    assert panel.report.scores is scores  # judged again from the cached scores
    black = knn_report.verdict.settings["black-box"]
    assert panel.report.verdict.level == black.level
    assert f"Privacy risk: {black.level}." in panel.view_html
    assert panel.last_error is None
