"""The audit result: a data object holding per-record scores and their summaries.

Everything here is derived from the per-record ``scores`` and the view options, so a
new FPR target, flag count, slice or redaction is :meth:`AuditReport.with_options`
away and never re-queries a model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from . import metrics
from .data import AuditData, check_view_columns
from .errors import MiaValueError
from .exposure import REDACTED, flagged_table, ranks_table, record_table, top_members
from .grouping import (
    ExposedGroup,
    ValueGroups,
    exposed_group,
    group_summaries,
    rank_equivalent_groups,
    slice_groups,
)
from .options import ViewOptions
from .outputs import RENDERERS, jsonable, renderer, report_dict, report_settings
from .report_verdict import flag_reason, report_verdict, sorted_scores, verdict_positions
from .verdict import Policy, Verdict
from .verdict import check as check_verdict

__all__ = ["REDACTED", "AuditReport"]

_MAX_GROUPS = 30
_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class AuditReport:
    """Result of :func:`mia_notebook.audit`.

    Attributes
    ----------
    scores : DataFrame of shape (n_records, 1 + n_attacks)
        Index ``(split, index)``: ``'train'``/``'test'`` and the row's original index
        label. Column ``member`` (bool), then one column of membership scores per
        attack (higher = more likely a member).
    options : ViewOptions
        FPR targets, flag count, slice, redaction used for the summaries.
    run : dict
        Settings of the computation (model kind, attacks asked for, seed, target,
        features, references...).
    skipped : dict of str to str
        Attacks that did not run, with the reason.
    notes : tuple of str
        Caveats (e.g. how probabilities were obtained).
    versions, fingerprints, timings : dict
        Reproducibility record: package versions, hashes of model and data, seconds.
    """

    scores: pd.DataFrame
    options: ViewOptions
    run: dict[str, Any]
    skipped: dict[str, str]
    notes: tuple[str, ...]
    versions: dict[str, str]
    fingerprints: dict[str, str]
    timings: dict[str, float]
    data: AuditData = field(repr=False)
    #: Extra per-attack material for inspection (e.g. reference-model statistics).
    evidence: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Memo of computed numbers (ROC summaries, ranks, groups, summary tables), shared
    #: by every report that :meth:`with_options` derives from this one, so a new view
    #: only redoes what depends on the changed options. Numbers only: rendered output
    #: (HTML, PNG, figures) is memoized by the render layer, never here.
    _memo: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)

    def memoized(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """``compute()``, memoized under ``key`` for this report and its re-views."""
        try:
            found: _T = self._memo[key]
        except KeyError:
            found = self._memo[key] = compute()
        return found

    # ---------------------------------------------------------------- basics
    @property
    def members(self) -> np.ndarray:
        return self.scores["member"].to_numpy(dtype=bool)

    @property
    def n_members(self) -> int:
        """Number of members (train rows)."""
        return int(self.data.n_train)

    @property
    def computed_attacks(self) -> list[str]:
        return [c for c in self.scores.columns if c != "member"]

    @property
    def attacks(self) -> list[str]:
        """Attacks shown (the computed ones, filtered by ``options.attacks``)."""
        shown = self.options.attacks
        if shown is None:
            return self.computed_attacks
        return [a for a in self.computed_attacks if a in shown]

    @property
    def settings(self) -> dict[str, Any]:
        """Every setting of this report: computation and view."""
        return report_settings(self)

    def with_options(self, **changes: Any) -> AuditReport:
        """A report with other view options, sharing these scores (no recomputation).

        Parameters
        ----------
        **changes
            Fields of :class:`ViewOptions`: ``fpr``, ``flag``, ``slice``, ``redact``,
            ``attacks``, ``confidence``, ``delta``, ``policy`` (a :class:`Policy` or a
            dict of its fields; the verdict is judged again, from the same scores).
        """
        unknown = set(changes) - set(ViewOptions.__dataclass_fields__)
        if unknown:
            raise MiaValueError(
                f"Unknown option(s) {sorted(unknown)}; these need a new audit, not a new view."
            )
        opts = replace(self.options, **changes).validated()
        check_view_columns(opts, self.data.train.columns, self.data.test.columns)
        missing = [a for a in opts.attacks or () if a not in self.computed_attacks]
        if missing:
            raise MiaValueError(
                f"Attacks {missing} were not computed. Computed: {self.computed_attacks}."
            )
        return replace(self, options=opts)

    # --------------------------------------------------------------- metrics
    def score_summary(self, attack: str) -> metrics.ScoreSummary:
        """ROC, AUC, advantage and epsilon bound of ``attack`` on all records: the
        FPR-independent part of :meth:`attack_metrics` (memoized)."""
        conf, delta = self.options.confidence, self.options.delta
        return self.memoized(
            ("stats", attack, conf, delta),
            lambda: metrics.summary_from_sorted(
                sorted_scores(self, attack), confidence=conf, delta=delta
            ),
        )

    def _view_key(self) -> tuple[Any, ...]:
        opts = self.options
        return (tuple(self.attacks), opts.fpr, opts.confidence, opts.delta)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per attack: AUC, TPR at each FPR target, advantage, epsilon bound."""
        return self.memoized(("summary", *self._view_key()), self._compute_summary)

    def attack_metrics(self, attack: str) -> metrics.AttackMetrics:
        """Typed metrics of ``attack`` at the FPR targets (values, intervals, notes)."""
        return metrics.metrics_from_summary(self.score_summary(attack), self.options.fpr)

    def _compute_summary(self) -> pd.DataFrame:
        rows = {name: metrics.metrics_row(self.attack_metrics(name)) for name in self.attacks}
        out: pd.DataFrame = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "attack"
        return out

    def rank_groups(self, *, shown: bool = True) -> list[tuple[str, ...]]:
        """Attacks grouped by rank equivalence: scores that order the records identically,
        so every metric is the same (see :mod:`.grouping`).

        Parameters
        ----------
        shown : bool, default=True
            Group the shown attacks only (else every computed attack).
        """
        groups: list[tuple[str, ...]] = self.memoized(
            ("rank_groups",),
            lambda: rank_equivalent_groups(self.scores, self.computed_attacks),
        )
        if not shown:
            return groups
        keep = set(self.attacks)
        kept = (tuple(a for a in g if a in keep) for g in groups)
        return [g for g in kept if g]

    def grouped_summary(self) -> pd.DataFrame:
        """:attr:`summary` with one row per group of rank-equivalent attacks.

        Indexed by the group's first attack; column ``group`` lists every attack of the
        group (their numbers are identical). :attr:`summary` keeps one row per attack.
        """
        summ = self.summary
        groups = self.rank_groups()
        out: pd.DataFrame = summ.loc[[g[0] for g in groups]].copy()
        out.insert(0, "group", [", ".join(g) for g in groups])
        return out

    @property
    def strongest(self) -> str | None:
        """The verdict's attack (None at level 'none': no attack beats chance)."""
        return self.verdict.attack

    @property
    def verdict(self) -> Verdict:
        """The risk level and its evidence, judged on EVERY computed attack (hiding
        attacks cannot change it) under ``options.policy`` (see ``docs/verdict.md``)."""
        key = ("verdict", self.options.policy_or_default, self.options.flag)
        verdict: Verdict = self.memoized(key, lambda: report_verdict(self))
        return verdict

    def check(
        self, policy: Policy | Mapping[str, Any] | None = None, *, fail_on: str = "high"
    ) -> Verdict:
        """Raise :class:`~.errors.PrivacyRiskError` when the risk level reaches ``fail_on``.

        Parameters
        ----------
        policy : Policy or dict, default=None
            Judge under this policy (default: the report's).
        fail_on : {'low', 'elevated', 'high'}, default='high'

        Returns the verdict when it passes; the error's message is the verdict.
        """
        report = self if policy is None else self.with_options(policy=policy)
        check_verdict(report.verdict, fail_on=fail_on)
        return report.verdict

    def roc_curves(self) -> dict[str, metrics.RocCurve]:
        """ROC curve of every shown attack."""
        out = {}
        for name in self.attacks:
            curve = self.score_summary(name).curve
            if curve is not None:
                out[name] = curve
        return out

    # -------------------------------------------------------------- records
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
        frame = flagged_table(self, order, attack) if attack else self.data.train.iloc[:0]
        frame.attrs["reason"] = "" if order.size else flag_reason(self, self.verdict)
        return frame

    def flagged_ranks(self, k: int | None = None, attack: str | None = None) -> pd.DataFrame:
        """Rank among the members under every shown attack, for the records of
        :meth:`flagged` (same rows, same order; one int column per attack)."""
        return ranks_table(self, self.flagged_positions(k, attack))

    def flagged_positions(self, k: int | None = None, attack: str | None = None) -> np.ndarray:
        """Row positions in :attr:`scores` (= in ``data.train``) of the records that
        :meth:`flagged` lists, most exposed first."""
        k = max(self.options.flag if k is None else int(k), 0)
        if attack is None:
            return verdict_positions(self, self.verdict, k)
        return top_members(self, attack, k)

    def member_ranks(self, attack: str) -> np.ndarray:
        """Rank of every member under ``attack`` among the members only (1 = highest
        score; ties share the lowest rank), ordered like ``data.train``."""
        col = self.scores[attack].iloc[: self.n_members]
        rank = lambda: col.rank(ascending=False, method="min").to_numpy()  # noqa: E731
        return self.memoized(("member_rank", attack), rank)

    def record_scores(self, position: int) -> pd.DataFrame:
        """Why record ``position`` (a row of :attr:`scores`) stands out, per shown attack.

        Returns
        -------
        DataFrame indexed by attack: ``score``, ``rank`` (1 = most member-like of all
        records) and ``above non-members`` (fraction of non-members scoring lower).
        """
        return record_table(self, position)

    def nonmember_sorted(self, attack: str) -> np.ndarray:
        """The non-members' scores under ``attack``, sorted ascending (cleaned: NaN
        lowest; memoized, shared with the summary and the verdict)."""
        return sorted_scores(self, attack).nonmembers

    def ranks(self, attack: str) -> np.ndarray:
        """Rank of every record under ``attack`` (1 = most member-like; ties share the
        lowest rank), ordered like :attr:`scores`."""
        col = self.scores[attack]
        rank = lambda: col.rank(ascending=False, method="min").to_numpy()  # noqa: E731
        return self.memoized(("rank", attack), rank)

    def value_groups(self, col: str) -> ValueGroups:
        """Group label of every record for column ``col``, in value order (memoized)."""
        masked = col in self.options.redact
        return self.memoized(
            ("groups", col, masked), lambda: slice_groups(self.data, col, masked=masked)
        )

    def slices(self, col: str | None = None, attack: str | None = None) -> pd.DataFrame:
        """Metrics of ``attack`` per value of ``col`` (quantile bins for numeric columns),
        one row per group in the order of the column's values (bins low to high).

        ``col`` defaults to the target (per class), ``attack`` to the verdict's attack
        (the first shown attack at level 'none'). Group labels of a redacted column are
        replaced by ``group 1``, ``group 2``...
        """
        col = col or self.data.target
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
        bound) per group, same order and defaults (memoized; ``_MAX_GROUPS`` at most)."""
        attack = attack or self.strongest or next(iter(self.attacks), None)
        if attack is None:
            return {}
        groups = self.value_groups(col := col or self.data.target)
        conf, delta, scores = self.options.confidence, self.options.delta, self.scores[attack]
        compute = lambda: group_summaries(  # noqa: E731
            scores.to_numpy(), self.members, groups, confidence=conf, delta=delta, limit=_MAX_GROUPS
        )
        return self.memoized(("slices", col, groups.masked, attack, conf, delta), compute)

    def exposed_group(
        self, col: str | None = None, attack: str | None = None
    ) -> ExposedGroup | None:
        """The group of ``col`` where ``attack`` does best, when beyond chance at
        ``options.confidence`` after a Bonferroni correction over the groups (see
        :func:`.grouping.exposed_group`); None otherwise."""
        attack, col = attack or self.strongest, col or self.data.target
        if attack is None:
            return None
        groups, conf = self.value_groups(col), self.options.confidence
        scores = self.scores[attack].to_numpy()
        key = ("exposed_group", col, groups.masked, attack, conf)
        find = lambda: exposed_group(scores, self.members, groups, confidence=conf)  # noqa: E731
        return self.memoized(key, find)

    # -------------------------------------------------------------- export
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python summary: settings, metrics, flagged records (redacted), provenance."""
        return report_dict(self)

    def to_json(self, path: str | Path | None = None, **kwargs: Any) -> str:
        """JSON of :meth:`to_dict` (NaN as null); also written to ``path`` if given."""
        text = json.dumps(jsonable(self.to_dict()), default=str, allow_nan=False, **kwargs)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        """A standalone HTML page (tables, inline ROC image, settings); written to ``path``."""
        page = renderer().page(self)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return renderer().bundle(self)

    def __repr__(self) -> str:
        if not RENDERERS:
            return f"<AuditReport: {len(self.scores):,} records, attacks {self.computed_attacks}>"
        return renderer().text(self)
