"""One attack's scores sorted per class: the one sort that the ROC curve, the epsilon
bound and the verdict's tests all read.

Sorting values (not records) is several times faster than an argsort, and every count
taken from the sorted arrays depends on the scores alone, never on the records' order.
A report memoizes one :class:`SortedScores` per attack, so its summary, its plots and
its verdict share that sort instead of each sorting again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["SortedScores", "clean_scores", "finite_scores"]


def finite_scores(scores: np.ndarray) -> np.ndarray:
    """Scores as finite 1-d float64, ranking kept: +-inf just beyond the finite
    extremes, NaN below everything. Returns the input itself when it is already so."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    if np.all(np.isfinite(s)):
        return s
    finite = s[np.isfinite(s)]
    lo = finite.min() - 1.0 if finite.size else -1.0
    hi = finite.max() + 1.0 if finite.size else 1.0
    out: np.ndarray = np.where(np.isnan(s), lo - 1.0, np.clip(s, lo, hi))
    return out


def clean_scores(scores: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores as finite float64 (:func:`finite_scores`) and members as bool."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    m = np.asarray(members, dtype=bool).ravel()
    if s.shape != m.shape:
        raise ValueError(
            f"scores and members must have the same length. Got {s.shape[0]} and {m.shape[0]}."
        )
    return finite_scores(s), m


@dataclass(frozen=True)
class SortedScores:
    """One attack's cleaned scores (:func:`clean_scores`), sorted ascending separately
    for members and non-members.

    Attributes
    ----------
    members, nonmembers : ndarray of float64
        Each class's scores, ascending; finite (NaN below every score, +-inf just
        beyond the finite extremes).
    """

    members: np.ndarray
    nonmembers: np.ndarray

    @classmethod
    def of(cls, scores: np.ndarray, members: np.ndarray) -> SortedScores:
        """Clean and sort ``scores`` per class of the boolean ``members``."""
        s, m = clean_scores(scores, members)
        pos, neg = s[m], s[~m]  # copies, sorted in place
        pos.sort()
        neg.sort()
        return cls(pos, neg)

    @classmethod
    def members_first(cls, scores: np.ndarray, n_members: int) -> SortedScores:
        """Like :meth:`of` for scores whose first ``n_members`` entries are the members
        (one copy, each part sorted in place)."""
        s = np.array(finite_scores(scores), copy=True)
        s[:n_members].sort()
        s[n_members:].sort()
        return cls(s[:n_members], s[n_members:])

    @property
    def size(self) -> int:
        return int(self.members.size + self.nonmembers.size)

    @cached_property
    def merged(self) -> tuple[np.ndarray, np.ndarray]:
        """Every score ascending, and whether each is a member's (ties: members first).

        A stable argsort of the two ascending runs is a linear merge (timsort)."""
        both = np.concatenate([self.members, self.nonmembers])
        order = np.argsort(both, kind="stable")
        return both[order], order < self.members.size

    @property
    def pooled(self) -> np.ndarray:
        """Every score, ascending."""
        return self.merged[0]

    @staticmethod
    def above(arr: np.ndarray, x: float, *, strict: bool) -> int:
        """How many of the sorted ``arr`` are > ``x`` (strict) or >= ``x``."""
        return int(arr.size - np.searchsorted(arr, x, side="right" if strict else "left"))

    @staticmethod
    def below(arr: np.ndarray, x: float, *, strict: bool) -> int:
        """How many of the sorted ``arr`` are < ``x`` (strict) or <= ``x``."""
        return int(np.searchsorted(arr, x, side="left" if strict else "right"))

    def _tail(self, k: int, *, top: bool) -> tuple[int, int]:
        """(guesses, members among them) on the top or bottom ``k``, ties kept whole."""
        if k <= 0:
            return 0, 0
        pooled = self.pooled
        v = float(pooled[pooled.size - k] if top else pooled[k - 1])  # the k-th best
        count = self.above if top else self.below
        pos, neg = count(self.members, v, strict=False), count(self.nonmembers, v, strict=False)
        if pos + neg > k:  # v's tie group straddles the cut: leave it out
            pos, neg = count(self.members, v, strict=True), count(self.nonmembers, v, strict=True)
        return pos + neg, pos

    def top(self, k: int) -> tuple[int, int]:
        """(guesses, correct) for "member" on the top ``k``, tie groups kept whole."""
        return self._tail(k, top=True)

    def bottom(self, k: int) -> tuple[int, int]:
        """(guesses, correct) for "non-member" on the bottom ``k``, tie groups kept whole."""
        guesses, members = self._tail(k, top=False)
        return guesses, guesses - members
