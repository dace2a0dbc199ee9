"""Render an :class:`~mia_notebook.engine.results.AuditReport`: HTML, text, ROC PNG.

Rendering only: every number comes from the report. The HTML is self-contained (inline
CSS, the ROC as a ``data:`` PNG, no JavaScript), so an executed notebook shows it in
JupyterLab without a kernel, in nbconvert HTML, on GitHub and in nbviewer. Every value
that comes from user data is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter
from PIL import Image

from .engine.attacks import attack_class
from .engine.metrics import RocCurve, fpr_label
from .engine.results import REDACTED, AuditReport

__all__ = [
    "plot_record",
    "plot_roc",
    "render_bundle",
    "render_html",
    "render_page",
    "render_record",
    "render_text",
    "roc_png",
]

#: Log-spaced FPR values at which a drawn ROC curve is sampled (see _plot_points).
_PLOT_POINTS = 600
#: How FPR-target lines are drawn on the ROC figure.
_FPR_LINE: dict[str, Any] = {"color": "#d0d7de", "lw": 0.8, "zorder": 0}
_STRONGEST_LW = 2.2

_CSS = """
.mia-report{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;
 font-size:13px;color:#1b1f24;max-width:1100px}
.mia-report h3{font-size:16px;margin:6px 0}
.mia-report h4{font-size:14px;margin:14px 0 4px}
.mia-report table.mia-table{border-collapse:collapse;margin:4px 0}
.mia-report table.mia-table th,.mia-report table.mia-table td{border:1px solid #d0d7de;
 padding:3px 8px;text-align:right;white-space:nowrap}
.mia-report table.mia-table th{background:#f3f4f6}
.mia-report table.mia-table td.mia-text,.mia-report table.mia-table th.mia-text{text-align:left}
.mia-report .mia-na{color:#8c959f;font-style:italic}
.mia-report .mia-warn{color:#9a6700}
.mia-report .mia-risk-high{background:#ffebe9}
.mia-report .mia-note{color:#57606a;font-size:12px}
.mia-report details{margin-top:10px}
.mia-report img.mia-roc{max-width:520px;height:auto}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _title(name: str) -> str:
    try:
        return attack_class(name).title
    except Exception:
        return name


def _fmt_num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.{digits}f}"
    return str(value)


def _table(
    frame: pd.DataFrame,
    *,
    index_label: str | None = None,
    cell: Callable[[str, Any, Any], tuple[str, str]] | None = None,
    row_class: Callable[[Any], str] | None = None,
) -> str:
    """An escaped HTML table. ``cell(col, index, value) -> (html, css class)``."""
    name = index_label if index_label is not None else (frame.index.name or "")
    head = "".join(
        [f'<th class="mia-text">{_esc(name)}</th>']
        + [f"<th>{_esc(c)}</th>" for c in frame.columns]
    )
    body = []
    # object dtype keeps ints as ints (a row Series would upcast a mixed row to float);
    # iterating the object array is ~10x faster than iterrows.
    values = frame.astype(object).to_numpy()
    for idx, row in zip(frame.index, values, strict=True):
        tds = [f'<td class="mia-text">{_esc(idx)}</td>']
        for col, val in zip(frame.columns, row, strict=True):
            if cell is not None:
                content, cls = cell(str(col), idx, val)
            else:
                is_num = isinstance(val, int | float | np.number) and not isinstance(val, bool)
                content, cls = _esc(_fmt_num(val)), "" if is_num else "mia-text"
            tds.append(f'<td class="{cls}">{content}</td>' if cls else f"<td>{content}</td>")
        rc = row_class(idx) if row_class else ""
        body.append((f'<tr class="{rc}">' if rc else "<tr>") + "".join(tds) + "</tr>")
    return (
        '<table class="mia-table"><thead><tr>' + head + "</tr></thead><tbody>"
        + "".join(body) + "</tbody></table>"
    )


def _metric_cell(
    report: AuditReport, frame: pd.DataFrame
) -> Callable[[str, Any, Any], tuple[str, str]]:
    """Cell renderer for metric tables: explains unresolvable / coarse TPR cells."""
    tpr_cols = {fpr_label(t): t for t in report.options.fpr}

    def cell(col: str, idx: Any, val: Any) -> tuple[str, str]:
        if col == "notes":
            return _esc(val), "mia-text mia-note"
        if col in tpr_cols:
            note = str(frame.at[idx, "notes"])
            mine = [n.split(": ", 1)[1] for n in note.split("; ") if n.startswith(col + ":")]
            if isinstance(val, float) and math.isnan(val):
                text = mine[0] if mine else "–"
                return f"n/a: {_esc(text)}" if mine else "–", "mia-na"
            if mine:
                return f"{_fmt_num(val)} <span class='mia-warn'>({_esc(mine[0])})</span>", ""
        return _esc(_fmt_num(val)), ""

    return cell


def _summary_frame(report: AuditReport) -> pd.DataFrame:
    summ = report.summary.copy()
    summ.index = [_title(a) + f" [{a}]" for a in summ.index]
    summ.index.name = "attack"
    summ = summ.rename(
        columns={
            "advantage": "advantage",
            "balanced_accuracy": "balanced acc.",
            "epsilon_lb": f"ε lower bound ({report.options.confidence:.0%})",
            "non_members": "non-members",
        }
    )
    return summ


def plot_roc(report: AuditReport, ax: Axes | None = None) -> Axes:
    """Log-log ROC curve of each shown attack, with the chance diagonal.

    Parameters
    ----------
    report : AuditReport
    ax : matplotlib Axes, default=None
        Draw into this Axes; a new ``matplotlib.figure.Figure`` is made otherwise
        (no pyplot state, so nothing is shown twice in a notebook).
    """
    if ax is None:
        ax = _roc_figure().subplots()
    lo = _roc_floor(report)
    for t in report.options.fpr:
        ax.axvline(t, **_FPR_LINE)
    lines = _add_curves(ax, report, lo, thick=report.strongest)
    _style_roc_axes(ax, lo)
    _add_legend(ax, lines)
    return ax


def _roc_figure() -> Figure:
    fig = Figure(figsize=(5.6, 4.6), dpi=100)
    # Fixed margins that fit the labels: tight_layout re-measures every tick label and
    # costs more than drawing the figure.
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.11, top=0.93)
    return fig


def _roc_floor(report: AuditReport) -> float:
    """Lowest FPR drawn: half of one non-member."""
    n_neg = int((~report.members).sum())
    return 0.5 / (n_neg if n_neg > 0 else 10)


def _add_curves(
    ax: Axes, report: AuditReport, lo: float, *, thick: str | None = None, animated: bool = False
) -> list[Line2D]:
    """One line per shown attack (gid = attack name) and the chance diagonal.

    An attack keeps its colour when others are hidden (colour = its position among the
    computed attacks).
    """
    lines = []
    colour = {a: f"C{i % 10}" for i, a in enumerate(report.computed_attacks)}
    for name, c in report.roc_curves().items():
        fpr, tpr = _plot_points(c, lo)
        auc = float(report.summary.at[name, "AUC"])  # type: ignore[arg-type]
        label = f"{_title(name)} (AUC {auc:.3f})"
        lw = _STRONGEST_LW if name == thick else 1.3
        lines += ax.plot(
            fpr, np.maximum(tpr, lo), lw=lw, label=label, gid=name, color=colour[name],
            animated=animated,
        )
    grid = np.geomspace(lo, 1.0, 50)
    lines += ax.plot(
        grid, grid, ls="--", color="#8c959f", lw=1, label="chance", animated=animated
    )
    return lines


def _add_legend(ax: Axes, lines: list[Line2D], *, animated: bool = False) -> Legend:
    legend = ax.legend(handles=lines, loc="lower right", fontsize=8, frameon=False)
    legend.set_animated(animated)
    return legend


def _style_roc_axes(ax: Axes, lo: float) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, 1.0)
    ax.set_ylim(lo, 1.05)
    ax.set_xlabel("False positive rate (non-members flagged)")
    ax.set_ylabel("True positive rate (members found)")
    # An explicit y spares matplotlib measuring every tick label to place the title.
    ax.set_title("Membership-inference ROC (log-log)", y=1.0, pad=6)
    # Minor ticks on log axes cost ~100 tick objects per draw; the decade grid is enough.
    ax.minorticks_off()
    # Plain labels (0.001, 0.01...): the default log labels are mathtext, slow to parse.
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.grid(True, which="major", alpha=0.3)


def _plot_points(curve: RocCurve, lo: float) -> tuple[np.ndarray, np.ndarray]:
    """Points to draw for ``curve`` on log-log axes whose FPR axis starts at ``lo``.

    A curve has one point per distinct score (100k records: ~100k points), far more
    than a 560-pixel figure shows and slow to draw. Keep, for each of ``_PLOT_POINTS``
    log-spaced FPR values, the last point at or below it and the first point above it:
    every step wider than the grid spacing is kept exactly, so the drawn curve differs
    from the full one by less than a pixel. Tables always use the full curve.
    """
    keep = curve.fpr > 0
    fpr = np.r_[lo, curve.fpr[keep]]
    tpr = np.r_[curve.tpr[~keep].max() if (~keep).any() else 0.0, curve.tpr[keep]]
    if fpr.size <= 2 * _PLOT_POINTS:
        return fpr, tpr
    grid = np.geomspace(fpr[1], 1.0, _PLOT_POINTS)
    at_or_below = np.searchsorted(fpr, grid, side="right") - 1
    idx = np.unique(np.r_[0, at_or_below, np.minimum(at_or_below + 1, fpr.size - 1)])
    return fpr[idx], tpr[idx]


def roc_png(report: AuditReport) -> bytes:
    """The ROC figure (as drawn by :func:`plot_roc`) as PNG bytes.

    Fast for interactive use, by layers kept on the report (see ``_RocCanvas``): the
    axes (ticks, labels: most of the cost) are rasterised once; the curves and legend
    once per set of shown attacks; a new FPR target only draws its lines and the
    curves again (so they stay on top, the strongest attack's thicker) and encodes the
    PNG. A change of flag count, slice or redaction reuses the PNG itself.
    """
    key = ("roc_png", tuple(report.attacks), report.options.fpr, report.strongest)
    return report.memoized(key, lambda: _roc_canvas(report).png(report))


def _roc_canvas(report: AuditReport) -> _RocCanvas:
    canvas: _RocCanvas = report.memoized(("roc_canvas",), lambda: _RocCanvas(report))
    return canvas


class _RocCanvas:
    """The ROC figure of one report, drawn in layers and blitted (Agg)."""

    def __init__(self, report: AuditReport) -> None:
        fig = _roc_figure()
        self.ax = fig.subplots()
        self.lo = _roc_floor(report)
        _style_roc_axes(self.ax, self.lo)
        self.canvas = FigureCanvasAgg(fig)
        self.canvas.draw()
        self.axes_layer = self.canvas.copy_from_bbox(fig.bbox)
        self.curve_layers: dict[tuple[str, ...], tuple[Any, list[Line2D]]] = {}
        self.lock = threading.Lock()

    def _curve_layer(self, report: AuditReport) -> tuple[Any, list[Line2D]]:
        key = tuple(report.attacks)
        if key not in self.curve_layers:
            self.canvas.restore_region(self.axes_layer)
            # animated: never drawn by canvas.draw(), only by draw_artist below
            lines = _add_curves(self.ax, report, self.lo, animated=True)
            legend = _add_legend(self.ax, lines, animated=True)
            for artist in [*lines, legend]:
                self.ax.draw_artist(artist)
            self.curve_layers[key] = (self.canvas.copy_from_bbox(self.ax.figure.bbox), lines)
        return self.curve_layers[key]

    def png(self, report: AuditReport) -> bytes:
        strongest = report.strongest
        with self.lock:
            layer, curves = self._curve_layer(report)
            self.canvas.restore_region(layer)
            vlines = [self.ax.axvline(t, animated=True, **_FPR_LINE) for t in report.options.fpr]
            for line in vlines:
                self.ax.draw_artist(line)
            for curve in curves:
                thick = curve.get_gid() == strongest
                if thick:
                    curve.set_linewidth(_STRONGEST_LW)
                self.ax.draw_artist(curve)
                if thick:
                    curve.set_linewidth(1.3)
            rgba = np.array(self.canvas.buffer_rgba())
            for line in vlines:
                line.remove()
        buf = io.BytesIO()
        # compress_level=1: ~3x faster to encode than the default, ~1.5x the bytes.
        Image.fromarray(rgba[..., :3]).save(buf, format="png", compress_level=1)
        return buf.getvalue()


def _kv_table(items: dict[str, Any]) -> str:
    frame = pd.DataFrame({"value": [_fmt_value(v) for v in items.values()]}, index=list(items))
    return _table(frame, index_label="", cell=lambda c, i, v: (_esc(v), "mia-text"))


def _fmt_value(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list | tuple):
        return ", ".join(str(x) for x in v) if v else "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    return "–" if v is None else str(v)


def _flagged_html(report: AuditReport) -> str:
    flagged = report.flagged()
    if flagged.empty:
        return "<p class='mia-note'>No records listed (flag count is 0).</p>"
    strongest = report.strongest
    text_cols = {c for c in flagged.columns if not pd.api.types.is_numeric_dtype(flagged[c])}

    def cell(col: str, idx: Any, val: Any) -> tuple[str, str]:
        if val == REDACTED:
            return REDACTED, "mia-text mia-na"
        return _esc(_fmt_num(val, 4)), "mia-text" if col in text_cols else ""

    return (
        f"<h4>Most exposed members (top {len(flagged)} by {_esc(_title(strongest or ''))})</h4>"
        + _table(flagged, index_label=f"index ({len(report.data.train):,} train rows)", cell=cell)
    )


def _slices_html(report: AuditReport) -> str:
    parts = []
    cols = [report.data.target] + ([report.options.slice] if report.options.slice else [])
    for col in dict.fromkeys(cols):
        frame = report.slices(col)
        if frame.empty:
            continue
        shown = frame.drop(columns=["balanced_accuracy", "notes"])
        masked = " (group labels redacted)" if col in report.options.redact else ""
        parts.append(
            f"<h4>By {_esc(col)}{masked}: {_esc(_title(report.strongest or ''))}</h4>"
            + _table(shown, cell=_metric_cell(report, frame))
        )
    return "".join(parts)


def _provenance_html(report: AuditReport) -> str:
    return (
        "<h4>Versions</h4>" + _kv_table(report.versions)
        + "<h4>Fingerprints (SHA-256 prefix)</h4>" + _kv_table(report.fingerprints)
    )


def _footer_html(report: AuditReport) -> str:
    redact = report.options.redact
    red = (
        f"Redacted columns (values masked as {REDACTED}): {_esc(', '.join(redact))}."
        if redact else "No columns redacted."
    )
    timing = ", ".join(f"{k[:-2]} {v:.2f} s" for k, v in report.timings.items())
    return (
        f"<p class='mia-note'>{red} Members are the positive class; scores are higher for "
        "records more likely to be members. TPR at a target FPR uses the largest threshold "
        "whose FPR does not exceed it. The ε lower bound uses one-sided Clopper-Pearson "
        f"intervals at {report.options.confidence:.0%} (joint over all thresholds tried), "
        f"δ = {report.options.delta:g}.</p>"
        "<details><summary>Settings, versions and fingerprints</summary>"
        + "<h4>Settings</h4>" + _kv_table(report.settings)
        + report.memoized(("versions_html",), lambda: _provenance_html(report))
        + f"<p class='mia-note'>Time: {_esc(timing)}.</p></details>"
    )


# Inline copies of the stylesheet's rules: JupyterLab's sanitiser drops <style> blocks from
# untrusted notebooks (e.g. a shared notebook opened after a reload) but keeps inline
# style attributes, so the tables keep their borders and highlights there too.
_TAG_STYLE = {
    "table": "border-collapse:collapse;margin:4px 0",
    "th": "border:1px solid #d0d7de;padding:3px 8px;text-align:right;white-space:nowrap;"
    "background-color:#f3f4f6",
    "td": "border:1px solid #d0d7de;padding:3px 8px;text-align:right;white-space:nowrap",
}
_CLASS_STYLE = {
    "mia-text": "text-align:left",
    "mia-na": "color:#8c959f;font-style:italic",
    "mia-warn": "color:#9a6700",
    "mia-risk-high": "background-color:#ffebe9",
    "mia-note": "color:#57606a;font-size:12px",
    "mia-roc": "max-width:520px;height:auto",
}
_STYLED_TAG = re.compile(r"<(table|th|td|tr|p|ul|span|img)\b([^>]*)>")
_CLASS_ATTR = re.compile(r"""class=(?:"([^"]*)"|'([^']*)')""")


def _inline_styles(fragment: str) -> str:
    """Add ``style`` attributes equivalent to the stylesheet to our own tags.

    User values are escaped before they reach the fragment, so every tag matched here is
    one this module wrote.
    """

    def add(m: re.Match[str]) -> str:
        tag, attrs = m.group(1), m.group(2)
        cls = _CLASS_ATTR.search(attrs)
        names = (cls.group(1) or cls.group(2) or "").split() if cls else []
        rules = [_TAG_STYLE.get(tag, "")] + [_CLASS_STYLE.get(n, "") for n in names]
        style = ";".join(r for r in rules if r)
        if not style or "style=" in attrs:
            return m.group(0)
        closing = "/" if attrs.endswith("/") else ""
        body = attrs[:-1] if closing else attrs
        return f'<{tag}{body} style="{style}"{closing}>'

    return _STYLED_TAG.sub(add, fragment)


def render_html(report: AuditReport, *, roc: bytes | None = None) -> str:
    """The report as one self-contained HTML fragment (a ``<div>``)."""
    png = roc if roc is not None else roc_png(report)
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    run = report.run
    head = (
        f"<h3>Membership-inference audit: {_esc(run.get('model', 'model'))}</h3>"
        f"<p class='mia-note'>{run.get('n_members', 0):,} members (train) vs "
        f"{run.get('n_nonmembers', 0):,} non-members (test); target "
        f"<code>{_esc(run.get('target', ''))}</code>; model output: "
        f"{_esc(run.get('model_kind', ''))}.</p>"
    )
    summ = _summary_frame(report)
    strongest = report.strongest
    strongest_label = f"{_title(strongest)} [{strongest}]" if strongest else None
    table = _table(
        summ.drop(columns=["notes"]),
        cell=_metric_cell(report, summ),
        row_class=lambda idx: "mia-risk-high" if idx == strongest_label else "",
    )
    skipped = "".join(
        f"<li><b>{_esc(k)}</b>: {_esc(v)}</li>" for k, v in report.skipped.items()
    )
    notes = "".join(f"<li>{_esc(n)}</li>" for n in report.notes)
    extra = ""
    if skipped:
        extra += f"<p class='mia-note'>Not run:</p><ul class='mia-note'>{skipped}</ul>"
    if notes:
        extra += f"<ul class='mia-note'>{notes}</ul>"
    body = _inline_styles(
        f"{head}<h4>Risk by attack</h4>{table}{extra}"
        f"<h4>ROC curves</h4><img class='mia-roc' alt='ROC curves of each attack, log-log' "
        f"src='{uri}'/>"
        f"{_flagged_html(report)}{_slices_html(report)}{_footer_html(report)}"
    )
    return f"<div class='mia-report'><style>{_CSS}</style>{body}</div>"


def plot_record(report: AuditReport, position: int, ax: Axes | None = None) -> Axes | None:
    """Reference-model evidence for one record: its statistic under the reference
    models that trained on it (IN) and those that did not (OUT), with the target
    model's value marked. None when the report holds no reference signals.

    Parameters
    ----------
    report : AuditReport
    position : int
        Row of ``report.scores`` (members first).
    ax : matplotlib Axes, default=None
        A new ``matplotlib.figure.Figure`` is made otherwise.
    """
    refs = report.evidence.get("references")
    if refs is None:
        return None
    signal = np.asarray(refs.signal[position], dtype=np.float64)
    in_mask = np.asarray(refs.in_mask[position], dtype=bool)
    target = float(refs.target[position])
    if ax is None:
        fig = Figure(figsize=(5.6, 2.3), dpi=90)
        fig.subplots_adjust(left=0.1, right=0.97, bottom=0.22, top=0.86)
        ax = fig.subplots()
    values = np.r_[signal, target]
    finite = values[np.isfinite(values)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    bins = np.linspace(lo, hi + 1e-9, 21).tolist()
    for mask, label, colour in ((in_mask, "IN", "#cf222e"), (~in_mask, "OUT", "#0969da")):
        data = signal[mask & np.isfinite(signal)]
        ax.hist(data, bins=bins, alpha=0.55, color=colour, label=f"{label} ({data.size} models)")
    ax.axvline(target, color="#1b1f24", lw=2, label="target model")
    ax.set_xlabel("statistic (higher = more member-like)")
    ax.set_ylabel("reference models")
    ax.set_title("Reference models: record IN vs OUT of training", y=1.0, pad=4, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return ax


def render_record(report: AuditReport, position: int) -> str:
    """HTML for one record: why it is flagged (scores, ranks, reference evidence).

    Parameters
    ----------
    report : AuditReport
    position : int
        Row of ``report.scores`` (members first, so flagged records are ``< n_train``).
    """
    split, label = report.scores.index[position]
    table = _table(
        report.record_scores(position),
        cell=lambda c, i, v: (
            _esc(f"{v:.1%}" if c == "above non-members" else _fmt_num(v, 4)), ""
        ),
    )
    n = len(report.scores)
    parts = [
        f"<div class='mia-report mia-record'><style>{_CSS}</style>"
        f"<h4>Record {_esc(split)}[{_esc(label)}]</h4>"
        f"<p class='mia-note'>Rank 1 is the most member-like of all {n:,} records; "
        "'above non-members' is the share of non-members with a lower score.</p>",
        table,
    ]
    ax = plot_record(report, position)
    if ax is not None:
        fig = ax.get_figure()
        assert isinstance(fig, Figure)
        buf = io.BytesIO()
        FigureCanvasAgg(fig).print_png(buf)
        uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        parts.append(
            "<img class='mia-roc' alt='Reference-model statistic of this record, IN vs OUT' "
            f"src='{uri}'/>"
        )
    else:
        parts.append(
            "<p class='mia-note'>No reference-model evidence in this report (run a LiRA or "
            "RMIA attack to see this record's IN and OUT distributions).</p>"
        )
    parts.append("</div>")
    return _inline_styles("".join(parts))


def render_page(report: AuditReport) -> str:
    """A standalone HTML page holding :func:`render_html`."""
    title = _esc(f"Membership-inference audit: {report.run.get('model', 'model')}")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body>{render_html(report)}</body></html>"
    )


def render_text(report: AuditReport) -> str:
    """Plain-text summary (the ``text/plain`` representation)."""
    summ = report.summary.drop(columns=["notes"])
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        table = summ.to_string(float_format=lambda v: f"{v:.3f}")
    lines = [
        f"AuditReport: {report.run.get('model')} — {report.run.get('n_members', 0):,} members, "
        f"{report.run.get('n_nonmembers', 0):,} non-members; strongest attack: {report.strongest}",
        table,
    ]
    for name, note in report.summary["notes"].items():
        if note:
            lines.append(f"  {name}: {note}")
    for k, v in report.skipped.items():
        lines.append(f"  not run: {k}: {v}")
    if report.options.redact:
        lines.append(f"  redacted: {', '.join(report.options.redact)}")
    return "\n".join(lines)


def render_bundle(report: AuditReport) -> dict[str, Any]:
    """MIME bundle: ``text/plain``, self-contained ``text/html`` and the JupyterLab JSON."""
    bundle: dict[str, Any] = {"text/plain": render_text(report), "text/html": render_html(report)}
    # --- issue 13: the interactive JupyterLab / Notebook 7 renderer's payload --------------
    from mia_notebook.render.mime import MIME_TYPE, report_payload

    bundle[MIME_TYPE] = report_payload(report)
    # ------------------------------------------------------------------------------------
    return bundle
