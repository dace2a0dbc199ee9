"""Per-record tables of a report: the flagged members and one record's scores.

Pure functions of rows, scores and ranks (the report passes them in). Numbers only
(the render layer formats them); redacted columns are masked here, so no output can
show them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import MiaValueError
from .sorted_scores import finite_scores

__all__ = [
    "REDACTED",
    "AttackColumn",
    "flagged_table",
    "mask",
    "member_order",
    "ranks_table",
    "record_table",
]

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


def flagged_table(
    rows: pd.DataFrame,
    redact: Sequence[str],
    scores: np.ndarray,
    ranks: np.ndarray,
    *,
    attack: str,
    rank_label: str,
) -> pd.DataFrame:
    """The flagged members' ``rows`` (``redact`` columns masked), then their score under
    ``attack`` and their rank among the members (``scores``, ``ranks``: one per row)."""
    masked = mask(rows, tuple(redact))
    tail = pd.DataFrame(
        {f"score ({attack})": scores, rank_label: np.asarray(ranks).astype("int64")},
        index=masked.index,
    )
    out: pd.DataFrame = pd.concat([masked, tail], axis=1)
    return out


def ranks_table(index: pd.Index, ranks: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Rank among the members under each attack (one int column per attack, in
    ``ranks``' order) of the rows labelled ``index``."""
    out: pd.DataFrame = pd.DataFrame(
        {a: np.asarray(r).astype("int64") for a, r in ranks.items()},
        index=index,
        columns=list(ranks),
    )
    return out


@dataclass(frozen=True)
class AttackColumn:
    """One attack's numbers that :func:`record_table` reads.

    Attributes
    ----------
    scores : ndarray of shape (n_records,)
        Raw scores, ordered like the report's records.
    nonmembers : ndarray
        The non-members' cleaned scores, sorted ascending (``SortedScores.nonmembers``).
    ranks : ndarray of shape (n_records,)
        Rank of every record (1 = most member-like).
    """

    scores: np.ndarray
    nonmembers: np.ndarray
    ranks: np.ndarray


def record_table(position: int, columns: Mapping[str, AttackColumn]) -> pd.DataFrame:
    """Score, rank among all records and share of non-members below, per attack, for
    the record at ``position``.

    Returns
    -------
    DataFrame indexed by attack: ``score``, ``rank``, ``above non-members``.
    """
    n = min((c.scores.size for c in columns.values()), default=0)
    if not 0 <= position < n:
        raise MiaValueError(f"The 'position' parameter must be in [0, {n}). Got {position}.")
    rows = {}
    for a, col in columns.items():
        # compared as the sort cleaned them (NaN lowest, +-inf at the extremes)
        below = np.searchsorted(col.nonmembers, finite_scores(col.scores)[position], side="left")
        rows[a] = {
            "score": float(col.scores[position]),
            "rank": int(col.ranks[position]),
            "above non-members": below / col.nonmembers.size if col.nonmembers.size else math.nan,
        }
    out: pd.DataFrame = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "attack"
    return out


def member_order(member_scores: np.ndarray) -> np.ndarray:
    """Positions of the members from the highest score down (ties: earlier first)."""
    return np.argsort(-np.asarray(member_scores), kind="stable")
