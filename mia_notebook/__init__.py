"""mia_notebook: audit a fitted model for membership-inference risk from a notebook.

>>> import mia_notebook
>>> report = mia_notebook.audit(clf, train=train_df, test=test_df, target="label")  # doctest: +SKIP

In IPython/Jupyter: ``%load_ext mia_notebook`` then
``%mia_audit clf --train train_df --test test_df --target label``.
"""

from __future__ import annotations

from typing import Any

from .engine._version import __version__
from .engine.attacks import available_attacks, create_attack, register_attack
from .engine.audit import audit
from .engine.cache import clear_cache
from .engine.compare import (
    ComparisonRenderer,
    ComparisonReport,
    compare,
    set_comparison_renderer,
)
from .engine.errors import (
    MiaError,
    MiaTypeError,
    MiaValueError,
    ModelPredictionError,
    PrivacyRiskError,
)
from .engine.loading import load
from .engine.options import AuditOptions
from .engine.results import AuditReport, ReportRenderer, set_renderer
from .engine.verdict import LEVELS, Policy, Verdict
from .notebook_progress import install as _install_notebook_progress

__all__ = [
    "LEVELS",
    "AuditOptions",
    "AuditPanel",
    "AuditReport",
    "ComparisonReport",
    "MiaError",
    "MiaTypeError",
    "MiaValueError",
    "ModelPredictionError",
    "Policy",
    "PrivacyRiskError",
    "Verdict",
    "__version__",
    "audit",
    "available_attacks",
    "clear_cache",
    "compare",
    "create_attack",
    "load",
    "load_ipython_extension",
    "register_attack",
    "show_panel",
]


def _report_renderer() -> ReportRenderer:
    """The render layer, imported when the first report is shown (not on import)."""
    from .render import Renderer

    return Renderer()


def _comparison_renderer() -> ComparisonRenderer:
    from .render.compare import ComparisonRenderer

    return ComparisonRenderer()


set_renderer(_report_renderer)
set_comparison_renderer(_comparison_renderer)
_install_notebook_progress()


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the package does not import ipywidgets.
    if name in ("AuditPanel", "show_panel"):
        from . import panel

        return getattr(panel, name)
    raise AttributeError(f"module 'mia_notebook' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mia_notebook``: register the ``%mia_audit`` magics."""
    from .magics import register

    register(ipython)
