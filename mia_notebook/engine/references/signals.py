"""The reference material of one audit: what the reference attacks score from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ReferenceSignals"]


@dataclass(frozen=True)
class ReferenceSignals:
    """Reference-model statistics for one audit (the expensive stage of LiRA/RMIA/shadow).

    Records are ordered members first, like ``AuditReport.scores``; columns are the
    reference models that trained successfully.

    Attributes
    ----------
    signal : ndarray of float32, shape (n_records, n_refs)
        Each reference model's statistic on each record: logit-scaled true-class
        confidence for classifiers, -log(squared error + tiny) for regressors
        (higher = more member-like).
    in_mask : ndarray of bool, shape (n_records, n_refs)
        The record was in that reference model's training half.
    target : ndarray of float64, shape (n_records,)
        The target model's same statistic.
    pop_signal, pop_in_mask, pop_target : ndarrays with n_extra rows
        The same for the extra ``population`` rows (zero rows without one).
    kind : str
        The model interface ('proba', 'decision' or 'regression').
    n_requested : int
        Reference models asked for.
    reference_ids : ndarray of int, shape (n_refs,)
        Which of the requested models each column is.
    failed : dict of int to str
        Reference models whose fit or query raised, with the error.
    n_trained, n_cached : int
        Models trained in this run, and models reused from the cache.
    rebuilt : str or None
        Why the reference models were rebuilt from ``get_params()`` instead of
        ``sklearn.base.clone`` (None: clone worked).
    extra, pop_extra : dict of str to ndarray of float32, shape (n_records, n_refs)
        More statistics the same reference models gave in the same pass, by name (the
        white-box ones; :class:`~.statistics.StatisticSet`), on the records and on the
        extra population rows.
    """

    signal: np.ndarray
    in_mask: np.ndarray
    target: np.ndarray
    pop_signal: np.ndarray
    pop_in_mask: np.ndarray
    pop_target: np.ndarray
    kind: str
    n_requested: int
    reference_ids: np.ndarray
    failed: dict[int, str] = field(default_factory=dict)
    n_trained: int = 0
    n_cached: int = 0
    rebuilt: str | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    pop_extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_references(self) -> int:
        """Reference models available (successful fits)."""
        return int(self.signal.shape[1])

    @property
    def nbytes(self) -> int:
        arrays = (
            self.signal,
            self.in_mask,
            self.target,
            self.pop_signal,
            self.pop_in_mask,
            self.pop_target,
        )
        extra = [*self.extra.values(), *self.pop_extra.values()]
        return sum(int(a.nbytes) for a in (*arrays, *extra))

    def notes(self) -> list[str]:
        """Caveats for the report (clone fallback, failed fits)."""
        out = [] if self.rebuilt is None else [self.rebuilt]
        if self.failed:
            first = next(iter(sorted(self.failed.items())))
            out.append(
                f"{len(self.failed)} of {self.n_requested} reference model fits failed "
                f"(model {first[0]}: {first[1]}); reference attacks used the other "
                f"{self.n_references}"
            )
        return out
