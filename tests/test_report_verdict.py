"""The verdict inside the report: at chance nothing is accused, leaks flag the members the
verdict identifies, the policy option, the gate (check() and --fail-on under nbclient).

Real scikit-learn models on seeded synthetic data; the statistics of the verdict itself
are in test_verdict.py and test_verdict_stats.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import mia_notebook as mn
from mia_notebook.render.html import render_html

ATTACKS = ["loss", "confidence", "logit", "entropy", "mentropy", "gap"]


def _frame(seed: int, n: int, flip: float) -> pd.DataFrame:
    X, y = make_classification(
        n_samples=n, n_features=8, n_informative=5, flip_y=flip, random_state=seed
    )
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(label=y)


def _audit(model: Any, train: pd.DataFrame, test: pd.DataFrame, **kw: Any) -> mn.AuditReport:
    """Every default attack, 4 reference models (RMIA singles out a forest's members)."""
    return mn.audit(
        model, train=train, test=test, target="label", references=4, n_jobs=1,
        progress=False, **kw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def chance() -> mn.AuditReport:
    """A model fitted on rows disjoint from both audited sets: outputs cannot depend
    on membership."""
    df = _frame(1, 3000, 0.1)
    fit, train, test = df.iloc[:1000], df.iloc[1000:2000], df.iloc[2000:]
    model = LogisticRegression().fit(fit.drop(columns="label"), fit["label"])
    return _audit(model, train, test, attacks=ATTACKS, flag=5)


@pytest.fixture(scope="module")
def leak() -> tuple[Any, pd.DataFrame, pd.DataFrame, mn.AuditReport]:
    """A full-depth forest on noisy labels memorises its members."""
    df = _frame(0, 2000, 0.3)
    train, test = df.iloc[:1000], df.iloc[1000:]
    model = RandomForestClassifier(n_estimators=50, random_state=0, n_jobs=1)
    model.fit(train.drop(columns="label"), train["label"])
    return model, train, test, _audit(model, train, test, flag=7)


# ------------------------------------------------------------------ no false alarms
def test_at_chance_nothing_is_accused(chance: mn.AuditReport) -> None:
    v = chance.verdict
    assert v.level == "none" and v.attack is None and chance.strongest is None
    flagged = chance.flagged()
    assert flagged.empty and "no record is exposed beyond chance" in flagged.attrs["reason"]
    assert chance.flagged_positions().size == 0
    data = chance.to_dict()
    assert data["verdict"] == json.loads(json.dumps(v.to_dict()))
    assert data["strongest_attack"] is None and data["flagged"] == []
    assert data["flagged_reason"] == v.reason


def test_at_chance_the_html_highlights_nothing(chance: mn.AuditReport) -> None:
    html = render_html(chance)
    body = html.split("</style>", 1)[1]
    first = re.match(r"<p class='mia-verdict mia-level-none'[^>]*>([^<]*)</p>", body)
    assert first is not None and first.group(1) == str(chance.verdict)
    assert 'class="mia-risk-high"' not in html
    assert "No records listed: No attack beats chance" in html
    assert repr(chance).splitlines()[0] == str(chance.verdict)
    assert "no attack beats chance" in repr(chance).splitlines()[1]


# ------------------------------------------------------------------ real leaks
def test_leak_reaches_high_and_flags_the_identified_members(leak: Any) -> None:
    _, train, _, rep = leak
    v = rep.verdict
    assert v.level == "high" and rep.strongest == v.attack
    assert v.n_identified > 7 and f"{v.n_identified:,} records identified" in v.reason
    flagged = rep.flagged()
    assert len(flagged) == 7 and flagged.attrs["reason"] == ""
    assert list(flagged.index) == list(train.index[v.identified])
    assert rep.members[v.identified].all()
    # slow reference: the identified members score above the verdict's threshold, best first
    point = next(
        p for p in v.evidence["attacks"][v.attack]["points"] if p["fpr"] == v.evidence["fpr"]
    )
    scores = rep.scores[v.attack].to_numpy()
    above = np.flatnonzero(rep.members & (scores > point["threshold"]))
    assert above.size == v.n_identified
    assert sorted(scores[v.identified], reverse=True) == list(scores[v.identified])
    assert scores[v.identified].min() >= np.sort(scores[above])[::-1][6]


def test_more_flags_than_the_verdict_lists_come_from_the_same_threshold(leak: Any) -> None:
    _, _, _, rep = leak
    v = rep.verdict
    more = rep.flagged(k=v.n_identified + 50)
    assert len(more) == v.n_identified  # never beyond what the verdict identifies
    assert list(more.index[:7]) == list(rep.flagged().index)


def test_leak_html_marks_the_verdicts_attack_and_lists_its_members(leak: Any) -> None:
    _, _, _, rep = leak
    html = render_html(rep)
    assert html.split("</style>", 1)[1].startswith("<p class='mia-verdict mia-level-high'")
    marked = re.findall(r'<tr class="mia-risk-high"[^>]*>(.*?)</tr>', html)
    assert len(marked) == 1 and f"[{rep.verdict.attack}]" in marked[0]
    assert f"7 of the {rep.verdict.n_identified:,} that" in html
    assert "per threshold" in html and "Steinke, Nasr &amp; Jagielski" in html


def test_hiding_or_shuffling_does_not_change_the_level(leak: Any) -> None:
    model, train, test, rep = leak
    hidden = rep.with_options(show=["gap"])
    assert hidden.verdict.level == rep.verdict.level
    assert hidden.verdict.attack == rep.verdict.attack  # judged on every computed attack
    rng = np.random.default_rng(3)
    shuffled = _audit(
        model, train.sample(frac=1.0, random_state=rng), test.sample(frac=1.0, random_state=rng)
    )
    # the reference models' seeded IN/OUT splits follow the rows, so the scores move a
    # little; the level does not
    assert shuffled.verdict.level == rep.verdict.level


# ------------------------------------------------------------------ the gate
def test_check_raises_at_the_level_and_passes_below(leak: Any, chance: mn.AuditReport) -> None:
    rep = leak[3]
    with pytest.raises(mn.PrivacyRiskError) as info:
        rep.check()
    assert str(info.value) == str(rep.verdict)
    assert chance.check(fail_on="low") is chance.verdict
    strict = {"tpr_high": 1.0, "epsilon_high": 60.0}  # nothing can reach 'high'
    assert rep.check(policy=strict).level == "elevated"
    with pytest.raises(mn.PrivacyRiskError):
        rep.check(policy=strict, fail_on="elevated")
    with pytest.raises(mn.MiaValueError, match="'fail_on' parameter must be one of"):
        rep.check(fail_on="none")


# ------------------------------------------------------------------ the policy option
def test_policy_option_is_validated_once_and_changes_the_verdict(leak: Any) -> None:
    model, train, test, rep = leak
    with pytest.raises(mn.MiaValueError, match=r"Unknown policy key\(s\) \['tpr_hihg'\]"):
        _audit(model, train, test, policy={"tpr_hihg": 0.3})
    with pytest.raises(mn.MiaError, match="'tpr_high' must be in"):
        rep.with_options(policy={"tpr_high": 2.0})
    lenient = _audit(model, train, test, policy={"tpr_high": 1.0, "epsilon_high": 60.0})
    assert lenient.scores.equals(rep.scores) and lenient.verdict.level == "elevated"
    assert lenient.options.policy == mn.Policy(tpr_high=1.0, epsilon_high=60.0)
    assert lenient.settings["policy"]["tpr_high"] == 1.0
    back = lenient.with_options(policy=None)
    assert back.verdict.level == "high" and back.verdict.policy == mn.Policy()


def test_a_dict_policy_takes_the_reports_confidence(leak: Any) -> None:
    rep = leak[3]
    view = rep.with_options(confidence=0.99, policy={"tpr_high": 0.3})
    assert view.verdict.policy.confidence == 0.99
    assert rep.with_options(confidence=0.99).verdict.policy == mn.Policy(confidence=0.99)


# ------------------------------------------------------------------ --fail-on in a notebook
_SETUP = """
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
X, y = make_classification(n_samples=3000, n_features=8, n_informative=5, flip_y=0.3,
                           random_state=0)
df = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(label=y)
fit, train_df, test_df = df.iloc[:1000], df.iloc[1000:2000], df.iloc[2000:]
leaky = RandomForestClassifier(n_estimators=50, random_state=0, n_jobs=1).fit(
    train_df.drop(columns="label"), train_df.label)
safe = LogisticRegression().fit(fit.drop(columns="label"), fit.label)
%load_ext mia_notebook
"""
_LINE = "%mia_audit {model} --train train_df --test test_df --target label --attacks loss,gap"


def _run(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = NotebookClient(nb, timeout=300, kernel_name="python3")
    try:
        client.execute()
    except CellExecutionError:
        nb.metadata["failed"] = True
    return nb


@pytest.mark.slow
def test_fail_on_fails_the_notebook_after_showing_the_report() -> None:
    nb = _run([_SETUP, _LINE.format(model="leaky") + " --fail-on high", "print('after')"])
    assert nb.metadata.get("failed") is True  # nbclient (and so nbconvert, nbmake) fails
    outputs = nb.cells[1].outputs
    kinds = [o["output_type"] for o in outputs]
    assert "error" in kinds and kinds.index("error") == len(kinds) - 1
    shown = [o for o in outputs if "text/html" in o.get("data", {})]
    assert len(shown) == 1 and "Privacy risk: high." in shown[0]["data"]["text/html"]
    error = outputs[-1]
    assert error["ename"] == "PrivacyRiskError" and error["evalue"].startswith(
        "Privacy risk: high."
    )
    assert nb.cells[2].outputs == []  # the run stopped at the gate


@pytest.mark.slow
def test_fail_on_passes_a_model_below_the_level_and_shows_it_once() -> None:
    nb = _run([_SETUP, _LINE.format(model="safe") + " --fail-on low", "print('after')"])
    assert not nb.metadata.get("failed")
    results = [o for o in nb.cells[1].outputs if "text/html" in o.get("data", {})]
    assert len(results) == 1 and "Privacy risk: none." in results[0]["data"]["text/html"]
    assert nb.cells[2].outputs[0]["text"] == "after\n"
