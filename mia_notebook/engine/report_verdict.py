"""The verdict's glue: attack labels, the records it lists and why none is listed.

Pure functions of scores and a :class:`~.verdict.Verdict`, as :mod:`.grouping` is:
:attr:`AuditReport.verdict` judges EVERY computed attack (hiding attacks from the view
cannot change the level), and the flagged records are the members the verdict's attack
identifies at the verdict's FPR, never a plain "top k" at chance.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .attacks import attack_class
from .errors import MiaValueError
from .verdict import Verdict
from .verdict.evidence import identify

__all__ = ["attack_labels", "flag_reason", "verdict_positions"]


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
    return verdict.reason
