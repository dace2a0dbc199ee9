"""Write the TypeScript tests' fixture: a real audit's payload and Python's own figures.

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

import mia_notebook as mn
from mia_notebook.engine.metrics import tpr_at_fpr
from mia_notebook.render.mime import report_payload


def make_report() -> Any:
    """A real audit with ties (a forest's probabilities) and more than 2,000 ROC points."""
    x, y = make_classification(
        n_samples=6000, n_features=8, n_informative=5, flip_y=0.1, random_state=3
    )
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)]).assign(label=y)
    train, test = df.iloc[:3000], df.iloc[3000:]
    clf = RandomForestClassifier(n_estimators=20, max_depth=10, random_state=0, n_jobs=1)
    clf.fit(train.drop(columns="label"), train["label"])
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


def main(path: Path) -> None:
    report = make_report()
    payload = report_payload(report, max_points=500)  # thinned: 3,000+ points each
    data = {
        "payload": payload,
        "expected": expected(report, payload),
        "flagged": expected_flagged(report, payload),
    }
    path.write_text(json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("fixture.json"))
