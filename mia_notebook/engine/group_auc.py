"""AUC and DeLong variance of one attack inside each group of a column and on the
other records, from one sort of the scores (the slow per-subset reference is
:func:`.grouping.auc_with_variance`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .sorted_scores import clean_scores, finite_scores

__all__ = ["inside_and_rest_aucs", "score_order"]


def _tie_bounds(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ascending ``s``: where each entry's run of equal values starts and ends
    (exclusive)."""
    new = np.ones(s.size, dtype=bool)
    np.not_equal(s[1:], s[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    run = np.cumsum(new) - 1
    return starts[run], np.append(starts[1:], s.size)[run]


def _placement_auc(
    m: np.ndarray,
    chosen: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    below_neg: np.ndarray,
    below_pos: np.ndarray,
) -> tuple[float, float]:
    """:func:`auc_with_variance` of the ``chosen`` sorted records, given how many chosen
    non-members / members precede each position (``below_*``, length n + 1)."""
    pos, neg = np.flatnonzero(chosen & m), np.flatnonzero(chosen & ~m)
    if pos.size < 2 or neg.size < 2:
        return math.nan, math.nan
    lo, hi = bounds
    v10 = (below_neg[lo[pos]] + below_neg[hi[pos]]) / (2.0 * neg.size)
    v01 = 1.0 - (below_pos[lo[neg]] + below_pos[hi[neg]]) / (2.0 * pos.size)
    return float(v10.mean()), float(v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size)


def score_order(scores: np.ndarray) -> np.ndarray:
    """The positions of ``scores`` from lowest to highest (NaN lowest), one sort that
    the group metrics of every column can share."""
    return np.argsort(finite_scores(scores))


def inside_and_rest_aucs(
    scores: np.ndarray,
    members: np.ndarray,
    codes: np.ndarray,
    which: Sequence[int],
    ranked: np.ndarray | None = None,
) -> np.ndarray:
    """Per group: AUC and DeLong variance inside it and on all other records.

    The same numbers as :func:`auc_with_variance` on each subset (NaN scores rank
    lowest), from one sort: the placement values come from running counts of each
    group's members and non-members along the sorted scores.

    Parameters
    ----------
    scores, members : ndarray of shape (n_records,)
    codes : ndarray of int, shape (n_records,)
        Every record's group (``ValueGroups.codes``; -1: in no group).
    which : sequence of int
        The groups to compute.
    ranked : ndarray of int, optional
        :func:`score_order` of ``scores``, when the caller has it.

    Returns
    -------
    ndarray of shape (len(which), 4)
        ``auc, variance, auc_rest, variance_rest`` per group of ``which``.
    """
    s, m = clean_scores(scores, members)
    ranked = score_order(s) if ranked is None else ranked
    s, m, codes = s[ranked], m[ranked], np.asarray(codes)[ranked]
    bounds = _tie_bounds(s)
    cum = lambda x: np.concatenate([[0], np.cumsum(x, dtype=np.int32)])  # noqa: E731
    neg_all, pos_all = cum(~m), cum(m)
    out = np.empty((len(which), 4))
    for i, k in enumerate(which):
        inside = codes == k
        neg_k, pos_k = cum(inside & ~m), cum(inside & m)
        out[i, :2] = _placement_auc(m, inside, bounds, neg_k, pos_k)
        out[i, 2:] = _placement_auc(m, ~inside, bounds, neg_all - neg_k, pos_all - pos_k)
    return out
