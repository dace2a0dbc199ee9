"""The audit result: a data object holding per-record scores and their summaries.

Everything here is derived from the per-record ``scores`` and the view options, so a
new FPR target, flag count, slice or redaction is :meth:`AuditReport.with_options`
away and never re-queries a model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import metrics
from .data import AuditData
from .errors import MiaValueError
from .spec import ViewOptions

__all__ = ["REDACTED", "AuditReport"]

#: What a redacted value is replaced with in every output.
REDACTED = "■■■"
_NUMERIC_BINS = 4
_MAX_GROUPS = 30


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
    #: Memo of option-independent intermediate results (ROC curves, slice groups, ranks),
    #: shared by every report that :meth:`with_options` derives from this one, so a new
    #: view only redoes what depends on the changed options.
    _memo: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)

    def memoized(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, memoized under ``key`` for this report and its re-views."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute()
            return value

    # ---------------------------------------------------------------- basics
    @property
    def members(self) -> np.ndarray:
        return self.scores["member"].to_numpy(dtype=bool)

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
        view = {
            "fpr": list(self.options.fpr),
            "flag": self.options.flag,
            "slice": self.options.slice,
            "redact": list(self.options.redact),
            "confidence": self.options.confidence,
            "delta": self.options.delta,
            "attacks_shown": self.attacks,
        }
        return {**self.run, **view}

    def with_options(self, **changes: Any) -> AuditReport:
        """A report with other view options, sharing these scores (no recomputation).

        Parameters
        ----------
        **changes
            Fields of :class:`ViewOptions`: ``fpr``, ``flag``, ``slice``, ``redact``,
            ``attacks``, ``confidence``, ``delta``.
        """
        unknown = set(changes) - set(ViewOptions.__dataclass_fields__)
        if unknown:
            raise MiaValueError(
                f"Unknown option(s) {sorted(unknown)}; these need a new audit, not a new view."
            )
        opts = replace(self.options, **changes).validated()
        check_view(opts, self.data, self.computed_attacks)
        return replace(self, options=opts)

    # --------------------------------------------------------------- metrics
    def _score_summary(self, attack: str) -> metrics.ScoreSummary:
        """ROC, AUC, advantage and epsilon bound of ``attack`` on all records (memoized)."""
        conf, delta = self.options.confidence, self.options.delta
        return self.memoized(
            ("stats", attack, conf, delta),
            lambda: metrics.score_summary(
                self.scores[attack].to_numpy(), self.members, confidence=conf, delta=delta
            ),
        )

    @cached_property
    def summary(self) -> pd.DataFrame:
        """One row per attack: AUC, TPR at each FPR target, advantage, epsilon bound."""
        rows = {
            name: metrics.metrics_row(
                metrics.metrics_from_summary(self._score_summary(name), self.options.fpr)
            )
            for name in self.attacks
        }
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "attack"
        return out

    @cached_property
    def strongest(self) -> str | None:
        """The attack with the highest TPR at the lowest resolvable FPR target, then AUC."""
        summ = self.summary
        if summ.empty:
            return None
        keys = [metrics.fpr_label(t) for t in self.options.fpr]
        resolvable = [k for k in keys if summ[k].notna().any()]
        order = [*resolvable[:1], "AUC"]
        ranked = summ[order].fillna(-np.inf).sort_values(order, ascending=False, kind="stable")
        return str(ranked.index[0])

    def roc_curves(self) -> dict[str, metrics.RocCurve]:
        """ROC curve of every shown attack."""
        out = {}
        for name in self.attacks:
            curve = self._score_summary(name).curve
            if curve is not None:
                out[name] = curve
        return out

    # -------------------------------------------------------------- records
    def _mask(self, frame: pd.DataFrame) -> pd.DataFrame:
        redact = [c for c in self.options.redact if c in frame.columns]
        if not redact:
            return frame
        frame = frame.copy()
        for c in redact:
            frame[c] = REDACTED
        return frame

    def flagged(self, k: int | None = None, attack: str | None = None) -> pd.DataFrame:
        """The ``k`` members most exposed under ``attack``, joined to their train rows.

        Parameters
        ----------
        k : int, default=options.flag
        attack : str, default=the strongest attack

        Returns
        -------
        DataFrame indexed by the rows' original ``train`` index: the score under
        ``attack``, the record's rank under each attack (1 = most member-like of all
        records), then the row's columns (redacted columns masked).
        """
        attack = attack or self.strongest
        order = self.flagged_positions(k, attack)
        if order.size == 0 or attack is None:
            return pd.DataFrame()
        member_scores = self.scores[attack].to_numpy()[: self.data.n_train]
        ranks = {f"rank ({a})": self.ranks(a)[order] for a in self.attacks}
        rows = self._mask(self.data.train.iloc[order])
        head = pd.DataFrame(
            {f"score ({attack})": member_scores[order], **ranks}, index=rows.index
        )
        head = head.astype({c: "int64" for c in ranks})
        return pd.concat([head, rows], axis=1)

    def flagged_positions(self, k: int | None = None, attack: str | None = None) -> np.ndarray:
        """Row positions in :attr:`scores` (= in ``data.train``) of the records that
        :meth:`flagged` lists, most exposed first."""
        k = self.options.flag if k is None else int(k)
        attack = attack or self.strongest
        if k <= 0 or attack is None:
            return np.empty(0, dtype=np.intp)
        if attack not in self.computed_attacks:
            raise MiaValueError(f"No scores for attack '{attack}'. Have {self.computed_attacks}.")
        member_scores = self.scores[attack].to_numpy()[: self.data.n_train]
        order = self.memoized(
            ("member_order", attack), lambda: np.argsort(-member_scores, kind="stable")
        )
        return np.asarray(order[:k])

    def record_scores(self, position: int) -> pd.DataFrame:
        """Why record ``position`` (a row of :attr:`scores`) stands out, per shown attack.

        Returns
        -------
        DataFrame indexed by attack: ``score``, ``rank`` (1 = most member-like of all
        records) and ``above non-members`` (fraction of non-members scoring lower).
        """
        n = len(self.scores)
        if not 0 <= position < n:
            raise MiaValueError(f"The 'position' parameter must be in [0, {n}). Got {position}.")
        rows = {}
        for a in self.attacks:
            nonmember = self._nonmember_sorted(a)
            score = float(self.scores[a].to_numpy()[position])
            below = np.searchsorted(nonmember, score, side="left")
            rows[a] = {
                "score": score,
                "rank": int(self.ranks(a)[position]),
                "above non-members": below / nonmember.size if nonmember.size else math.nan,
            }
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "attack"
        return out

    def _nonmember_sorted(self, attack: str) -> np.ndarray:
        def compute() -> np.ndarray:
            return np.sort(self.scores[attack].to_numpy()[~self.members])

        return self.memoized(("nonmember_sorted", attack), compute)

    def ranks(self, attack: str) -> np.ndarray:
        """Rank of every record under ``attack`` (1 = most member-like; ties share the
        lowest rank), ordered like :attr:`scores`."""
        return self.memoized(
            ("rank", attack),
            lambda: self.scores[attack].rank(ascending=False, method="min").to_numpy(),
        )

    def _groups(self, col: str) -> tuple[pd.Series, bool]:
        """Group label of every record for column ``col``, and whether labels are masked."""
        masked = col in self.options.redact
        return self.memoized(
            ("groups", col, masked), lambda: self._compute_groups(col, masked)
        )

    def _compute_groups(self, col: str, masked: bool) -> tuple[pd.Series, bool]:
        cols = {str(c) for c in self.data.train.columns} & {str(c) for c in self.data.test.columns}
        if col not in cols:
            raise MiaValueError(
                f"Cannot slice by '{col}': not a column of both train and test. "
                f"Choose one of {sorted(cols)[:12]}."
            )
        values = self.data.column(col)
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if numeric and values.nunique() > 10:
            bins = pd.qcut(values.astype("float64"), q=_NUMERIC_BINS, duplicates="drop")
            groups = bins.map(lambda iv: f"{iv.left:.4g} – {iv.right:.4g}").astype(str)
        else:
            groups = values.astype(object).where(values.notna(), "missing").astype(str)
        if masked:
            codes = {v: f"group {i + 1}" for i, v in enumerate(sorted(groups.unique()))}
            groups = groups.map(codes)
        return groups.reset_index(drop=True), masked

    def slices(self, col: str | None = None, attack: str | None = None) -> pd.DataFrame:
        """Metrics of ``attack`` per value of ``col`` (quantile bins for numeric columns).

        ``col`` defaults to the target (per class). Group labels of a redacted column
        are replaced by ``group 1``, ``group 2``...
        """
        col = col or self.data.target
        attack = attack or self.strongest
        if attack is None:
            return pd.DataFrame()
        rows = {
            g: metrics.metrics_row(metrics.metrics_from_summary(base, self.options.fpr))
            for g, base in self._slice_summaries(col, attack).items()
        }
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = col
        return out.sort_values("AUC", ascending=False, na_position="last")

    def _slice_summaries(self, col: str, attack: str) -> dict[str, metrics.ScoreSummary]:
        """FPR-independent metrics of ``attack`` in each group of ``col`` (memoized)."""
        groups, masked = self._groups(col)
        conf, delta = self.options.confidence, self.options.delta

        def compute() -> dict[str, metrics.ScoreSummary]:
            scores = self.scores[attack].to_numpy()
            members = self.members
            out = {}
            for g in groups.value_counts().index[:_MAX_GROUPS]:
                mask = (groups == g).to_numpy()
                out[g] = metrics.score_summary(
                    scores[mask], members[mask], confidence=conf, delta=delta
                )
            return out

        return self.memoized(
            ("slices", col, masked, attack, conf, delta), compute
        )

    # -------------------------------------------------------------- export
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python summary: settings, metrics, flagged records (redacted), provenance."""
        strongest = self.strongest
        out: dict[str, Any] = {
            "summary": _records(self.summary),
            "strongest_attack": strongest,
            "flagged": _records(self.flagged()),
            "slices": {self.data.target: _records(self.slices())},
            "settings": self.settings,
            "skipped": dict(self.skipped),
            "notes": list(self.notes),
            "versions": dict(self.versions),
            "fingerprints": dict(self.fingerprints),
            "timings": dict(self.timings),
        }
        if self.options.slice:
            out["slices"][self.options.slice] = _records(self.slices(self.options.slice))
        return out

    def to_json(self, path: str | Path | None = None, **kwargs: Any) -> str:
        """JSON of :meth:`to_dict` (NaN as null); also written to ``path`` if given."""
        text = json.dumps(_jsonable(self.to_dict()), default=str, allow_nan=False, **kwargs)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        """A standalone HTML page (tables, inline ROC image, settings); written to ``path``."""
        from mia_notebook.report import render_page

        page = render_page(self)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from mia_notebook.report import render_bundle

        return render_bundle(self)

    def __repr__(self) -> str:
        from mia_notebook.report import render_text

        return render_text(self)


def check_view(opts: ViewOptions, data: AuditData, computed: list[str]) -> None:
    """Check view options that depend on the data (slice/redact columns, attacks)."""
    cols = {str(c) for c in data.train.columns}
    unknown = [c for c in opts.redact if c not in cols]
    if unknown:
        raise MiaValueError(
            f"Cannot redact {unknown}: no such column in train. Columns: {sorted(cols)[:12]}."
        )
    if opts.slice is not None and opts.slice not in cols:
        raise MiaValueError(
            f"Cannot slice by '{opts.slice}': no such column. Columns: {sorted(cols)[:12]}."
        )
    if opts.attacks is not None:
        missing = [a for a in opts.attacks if a not in computed]
        if missing:
            raise MiaValueError(f"Attacks {missing} were not computed. Computed: {computed}.")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if math.isnan(obj) or math.isinf(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    name = frame.index.name or "index"
    flat = frame.reset_index(names=[str(name)] if frame.index.nlevels == 1 else None)
    return [{str(k): v for k, v in r.items()} for r in flat.to_dict(orient="records")]
