"""The audit result: a data object holding per-record scores and their summaries.

Everything here derives from the per-record ``scores`` and the view options, so a new
FPR target, flag count, slice or redaction is :meth:`AuditReport.with_options` away and
never re-queries a model. The numbers come from pure functions of arrays (:mod:`.metrics`,
:mod:`.grouping`, :mod:`.exposure`, :mod:`.report_verdict`), memoized here."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from . import metrics
from .data import AuditData
from .errors import MiaValueError
from .exposure import REDACTED, mask
from .grouping import rank_equivalent_groups
from .options import AuditOptions, check_names, view_option_names
from .outputs import Renderer, Slot, jsonable, records
from .person_scores import count_people
from .records import Records, RecordsNotSaved
from .report_records import RecordViews
from .report_verdict import attack_labels, judge_by_setting
from .run_info import RunInfo
from .saving import ReportFile, write_report
from .sorted_scores import SortedScores
from .verdict import Policy, Verdict
from .verdict import check as check_verdict
from .verdict.settings import SETTINGS, SettingPolicies, api_words

__all__ = ["REDACTED", "AuditReport", "ReportRenderer", "set_renderer"]

_T = TypeVar("_T")


#: What renders an :class:`AuditReport` (``mia_notebook.render.Renderer``).
ReportRenderer = Renderer["AuditReport"]


RENDERER: Slot[ReportRenderer] = Slot("report")


def set_renderer(factory: Callable[[], ReportRenderer] | None) -> None:
    """Make reports render with ``factory()``, called when a report is first shown."""
    RENDERER.install(factory)


@dataclass(frozen=True, eq=False)
class AuditReport(RecordViews):
    """Result of :func:`mia_notebook.audit` (or :func:`mia_notebook.load`).

    Attributes
    ----------
    scores : DataFrame of shape (n_records, 1 + n_attacks)
        Index ``(split, index)``: ``'train'``/``'test'`` and the row's original index
        label. Column ``member`` (bool), then one column of membership scores per
        attack (higher = more likely a member).
    options : AuditOptions
        The options of this audit and view: ``audit(..., options=report.options)``
        repeats it.
    info : RunInfo
        Facts of the run: model, counts, reference models trained, task utility.
    skipped : dict of str to str
        Attacks that did not run, with the reason.
    notes : tuple of str
        Caveats (e.g. how probabilities were obtained).
    versions, fingerprints, timings : dict
        Reproducibility record: package versions, hashes of model and data, seconds.
    records : Records
        The rows behind the scores (the caller's frames, or what a file saved).
    """

    scores: pd.DataFrame
    options: AuditOptions
    info: RunInfo
    skipped: dict[str, str]
    notes: tuple[str, ...]
    versions: dict[str, str]
    fingerprints: dict[str, str]
    timings: dict[str, float]
    records: Records = field(repr=False)
    #: Extra per-attack material for inspection (e.g. reference-model statistics).
    evidence: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Under ``person=``: every row's scores (``scores`` then holds one row per person,
    #: the unit every number counts); None otherwise (the rows are ``scores``).
    row_scores: pd.DataFrame | None = field(default=None, repr=False)
    #: Memo of computed numbers, shared by every report that :meth:`with_options` derives
    #: from this one. Numbers only: rendered output is memoized by the render layer.
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
    def data(self) -> AuditData:
        """The audited frames (an error for a report loaded without its data)."""
        data = self.records.data
        if data is None:
            raise RecordsNotSaved(
                "This report was loaded from a file saved without its data frames; save "
                "the audit with report.save(path, include_data=True) to keep them."
            )
        return data

    @property
    def members(self) -> np.ndarray:
        """Whether each row of :attr:`scores` is a member (read-only, computed once)."""
        column = lambda: self.scores["member"].to_numpy(dtype=bool, copy=True)  # noqa: E731
        out: np.ndarray = self.memoized(("members",), column)
        out.flags.writeable = False
        return out

    @property
    def computed_attacks(self) -> list[str]:
        names = lambda: tuple(c for c in self.scores.columns if c != "member")  # noqa: E731
        return list(self.memoized(("computed_attacks",), names))

    @property
    def attacks(self) -> list[str]:
        """Attacks shown (the computed ones, filtered by ``options.show``)."""
        shown = self.options.show
        if shown is None:
            return self.computed_attacks
        return [a for a in self.computed_attacks if a in shown]

    @property
    def settings(self) -> dict[str, Any]:
        """Every option (the policy in effect), then the run's facts, for display; the
        facts' ``features`` are the columns used (the option's None means "the model's")."""
        opts = self.options.to_dict()
        pol = self.options.policy
        opts["policy"] = (
            {s: self.options.policy_for(s).to_dict() for s in SETTINGS}
            if isinstance(pol, SettingPolicies)
            else self.options.policy_or_default.to_dict()
        )
        return {**opts, **self.info.to_dict(), "attacks_shown": self.attacks}

    def with_options(self, **changes: Any) -> AuditReport:
        """A report with other view options, sharing these scores (no recomputation).

        Parameters
        ----------
        **changes
            View options of :class:`AuditOptions`: ``fpr``, ``flag``, ``slice``,
            ``redact``, ``show``, ``confidence``, ``delta``, ``policy``, ``setting`` (the
            verdict is judged again, from the same scores). The others change what is computed:
            ``audit(..., options=report.options.replace(...))``.
        """
        check_names(changes)
        compute = [k for k in changes if k not in view_option_names()]
        if compute:
            hint = (
                " (show= chooses which computed attacks are shown)" if "attacks" in compute else ""
            )
            raise MiaValueError(
                f"The '{compute[0]}' option changes what is computed{hint}: run a new audit, "
                f"audit(model, ..., options=report.options.replace({compute[0]}=...)). "
                f"with_options takes {view_option_names()}."
            )
        opts = self.options.replace(**changes)
        self.records.check_view(opts.slice, opts.redact, opts.flag)
        missing = [a for a in opts.show or () if a not in self.computed_attacks]
        if missing:
            raise MiaValueError(
                f"Attacks {missing} were not computed. Computed: {self.computed_attacks}."
            )
        return replace(self, options=opts)

    # --------------------------------------------------------------- metrics
    def sorted_scores(self, attack: str) -> SortedScores:
        """``attack``'s member and non-member scores, each sorted (memoized: the summary,
        the ROC, the ranks and the verdict all read this one sort)."""
        col = self.scores[attack].to_numpy()
        sort = lambda: SortedScores.members_first(col, self.n_members)  # noqa: E731
        return self.memoized(("sorted_scores", attack), sort)

    def score_summary(self, attack: str) -> metrics.ScoreSummary:
        """ROC, AUC, advantage and epsilon bound of ``attack`` on all records: the
        FPR-independent part of :meth:`attack_metrics` (memoized)."""
        conf, delta = self.options.confidence, self.options.delta
        return self.memoized(
            ("stats", attack, conf, delta),
            lambda: metrics.summary_from_sorted(
                self.sorted_scores(attack), confidence=conf, delta=delta
            ),
        )

    @property
    def summary(self) -> pd.DataFrame:
        """One row per attack: AUC, TPR at each FPR target, advantage, epsilon bound."""
        opts = self.options
        key = ("summary", tuple(self.attacks), opts.fpr, opts.confidence, opts.delta)
        return self.memoized(key, self._compute_summary)

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
        """:attr:`summary` with one row per group of rank-equivalent attacks, indexed by
        the group's first attack; column ``group`` lists every attack of the group."""
        groups = self.rank_groups()
        out: pd.DataFrame = self.summary.loc[[g[0] for g in groups]].copy()
        out.insert(0, "group", [", ".join(g) for g in groups])
        return out

    @property
    def strongest(self) -> str | None:
        """The verdict's attack (None at level 'none': no attack beats chance)."""
        return self.verdict.attack

    @property
    def verdict(self) -> Verdict:
        """The risk level and its evidence, judged on EVERY computed attack (hiding
        attacks cannot change it) under ``options.policy`` (see ``docs/verdict.md``), in
        the threat model ``options.setting``; ``verdict.settings`` keeps each one."""
        opts, attacks = self.options, self.computed_attacks
        policies = {s: opts.policy_for(s) for s in SETTINGS}

        def compute() -> Verdict:
            return judge_by_setting(
                {a: self.scores[a].to_numpy() for a in attacks},
                self.members,
                threats=self.info.threat_models,
                policies=policies,
                setting=opts.setting,
                api=api_words(str(opts.outputs), self.info.model_kind),
                max_flag=opts.flag,
                labels=attack_labels(attacks, self.info.references_ok),
                sorted_scores={a: self.sorted_scores(a) for a in attacks},
            )

        key = ("verdict", *opts.verdict_key)
        verdict: Verdict = self.memoized(key, compute)
        if self.options.person is not None:  # the sentences count people
            verdict = count_people(verdict)
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

    # -------------------------------------------------------------- export
    def to_dict(self) -> dict[str, Any]:
        """A one-way summary as plain Python: verdict, metrics, flagged records
        (redacted), slices, settings, provenance. To keep the audit itself, use
        :meth:`save` (which :func:`mia_notebook.load` reads back)."""
        flagged = self.flagged()
        slices = {self.info.target: records(self.slices())}
        if self.options.slice:
            slices[self.options.slice] = records(self.slices(self.options.slice))
        return {
            "verdict": self.verdict.to_dict(),
            "summary": records(self.summary),
            "strongest_attack": self.strongest,
            "flagged": records(flagged),
            "flagged_reason": flagged.attrs.get("reason", ""),
            "slices": slices,
            "settings": self.settings,
            "skipped": dict(self.skipped),
            "notes": list(self.notes),
            "versions": dict(self.versions),
            "fingerprints": dict(self.fingerprints),
            "timings": dict(self.timings),
        }

    def to_json(self, path: str | Path | None = None, **kwargs: Any) -> str:
        """JSON of :meth:`to_dict` (NaN as null; one-way: :meth:`save` keeps the audit);
        also written to ``path`` if given."""
        text = json.dumps(jsonable(self.to_dict()), default=str, allow_nan=False, **kwargs)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def save(self, path: str | Path, *, include_data: bool = False) -> Path:
        """Save the audit to ``path`` (a zip file; :func:`mia_notebook.load` reads it).

        Parameters
        ----------
        path : str or Path
        include_data : bool, default=False
            Also store the audited frames (``train``, ``test``): the loaded report can
            then slice by any column and list any number of records. Without them the
            file holds the scores, options, run information, the rows of the
            ``options.flag`` most exposed members under each attack (redaction applied;
            under ``person=`` their rows listed on expand too) and the groups of the
            target and slice columns; the loaded report renders
            exactly like this one and takes any view within those limits.

        Returns
        -------
        Path
            Where the file was written.
        """
        return write_report(Path(path), self._file(include_data))

    def _file(self, include_data: bool) -> ReportFile:
        opts = self.options
        base = ReportFile(
            scores=self.scores,
            options=opts.to_dict(),
            info=self.info.to_dict(),
            skipped=dict(self.skipped),
            notes=list(self.notes),
            versions=dict(self.versions),
            fingerprints=dict(self.fingerprints),
            timings=dict(self.timings),
            columns=(self.records.train_columns, self.records.test_columns),
            row_scores=self.row_scores,
        )
        if include_data:
            return replace(base, data=self.data)
        tops = [self.member_order(a)[: opts.flag] for a in self.computed_attacks]
        positions = np.unique(np.concatenate([np.zeros(0, np.intp), *tops]))
        cols = dict.fromkeys([self.info.target, *([opts.slice] if opts.slice else [])])
        people = getattr(self.records, "saved_person_rows", None)  # person=: their rows
        return replace(
            base,
            person_rows=None if people is None else mask(people(tops), opts.redact),
            rows=mask(self.records.rows(positions), opts.redact),
            positions=positions,
            groups={c: self.value_groups(c) for c in cols},
            redacted=opts.redact,
            flag=opts.flag,
        )

    def to_html(self, path: str | Path | None = None) -> str:
        """A standalone HTML page (tables, inline ROC image, settings); written to ``path``."""
        page = RENDERER.get().page(self)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return RENDERER.get().bundle(self)

    def __repr__(self) -> str:
        if not RENDERER.installed:
            return f"<AuditReport: {len(self.scores):,} records, attacks {self.computed_attacks}>"
        return RENDERER.get().text(self)
