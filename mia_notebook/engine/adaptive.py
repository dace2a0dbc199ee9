"""Adaptive reference rounds: train 2, 4, 8, ... reference models, stop when it settles.

``reference_rounds='adaptive'`` audits with the first 2 models of a nested
IN/OUT design (:func:`~.references.population.nested_in_out_mask`, drawn per person
under ``person=``), then 4, 8, ... up to ``references``; each round trains only the
models the previous one lacked (the others come from the cache; a fit that failed is
retried once, in the next round: :class:`~.references.training.FailedFits`). It stops
after a round whose verdict level equals the previous round's and either

* whose level the evidence has decided (:func:`decided`): at 'high' there is nothing
  above; below it, in both rounds every attack's TPR at every compared FPR target has a
  Clopper-Pearson *upper* bound (the verdict's own error budget per test) below the
  policy line of the next TPR level ('elevated' from 'none' and 'low', 'high' from
  'elevated'), so the level could not rise on those TPRs; or
* whose TPRs, for every attack at every FPR target, lie inside the previous round's
  confidence interval and vice versa (:func:`settled`).

The report is the last round's (with that round's reference models).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from scipy import special

from .results import AuditReport
from .verdict import Verdict
from .verdict.policy import LEVELS, Policy, level_index

__all__ = ["decided", "round_sizes", "run_adaptive", "settled", "tpr_upper_bounds"]

#: The first round's reference models.
FIRST_ROUND = 2


def round_sizes(cap: int) -> list[int]:
    """Reference models per round: 2, 4, 8, ... below ``cap``, then ``cap``."""
    sizes, k = [], FIRST_ROUND
    while k < cap:
        sizes.append(k)
        k *= 2
    return [*sizes, cap]


def _inside(value: float, interval: tuple[float, float]) -> bool:
    lo, hi = interval
    if math.isnan(value) or math.isnan(lo) or math.isnan(hi):
        return True  # nothing to compare (undefined curve, no interval)
    return lo <= value <= hi


def settled(previous: AuditReport, current: AuditReport) -> bool:
    """Same verdict level, and every attack's TPR at every resolvable FPR target inside
    the other round's confidence interval (both ways)."""
    if previous.verdict.level != current.verdict.level:
        return False
    common = set(previous.computed_attacks) & set(current.computed_attacks)
    for name in sorted(common):
        before = {t.target: t for t in previous.attack_metrics(name).tpr}
        for now in current.attack_metrics(name).tpr:
            then = before.get(now.target)
            if then is None or not (now.resolvable and then.resolvable):
                continue
            if not (_inside(now.tpr, then.interval) and _inside(then.tpr, now.interval)):
                return False
    return True


def tpr_upper_bounds(evidence: dict[str, Any]) -> list[float]:
    """One-sided Clopper-Pearson upper bounds on every attack's TPR at every compared
    FPR target of a verdict's ``evidence``, each at the verdict's per-test error
    (``alpha_per_tpr_test``): the mirror of the lower bounds the level is decided on."""
    n_pos, alpha = int(evidence["members"]), float(evidence["alpha_per_tpr_test"])
    bounds = []
    for attack in evidence.get("attacks", {}).values():
        for point in attack["points"]:
            tp = int(point["tp"])
            upper = 1.0 if tp >= n_pos else float(special.betaincinv(tp + 1, n_pos - tp, 1 - alpha))
            bounds.append(upper)
    return bounds


def _next_line(level: str, policy: Policy) -> float | None:
    """The TPR lower bound that would raise ``level`` by a TPR level (None at 'high')."""
    i = level_index(level)
    if i == len(LEVELS) - 1:
        return None
    return policy.tpr_high if i == level_index("elevated") else policy.tpr_elevated


def _verdicts(report: AuditReport) -> list[Verdict]:
    """The report's verdict and, when split by threat model, each setting's."""
    verdict = report.verdict
    return [verdict, *(verdict.settings[s] for s in sorted(verdict.settings))]


def _below_next_line(verdict: Verdict) -> bool:
    line = _next_line(verdict.level, verdict.policy)
    if line is None:
        return True
    return all(upper < line for upper in tpr_upper_bounds(verdict.evidence))


def decided(previous: AuditReport, current: AuditReport) -> bool:
    """The same verdict level (and per threat model) in both rounds, and no attack's
    TPR could reach the next level's line in either round (always true at 'high')."""
    before, now = _verdicts(previous), _verdicts(current)
    if [v.level for v in before] != [v.level for v in now]:
        return False
    return all(_below_next_line(v) for v in (*before, *now))


def _stop_reason(previous: AuditReport, current: AuditReport) -> str | None:
    if decided(previous, current):
        level = current.verdict.level
        if level == "high":
            return "the verdict was 'high' in both rounds"
        return (
            f"the verdict was '{level}' in both rounds and no attack's TPR upper bound "
            "reached the next level's line"
        )
    if settled(previous, current):
        return "the verdict and every TPR interval were the same"
    return None


def run_adaptive(run: Callable[[int], AuditReport], cap: int) -> AuditReport:
    """Audit with ``run(k)`` for k in :func:`round_sizes` until two rounds agree.

    Parameters
    ----------
    run : callable
        The audit with the first ``k`` reference models of the nested design.
    cap : int
        The most reference models (the ``references`` option).

    Returns
    -------
    AuditReport
        The last round's report, with a note saying where the rounds stopped and why.
    """
    sizes = round_sizes(cap)
    report = run(sizes[0])
    if "references" not in report.evidence:
        return report  # no reference attack ran: one round is the whole audit
    for previous_k, k in itertools.pairwise(sizes):
        previous, report = report, run(k)
        why = _stop_reason(previous, report)
        if why is not None and k < cap:
            note = (
                f"reference_rounds='adaptive': stopped at {k} of {cap} reference models "
                f"({why} with {previous_k} and {k})"
            )
            return replace(report, notes=(*report.notes, note))
    if len(sizes) > 1:
        note = (
            f"reference_rounds='adaptive': used all {cap} reference models (the verdict "
            "was not decided before the last round)"
        )
        report = replace(report, notes=(*report.notes, note))
    return report
