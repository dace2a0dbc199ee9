"""Latency of the audit panel's instant settings at 100k records.

Run: ``python -m bench.widgets`` (a few minutes on 2 cores). Writes the ``widgets``
section of ``bench/results.md``. ``--compare-with REV`` measures the code of git revision
``REV`` too, in the same run (alternating subprocesses, so both see the same machine
load), and reports both medians side by side.

A change is timed from setting the control's value in Python to the end of the
observer: the new view of the cached scores, rendering the HTML, the ROC PNG, the text
and the extension's JSON, and updating the widget and the display bundle (no kernel here,
so no messages are sent). Two models: a logistic regression (no leak: level ``none``,
nothing flagged) and a random forest (leaks: flagged records, slice tables, "most
exposed" groups). The baseline is a full :func:`mia_notebook.audit` call on the same data
in the same process.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

TARGET_MS = 30.0
NO_WARM = "slice column, first time, before the panel's warm-up"
MODELS = ("logreg", "forest")
ROOT = Path(__file__).resolve().parents[1]


def _data(n: int, model: str = "logreg", seed: int = 0) -> tuple[Any, Any, Any, list[str]]:
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
    if model == "forest":  # unpruned trees: members are recognisable
        clf: Any = RandomForestClassifier(n_estimators=20, n_jobs=2, random_state=seed)
    else:
        clf = LogisticRegression(max_iter=500)
    return train, test, clf.fit(train[feats], train["label"]), feats


def threshold_attacks() -> list[str]:
    """The threshold family (bench.scale's): attacks that score the outputs alone."""
    from mia_notebook.engine.attacks import attack_class, available_attacks

    return [
        n for n in available_attacks() if attack_class(n).__module__.endswith(".attacks.threshold")
    ]


def _timed(action: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    action()
    return time.perf_counter() - t0


def _series(panel: Any, values: list[Any], name: str) -> dict[str, Any]:
    times: list[float] = []
    parts: list[dict[str, float]] = []
    for v in values:
        times.append(_timed(functools.partial(setattr, getattr(panel, name), "value", v)))
        parts.append(dict(panel.timings))
        if panel.last_error:
            raise RuntimeError(panel.last_error)
    split = {
        k: statistics.median(p.get(k, 0.0) for p in parts) * 1e3
        for k in ("view", "render", "publish")
    }
    return {"n": len(times), "median": statistics.median(times) * 1e3,
            "max": max(times) * 1e3, "split": split}  # fmt: skip


def _plan(attacks: list[str], repeats: int) -> list[tuple[str, list[Any], str]]:
    fpr_cycle = list(
        itertools.islice(itertools.cycle([0.002, 0.01, 0.05, 0.1, 0.0005, 0.02, 0.001]), repeats)
    )
    subsets = [tuple(attacks[:k]) for k in range(len(attacks), 0, -1)]
    return [
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


def measure(n: int, repeats: int, model: str) -> dict[str, Any]:
    """Every kind of instant change on one panel, with the full-audit baseline."""
    import mia_notebook as mn
    from mia_notebook.panel import AuditPanel
    from mia_notebook.panel import view as panel_view

    train, test, clf, feats = _data(n, model)
    attacks = threshold_attacks()

    def full_audit() -> Any:
        return mn.audit(clf, train=train, test=test, target="label", features=feats,
                        attacks=attacks, redact=["name"])  # fmt: skip

    mn.clear_cache()
    cold = _timed(full_audit)
    report = full_audit()
    warm = _timed(full_audit)
    t0 = time.perf_counter()
    first = AuditPanel(report, model=clf)
    t_panel = time.perf_counter() - t0
    # The panel computes the slice columns' metrics in a background thread (code that
    # has it): wait for it, so that the rows below time the user's changes alone.
    warming = getattr(first, "warming", None)
    if warming is not None:
        warming.join()
    t_warm = time.perf_counter() - t0 - t_panel
    panel = AuditPanel(report, model=clf)
    # As if displayed in a notebook: every change builds the display bundle (widget view,
    # static HTML, text) and hands it to update_display (a no-op here: no kernel).
    panel_view.update_display = lambda *args, **kwargs: None
    panel._displayed = True
    rows = {name: _series(panel, values, w) for name, values, w in _plan(attacks, repeats)}
    if warming is not None:  # a fresh report, its slice metrics computed on demand
        AuditPanel.warm_in_background = False
        cold_panel = AuditPanel(full_audit(), model=clf)
        cold_panel._displayed = True
        rows[NO_WARM] = _series(cold_panel, ["region", "age"], "slice")
    return {
        "model": model, "n": n, "attacks": attacks, "level": report.verdict.level,
        "flagged": len(report.flagged()), "cold": cold * 1e3, "warm": warm * 1e3,
        "panel": t_panel * 1e3, "warm_up": t_warm * 1e3 if warming is not None else None,
        "rows": rows, "code": mn.__file__,
    }  # fmt: skip


def _child(args: argparse.Namespace, model: str, src: Path | None) -> dict[str, Any]:
    """:func:`measure` in a fresh process, with ``mia_notebook`` imported from ``src``
    (a checkout of another revision) when given."""
    path = [str(src)] if src else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*path, str(ROOT)])}
    cmd = [sys.executable, "-m", "bench.widgets", "--child", model,
           "--records", str(args.records), "--repeats", str(args.repeats)]  # fmt: skip
    out = subprocess.run(cmd, env=env, cwd=tempfile.gettempdir(), capture_output=True,
                         text=True, check=True)  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _checkout(rev: str, into: Path) -> Path:
    """``mia_notebook/`` of git revision ``rev``, extracted under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "mia_notebook"],
                             capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _header(results: list[dict[str, Any]], rev: str | None) -> list[str]:
    from bench._results import machine

    load = os.getloadavg()
    first = results[0]
    lines = [
        "## Audit panel: instant settings (`python -m bench.widgets`)",
        "",
        f"{machine()} · load average at the end {load[0]:.1f} / {load[1]:.1f} "
        "(1 / 5 min; other jobs share these cores)",
        "",
        f"{first['n']:,} records ({first['n'] // 2:,} members, {first['n'] // 2:,} "
        f"non-members), {len(first['attacks'])} threshold attacks "
        f"({', '.join(first['attacks'])}), slices by the target and the chosen column. A "
        "change is timed from setting the control in Python to the end of its observer: "
        "the new view of the cached scores, HTML, ROC PNG, text and the extension's JSON, "
        "then the widget and display-bundle update (no kernel, so no message is sent).",
    ]
    if rev:
        lines += ["", f"*before*: the code of `{rev}`, measured in the same run "
                  "(subprocesses alternating with *after*, this tree)."]  # fmt: skip
    return lines


def _markdown(results: list[dict[str, Any]], rev: str | None) -> str:
    lines = _header(results, rev)
    for model in dict.fromkeys(r["model"] for r in results):
        after = [r for r in results if r["model"] == model and not r.get("before")]
        before = [r for r in results if r["model"] == model and r.get("before")]
        a = after[0]
        lines += [
            "",
            f"### {model}: level `{a['level']}`, {a['flagged']} records flagged",
            "",
            f"Baseline: full `audit()` {a['cold']:,.0f} ms with an empty cache, "
            f"{a['warm']:,.0f} ms with the model outputs cached; building the panel "
            f"{a['panel']:,.0f} ms"
            + (
                f", then its background warm-up of every slice column's metrics "
                f"{a['warm_up']:,.0f} ms."
                if a.get("warm_up") is not None
                else "."
            ),
            "",
            "| change | n | " + ("median ms before | " if before else "") + "median ms | max ms "
            f"| median view / render / publish ms | under {TARGET_MS:.0f} ms |",
            "|---|---:|" + ("---:|" if before else "") + "---:|---:|---|---|",
        ]
        for name in a["rows"]:
            if any(name not in r["rows"] for r in after):
                continue
            med = statistics.median(r["rows"][name]["median"] for r in after)
            worst = max(r["rows"][name]["max"] for r in after)
            split = " / ".join(f"{a['rows'][name]['split'][k]:.0f}"
                               for k in ("view", "render", "publish"))  # fmt: skip
            seen = [r["rows"][name]["median"] for r in before if name in r["rows"]]
            was = (f"{statistics.median(seen):.0f} | " if seen else "– | ") if before else ""
            ok = "yes" if worst < TARGET_MS else ("median only" if med < TARGET_MS else "no")
            lines.append(f"| {name} | {a['rows'][name]['n']} | {was}{med:.0f} | {worst:.0f} | "
                         f"{split} | {ok} |")  # fmt: skip
    lines += [
        "",
        "Cold rows pay once per new slice column or attack subset (group metrics of the "
        "column; the ROC's curves); afterwards the same change is warm. The panel computes "
        "every slice column's metrics in a background thread once it is built, so a first "
        "choice of a column after that warm-up costs what a seen one costs; the row "
        f"'{NO_WARM}' times it on a panel without the warm-up. The Run path (new "
        "attacks, references, seed) re-runs `audit()` and is not instant by design.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--model", choices=[*MODELS, "both"], default="both")
    parser.add_argument("--compare-with", metavar="REV", help="git revision to measure too")
    parser.add_argument("--rounds", type=int, default=2, help="runs per model (and revision)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--child", choices=MODELS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.records, args.repeats, args.child)))
        return
    models = MODELS if args.model == "both" else (args.model,)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        base = _checkout(args.compare_with, Path(tmp)) if args.compare_with else None
        for model, _ in itertools.product(models, range(args.rounds)):
            if base is not None:
                results.append({**_child(args, model, base), "before": True})
            results.append(_child(args, model, None))
    md = _markdown(results, args.compare_with)
    print(md)
    if not args.no_write:
        from bench._results import write_section

        print(f"\nwrote {write_section('widgets', md)}")


if __name__ == "__main__":
    main()
