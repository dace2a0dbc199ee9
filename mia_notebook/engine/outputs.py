"""How a report reaches its outputs: the renderer hook and plain-JSON conversion.

The engine never imports the render layer. :class:`~.results.AuditReport` asks the
renderer installed here (by ``mia_notebook.render``, when the package is imported)
for its HTML, MIME bundle and text.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from .errors import MiaError

if TYPE_CHECKING:
    from .compare import ComparisonReport
    from .results import AuditReport

__all__ = [
    "ComparisonRenderer",
    "ReportRenderer",
    "comparison_renderer",
    "jsonable",
    "records",
    "renderer",
    "report_dict",
    "report_settings",
    "set_comparison_renderer",
    "set_renderer",
]


class ReportRenderer(Protocol):
    """What turns a report into outputs. The engine never imports one: the package
    installs its render layer with :func:`set_renderer` (``mia_notebook.render``)."""

    def bundle(self, report: AuditReport) -> dict[str, Any]:
        """The MIME bundle shown in a notebook."""

    def page(self, report: AuditReport) -> str:
        """A standalone HTML page."""

    def text(self, report: AuditReport) -> str:
        """The plain-text summary."""


RENDERERS: list[ReportRenderer] = []


def set_renderer(renderer: ReportRenderer | None) -> None:
    """Install (or with None remove) the renderer that reports use for their outputs."""
    RENDERERS[:] = [] if renderer is None else [renderer]


def renderer() -> ReportRenderer:
    """The installed renderer; a clear error when there is none."""
    if not RENDERERS:
        raise MiaError(
            "No report renderer is installed. Import mia_notebook (it installs "
            "mia_notebook.render) before rendering a report."
        )
    return RENDERERS[0]


class ComparisonRenderer(Protocol):
    """What turns a :class:`~.compare.ComparisonReport` into outputs (installed by
    ``mia_notebook`` from ``mia_notebook.render.compare``)."""

    def bundle(self, comparison: ComparisonReport) -> dict[str, Any]:
        """The MIME bundle shown in a notebook."""

    def page(self, comparison: ComparisonReport) -> str:
        """A standalone HTML page."""

    def text(self, comparison: ComparisonReport) -> str:
        """The plain-text summary."""


COMPARISON_RENDERERS: list[ComparisonRenderer] = []


def set_comparison_renderer(renderer: ComparisonRenderer | None) -> None:
    """Install (or with None remove) the renderer of comparison reports."""
    COMPARISON_RENDERERS[:] = [] if renderer is None else [renderer]


def comparison_renderer() -> ComparisonRenderer:
    """The installed comparison renderer; a clear error when there is none."""
    if not COMPARISON_RENDERERS:
        raise MiaError(
            "No comparison renderer is installed. Import mia_notebook (it installs "
            "mia_notebook.render.compare) before rendering a comparison."
        )
    return COMPARISON_RENDERERS[0]


def jsonable(obj: Any) -> Any:
    """``obj`` with NumPy scalars as Python ones and NaN/inf as None (for JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if math.isnan(obj) or math.isinf(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts, the index as the first key."""
    if frame.empty:
        return []
    name = frame.index.name or "index"
    flat = frame.reset_index(names=[str(name)] if frame.index.nlevels == 1 else None)
    return [{str(k): v for k, v in r.items()} for r in flat.to_dict(orient="records")]


def report_dict(report: AuditReport) -> dict[str, Any]:
    """:meth:`AuditReport.to_dict`: settings, metrics, flagged records (redacted),
    provenance, as plain Python."""
    flagged = report.flagged()
    out: dict[str, Any] = {
        "verdict": report.verdict.to_dict(),
        "summary": records(report.summary),
        "strongest_attack": report.strongest,
        "flagged": records(flagged),
        "flagged_reason": flagged.attrs.get("reason", ""),
        "slices": {report.data.target: records(report.slices())},
        "settings": report.settings,
        "skipped": dict(report.skipped),
        "notes": list(report.notes),
        "versions": dict(report.versions),
        "fingerprints": dict(report.fingerprints),
        "timings": dict(report.timings),
    }
    if report.options.slice:
        out["slices"][report.options.slice] = records(report.slices(report.options.slice))
    return out


def report_settings(report: AuditReport) -> dict[str, Any]:
    """:attr:`AuditReport.settings`: the computation's settings, then the view's."""
    opts = report.options
    view = {
        "fpr": list(opts.fpr),
        "flag": opts.flag,
        "slice": opts.slice,
        "redact": list(opts.redact),
        "confidence": opts.confidence,
        "delta": opts.delta,
        "policy": opts.policy_or_default.to_dict(),
        "attacks_shown": report.attacks,
    }
    return {**report.run, **view}
