"""Cost of ``compare()`` against the single audits it contains, measured in one run.

Run: ``python -m bench.compare_models`` (about a minute; ``--quick`` for a smoke test).
Writes ``bench/results_compare_models.md``.

Two models (a random forest and a logistic regression) on the same synthetic split,
``attacks='auto'`` with reference models. Each setting starts from an empty cache:
(a) ``audit()`` of each model and its verdict, timed together; (b) ``compare()`` of
both, which runs the same two audits plus the utility (from the cached outputs) and
the comparison's rows; (c) ``compare()`` rendered to HTML (tables and two PNG
figures). Median of ``--repeats``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import mia_notebook
from mia_notebook.engine.cache import CACHE

from ._results import machine

RESULTS = Path(__file__).with_name("results_compare_models.md")


def _setting(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    X, y = make_classification(
        n_samples=n, n_features=20, n_informative=10, flip_y=0.05, random_state=0
    )
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(20)]).assign(y=y)
    tr, te = df.iloc[: n // 2], df.iloc[n // 2 :]
    Xtr = tr.drop(columns="y")
    models = {
        "forest": RandomForestClassifier(n_estimators=50, random_state=0, n_jobs=1).fit(
            Xtr, tr["y"]
        ),
        "logreg": LogisticRegression(max_iter=2000).fit(Xtr, tr["y"]),
    }
    kw = {"train": tr, "test": te, "target": "y", "references": 8, "n_jobs": 1}
    return models, {**kw, "progress": False}


def _medians(actions: list[Callable[[], Any]], repeats: int) -> list[float]:
    """Median time of each action; the actions take turns (a shared machine's load
    then affects them alike), each from an empty cache."""
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(repeats):
        for action, out in zip(actions, times, strict=True):
            CACHE.clear()
            t0 = time.perf_counter()
            action()
            out.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, one repeat")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n, repeats = (600, 1) if args.quick else (4000, args.repeats)
    models, kw = _setting(n)

    def audits() -> None:
        for model in models.values():
            mia_notebook.audit(model, **kw).verdict  # noqa: B018 (what %mia_audit shows)

    def comparison() -> None:
        mia_notebook.compare(models, **kw).summary  # noqa: B018 (the rows are computed)

    def rendered() -> None:
        mia_notebook.compare(models, **kw).to_html()

    t_a, t_c, t_r = _medians([audits, comparison, rendered], repeats)
    lines = [
        "# compare() vs the audits it contains",
        "",
        f"`python -m bench.compare_models{' --quick' if args.quick else ''}` · {machine()}",
        "",
        f"{n:,} rows (half members), 20 features; RandomForest (50 trees) and "
        "LogisticRegression; attacks='auto', 8 reference models, n_jobs=1; cache "
        f"cleared before each run; the three take turns; median of {repeats}.",
        "",
        "| what | seconds | vs two audits |",
        "|---|---:|---:|",
        f"| audit() of each model (+ its verdict) | {t_a:.2f} | 1.00 |",
        f"| compare() of both (+ summary) | {t_c:.2f} | {t_c / t_a:.2f} |",
        f"| compare() + to_html() (two PNGs) | {t_r:.2f} | {t_r / t_a:.2f} |",
        "",
        "compare() runs exactly the audits it contains (the same cache entries), reads "
        "the utility from their cached outputs (no extra query), and adds only the rows "
        "and, when rendered, the two figures.",
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
