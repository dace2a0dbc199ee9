"""Compatibility alias: the panel lives in :mod:`mia_notebook.panel`.

``from mia_notebook.widgets import AuditPanel, show_panel`` keeps working; new code
imports from ``mia_notebook.panel`` (or uses ``mia_notebook.AuditPanel``).
"""

from __future__ import annotations

from .panel import FPR_CHOICES, AuditCancelled, AuditPanel, show_panel

__all__ = ["FPR_CHOICES", "AuditCancelled", "AuditPanel", "show_panel"]
