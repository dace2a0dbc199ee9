"""The audit engine: pure Python, no IPython or ipywidgets imports.

Stages: :mod:`.options` (every option validated once) -> :mod:`.data` (validate
inputs) -> :mod:`.target` (query the model for per-record signals) -> :mod:`.attacks`
(membership scores; :mod:`.references` trains reference models when an attack needs
them) -> :mod:`.metrics` -> :mod:`.results` (the :class:`AuditReport` data object).
See ARCHITECTURE.md for the module map.
"""

from ._version import __version__
from .errors import MiaError, MiaTypeError, MiaValueError, ModelPredictionError

__all__ = ["MiaError", "MiaTypeError", "MiaValueError", "ModelPredictionError", "__version__"]
