"""Adaptive reference rounds: train 2, 4, 8, ... reference models, stop when it settles.

``reference_rounds='adaptive'`` audits with the first 2 models of a nested
IN/OUT design (:func:`~.references.population.nested_in_out_mask`), then 4, 8, ... up
to ``references``; each round trains only the models the previous one lacked (the
others come from the cache). It stops after a round whose verdict level equals the
previous round's and whose TPR at every FPR target, for every attack, lies inside the
previous round's confidence interval and vice versa (:func:`settled`): more reference
models would then not change what the report says. The report is the last round's.

Not the default ('fixed' is): on the benchmark's census forests
(bench/results_few_references.md) offline RMIA's TPR keeps rising up to 16 models, so
the rounds never stop early, and every round re-runs every attack: the adaptive audit
took 1.7-2x the time of the fixed one there.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import replace

from .results import AuditReport

__all__ = ["round_sizes", "run_adaptive", "settled"]

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
        if settled(previous, report):
            note = (
                f"reference_rounds='adaptive': stopped at {k} of {cap} reference models "
                f"(the verdict and every TPR interval were the same with {previous_k})"
            )
            return replace(report, notes=(*report.notes, note))
    if len(sizes) > 1:
        note = (
            f"reference_rounds='adaptive': used all {cap} reference models (the verdict or "
            "a TPR interval still changed between the last two rounds)"
        )
        report = replace(report, notes=(*report.notes, note))
    return report
