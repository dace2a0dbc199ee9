"""The audit engine: pure Python, no IPython or ipywidgets imports.

Stages: :mod:`.data` (validate inputs) -> :mod:`.target` (query the model for
per-record signals) -> :mod:`.attacks` (membership scores) -> :mod:`.metrics`
-> :mod:`.results` (the :class:`AuditReport` data object).
"""

from .errors import MiaError, MiaTypeError, MiaValueError, ModelPredictionError

__all__ = ["MiaError", "MiaTypeError", "MiaValueError", "ModelPredictionError"]
