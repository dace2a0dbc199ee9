"""The parts of the renderer's JSON (:mod:`.mime`) that cost something to build.

Each builder returns a plain, JSON-ready value; :mod:`.mime` memoizes each one under the
options it depends on, so a view change rebuilds only what that change touches. Every
number a table shows comes with its text, formatted here by :mod:`.format` exactly as the
static report prints it (the renderer shows the text and sorts by the number); TPR texts
come per offered FPR target, so the renderer picks them without computing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine.metrics import RocCurve, threshold_index
from ..engine.person_scores import MAX_PERSON_ROWS, PERSON_NUMBER, ROWS
from ..engine.report_verdict import flag_reason
from ..engine.results import AuditReport
from . import memo
from .curves import curve_colours, drawn_indices
from .format import fmt_number
from .sections import (
    PERSON_ROWS_INDEX,
    exposed_sentence,
    person_rows_frame,
    slice_columns,
    slice_heading,
)
from .tables import NUMBERS, SLICE_NUMBERS, MetricRow, attack_rows, slice_rows

__all__ = ["attacks_part", "flagged_part", "json_number", "saved_curve", "slices_part"]

_MAX_COLUMNS = 40
_MAX_CELL = 120


def json_number(value: Any) -> float | int | None:
    """``value`` as a JSON number: ints stay ints, NaN and infinities become None."""
    if value is None:
        return None
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _entry(row: MetricRow) -> dict[str, Any]:
    """A table row (:mod:`.tables`): its numbers (for sorting), their texts as the static
    tables print them, and the TPR text and note at every offered target."""
    return {
        **{k: json_number(row.numbers[k]) for k in NUMBERS},
        "text": {k: row.text(k) for k in SLICE_NUMBERS},
        "tpr_text": row.tpr_texts,
        "tpr_note": row.tpr_notes,
    }


def attacks_part(report: AuditReport, choices: Sequence[float], points: int) -> list[Any]:
    """One entry per shown attack: its table row at the offered targets, its curve's
    colour and its ROC curve thinned for drawing."""
    curves, colours = report.roc_curves(), curve_colours(report)
    out = []
    for row in attack_rows(report, choices, per_attack=True):
        name = row.names[0]
        out.append(
            {
                "name": name,
                "threat": row.threat,  # 'black-box' or 'white-box', as the tables say
                **_entry(row),
                "colour": colours[name],  # its curve's, as in the static PNG
                "curve": _curve(curves.get(name), choices, points),
            }
        )
    return out


def _curve_keep(curve: RocCurve, choices: Sequence[float], points: int) -> np.ndarray:
    """Indices of the ROC points kept: what :func:`.curves.drawn_indices` draws within
    ``points``, and for every offered target the point its TPR reads and the next one
    (which decides the "coarse: ties" note)."""
    picked = threshold_index(curve, choices)
    last = curve.fpr.size - 1
    keep = np.r_[drawn_indices(curve.fpr, max((points - 3) // 2, 1)), picked]
    keep = np.r_[keep, np.minimum(picked + 1, last)]
    out: np.ndarray = np.unique(keep)
    return out


def _curve(curve: RocCurve | None, choices: Sequence[float], points: int) -> dict[str, Any] | None:
    if curve is None:
        return None
    idx = _curve_keep(curve, choices, points)
    fp = np.rint(curve.fpr[idx] * curve.n_nonmembers).astype(np.int64)
    tp = np.rint(curve.tpr[idx] * curve.n_members).astype(np.int64)
    return {
        # Counts, not rates: exact and short; FPR = fp / n_nonmembers (TPR likewise) is the
        # very division engine/metrics.py made, in any IEEE-754 reader. Each list is one
        # comma-separated string: one JSON value (and one notebook line) per curve.
        "fp": ",".join(map(str, fp.tolist())),
        "tp": ",".join(map(str, tp.tolist())),
        # For the hover read-out only (4 digits shown); "inf" above the top score.
        "thresholds": ",".join(_number(t) for t in curve.thresholds[idx].tolist()),
        "n_members": int(curve.n_members),
        "n_nonmembers": int(curve.n_nonmembers),
    }


def _number(t: float) -> str:
    return f"{t:.6g}" if math.isfinite(t) else ("inf" if t > 0 else "-inf")


def saved_curve(entry: dict[str, Any]) -> RocCurve:
    """A payload's curve back as the :class:`RocCurve` of the points it keeps, with
    Python's own FPR and TPR values (for checks and tools)."""
    n_pos, n_neg = int(entry["n_members"]), int(entry["n_nonmembers"])

    def numbers(key: str, dtype: type) -> np.ndarray:
        text = entry[key]
        return np.array([dtype(v) for v in text.split(",")] if text else [], dtype=dtype)

    return RocCurve(
        numbers("fp", int) / n_neg, numbers("tp", int) / n_pos, numbers("thresholds", float),
        n_pos, n_neg,
    )  # fmt: skip


def flagged_part(report: AuditReport, most: int) -> dict[str, Any]:
    """The members listed at some claiming target: the verdict attack's top
    ``min(flag, most)`` members (at the verdict's FPR exactly :meth:`AuditReport.flagged`,
    whose rows come first in the same order), columns and cells capped; ``rows`` hold the
    values (for sorting), ``text`` the cells as the static table prints them."""
    verdict = report.verdict
    attack = verdict.attack
    limit = max(int(report.options.flag), 0)
    k = min(limit, most)
    listed = report.flagged_positions().size  # what report.flagged() lists
    out: dict[str, Any] = {
        "attack": attack,
        "limit": limit,
        "reason": "" if listed else flag_reason(report.options.flag, verdict),
        "index_name": str(report.records.rows(np.zeros(0, np.intp)).index.name or "index"),
        "rank_column": report.rank_label(),
        "columns": [],
        "rows": [],
        "text": [],
        "ranks": {},
        "dropped": 0,
    }
    rows = _flagged_rows(report, attack, k) if attack and k else None
    if rows is None:
        return out
    order = report.flagged_positions(k, attack)  # the rows of report.flagged_ranks(k, attack)
    ranks = {str(a): report.member_ranks(a)[order].astype(int).tolist() for a in report.attacks}
    out.update(rows, ranks=ranks)
    return out


def _flagged_rows(report: AuditReport, attack: str, k: int) -> dict[str, Any] | None:
    """The columns, rows and texts of ``attack``'s top ``k`` members (None when there
    are none): memoized per attack, not per subset of shown attacks (only the ranks
    under every shown attack depend on that)."""

    def build() -> dict[str, Any] | None:
        frame = report.flagged(k=k, attack=attack)
        if frame.empty:
            return None
        # The score and rank columns come last and always stay; wide data loses its tail.
        n = frame.shape[1]
        shown = frame.iloc[:, [*range(min(n - 2, _MAX_COLUMNS - 2)), n - 2, n - 1]]
        labels, values = shown.index.tolist(), shown.to_numpy(dtype=object).tolist()
        return {
            "columns": [str(c) for c in shown.columns],
            "rows": [[_cell(x), *map(_cell, row)] for x, row in zip(labels, values, strict=True)],
            "text": [_texts_of(x, row) for x, row in zip(labels, values, strict=True)],
            "dropped": n - shown.shape[1],
            **_maybe_people(report, shown.index.to_numpy()),
        }

    key = ("mime_flagged_rows", attack, k, report.options.redact)
    found: dict[str, Any] | None = memo.memoized(report, key, build)
    return found


def _maybe_people(report: AuditReport, numbers: np.ndarray) -> dict[str, Any]:
    people = _people_part(report, numbers)
    return {} if people is None else {"people": people}


def _people_part(report: AuditReport, numbers: np.ndarray) -> dict[str, Any] | None:
    """Under ``person=``: each flagged person's rows, as the static report lists them on
    expand (:func:`.sections.person_rows_frame`: redacted, at most ``MAX_PERSON_ROWS``
    in all), columns capped; ``text[i]`` holds the rows of the person of ``rows[i]``,
    each the index label then the cells as the static table prints them; ``counts[i]``
    that person's number of rows (more than listed when the cap cut them)."""
    frame = person_rows_frame(report, numbers)
    if frame is None:
        return None
    n = frame.shape[1]
    shown = frame.iloc[:, : min(n, _MAX_COLUMNS)]
    whose = frame[PERSON_NUMBER].to_numpy()
    labels, values = shown.index.tolist(), shown.to_numpy(dtype=object).tolist()
    texts = [_texts_of(x, row) for x, row in zip(labels, values, strict=True)]
    counts = report.records.rows(np.asarray(numbers, dtype=np.intp) - 1)[ROWS]
    return {
        "index_name": PERSON_ROWS_INDEX,
        "columns": [str(c) for c in shown.columns],
        "text": [[t for t, w in zip(texts, whose, strict=True) if w == k] for k in numbers],
        "counts": [int(c) for c in counts],
        "limit": MAX_PERSON_ROWS,
        "dropped": n - shown.shape[1],
    }


def _texts_of(label: Any, row: list[Any]) -> list[str]:
    """A flagged row's cells as the static table prints them: the index label as text,
    values by :func:`.format.fmt_number` (redacted ones stay masked)."""
    return [_capped(str(label)), *(_capped(fmt_number(v)) for v in row)]


def _capped(text: str) -> str:
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _cell(value: Any) -> Any:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return json_number(value)
    return _capped(str(value))


def slices_part(
    report: AuditReport, attack: str | None, choices: Sequence[float]
) -> list[dict[str, Any]]:
    """The static report's slice tables (:func:`.sections.slices_html`): per column (the
    target, then the slice column), the heading, the "most exposed" sentence Python
    decided (None when no group stands out beyond chance), and per group its label
    (masked for a redacted column), numbers, texts and TPR texts per offered target.
    Empty when no attack is highlighted (level ``none``), as in the static report."""
    if attack is None:
        return []
    out = []
    for col in slice_columns(report):
        rows = slice_rows(report, col, attack, choices)
        if not rows:
            continue
        out.append(
            {
                "column": str(col),
                "heading": slice_heading(report, col, attack),
                "attack": attack,
                "masked": col in report.options.redact,
                "finding": exposed_sentence(report, col, attack),
                "rows": [{"group": row.names[0], **_entry(row)} for row in rows],
            }
        )
    return out
