"""Latency of the audit panel's instant settings at 100k records.

Run: ``python -m bench.widgets`` (about a minute on 2 cores). Writes the ``widgets``
section of ``bench/results.md``.

A change is timed from setting the control's value in Python to the end of the
observer: re-summarising the cached scores (ROC per attack, TPR at the target, epsilon
bound, slices), rendering the HTML and the ROC PNG, and updating the widget and the
display bundle (no kernel here, so no messages are sent). The baseline is a full
:func:`mia_notebook.audit` call on the same data in the same run.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import mia_notebook as mn
from bench._results import machine, max_rss_mib, write_section
from mia_notebook.engine.attacks import attack_class
from mia_notebook.panel import AuditPanel
from mia_notebook.panel import view as panel_view

TARGET_MS = 300.0


def _data(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, Any, list[str]]:
    X, y = make_classification(
        n_samples=n, n_features=10, n_informative=6, flip_y=0.1, random_state=seed
    )
    feats = [f"x{i}" for i in range(10)]
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(X, columns=feats).assign(
        label=y,
        region=rng.choice(["north", "south", "east", "west", "centre"], size=n),
        age=rng.integers(18, 90, size=n),
        name=[f"person-{i}" for i in range(n)],
    )
    train, test = df.iloc[: n // 2], df.iloc[n // 2 :]
    model = LogisticRegression(max_iter=500).fit(train[feats], train["label"])
    return train, test, model, feats


def _timed(action: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    action()
    return time.perf_counter() - t0


def _series(
    panel: AuditPanel,
    values: list[Any],
    set_value: Callable[[Any], None],
) -> tuple[list[float], list[dict[str, float]]]:
    times: list[float] = []
    parts: list[dict[str, float]] = []
    for v in values:
        times.append(_timed(functools.partial(set_value, v)))
        parts.append(dict(panel.timings))
        if panel.last_error:
            raise RuntimeError(panel.last_error)
    return times, parts


Rows = list[tuple[str, list[float], list[dict[str, float]]]]


def _baseline(
    full_audit: Callable[[], mn.AuditReport], repeats: int
) -> tuple[mn.AuditReport, float, float]:
    """The report, and the median seconds of a full audit cold (empty cache) and warm."""
    cold: list[float] = []
    report = None
    for _ in range(max(1, repeats // 3)):
        mn.clear_cache()
        t0 = time.perf_counter()
        report = full_audit()
        cold.append(time.perf_counter() - t0)
    assert report is not None
    warm = [_timed(full_audit) for _ in range(max(1, repeats // 3))]
    return report, statistics.median(cold), statistics.median(warm)


def _measure(panel: AuditPanel, attacks: list[str], repeats: int) -> Rows:
    """Time each kind of instant change, ``repeats`` times (cold rows fewer)."""
    fpr_cycle = list(
        itertools.islice(itertools.cycle([0.002, 0.01, 0.05, 0.1, 0.0005, 0.02, 0.001]), repeats)
    )

    def setter(name: str) -> Callable[[Any], None]:
        return lambda v: setattr(getattr(panel, name), "value", v)

    subsets = [tuple(attacks[:k]) for k in range(len(attacks), 0, -1)]
    plan: list[tuple[str, list[Any], str]] = [
        ("FPR target", fpr_cycle, "fpr"),
        ("flagged records", [5 + (i % 4) * 10 for i in range(repeats)], "flag"),
        ("slice column, first time (cold)", ["region", "age"], "slice"),
        ("slice column, seen before", [["region", "age", ""][i % 3] for i in range(repeats)],
         "slice"),
        ("redacted columns",
         [("name",) if i % 2 else ("name", "region") for i in range(repeats)], "redact"),
        ("attacks shown, new subset (cold)", subsets[1:], "attacks"),
        ("attacks shown, seen before", [subsets[i % len(subsets)] for i in range(repeats)],
         "attacks"),
    ]  # fmt: skip
    return [(name, *_series(panel, values, setter(w))) for name, values, w in plan]


def _markdown(
    n: int, attacks: list[str], rows: Rows, baseline: float, warm: float, t_panel: float
) -> str:
    load = os.getloadavg()
    lines = [
        "## Audit panel: instant settings (`python -m bench.widgets`)",
        "",
        f"{machine()} · load average at the end {load[0]:.1f} / {load[1]:.1f} "
        f"(1 / 5 min; other jobs share these cores) · peak RSS {max_rss_mib():,.0f} MiB",
        "",
        f"{n:,} records ({n // 2:,} members, {n // 2:,} non-members), LogisticRegression, "
        f"{len(attacks)} threshold attacks ({', '.join(attacks)}), slices by the target and "
        "the chosen column. A change is timed from setting the control in Python to the "
        "end of its observer: re-summarise the cached scores, render HTML and ROC PNG, "
        "update the widget and the display bundle.",
        "",
        f"Baseline, same run: full `audit()` {baseline * 1e3:,.0f} ms with an empty cache, "
        f"{warm * 1e3:,.0f} ms with the model outputs cached; building "
        f"the panel (first render) {t_panel * 1e3:,.0f} ms.",
        "",
        "| change | n | median ms | max ms | median view / render / publish ms "
        "| median vs full audit | under 300 ms |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for name, times, parts in rows:
        med = statistics.median(times) * 1e3
        split = " / ".join(
            f"{statistics.median(p[k] for p in parts) * 1e3:.0f}"
            for k in ("view", "render", "publish")
        )
        ok = "yes" if max(times) * 1e3 < TARGET_MS else (
            "median only" if med < TARGET_MS else "no")  # fmt: skip
        lines.append(
            f"| {name} | {len(times)} | {med:.0f} | {max(times) * 1e3:.0f} | {split} | "
            f"{med / (baseline * 1e3):.2f}× | {ok} |"
        )
    lines += [
        "",
        "Cold rows pay once per new slice column or attack subset (group metrics of the "
        "column; the ROC's curves and legend layer); afterwards the same change is warm. "
        "The Run path (new attacks, references, seed) re-runs `audit()` and is not "
        "instant by design.",
    ]
    return "\n".join(lines)


def run(n: int, repeats: int) -> str:
    train, test, model, feats = _data(n)
    attacks = [a for a in mn.available_attacks() if not attack_class(a).needs_references]

    def full_audit() -> mn.AuditReport:
        return mn.audit(model, train=train, test=test, target="label", features=feats,
                        attacks=attacks, redact=["name"])  # fmt: skip

    mn.clear_cache()
    report, baseline, warm = _baseline(full_audit, repeats)
    t_panel = _timed(lambda: AuditPanel(report, model=model))
    panel = AuditPanel(report, model=model)
    # As if displayed in a notebook: every change builds the display bundle (widget view,
    # static HTML, text) and hands it to update_display (a no-op here: no kernel).
    panel_view.update_display = lambda *args, **kwargs: None
    panel._displayed = True
    rows = _measure(panel, attacks, repeats)
    return _markdown(n, attacks, rows, baseline, warm, t_panel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    md = run(args.records, args.repeats)
    print(md)
    if not args.no_write:
        print(f"\nwrote {write_section('widgets', md)}")


if __name__ == "__main__":
    main()
