"""The sections of the HTML report: risk table, flagged records, slices, footer.

Each function takes a report and returns an HTML fragment (not yet inline-styled).
Numbers come from the report; this module only formats and escapes them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..engine.exposure import REDACTED, mask
from ..engine.metrics import AUC
from ..engine.person_scores import MAX_PERSON_ROWS
from ..engine.report_verdict import flag_reason
from ..engine.results import AuditReport
from . import memo
from .format import HTMLTable, attack_label, esc, plain_cell, title
from .tables import (
    NUMBERS,
    SLICE_NUMBERS,
    THREAT_HEADER,
    MetricRow,
    attack_rows,
    headers,
    slice_rows,
)

__all__ = [
    "PERSON_ROWS_INDEX",
    "exposed_sentence",
    "flagged_heading",
    "flagged_html",
    "flagged_ranks_html",
    "flagged_table_html",
    "footer_html",
    "no_records_reason",
    "person_rows_frame",
    "risk_table_html",
    "slice_columns",
    "slice_heading",
    "slices_html",
]


class _Marks:
    """Numbered marks for TPR notes (unresolvable: n/a; coarse): a cell gets the mark,
    :meth:`footnotes` lists each note once, so the columns stay narrow."""

    def __init__(self) -> None:
        self.marks: dict[str, int] = {}

    def __call__(self, note: str) -> str:
        number = self.marks.setdefault(note, len(self.marks) + 1)
        return f" <sup class='mia-warn'>{number}</sup>"

    def footnotes(self) -> str:
        """The notes marked so far, one line (empty when none)."""
        if not self.marks:
            return ""
        items = " · ".join(f"<sup>{n}</sup> {esc(note)}" for note, n in self.marks.items())
        return f"<p class='mia-note'>TPR notes: {items}.</p>"


def _td(text: str, missing: bool, mark: str = "") -> str:
    return (
        f'<td class="mia-na">{esc(text)}{mark}</td>' if missing else f"<td>{esc(text)}{mark}</td>"
    )


def _metric_row(row: MetricRow, columns: Sequence[str], marks: _Marks) -> list[str]:
    cells = []
    for col in columns:
        cells.append(_td(row.text(col), math.isnan(float(row.numbers[col]))))
        if col != AUC:
            continue
        for t, text, note in zip(row.tpr, row.tpr_texts, row.tpr_notes, strict=True):
            cells.append(_td(text, math.isnan(t.value), marks(note) if note else ""))
    return cells


def _metric_table(
    report: AuditReport,
    rows: list[MetricRow],
    columns: Sequence[str],
    index_label: str,
    index_html: Callable[[MetricRow], str],
    row_class: Callable[[MetricRow], str] = lambda row: "",
) -> str:
    """Metric ``rows`` (:mod:`.tables`) as a table with human headers (the TPR columns
    at the report's FPR targets after ``AUC``), then the notes of its TPR cells; the
    threat-model column last when the rows have one."""
    marks = _Marks()
    threat = any(row.threat for row in rows)
    names = headers(report, report.options.fpr, columns) + ([THREAT_HEADER] if threat else [])
    head = "".join(f"<th>{esc(h)}</th>" for h in names)
    body = []
    for row in rows:
        label = f'<td class="mia-text mia-threat">{esc(row.threat)}</td>' if threat else ""
        cells = "".join(_metric_row(row, columns, marks)) + label
        rc = row_class(row)
        tr = f'<tr class="{rc}">' if rc else "<tr>"
        body.append(f'{tr}<td class="mia-text">{index_html(row)}</td>{cells}</tr>')
    return (
        '<div class="mia-scroll"><table class="mia-table"><thead><tr>'
        f'<th class="mia-text">{esc(index_label)}</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{marks.footnotes()}"
    )


def risk_table_html(report: AuditReport, highlight: str | None) -> str:
    """One row per group of rank-equivalent attacks, naming every attack in it; the
    highlighted attack's row marked."""
    rows = attack_rows(report, report.options.fpr)
    table = _metric_table(
        report,
        rows,
        NUMBERS,
        "attack",
        index_html=lambda row: "<br>".join(esc(attack_label(a)) for a in row.names),
        row_class=lambda row: "mia-risk-high" if highlight in row.names else "",
    )
    note = (
        "<p class='mia-note'>Attacks in one row order the records identically, so every "
        "number is the same for each; <code>report.summary</code> has one row per attack.</p>"
        if any(len(row.names) > 1 for row in rows)
        else ""
    )
    return "<h4>Risk by attack</h4>" + table + note


def _record_cell(col: str, idx: Any, val: Any) -> tuple[str, str]:
    if isinstance(val, str) and val == REDACTED:
        return REDACTED, "mia-text mia-na"
    return plain_cell(col, idx, val)


def flagged_heading(report: AuditReport, highlight: str | None, n: int) -> str:
    """Heading of the flagged table listing ``n`` records (not escaped)."""
    verdict = report.verdict
    if highlight is not None and highlight != verdict.attack:
        return f"Most exposed members (top {n} by {title(highlight)}, a ranking)"
    fpr = verdict.evidence.get("fpr")
    at = f" at ≤ {100 * fpr:.3g}% FPR" if fpr is not None else ""
    return (
        f"Most exposed members ({n} of the {verdict.n_identified:,} that "
        f"{title(verdict.attack or '')} identifies{at})"
    )


def no_records_reason(report: AuditReport, reason: str) -> str:
    """Why no record is listed: ``reason`` (an empty :meth:`AuditReport.flagged`'s), else
    the verdict's (level ``none``) or the lack of a highlighted attack."""
    verdict = report.verdict
    if reason or verdict.attack is not None:
        return reason or "no attack is highlighted."
    return flag_reason(report.options.flag, verdict)


def flagged_html(report: AuditReport, highlight: str | None) -> str:
    """The members the verdict identifies: their own values first, one score and rank
    among members; the rank under every shown attack in a collapsed second table. None
    (with the verdict's reason) when no record is exposed beyond chance."""
    table, rows = flagged_table_html(report, highlight)
    return table if rows is None else table + flagged_ranks_html(report, highlight) + rows


def flagged_table_html(report: AuditReport, highlight: str | None) -> tuple[str, str | None]:
    """:func:`flagged_html` but the ranks under every shown attack: the heading and the
    table (or the note saying why none is listed, then None), and the people's rows
    (under ``person=``, else ''). It does not depend on the other shown attacks."""
    if report.options.flag <= 0:
        return f"<p class='mia-note'>No {report.units} listed (flag count is 0).</p>", None
    flagged = report.flagged(attack=_ranking(report, highlight)) if highlight else pd.DataFrame()
    if flagged.empty:
        reason = no_records_reason(report, flagged.attrs.get("reason", ""))
        note = f"<p class='mia-note'>No {report.units} listed: {esc(reason)}</p>"
        return "<h4>Most exposed members</h4>" + note, None
    return (
        f"<h4>{esc(flagged_heading(report, highlight, len(flagged)))}</h4>"
        + HTMLTable(cell=_record_cell, sticky_index=True).render(
            flagged, index_label=_index_label(report)
        ),
        _person_rows_html(report, flagged.index.to_numpy()),
    )


def flagged_ranks_html(report: AuditReport, highlight: str | None) -> str:
    """The collapsed table of the flagged members' rank under every shown attack."""
    ranks = report.flagged_ranks(attack=_ranking(report, highlight))
    ranks.columns = [attack_label(a) for a in ranks.columns]
    return (
        "<details><summary>Rank among the members under every attack</summary>"
        + HTMLTable().render(ranks, index_label=_index_label(report))
        + "</details>"
    )


def _ranking(report: AuditReport, highlight: str | None) -> str | None:
    """The attack whose top members are listed: None for the verdict's own list."""
    return None if highlight == report.verdict.attack else highlight


def _index_label(report: AuditReport) -> str:
    if report.options.person is not None:  # person=: people, with their number of rows
        return f"person # ({report.n_members:,} people in train)"
    return f"index ({report.n_members:,} train rows)"


#: The index header of the flagged people's rows (static HTML and renderer alike).
PERSON_ROWS_INDEX = "index (train)"


def person_rows_frame(report: AuditReport, numbers: np.ndarray) -> pd.DataFrame | None:
    """Under ``person=``, when the report knows them: the rows of the people numbered
    ``numbers`` (their ``person #``, 1-based), at most :data:`MAX_PERSON_ROWS`, people in
    that order, redacted columns masked; None otherwise. Every view lists these rows."""
    person_rows = getattr(report.records, "person_rows", None)
    if report.options.person is None or person_rows is None:
        return None
    rows: pd.DataFrame = mask(
        person_rows(np.asarray(numbers, dtype=np.intp) - 1), report.options.redact
    )
    return rows


def _person_rows_html(report: AuditReport, numbers: np.ndarray) -> str:
    """The flagged people's rows (:func:`person_rows_frame`), collapsed; '' without."""
    rows = person_rows_frame(report, numbers)
    if rows is None:
        return ""
    n = len(numbers)
    shown = f"{len(rows):,} rows of these {n} people" + (
        f" (the first {MAX_PERSON_ROWS})" if len(rows) >= MAX_PERSON_ROWS else ""
    )
    return (
        f"<details><summary>Their rows: {esc(shown)}</summary>"
        + HTMLTable().render(rows, index_label=PERSON_ROWS_INDEX)
        + "</details>"
    )


def slice_columns(report: AuditReport) -> list[str]:
    """The columns the report breaks down by: the target (per class), then the slice
    column if any."""
    cols = [report.info.target] + ([report.options.slice] if report.options.slice else [])
    return list(dict.fromkeys(cols))


def slice_heading(report: AuditReport, col: str, attack: str) -> str:
    """``By <col>[ (group labels redacted)]: <attack title>`` (not escaped)."""
    masked = " (group labels redacted)" if col in report.options.redact else ""
    return f"By {col}{masked}: {title(attack)}"


def slices_html(report: AuditReport, highlight: str | None) -> str:
    """Metrics of the highlighted attack per value of the target (and of the slice
    column), groups in value order, with the risk table's headers."""
    if highlight is None:
        return ""
    parts = []
    for col in slice_columns(report):
        if not report.slice_summaries(col, highlight):
            continue
        found = exposed_sentence(report, col, highlight)
        rows = slice_rows(report, col, highlight, report.options.fpr)
        parts.append(
            f"<h4>{esc(slice_heading(report, col, highlight))}</h4>"
            + (f"<p class='mia-finding'>{esc(found)}</p>" if found else "")
            + _metric_table(report, rows, SLICE_NUMBERS, col, lambda row: esc(row.names[0]))
        )
    return "".join(parts)


def exposed_sentence(report: AuditReport, col: str, attack: str) -> str | None:
    """One sentence naming the group at the highest risk, when it differs from the rest
    beyond chance (:meth:`AuditReport.exposed_group`); None otherwise (not escaped)."""
    found = report.exposed_group(col, attack)
    if found is None:
        return None
    return (
        f"Most exposed: {col} = {found.label} "
        f"({found.n_members:,} members): AUC {found.auc:.3f} against {found.auc_rest:.3f} "
        f"on the other records (one-sided p = {found.p_value:.2g}; beyond chance at "
        f"{report.options.confidence:.0%} after comparing {found.n_tested} groups)."
    )


def _kv_table(items: dict[str, Any]) -> str:
    """Keys and values as a two-column table (the layout of :class:`.format.HTMLTable`)."""
    body = "".join(
        f'<tr><td class="mia-text">{esc(k)}</td><td class="mia-text">{esc(_fmt_value(v))}</td></tr>'
        for k, v in items.items()
    )
    return (
        '<div class="mia-scroll"><table class="mia-table"><thead><tr><th class="mia-text">'
        f"</th><th>value</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


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
