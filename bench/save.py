"""Cost of saving and loading an audit, and the size of the file.

Run: ``python -m bench.save`` (about two minutes; ``--quick`` for a smoke test).
Writes ``bench/results_save.md``.

A threshold-attack audit of a logistic regression on synthetic data (20 numeric
columns, a string id redacted) at each size. Measured in the same run, medians of
``--repeats``: the audit; ``report.save(path)`` (scores, options, run information, the
flagged rows) and ``report.save(path, include_data=True)`` (the frames too); ``load``
of each; the file sizes; and the task utility that every audit now measures on ``test``
(``engine.utility.task_utility``) against the audit it belongs to. Each loaded report's
HTML is checked byte-equal to the original's.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import mia_notebook
from mia_notebook.engine.audit import target_outputs
from mia_notebook.engine.utility import task_utility
from mia_notebook.engine.whatif import apply_outputs

from ._results import machine

RESULTS = Path(__file__).with_name("results_save.md")
ATTACKS = "loss,confidence,logit,entropy,mentropy,gap"


def _frames(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    X, y = make_classification(n_samples=n, n_features=20, n_informative=10, random_state=0)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(20)]).assign(y=y)
    df["id"] = [f"id-{i:08d}" for i in range(n)]
    return df.iloc[: n // 2], df.iloc[n // 2 :]


def _median(action: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = action()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def measure(n: int, repeats: int, folder: Path) -> dict[str, Any]:
    """One size: audit, save, load, file sizes, utility."""
    tr, te = _frames(n)
    cols = [f"x{i}" for i in range(20)]
    model = LogisticRegression(max_iter=1000).fit(tr[cols], tr["y"])
    kw = {"train": tr, "test": te, "target": "y", "attacks": ATTACKS, "redact": ["id"]}

    def run() -> Any:
        mia_notebook.clear_cache()
        return mia_notebook.audit(model, features=cols, progress=False, **kw)

    t_audit, report = _median(run, repeats)
    html = report.to_html()
    slim, full = folder / f"slim{n}.mia", folder / f"full{n}.mia"
    t_save, _ = _median(lambda: report.save(slim), repeats)
    t_save_full, _ = _median(lambda: report.save(full, include_data=True), repeats)
    t_load, loaded = _median(lambda: mia_notebook.load(slim), repeats)
    t_load_full, loaded_full = _median(lambda: mia_notebook.load(full), repeats)
    assert loaded.to_html() == html and loaded_full.to_html() == html
    seen = apply_outputs(
        target_outputs(model, report.data, report.fingerprints), report.options.outputs
    )
    t_utility, _ = _median(lambda: task_utility(seen, report.n_members), repeats)
    return {
        "rows": n,
        "audit_s": t_audit,
        "save_s": t_save,
        "save_data_s": t_save_full,
        "load_s": t_load,
        "load_data_s": t_load_full,
        "file_mb": slim.stat().st_size / 1e6,
        "file_data_mb": full.stat().st_size / 1e6,
        "utility_share": t_utility / t_audit,
    }


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| rows | audit (s) | save (s) | save with data (s) | load (s) | load with data (s) "
        "| file (MB) | file with data (MB) | utility / audit |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['rows']:,} | {r['audit_s']:.2f} | {r['save_s']:.3f} | {r['save_data_s']:.2f} "
            f"| {r['load_s']:.3f} | {r['load_data_s']:.2f} | {r['file_mb']:.2f} "
            f"| {r['file_data_mb']:.1f} | {r['utility_share']:.1%} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small size, one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [2_000] if args.quick else [10_000, 100_000, 1_000_000]
    repeats = 1 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(n, repeats, Path(tmp)) for n in sizes]
    text = (
        "# Saving and loading audits\n\n"
        f"`python -m bench.save` · {machine()} · medians of {repeats}; the machine may be "
        "shared, so compare ratios within a row rather than across runs.\n\n"
        + _table(rows)
        + "\n\nSix threshold attacks, 20 numeric columns and a redacted string id. The "
        "default file holds the scores (float64 `.npy`), the options, the run information, "
        "the flagged rows and the target's groups; with data it also holds both frames, "
        "column by column. Every loaded report's HTML was byte-equal to the original's. "
        "*utility / audit*: the task utility that each audit measures on `test` (accuracy "
        "and ROC AUC of what the API returns) as a share of the audit's time.\n"
    )
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
