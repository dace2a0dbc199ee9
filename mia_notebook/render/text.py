"""The report as plain text (the ``text/plain`` representation and ``repr``)."""

from __future__ import annotations

import pandas as pd

from ..engine.metrics import NOTES
from ..engine.results import AuditReport
from .format import column_headers
from .headline import AUTO, Highlight, highlighted, verdict_line

__all__ = ["render_text"]


def render_text(
    report: AuditReport, *, highlight: Highlight = AUTO, verdict: Highlight = AUTO
) -> str:
    """Plain-text summary: the verdict line when there is one, then one row per group of
    rank-equivalent attacks (every attack of the group named), notes, skipped attacks.

    Parameters
    ----------
    report : AuditReport
    highlight, verdict : str or None, default=AUTO
        As in :func:`~.html.render_html`.
    """
    attack = highlighted(report, highlight)
    line = verdict_line(report, verdict)
    grouped = report.grouped_summary()
    summ = grouped.drop(columns=[NOTES, "group"]).rename(
        columns=column_headers(report.options.confidence)
    )
    summ.index = pd.Index([g.replace(", ", " = ") for g in grouped["group"]], name="attack")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        table = summ.to_string(float_format=lambda v: f"{v:.3f}")
    head = (
        f"AuditReport: {report.info.model} — {report.info.n_members:,} members, "
        f"{report.info.n_nonmembers:,} non-members; "
        + (f"verdict's attack: {attack}" if attack else "no attack beats chance")
    )
    lines = [head] if line is None else [line, head]
    lines.append(table)
    for name, note in report.summary[NOTES].items():
        if note:
            lines.append(f"  {name}: {note}")
    for k, v in report.skipped.items():
        lines.append(f"  not run: {k}: {v}")
    if report.options.redact:
        lines.append(f"  redacted: {', '.join(report.options.redact)}")
    return "\n".join(lines)
