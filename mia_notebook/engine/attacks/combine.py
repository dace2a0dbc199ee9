"""One score per person from an attack's row scores (``person=``; docs/people.md).

Each attack class declares its rule (``Attack.person_rule``), derived from what its
row score is; a new attack gets one by declaring it (default ``'rank-stouffer'``, valid
for any score):

* ``'llr-sum'`` -- the row score is a log-likelihood ratio (LiRA online): rows are
  independent given membership, so a person's log-likelihood ratio is their sum.
* ``'p-stouffer'`` -- the row score is ``-log p`` of a one-sided test (LiRA offline):
  each p-value becomes ``z = Phi^-1(1 - p)`` and the person's score is Stouffer's
  ``sum(z) / sqrt(n)``.
* ``'cdf-stouffer'`` -- the row score is a CDF value ``u`` in (0, 1) (RMIA's fraction of
  population samples dominated): ``z = Phi^-1(u)``, then Stouffer.
* ``'rank-stouffer'`` -- any other score (loss, confidence, entropy, white-box
  statistics): each row's mid-rank among ALL audited rows' scores gives ``u`` in
  (0, 1), then ``z = Phi^-1(u)`` and Stouffer. The ranks never look at membership, so
  the verdict's exact tests stay exact.
* ``'logit-sum'`` -- the row score is a probability of membership from an attack
  classifier (shadow models): the log-odds add up, as in naive Bayes.
* ``'mean'`` -- a 0/1 score (the label-only gap): the share of the person's rows the
  model gets right.

Rows per person: Stouffer's ``sum / sqrt(n)`` is standard normal under the null for
any ``n`` (independent rows), and a mean keeps its expectation, so neither rises merely
because a person has more rows (``tests/test_combine.py`` checks it). The sums
(``'llr-sum'``, ``'logit-sum'``) are each person's likelihood ratio: under the null
their expectation falls with ``n`` (a log-likelihood ratio has a negative mean under
the OUT hypothesis), so a person with more rows is never favoured by chance either.
A maximum would rise with ``n``; the benchmark (bench/people.py) measures it and it is
not used.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logit, ndtri, ndtri_exp

__all__ = ["PERSON_RULES", "combine", "rank_z", "row_z"]

PERSON_RULES = (
    "llr-sum",
    "p-stouffer",
    "cdf-stouffer",
    "rank-stouffer",
    "logit-sum",
    "mean",
    "max",
)
_PROB_EPS = 1e-12


def rank_z(scores: np.ndarray) -> np.ndarray:
    """``Phi^-1`` of each score's mid-rank among all ``scores``, ``u = r / (n + 1)``
    (ties share their mid-rank; NaN counts as the lowest score)."""
    s = np.where(np.isnan(scores), -np.inf, np.asarray(scores, dtype=np.float64))
    ordered = np.sort(s)
    below = np.searchsorted(ordered, s, side="left")
    at_or_below = np.searchsorted(ordered, s, side="right")
    mid_rank = (below + at_or_below + 1) / 2.0  # 1-based, ties averaged
    return np.asarray(ndtri(mid_rank / (s.size + 1.0)))


def row_z(rule: str, scores: np.ndarray) -> np.ndarray:
    """The standard-normal score of each row under a Stouffer ``rule``."""
    s = np.asarray(scores, dtype=np.float64)
    if rule == "p-stouffer":  # s = -log p; z = Phi^-1(1 - p) = -Phi^-1(p)
        return np.asarray(-ndtri_exp(-np.maximum(s, 0.0)))
    if rule == "cdf-stouffer":
        return np.asarray(ndtri(np.clip(s, _PROB_EPS, 1.0 - _PROB_EPS)))
    if rule == "rank-stouffer":
        return rank_z(s)
    raise ValueError(f"'{rule}' is not a Stouffer rule.")


def combine(rule: str, scores: np.ndarray, codes: np.ndarray, n_people: int) -> np.ndarray:
    """One score per person from row ``scores`` by ``rule`` (see the module).

    Parameters
    ----------
    rule : str
        One of :data:`PERSON_RULES`.
    scores : ndarray of shape (n_rows,)
        An attack's row scores (higher = more likely a member).
    codes : ndarray of int, shape (n_rows,)
        Each row's person, ``0 .. n_people - 1``.
    n_people : int

    Returns
    -------
    ndarray of float64, shape (n_people,)
        Higher = more likely a member.
    """
    if rule not in PERSON_RULES:
        raise ValueError(f"Unknown person rule '{rule}'. Choose from {PERSON_RULES}.")
    s = np.asarray(scores, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.int64)
    counts = np.bincount(codes, minlength=n_people).astype(np.float64)
    if rule == "max":
        out = np.full(n_people, -np.inf)
        np.maximum.at(out, codes, np.where(np.isnan(s), -np.inf, s))
        return out
    if rule == "llr-sum":
        return np.bincount(codes, weights=s, minlength=n_people)
    if rule == "logit-sum":
        p = np.clip(s, _PROB_EPS, 1.0 - _PROB_EPS)
        return np.bincount(codes, weights=logit(p), minlength=n_people)
    if rule == "mean":
        return np.bincount(codes, weights=s, minlength=n_people) / np.maximum(counts, 1.0)
    z = row_z(rule, s)
    return np.bincount(codes, weights=z, minlength=n_people) / np.sqrt(np.maximum(counts, 1.0))
