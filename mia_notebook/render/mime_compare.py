"""The JSON that the JupyterLab / Notebook 7 renderer draws for a model comparison.

:func:`comparison_payload` turns a :class:`~mia_notebook.engine.compare.ComparisonReport`
into a plain, JSON-ready dict published under :data:`COMPARISON_MIME_TYPE` beside the
comparison's static ``text/html``. It reuses the single report's payload
(:func:`~mia_notebook.render.mime.report_payload`) for every model, so the renderer reads
each model's verdict, claims and thinned ROC curves exactly as for a single report and
recomputes each model's TPR at any offered FPR target from its stored curve. On top:

* the comparison's own figures: its FPR (:attr:`ComparisonReport.fpr`, the control's
  first value), baseline, riskiest model, verdict line and notes;
* per model: class name, ``outputs=`` form, task utility on ``test``, the row attack of
  :attr:`ComparisonReport.rows` (the verdict's attack; at level ``none`` the attack with
  the highest AUC, shown for reference), its epsilon bound, and for every offered FPR
  target the Clopper-Pearson interval of that attack's TPR (computed here, on the full
  curve; None where the non-members cannot resolve the target).

No record is written: every model's flagged rows, their ranks and columns, and its slice
tables are emptied (a comparison lists no record; each model's own report does), so the
payload holds no feature value at all. Only the row attack keeps its curve (the other
attacks keep their summary numbers, ``curve`` None): the comparison draws one curve per
model. It is size-capped: curves are thinned until it fits.

Convention: members are the positive class; a higher score means "more likely a member".
"""

from __future__ import annotations

import math
import sys
from typing import Any

from ..engine.compare import ComparisonReport, model_row
from .mime import MAX_BYTES, MAX_POINTS, json_number, report_payload, thinned_to_fit

__all__ = ["COMPARISON_MIME_TYPE", "comparison_payload"]

#: Versioned MIME type; bump ``v1`` when the payload's meaning changes.
COMPARISON_MIME_TYPE = "application/vnd.mia-notebook.comparison.v1+json"


def comparison_payload(
    cmp: ComparisonReport,
    *,
    max_points: int = MAX_POINTS,
    max_bytes: int = MAX_BYTES,
) -> dict[str, Any]:
    """The renderer's JSON for ``cmp``.

    Parameters
    ----------
    cmp : ComparisonReport
        The comparison to show.
    max_points : int, default=MAX_POINTS
        Most ROC points kept per attack and model (the points the offered FPR targets
        need are always kept).
    max_bytes : int, default=MAX_BYTES
        Size cap of the serialized payload. Curves are thinned (halving the points)
        until it fits, down to about 50 points; ``truncated`` says so.

    Returns
    -------
    dict
        JSON-ready (no NaN: missing numbers are ``None``).
    """
    return thinned_to_fit(
        lambda points: _build(cmp, points), max_points=max_points, max_bytes=max_bytes
    )


def _build(cmp: ComparisonReport, points: int) -> dict[str, Any]:
    models = [_model(cmp, name, points) for name in cmp.reports]
    choices = sorted(set.intersection(*(set(m["report"]["fpr_choices"]) for m in models)))
    baseline = cmp.reports[cmp.baseline]
    return {
        "version": 1,
        "kind": "comparison",
        "fpr": float(cmp.fpr),
        "fpr_choices": choices,
        "baseline": cmp.baseline,
        "riskiest": cmp.riskiest,
        "verdict_line": cmp.verdict_line,
        "utility_columns": [str(c) for c in cmp.utility.columns],
        "confidence": float(baseline.options.confidence),
        "notes": [str(n) for n in cmp.notes],
        "models": models,
        "truncated": [],
    }


def _model(cmp: ComparisonReport, name: str, points: int) -> dict[str, Any]:
    report = cmp.reports[name]
    # Uncapped here: the whole comparison is capped (its curves thinned together).
    payload = report_payload(report, max_points=points, max_bytes=sys.maxsize)
    # A comparison lists no record and no slice: no feature value leaves the kernel
    # through it.
    payload["flagged"].update(columns=[], rows=[], text=[], ranks={}, dropped=0, limit=0)
    payload["slices"] = []
    row = model_row(name, report, cmp.fpr)
    for entry in payload["attacks"]:  # only the row attack's curve is drawn
        if entry["name"] != row.attack:
            entry["curve"] = None
    intervals = []
    for target in payload["fpr_choices"]:
        tpr = model_row(name, report, target).tpr
        lo, hi = tpr.interval
        ok = tpr.resolvable and not math.isnan(lo)
        intervals.append([json_number(lo), json_number(hi)] if ok else None)
    return {
        "name": name,
        "estimator": cmp.models[name],
        "outputs": str(report.options.outputs),
        "utility": {str(c): json_number(v) for c, v in cmp.utility.loc[name].items()},
        "level": row.level,
        "setting": row.setting,
        "attack": row.attack,
        "threat": row.threat,
        "epsilon_lb": json_number(row.epsilon_lb),
        "intervals": intervals,
        "report": payload,
    }
