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

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from . import metrics
from .data import AuditData
from .errors import MiaValueError
from .group_auc import inside_and_rest_aucs, score_order
from .sorted_scores import SortedScores, clean_scores

__all__ = [
    "MISSING",
    "ExposedGroup",
    "ValueGroups",
    "auc_with_variance",
    "exposed_group",
    "group_summaries",
    "mask_groups",
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
    out: np.ndarray = cluster[inverse.reshape(-1)]
    return out


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
    """The group of every record for one column, with the labels in value order.

    Attributes
    ----------
    order : list of str
        The labels sorted by the column's value (numeric bins from low to high, other
        values sorted, ``missing`` last); every label occurs.
    codes : ndarray of int, shape (n_records,)
        Every record's group as a position in ``order`` (-1: in no group, e.g. under
        ``person=`` a column that varies within a person), ordered like the scores.
    masked : bool
        Whether labels were replaced by ``group 1``, ``group 2``... (a redacted column).
    """

    def __init__(self, codes: np.ndarray, order: list[str], masked: bool) -> None:
        self.codes = np.asarray(codes, dtype=np.intp)
        self.order = order
        self.masked = masked

    @classmethod
    def of_labels(cls, labels: Sequence[str], order: list[str], masked: bool) -> ValueGroups:
        """Groups from one label per record (each label one of ``order``)."""
        codes = pd.Categorical(list(labels), categories=order).codes
        return cls(codes, order, masked)

    @property
    def labels(self) -> pd.Series:
        """The group label (str) of every record, ordered like the report's scores
        (``""`` for a record in no group)."""
        return pd.Series(np.asarray([*self.order, ""], dtype=object)[self.codes], dtype=object)

    def counts(self) -> np.ndarray:
        """Records per group, in ``order``."""
        return np.bincount(self.codes[self.codes >= 0], minlength=len(self.order))


def _present(codes: np.ndarray, order: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes and order without the groups no record has."""
    counts = np.bincount(codes, minlength=len(order))
    kept = np.flatnonzero(counts)
    renumber = np.full(len(order), -1, dtype=np.intp)
    renumber[kept] = np.arange(kept.size)
    return renumber[codes], [order[i] for i in kept]


def _binned(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    bins = pd.qcut(values.astype("float64"), q=_NUMERIC_BINS, duplicates="drop")
    names = [f"{iv.left:.4g} – {iv.right:.4g}" for iv in bins.cat.categories]
    order = list(dict.fromkeys(names))  # bins whose bounds print alike are one group
    of_bin = np.array([order.index(n) for n in names] + [len(order)], dtype=np.intp)
    return of_bin[np.asarray(bins.cat.codes, dtype=np.intp)], [*order, MISSING]


def _by_value(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    found, uniques = pd.factorize(values, use_na_sentinel=True)
    present = list(uniques)
    try:
        distinct = sorted(present)
    except TypeError:  # mixed types: sort by their text
        distinct = sorted(present, key=str)
    order = list(dict.fromkeys(str(v) for v in distinct))
    where = {g: i for i, g in enumerate(order)}
    of_unique = np.array([where[str(v)] for v in present] + [len(order)], dtype=np.intp)
    return of_unique[found], [*order, MISSING]  # the sentinel -1 reads the last: missing


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
        codes, order = _binned(values)
    else:
        codes, order = _by_value(values)
    groups = ValueGroups(*_present(codes, order), False)
    return mask_groups(groups) if masked else groups


def mask_groups(groups: ValueGroups) -> ValueGroups:
    """``groups`` with the labels replaced by ``group 1``, ``group 2``... in value order
    (for a redacted column); masked groups are returned as they are."""
    if groups.masked:
        return groups
    return ValueGroups(groups.codes, [f"group {i + 1}" for i in range(len(groups.order))], True)


def group_summaries(
    scores: np.ndarray,
    members: np.ndarray,
    groups: ValueGroups,
    *,
    confidence: float,
    delta: float,
    limit: int,
    ranked: np.ndarray | None = None,
) -> dict[str, metrics.ScoreSummary]:
    """FPR-independent metrics of ``scores`` within each group, in value order.

    Parameters
    ----------
    scores, members : ndarray of shape (n_records,)
    groups : ValueGroups
    confidence, delta : float
        As in :func:`metrics.score_summary`.
    limit : int
        Keep only the ``limit`` largest groups (still in value order; equal sizes: the
        first in value order).
    ranked : ndarray of int, optional
        :func:`score_order` of ``scores``, when the caller has it.
    """
    s, m = clean_scores(scores, members)
    ranked = score_order(s) if ranked is None else ranked  # each group's parts stay sorted
    s, m, codes = s[ranked], m[ranked], groups.codes[ranked]
    out = {}
    for k in _largest(groups, limit):
        inside = codes == k
        parts = SortedScores(s[inside & m], s[inside & ~m])
        out[groups.order[k]] = metrics.summary_from_sorted(
            parts, confidence=confidence, delta=delta
        )
    return out


def _largest(groups: ValueGroups, limit: int | None) -> list[int]:
    """Positions of the ``limit`` largest groups (all by default), in value order
    (equal sizes: the first in value order)."""
    if limit is None or limit >= len(groups.order):
        return list(range(len(groups.order)))
    return sorted(np.argsort(-groups.counts(), kind="stable")[:limit].tolist())


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


def auc_with_variance(scores: np.ndarray, members: np.ndarray) -> tuple[float, float]:
    """AUC of ``scores`` for ``members`` and its DeLong variance (DeLong et al. 1988).

    Parameters
    ----------
    scores : ndarray of shape (n_records,)
    members : ndarray of bool, shape (n_records,)

    Returns
    -------
    auc, variance : float
        NaN when there are fewer than two members or non-members.
    """
    pos, neg = scores[members], scores[~members]
    if pos.size < 2 or neg.size < 2:
        return math.nan, math.nan
    neg_sorted, pos_sorted = np.sort(neg), np.sort(pos)
    # placement values: share of the other class each record beats (ties count half)
    below = np.searchsorted(neg_sorted, pos, "left") + np.searchsorted(neg_sorted, pos, "right")
    v10 = below / (2.0 * neg.size)
    at_or_below = np.searchsorted(pos_sorted, neg, "left") + np.searchsorted(
        pos_sorted, neg, "right"
    )
    v01 = 1.0 - at_or_below / (2.0 * pos.size)
    variance = v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size
    return float(v10.mean()), float(variance)


@dataclass(frozen=True)
class ExposedGroup:
    """A group whose records the attack separates better than the rest's, beyond chance.

    Attributes
    ----------
    label : str
        The group.
    auc, auc_rest : float
        AUC of the attack within the group and on all other records.
    n_members : int
        Members in the group.
    p_value : float
        One-sided p-value of ``auc > auc_rest`` (DeLong variances, normal test), before
        the Bonferroni correction over ``n_tested`` groups.
    n_tested : int
        Groups compared (each needs two members and two non-members, in and out).
    """

    label: str
    auc: float
    auc_rest: float
    n_members: int
    p_value: float
    n_tested: int


def exposed_group(
    scores: np.ndarray,
    members: np.ndarray,
    groups: ValueGroups,
    *,
    confidence: float,
    ranked: np.ndarray | None = None,
    limit: int | None = None,
) -> ExposedGroup | None:
    """The group at the highest risk, when its AUC exceeds the rest's beyond chance.

    Each group's AUC is compared with the AUC on the other records (disjoint records,
    so the DeLong variances add); a group counts when its one-sided p-value is below
    ``(1 - confidence) / n_tested`` (Bonferroni over the groups compared). Of those,
    the one with the largest z is returned; None when no group counts. With ``limit``,
    only the ``limit`` largest groups are compared (those :func:`group_summaries` keeps).
    """
    tested: list[tuple[float, ExposedGroup]] = []
    in_members = np.asarray(members, dtype=bool) & (groups.codes >= 0)
    n_members = np.bincount(groups.codes[in_members], minlength=len(groups.order))
    which = _largest(groups, limit)
    aucs = inside_and_rest_aucs(scores, members, groups.codes, which, ranked)
    for k, (auc, var, rest, var_rest) in zip(which, aucs, strict=True):
        if math.isnan(auc + rest) or var + var_rest <= 0:
            continue
        z = (auc - rest) / math.sqrt(var + var_rest)
        label = groups.order[k]
        tested.append((z, ExposedGroup(label, auc, rest, int(n_members[k]), float(norm.sf(z)), 0)))
    alpha = (1.0 - confidence) / max(len(tested), 1)
    passing = [(z, f) for z, f in tested if f.p_value < alpha]
    if not passing:
        return None
    best = max(passing, key=lambda t: t[0])[1]
    return ExposedGroup(**{**best.__dict__, "n_tested": len(tested)})
