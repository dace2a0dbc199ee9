"""What the panel computes ahead of the user's next view change."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from ..engine.results import AuditReport
from ..render.plots import warm_roc_legend

__all__ = ["warm_report", "warm_slices"]


def warm_report(report: AuditReport) -> None:
    """Compute once what an FPR change may need next: the per-class metrics of every
    computed attack (the verdict's attack, whose slices are shown, can change)."""
    _ = report.verdict
    for attack in report.computed_attacks:
        report.slices(None, attack)


def warm_slices(
    report: AuditReport, columns: Sequence[str], current: Callable[[], bool]
) -> threading.Thread:
    """Start computing, in a daemon thread, the slice metrics of ``columns`` for the
    verdict's attack (numbers only, memoized on the report), so that choosing a slice
    column the first time costs what a seen one costs; then the ROC legend entries that
    a new subset of shown attacks may need (:func:`~..render.plots.warm_roc_legend`).
    The thread stops early once ``current()`` is false (a Run replaced the report).
    Returns the thread."""

    def warm() -> None:
        for col in columns:
            if not current():
                return
            try:
                report.slice_summaries(col)
                report.exposed_group(col)
            except Exception:  # choosing the column shows the error
                continue
        warm_roc_legend(report, current)

    thread = threading.Thread(target=warm, name="mia-slice-warm", daemon=True)
    thread.start()
    return thread
