"""Deprecated: the renderers moved to :mod:`mia_notebook.render`.

``from mia_notebook.report import render_bundle`` (and the other names below) keeps
working, with a :class:`DeprecationWarning`; import them from ``mia_notebook.render``.
"""

from __future__ import annotations

import warnings

from .render.bundle import render_bundle
from .render.html import render_html, render_page, render_record
from .render.plots import plot_record, plot_roc, roc_png
from .render.text import render_text

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

warnings.warn(
    "mia_notebook.report is deprecated; import the renderers from mia_notebook.render "
    "(e.g. from mia_notebook.render import render_html, plot_roc).",
    DeprecationWarning,
    stacklevel=2,
)
