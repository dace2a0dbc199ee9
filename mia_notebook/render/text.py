"""The report as plain text (the ``text/plain`` representation and ``repr``).

The same figures as the static HTML: the risk table, the flagged members' index labels
and the slice tables, with the cells of :mod:`.tables`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..engine.metrics import fpr_label
from ..engine.report_verdict import flag_reason
from ..engine.results import AuditReport
from .headline import AUTO, Highlight, highlighted, verdict_line
from .sections import (
    exposed_sentence,
    flagged_heading,
    no_records_reason,
    slice_columns,
    slice_heading,
)
from .tables import (
    NUMBERS,
    SLICE_NUMBERS,
    THREAT_HEADER,
    MetricRow,
    attack_rows,
    headers,
    slice_rows,
)

__all__ = ["render_text"]


def render_text(
    report: AuditReport, *, highlight: Highlight = AUTO, verdict: Highlight = AUTO
) -> str:
    """Plain-text report: the verdict line when there is one, one row per group of
    rank-equivalent attacks (every attack of the group named) with the static tables'
    cells (:mod:`.tables`) and their TPR notes, skipped attacks, the flagged members'
    index labels and the slice tables.

    Parameters
    ----------
    report : AuditReport
    highlight, verdict : str or None, default=AUTO
        As in :func:`~.html.render_html`.
    """
    attack = highlighted(report, highlight)
    line = verdict_line(report, verdict)
    rows = attack_rows(report, report.options.fpr)
    counts = f"{report.info.n_members:,} members, {report.info.n_nonmembers:,} non-members"
    if report.options.person is not None:  # person=: the numbers count people
        counts = (
            f"{report.n_members:,} member people ({report.info.n_members:,} rows), "
            f"{report.n_nonmembers:,} non-member people ({report.info.n_nonmembers:,} rows)"
        )
    head = f"AuditReport: {report.info.model} — {counts}; " + (
        f"verdict's attack: {attack}" if attack else "no attack beats chance"
    )
    lines = [head] if line is None else [line, head]
    lines.append(_table(report, "attack", rows, NUMBERS))
    lines += _notes(rows)
    for k, v in report.skipped.items():
        lines.append(f"  not run: {k}: {v}")
    if report.options.redact:
        lines.append(f"  redacted: {', '.join(report.options.redact)}")
    lines += _flagged(report, attack)
    lines += _slices(report, attack)
    return "\n".join(lines)


def _notes(rows: list[MetricRow]) -> list[str]:
    out = []
    for row in rows:
        notes = [f"{fpr_label(t.target)}: {t.note_text}" for t in row.tpr if t.note_text]
        if notes:
            out.append(f"  {' = '.join(row.names)}: {'; '.join(notes)}")
    return out


def _flagged(report: AuditReport, attack: str | None) -> list[str]:
    """The flagged members' index labels, as the static report lists them."""
    if report.options.flag <= 0:
        return [f"No {report.units} listed (flag count is 0)."]
    ranking = None if attack == report.verdict.attack else attack
    positions = report.flagged_positions(attack=ranking) if attack else np.zeros(0, np.intp)
    if not positions.size:
        reason = flag_reason(report.options.flag, report.verdict) if attack else ""
        return [f"No {report.units} listed: {no_records_reason(report, reason)}"]
    labels = ", ".join(str(x) for x in report.records.rows(positions).index)
    return [f"{flagged_heading(report, attack, len(positions))}, index: {labels}"]


def _slices(report: AuditReport, attack: str | None) -> list[str]:
    if attack is None:
        return []
    out = []
    for col in slice_columns(report):
        rows = slice_rows(report, col, attack, report.options.fpr)
        if not rows:
            continue
        found = exposed_sentence(report, col, attack)
        out += [slice_heading(report, col, attack), *([found] if found else [])]
        out.append(_table(report, col, rows, SLICE_NUMBERS))
        out += _notes(rows)
    return out


def _table(report: AuditReport, first: str, rows: list[MetricRow], columns: Sequence[str]) -> str:
    """Fixed-width columns: row names left-aligned, cells right-aligned."""
    threat = [THREAT_HEADER] if any(r.threat for r in rows) else []
    table = [
        [first, *headers(report, report.options.fpr, columns), *threat],
        *([" = ".join(r.names), *r.cells(columns), *([r.threat] if threat else [])] for r in rows),
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = []
    for r in table:
        cells = (c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))
        lines.append("  ".join([r[0].ljust(widths[0]), *cells]))
    return "\n".join(lines)
