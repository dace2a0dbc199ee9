"""White-box attacks against the best black-box attack, at equal reference models.

Run: ``python -m bench.whitebox`` (writes ``bench/results_whitebox.md``; 1,000 members
and 1,000 non-members per case, the fewest that resolve TPR at 0.1% FPR; about 10 min on
2 idle cores). Options: ``--quick`` (small sizes, a smoke test), ``--no-write``.

Per case, one model is fitted on the members (a seeded half of the records) and audited
three times from an empty cache, with 16 reference models each time:

* black-box: every registered black-box attack that can run (threshold, LiRA, RMIA,
  shadow);
* white-box: the model family's white-box attacks (their reference models trained for
  the calibrated ones);
* both in one audit: the reference models are trained ONCE and give the black-box and
  the white-box statistic in the same pass. Its scores are the ones in the tables, so
  both sides use the very same reference models; its time against the sum of the two
  separate audits measures the shared pass.

For each side, the best attack per column is shown (the maximum over that side's
attacks, picked on the same records it is measured on: optimistic for both sides
alike). AUC with ``sklearn.metrics.roc_auc_score``; TPR at an FPR target with the
largest threshold whose FPR does not exceed it (``sklearn.metrics.roc_curve``).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_regressor
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mia_notebook
from mia_notebook.engine.attacks import attack_class, available_attacks
from mia_notebook.engine.attacks.whitebox import family_of
from mia_notebook.engine.cache import CACHE

from ._results import machine

RESULTS = Path(__file__).with_name("results_whitebox.md")
N_REFERENCES = 16
FPRS = (0.001, 0.01)


@dataclass
class Case:
    name: str
    make: Callable[[], Any]
    n_features: int
    n_informative: int
    flip: float
    note: str


CASES = [
    Case(
        "overfit forest",
        lambda: RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1),
        20,
        5,
        0.05,
        "RandomForestClassifier(100 trees, fully grown)",
    ),
    Case(
        "overfit regression forest",
        lambda: RandomForestRegressor(n_estimators=100, random_state=0, n_jobs=1),
        20,
        5,
        0.0,
        "RandomForestRegressor(100 trees, fully grown) on make_regression (noise 20)",
    ),
    Case(
        "wide logistic regression",
        lambda: LogisticRegression(C=100.0, max_iter=5000),
        400,
        20,
        0.1,
        "LogisticRegression(C=100) on 400 features",
    ),
    Case(
        "MLP",
        lambda: make_pipeline(StandardScaler(), MLPClassifier((64,), max_iter=300, random_state=0)),
        20,
        8,
        0.1,
        "Pipeline(StandardScaler, MLPClassifier(64 hidden, 300 epochs))",
    ),
    Case(
        "kNN",
        lambda: KNeighborsClassifier(n_neighbors=5),
        20,
        8,
        0.1,
        "KNeighborsClassifier(5)",
    ),
    Case(
        "boosting",
        lambda: HistGradientBoostingClassifier(max_iter=200, random_state=0),
        20,
        5,
        0.05,
        "HistGradientBoostingClassifier(200 iterations)",
    ),
]


def records(case: Case, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` members and ``n`` non-members of a seeded synthetic task (binary, or a
    regression for regressors)."""
    cols = [f"x{i}" for i in range(case.n_features)]
    if is_regressor(case.make()):
        X, y = make_regression(
            2 * n, case.n_features, n_informative=case.n_informative, noise=20.0, random_state=0
        )
        df = pd.DataFrame(X, columns=cols).assign(label=y)
        return df.iloc[:n], df.iloc[n:]
    X, y = make_classification(
        n_samples=2 * n,
        n_features=case.n_features,
        n_informative=case.n_informative,
        flip_y=case.flip,
        random_state=0,
    )
    df = pd.DataFrame(X, columns=cols).assign(label=y)
    return df.iloc[:n], df.iloc[n:]


def tpr_at(members: np.ndarray, scores: np.ndarray, fpr: float) -> float:
    f, t, _ = roc_curve(members, np.nan_to_num(scores, nan=-np.inf))
    return float(t[np.searchsorted(f, fpr, side="right") - 1])


def metrics(members: np.ndarray, scores: np.ndarray) -> list[float]:
    s = np.nan_to_num(scores, nan=-np.inf)
    return [float(roc_auc_score(members, s)), *(tpr_at(members, s, f) for f in FPRS)]


def timed_audit(model: Any, train: pd.DataFrame, test: pd.DataFrame, names: list[str]) -> Any:
    """One audit from an empty cache; returns (report, seconds)."""
    CACHE.clear()
    t0 = time.perf_counter()
    report = mia_notebook.audit(
        model,
        train=train,
        test=test,
        target="label",
        attacks=names,
        references=N_REFERENCES,
        progress=False,
    )
    return report, time.perf_counter() - t0


def split_names(model: Any) -> tuple[list[str], list[str]]:
    """The black-box attacks of ``attacks='auto'`` for the model's kind (label-robust is
    for label-only outputs), and the white-box attacks of the model's family."""
    kind = "regression" if is_regressor(model) else "proba"
    black, white = [], []
    for name in available_attacks():
        cls = attack_class(name)
        if cls.threat_model == "black-box" and kind in cls.kinds and name != "label-robust":
            black.append(name)
        elif getattr(cls, "family", None) == family_of(model):
            white.append(name)
    return black, white


def run_case(case: Case, n: int) -> dict[str, Any]:
    train, test = records(case, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = case.make().fit(train.drop(columns="label"), train["label"])
    black, white = split_names(model)
    _, t_black = timed_audit(model, train, test, black)
    _, t_white = timed_audit(model, train, test, white)
    both, t_both = timed_audit(model, train, test, black + white)
    members = both.members
    rows = {a: metrics(members, both.scores[a].to_numpy()) for a in black + white}
    acc = (
        model.score(train.drop(columns="label"), train["label"]),
        model.score(test.drop(columns="label"), test["label"]),
    )
    return {
        "case": case,
        "rows": rows,
        "black": black,
        "white": white,
        "seconds": (t_black, t_white, t_both),
        "trained": both.info.references_trained,
        "accuracy": acc,
        "notes": [x for x in both.notes if x.startswith("White-box")],
    }


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def bests(res: dict[str, Any], side: str) -> list[float]:
    """The best value of each column (AUC, TPR at each FPR) over one side's attacks."""
    return [max(res["rows"][a][i] for a in res[side]) for i in range(1 + len(FPRS))]


def summary_markdown(results: list[dict[str, Any]]) -> str:
    """One row per case: best black-box vs best white-box, and which side wins."""
    lines = [
        "| case | AUC black / white | TPR@0.1%FPR black / white | TPR@1%FPR black / white "
        "| seconds black / white / both |",
        "|---|---|---|---|---|",
    ]
    for res in results:
        b, w = bests(res, "black"), bests(res, "white")
        cells = [
            f"{_fmt(x)} / **{_fmt(y)}**"
            if y > x
            else f"**{_fmt(x)}** / {_fmt(y)}"
            if x > y
            else f"{_fmt(x)} / {_fmt(y)}"
            for x, y in zip(b, w, strict=True)
        ]
        secs = " / ".join(f"{t:.1f}" for t in res["seconds"])
        lines.append(f"| {res['case'].name} | " + " | ".join(cells) + f" | {secs} |")
    return "\n".join(lines)


def case_markdown(res: dict[str, Any], n: int) -> str:
    case, rows = res["case"], res["rows"]
    t_black, t_white, t_both = res["seconds"]
    best_b, best_w = bests(res, "black"), bests(res, "white")
    arg_b = [max(res["black"], key=lambda a, i=i: rows[a][i]) for i in range(3)]
    arg_w = [max(res["white"], key=lambda a, i=i: rows[a][i]) for i in range(3)]
    head = "| attack | threat model | AUC | TPR@0.1%FPR | TPR@1%FPR |\n|---|---|---|---|---|"
    lines = [
        f"## {case.name}",
        "",
        f"{case.note}; {n} members, {n} non-members; train score "
        f"{res['accuracy'][0]:.3f}, test score {res['accuracy'][1]:.3f} (accuracy, R² for "
        "the regressor).",
        "",
        head,
    ]
    for a in [*res["black"], *res["white"]]:
        threat = "white-box" if a in res["white"] else "black-box"
        lines.append(f"| {a} | {threat} | " + " | ".join(_fmt(v) for v in rows[a]) + " |")
    lines += [
        "",
        "| best per column | AUC | TPR@0.1%FPR | TPR@1%FPR | seconds (own audit) |",
        "|---|---|---|---|---|",
        "| black-box | "
        + " | ".join(f"{_fmt(v)} ({a})" for v, a in zip(best_b, arg_b, strict=True))
        + f" | {t_black:.1f} |",
        "| white-box | "
        + " | ".join(f"{_fmt(v)} ({a})" for v, a in zip(best_w, arg_w, strict=True))
        + f" | {t_white:.1f} |",
        "",
        f"Both in one audit: {t_both:.1f} s against {t_black + t_white:.1f} s for the two "
        f"separate audits ({t_both / (t_black + t_white):.0%}); reference models trained in "
        f"it: {res['trained']} of {N_REFERENCES} (one pass for both sides).",
    ]
    lines += [f"Finding: {x}" for x in res["notes"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    n = 150 if args.quick else 1000
    parts = [
        "# White-box vs black-box attacks at equal reference models",
        "",
        f"`python -m bench.whitebox` · {machine()} · {N_REFERENCES} reference models · "
        "shared machine (other jobs were running: compare times within a case only)",
        "",
        "See the module docstring for the protocol. Attacks registered: "
        + ", ".join(available_attacks())
        + ".",
    ]
    results = []
    for case in CASES:
        results.append(run_case(case, n))
        print(case_markdown(results[-1], n), flush=True)
    parts += [
        "",
        "## Summary: best black-box vs best white-box attack (bold: the better side)",
        "",
        summary_markdown(results),
        *("\n" + case_markdown(res, n) for res in results),
    ]
    text = "\n".join(parts) + "\n"
    if args.no_write:
        print(text)
    else:
        RESULTS.write_text(text)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
