"""Figures of a report: the ROC curves (and their PNG) and one record's evidence.

No pyplot: every figure is a ``matplotlib.figure.Figure`` drawn with Agg, so nothing is
shown twice in a notebook and nothing depends on a GUI backend. The ROC is drawn as
:mod:`.curves` defines for every view: log-log axes from half a non-member, achievable
points joined by steps, the chance diagonal and the verdict's FPR marker.
"""

from __future__ import annotations

import functools
import io
import itertools
import textwrap
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from ..engine.metrics import RocCurve
from ..engine.results import AuditReport
from . import memo
from .curves import COLOURS, TPR_TOP, curve_colours, drawn_indices, roc_floor
from .format import pct, title
from .headline import AUTO, Highlight, highlighted
from .pngenc import encode_png
from .tables import threat_text

__all__ = [
    "COLOURS",
    "DASHES",
    "CurveStyle",
    "curve_styles",
    "plot_points",
    "plot_record",
    "plot_roc",
    "png_bytes",
    "roc_png",
    "style_roc_axes",
    "verdict_fpr",
    "warm_roc_legend",
]

#: Log-spaced FPR values at which a drawn ROC curve is sampled (see plot_points).
_PLOT_POINTS = 600
#: How the verdict's FPR marker is drawn (labelled in the legend).
_VERDICT_LINE: dict[str, Any] = {"color": "#9a6700", "lw": 1.2, "ls": (0, (4, 3)), "zorder": 1}
_LW, _HIGHLIGHT_LW = 1.4, 2.8
_LEGEND_FONTSIZE, _LABELSPACING = 8, 0.9
#: One dash pattern per curve, in the same order.
DASHES: tuple[Any, ...] = (
    "-", (0, (6, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)), (0, (3, 1.5)), (0, (10, 3)),
    (0, (6, 2, 1, 2, 1, 2)), (0, (2, 3)), (0, (12, 2, 3, 2)), (0, (1, 3)), (0, (4, 1)),
    (0, (8, 2, 1, 2, 1, 2, 1, 2)),
)  # fmt: skip


class CurveStyle:
    """Colour, dash and legend label of one rank-equivalent group's ROC curve."""

    def __init__(self, colour: str, dash: Any, label: str) -> None:
        self.colour = colour
        self.dash = dash
        self.label = label


def curve_styles(report: AuditReport) -> dict[tuple[str, ...], CurveStyle]:
    """Style of each shown group's curve. A group keeps its style when others are hidden
    (style = its position among the groups of all computed attacks)."""
    position = {a: i for i, g in enumerate(report.rank_groups(shown=False)) for a in g}
    colours = curve_colours(report)
    out = {}
    for group in report.rank_groups():
        i = position[group[0]] % len(DASHES)
        auc = report.score_summary(group[0]).auc
        names = textwrap.fill(", ".join(title(a) for a in group), 30)
        threat = threat_text(report, group)
        out[group] = CurveStyle(colours[group[0]], DASHES[i], f"{names}\n({threat}, AUC {auc:.3f})")
    return out


def _roc_figure() -> Figure:
    fig = Figure(figsize=(7.6, 4.4), dpi=100)
    # Fixed margins, legend to the right of the axes: tight_layout re-measures every
    # tick label and costs more than drawing the figure.
    fig.subplots_adjust(left=0.1, right=0.64, bottom=0.12, top=0.92)
    return fig


def _roc_floor(report: AuditReport) -> float:
    """Lowest FPR drawn (:func:`.curves.roc_floor` of the report's non-members)."""
    return roc_floor(int((~report.members).sum()))


def verdict_fpr(report: AuditReport) -> float | None:
    """The verdict's own FPR target, marked on the ROC (None at level ``none``)."""
    fpr = report.verdict.evidence.get("fpr")
    return None if fpr is None else float(fpr)


def _add_curves(
    ax: Axes, report: AuditReport, lo: float, marker: float | None, *, animated: bool
) -> list[Line2D]:
    """One step line per shown rank-equivalent group (gid = the group's attacks, comma
    separated), the chance diagonal and, at ``marker``, the verdict's FPR."""
    lines = []
    curves = report.roc_curves()
    for group, style in curve_styles(report).items():
        curve = curves.get(group[0])
        if curve is None:
            continue
        points = functools.partial(plot_points, curve, lo)  # once per curve and audit
        fpr, tpr = memo.memoized(report, ("plot_points", group[0]), points)
        lines += ax.plot(
            fpr, np.maximum(tpr, lo), lw=_LW, ls=style.dash, color=style.colour,
            label=style.label, gid=",".join(group), animated=animated, drawstyle="steps-post",
        )  # fmt: skip
    grid = np.array([lo, 1.0])
    lines += ax.plot(grid, grid, ls="--", color="#8c959f", lw=1, label="chance", animated=animated)
    if marker is not None:
        label = f"verdict: ≤ {pct(marker)} FPR"
        lines.append(ax.axvline(marker, label=label, animated=animated, **_VERDICT_LINE))
    return lines


def _add_legend(ax: Axes, lines: list[Line2D], *, animated: bool) -> Legend:
    legend = ax.legend(
        handles=lines, loc="upper left", bbox_to_anchor=(1.03, 1.0), borderaxespad=0.0,
        fontsize=_LEGEND_FONTSIZE, frameon=False, handlelength=3.2, labelspacing=_LABELSPACING,
    )  # fmt: skip
    legend.set_animated(animated)
    return legend


def style_roc_axes(ax: Axes, lo: float) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, 1.0)
    ax.set_ylim(lo, TPR_TOP)
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


def plot_points(curve: RocCurve, lo: float) -> tuple[np.ndarray, np.ndarray]:
    """Achievable points to draw for ``curve`` as steps (``drawstyle="steps-post"``) on
    log-log axes whose FPR axis starts at ``lo``.

    A curve has one point per distinct score (100k records: ~100k points), far more
    than the figure shows and slow to draw: :func:`.curves.drawn_indices` keeps
    ``_PLOT_POINTS`` log-spaced FPR values' neighbours, so the steps differ from the
    full curve by less than a pixel. The points at FPR 0 become one point at ``lo``
    with their highest TPR. Tables always use the full curve.
    """
    idx = drawn_indices(curve.fpr, _PLOT_POINTS)
    fpr, tpr = curve.fpr[idx], curve.tpr[idx]
    keep = fpr > 0
    return np.r_[lo, fpr[keep]], np.r_[tpr[~keep].max() if (~keep).any() else 0.0, tpr[keep]]


def _is_highlighted(line: Line2D, attack: str | None) -> bool:
    gid = line.get_gid()
    return attack is not None and gid is not None and attack in gid.split(",")


def plot_roc(report: AuditReport, ax: Axes | None = None, *, highlight: Highlight = AUTO) -> Axes:
    """Log-log ROC curve (steps between achievable points) of each shown group of
    rank-equivalent attacks, the chance diagonal, the verdict's FPR marker, and the
    legend beside the axes.

    Parameters
    ----------
    report : AuditReport
    ax : matplotlib Axes, default=None
        Draw into this Axes; a new ``matplotlib.figure.Figure`` is made otherwise
        (no pyplot state, so nothing is shown twice in a notebook).
    highlight : str or None, default=AUTO
        Attack whose curve is drawn thickest (default: the verdict's, else the
        strongest attack).
    """
    if ax is None:
        ax = _roc_figure().subplots()
    lo = _roc_floor(report)
    attack = highlighted(report, highlight)
    lines = _add_curves(ax, report, lo, verdict_fpr(report), animated=False)
    for line in lines:
        if _is_highlighted(line, attack):
            line.set_linewidth(_HIGHLIGHT_LW)
    style_roc_axes(ax, lo)
    _add_legend(ax, lines, animated=False)
    return ax


def roc_png(report: AuditReport, *, highlight: Highlight = AUTO) -> bytes:
    """The ROC figure (as drawn by :func:`plot_roc`) as PNG bytes.

    The figure depends on the shown attacks, the highlighted attack and the verdict's
    FPR only, not on the tables' FPR targets, so a change of FPR target, flag count,
    slice or redaction reuses the PNG (kept in the render memo); the axes (ticks,
    labels: most of the cost) are rasterised once per audit (see ``_RocCanvas``).
    """
    attack = highlighted(report, highlight)
    marker = verdict_fpr(report)
    key = ("roc_png", tuple(report.attacks), attack, marker)
    return memo.memoized(report, key, lambda: _roc_canvas(report).png(report, attack, marker))


def _roc_canvas(report: AuditReport) -> _RocCanvas:
    return memo.memoized(report, ("roc_canvas",), lambda: _RocCanvas(report))


def warm_roc_legend(report: AuditReport, current: Callable[[], bool] = lambda: True) -> int:
    """Rasterise ahead the ROC legend entries a new subset of shown attacks may need:
    per group of rank-equivalent attacks, the entry of each part of it that can be shown
    (every part of a group of up to :data:`_WARM_ALL_PARTS` attacks; of a larger one,
    the whole group, the group less one attack, and each attack alone). Stops once
    ``current()`` is false; returns the number of parts drawn."""
    canvas = _roc_canvas(report)
    marker, done = verdict_fpr(report), 0
    parts = [p for g in report.rank_groups(shown=False) for p in _parts_of(g)]
    for part in [] if canvas.warmed else parts:
        if not current():
            return done
        view = report.with_options(show=part)
        canvas.warm(view, highlighted(view, AUTO), marker)
        done += 1
    canvas.warmed = True  # a second panel on the audit has nothing to draw
    return done


#: Groups of rank-equivalent attacks up to this size have every part's legend warmed.
_WARM_ALL_PARTS = 4


def _parts_of(group: tuple[str, ...]) -> list[tuple[str, ...]]:
    if len(group) <= _WARM_ALL_PARTS:
        sizes = range(len(group), 0, -1)
        return [p for k in sizes for p in itertools.combinations(group, k)]
    less_one = [tuple(a for a in group if a != b) for b in group]
    return [group, *less_one, *((a,) for a in group)]


class _RocCanvas:
    """The ROC axes of one audit, rasterised once; curves blitted on top (Agg).

    The legend is composed from tiles: each entry (handle and text) is rasterised once
    per audit, as a one-entry legend at the legend's place, and the entries are stacked
    as :class:`matplotlib.legend.Legend` stacks them (``labelspacing`` apart, below a
    ``borderpad``). Rasterising text is most of a legend's cost, and a new subset of
    shown attacks mostly shows entries already seen.
    """

    def __init__(self, report: AuditReport) -> None:
        fig = _roc_figure()
        self.ax = fig.subplots()
        self.lo = _roc_floor(report)
        style_roc_axes(self.ax, self.lo)
        self.canvas = FigureCanvasAgg(fig)
        self.canvas.draw()
        self.axes_layer = self.canvas.copy_from_bbox(fig.bbox)
        self.lock = threading.Lock()
        self.warmed = False
        self.tiles: dict[tuple[Any, ...], tuple[tuple[int, int], np.ndarray, float]] = {}

    def png(
        self, report: AuditReport, attack: str | None, marker: float | None, *, tiles: bool = True
    ) -> bytes:
        """The PNG; ``tiles=False`` draws the legend whole (the reference for tests)."""
        with self.lock:
            self.canvas.restore_region(self.axes_layer)
            # animated: never drawn by canvas.draw(), only by draw_artist below
            lines = _add_curves(self.ax, report, self.lo, marker, animated=True)
            for line in lines:
                if _is_highlighted(line, attack):
                    line.set_linewidth(_HIGHLIGHT_LW)
            artists: list[Any] = sorted(lines, key=lambda a: a.get_zorder())
            if not tiles:
                artists.append(_add_legend(self.ax, lines, animated=True))
            for artist in artists:
                self.ax.draw_artist(artist)
            rgb = np.array(self.canvas.buffer_rgba())[..., :3]
            if tiles:
                self._compose_legend(rgb, lines)
            for artist in artists:
                artist.remove()
        return encode_png(rgb)

    def warm(self, report: AuditReport, attack: str | None, marker: float | None) -> None:
        """Rasterise the legend entries of ``report``'s shown attacks (no PNG)."""
        with self.lock:
            lines = _add_curves(self.ax, report, self.lo, marker, animated=True)
            for line in lines:
                if _is_highlighted(line, attack):
                    line.set_linewidth(_HIGHLIGHT_LW)
                self._tile(line)
                line.remove()
            self.canvas.restore_region(self.axes_layer)

    def _compose_legend(self, rgb: np.ndarray, lines: list[Line2D]) -> None:
        """Stack the entries' tiles into ``rgb`` where the legend would draw them, to
        the nearest pixel (darkest pixel wins: entries are drawn on the figure's white
        background, their boxes may touch). The caller holds the lock."""
        sep = _LABELSPACING * _legend_em(self.canvas)
        offset = 0.0
        for line in lines:
            (top, left), pixels, entry_height = self._tile(line)
            row = top + round(offset)
            rows = min(pixels.shape[0], rgb.shape[0] - row)
            if rows > 0:
                region = rgb[row : row + rows, left : left + pixels.shape[1]]
                np.minimum(region, pixels[:rows], out=region)
            offset += entry_height + sep

    def _tile(self, line: Line2D) -> tuple[tuple[int, int], np.ndarray, float]:
        """((row, column) of its top left pixel, pixels, height in pixels) of ``line``'s
        legend entry drawn alone at the top of the legend."""
        dashes = getattr(line, "_unscaled_dash_pattern", None)  # get_linestyle() says "--"
        style = (line.get_color(), line.get_linewidth(), line.get_linestyle(), repr(dashes))
        key = (line.get_label(), *style)
        tile = self.tiles.get(key)
        if tile is None:
            self.canvas.restore_region(self.axes_layer)
            legend = _add_legend(self.ax, [line], animated=True)
            self.ax.draw_artist(legend)
            box = legend.get_window_extent()
            legend.remove()
            rgb = np.asarray(self.canvas.buffer_rgba())[..., :3]
            height = rgb.shape[0]
            top, bottom = int(height - box.y1), int(np.ceil(height - box.y0))
            left, right = int(box.x0), int(np.ceil(box.x1))
            pixels = rgb[top:bottom, left:right].copy()
            pad = 2 * legend.borderpad * _legend_em(self.canvas)
            tile = self.tiles[key] = ((top, left), pixels, box.height - pad)
        return tile


def _legend_em(canvas: FigureCanvasAgg) -> float:
    """The legend's font size in pixels (its paddings and spacings are in this unit)."""
    return _LEGEND_FONTSIZE * float(canvas.figure.dpi) / 72


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


def png_bytes(ax: Axes) -> bytes:
    """The figure holding ``ax`` as PNG bytes (Agg)."""
    fig = ax.get_figure()
    assert isinstance(fig, Figure)
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return buf.getvalue()
