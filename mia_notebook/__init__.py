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
from .engine.cache import CACHE
from .engine.compare import ComparisonReport, compare
from .engine.errors import (
    MiaError,
    MiaTypeError,
    MiaValueError,
    ModelPredictionError,
    PrivacyRiskError,
)
from .engine.results import AuditReport
from .engine.verdict import LEVELS, Policy, Verdict
from .notebook_progress import install as _install_notebook_progress
from .render import install as _install_renderer
from .render.compare import install as _install_comparison_renderer

_install_renderer()
_install_notebook_progress()
_install_comparison_renderer()

__all__ = [
    "CACHE",
    "LEVELS",
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
    "compare",
    "create_attack",
    "load_ipython_extension",
    "register_attack",
    "show_panel",
]


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
