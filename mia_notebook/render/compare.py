"""A :class:`~mia_notebook.engine.compare.ComparisonReport` as HTML, PNG and text.

The verdict line first (the riskiest model and every model's level), then one row per
model, the deltas against the baseline, the overlaid ROC curves of each model's row
attack and the privacy-utility scatter, both as inline ``data:`` PNGs.
"""

from __future__ import annotations

import base64
import math
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..engine.compare import ACCURACY, R2, ComparisonReport
from .format import CSS, HTMLTable, esc, fmt_metric, fmt_number, inline_styles, title

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# matplotlib (through .plots) loads on the first figure.

__all__ = [
    "ComparisonRenderer",
    "compare_roc_png",
    "plot_compare_roc",
    "plot_privacy_utility",
    "privacy_utility_png",
    "render_comparison_bundle",
    "render_comparison_html",
    "render_comparison_page",
    "render_comparison_text",
]

_LEVEL_CELL = {
    "none": "background-color:#dafbe1",
    "low": "background-color:#fff8c5",
    "elevated": "background-color:#fff1e5",
    "high": "background-color:#ffebe9",
}


def _figure() -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.6, 4.4), dpi=100)
    fig.subplots_adjust(left=0.1, right=0.64, bottom=0.12, top=0.92)
    return fig


def _utility_column(cmp: ComparisonReport) -> str:
    """``accuracy`` when any model is a classifier, else ``r2``."""
    return ACCURACY if ACCURACY in cmp.utility.columns else R2


def plot_compare_roc(cmp: ComparisonReport, ax: Axes | None = None) -> Axes:
    """Log-log ROC of each model's row attack (steps between achievable points, one
    colour and dash per model), the chance diagonal, the comparison's FPR as a vertical
    line, the legend outside."""
    from .curves import roc_floor
    from .plots import COLOURS, DASHES, plot_points, style_roc_axes

    ax = ax if ax is not None else _figure().add_subplot()
    lo = roc_floor(int((~cmp.reports[cmp.baseline].members).sum()))
    rows = {r.name: r for r in cmp.rows}
    for i, (name, curve) in enumerate(cmp.roc_curves().items()):
        fpr, tpr = plot_points(curve, lo)
        attack, threat = title(rows[name].attack or ""), rows[name].threat or ""
        attack += f" ({threat})" if threat and threat not in attack else ""
        label = textwrap.fill(f"{name} [{rows[name].level}]: {attack}", 34)
        ax.plot(
            fpr, np.maximum(tpr, lo), lw=1.6, ls=DASHES[i % len(DASHES)],
            color=COLOURS[i % len(COLOURS)], label=label, gid=name, drawstyle="steps-post",
        )  # fmt: skip
    grid = np.array([lo, 1.0])
    ax.plot(grid, grid, ls="--", color="#8c959f", lw=1, label="chance")
    ax.axvline(cmp.fpr, color="#d0d7de", lw=0.8, zorder=0)
    style_roc_axes(ax, lo)
    ax.set_title("Each model's verdict attack (log-log ROC)", y=1.0, pad=6)
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.03, 1.0), borderaxespad=0.0, fontsize=8,
        frameon=False, handlelength=3.2, labelspacing=0.9,
    )  # fmt: skip
    return ax


def plot_privacy_utility(cmp: ComparisonReport, ax: Axes | None = None) -> Axes:
    """Utility (accuracy, else R²) against TPR at the comparison's FPR, with the TPR
    interval as a horizontal bar; one marker colour per model, as in the ROC figure."""
    from .plots import COLOURS

    ax = ax if ax is not None else _figure().add_subplot()
    summ, col = cmp.summary, _utility_column(cmp)
    markers = "osD^v<>ph*XP"
    for i, (name, row) in enumerate(summ.iterrows()):
        x, y = float(row["tpr"]), float(row[col])
        if math.isnan(x) or math.isnan(y):
            continue
        err = [[max(x - row["tpr_low"], 0.0)], [max(row["tpr_high"] - x, 0.0)]]
        ax.errorbar(  # hollow markers: a model on top of another leaves both visible
            [x], [y], xerr=err, fmt=markers[i % len(markers)], ms=9, mfc="none", mew=2,
            capsize=3, color=COLOURS[i % len(COLOURS)], label=textwrap.fill(str(name), 34),
        )  # fmt: skip
    ax.axvline(cmp.fpr, ls="--", color="#8c959f", lw=1, label="chance (TPR = FPR)")
    ax.set_xlabel(f"TPR at FPR {cmp.fpr:g} (privacy risk →)")
    ax.set_ylabel("accuracy on test" if col == ACCURACY else "R² on test")
    ax.set_title("Privacy–utility trade-off", y=1.0, pad=6)
    ax.grid(True, alpha=0.3)
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.03, 1.0), borderaxespad=0.0, fontsize=8,
        frameon=False, labelspacing=0.9,
    )  # fmt: skip
    return ax


def compare_roc_png(cmp: ComparisonReport) -> bytes:
    """PNG of :func:`plot_compare_roc`."""
    from .plots import png_bytes

    return png_bytes(plot_compare_roc(cmp))


def privacy_utility_png(cmp: ComparisonReport) -> bytes:
    """PNG of :func:`plot_privacy_utility`."""
    from .plots import png_bytes

    return png_bytes(plot_privacy_utility(cmp))


def _cell(col: str, idx: object, val: object) -> tuple[str, str]:
    if col == "level":
        return f"<span style='{_LEVEL_CELL.get(str(val), '')}'>{esc(val)}</span>", "mia-text"
    if isinstance(val, float | np.floating):
        return esc(fmt_metric(val)), ""
    if isinstance(val, int | np.integer):
        return esc(fmt_number(val)), ""
    return esc("–" if val is None else val), "mia-text"


def _delta_cell(col: str, idx: object, val: object) -> tuple[str, str]:
    """Signed deltas (``+0.022``); a level change in steps (``+1``)."""
    if isinstance(val, float | np.floating) and not math.isnan(val):
        return esc(f"{round(float(val), 3) + 0.0:+.3f}"), ""
    if isinstance(val, int | np.integer):
        return esc(f"{int(val):+d}"), ""
    return _cell(col, idx, val)


def _table(cmp: ComparisonReport, *, estimator: bool = True) -> pd.DataFrame:
    """The summary as shown; without the ``estimator`` column (HTML: the model names
    say it, and the table then fits the page)."""
    summ = cmp.summary.copy()
    summ["attack"] = [title(a) if a else "–" for a in summ["attack"]]
    drop = ["fpr"] if estimator else ["fpr", "estimator"]
    return summ.drop(columns=drop).rename(
        columns={
            "tpr": f"TPR @ FPR {cmp.fpr:g}",
            "tpr_low": "TPR low",
            "tpr_high": "TPR high",
            "epsilon_lb": "ε ≥",
        }
    )


def _deltas(cmp: ComparisonReport) -> pd.DataFrame:
    """The changes against the baseline, headed as the main table is."""
    return cmp.deltas.rename(
        columns={
            "tpr": f"TPR @ FPR {cmp.fpr:g}",
            "epsilon_lb": "ε ≥",
            "level_change": "level change",
        }
    )


def render_comparison_html(cmp: ComparisonReport) -> str:
    """The comparison as one self-contained HTML fragment (a ``<div>``)."""
    data_uri = "data:image/png;base64,"
    roc = base64.b64encode(compare_roc_png(cmp)).decode("ascii")
    scatter = base64.b64encode(privacy_utility_png(cmp)).decode("ascii")
    level = cmp.summary.loc[cmp.riskiest, "level"]
    conf = cmp.reports[cmp.baseline].options.confidence
    notes = "".join(f"<li>{esc(n)}</li>" for n in cmp.notes)
    body = inline_styles(
        f"<p class='mia-verdict mia-level-{esc(level)}'>{esc(cmp.verdict_line)}</p>"
        f"<h3>Membership-inference comparison of {len(cmp.reports)} models</h3>"
        f"<p class='mia-note'>Same records for every model; TPR at FPR {cmp.fpr:g} of each "
        f"model's verdict attack with its {conf:.0%} interval; utility on test. "
        f"Baseline for the deltas: <b>{esc(cmp.baseline)}</b>.</p>"
        + HTMLTable(cell=_cell, sticky_index=True).render(
            _table(cmp, estimator=False), index_label="model"
        )
        + "<h4>Change against the baseline</h4>"
        + HTMLTable(cell=_delta_cell, sticky_index=True).render(_deltas(cmp), index_label="model")
        + (f"<ul class='mia-note'>{notes}</ul>" if notes else "")
        + "<h4>ROC curves</h4><img class='mia-roc' alt='ROC curve of each model, log-log' "
        f"src='{data_uri}{roc}'/>"
        + "<h4>Privacy and utility</h4><img class='mia-roc' alt='Utility against TPR' "
        f"src='{data_uri}{scatter}'/>"
    )
    return f"<div class='mia-report mia-compare'><style>{CSS}</style>{body}</div>"


def render_comparison_page(cmp: ComparisonReport) -> str:
    """A standalone HTML page holding :func:`render_comparison_html`."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Membership-inference comparison</title></head><body>"
        f"{render_comparison_html(cmp)}</body></html>"
    )


def render_comparison_text(cmp: ComparisonReport) -> str:
    """The verdict line, the table and the deltas as plain text."""
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        table = _table(cmp).to_string(float_format=lambda v: f"{v:.3f}")
        deltas = _deltas(cmp).to_string(float_format=lambda v: f"{v:+.3f}")
    lines = [cmp.verdict_line, table, f"Change against {cmp.baseline}:", deltas]
    return "\n".join([*lines, *(f"  {n}" for n in cmp.notes)])


def render_comparison_bundle(cmp: ComparisonReport) -> dict[str, Any]:
    """``text/plain``, self-contained ``text/html`` and the JSON the JupyterLab /
    Notebook 7 extension draws interactively without a kernel (:mod:`.mime_compare`;
    GitHub, nbviewer and nbconvert show the HTML)."""
    from .mime_compare import COMPARISON_MIME_TYPE, comparison_payload

    return {
        "text/plain": render_comparison_text(cmp),
        "text/html": render_comparison_html(cmp),
        COMPARISON_MIME_TYPE: comparison_payload(cmp),
    }


class ComparisonRenderer:
    """The engine's ``ComparisonRenderer`` protocol (``mia_notebook/__init__`` installs it
    on first display)."""

    def bundle(self, comparison: ComparisonReport) -> dict[str, Any]:
        return render_comparison_bundle(comparison)

    def page(self, comparison: ComparisonReport) -> str:
        return render_comparison_page(comparison)

    def text(self, comparison: ComparisonReport) -> str:
        return render_comparison_text(comparison)
