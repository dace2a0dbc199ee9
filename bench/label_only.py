"""Label-only attacks side by side: our ``label-robust`` and ``gap`` against IBM ART's
``LabelOnlyDecisionBoundary`` (HopSkipJump) and ``LabelOnlyGapAttack``.

Run: ``python -m bench.label_only`` (writes ``bench/results_label_only.md``).
Options: ``--quick`` (tiny sizes, a smoke test), ``--no-write``.

Per dataset, one overfit random forest (100 trees, scikit-learn defaults) is fitted on
the members; members and non-members are a seeded stratified 50/50 split. Every tool
attacks the same fitted model on the same records and sees only predicted labels:

* ours: ``mia_notebook.audit(model, outputs="label", attacks="gap,label-robust",
  references=16, n_jobs=1)`` from an empty cache, so the time includes training the 16
  reference models and every noisy query;
* ART ``LabelOnlyGapAttack`` on every record;
* ART ``LabelOnlyDecisionBoundary`` with HopSkipJump at ART's defaults (max_iter=50,
  max_eval=10000, init_eval=100, L2) on a seeded subsample (it takes seconds per
  record). Its score is the HopSkipJump distance to the decision boundary (0 when
  misclassified), recovered from ART's sigmoid output; tau does not change rankings.

AUC and TPR at 1 % FPR (the largest threshold whose FPR <= 1 %; "n/a" with fewer than
100 non-members) are computed with ``sklearn.metrics.roc_curve`` for every tool; our
attacks are also scored on ART's subsample so the AUCs compare like with like.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SEED = 0
FPR = 0.01
N_REFERENCES = 16
RESULTS = Path(__file__).with_name("results_label_only.md")


@dataclass
class Case:
    name: str
    X: np.ndarray
    y: np.ndarray
    n_boundary: int  # members (and as many non-members) for ART's boundary attack


@dataclass
class Row:
    tool: str
    attack: str
    records: str
    auc: float
    tpr: str
    s_per_record: float


def cases(quick: bool) -> list[Case]:
    from sklearn.datasets import load_breast_cancer, make_classification

    X, y = make_classification(
        n_samples=400 if quick else 2000,
        n_features=10,
        n_informative=5,
        flip_y=0.1,
        random_state=SEED,
    )
    out = [
        Case("synthetic (make_classification, 10 features, flip_y=0.1)", X, y, 5 if quick else 40)
    ]
    if not quick:
        bc = load_breast_cancer()
        out.append(Case("breast cancer (sklearn bundled)", bc.data, bc.target, 25))
    return out


def metrics(scores: np.ndarray, members: np.ndarray) -> tuple[float, str]:
    from sklearn.metrics import roc_auc_score, roc_curve

    auc = float(roc_auc_score(members, scores))
    if int((~members).sum()) < 1 / FPR:
        return auc, "n/a"
    fpr, tpr, _ = roc_curve(members, scores)
    return auc, f"{float(tpr[fpr <= FPR].max()):.3f}"


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_ours(model: Any, tr: pd.DataFrame, te: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    import mia_notebook
    from mia_notebook.engine.cache import CACHE

    CACHE.clear()
    rep, secs = timed(
        lambda: mia_notebook.audit(
            model,
            train=tr,
            test=te,
            target="label",
            outputs="label",
            attacks="gap,label-robust",
            references=N_REFERENCES,
            n_jobs=1,
            progress=False,
        )
    )
    return rep.scores, secs  # the whole audit: validation, queries, reference models


def run_art_boundary(est: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    from art.attacks.inference.membership_inference import LabelOnlyDecisionBoundary

    tau = 1.0
    np.random.seed(SEED)  # HopSkipJump draws from numpy's global generator
    att = LabelOnlyDecisionBoundary(est, distance_threshold_tau=tau)
    prob = att.infer(X, y, probabilities=True, verbose=False)
    p1 = np.clip(prob[:, 1], 1e-300, None)
    p0 = np.clip(prob[:, 0], 1e-300, None)
    return np.asarray(np.log(p1) - np.log(p0) + tau)  # sigmoid(d - tau) inverted


def run_case(case: Case) -> tuple[list[Row], dict[str, float]]:
    from art.attacks.inference.membership_inference import LabelOnlyGapAttack
    from art.estimators.classification import SklearnClassifier
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    idx_m, idx_n = train_test_split(
        np.arange(len(case.y)), test_size=0.5, stratify=case.y, random_state=SEED
    )
    model = RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1)
    model.fit(case.X[idx_m], case.y[idx_m])
    cols = [f"f{i}" for i in range(case.X.shape[1])]
    tr = pd.DataFrame(case.X[idx_m], columns=cols).assign(label=case.y[idx_m])
    te = pd.DataFrame(case.X[idx_n], columns=cols).assign(label=case.y[idx_n])
    X_all, y_all = np.r_[case.X[idx_m], case.X[idx_n]], np.r_[case.y[idx_m], case.y[idx_n]]
    members = np.r_[np.ones(len(idx_m), bool), np.zeros(len(idx_n), bool)]
    n = len(members)
    ours, secs = run_ours(model, tr, te)
    est = SklearnClassifier(model=model, clip_values=(float(X_all.min()), float(X_all.max())))
    gap_art, secs_gap = timed(lambda: LabelOnlyGapAttack(est).infer(X_all, y_all))
    rng = np.random.default_rng(SEED)
    sub = np.r_[
        rng.choice(len(idx_m), case.n_boundary, replace=False),
        len(idx_m) + rng.choice(len(idx_n), case.n_boundary, replace=False),
    ]
    dist, secs_b = timed(lambda: run_art_boundary(est, X_all[sub], y_all[sub]))
    k = len(sub)
    rows = []
    for tool, attack, scores, mask, s in [
        ("mia_notebook", "label-robust", ours["label-robust"].to_numpy(), None, secs / n),
        ("mia_notebook", "gap", ours["gap"].to_numpy(), None, math.nan),
        ("ART", "LabelOnlyGapAttack", np.asarray(gap_art, float), None, secs_gap / n),
        ("mia_notebook", "label-robust", ours["label-robust"].to_numpy(), sub, secs / n),
        ("mia_notebook", "gap", ours["gap"].to_numpy(), sub, math.nan),
        ("ART", "LabelOnlyDecisionBoundary (HopSkipJump)", dist, slice(None), secs_b / k),
    ]:
        part = scores if mask is None or isinstance(mask, slice) else scores[mask]
        mem = members if mask is None else members[sub]
        auc, tpr = metrics(part, mem)
        where = f"all {n}" if mask is None else f"subsample {k}"
        rows.append(Row(tool, attack, where, auc, tpr, s))
    summary = {
        "robust_auc": rows[0].auc,
        "gap_auc": rows[1].auc,
        "robust_sub_auc": rows[3].auc,
        "boundary_auc": rows[5].auc,
        "robust_s": secs / n,
        "boundary_s": secs_b / k,
        "train_acc": float(model.score(case.X[idx_m], case.y[idx_m])),
        "test_acc": float(model.score(case.X[idx_n], case.y[idx_n])),
        "n": n,
        "k": k,
    }
    return rows, summary


def render(results: list[tuple[Case, list[Row], dict[str, float]]], quick: bool) -> str:
    from bench._results import machine

    out = [
        "# Label-only attacks: label-robust vs IBM ART",
        "",
        f"`python -m bench.label_only{' --quick' if quick else ''}` · {machine()}",
        "",
        "Same fitted model and split for every tool (see the module docstring). Ours: "
        f"{N_REFERENCES} reference models, noise levels (0.05, 0.1, 0.25) x 16 copies; "
        "its seconds per record include training the reference models. ART's boundary "
        "attack runs at HopSkipJump defaults on a seeded subsample of members and "
        "non-members (size in the table); our scores are also shown on that subsample.",
        "",
    ]
    for case, rows, s in results:
        out += [
            f"## {case.name}",
            "",
            f"RandomForest(100 trees): train accuracy {s['train_acc']:.3f}, test "
            f"accuracy {s['test_acc']:.3f}; {s['n']} records (half members).",
            "",
            "| tool | attack | records | AUC | TPR@1%FPR | s / record |",
            "|---|---|---|---|---|---|",
        ]
        for r in rows:
            t = "" if math.isnan(r.s_per_record) else f"{r.s_per_record:.3g}"
            out.append(f"| {r.tool} | {r.attack} | {r.records} | {r.auc:.3f} | {r.tpr} | {t} |")
        out += ["", _targets(s), ""]
    return "\n".join(out)


def _targets(s: dict[str, float]) -> str:
    ratio = s["boundary_s"] / s["robust_s"]
    beat = s["robust_sub_auc"] >= s["boundary_auc"]
    gain = s["robust_auc"] - s["gap_auc"]
    return (
        f"Targets: label-robust AUC {s['robust_sub_auc']:.3f} vs ART boundary "
        f"{s['boundary_auc']:.3f} on the same {s['k']:.0f} records "
        f"({'met' if beat else 'NOT met'}); "
        f"time per record 1/{ratio:.0f} of ART's ({'met' if ratio >= 20 else 'NOT met'}: "
        f"target <= 1/20); label-robust - gap = {gain:+.3f} AUC on all {s['n']:.0f} records "
        f"({'met' if gain >= 0.05 else 'NOT met'}: target >= +0.05)."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ART's torch notice, sklearn feature-name notes
        for case in cases(args.quick):
            print(f"{case.name} ...", flush=True)
            rows, summary = run_case(case)
            results.append((case, rows, summary))
    text = render(results, args.quick)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text + "\n")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
