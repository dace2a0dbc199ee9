"""A report's verdict and the records it lists: the glue between results and verdict.

:attr:`AuditReport.verdict` judges EVERY computed attack (hiding attacks from the view
cannot change the level); the flagged records are the members the verdict's attack
identifies at the verdict's FPR, never a plain "top k" at chance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .attacks import attack_class
from .errors import MiaValueError
from .verdict import SortedScores, Verdict, judge
from .verdict.evidence import identify

if TYPE_CHECKING:
    from .results import AuditReport

__all__ = ["attack_labels", "flag_reason", "report_verdict", "sorted_scores", "verdict_positions"]


def attack_labels(report: AuditReport) -> dict[str, str]:
    """How the verdict's sentence names each computed attack, e.g. ``"RMIA (offline),
    16 reference models"``."""
    n_refs = report.run.get("references_ok")
    out = {}
    for name in report.computed_attacks:
        try:
            cls = attack_class(name)
        except MiaValueError:
            out[name] = name
            continue
        label = cls.title
        if cls.needs_references and n_refs:
            label += f", {n_refs} reference model{'s' if n_refs != 1 else ''}"
        out[name] = label
    return out


def sorted_scores(report: AuditReport, attack: str) -> SortedScores:
    """``attack``'s member and non-member scores, each sorted (memoized in the report:
    the summary, the ROC, the ranks and the verdict all read this one sort)."""

    def compute() -> SortedScores:
        return SortedScores.members_first(report.scores[attack].to_numpy(), report.n_members)

    found: SortedScores = report.memoized(("sorted_scores", attack), compute)
    return found


def report_verdict(report: AuditReport) -> Verdict:
    """The verdict on every computed attack under the view's policy (uncached)."""
    attacks = report.computed_attacks
    return judge(
        {a: report.scores[a].to_numpy() for a in attacks},
        report.members,
        policy=report.options.policy_or_default,
        max_flag=report.options.flag,
        labels=attack_labels(report),
        sorted_scores={a: sorted_scores(report, a) for a in attacks},
    )


def verdict_positions(report: AuditReport, verdict: Verdict, k: int) -> np.ndarray:
    """Positions in ``report.scores`` of at most ``k`` members the verdict identifies,
    most member-like first (empty at 'none' or when no record can be singled out)."""
    shown = verdict.identified
    if k <= shown.size or shown.size == verdict.n_identified or verdict.attack is None:
        return np.asarray(shown[:k], dtype=np.intp)
    threshold = _verdict_threshold(verdict)
    scores = report.scores[verdict.attack].to_numpy()
    found, _ = identify(scores, report.members, threshold, k)
    return found


def _verdict_threshold(verdict: Verdict) -> float:
    """The score threshold of the verdict's attack at the verdict's FPR."""
    points = verdict.evidence["attacks"][verdict.attack]["points"]
    point = next(p for p in points if p["fpr"] == verdict.evidence["fpr"])
    threshold = point["threshold"]
    return -np.inf if threshold is None else float(threshold)


def flag_reason(report: AuditReport, verdict: Verdict) -> str:
    """Why :meth:`AuditReport.flagged` lists no record (or '' when it lists some)."""
    if report.options.flag <= 0:
        return "The flag count is 0."
    if verdict.identified.size:
        return ""
    return verdict.reason
