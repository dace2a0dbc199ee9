"""%mia_audit in a real IPython shell, running real cells."""

from __future__ import annotations

import pytest
from conftest import NON_DEFAULT, flag_text
from IPython import get_ipython
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython

import mia_notebook as mn
from mia_notebook.engine.options import (
    AuditOptions,
    option_fields,
    option_names,
    plain_value,
    validate_option,
)
from mia_notebook.magics import MiaAudit

SETUP = """
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
df = X.assign(label=y)
train_df, test_df = train_test_split(df, test_size=0.5, random_state=0, stratify=df.label)
clf = RandomForestClassifier(n_estimators=20, random_state=0).fit(
    train_df.drop(columns="label"), train_df.label)
"""


@pytest.fixture(scope="module")
def ip():
    shell = start_ipython() or get_ipython()
    shell.run_cell(SETUP)
    shell.run_line_magic("load_ext", "mia_notebook")
    yield shell
    shell.run_line_magic("config", "MiaAudit.flag = 10")


def test_line_magic_returns_and_binds_report(ip):
    res = ip.run_cell("%mia_audit clf --train train_df --test test_df --target label -o rep")
    assert res.success
    rep = ip.user_ns["rep"]
    assert isinstance(rep, mn.AuditReport)
    assert res.result is rep
    direct = mn.audit(
        ip.user_ns["clf"], train=ip.user_ns["train_df"], test=ip.user_ns["test_df"], target="label"
    )
    assert rep.summary.equals(direct.summary)


def test_options_are_parsed(ip):
    res = ip.run_cell(
        "%mia_audit clf --train train_df --test test_df --target label --attacks loss,gap "
        "--fpr 0.05,0.2 --flag 4 --slice 'mean radius' --redact 'mean area' --seed 3 -o r"
    )
    assert res.success, res.error_in_exec
    rep = ip.user_ns["r"]
    assert list(rep.summary.index) == ["loss", "gap"]
    assert rep.options.fpr == (0.05, 0.2)
    assert len(rep.flagged(attack="loss")) == 4  # an explicit ranking honours --flag
    assert rep.options.slice == "mean radius" and rep.options.redact == ("mean area",)
    assert rep.options.seed == 3


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("MiaAudit.fpr = [2.0]", "The 'fpr' parameter must be in (0, 1). Got 2.0 instead."),
        ("MiaAudit.confidence = 0.2", "'confidence'"),
        ("MiaAudit.lira_variance = 'bogus'", "'lira_variance'"),
        ("MiaAudit.references = 0", "'references'"),
        ("MiaAudit.policy = {'tpr_hihg': 0.3}", "Unknown policy key(s) ['tpr_hihg']"),
        ("MiaAudit.policy = {'tpr_high': 2.0}", "The policy's 'tpr_high' must be in"),
    ],
)
def test_config_rejects_bad_values_when_set(ip, setting, message, caplog):
    magics = next(c for c in ip.configurables if isinstance(c, MiaAudit))
    names = ("fpr", "confidence", "references", "policy")
    before = {name: getattr(magics, name) for name in names}
    ip.run_line_magic("config", setting)  # IPython logs the TraitError, keeps the old value
    assert message in caplog.text
    assert {name: getattr(magics, name) for name in before} == before


def test_config_policy_reaches_the_verdict(ip):
    ip.run_line_magic("config", "MiaAudit.policy = {'tpr_high': 1.0, 'epsilon_high': 60.0}")
    try:
        res = ip.run_cell("%mia_audit clf --train train_df --test test_df --target label -o r")
        assert res.success, res.error_in_exec
        policy = ip.user_ns["r"].verdict.policy
        assert policy.tpr_high == 1.0 and policy.epsilon_high == 60.0
        assert ip.user_ns["r"].verdict.level != "high"
    finally:
        ip.run_line_magic("config", "MiaAudit.policy = {}")


def test_fail_on_raises_privacy_risk_error_and_bad_level_is_a_usage_error(ip):
    line = "%mia_audit clf --train train_df --test test_df --target label -o g"
    res = ip.run_cell(line + " --fail-on low")
    assert isinstance(res.error_in_exec, mn.PrivacyRiskError)
    assert str(res.error_in_exec) == str(ip.user_ns["g"].verdict)
    res = ip.run_cell(line + " --fail-on medium")
    assert isinstance(res.error_in_exec, UsageError) and "invalid choice" in str(res.error_in_exec)


def test_config_sets_defaults(ip):
    ip.run_line_magic("config", "MiaAudit.flag = 2")
    res = ip.run_cell("%mia_audit clf --train train_df --test test_df --target label -o r")
    assert len(ip.user_ns["r"].flagged()) == 2
    assert res.success
    ip.run_line_magic("config", "MiaAudit.flag = 10")


def test_cell_magic_runs_training_code_then_audits(ip):
    res = ip.run_cell(
        "%%mia_audit --model tree --train train_df --test test_df --target label -o rt\n"
        "from sklearn.tree import DecisionTreeClassifier\n"
        "tree = DecisionTreeClassifier(random_state=0).fit(train_df.drop(columns='label'), "
        "train_df.label)\n"
    )
    assert res.success, res.error_in_exec
    assert "tree" in ip.user_ns
    assert ip.user_ns["rt"].info.model == "DecisionTreeClassifier"


def test_local_scope_is_searched_first(ip):
    ip.run_cell(
        "def f():\n"
        "    local_train = train_df\n"
        "    r = %mia_audit clf --train local_train --test test_df --target label\n"
        "    return r\n"
        "r_local = f()"
    )
    assert isinstance(ip.user_ns["r_local"], mn.AuditReport)


def test_braces_are_not_expanded(ip):
    with pytest.raises(UsageError, match=r"Cannot evaluate --train '\{train_df\}'"):
        ip.run_line_magic("mia_audit", "clf --train {train_df} --test test_df --target label")


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("clf --train nope --test test_df --target label", "No variable named 'nope'"),
        ("clf --train train_df --test test_df --target nope", "No column 'nope'"),
        ("clf --train train_df --test test_df --target label --fpr 2", "must be in"),
        ("clf --train train_df --test test_df", "needs --target"),
        ("--train train_df --test test_df --target label", "needs a model"),
        (
            "clf --train train_df --test test_df --target label --flag x",
            "The 'flag' parameter must be an int. Got 'x' instead.",
        ),
        (
            "clf --train train_df --test test_df --target label --policy tpr_high=x",
            "The 'policy' parameter's 'tpr_high' must be a number",
        ),
    ],
)
def test_bad_input_is_a_usage_error(ip, line, match):
    with pytest.raises(UsageError, match=match):
        ip.run_line_magic("mia_audit", line)


def test_usage_error_prints_no_traceback(ip, capsys):
    res = ip.run_cell("%mia_audit clf --train nope --test test_df --target label")
    assert not res.success
    out = capsys.readouterr()
    text = out.out + out.err
    assert "UsageError: No variable named 'nope'" in text
    assert "Traceback" not in text


def test_model_error_is_a_usage_error(ip):
    ip.run_cell(
        "class Boom:\n"
        "    classes_ = [0, 1]\n"
        "    def predict_proba(self, X):\n"
        "        raise RuntimeError('backend down')\n"
        "boom = Boom()\n"
    )
    with pytest.raises(UsageError, match=r"RuntimeError in predict_proba.*backend down"):
        ip.run_line_magic("mia_audit", "boom --train train_df --test test_df --target label")
    with pytest.raises(UsageError, match="got the class"):
        ip.run_line_magic("mia_audit", "Boom --train train_df --test test_df --target label")


def test_interactive_shows_a_panel_and_binds_the_report(ip, monkeypatch):
    import mia_notebook.panel as widgets

    shown = []
    real = widgets.show_panel

    def spy(report, **kwargs):
        panel = real(report, **kwargs)
        shown.append(panel)
        return panel

    monkeypatch.setattr(widgets, "show_panel", spy)
    res = ip.run_cell(
        "%mia_audit clf --train train_df --test test_df --target label --attacks loss,gap "
        "--interactive -o rep_i"
    )
    assert res.success, res.error_in_exec
    assert res.result is None  # the panel is displayed, not returned
    (panel,) = shown
    assert panel.report.scores is ip.user_ns["rep_i"].scores  # a view of the same audit
    assert panel.report.summary["AUC"].equals(ip.user_ns["rep_i"].summary["AUC"])
    assert isinstance(panel, mn.AuditPanel)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (  # a misspelt target: the close match is named, and listed first
            "clf --train train_df --test test_df --target lable",
            "No column 'lable' in --train train_df or --test test_df. Did you mean 'label'? "
            "Columns, closest first: 'label', ",
        ),
        (
            "clf --train train_df --test test_df --target label --atacks loss",
            "Unknown option '--atacks'. Did you mean '--attacks'?",
        ),
        (
            "clf --train train_df --test test_df --target label --slice mean radius --flag 3",
            "Unexpected 'radius' after --slice mean: quote names with spaces, "
            "e.g. --slice 'mean radius'.",
        ),
        (  # features only, without the label column
            "clf --train X_train --test test_df --target label",
            "The target column 'label' must be in both frames: --train X_train has no column "
            "'label' (--test test_df has it).",
        ),
        (
            "clf --train train_df --test X_train --target label",
            "The target column 'label' must be in both frames: --test X_train has no column",
        ),
    ],
    ids=["target-typo", "option-typo", "unquoted-space", "no-label-train", "no-label-test"],
)
def test_usage_error_says_the_fix(ip, line, message):
    ip.run_cell("X_train = train_df.drop(columns='label')")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("mia_audit", line)
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_column_hint_ranks_every_column_by_similarity():
    import difflib

    from mia_notebook.magic_hints import closest_first

    cols = ["mean radius", "label", "worst area", "Lable", "labels", "x"]
    ranked = closest_first("lable", cols)
    ratios = [difflib.SequenceMatcher(None, "lable", c.lower()).ratio() for c in ranked]
    assert sorted(cols) == sorted(ranked)
    assert ratios == sorted(ratios, reverse=True)
    assert ranked[0] == "Lable"


def test_compare_form_in_a_shell_binds_displays_and_gates(ip):
    """``%mia_audit m1,m2:label`` compares; -o binds the ComparisonReport; --fail-on
    judges the riskiest model; --interactive is refused for several models."""
    line = (
        "%mia_audit clf,clf:label --train train_df --test test_df --target label "
        "--references 2 --n-jobs 1 -o cmp"
    )
    res = ip.run_cell(line)
    assert res.success, res.error_in_exec
    cmp = ip.user_ns["cmp"]
    assert isinstance(cmp, mn.ComparisonReport)
    assert list(cmp.summary.index) == ["clf", "clf:label"]
    assert res.result is cmp  # the last line: IPython displays it (once)
    riskiest = cmp.summary.loc[cmp.riskiest, "level"]
    res = ip.run_cell(line + " --fail-on low")
    assert (riskiest != "none") == isinstance(res.error_in_exec, mn.PrivacyRiskError)
    with pytest.raises(UsageError, match="--interactive shows one model"):
        ip.run_line_magic("mia_audit", line[len("%mia_audit ") :] + " --interactive")


# ------------------------------------------------------------- options, generated
def _magics(ip) -> MiaAudit:
    return next(c for c in ip.configurables if isinstance(c, MiaAudit))


def test_every_option_has_one_flag_and_one_config_trait_from_its_field(ip):
    flags = {a.dest: a for a in _magics(ip).mia_audit.parser._actions}
    traits = MiaAudit.class_traits(config=True)
    for name, spec, default in option_fields():
        assert flags[name].option_strings == [f"--{name.replace('_', '-')}"], name
        assert flags[name].help == spec.help and traits[name].help == spec.help, name
        assert validate_option(name, traits[name].default_value) == default, name
    assert set(traits) == {*option_names(), "progress"}  # progress: a call argument


@pytest.fixture
def small(ip):
    ip.run_cell(
        "from sklearn.linear_model import LogisticRegression\n"
        "small = LogisticRegression(max_iter=5000).fit("
        "train_df[['mean radius', 'mean texture']], train_df.label)\n"
        "ptrain, ptest = (f.assign(patient=f.index) for f in (train_df, test_df))"
    )  # 'patient': NON_DEFAULT's person column
    return "%mia_audit small --train ptrain --test ptest --target label"


def test_every_option_reaches_the_audit_from_its_flag(ip, small):
    flags = " ".join(f"--{n.replace('_', '-')} '{flag_text(v)}'" for n, v in NON_DEFAULT.items())
    ip.user_ns["fit_small"] = NON_DEFAULT["fit"]  # --fit names a function of the notebook
    res = ip.run_cell(f"{small} {flags} -o by_flags")
    assert res.success, res.error_in_exec
    assert ip.user_ns["by_flags"].options == AuditOptions(**NON_DEFAULT)


def test_every_option_reaches_the_audit_from_config(ip, small):
    magics = _magics(ip)
    ip.user_ns["fit_small"] = NON_DEFAULT["fit"]  # %config MiaAudit.fit = 'fit_small'
    try:
        for name, value in NON_DEFAULT.items():
            shown = list(value) if isinstance(value, tuple) else value
            shown = flag_text(value) if callable(value) else shown
            ip.run_line_magic("config", f"MiaAudit.{name} = {shown!r}")
            assert getattr(magics, name) == shown, name
        res = ip.run_cell(f"{small} -o by_config")
        assert res.success, res.error_in_exec
        assert ip.user_ns["by_config"].options == AuditOptions(**NON_DEFAULT)
        assert magics.audit_options() == AuditOptions(**NON_DEFAULT)
    finally:
        for name, _, default in option_fields():
            setattr(magics, name, plain_value(default))
    assert magics.audit_options() == AuditOptions()


def test_fit_names_a_function_of_the_notebook_and_a_wrong_name_says_the_fix(ip, small):
    from conftest import fit_small

    ip.user_ns.update(fit_small=fit_small, number=3)
    line = f"{small} --attacks lira --references 2 --n-jobs 1"
    res = ip.run_cell(f"{line} --fit fit_small -o by_flag")
    assert res.success, res.error_in_exec
    assert ip.user_ns["by_flag"].options.fit is fit_small
    assert ip.user_ns["by_flag"].info.fit_function == "conftest.fit_small"
    magics = _magics(ip)
    bare = line.removeprefix("%mia_audit ")
    with pytest.raises(UsageError, match=r"--fit nope: no variable named 'nope'.*def nope\("):
        magics.mia_audit(f"{bare} --fit nope")
    with pytest.raises(UsageError, match="'number' is a int, not a function"):
        magics.mia_audit(f"{bare} --fit number")
    try:
        ip.run_line_magic("config", "MiaAudit.fit = 'fit_small'")
        res = ip.run_cell(f"{line} -o by_config")
        assert res.success, res.error_in_exec
        assert ip.user_ns["by_config"].info.fit_function == "conftest.fit_small"
    finally:
        ip.run_line_magic("config", "MiaAudit.fit = None")
    assert magics.fit is None


def test_a_configured_redaction_cannot_be_lifted_from_the_line(ip, small):
    magics = _magics(ip)
    magics.redact = ["mean area"]
    try:
        res = ip.run_cell(f"{small} --redact 'worst area' -o red")
        assert res.success, res.error_in_exec
        assert ip.user_ns["red"].options.redact == ("mean area", "worst area")
    finally:
        magics.redact = []


def test_interactive_then_run_keeps_every_option_of_the_line(ip, monkeypatch):
    """Regression: ``--outputs label --interactive``, then Run, re-audited with full
    probabilities and the default policy (the panel rebuilt the call without
    ``outputs``, ``policy`` and ``rmia_a``). Run is now ``report.options.replace(...)``."""
    import mia_notebook.panel as panels

    shown = []
    real = panels.show_panel
    monkeypatch.setattr(panels, "show_panel", lambda r, **kw: shown.append(real(r, **kw)))
    magics = _magics(ip)
    magics.policy = {"tpr_high": 0.3}
    try:
        res = ip.run_cell(
            "%mia_audit clf --train train_df --test test_df --target label --outputs label "
            "--rmia-a 0.3 --references 2 --n-jobs 1 --interactive -o labels"
        )
    finally:
        magics.policy = None
    assert res.success, res.error_in_exec
    first, (panel,) = ip.user_ns["labels"], shown
    assert str(first.options.outputs) == "label" and first.options.policy.tpr_high == 0.3
    assert "loss" in first.skipped  # a labels-only audit: no probability attack ran
    panel.seed.value = 7
    assert panel.run_options() == first.options.replace(seed=7)
    panel.run()
    assert panel.wait(300), "Run did not finish"
    assert panel.last_error is None, panel.last_error
    again = panel._base
    assert again is not first and again.options == first.options.replace(seed=7)
    assert str(again.options.outputs) == "label" and again.options.rmia_a == 0.3
    assert again.verdict.policy == first.verdict.policy
    assert again.computed_attacks == first.computed_attacks and "loss" in again.skipped


def test_the_audit_dialog_writes_flags_the_magic_defines_with_the_same_defaults():
    """labextension/src/audit.ts writes a %mia_audit line: every flag it writes is one of
    the magic's, and its defaults (left out of the line) are the options' defaults."""
    import re
    from pathlib import Path

    source = (Path(__file__).parents[1] / "labextension" / "src" / "audit.ts").read_text()
    parser = MiaAudit(shell=None).mia_audit.parser
    known = {s for action in parser._actions for s in action.option_strings}
    written = set(re.findall(r"'(--[a-z-]+)'", source))
    assert {"--train", "--attacks", "--fpr", "--flag", "--redact"} <= written <= known
    found = re.search(r"DEFAULTS = \{ attacks: '([^']*)', fpr: '([^']*)', flag: (\d+) \}", source)
    assert found, "audit.ts's DEFAULTS changed form: update this test"
    attacks, fpr, flag = found.groups()
    defaults = AuditOptions()
    assert validate_option("attacks", attacks) == defaults.attacks
    assert validate_option("fpr", fpr) == defaults.fpr
    assert validate_option("flag", flag) == defaults.flag
