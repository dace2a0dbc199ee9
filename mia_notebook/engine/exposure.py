"""Per-record tables of a report: the flagged members and one record's scores.

Numbers only (the render layer formats them); redacted columns are masked here, so no
output can show them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import MiaValueError
from .sorted_scores import finite_scores

if TYPE_CHECKING:
    from .results import AuditReport

__all__ = ["REDACTED", "flagged_table", "mask", "ranks_table", "record_table", "top_members"]

#: What a redacted value is replaced with in every output.
REDACTED = "■■■"


def mask(frame: pd.DataFrame, redact: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` with the ``redact`` columns replaced by :data:`REDACTED` (a copy)."""
    cols = [c for c in redact if c in frame.columns]
    if not cols:
        return frame
    frame = frame.copy()
    for c in cols:
        frame[c] = REDACTED
    return frame


def flagged_table(report: AuditReport, order: np.ndarray, attack: str) -> pd.DataFrame:
    """The train rows at positions ``order`` (masked), then their score under ``attack``
    and their rank among the members (:meth:`AuditReport.flagged`)."""
    rows = mask(report.data.train.iloc[order], report.options.redact)
    member_scores = report.scores[attack].to_numpy()[: report.n_members]
    tail = pd.DataFrame(
        {
            f"score ({attack})": member_scores[order],
            report.rank_label(): report.member_ranks(attack)[order].astype("int64"),
        },
        index=rows.index,
    )
    out: pd.DataFrame = pd.concat([rows, tail], axis=1)
    return out


def ranks_table(report: AuditReport, order: np.ndarray) -> pd.DataFrame:
    """Rank among the members under every shown attack of the train rows at positions
    ``order`` (:meth:`AuditReport.flagged_ranks`): one int column per attack."""
    ranks = {a: report.member_ranks(a)[order].astype("int64") for a in report.attacks}
    out: pd.DataFrame = pd.DataFrame(
        ranks, index=report.data.train.index[order], columns=report.attacks
    )
    return out


def record_table(report: AuditReport, position: int) -> pd.DataFrame:
    """Score, rank among all records and share of non-members below, per shown attack,
    for the record at row ``position`` of ``report.scores``
    (:meth:`AuditReport.record_scores`)."""
    n = len(report.scores)
    if not 0 <= position < n:
        raise MiaValueError(f"The 'position' parameter must be in [0, {n}). Got {position}.")
    rows = {}
    for a in report.attacks:
        nonmember = report.nonmember_sorted(a)
        raw = report.scores[a].to_numpy()
        score = float(raw[position])
        # compared as the sort cleaned them (NaN lowest, +-inf at the extremes)
        below = np.searchsorted(nonmember, finite_scores(raw)[position], side="left")
        rows[a] = {
            "score": score,
            "rank": int(report.ranks(a)[position]),
            "above non-members": below / nonmember.size if nonmember.size else math.nan,
        }
    out: pd.DataFrame = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "attack"
    return out


def top_members(report: AuditReport, attack: str, k: int) -> np.ndarray:
    """Positions of the ``k`` members with the highest scores under ``attack`` (a
    ranking, not a claim: :meth:`AuditReport.flagged` with an explicit attack)."""
    if attack not in report.computed_attacks:
        raise MiaValueError(f"No scores for attack '{attack}'. Have {report.computed_attacks}.")
    member_scores = report.scores[attack].to_numpy()[: report.n_members]
    order = report.memoized(
        ("member_order", attack), lambda: np.argsort(-member_scores, kind="stable")
    )
    return np.asarray(order[:k])
