"""The MIME bundle a notebook shows for a report."""

from __future__ import annotations

from ..engine.results import AuditReport
from .headline import AUTO, Highlight
from .html import render_html
from .text import render_text

__all__ = ["render_bundle"]


def render_bundle(report: AuditReport, *, highlight: Highlight = AUTO) -> dict[str, str]:
    """``text/plain`` and self-contained ``text/html`` (the ROC inlined as a ``data:``
    PNG: a bundle's formats are alternatives, so a sibling ``image/png`` would be
    dropped by JupyterLab)."""
    return {
        "text/plain": render_text(report, highlight=highlight),
        "text/html": render_html(report, highlight=highlight),
    }
