"""The report as HTML: a self-contained fragment, a standalone page, one record.

Self-contained: inline CSS (also as ``style`` attributes, which survive JupyterLab's
sanitiser), the ROC as a ``data:`` PNG, no JavaScript; so an executed notebook shows it
in JupyterLab without a kernel, in nbconvert HTML, on GitHub and in nbviewer.
"""

from __future__ import annotations

import base64

from ..engine.results import AuditReport
from . import memo
from .format import CSS, HTMLTable, esc, fmt_number, inline_styles, report_title
from .headline import AUTO, Highlight, highlighted, verdict_level, verdict_line
from .plots import plot_record, png_bytes, roc_png
from .sections import (
    flagged_ranks_html,
    flagged_table_html,
    footer_html,
    risk_table_html,
    slices_html,
)

__all__ = ["render_html", "render_page", "render_record"]


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _head_html(report: AuditReport, verdict: str | None, level: str | None) -> str:
    info = report.info
    badge = f" mia-level-{esc(level)}" if level else ""
    line = f"<p class='mia-verdict{badge}'>{esc(verdict)}</p>" if verdict else ""
    members, nonmembers = f"{info.n_members:,} members", f"{info.n_nonmembers:,} non-members"
    if report.options.person is not None:  # person=: the numbers count people
        members = f"{report.n_members:,} people ({info.n_members:,} rows)"
        nonmembers = f"{report.n_nonmembers:,} people ({info.n_nonmembers:,} rows)"
        members += f" by <code>{esc(report.options.person)}</code>"
    return (
        f"{line}<h3>{esc(report_title(report))}</h3>"
        f"<p class='mia-note'>{members} (train) vs "
        f"{nonmembers} (test); target "
        f"<code>{esc(info.target)}</code>; model output: "
        f"{esc(info.model_kind)}.</p>"
    )


def _notes_html(report: AuditReport) -> str:
    skipped = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in report.skipped.items())
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.notes)
    out = ""
    if skipped:
        out += f"<p class='mia-note'>Not run:</p><ul class='mia-note'>{skipped}</ul>"
    if notes:
        out += f"<ul class='mia-note'>{notes}</ul>"
    return out


def render_html(
    report: AuditReport,
    *,
    roc: bytes | None = None,
    highlight: Highlight = AUTO,
    verdict: Highlight = AUTO,
) -> str:
    """The report as one self-contained HTML fragment (a ``<div>``).

    Parameters
    ----------
    report : AuditReport
    roc : bytes, default=None
        PNG of the ROC figure (default: :func:`~.plots.roc_png`).
    highlight : str or None, default=AUTO
        Attack marked in the table, drawn thickest, whose records are flagged and whose
        slices are shown (default: the verdict's attack, else the strongest attack).
    verdict : str or None, default=AUTO
        Line shown first (default: ``report.verdict`` when the report has one).
    """
    attack = highlighted(report, highlight)
    line = verdict_line(report, verdict)
    png = roc if roc is not None else roc_png(report, highlight=attack)
    opts = report.options
    # The flagged records do not depend on the FPR targets nor on the other shown attacks
    # (the verdict judges every computed one): rendered once per view of them; their ranks
    # under every shown attack are a small table.
    flagged_key = ("flagged_html", opts.flag, opts.redact, *opts.verdict_key, attack)
    flagged, rows = memo.memoized(
        report, flagged_key, lambda: _styled(flagged_table_html(report, attack))
    )
    if rows is not None:
        flagged += inline_styles(flagged_ranks_html(report, attack)) + rows
    body = (
        inline_styles(
            _head_html(report, line, verdict_level(report) if line and verdict is AUTO else None)
            + risk_table_html(report, attack)
            + _notes_html(report)
            + "<h4>ROC curves</h4><img class='mia-roc' alt='ROC curves of each attack, log-log' "
            f"src='{_data_uri(png)}'/>"
        )
        + flagged
        + inline_styles(slices_html(report, attack) + footer_html(report))
    )
    return f"<div class='mia-report'><style>{CSS}</style>{body}</div>"


def _styled(parts: tuple[str, str | None]) -> tuple[str, str | None]:
    table, rows = parts
    return inline_styles(table), None if rows is None else inline_styles(rows)


def render_page(report: AuditReport, *, highlight: Highlight = AUTO) -> str:
    """A standalone HTML page holding :func:`render_html`."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(report_title(report))}</title></head><body>"
        f"{render_html(report, highlight=highlight)}</body></html>"
    )


def render_record(report: AuditReport, position: int) -> str:
    """HTML for one record: why it is flagged (scores, ranks, reference evidence).

    Parameters
    ----------
    report : AuditReport
    position : int
        Row of ``report.scores`` (members first, so flagged records are ``< n_train``).
    """
    split, label = report.scores.index[position]
    table = HTMLTable(
        cell=lambda c, i, v: (esc(f"{v:.1%}" if c == "above non-members" else fmt_number(v)), "")
    ).render(report.record_scores(position))
    n = len(report.scores)
    parts = [
        f"<div class='mia-report mia-record'><style>{CSS}</style>"
        f"<h4>Record {esc(split)}[{esc(label)}]</h4>"
        f"<p class='mia-note'>Rank 1 is the most member-like of all {n:,} {report.units}; "
        "'above non-members' is the share of non-members with a lower score.</p>",
        table,
    ]
    ax = plot_record(report, position)
    if ax is not None:
        parts.append(
            "<img class='mia-roc' alt='Reference-model statistic of this record, IN vs OUT' "
            f"src='{_data_uri(png_bytes(ax))}'/>"
        )
    else:
        parts.append(
            "<p class='mia-note'>No reference-model evidence in this report (run a LiRA or "
            "RMIA attack to see this record's IN and OUT distributions).</p>"
        )
    parts.append("</div>")
    return inline_styles("".join(parts))
