"""Write the TypeScript tests' fixture: real payloads and Python's own figures.

A single audit's report payload (with its groups of rank-equivalent attacks) and a
comparison of three models (render/mime_compare.py), each with the figures Python's
report and ComparisonReport give for every offered FPR target.

Run: ``python labextension/test/make_fixture.py [OUT]`` (default ``test/fixture.json``
beside this file). ``tests/test_labextension.py`` runs it into a temporary file and
points ``jlpm test`` at it through ``MIA_FIXTURE``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import mia_notebook as mn
from mia_notebook.engine.compare import model_row
from mia_notebook.engine.metrics import tpr_at_fpr
from mia_notebook.render.mime import report_payload
from mia_notebook.render.mime_compare import comparison_payload


def _data() -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    x, y = make_classification(
        n_samples=6000, n_features=8, n_informative=5, flip_y=0.1, random_state=3
    )
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)]).assign(label=y)
    train, test = df.iloc[:3000], df.iloc[3000:]
    clf = RandomForestClassifier(n_estimators=20, max_depth=10, random_state=0, n_jobs=1)
    clf.fit(train.drop(columns="label"), train["label"])
    return train, test, clf


def make_report() -> Any:
    """A real audit with ties (a forest's probabilities) and more than 2,000 ROC points."""
    train, test, clf = _data()
    return mn.audit(
        clf,
        train=train,
        test=test,
        target="label",
        attacks=["loss", "confidence", "entropy"],
        flag=250,  # more than some claiming targets identify: the rank cut-off matters
        redact=["x1"],
    )


def expected(report: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Python's TPR, achieved FPR and notes for every attack and offered target."""
    out: dict[str, Any] = {}
    for name, curve in report.roc_curves().items():
        rows = {}
        for target in payload["fpr_choices"]:
            t = tpr_at_fpr(curve, target)
            rows[repr(target)] = {
                "tpr": t.tpr,
                "achieved_fpr": t.achieved_fpr,
                "resolvable": t.resolvable,
                "coarse": t.coarse,
                "note": t.note.text(target),
            }
        out[name] = rows
    return out


def expected_flagged(report: Any, payload: dict[str, Any]) -> dict[str, list[int]]:
    """Per offered target, the payload rows Python flags there: where the payload claims,
    the members the verdict's attack scores strictly above the (allowed + 1)-th highest
    non-member score (computed here from the raw scores), at most ``flag``, as indices
    into ``payload["flagged"]["rows"]``; elsewhere none."""
    attack = payload["verdict"]["attack"]
    rows = payload["flagged"]["rows"]
    out: dict[str, list[int]] = {}
    scores = report.scores[attack].to_numpy() if attack else np.zeros(0)
    members, nonmembers = scores[report.members], np.sort(scores[~report.members])
    position = {label: i for i, label in enumerate(r[0] for r in rows)}
    for claim in payload["claims"]:
        f = claim["fpr"]
        if not claim["claim"]:
            out[repr(f)] = []
            continue
        allowed = int(np.floor(f * nonmembers.size + 1e-9))
        threshold = (
            nonmembers[nonmembers.size - 1 - allowed] if allowed < nonmembers.size else -np.inf
        )
        hit = np.flatnonzero(members > threshold)
        hit = hit[np.argsort(-members[hit], kind="stable")][: report.options.flag]
        labels = report.data.train.index[hit]
        out[repr(f)] = [position[label] for label in labels]
    return out


def make_comparison() -> Any:
    """The forest, a logistic regression and the forest's probabilities rounded to one
    decimal (heavy ties): levels differ, and so do the curves' resolutions; one FPR
    target the 3,000 non-members cannot resolve."""
    train, test, clf = _data()
    logreg = LogisticRegression(max_iter=1000).fit(train.drop(columns="label"), train["label"])
    return mn.compare(
        {"forest": clf, "logreg": logreg, "forest, rounded": (clf, "round:1")},
        train=train,
        test=test,
        target="label",
        attacks=["loss", "confidence", "entropy"],
        # 0.0002 needs 5,000 non-members: offered (as the report's own) but unresolvable
        fpr=(0.0002, 0.001, 0.01, 0.1),
        progress=False,
    )


def expected_comparison(cmp: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Per model and offered target: Python's row (ComparisonReport's model_row) and the
    claim of the model's own report there."""
    out: dict[str, Any] = {}
    for m in payload["models"]:
        rows = {}
        for target, claim in zip(payload["fpr_choices"], m["report"]["claims"], strict=True):
            t = model_row(m["name"], cmp.reports[m["name"]], target).tpr
            rows[repr(target)] = {
                "tpr": t.tpr,
                "resolvable": t.resolvable,
                "value": None if not t.resolvable else t.value,
                "interval": list(t.interval) if t.resolvable else None,
                "claim": claim["claim"],
                "identified": claim["identified"],
            }
        out[m["name"]] = rows
    summary = cmp.summary
    at_fpr = {n: summary.loc[n, "tpr"] for n in summary.index}
    return {"rows": out, "fpr": cmp.fpr, "summary_tpr": _nan_none(at_fpr)}


def _nan_none(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if np.isnan(v) else float(v)) for k, v in values.items()}


def main(path: Path) -> None:
    report = make_report()
    payload = report_payload(report, max_points=500)  # thinned: 3,000+ points each
    cmp = make_comparison()
    cmp_payload = comparison_payload(cmp, max_points=300)
    data = {
        "payload": payload,
        "expected": expected(report, payload),
        "flagged": expected_flagged(report, payload),
        "groups": [list(g) for g in report.rank_groups()],
        "grouped_auc": report.grouped_summary()["AUC"].astype(float).tolist(),
        "comparison": cmp_payload,
        "comparison_expected": expected_comparison(cmp, cmp_payload),
    }
    path.write_text(json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("fixture.json"))
