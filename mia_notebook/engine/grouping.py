"""Grouping: attacks that rank the records identically, and records by a column's value.

Pure functions of the scores and the data; nothing here renders.

Two attacks are *rank-equivalent* when one score is a strictly increasing function of
the other on the audited records (equal scores stay equal, order is kept), up to
floating-point noise: values within 1e-10 of each other, relative to the larger of
their size and the vector's largest finite size, count as equal (the same quantity
computed two ways differs in its last bits, near zero too). Every
metric of the report (ROC, AUC, TPR at an FPR, the epsilon bound) depends on the
scores only through that order, so a group's attacks share every number: a reader
needs one row and one curve per group. On a binary task, loss, confidence and logit
are such a group.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import metrics
from .data import AuditData
from .errors import MiaValueError

__all__ = [
    "MISSING",
    "ValueGroups",
    "group_summaries",
    "rank_equivalent_groups",
    "slice_groups",
    "value_groups",
]

#: Group label of records whose slice value is missing.
MISSING = "missing"
_NUMERIC_BINS = 4


#: Scores closer than this (relative) count as equal when comparing orders: the same
#: quantity computed two ways (a loss and a confidence) differs in the last bits.
_RTOL = 1e-10


def _dense_ranks(scores: np.ndarray) -> np.ndarray:
    """Dense rank of every score: ties share a rank, and so do neighbouring values within
    floating-point noise (``_RTOL`` of the larger of their size and the largest finite
    size); NaNs share the last rank."""
    values, inverse = np.unique(np.asarray(scores, dtype=np.float64), return_inverse=True)
    gap = np.diff(values)
    finite = values[np.isfinite(values)]
    # noise is relative to each value, and to the vector's range near zero
    floor = np.abs(finite).max() if finite.size else 0.0
    scale = np.maximum(np.maximum(np.abs(values[:-1]), np.abs(values[1:])), floor)
    # NaN gaps (next to NaN) and infinite gaps (next to +-inf) always start a new rank
    new = ~(gap <= _RTOL * scale) | np.isinf(gap)
    cluster = np.r_[0, np.cumsum(new)]
    return cluster[inverse.reshape(-1)]


def rank_equivalent_groups(scores: pd.DataFrame, attacks: Sequence[str]) -> list[tuple[str, ...]]:
    """Partition ``attacks`` into groups whose scores order the records identically.

    Parameters
    ----------
    scores : DataFrame of shape (n_records, >= len(attacks))
        One column of membership scores per attack.
    attacks : sequence of str
        Columns of ``scores`` to group.

    Returns
    -------
    list of tuple of str
        The groups, in the order of their first attack in ``attacks``; each group lists
        its attacks in the order given. Every attack is in exactly one group.
    """
    by_order: dict[bytes, list[str]] = {}
    for name in attacks:
        key = _dense_ranks(scores[name].to_numpy()).tobytes()
        by_order.setdefault(key, []).append(name)
    return [tuple(group) for group in by_order.values()]


class ValueGroups:
    """The group label of every record for one column, with the labels in value order.

    Attributes
    ----------
    labels : Series of shape (n_records,)
        Group label (str) of every record, ordered like the report's scores.
    order : list of str
        The labels sorted by the column's value (numeric bins from low to high, other
        values sorted, ``missing`` last).
    masked : bool
        Whether labels were replaced by ``group 1``, ``group 2``... (a redacted column).
    """

    def __init__(self, labels: pd.Series, order: list[str], masked: bool) -> None:
        self.labels = labels
        self.order = order
        self.masked = masked


def _binned(values: pd.Series) -> tuple[pd.Series, list[str]]:
    bins = pd.qcut(values.astype("float64"), q=_NUMERIC_BINS, duplicates="drop")
    names = {iv: f"{iv.left:.4g} – {iv.right:.4g}" for iv in bins.cat.categories}
    labels = bins.map(names).astype(object).where(bins.notna(), MISSING).astype(str)
    return labels, [*names.values(), MISSING]


def _by_value(values: pd.Series) -> tuple[pd.Series, list[str]]:
    present = values.dropna()
    try:
        distinct = sorted(present.unique())
    except TypeError:  # mixed types: sort by their text
        distinct = sorted(present.unique(), key=str)
    order = list(dict.fromkeys(str(v) for v in distinct))
    labels = values.astype(object).where(values.notna(), MISSING).astype(str)
    return labels, [*order, MISSING]


def value_groups(values: pd.Series, *, masked: bool) -> ValueGroups:
    """Group records by ``values``: quartile bins when numeric with over 10 distinct
    values, else one group per value.

    Parameters
    ----------
    values : Series of shape (n_records,)
        The slice column over all records (members first).
    masked : bool
        Replace the labels by ``group 1``, ``group 2``... in value order (for a
        redacted column).
    """
    if values.empty:
        raise MiaValueError("Cannot slice an empty column.")
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.nunique() > 10:
        labels, order = _binned(values)
    else:
        labels, order = _by_value(values)
    present = set(labels.unique())
    order = [g for g in order if g in present]
    if masked:
        codes = {g: f"group {i + 1}" for i, g in enumerate(order)}
        labels, order = labels.map(codes), list(codes.values())
    return ValueGroups(labels.reset_index(drop=True), order, masked)


def group_summaries(
    scores: np.ndarray,
    members: np.ndarray,
    groups: ValueGroups,
    *,
    confidence: float,
    delta: float,
    limit: int,
) -> dict[str, metrics.ScoreSummary]:
    """FPR-independent metrics of ``scores`` within each group, in value order.

    Parameters
    ----------
    scores, members : ndarray of shape (n_records,)
    groups : ValueGroups
    confidence, delta : float
        As in :func:`metrics.score_summary`.
    limit : int
        Keep only the ``limit`` largest groups (still in value order).
    """
    largest = set(groups.labels.value_counts().index[:limit])
    out = {}
    for g in (g for g in groups.order if g in largest):
        mask = (groups.labels == g).to_numpy()
        out[g] = metrics.score_summary(
            scores[mask], members[mask], confidence=confidence, delta=delta
        )
    return out


def slice_groups(data: AuditData, col: str, *, masked: bool) -> ValueGroups:
    """:func:`value_groups` of column ``col`` over all records of ``data`` (members
    first); a clear error when ``col`` is not a column of both train and test."""
    cols = {str(c) for c in data.train.columns} & {str(c) for c in data.test.columns}
    if col not in cols:
        raise MiaValueError(
            f"Cannot slice by '{col}': not a column of both train and test. "
            f"Choose one of {sorted(cols)[:12]}."
        )
    return value_groups(data.column(col), masked=masked)
