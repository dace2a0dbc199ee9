"""The report's metric tables (risk by attack, slices) as rows of cell texts.

One definition of what every cell says, for every view: the static HTML
(:mod:`.sections`), the text (:mod:`.text`) and the renderer's JSON (:mod:`.mime_parts`)
all read these rows. The numbers come from the report's FPR-independent summaries
(memoized per audit); the TPR at each target is read off the ROC curve by
:func:`~mia_notebook.engine.metrics.tpr_at_fpr` without the confidence interval no table
shows, so a new FPR target costs one search per row and target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from ..engine.metrics import (
    ADVANTAGE,
    AUC,
    BALANCED_ACCURACY,
    EPSILON_LB,
    MEMBERS,
    NON_MEMBERS,
    ScoreSummary,
    TprAtFpr,
    fpr_label,
    metrics_from_summary,
    metrics_row,
    tpr_at_fpr,
)
from ..engine.report_verdict import threat_model
from ..engine.results import AuditReport
from ..engine.verdict.settings import SETTINGS
from .format import column_headers, metric_text

__all__ = [
    "NUMBERS",
    "SLICE_NUMBERS",
    "THREAT_HEADER",
    "MetricRow",
    "attack_rows",
    "headers",
    "slice_rows",
    "threat_text",
]

#: The header of the attack tables' threat-model column.
THREAT_HEADER = "threat model"

#: The FPR-independent columns, in table order (the TPR columns come after ``AUC``).
NUMBERS = (AUC, ADVANTAGE, BALANCED_ACCURACY, EPSILON_LB, MEMBERS, NON_MEMBERS)
#: Those the slice tables (and the renderer's tables) show.
SLICE_NUMBERS = (AUC, ADVANTAGE, EPSILON_LB, MEMBERS, NON_MEMBERS)


@dataclass(frozen=True)
class MetricRow:
    """One row of a metric table.

    Attributes
    ----------
    names : tuple of str
        The attacks of a rank-equivalent group (risk table), or a slice group's label.
    numbers : dict of str to float or int
        The :data:`NUMBERS` columns.
    tpr : tuple of TprAtFpr
        TPR at each target of the table (no interval).
    threat : str
        The attacks' threat model (:func:`threat_text`); '' in a slice table.
    """

    names: tuple[str, ...]
    numbers: dict[str, float | int]
    tpr: tuple[TprAtFpr, ...]
    threat: str = ""

    def text(self, col: str) -> str:
        """The cell of column ``col`` (one of :data:`NUMBERS`)."""
        return metric_text(self.numbers[col])

    def cells(self, columns: Sequence[str]) -> list[str]:
        """The texts of ``columns`` (of :data:`NUMBERS`), the TPR cells after ``AUC``, in
        :func:`headers` order."""
        out = []
        for col in columns:
            out.append(self.text(col))
            if col == AUC:
                out += self.tpr_texts
        return out

    @property
    def tpr_texts(self) -> list[str]:
        """The TPR cells (``n/a`` where the non-members cannot resolve the target)."""
        return [metric_text(t.value, t.note_text) for t in self.tpr]

    @property
    def tpr_notes(self) -> list[str]:
        """The TPR cells' notes (``needs ≥ N non-members``, ``coarse: ties`` or '')."""
        return [t.note_text for t in self.tpr]


def threat_text(report: AuditReport, names: Sequence[str]) -> str:
    """The threat-model cell of attacks ``names``: ``'black-box'`` (they query the
    model's API), ``'white-box'`` (they read the model file), or both, comma-separated,
    for a rank-equivalent group that mixes them."""
    found = {threat_model(a, report.info.threat_models) for a in names}
    return ", ".join(s for s in SETTINGS if s in found)


def _row(
    names: tuple[str, ...], summary: ScoreSummary, targets: Sequence[float], threat: str = ""
) -> MetricRow:
    row = metrics_row(metrics_from_summary(summary, ()))  # the summary table's numbers
    numbers = {k: cast("float | int", row[k]) for k in NUMBERS}
    tpr = tuple(tpr_at_fpr(summary.curve, t, None) for t in targets)
    return MetricRow(names, numbers, tpr, threat)


def attack_rows(
    report: AuditReport, targets: Sequence[float], *, per_attack: bool = False
) -> list[MetricRow]:
    """One row per group of rank-equivalent shown attacks (the report's tables), or one
    per shown attack."""
    groups = [(a,) for a in report.attacks] if per_attack else report.rank_groups()
    return [_row(g, report.score_summary(g[0]), targets, threat_text(report, g)) for g in groups]


def slice_rows(
    report: AuditReport, col: str, attack: str, targets: Sequence[float]
) -> list[MetricRow]:
    """One row per group of ``col`` (value order; labels masked for a redacted column)
    for ``attack``."""
    groups = report.slice_summaries(col, attack)
    return [_row((str(label),), s, targets) for label, s in groups.items()]


def headers(report: AuditReport, targets: Sequence[float], columns: Sequence[str]) -> list[str]:
    """Human headers of ``columns`` (of :data:`NUMBERS`), the TPR columns after ``AUC``."""
    human = column_headers(report.options.confidence)
    out = []
    for col in columns:
        out.append(human.get(col, col))
        if col == AUC:
            out += [fpr_label(t) for t in targets]
    return out
