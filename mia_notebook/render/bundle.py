"""The MIME bundle a notebook shows for a report."""

from __future__ import annotations

from typing import Any

from ..engine.results import AuditReport
from .headline import AUTO, Highlight
from .html import render_html
from .mime import MIME_TYPE, report_payload
from .text import render_text

__all__ = ["render_bundle"]


def render_bundle(report: AuditReport, *, highlight: Highlight = AUTO) -> dict[str, Any]:
    """``text/plain``, self-contained ``text/html`` (the ROC inlined as a ``data:``
    PNG: a bundle's formats are alternatives, so a sibling ``image/png`` would be
    dropped by JupyterLab) and the JSON that the JupyterLab / Notebook 7 extension draws
    interactively without a kernel (:mod:`.mime`; GitHub, nbviewer and nbconvert show
    the HTML)."""
    return {
        "text/plain": render_text(report, highlight=highlight),
        "text/html": render_html(report, highlight=highlight),
        MIME_TYPE: report_payload(report),
    }
