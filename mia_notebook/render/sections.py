"""The sections of the HTML report: risk table, flagged records, slices, footer.

Each function takes a report and returns an HTML fragment (not yet inline-styled).
Numbers come from the report; this module only formats and escapes them.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..engine.exposure import REDACTED
from ..engine.metrics import BALANCED_ACCURACY, NOTES, AttackMetrics, Note, fpr_label
from ..engine.results import AuditReport
from . import memo
from .format import (
    HTMLTable,
    attack_label,
    column_headers,
    esc,
    fmt_metric,
    plain_cell,
    title,
)

__all__ = ["flagged_html", "footer_html", "risk_table_html", "slices_html"]

#: Columns of the metric frames that tables do not show as columns (notes become marks).
_HIDDEN = (NOTES,)


def _notes_by_cell(records: dict[Any, AttackMetrics]) -> dict[tuple[Any, str], str]:
    """The TPR notes of typed metric records: ``(row, column) -> note text``."""
    return {
        (idx, fpr_label(t.target)): t.note_text
        for idx, met in records.items()
        for t in met.tpr
        if t.note is not Note.NONE
    }


class _MetricCells:
    """Cell renderer for metric tables. A TPR cell with a note (unresolvable: n/a;
    coarse) gets a numbered mark; :meth:`footnotes` lists each note once, so the
    columns stay narrow."""

    def __init__(self, report: AuditReport, records: dict[Any, AttackMetrics]) -> None:
        tpr_cols = {fpr_label(t) for t in report.options.fpr}
        headers = column_headers(report.options.confidence)
        self.tpr_headers = {headers.get(c, c): c for c in tpr_cols}
        self.notes = _notes_by_cell(records)
        self.marks: dict[str, int] = {}

    def _mark(self, note: str) -> str:
        number = self.marks.setdefault(note, len(self.marks) + 1)
        return f"<sup class='mia-warn'>{number}</sup>"

    def __call__(self, col: str, idx: Any, val: Any) -> tuple[str, str]:
        raw = self.tpr_headers.get(col)
        note = self.notes.get((idx, raw)) if raw is not None else None
        if isinstance(val, float) and math.isnan(val):
            return ("n/a " + self._mark(note), "mia-na") if note else ("–", "mia-na")
        if note:
            return f"{fmt_metric(val)} {self._mark(note)}", ""
        return esc(fmt_metric(val)), ""

    def footnotes(self) -> str:
        """The notes marked so far, one line (empty when none)."""
        if not self.marks:
            return ""
        items = " · ".join(f"<sup>{n}</sup> {esc(note)}" for note, n in self.marks.items())
        return f"<p class='mia-note'>TPR notes: {items}.</p>"


def _metric_table(
    report: AuditReport, records: dict[Any, AttackMetrics], frame: pd.DataFrame, **kw: Any
) -> str:
    """Metric ``frame`` (one row per key of ``records``) as a table with human headers,
    then the notes of its TPR cells."""
    cells = _MetricCells(report, records)
    index_label = kw.pop("index_label", None)
    shown = frame.drop(columns=[c for c in _HIDDEN if c in frame.columns]).rename(
        columns=column_headers(report.options.confidence)
    )
    table = HTMLTable(cell=cells, **kw).render(shown, index_label=index_label)
    return table + cells.footnotes()


def risk_table_html(report: AuditReport, highlight: str | None) -> str:
    """One row per group of rank-equivalent attacks, naming every attack in it; the
    highlighted attack's row marked."""
    frame = report.grouped_summary()
    groups = {g[0]: g for g in report.rank_groups()}
    table = _metric_table(
        report,
        {first: report.attack_metrics(first) for first in groups},
        frame.drop(columns=["group"]),
        index_label="attack",
        row_class=lambda idx: "mia-risk-high" if highlight in groups[idx] else "",
        index_html=lambda idx: "<br>".join(esc(attack_label(a)) for a in groups[idx]),
    )
    merged = sum(len(g) > 1 for g in groups.values())
    note = (
        "<p class='mia-note'>Attacks in one row order the records identically, so every "
        "number is the same for each; <code>report.summary</code> has one row per attack.</p>"
        if merged
        else ""
    )
    return "<h4>Risk by attack</h4>" + table + note


def _record_cell(col: str, idx: Any, val: Any) -> tuple[str, str]:
    if isinstance(val, str) and val == REDACTED:
        return REDACTED, "mia-text mia-na"
    return plain_cell(col, idx, val)


def _flagged_heading(report: AuditReport, highlight: str | None, n: int) -> str:
    verdict = report.verdict
    if highlight is not None and highlight != verdict.attack:
        return f"Most exposed members (top {n} by {esc(title(highlight))}, a ranking)"
    fpr = verdict.evidence.get("fpr")
    at = f" at ≤ {100 * fpr:.3g}% FPR" if fpr is not None else ""
    return (
        f"Most exposed members ({n} of the {verdict.n_identified:,} that "
        f"{esc(title(verdict.attack or ''))} identifies{at})"
    )


def flagged_html(report: AuditReport, highlight: str | None) -> str:
    """The members the verdict identifies: their own values first, one score and rank
    among members; the rank under every shown attack in a collapsed second table. None
    (with the verdict's reason) when no record is exposed beyond chance."""
    if report.options.flag <= 0:
        return "<p class='mia-note'>No records listed (flag count is 0).</p>"
    verdict = report.verdict
    ranking = None if highlight == verdict.attack else highlight  # else: the verdict's
    flagged = report.flagged(attack=ranking) if highlight else pd.DataFrame()
    if flagged.empty:
        reason = flagged.attrs.get("reason") or (
            verdict.reason if verdict.attack is None else "no attack is highlighted."
        )
        note = f"<p class='mia-note'>No records listed: {esc(reason)}</p>"
        return "<h4>Most exposed members</h4>" + note
    index_label = f"index ({report.n_members:,} train rows)"
    ranks = report.flagged_ranks(attack=ranking)
    ranks.columns = [attack_label(a) for a in ranks.columns]
    return (
        f"<h4>{_flagged_heading(report, highlight, len(flagged))}</h4>"
        + HTMLTable(cell=_record_cell, sticky_index=True).render(flagged, index_label=index_label)
        + "<details><summary>Rank among the members under every attack</summary>"
        + HTMLTable().render(ranks, index_label=index_label)
        + "</details>"
    )


def slices_html(report: AuditReport, highlight: str | None) -> str:
    """Metrics of the highlighted attack per value of the target (and of the slice
    column), groups in value order, with the risk table's headers."""
    if highlight is None:
        return ""
    parts = []
    cols = [report.info.target] + ([report.options.slice] if report.options.slice else [])
    for col in dict.fromkeys(cols):
        frame = report.slices(col, highlight)
        if frame.empty:
            continue
        masked = " (group labels redacted)" if col in report.options.redact else ""
        parts.append(
            f"<h4>By {esc(col)}{masked}: {esc(title(highlight))}</h4>"
            + _exposed_html(report, col, highlight)
            + _metric_table(
                report,
                report.slice_metrics(col, highlight),
                frame.drop(columns=[BALANCED_ACCURACY]),
            )
        )
    return "".join(parts)


def _exposed_html(report: AuditReport, col: str, attack: str) -> str:
    """One sentence naming the group at the highest risk, when it differs from the rest
    beyond chance (:meth:`AuditReport.exposed_group`); nothing otherwise."""
    found = report.exposed_group(col, attack)
    if found is None:
        return ""
    return (
        f"<p class='mia-finding'>Most exposed: {esc(col)} = {esc(found.label)} "
        f"({found.n_members:,} members): AUC {found.auc:.3f} against {found.auc_rest:.3f} "
        f"on the other records (one-sided p = {found.p_value:.2g}; beyond chance at "
        f"{report.options.confidence:.0%} after comparing {found.n_tested} groups).</p>"
    )


def _kv_table(items: dict[str, Any]) -> str:
    frame = pd.DataFrame({"value": [_fmt_value(v) for v in items.values()]}, index=list(items))
    return HTMLTable(cell=lambda c, i, v: (esc(v), "mia-text")).render(frame, index_label="")


def _fmt_value(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list | tuple):
        return ", ".join(str(x) for x in v) if v else "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    return "–" if v is None else str(v)


def _provenance_html(report: AuditReport) -> str:
    return (
        "<h4>Versions</h4>" + _kv_table(report.versions)
        + "<h4>Fingerprints (SHA-256 prefix)</h4>" + _kv_table(report.fingerprints)
    )  # fmt: skip


def footer_html(report: AuditReport) -> str:
    """Conventions, redaction, and the collapsed settings / versions / fingerprints."""
    redact = report.options.redact
    red = (
        f"Redacted columns (values masked as {REDACTED}): {esc(', '.join(redact))}."
        if redact
        else "No columns redacted."
    )
    timing = ", ".join(f"{k[:-2]} {v:.2f} s" for k, v in report.timings.items())
    return (
        f"<p class='mia-note'>{red} Members are the positive class; scores are higher for "
        "records more likely to be members. TPR at a target FPR uses the largest threshold "
        "whose FPR does not exceed it. The tables' ε lower bound (ε ≥, per threshold) uses "
        f"one-sided Clopper-Pearson intervals at {report.options.confidence:.0%} (joint over "
        f"all thresholds tried), δ = {report.options.delta:g}; the verdict's ε bound holds for "
        f"{esc(report.verdict.evidence['epsilon_method'])}. How the verdict decides: "
        f"{esc(report.verdict.method)}</p>"
        "<details><summary>Settings, versions and fingerprints</summary>"
        + "<h4>Settings</h4>" + _kv_table(report.settings)
        + memo.memoized(report, ("versions_html",), lambda: _provenance_html(report))
        + f"<p class='mia-note'>Time: {esc(timing)}.</p></details>"
    )  # fmt: skip
