"""Exceptions raised by the audit engine.

Every problem with the caller's input is one of these. They subclass the builtin
``ValueError``/``TypeError`` so plain-Python callers can catch the familiar types, and
the notebook layer turns any :class:`MiaError` into a one-line ``UsageError``.
"""

from __future__ import annotations


class MiaError(Exception):
    """Base class of every input problem the engine reports."""


class MiaValueError(MiaError, ValueError):
    """An argument or a data set has the right type but an unusable value."""


class MiaTypeError(MiaError, TypeError):
    """An argument has the wrong type (e.g. a model class instead of a fitted model)."""


class ModelPredictionError(MiaValueError):
    """The user's model raised, or returned unusable output, while being queried."""


class PrivacyRiskError(MiaError):
    """The audited model's risk level reaches the level a pipeline must fail on.

    Raised by :meth:`AuditReport.check` and ``%mia_audit ... --fail-on LEVEL``; its
    message is the verdict.
    """
