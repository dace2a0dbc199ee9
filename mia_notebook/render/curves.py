"""How an ROC curve is drawn, in every view: axes, the points kept, the segments.

One definition for the static PNG (:mod:`.plots`) and the JupyterLab renderer's JSON
(:mod:`.mime`, drawn by ``labextension/src/roc.ts``):

* **Colours**: one per group of rank-equivalent attacks (:func:`curve_colours`).
* **Axes**: log-log, FPR from :func:`roc_floor` (half of one non-member) to 1, TPR from
  the same floor to :data:`TPR_TOP`; the chance diagonal is TPR = FPR.
* **Points**: the curve's achievable (FPR, TPR) points, one per distinct score
  threshold; where a curve has many, :func:`drawn_indices` keeps, around each of a
  log-spaced grid of FPR values, the last point at or below it and the first above.
* **Segments**: steps. Between two achievable points the curve holds the lower TPR
  until the next point's FPR, then rises: what a threshold between them achieves, and
  exactly what the tables report (TPR at a target FPR is the TPR of the largest
  threshold whose FPR does not exceed it). A straight segment between tied points
  would be a randomised threshold, and drawn straight on log axes it would not even
  be that; a step stays true on any axes. A TPR below the floor (0) is drawn at it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..engine.results import AuditReport

__all__ = ["COLOURS", "TPR_TOP", "curve_colours", "drawn_indices", "roc_floor"]

#: One colour per curve (no grey: the chance line is grey). 12 >= the attacks there are.
COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#bcbd22", "#17becf", "#1b1f24", "#b8860b", "#000080",
)  # fmt: skip

#: Top of the TPR axis (a little above 1, so a curve reaching 1 stays visible).
TPR_TOP = 1.05


def curve_colours(report: AuditReport) -> dict[str, str]:
    """The colour of every computed attack's curve, in every view: its rank-equivalent
    group's, by the group's position among the groups of all computed attacks (so a
    curve keeps its colour when others are hidden)."""
    groups = report.rank_groups(shown=False)
    return {a: COLOURS[i % len(COLOURS)] for i, g in enumerate(groups) for a in g}


def roc_floor(n_nonmembers: int) -> float:
    """Lowest FPR (and TPR) drawn: half of one non-member (``0.05`` without any)."""
    return 0.5 / (n_nonmembers if n_nonmembers > 0 else 10)


def drawn_indices(fpr: np.ndarray, n_grid: int) -> np.ndarray:
    """Indices of the ROC points worth drawing on a log FPR axis.

    Parameters
    ----------
    fpr : ndarray of shape (n_points,)
        The curve's FPR, non-decreasing from 0 to 1.
    n_grid : int
        Number of log-spaced FPR values between the smallest positive FPR and 1.

    Returns
    -------
    ndarray of int
        Every index when the curve has at most ``2 * n_grid + 3`` points; else the
        first and last points, the last point at FPR 0, and for each grid value the
        last point at or below it and the first above it: at most ``2 * n_grid + 3``
        indices, sorted. Drawn as steps, the kept points differ from the whole curve by
        less than one grid step along the FPR axis.
    """
    n = int(fpr.size)
    if n <= 2 * n_grid + 3:
        return np.arange(n, dtype=np.intp)
    zero = int(np.searchsorted(fpr, 0.0, side="right")) - 1
    first = float(fpr[min(zero + 1, n - 1)])
    grid = np.geomspace(first, 1.0, max(n_grid, 1))
    below = np.searchsorted(fpr, grid, side="right") - 1
    idx = np.r_[0, max(zero, 0), below, np.minimum(below + 1, n - 1), n - 1]
    return np.unique(idx.clip(0, n - 1)).astype(np.intp)
