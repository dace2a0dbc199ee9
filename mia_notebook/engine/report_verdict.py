"""The verdict's glue: attack labels, the records it lists and why none is listed.

Pure functions of scores and a :class:`~.verdict.Verdict`, as :mod:`.grouping` is:
:attr:`AuditReport.verdict` judges EVERY computed attack (hiding attacks from the view
cannot change the level), and the flagged records are the members the verdict's attack
identifies at the verdict's FPR, never a plain "top k" at chance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

import numpy as np

from .attacks import attack_class
from .errors import MiaValueError
from .verdict import SortedScores, Verdict, judge
from .verdict.evidence import identify
from .verdict.policy import Policy
from .verdict.settings import BLACK_BOX, chosen_setting, setting_sentence, split_attacks

__all__ = [
    "attack_labels",
    "flag_reason",
    "judge_by_setting",
    "threat_model",
    "verdict_positions",
]


def threat_model(attack: str, known: Mapping[str, str]) -> str:
    """``'black-box'`` or ``'white-box'``: the run's record (``info.threat_models``),
    else the attack class's, else black-box (an attack that only sees scores)."""
    if attack in known:
        return known[attack]
    try:
        return str(attack_class(attack).threat_model)
    except MiaValueError:
        return BLACK_BOX


def judge_by_setting(
    scores: Mapping[str, np.ndarray],
    members: np.ndarray,
    *,
    threats: Mapping[str, str],
    policies: Mapping[str, Policy],
    setting: str,
    api: str,
    max_flag: int | None,
    labels: Mapping[str, str],
    sorted_scores: Mapping[str, SortedScores],
) -> Verdict:
    """The verdict of each threat model (black-box: the black-box attacks; white-box:
    every attack; each under ``policies[setting]``), combined by
    :func:`combine_settings` into the one the report shows for ``setting``."""
    known = {a: threat_model(a, threats) for a in scores}
    per_setting = {
        name: judge(
            {a: scores[a] for a in attacks},
            members,
            policy=policies[name],
            max_flag=max_flag,
            labels=labels,
            sorted_scores={a: sorted_scores[a] for a in attacks if a in sorted_scores},
        )
        for name, attacks in split_attacks(list(scores), known).items()
    }
    return combine_settings(per_setting, setting, api)


def attack_labels(attacks: Iterable[str], n_references: int | None) -> dict[str, str]:
    """How the verdict's sentence names each attack, e.g. ``"RMIA (offline), 16
    reference models"`` (``n_references``: the reference models used, None: none)."""
    out = {}
    for name in attacks:
        try:
            cls = attack_class(name)
        except MiaValueError:
            out[name] = name
            continue
        label = cls.title
        if cls.needs_references and n_references:
            label += f", {n_references} reference model{'s' if n_references != 1 else ''}"
        out[name] = label
    return out


def verdict_positions(
    verdict: Verdict, scores: np.ndarray | None, members: np.ndarray, k: int
) -> np.ndarray:
    """Positions of at most ``k`` members the verdict identifies, most member-like first
    (empty at 'none' or when no record can be singled out).

    ``scores`` are the verdict attack's scores of every record (None at 'none').
    """
    shown = verdict.identified
    if k <= shown.size or shown.size == verdict.n_identified or scores is None:
        return np.asarray(shown[:k], dtype=np.intp)
    found, _ = identify(scores, members, _verdict_threshold(verdict), k)
    return found


def _verdict_threshold(verdict: Verdict) -> float:
    """The score threshold of the verdict's attack at the verdict's FPR."""
    points = verdict.evidence["attacks"][verdict.attack]["points"]
    point = next(p for p in points if p["fpr"] == verdict.evidence["fpr"])
    threshold = point["threshold"]
    return -np.inf if threshold is None else float(threshold)


def flag_reason(flag: int, verdict: Verdict) -> str:
    """Why no record is listed (or '' when some are), at flag count ``flag``."""
    if flag <= 0:
        return "The flag count is 0."
    if verdict.identified.size:
        return ""
    # the chosen setting's own sentence: the list is that setting's, not led by both levels
    return verdict.settings.get(verdict.setting or "", verdict).reason


def combine_settings(per_setting: Mapping[str, Verdict], setting: str, api: str) -> Verdict:
    """The report's verdict from each setting's :class:`~.Verdict`: the chosen
    setting's, its reason led by every setting's level when there are two, and every
    setting kept in ``settings``."""
    levels = {s: v.level for s, v in per_setting.items()}
    name = chosen_setting(levels, setting)
    chosen = per_setting[name]
    settings = {s: replace(v, setting=s) for s, v in per_setting.items()}
    reason = chosen.reason
    if len(per_setting) > 1:
        reason = f"{setting_sentence(levels, api)} {reason}"
    return replace(chosen, reason=reason, setting=name, settings=settings)
