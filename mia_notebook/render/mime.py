"""The JSON that the JupyterLab / Notebook 7 renderer (``labextension/``) draws.

:func:`report_payload` turns an :class:`~mia_notebook.engine.results.AuditReport` into a
plain, JSON-ready dict published under :data:`MIME_TYPE` beside the static ``text/html``.
The renderer recomputes the TPR column and the flagged set for any FPR target offered in
``fpr_choices`` from this payload alone, without a kernel. It holds only what the report
may show:

* per-attack ROC curves, thinned to at most ``max_points`` points each, that keep every
  point :func:`~mia_notebook.engine.metrics.tpr_at_fpr` selects for an offered target
  (and the next one, which decides the "coarse: ties" note), so the renderer's TPR equals
  Python's exactly;
* the flagged records of :meth:`AuditReport.flagged` (redacted columns already masked);
  each carries its rank under every attack, which decides exactly whether it is flagged
  at a threshold (rank <= number of records scoring at least the threshold). No other
  feature values and no per-record score vectors are written;
* summary numbers, settings, skipped attacks, notes and the verdict, if the report has one.

Convention: members are the positive class; a higher score means "more likely a member".
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mia_notebook.engine.metrics import RocCurve, tpr_at_fpr
from mia_notebook.engine.results import AuditReport

__all__ = ["FPR_CHOICES", "MAX_BYTES", "MAX_POINTS", "MIME_TYPE", "payload_json", "report_payload"]

#: Versioned MIME type; bump ``v1`` when the payload's meaning changes.
MIME_TYPE = "application/vnd.mia-notebook.report.v1+json"
#: FPR targets the renderer offers besides the report's own.
FPR_CHOICES: tuple[float, ...] = (
    0.0001,
    0.0002,
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
)
#: Most ROC points kept per attack.
MAX_POINTS = 2000
#: Size cap of the serialized payload, in bytes.
MAX_BYTES = 1_000_000
_MAX_COLUMNS = 40
_MAX_CELL = 120
_SUMMARY_KEYS = ("AUC", "advantage", "balanced_accuracy", "epsilon_lb", "members", "non_members")


def report_payload(
    report: AuditReport,
    *,
    max_points: int = MAX_POINTS,
    max_bytes: int = MAX_BYTES,
) -> dict[str, Any]:
    """The renderer's JSON for ``report``.

    Parameters
    ----------
    report : AuditReport
        The audit to show.
    max_points : int, default=MAX_POINTS
        Most ROC points kept per attack (the points the offered FPR targets need are
        always kept, so a curve may hold up to ``2 * len(fpr_choices)`` more).
    max_bytes : int, default=MAX_BYTES
        Size cap of the serialized payload. Curves are thinned further, then flagged
        rows dropped, until it fits; ``truncated`` lists what was cut.

    Returns
    -------
    dict
        JSON-ready (no NaN: missing numbers are ``None``).
    """
    choices = _fpr_choices(report.options.fpr)
    points = max_points
    out = _build(report, choices, points)
    while _size(out) > max_bytes and points > 50:
        points //= 2
        out = _build(report, choices, points)
        out["truncated"].append(f"ROC curves thinned to {points} points to fit {max_bytes} bytes")
    if _size(out) > max_bytes and out["flagged"]["rows"]:
        out["flagged"]["rows"] = []
        out["truncated"].append(f"flagged rows dropped to fit {max_bytes} bytes")
    return out


def payload_json(report: AuditReport, **kwargs: Any) -> str:
    """:func:`report_payload` serialized (compact, no NaN)."""
    return json.dumps(report_payload(report, **kwargs), separators=(",", ":"), allow_nan=False)


def _size(payload: dict[str, Any]) -> int:
    return len(json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8"))


def _fpr_choices(targets: Sequence[float]) -> list[float]:
    return sorted({*FPR_CHOICES, *(float(t) for t in targets)})


def _build(report: AuditReport, choices: list[float], points: int) -> dict[str, Any]:
    curves = report.roc_curves()
    summary = report.summary
    attacks = []
    for name in report.attacks:
        row = summary.loc[name] if name in summary.index else None
        attacks.append(
            {
                "name": name,
                **{k: _num(row[k]) if row is not None else None for k in _SUMMARY_KEYS},
                "curve": _curve(curves.get(name), choices, points),
            }
        )
    return {
        "version": 1,
        "model": str(report.run.get("model", "model")),
        "verdict": _verdict(report),
        "strongest": report.strongest,
        "fpr_targets": [float(t) for t in report.options.fpr],
        "fpr_choices": choices,
        "attacks": attacks,
        "flagged": _flagged(report),
        "redacted": [str(c) for c in report.options.redact],
        "skipped": {str(k): str(v) for k, v in report.skipped.items()},
        "notes": [str(n) for n in report.notes],
        "settings": _jsonable(_settings(report)),
        "truncated": [],
    }


def _settings(report: AuditReport) -> dict[str, Any]:
    keep = ("model", "attacks", "n_members", "n_nonmembers", "target", "seed", "references")
    settings = report.settings
    return {k: settings[k] for k in (*keep, "fpr", "flag", "redact") if k in settings}


def _verdict(report: AuditReport) -> dict[str, Any] | None:
    verdict = getattr(report, "verdict", None)
    if verdict is None:
        return None
    fields = ("level", "reason", "attack")
    return {f: _jsonable(getattr(verdict, f, None)) for f in fields}


def _curve_keep(curve: RocCurve, choices: list[float], points: int) -> np.ndarray:
    """Indices of the ROC points kept: ends, the offered targets' points, evenly spread."""
    n = curve.fpr.size
    keep = {0, n - 1}
    for target in choices:
        picked = tpr_at_fpr(curve, target)
        same = (curve.fpr == picked.achieved_fpr) & (curve.tpr == picked.tpr)
        idx = int(np.flatnonzero(same)[-1])
        keep.update({idx, min(idx + 1, n - 1)})
    spare = points - len(keep)
    if n > points and spare > 0:
        # Spread the rest evenly along the curve's length, so steep and flat parts both show.
        step = np.hypot(np.diff(curve.fpr), np.diff(curve.tpr))
        length = np.concatenate([[0.0], np.cumsum(step)])
        marks = np.linspace(0.0, length[-1], spare)
        keep.update(np.searchsorted(length, marks).clip(0, n - 1).tolist())
    elif n <= points:
        keep.update(range(n))
    return np.array(sorted(keep), dtype=np.intp)


def _curve(curve: RocCurve | None, choices: list[float], points: int) -> dict[str, Any] | None:
    if curve is None:
        return None
    idx = _curve_keep(curve, choices, points)
    thresholds = curve.thresholds[idx].astype(np.float64)
    return {
        "fpr": curve.fpr[idx].tolist(),
        "tpr": curve.tpr[idx].tolist(),
        # sklearn puts +inf above the top score; JSON has no infinity.
        "thresholds": [None if not math.isfinite(t) else float(t) for t in thresholds],
        "n_members": int(curve.n_members),
        "n_nonmembers": int(curve.n_nonmembers),
    }


def _flagged(report: AuditReport) -> dict[str, Any]:
    """The listed records (as :meth:`AuditReport.flagged`), columns and cells capped."""
    frame = report.flagged()
    attack = report.strongest
    if frame.empty or attack is None:
        return {"attack": attack, "index_name": None, "columns": [], "rows": [], "dropped": 0}
    columns = [str(c) for c in frame.columns[:_MAX_COLUMNS]]
    rows = [
        [_cell(label), *(_cell(v) for v in values[:_MAX_COLUMNS])]
        for label, values in zip(frame.index, frame.to_numpy(dtype=object).tolist(), strict=True)
    ]
    return {
        "attack": attack,
        "index_name": str(frame.index.name or "index"),
        "columns": columns,
        "rows": rows,
        "dropped": max(0, frame.shape[1] - _MAX_COLUMNS),
    }


def _cell(value: Any) -> Any:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _num(value)
    text = str(value)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _num(value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, str | bool):
        return obj
    if isinstance(obj, int | float | np.integer | np.floating | np.bool_):
        return bool(obj) if isinstance(obj, np.bool_) else _num(obj)
    return str(obj)
