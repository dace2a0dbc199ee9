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
* the verdict (level, reason, attack, how many members it identifies, the policy's FPR
  targets) and, for every offered FPR target, whether the verdict's attack singles out
  members beyond chance there (``claims``), decided here with the verdict's own exact
  test (:mod:`~mia_notebook.engine.verdict.evidence`), so the renderer can never accuse
  where Python would not: at level ``none`` no target claims anything; at the policy's
  targets the test is the verdict's (same Bonferroni share); at any other offered target
  it is corrected for every target the control offers, so browsing cannot inflate a claim;
  an FPR the non-members cannot resolve claims nothing;
* the members listed at some claiming target (at most ``options.flag``; at the verdict's
  FPR exactly :meth:`AuditReport.flagged`), redacted columns already masked, with their
  rank among the members under every attack (:meth:`AuditReport.flagged_ranks`). A row is
  flagged at a target exactly when that target claims and the row's rank under the
  verdict's attack is at most the target's ``identified`` count. No other feature values
  and no per-record score vectors are written;
* the shown attacks grouped by rank equivalence (``groups``, from
  :meth:`AuditReport.rank_groups`): the renderer shows one row per group, as the static
  report does, and every attack's row on demand;
* summary numbers, settings, skipped attacks and notes.

Convention: members are the positive class; a higher score means "more likely a member".
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mia_notebook.engine.metrics import RocCurve, tpr_at_fpr
from mia_notebook.engine.results import AuditReport
from mia_notebook.engine.verdict import Verdict
from mia_notebook.engine.verdict.evidence import Family, gather_evidence

__all__ = [
    "FPR_CHOICES",
    "MAX_BYTES",
    "MAX_POINTS",
    "MIME_TYPE",
    "MIN_POINTS",
    "json_number",
    "payload_json",
    "payload_size",
    "report_payload",
    "thinned_to_fit",
]

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
#: Curves are not thinned below this many points to meet the size cap.
MIN_POINTS = 50
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
    choices = _fpr_choices(report.options.fpr, report.verdict.policy.fpr)
    out = thinned_to_fit(
        lambda points: _build(report, choices, points), max_points=max_points, max_bytes=max_bytes
    )
    if payload_size(out) > max_bytes and out["flagged"]["rows"]:
        out["flagged"].update(rows=[], ranks={})
        out["truncated"].append(f"flagged rows dropped to fit {max_bytes} bytes")
    return out


def thinned_to_fit(
    build: Callable[[int], dict[str, Any]], *, max_points: int, max_bytes: int
) -> dict[str, Any]:
    """``build(points)`` (a payload whose curves keep at most ``points`` points each),
    with ``points`` halved until the payload fits ``max_bytes`` or is down to about
    :data:`MIN_POINTS`; each halving is listed in the payload's ``truncated``."""
    points = max_points
    out = build(points)
    while payload_size(out) > max_bytes and points > MIN_POINTS:
        points //= 2
        out = build(points)
        out["truncated"].append(f"ROC curves thinned to {points} points to fit {max_bytes} bytes")
    return out


def payload_json(report: AuditReport, **kwargs: Any) -> str:
    """:func:`report_payload` serialized (compact, no NaN)."""
    return json.dumps(report_payload(report, **kwargs), separators=(",", ":"), allow_nan=False)


def payload_size(payload: dict[str, Any]) -> int:
    """Bytes of ``payload`` serialized as the notebook stores it (compact UTF-8 JSON)."""
    return len(json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8"))


def _fpr_choices(targets: Sequence[float], policy_fpr: Sequence[float]) -> list[float]:
    return sorted({*FPR_CHOICES, *(float(t) for t in (*targets, *policy_fpr))})


def _build(report: AuditReport, choices: list[float], points: int) -> dict[str, Any]:
    curves = report.roc_curves()
    summary = report.summary
    attacks = []
    for name in report.attacks:
        row = summary.loc[name] if name in summary.index else None
        attacks.append(
            {
                "name": name,
                **{k: json_number(row[k]) if row is not None else None for k in _SUMMARY_KEYS},
                "curve": _curve(curves.get(name), choices, points),
            }
        )
    claims = fpr_claims(report, choices)
    return {
        "version": 1,
        "model": str(report.info.model),
        "verdict": _verdict(report.verdict),
        "strongest": report.strongest,
        "fpr_targets": [float(t) for t in report.options.fpr],
        "fpr_choices": choices,
        "claims": claims,
        "attacks": attacks,
        # One row per group of rank-equivalent attacks (their numbers are identical).
        "groups": [list(g) for g in report.rank_groups()],
        "flagged": _flagged(report, max((c["identified"] for c in claims), default=0)),
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


def _verdict(verdict: Verdict) -> dict[str, Any]:
    ev = verdict.evidence
    return {
        "level": verdict.level,
        "reason": verdict.reason,
        "attack": verdict.attack,
        "n_identified": int(verdict.n_identified),
        "fpr": json_number(ev.get("fpr")),  # the verdict's own FPR target (None at 'none')
        "policy_fpr": [float(f) for f in verdict.policy.fpr],
        "confidence": float(verdict.policy.confidence),
        "tests": int(ev.get("tests", 0)),
    }


def fpr_claims(report: AuditReport, choices: Sequence[float]) -> list[dict[str, Any]]:
    """Per offered FPR target: may the renderer flag anyone there, and how many members.

    Parameters
    ----------
    report : AuditReport
    choices : sequence of float
        The offered FPR targets (the payload's ``fpr_choices``).

    Returns
    -------
    list of dict, one per target in ``choices`` order
        ``fpr``; ``claim`` (the verdict's attack beats chance there); ``identified``
        (members scoring above that attack's threshold at the target, 0 without a
        claim); ``p_value`` and ``alpha`` of the exact test (None when not tested);
        ``why`` (``"claim"``, ``"chance"``, ``"unresolvable"`` or ``"none"``).
    """
    verdict = report.verdict
    attack = verdict.attack
    if verdict.level == "none" or attack is None:
        return [_claim(f, "none") for f in choices]
    members = report.members
    policy_family = Family.of(
        n_attacks=len(report.computed_attacks), members=members, policy=verdict.policy
    )
    n_neg = policy_family.n_nonmembers
    tested = [f for f in choices if f in policy_family.fpr or n_neg * f >= 1.0 - 1e-9]
    # Every target the control offers is one more test: correct for all of them, and
    # keep the verdict's own (larger) share only at the policy's targets.
    explored = dataclasses.replace(
        policy_family, fpr=tuple(sorted({*tested, *policy_family.fpr})), settings=()
    )
    scores = report.scores[attack].to_numpy(dtype=np.float64)
    evidence = gather_evidence(
        attack, scores, members, explored, sorted_scores=report.sorted_scores(attack)
    )
    points = {p.fpr: p for p in evidence.points}
    out = []
    for f in choices:
        if f not in points:
            out.append(_claim(f, "unresolvable"))
            continue
        p = points[f]
        alpha = policy_family.alpha_tpr if f in policy_family.fpr else explored.alpha_tpr
        claim = p.tp > 0 and p.p_value <= alpha
        out.append(
            _claim(f, "claim" if claim else "chance", p.tp if claim else 0, p.p_value, alpha)
        )
    return out


def _claim(
    fpr: float,
    why: str,
    identified: int = 0,
    p_value: float | None = None,
    alpha: float | None = None,
) -> dict[str, Any]:
    return {
        "fpr": float(fpr),
        "claim": why == "claim",
        "identified": int(identified),
        "p_value": json_number(p_value),
        "alpha": json_number(alpha),
        "why": why,
    }


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


def _flagged(report: AuditReport, most: int) -> dict[str, Any]:
    """The members listed at some claiming target: the verdict attack's top
    ``min(flag, most)`` members (at the verdict's FPR exactly :meth:`AuditReport.flagged`,
    whose rows come first in the same order), columns and cells capped."""
    attack = report.verdict.attack
    limit = max(int(report.options.flag), 0)
    k = min(limit, most)
    frame = report.flagged(k=k, attack=attack) if attack and k else report.flagged()
    out: dict[str, Any] = {
        "attack": attack,
        "limit": limit,
        "reason": str(report.flagged().attrs.get("reason", "")),
        "index_name": str(frame.index.name or "index"),
        "rank_column": report.rank_label(),
        "columns": [],
        "rows": [],
        "ranks": {},
        "dropped": 0,
    }
    if frame.empty or attack is None:
        return out
    ranks = report.flagged_ranks(k=k, attack=attack)
    # The score and rank columns come last and always stay; wide data loses its tail.
    keep = [
        *range(min(frame.shape[1] - 2, _MAX_COLUMNS - 2)),
        frame.shape[1] - 2,
        frame.shape[1] - 1,
    ]
    shown = frame.iloc[:, keep]
    out.update(
        columns=[str(c) for c in shown.columns],
        rows=[
            [_cell(label), *(_cell(v) for v in values)]
            for label, values in zip(
                shown.index, shown.to_numpy(dtype=object).tolist(), strict=True
            )
        ],
        ranks={str(a): [int(r) for r in ranks[a]] for a in ranks.columns},
        dropped=frame.shape[1] - shown.shape[1],
    )
    return out


def _cell(value: Any) -> Any:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return json_number(value)
    text = str(value)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


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


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, str | bool):
        return obj
    if isinstance(obj, int | float | np.integer | np.floating | np.bool_):
        return bool(obj) if isinstance(obj, np.bool_) else json_number(obj)
    return str(obj)
