"""What a rendering puts first: the highlighted attack and an optional verdict line.

The verdict itself is computed by the engine (``report.verdict`` when it exists, with
``.level``, ``.reason`` and ``.attack``); the renderers only show it. Without a verdict
the strongest attack is highlighted, as before.
"""

from __future__ import annotations

from typing import Any, Final

from ..engine.results import AuditReport

__all__ = ["AUTO", "Highlight", "highlighted", "verdict_level", "verdict_line"]


class _Auto:
    def __repr__(self) -> str:
        return "AUTO"


#: Default of ``highlight=`` / ``verdict=``: take it from the report.
AUTO: Final = _Auto()
Highlight = str | None | _Auto


def _verdict(report: AuditReport) -> Any:
    return getattr(report, "verdict", None)


def highlighted(report: AuditReport, highlight: Highlight = AUTO) -> str | None:
    """The attack to draw thickest and mark in the tables.

    ``AUTO``: the verdict's attack when the report has a verdict (None at level
    ``none``), else the strongest attack. A name or None is used as given.
    """
    if not isinstance(highlight, _Auto):
        return highlight
    verdict = _verdict(report)
    if verdict is not None:
        attack = getattr(verdict, "attack", None)
        return str(attack) if attack else None
    return report.strongest


def verdict_line(report: AuditReport, verdict: Highlight = AUTO) -> str | None:
    """The sentence shown first. ``AUTO``: ``str(report.verdict)`` (``Privacy risk:
    LEVEL. reason``) when the report has one, else nothing."""
    if not isinstance(verdict, _Auto):
        return verdict
    found = _verdict(report)
    return None if found is None else str(found)


def verdict_level(report: AuditReport) -> str | None:
    """The verdict's level (``'none'`` ... ``'high'``), None without a verdict."""
    found = _verdict(report)
    return None if found is None else str(getattr(found, "level", "")) or None
