"""The per-record views of a report: flagged members, ranks, one record's scores,
slices and the exposed group (:class:`RecordViews`, a base of
:class:`~.results.AuditReport`).

The numbers come from pure functions of arrays (:mod:`.exposure`, :mod:`.grouping`,
:mod:`.report_verdict`); these methods memoize them and hand them the report's arrays
and rows (:mod:`.records`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from typing import TypeVar

import numpy as np
import pandas as pd

from . import metrics
from .errors import MiaValueError
from .exposure import AttackColumn, flagged_table, member_order, ranks_table, record_table
from .group_auc import score_order
from .grouping import ExposedGroup, ValueGroups, exposed_group, group_summaries
from .options import AuditOptions
from .records import Records
from .report_verdict import flag_reason, verdict_positions
from .run_info import RunInfo
from .sorted_scores import SortedScores
from .verdict import Verdict

__all__ = ["RecordViews"]

_MAX_GROUPS = 30
_T = TypeVar("_T")


class RecordViews(ABC):
    """Record-level views of a report; :class:`~.results.AuditReport` supplies the data
    declared here (its fields and core properties)."""

    scores: pd.DataFrame
    options: AuditOptions
    info: RunInfo
    records: Records

    @abstractmethod
    def memoized(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """Supplied by the report."""

    @abstractmethod
    def sorted_scores(self, attack: str) -> SortedScores:
        """Supplied by the report."""

    @property
    @abstractmethod
    def verdict(self) -> Verdict:
        """Supplied by the report."""

    @property
    @abstractmethod
    def members(self) -> np.ndarray:
        """Supplied by the report."""

    @property
    def n_members(self) -> int:
        """Number of members (train rows; the train's people under ``person=``)."""
        people = self.info.n_member_people
        return int(self.info.n_members if people is None else people)

    @property
    def n_nonmembers(self) -> int:
        """Number of non-members (test rows; the test's people under ``person=``)."""
        people = self.info.n_nonmember_people
        return int(self.info.n_nonmembers if people is None else people)

    @property
    def units(self) -> str:
        """What the report counts: ``'records'``, or ``'people'`` under ``person=``."""
        return "records" if self.options.person is None else "people"

    @property
    @abstractmethod
    def attacks(self) -> list[str]:
        """Supplied by the report."""

    @property
    @abstractmethod
    def computed_attacks(self) -> list[str]:
        """Supplied by the report."""

    @property
    @abstractmethod
    def strongest(self) -> str | None:
        """Supplied by the report."""

    def rank_label(self) -> str:
        """Name of the flagged table's rank column: ``rank among N members``."""
        return f"rank among {self.n_members:,} members"

    def flagged(self, k: int | None = None, attack: str | None = None) -> pd.DataFrame:
        """The members the verdict identifies (at most ``k``), with their train rows.

        Parameters
        ----------
        k : int, default=options.flag
        attack : str, default=None
            None: the members the verdict's attack identifies at the verdict's FPR (no
            row at level 'none', or when no record can be singled out beyond chance;
            ``frame.attrs["reason"]`` then says why). An attack name: that attack's top
            ``k`` members, a ranking rather than a claim.

        Returns a DataFrame indexed by the rows' ``train`` index: the row's columns
        (redacted ones masked), the score under the attack and the rank among the members
        (1 = most member-like); :meth:`flagged_ranks` has the ranks under every attack.
        """
        order = self.flagged_positions(k, attack)
        attack = attack or self.strongest
        rows = self.records.rows(order)
        if attack:
            scores = self.scores[attack].to_numpy()[order]
            ranks = self.member_ranks(attack)[order]
            frame = flagged_table(
                rows,
                self.options.redact,
                scores,
                ranks,
                attack=attack,
                rank_label=self.rank_label(),
            )
        else:
            frame = rows
        frame.attrs["reason"] = "" if order.size else flag_reason(self.options.flag, self.verdict)
        return frame

    def flagged_ranks(self, k: int | None = None, attack: str | None = None) -> pd.DataFrame:
        """Rank among the members under every shown attack, for the records of
        :meth:`flagged` (same rows, same order; one int column per attack)."""
        order = self.flagged_positions(k, attack)
        ranks = {a: self.member_ranks(a)[order] for a in self.attacks}
        return ranks_table(self.records.rows(order).index, ranks)

    def flagged_positions(self, k: int | None = None, attack: str | None = None) -> np.ndarray:
        """Row positions in :attr:`scores` (= in ``train``) of the records that
        :meth:`flagged` lists, most exposed first."""
        k = max(self.options.flag if k is None else int(k), 0)
        if attack is None:
            verdict = self.verdict
            scores = None if verdict.attack is None else self.scores[verdict.attack].to_numpy()
            return verdict_positions(verdict, scores, self.members, k)
        return self.member_order(attack)[:k]

    def member_order(self, attack: str) -> np.ndarray:
        """Positions of the members from the highest score under ``attack`` down."""
        if attack not in self.computed_attacks:
            raise MiaValueError(f"No scores for attack '{attack}'. Have {self.computed_attacks}.")
        col = self.scores[attack].to_numpy()[: self.n_members]
        return self.memoized(("member_order", attack), lambda: member_order(col))

    def member_ranks(self, attack: str) -> np.ndarray:
        """Rank of every member under ``attack`` among the members only (1 = highest
        score; ties share the lowest rank), ordered like ``train``."""
        col = self.scores[attack].iloc[: self.n_members]
        rank = lambda: col.rank(ascending=False, method="min").to_numpy()  # noqa: E731
        return self.memoized(("member_rank", attack), rank)

    def record_scores(self, position: int) -> pd.DataFrame:
        """Why record ``position`` (a row of :attr:`scores`) stands out, per shown attack:
        ``score``, ``rank`` (1 = most member-like of all records) and ``above
        non-members`` (fraction of non-members scoring lower), indexed by attack."""
        columns = {
            a: AttackColumn(self.scores[a].to_numpy(), self.nonmember_sorted(a), self.ranks(a))
            for a in self.attacks
        }
        return record_table(position, columns)

    def nonmember_sorted(self, attack: str) -> np.ndarray:
        """The non-members' scores under ``attack``, sorted ascending (cleaned: NaN
        lowest; memoized, shared with the summary and the verdict)."""
        return self.sorted_scores(attack).nonmembers

    def ranks(self, attack: str) -> np.ndarray:
        """Rank of every record under ``attack`` (1 = most member-like; ties share the
        lowest rank), ordered like :attr:`scores`."""
        col = self.scores[attack]
        rank = lambda: col.rank(ascending=False, method="min").to_numpy()  # noqa: E731
        return self.memoized(("rank", attack), rank)

    def score_order(self, attack: str) -> np.ndarray:
        """Every record's position from the lowest score to the highest under
        ``attack`` (memoized: one sort shared by the group metrics of every column)."""
        return self.memoized(("order", attack), lambda: score_order(self.scores[attack].to_numpy()))

    def value_groups(self, col: str) -> ValueGroups:
        """Group label of every record for column ``col``, in value order (memoized)."""
        masked = col in self.options.redact
        return self.memoized(
            ("groups", col, masked), lambda: self.records.groups(col, masked=masked)
        )

    def slices(self, col: str | None = None, attack: str | None = None) -> pd.DataFrame:
        """Metrics of ``attack`` per value of ``col`` (quantile bins for numeric columns),
        one row per group in the order of the column's values (bins low to high).

        ``col`` defaults to the target (per class), ``attack`` to the verdict's attack
        (the first shown attack at level 'none'). Group labels of a redacted column are
        replaced by ``group 1``, ``group 2``...
        """
        col = col or self.info.target
        rows = {g: metrics.metrics_row(m) for g, m in self.slice_metrics(col, attack).items()}
        if not rows:
            empty: pd.DataFrame = pd.DataFrame()
            return empty
        out: pd.DataFrame = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = col
        return out

    def slice_metrics(
        self, col: str | None = None, attack: str | None = None
    ) -> dict[str, metrics.AttackMetrics]:
        """Typed metrics of :meth:`slices`, per group label (same order)."""
        summaries = self.slice_summaries(col, attack)
        return {g: metrics.metrics_from_summary(b, self.options.fpr) for g, b in summaries.items()}

    def slice_summaries(
        self, col: str | None = None, attack: str | None = None
    ) -> dict[str, metrics.ScoreSummary]:
        """The FPR-independent part of :meth:`slice_metrics` (ROC, AUC, advantage, epsilon
        bound) per group, same order and defaults (memoized; ``_MAX_GROUPS`` at most,
        the largest groups, in value order)."""
        attack = attack or self.strongest or next(iter(self.attacks), None)
        if attack is None:
            return {}
        groups = self.value_groups(col := col or self.info.target)
        conf, delta = self.options.confidence, self.options.delta
        compute = lambda: group_summaries(  # noqa: E731
            self.scores[attack].to_numpy(), self.members, groups, confidence=conf, delta=delta,
            limit=_MAX_GROUPS, ranked=self.score_order(attack),
        )  # fmt: skip
        return self.memoized(("slices", col, groups.masked, attack, conf, delta), compute)

    def exposed_group(
        self, col: str | None = None, attack: str | None = None
    ) -> ExposedGroup | None:
        """The group of ``col`` where ``attack`` does best, when beyond chance at
        ``options.confidence`` after a Bonferroni correction over the groups (see
        :func:`.grouping.exposed_group`); None otherwise. Only the groups the slice
        table lists (``_MAX_GROUPS`` at most, the largest) are compared."""
        attack, col = attack or self.strongest, col or self.info.target
        if attack is None:
            return None
        groups, conf = self.value_groups(col), self.options.confidence
        key = ("exposed_group", col, groups.masked, attack, conf)
        find = lambda: exposed_group(  # noqa: E731
            self.scores[attack].to_numpy(), self.members, groups, confidence=conf,
            ranked=self.score_order(attack), limit=_MAX_GROUPS,
        )  # fmt: skip
        return self.memoized(key, find)
