"""Deprecated alias of :mod:`mia_notebook.engine.options` (kept for old imports).

Import from :mod:`mia_notebook.engine.options` instead; this module will go once no
caller uses it.
"""

from __future__ import annotations

from .options import (
    DEFAULT_FPR,
    ViewOptions,
    parse_names,
    validate_confidence,
    validate_delta,
    validate_fpr,
    validate_int,
)

__all__ = [
    "DEFAULT_FPR",
    "ViewOptions",
    "parse_names",
    "validate_confidence",
    "validate_delta",
    "validate_fpr",
    "validate_int",
]
