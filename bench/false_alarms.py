"""The verdict's false-alarm rate on membership-independent models, and the validity of
every p-value behind it.

Run: ``python -m bench.false_alarms`` (500 seeds of each setup, 1,000 audits: about
3 minutes on 2 idle cores; ``--seeds N`` for another count). Writes
``bench/results_false_alarms.md``.

A *null setup* is a model whose outputs cannot depend on which audited records are
members: ``disjoint``, a random forest fitted on rows disjoint from the audited ones, and
``dp``, a heavily regularised logistic regression fitted on disjoint rows whose labels
went through randomized response at epsilon 0.5. Members are a uniformly random half
of i.i.d. records, so under the verdict's null hypothesis every test's p-value must be
super-uniform (``P[p <= x] <= x``) and the level must be ``none`` in at least
``confidence`` of the runs (95% by default; far more, since Bonferroni over correlated
tests is conservative).

For each run this records, per attack: the exact TPR-test p-value at each FPR target,
the one-run epsilon test's p-value at epsilon = 0 (smallest over the abstention
settings), and the one-sided Mann-Whitney p-value of the AUC (continuous, so the most
sensitive check that scores do not depend on membership); and for the whole verdict,
its level and the *family-wise p-value*: the smallest ``1 - confidence`` at which the
verdict would leave ``none``. A valid procedure has ``P[family-wise p <= x] <= x``.

Before the reference models' IN/OUT split was balanced within the members and within
the non-members (``references.population.in_out_mask``, issue 11), the same
1,000 audits gave 16 false alarms (1.6% [0.9%, 2.6%]), and LiRA online's AUC p-values
on the ``dp`` setups were overdispersed (P[p <= 0.01] = 0.028, P[p <= 0.1] = 0.144,
P[p >= 0.9] = 0.133): on those near-constant models LiRA's score depends on which
reference models a record is IN for, and with patterns drawn per row their mix
differed between members and non-members by chance.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import mia_notebook
from mia_notebook.engine.verdict import Policy, SortedScores, Verdict, judge
from mia_notebook.engine.verdict.evidence import Family
from mia_notebook.engine.verdict.one_run import counts_from_sorted, one_run_p_value

from ._results import machine

RESULTS = Path(__file__).with_name("results_false_alarms.md")
KINDS = ("disjoint", "dp")
#: Randomized-response epsilon of the ``dp`` setup's labels.
DP_EPSILON = 0.5
#: Thresholds at which the empirical CDF of p-values is compared with the uniform one.
CHECKPOINTS = (0.001, 0.01, 0.05, 0.1, 0.25)


def frame(seed: int, n: int, *, flip: float = 0.0) -> pd.DataFrame:
    """``n`` i.i.d. rows of a seeded 8-feature binary task, target column ``label``."""
    X, y = make_classification(
        n_samples=n, n_features=8, n_informative=5, flip_y=flip, random_state=seed
    )
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(label=y)


def null_setup(seed: int, kind: str) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """(fitted model, train, test): a model whose outputs cannot depend on membership.

    The model is fitted on 1,000 rows disjoint from the 1,000 members (``train``) and
    1,000 non-members (``test``), all i.i.d. ``kind`` is ``'disjoint'`` (a random forest)
    or ``'dp'`` (labels through randomized response at :data:`DP_EPSILON`, then a
    logistic regression with ``C=1e-3``).
    """
    df = frame(seed, 3000)
    fit, train, test = df.iloc[:1000], df.iloc[1000:2000], df.iloc[2000:]
    X, y = fit.drop(columns="label"), fit["label"].to_numpy()
    if kind == "disjoint":
        model: Any = RandomForestClassifier(n_estimators=20, random_state=seed, n_jobs=1)
    elif kind == "dp":
        rng = np.random.default_rng(seed)
        keep = math.exp(DP_EPSILON) / (1 + math.exp(DP_EPSILON))
        y = np.where(rng.random(y.size) < keep, y, 1 - y)
        model = LogisticRegression(C=1e-3)
    else:
        raise ValueError(f"The 'kind' parameter must be one of {KINDS}. Got {kind!r} instead.")
    return model.fit(X, y), train, test


#: Audit options of these runs (``--set key=value`` overrides; 4 reference models).
AUDIT_OPTIONS: dict[str, Any] = {"references": 4}


def small_audit(model: Any, train: pd.DataFrame, test: pd.DataFrame) -> Any:
    """The audit of these runs: default attacks, :data:`AUDIT_OPTIONS`, one process."""
    return mia_notebook.audit(
        model, train=train, test=test, target="label", n_jobs=1, progress=False, **AUDIT_OPTIONS
    )


def _option(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    try:
        return key, int(value)
    except ValueError:
        return key, value


def null_audit(seed: int, kind: str) -> Any:
    """:func:`small_audit` of :func:`null_setup`."""
    return small_audit(*null_setup(seed, kind))


def report_scores(report: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every computed attack's scores, and the membership vector, of an audit."""
    return {a: report.scores[a].to_numpy() for a in report.computed_attacks}, report.members


@dataclass(frozen=True)
class Trial:
    """One null audit's verdict and every p-value behind it (per attack)."""

    seed: int
    kind: str
    verdict: Verdict
    tpr_p: dict[str, tuple[float, ...]]
    eps_p: dict[str, float]
    auc_p: dict[str, float]
    familywise_p: float
    seconds: float


def _epsilon_p(ss: SortedScores, family: Family) -> float:
    """Smallest one-run p-value at epsilon = 0 over the abstention settings, times their
    number (Bonferroni within the attack: super-uniform when each one is valid)."""
    n = family.n_members + family.n_nonmembers
    smallest = min(
        one_run_p_value(counts_from_sorted(ss, k_plus=kp, k_minus=km), 0.0, prior=family.prior, m=n)
        for kp, km in family.settings
    )
    return min(smallest * len(family.settings), 1.0)


def _auc_p(scores: np.ndarray, members: np.ndarray) -> float:
    """One-sided Mann-Whitney p-value of "members score higher" (NaN as lowest)."""
    s = np.where(np.isnan(scores), -np.inf, scores)
    return float(stats.mannwhitneyu(s[members], s[~members], alternative="greater").pvalue)


def run_trial(seed: int, kind: str, *, policy: Policy | None = None) -> Trial:
    """Audit one null setup and gather its verdict and p-values."""
    pol = policy or Policy()
    t0 = time.perf_counter()
    scores, members = report_scores(null_audit(seed, kind))
    verdict = judge(scores, members, policy=pol, max_flag=10)
    family = Family.of(n_attacks=len(scores), members=members, policy=pol)
    attacks = verdict.evidence["attacks"]
    tpr_p = {a: tuple(p["p_value"] for p in attacks[a]["points"]) for a in scores}
    eps_p = {a: _epsilon_p(SortedScores.of(s, members), family) for a, s in scores.items()}
    auc_p = {a: _auc_p(s, members) for a, s in scores.items()}
    # Each half of 1 - confidence is split over its tests: the smallest 1 - confidence
    # at which some test rejects is twice its size times its smallest p-value.
    n_tpr = len(scores) * len(family.fpr)
    fw = min(
        2 * n_tpr * min(min(p) for p in tpr_p.values()),
        2 * len(scores) * min(eps_p.values()),
        1.0,
    )
    return Trial(seed, kind, verdict, tpr_p, eps_p, auc_p, fw, time.perf_counter() - t0)


# ----------------------------------------------------------------- summaries


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Clopper-Pearson interval of a binomial rate."""
    a = (1 - confidence) / 2
    lo = float(special.betaincinv(k, n - k + 1, a)) if k > 0 else 0.0
    hi = float(special.betaincinv(k + 1, n - k, 1 - a)) if k < n else 1.0
    return lo, hi


def _rate(k: int, n: int) -> str:
    lo, hi = clopper_pearson(k, n)
    return f"{k} / {n} = {k / n:.1%} [{lo:.1%}, {hi:.1%}]"


def _cdf_cells(p: np.ndarray) -> list[str]:
    return [f"{np.mean(p <= x):.3f}" for x in CHECKPOINTS]


def _ks_greater(p: np.ndarray) -> float:
    """One-sided KS p-value against "P[p <= x] > x somewhere" (anti-conservative)."""
    return float(stats.kstest(p, "uniform", alternative="greater").pvalue)


def familywise_table(trials: list[Trial]) -> str:
    """False alarms per setup kind, with intervals and the family-wise p-value's CDF."""
    head = (
        "| setups | level not `none` (95% CI) | flagged at `none` | "
        + " | ".join(f"P[fw p ≤ {x:g}]" for x in CHECKPOINTS)
        + " |"
    )
    rows = [head, "|" + "---|" * (3 + len(CHECKPOINTS))]
    for kind in (*KINDS, "all"):
        ts = [t for t in trials if kind in (t.kind, "all")]
        alarms = sum(t.verdict.level != "none" for t in ts)
        flagged = sum(t.verdict.level == "none" and t.verdict.n_identified > 0 for t in ts)
        fw = np.array([t.familywise_p for t in ts])
        cells = [f"{kind} ({len(ts)})", _rate(alarms, len(ts)), str(flagged), *_cdf_cells(fw)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _p_columns(trials: list[Trial], attack: str) -> dict[str, np.ndarray]:
    """One attack's p-values over ``trials``, by kind of test."""
    fprs = Policy().fpr[: len(trials[0].tpr_p[attack])]
    columns = {"AUC (Mann-Whitney)": np.array([t.auc_p[attack] for t in trials])}
    for i, f in enumerate(fprs):
        columns[f"TPR @ {f:g} FPR (exact)"] = np.array([t.tpr_p[attack][i] for t in trials])
    columns["one-run ε = 0 (min × settings)"] = np.array([t.eps_p[attack] for t in trials])
    return columns


def uniformity_table(trials: list[Trial], kind: str) -> str:
    """Per attack and p-value kind: the empirical CDF at the checkpoints, one-sided KS."""
    head = "| attack | p-value | " + " | ".join(f"P[p ≤ {x:g}]" for x in CHECKPOINTS)
    rows = [
        head + " | P[p ≥ 0.95] | KS p (anti-conservative) |",
        "|" + "---|" * (4 + len(CHECKPOINTS)),
    ]
    ts = [t for t in trials if t.kind == kind]
    for a in ts[0].auc_p:
        for label, p in _p_columns(ts, a).items():
            high = f"{np.mean(p >= 0.95):.3f}"
            cells = [a, label, *_cdf_cells(p), high, f"{_ks_greater(p):.3f}"]
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def uniformity_summary(trials: list[Trial]) -> str:
    """The most surprising excess of P[p <= x] over x (exact binomial tail) and the
    smallest KS p-value, over every setup kind, attack, kind of test and checkpoint."""
    cells: list[tuple[float, str]] = []
    ks: list[tuple[float, str]] = []
    for kind in KINDS:
        ts = [t for t in trials if t.kind == kind]
        for a in ts[0].auc_p:
            for label, p in _p_columns(ts, a).items():
                ks.append((_ks_greater(p), f"{kind}, {a}, {label}"))
                for x in CHECKPOINTS:
                    k = int(np.sum(p <= x))
                    tail = float(stats.binom.sf(k - 1, p.size, x))
                    cells.append((tail, f"{kind}, {a}, {label}: {k} of {p.size} at x = {x:g}"))
    worst, low = min(cells), min(ks)
    return (
        f"Most surprising excess of P[p ≤ x] over x: {worst[1]}, binomial tail "
        f"{worst[0]:.3f} among {len(cells)} cells (Bonferroni: "
        f"{min(worst[0] * len(cells), 1.0):.2f}). Smallest one-sided KS p-value: "
        f"{low[0]:.3f} ({low[1]}) among {len(ks)} distributions (Bonferroni: "
        f"{min(low[0] * len(ks), 1.0):.2f})."
    )


def alarms_table(trials: list[Trial]) -> str:
    """Every run whose level is not ``none``: its attack, level and smallest p-values."""
    rows = [
        "| seed | setup | level | attack | family-wise p | smallest TPR-test p (attack) |",
        "|---|---|---|---|---|---|",
    ]
    for t in trials:
        if t.verdict.level == "none":
            continue
        a_min = min(t.tpr_p, key=lambda a: min(t.tpr_p[a]))
        rows.append(
            f"| {t.seed} | {t.kind} | {t.verdict.level} | {t.verdict.attack} | "
            f"{t.familywise_p:.4f} | {min(t.tpr_p[a_min]):.2g} ({a_min}) |"
        )
    return "\n".join(rows) if len(rows) > 2 else "None."


def render(trials: list[Trial], elapsed: float, n_seeds: int) -> str:
    """The results page."""
    policy = Policy()
    consistent = sum(
        (t.familywise_p <= 1 - policy.confidence) == (t.verdict.level != "none") for t in trials
    )
    parts = [
        "# False alarms of the verdict on membership-independent models\n",
        f"Re-run: `python -m bench.false_alarms --seeds {n_seeds}` "
        f"({len(trials)} audits, {elapsed / 60:.1f} min, "
        f"{np.median([t.seconds for t in trials]):.2f} s per audit and verdict).  ",
        f"{machine()}\n",
        (__doc__ or "").split("\n\n", 1)[1].strip() + "\n",
        f"Policy: defaults (confidence {policy.confidence:.0%}, FPR targets "
        f"{', '.join(f'{f:g}' for f in policy.fpr)}); seeds 0-{n_seeds - 1} of each setup.\n",
        "## Family-wise false alarms\n",
        familywise_table(trials) + "\n",
        f"The level is `none` exactly when the family-wise p-value exceeds "
        f"{1 - policy.confidence:g} in {consistent} of {len(trials)} runs.\n",
        "## Runs whose level is not `none`\n",
        alarms_table(trials) + "\n",
    ]
    parts += ["## Uniformity of the p-values\n", uniformity_summary(trials) + "\n"]
    for kind in KINDS:
        parts += [
            f"### `{kind}` setups\n",
            uniformity_table(trials, kind) + "\n",
        ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=500, help="seeds per setup kind")
    parser.add_argument(
        "--set", type=_option, action="append", default=[], help="audit option key=value"
    )
    parser.add_argument("--no-write", action="store_true", help="print the alarm table only")
    args = parser.parse_args(argv)
    AUDIT_OPTIONS.update(dict(args.set))
    t0 = time.perf_counter()
    trials = []
    for seed in range(args.seeds):
        for kind in KINDS:
            trials.append(run_trial(seed, kind))
            if trials[-1].verdict.level != "none":
                print(f"seed {seed} {kind}: {trials[-1].verdict.level}", flush=True)
        if seed % 25 == 24:
            print(f"{seed + 1} seeds, {time.perf_counter() - t0:.0f} s", flush=True)
    if args.no_write:
        print(f"options {AUDIT_OPTIONS}\n" + alarms_table(trials))
        return
    RESULTS.write_text(render(trials, time.perf_counter() - t0, args.seeds))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
