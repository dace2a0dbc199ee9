"""The render layer: takes an :class:`~mia_notebook.engine.results.AuditReport`, returns
HTML strings, PNG bytes and text. The engine never imports it.

Modules: :mod:`.html` (fragment, page, record), :mod:`.sections` (the HTML report's
parts), :mod:`.plots` (ROC and record figures, PNG), :mod:`.text`, :mod:`.bundle` (the
notebook's MIME bundle), :mod:`.format` (escaping, numbers, tables), :mod:`.headline`
(highlighted attack, verdict line), :mod:`.memo` (the one cache of rendered artefacts).

How reports find it: ``mia_notebook/__init__`` hands the engine a factory
(:func:`mia_notebook.engine.results.set_renderer`) that imports this package and makes
a :class:`Renderer` when the first report is shown, so ``import mia_notebook`` imports
no renderer (and no matplotlib).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..engine.results import AuditReport

#: Public names, imported from their module on first use (matplotlib loads lazily).
_LAZY = {
    "plot_record": "plots",
    "plot_roc": "plots",
    "roc_png": "plots",
    "render_bundle": "bundle",
    "render_html": "html",
    "render_page": "html",
    "render_record": "html",
    "render_text": "text",
    "compare_roc_png": "compare",
    "plot_compare_roc": "compare",
    "plot_privacy_utility": "compare",
    "privacy_utility_png": "compare",
    "render_comparison_html": "compare",
    "render_comparison_text": "compare",
}

__all__ = ["Renderer", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mia_notebook.render' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)


class Renderer:
    """What :class:`AuditReport` calls for ``_repr_mimebundle_``, ``to_html`` and
    ``repr`` (the engine's ``ReportRenderer`` protocol)."""

    def bundle(self, report: AuditReport) -> dict[str, Any]:
        from .bundle import render_bundle

        return render_bundle(report)

    def page(self, report: AuditReport) -> str:
        from .html import render_page

        return render_page(report)

    def text(self, report: AuditReport) -> str:
        from .text import render_text

        return render_text(report)
