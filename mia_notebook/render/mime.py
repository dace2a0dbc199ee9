"""The JSON that the JupyterLab / Notebook 7 renderer (``labextension/``) draws.

:func:`report_payload` turns an :class:`~mia_notebook.engine.results.AuditReport` into a
plain, JSON-ready dict published under :data:`MIME_TYPE` beside the static ``text/html``.
The renderer shows, for any FPR target offered in ``fpr_choices``, what Python decided
and formatted here, without a kernel. It holds only what the report may show:

* the FPR targets offered: the report's own and the policy's, and of :data:`FPR_CHOICES`
  those the non-members can resolve; ``choice_notes`` says what an unresolvable one of
  the report's own needs;
* per shown attack: the summary numbers with their texts as the static tables print
  them (:mod:`.format`), the TPR text and note at every offered target, and the ROC
  curve as :mod:`.curves` draws it (achievable points as member and non-member counts,
  thinned for a log FPR axis to at most ``max_points``, plus every point
  :func:`~mia_notebook.engine.metrics.tpr_at_fpr` reads for an offered target and the
  next one, so the renderer's marker and read-out sit on Python's figures; thresholds to
  6 significant digits, for the read-out; each list one comma-separated string,
  :func:`saved_curve` reads it back); ``roc`` gives the axes' range;
* the verdict (level, reason, attack, how many members it identifies, its FPR, the
  policy's FPR targets) and, for every offered FPR target, whether the verdict's attack
  singles out members beyond chance there (``claims``), decided here with the verdict's
  own exact test (:mod:`~mia_notebook.engine.verdict.evidence`), so the renderer can
  never accuse where Python would not: at level ``none`` no target claims anything; at
  the policy's targets the test is the verdict's (same Bonferroni share); at any other
  offered target it is corrected for every target the control offers, so browsing
  cannot inflate a claim; an FPR the non-members cannot resolve claims nothing;
* the members listed at some claiming target (at most ``options.flag``; at the verdict's
  FPR exactly :meth:`AuditReport.flagged`), redacted columns already masked, with their
  rank among the members under every attack (:meth:`AuditReport.flagged_ranks`), their
  values (for sorting) and their cells' texts. A row is flagged at a target exactly when
  that target claims and the row's rank under the verdict's attack is at most the
  target's ``identified`` count. Under ``person=`` also the listed people's rows
  (``flagged.people``: redacted, at most ``MAX_PERSON_ROWS``, as the static report lists
  them on expand). No other record and no per-record score vector is written;
* the static report's slice tables (``slices``: per class of the target and per value of
  the ``slice`` column, of the highlighted attack; group labels masked for a redacted
  column), with the "most exposed" sentence Python decided and TPR texts per offered
  target;
* the shown attacks grouped by rank equivalence (``groups``, from
  :meth:`AuditReport.rank_groups`): the renderer shows one row per group, as the static
  report does, and every attack's row on demand;
* settings, skipped attacks and notes.

Fast on view changes: the parts (curves, claims, flagged rows, slices) are memoized in
the render memo under the options they depend on, with their serialized sizes, so a new
FPR target among the offered ones, flag count, slice or redaction rebuilds only its part
and no JSON is serialized to check the size cap.

Convention: members are the positive class; a higher score means "more likely a member".
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from ..engine.metrics import Note, resolves
from ..engine.results import AuditReport
from ..engine.verdict import Verdict
from ..engine.verdict.evidence import Family, gather_evidence
from . import memo
from .curves import TPR_TOP, roc_floor
from .headline import highlighted
from .mime_parts import attacks_part, flagged_part, json_number, saved_curve, slices_part

__all__ = [
    "FPR_CHOICES",
    "MAX_BYTES",
    "MAX_POINTS",
    "MIME_TYPE",
    "MIN_POINTS",
    "VERSION",
    "fpr_choices",
    "fpr_claims",
    "json_number",
    "payload_json",
    "payload_size",
    "report_payload",
    "saved_curve",
    "thinned_to_fit",
]

#: Versioned MIME type; bump ``v1`` when the payload's meaning changes incompatibly.
MIME_TYPE = "application/vnd.mia-notebook.report.v1+json"
#: The payload's ``version``: 2 added slices, texts, ``roc`` and ``choice_notes``, and
#: curves as comma-separated counts (``fp``, ``tp``) instead of lists of rates (the
#: renderer still draws version 1).
VERSION = 2
#: FPR targets the renderer (and the audit panel's slider) offer besides the report's own,
#: when the non-members resolve them.
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
#: Most ROC points kept per attack (besides the offered targets' points): the points on
#: either side of about 300 log-spaced FPR values, more than the renderer's 390-pixel log
#: FPR axis shows.
MAX_POINTS = 600
#: Size cap of the serialized payload, in bytes.
MAX_BYTES = 1_000_000
#: Curves are not thinned below this many points to meet the size cap.
MIN_POINTS = 50

_Sized = tuple[Any, int]


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
        Size cap of the serialized payload. Curves are thinned further, then the
        flagged people's rows and then the flagged rows dropped, until it fits;
        ``truncated`` lists what was cut.

    Returns
    -------
    dict
        JSON-ready (no NaN: missing numbers are ``None``). Its nested lists and dicts
        are shared with later payloads of the same audit: read them, do not change them.
    """
    choices = fpr_choices(report)
    parts = _parts(report, choices, max_points)
    truncated: list[str] = []
    points = max_points
    while _size(parts) > max_bytes and points > MIN_POINTS:
        points //= 2
        parts["attacks"] = _attacks(report, choices, points)
        truncated.append(f"ROC curves thinned to {points} points to fit {max_bytes} bytes")
    if _size(parts) > max_bytes and "people" in parts["flagged"][0]:
        flagged = {k: v for k, v in parts["flagged"][0].items() if k != "people"}
        parts["flagged"] = (flagged, _json_size(flagged))
        truncated.append(f"flagged people's rows dropped to fit {max_bytes} bytes")
    if _size(parts) > max_bytes and parts["flagged"][0]["rows"]:
        flagged = {**parts["flagged"][0], "rows": [], "text": [], "ranks": {}}
        flagged.pop("people", None)
        parts["flagged"] = (flagged, _json_size(flagged))
        truncated.append(f"flagged rows dropped to fit {max_bytes} bytes")
    out = {k: v for k, (v, _) in parts.items()}
    # Fresh containers at the top: a caller may edit these (mime_compare does).
    out["attacks"] = [dict(a) for a in out["attacks"]]
    out["flagged"] = dict(out["flagged"])
    out["truncated"] = out["truncated"] + truncated
    return out


def fpr_choices(report: AuditReport) -> list[float]:
    """The FPR targets the renderer offers: the report's and the policy's own, and those
    of :data:`FPR_CHOICES` that the non-members resolve, ascending."""
    n_neg = report.n_nonmembers
    offered = (f for f in FPR_CHOICES if resolves(n_neg, f))
    return sorted({*offered, *(float(t) for t in (*report.options.fpr, *_policy_fpr(report)))})


def _policy_fpr(report: AuditReport) -> tuple[float, ...]:
    return tuple(report.verdict.policy.fpr)


def _attacks(report: AuditReport, choices: list[float], points: int) -> _Sized:
    opts = report.options
    key = ("attacks", points, tuple(report.attacks), tuple(choices), opts.confidence, opts.delta)
    return _sized_part(report, key, lambda: attacks_part(report, choices, points))


def _parts(report: AuditReport, choices: list[float], points: int) -> dict[str, _Sized]:
    """Every top-level entry of the payload with its serialized size; the costly ones
    come from the render memo, keyed by what they depend on."""
    opts = report.options
    verdict_key = opts.verdict_key
    claims = _sized_part(
        report, ("claims", tuple(choices), *verdict_key), lambda: fpr_claims(report, choices)
    )
    most = max((c["identified"] for c in claims[0]), default=0)
    flagged_key = ("flagged", *verdict_key, opts.redact, tuple(report.attacks), most)
    attack = highlighted(report)
    slice_key = ("slices", opts.slice, opts.redact, tuple(choices), attack, opts.confidence)
    n_neg = report.n_nonmembers
    lo = roc_floor(n_neg)
    parts = _sized(
        version=VERSION,
        model=str(report.info.model),
        strongest=report.strongest,
        fpr_targets=[float(t) for t in opts.fpr],
        fpr_choices=choices,
        choice_notes=[Note.UNRESOLVABLE.text(f) if not resolves(n_neg, f) else "" for f in choices],
        roc={"fpr_min": lo, "tpr_min": lo, "tpr_max": TPR_TOP},
    )
    parts.update(
        verdict=_sized_part(report, ("verdict", *verdict_key), lambda: _verdict(report.verdict)),
        claims=claims,
        attacks=_attacks(report, choices, points),
        flagged=_sized_part(report, flagged_key, lambda: flagged_part(report, most)),
        slices=_sized_part(
            report, (*slice_key, opts.delta), lambda: slices_part(report, attack, choices)
        ),
    )
    parts.update(
        _sized(
            groups=[list(g) for g in report.rank_groups()],
            redacted=[str(c) for c in opts.redact],
            skipped={str(k): str(v) for k, v in report.skipped.items()},
            notes=[str(n) for n in report.notes],
            settings=_jsonable(_settings(report)),
            truncated=[],
        )
    )
    return parts


def _sized(**values: Any) -> dict[str, _Sized]:
    return {k: (v, _json_size(v)) for k, v in values.items()}


def _sized_part(report: AuditReport, key: tuple[Hashable, ...], build: Callable[[], Any]) -> _Sized:
    """``build()`` and its serialized size, memoized for the audit under ``key``."""

    def sized() -> _Sized:
        value = build()
        return value, _json_size(value)

    found: _Sized = memo.memoized(report, ("mime", *key), sized)
    return found


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode("utf-8"))


def _size(parts: dict[str, _Sized]) -> int:
    """Bytes of the payload made of ``parts``, as :func:`payload_size` counts them:
    ``{``, each ``"key":value`` joined by commas, ``}``."""
    keys = sum(_json_size(k) + 1 for k in parts)
    return 2 + keys + sum(size for _, size in parts.values()) + max(len(parts) - 1, 0)


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
    return _json_size(payload)


def _settings(report: AuditReport) -> dict[str, Any]:
    keep: tuple[str, ...] = (
        *("model", "attacks", "n_members", "n_nonmembers", "target", "seed", "references"),
    )
    settings = report.settings
    if report.options.person is not None:  # the people the numbers count
        keep = (*keep, "person", "n_member_people", "n_nonmember_people")
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
        "setting": verdict.setting,  # the threat model judged; each one's level below
        "settings": {s: v.level for s, v in verdict.settings.items()},
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
    tested = [f for f in choices if f in policy_family.fpr or resolves(n_neg, f)]
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
