"""Formatting shared by every renderer: escaping, numbers by dtype, names, HTML tables.

Every value that comes from user data passes through :func:`esc` before it reaches
HTML, so each tag in a fragment is one this package wrote.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..engine import metrics
from ..engine.attacks import attack_class
from ..engine.errors import MiaValueError
from ..engine.results import AuditReport

__all__ = [
    "CSS",
    "HTMLTable",
    "attack_label",
    "column_headers",
    "esc",
    "fmt_metric",
    "fmt_number",
    "inline_styles",
    "metric_text",
    "pct",
    "plain_cell",
    "report_title",
    "title",
]

Cell = Callable[[str, Any, Any], tuple[str, str]]

CSS = """
.mia-report{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;
 font-size:13px;color:#1b1f24;max-width:1100px}
.mia-report h3{font-size:16px;margin:6px 0}
.mia-report h4{font-size:14px;margin:14px 0 4px}
.mia-report .mia-scroll{overflow-x:auto;max-width:100%}
.mia-report table.mia-table td.mia-key{position:sticky;left:0;background:#fff}
.mia-report table.mia-table th.mia-key-head{position:sticky;left:0;white-space:nowrap}
.mia-report table.mia-table{border-collapse:collapse;margin:4px 0}
.mia-report table.mia-table th,.mia-report table.mia-table td{border:1px solid #d0d7de;
 padding:3px 8px;text-align:right;white-space:nowrap}
.mia-report table.mia-table th{background:#f3f4f6;white-space:normal}
.mia-report table.mia-table td.mia-text,.mia-report table.mia-table th.mia-text{text-align:left}
.mia-report .mia-na{color:#8c959f;font-style:italic}
.mia-report .mia-warn{color:#9a6700}
.mia-report .mia-risk-high{background:#ffebe9}
.mia-report .mia-note{color:#57606a;font-size:12px}
.mia-report .mia-verdict{font-size:14px;font-weight:600;margin:4px 0 8px;padding:6px 10px;
 border-left:4px solid #8c959f;background:#f6f8fa}
.mia-report .mia-level-none{border-left-color:#1a7f37;background:#dafbe1}
.mia-report .mia-level-low{border-left-color:#9a6700;background:#fff8c5}
.mia-report .mia-level-elevated{border-left-color:#bc4c00;background:#fff1e5}
.mia-report .mia-level-high{border-left-color:#cf222e;background:#ffebe9}
.mia-report .mia-finding{font-weight:600;margin:2px 0 6px}
.mia-report details{margin-top:10px}
.mia-report img.mia-roc{max-width:760px;width:100%;height:auto}
"""


def esc(value: Any) -> str:
    """``value`` as HTML text (quotes escaped too)."""
    return html.escape(str(value), quote=True)


def title(name: str) -> str:
    """Human name of attack ``name`` (the registry's title), ``name`` if unknown."""
    try:
        return attack_class(name).title
    except MiaValueError:
        return name


def attack_label(name: str) -> str:
    """``Title [name]``: how tables name an attack (not escaped)."""
    return f"{title(name)} [{name}]"


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def fmt_number(value: Any) -> str:
    """A value by its type: integers as integers (thousands separated), floats to 4
    significant digits (integral floats without decimals, no exponent above 1,000),
    missing as ``–``, anything else as text."""
    if _is_missing(value):
        return "–"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value) + 0.0  # -0.0 prints as 0
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        if abs(v) >= 1000 or v.is_integer():
            return f"{v:,.0f}" if abs(v) < 1e15 else f"{v:.4g}"
        return f"{v:.4g}"
    return str(value)


def fmt_metric(value: Any) -> str:
    """A metric-table cell: rates and bounds to 3 decimals, counts as integers."""
    if isinstance(value, float | np.floating) and not _is_missing(value):
        return f"{float(value):.3f}"
    return fmt_number(value)


def metric_text(value: Any, note: str = "") -> str:
    """A metric-table cell's text, in every view: :func:`fmt_metric`, and a missing
    value as ``n/a`` when a note explains it (a TPR the non-members cannot resolve),
    else ``–``."""
    if _is_missing(value):
        return "n/a" if note else "–"
    return fmt_metric(value)


def pct(fpr: float) -> str:
    """An FPR as a percentage, ``0.001`` as ``0.1%`` (6 significant digits)."""
    return f"{fpr * 100:.6g}%"


def column_headers(confidence: float) -> dict[str, str]:
    """Human headers of the metric columns (summary and slices alike)."""
    return {
        metrics.BALANCED_ACCURACY: "balanced acc.",
        metrics.EPSILON_LB: f"ε ≥ ({confidence:.0%}, per threshold)",
        metrics.MEMBERS: "members",
        metrics.NON_MEMBERS: "non-members",
    }


def plain_cell(col: str, idx: Any, val: Any) -> tuple[str, str]:
    """Default cell: numbers by type (right-aligned), anything else as left-aligned text."""
    is_num = isinstance(val, int | float | np.number) and not isinstance(val, bool)
    return esc(fmt_number(val)), "" if is_num else "mia-text"


class HTMLTable:
    """An escaped HTML table of a frame.

    Parameters
    ----------
    cell : callable, default=numbers by dtype
        ``cell(column, index, value) -> (inner html, css class)``.
    row_class : callable, default=None
        ``row_class(index) -> css class`` of the row.
    index_html : callable, default=escaped text
        ``index_html(index) -> inner html`` of the row's first cell.
    sticky_index : bool, default=False
        Keep the first column in view while a wide table scrolls sideways.
    """

    def __init__(
        self,
        *,
        cell: Cell | None = None,
        row_class: Callable[[Any], str] | None = None,
        index_html: Callable[[Any], str] | None = None,
        sticky_index: bool = False,
    ) -> None:
        self.cell = cell or plain_cell
        self.row_class = row_class
        self.index_html = index_html or esc
        self.key, self.key_head = (
            ("mia-text mia-key", "mia-text mia-key-head") if sticky_index else ("mia-text",) * 2
        )

    def _row(self, idx: Any, row: np.ndarray, columns: pd.Index) -> str:
        tds = [f'<td class="{self.key}">{self.index_html(idx)}</td>']
        for col, val in zip(columns, row, strict=True):
            content, cls = self.cell(str(col), idx, val)
            tds.append(f'<td class="{cls}">{content}</td>' if cls else f"<td>{content}</td>")
        rc = self.row_class(idx) if self.row_class else ""
        return (f'<tr class="{rc}">' if rc else "<tr>") + "".join(tds) + "</tr>"

    def render(self, frame: pd.DataFrame, *, index_label: str | None = None) -> str:
        """The table (in a horizontally scrolling box when wider than the page)."""
        name = index_label if index_label is not None else (frame.index.name or "")
        head = "".join(
            [f'<th class="{self.key_head}">{esc(name)}</th>']
            + [f"<th>{esc(c)}</th>" for c in frame.columns]
        )
        # object dtype keeps ints as ints (a row Series would upcast a mixed row to float);
        # iterating the object array is ~10x faster than iterrows.
        values = frame.astype(object).to_numpy()
        body = "".join(
            self._row(idx, row, frame.columns) for idx, row in zip(frame.index, values, strict=True)
        )
        return (
            '<div class="mia-scroll"><table class="mia-table"><thead><tr>'
            f"{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )


# Inline copies of the stylesheet's rules: JupyterLab's sanitiser drops <style> blocks from
# untrusted notebooks (e.g. a shared notebook opened after a reload) but keeps inline
# style attributes, so the tables keep their borders and highlights there too.
_TAG_STYLE = {
    "table": "border-collapse:collapse;margin:4px 0",
    # headers may wrap (a long one then does not push a table past the page)
    "th": "border:1px solid #d0d7de;padding:3px 8px;text-align:right;white-space:normal;"
    "background-color:#f3f4f6",
    "td": "border:1px solid #d0d7de;padding:3px 8px;text-align:right;white-space:nowrap",
}
_CLASS_STYLE = {
    "mia-text": "text-align:left",
    "mia-na": "color:#8c959f;font-style:italic",
    "mia-warn": "color:#9a6700",
    "mia-risk-high": "background-color:#ffebe9",
    "mia-note": "color:#57606a;font-size:12px",
    "mia-verdict": "font-size:14px;font-weight:600;margin:4px 0 8px;padding:6px 10px;"
    "border-left:4px solid #8c959f;background-color:#f6f8fa",
    "mia-level-none": "border-left-color:#1a7f37;background-color:#dafbe1",
    "mia-level-low": "border-left-color:#9a6700;background-color:#fff8c5",
    "mia-level-elevated": "border-left-color:#bc4c00;background-color:#fff1e5",
    "mia-level-high": "border-left-color:#cf222e;background-color:#ffebe9",
    "mia-finding": "font-weight:600;margin:2px 0 6px",
    "mia-scroll": "overflow-x:auto;max-width:100%",
    # after the tag's own style, so the white background of a key cell wins
    "mia-key": "position:sticky;left:0;background-color:#fff",
    "mia-key-head": "position:sticky;left:0;white-space:nowrap",
    "mia-roc": "max-width:760px;width:100%;height:auto",
}
_STYLED_TAG = re.compile(r"<(table|th|td|tr|p|ul|span|sup|img|div)\b([^>]*)>")
_CLASS_ATTR = re.compile(r"""class=(?:"([^"]*)"|'([^']*)')""")


def _add_style(m: re.Match[str]) -> str:
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


def inline_styles(fragment: str) -> str:
    """Add ``style`` attributes equivalent to the stylesheet to this package's tags.

    User values are escaped before they reach the fragment, so every tag matched here is
    one this package wrote.
    """
    return _STYLED_TAG.sub(_add_style, fragment)


def report_title(report: AuditReport) -> str:
    """``Membership-inference audit: <model>`` (not escaped)."""
    return f"Membership-inference audit: {report.info.model}"
