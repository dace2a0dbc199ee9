"""Cost of the verdict as a share of the audit it judges, measured in the same run.

Run: ``python -m bench.verdict`` (about 3 minutes; ``--quick`` for a smoke test).
Writes ``bench/results_verdict.md``.

For each setting the audit runs once (cache cleared first), then its HTML report
(``report.to_html()``: summary, verdict, ROC plot, flagged rows, what ``%mia_audit``
shows; timed), then the verdict three times with its epsilon cache cleared (median):

* **verdict**: what the verdict adds to a report. The report sorts each attack's scores
  once per class (``SortedScores``, memoized); the summary's ROC curve and epsilon
  bound and the verdict's tests all read that one sort, so the verdict's own cost is
  its tests.
* **verdict, cold**: the verdict on a fresh report (memo cleared), the sort included.

Shares are against ``audit()`` alone and against ``audit()`` plus its report.
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
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

import mia_notebook
from mia_notebook.engine.cache import CACHE
from mia_notebook.engine.verdict import Verdict, evidence

from ._results import machine

RESULTS = Path(__file__).with_name("results_verdict.md")
THRESHOLD_ATTACKS = ["loss", "confidence", "logit", "entropy", "mentropy", "gap"]


def _frames(n: int, seed: int = 0, flip: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    X, y = make_classification(
        n_samples=n, n_features=20, n_informative=10, flip_y=flip, random_state=seed
    )
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(20)]).assign(y=y)
    return df.iloc[: n // 2], df.iloc[n // 2 :]


def report_verdict(report: Any) -> Verdict:
    """The verdict judged again, uncached (the report's memoized sorts are kept)."""
    for key in [k for k in report._memo if isinstance(k, tuple) and k[0] == "verdict"]:
        del report._memo[key]
    verdict: Verdict = report.verdict
    return verdict


def _judge_cold(report: Any) -> Verdict:
    """The verdict from a cold report memo: the per-class sorts are done again."""
    report._memo.clear()
    return report_verdict(report)


def _median_time(action: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        evidence._epsilon.cache_clear()
        t0 = time.perf_counter()
        action()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(name: str, model: Any, n: int, fit_rows: int, **audit_kw: Any) -> dict[str, Any]:
    """One setting: fit, audit (timed), its HTML report (timed), verdict (median of 3)."""
    train, test = _frames(n)
    model.fit(train.drop(columns="y").iloc[:fit_rows], train["y"].iloc[:fit_rows])
    CACHE.clear()
    t0 = time.perf_counter()
    report = mia_notebook.audit(
        model, train=train, test=test, target="y", progress=False, **audit_kw
    )
    t_audit = time.perf_counter() - t0
    t0 = time.perf_counter()
    report.to_html()  # what %mia_audit shows: summary, verdict, ROC plot, flagged rows
    t_report = time.perf_counter() - t0
    t_verdict = _median_time(lambda: report_verdict(report), 3)
    t_cold = _median_time(lambda: _judge_cold(report), 3)
    verdict = report_verdict(report)
    return {
        "setting": name,
        "rows": n,
        "attacks": len(report.computed_attacks),
        "audit_s": t_audit,
        "report_s": t_report,
        "verdict_s": t_verdict,
        "cold_s": t_cold,
        "share_audit": t_verdict / t_audit,
        "share_shown": t_verdict / (t_audit + t_report),
        "level": verdict.level,
    }


def settings(quick: bool) -> list[tuple[str, Any, int, int, dict[str, Any]]]:
    """(name, model, rows, rows the model is fitted on, audit options)."""
    big = 20_000 if quick else 1_000_000
    refs = 4 if quick else 16
    n = 2_000 if quick else 10_000
    return [
        (
            "HistGradientBoosting, default attacks",
            HistGradientBoostingClassifier(random_state=0),
            n,
            n // 2,
            {"references": refs},
        ),
        (
            "LogisticRegression, default attacks",
            LogisticRegression(max_iter=500),
            n,
            n // 2,
            {"references": refs},
        ),
        (
            "RandomForest (leaks), default attacks",
            RandomForestClassifier(n_estimators=100, random_state=0),
            n // 2,
            n // 4,
            {"references": refs},
        ),
        (
            "LogisticRegression, threshold attacks only",
            LogisticRegression(max_iter=500),
            n * 10,
            20_000,
            {"attacks": THRESHOLD_ATTACKS},
        ),
        (
            "LogisticRegression, threshold attacks only",
            LogisticRegression(max_iter=500),
            big,
            20_000,
            {"attacks": THRESHOLD_ATTACKS},
        ),
    ]


def render(rows: list[dict[str, Any]], elapsed: float, quick: bool) -> str:
    head = (
        "# Verdict cost against the audit it judges\n\n"
        f"Re-run: `python -m bench.verdict{' --quick' if quick else ''}` "
        f"(this run took {elapsed / 60:.1f} min).\n\n"
        f"Measured {machine()}. The machine may be shared: times are upper bounds. "
        "`audit()` uses its defaults (all cores for reference models); "
        "OpenMP (HistGradientBoosting) is limited to 1 thread. Verdict times are medians "
        "of 3 runs with the verdict's epsilon cache cleared.\n\n"
        "Where the time goes: the report sorts each attack's member and non-member scores "
        "once (`SortedScores`, memoized; about 1 ms per 100,000 records per attack here). "
        "The summary's ROC curve and epsilon bound, the exposure look-ups and the verdict all read "
        "that one sort, so what the verdict adds to an audit is its tests: *verdict* "
        "below, measured after the report was rendered. *Verdict, cold* is the verdict on a "
        "fresh report, sort included, as if nothing else had needed the sort. The tests cost "
        "well under 1 ms per attack whatever the row count (with as many members as "
        "non-members the one-run bound's tail is a single binomial).\n\n"
        "| setting | rows | attacks | audit() s | report s | verdict s | verdict / audit() "
        "| verdict / (audit() + report) | verdict, cold s | level |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    body = "".join(
        f"| {r['setting']} | {r['rows']:,} | {r['attacks']} | {r['audit_s']:.2f} | "
        f"{r['report_s']:.2f} | {r['verdict_s']:.3f} | {100 * r['share_audit']:.1f}% | "
        f"{100 * r['share_shown']:.1f}% | {r['cold_s']:.3f} | {r['level']} |\n"
        for r in rows
    )
    return head + body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = []
    with threadpool_limits(limits=1, user_api="openmp"):
        for name, model, n, fit_rows, kw in settings(args.quick):
            rows.append(measure(name, model, n, fit_rows, **kw))
            print(rows[-1], flush=True)
    RESULTS.write_text(render(rows, time.perf_counter() - t0, args.quick))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
