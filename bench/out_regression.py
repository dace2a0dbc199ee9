"""Offline RMIA with and without the p_OUT predicted from the features, on several models.

Run: ``python -m bench.out_regression`` (about 4 minutes on 2 cores; writes
``bench/results_out_regression.md``). ``--seeds N`` for another seed count.

For each data set and model, seed and count k of reference models (1, 2, 4): the harness
of ``bench/attacks.py`` fits the target on the members and k reference models on its
nested complementary halves of members ∪ non-members; offline RMIA (``a='auto'``) scores
the same statistics twice, with the records' features (the audit's default: the
regression's prediction counts as one more OUT model, ``engine/attacks/out_regression.py``)
and without them (rows with no OUT model read the ``a`` relation backwards). Same models,
same z samples (the population rows); only p_OUT differs.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mia_notebook.engine.attacks import create_attack
from mia_notebook.engine.data import prepare_data
from mia_notebook.engine.metrics import attack_metrics
from mia_notebook.engine.target import query_model

from ._results import machine
from .attacks import TARGET, Dataset, harness_references, load_churn, load_fair, split
from .few_references import context, load_cps, record_features, signals_of

RESULTS = Path(__file__).with_name("results_out_regression.md")
REFS = (1, 2, 4)


def forest() -> Any:
    return RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)


def mlp() -> Any:
    return make_pipeline(StandardScaler(), MLPClassifier((64, 64), max_iter=300, random_state=0))


#: label -> (data loader, split sizes, model factory)
CASES: dict[str, tuple[Callable[[], Dataset], dict[str, int], Callable[[], Any]]] = {
    "census forest": (load_cps, {"train": 6000, "test": 6000, "population": 4000}, forest),
    "fair forest": (load_fair, {"train": 2000, "test": 2000, "population": 2000}, forest),
    "churn forest": (load_churn, {"train": 2000, "test": 2000, "population": 2000}, forest),
    "fair MLP": (load_fair, {"train": 2000, "test": 2000, "population": 2000}, mlp),
}


def scores(outputs: Any, stats: Any, features: Any, with_features: bool) -> np.ndarray:
    """Offline RMIA (``a='auto'``) on the harness's statistics."""
    ctx = context(outputs, signals_of(stats, outputs.kind), features if with_features else None)
    return np.asarray(create_attack("rmia-offline", a="auto").run(ctx).scores)


def tprs(s: np.ndarray, members: np.ndarray) -> tuple[float, float]:
    met = attack_metrics(s, members, (0.001, 0.01))
    tpr = {t.target: t.tpr for t in met.tpr}
    return tpr[0.01], tpr[0.001]


def run_case(label: str, seed: int) -> dict[tuple[int, str], tuple[float, float]]:
    load, sizes, make = CASES[label]
    parts = split(load(), sizes, seed)
    feats = [c for c in parts["train"].columns if c != TARGET]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make().fit(parts["train"][feats], parts["train"][TARGET])
        href = harness_references(model, parts, max(REFS), seed, lambda _: None)
    # test rows numbered after the train rows (the data sets hold duplicate rows)
    test = parts["test"].set_axis(np.arange(len(parts["test"])) + len(parts["train"]))
    outputs = query_model(model, prepare_data(model, parts["train"], test, TARGET, None))
    features = record_features(parts)
    members = np.r_[np.ones(sizes["train"], bool), np.zeros(sizes["test"], bool)]
    out = {}
    for k in REFS:
        for way in ("relation", "regression"):
            s = scores(outputs, href.stats.first(k), features, way == "regression")
            out[k, way] = tprs(s, members)
    return out


def render(results: dict[str, list[dict[Any, tuple[float, float]]]], secs: float) -> str:
    lines = [
        "# Offline RMIA: p_OUT predicted from the features (issue 21)",
        "",
        f"`python -m bench.out_regression` · {machine()} · {secs:.0f} s",
        "",
        "Mean TPR@1% / TPR@0.1% over seeds; relation → regression (same models).",
        "",
        "| model | seeds | " + " | ".join(f"k={k}" for k in REFS) + " | TPR@1% up |",
        "|---|---|" + "---|" * len(REFS) + "---|",
    ]
    for label, runs in results.items():
        cells, up, total = [], 0, 0
        for k in REFS:
            rel = np.mean([r[k, "relation"] for r in runs], axis=0)
            reg = np.mean([r[k, "regression"] for r in runs], axis=0)
            cells.append(f"{rel[0]:.3f} / {rel[1]:.3f} → {reg[0]:.3f} / {reg[1]:.3f}")
            up += sum(r[k, "regression"][0] > r[k, "relation"][0] for r in runs)
            total += len(runs)
        lines.append(f"| {label} | {len(runs)} | " + " | ".join(cells) + f" | {up} of {total} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    results: dict[str, list[dict[Any, tuple[float, float]]]] = {}
    for label in CASES:
        results[label] = [run_case(label, seed) for seed in range(args.seeds)]
        print(f"[{time.perf_counter() - t0:6.1f} s] {label}", flush=True)
    text = render(results, time.perf_counter() - t0)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
