"""The verdict: a policy maps an audit's evidence to one of four ordered risk levels.

Every level is a claim that holds at the policy's confidence, simultaneously with every
figure the verdict quotes:

* The attacks' evidence is a family of tests: for each attack and each resolvable FPR
  target, an exact permutation test of "scores do not depend on membership" (how many
  members score above the threshold that lets through at most that share of
  non-members), with a Clopper-Pearson lower bound on the TPR; and for each attack and
  each abstention setting, a one-run epsilon lower bound (:mod:`.one_run`). Half of
  ``1 - confidence`` goes to each kind and is split evenly over its members
  (Bonferroni), so choosing the best attack afterwards cannot inflate any claim.
* ``none``: no test rejects chance. ``low``: some test does. ``elevated`` / ``high``:
  a TPR *lower* bound at a policy FPR, or the epsilon lower bound, passes the policy's
  line.

Members are the positive class; a higher score means "more likely a member". Nothing
here depends on the order of the records: ties are kept whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import MiaValueError, PrivacyRiskError
from .evidence import AttackEvidence, Family, gather_evidence, identify
from .one_run import SortedScores
from .policy import LEVELS, Policy, level_index
from .text import reason_for

__all__ = [
    "LEVELS",
    "Policy",
    "PrivacyRiskError",
    "SortedScores",
    "Verdict",
    "check",
    "judge",
]

METHOD = (
    "Exact permutation tests of TPR at each resolvable FPR target with Clopper-Pearson "
    "bounds, and the one-run epsilon bound of Steinke, Nasr & Jagielski (2023); "
    "Bonferroni over every attack, FPR target and abstention setting compared."
)


EPSILON_METHOD = "one training run (Steinke, Nasr & Jagielski 2023, Theorem 3.1)"


@dataclass(frozen=True, eq=False)
class Verdict:
    """The audit's answer: a risk level and the evidence that earns it.

    Attributes
    ----------
    level : {'none', 'low', 'elevated', 'high'}
    reason : str
        One plain sentence with the evidence.
    attack : str or None
        The attack whose evidence sets the level (None at 'none').
    evidence : dict
        The figures behind the level (JSON-able).
    policy : Policy
    identified : ndarray of int
        Positions (in the scores given to :func:`judge`) of the members the verdict's
        attack identifies at the verdict's FPR, most member-like first. Empty at 'none',
        and whenever that attack's flagging at that FPR does not itself beat chance.
    n_identified : int
        How many members that attack identifies (before any ``max_flag`` cap).
    method : str
        How the level was decided.
    setting : {'black-box', 'white-box'} or None
        The threat model this verdict judges (None: not split by threat model).
    settings : dict of str to Verdict
        The verdict of each threat model judged (``docs/whitebox.md``): 'black-box' on
        the black-box attacks, 'white-box' on every attack; empty when not split.
    """

    level: str
    reason: str
    attack: str | None
    evidence: dict[str, Any]
    policy: Policy
    identified: np.ndarray = field(repr=False)
    n_identified: int
    method: str = METHOD
    setting: str | None = None
    settings: dict[str, Verdict] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        return f"Privacy risk: {self.level}. {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON-able Python values."""
        return {
            "level": self.level,
            "reason": self.reason,
            "attack": self.attack,
            "evidence": self.evidence,
            "policy": self.policy.to_dict(),
            "identified": [int(i) for i in self.identified],
            "n_identified": int(self.n_identified),
            "method": self.method,
            "setting": self.setting,
            "settings": {k: v.to_dict() for k, v in self.settings.items() if v is not self},
        }


def _validate(
    scores: Mapping[str, np.ndarray], members: np.ndarray, max_flag: int | None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    m = np.asarray(members)
    if m.ndim != 1 or m.dtype != bool:
        raise ValueError(
            "The 'members' parameter must be a 1-d boolean array. "
            f"Got dtype {m.dtype} with shape {m.shape} instead."
        )
    n_pos = int(m.sum())
    if n_pos == 0 or n_pos == m.size:
        raise ValueError(
            "A verdict needs both members and non-members. "
            f"Got {n_pos} members and {m.size - n_pos} non-members."
        )
    if not scores:
        raise ValueError("The 'scores' parameter must hold at least one attack's scores.")
    out = {}
    for name, s in scores.items():
        arr = np.asarray(s, dtype=np.float64)
        if arr.shape != m.shape:
            raise ValueError(
                f"The scores of attack '{name}' must have shape {m.shape} like 'members'. "
                f"Got {arr.shape} instead."
            )
        out[str(name)] = arr
    if max_flag is not None and (
        isinstance(max_flag, bool) or int(max_flag) != max_flag or max_flag < 0
    ):
        raise ValueError(f"The 'max_flag' parameter must be an int >= 0. Got {max_flag!r}.")
    return out, m


def _pick(evidence: list[AttackEvidence], policy: Policy) -> AttackEvidence:
    """The attack whose evidence sets the level: level, then TPR-to-FPR lift, epsilon."""

    def key(ev: AttackEvidence) -> tuple[int, float, float, int]:
        return (
            level_index(ev.level(policy)),
            ev.best_lift(policy),
            ev.epsilon,
            -evidence.index(ev),
        )

    return max(evidence, key=key)


def judge(
    scores: Mapping[str, np.ndarray],
    members: np.ndarray,
    *,
    policy: Policy | Mapping[str, Any] | None = None,
    max_flag: int | None = None,
    labels: Mapping[str, str] | None = None,
    sorted_scores: Mapping[str, SortedScores] | None = None,
) -> Verdict:
    """Judge the membership-inference risk that the attacks' scores show.

    Parameters
    ----------
    scores : mapping of str to array-like of shape (n_samples,)
        One score vector per attack (higher = more likely a member), in the order the
        attacks should be named when tied.
    members : ndarray of bool, shape (n_samples,)
        True for training-set members.
    policy : Policy or dict, default=None
        The lines that map evidence to levels; None: ``Policy()``.
    max_flag : int, default=None
        At most this many identified members are returned (None: all of them).
    labels : mapping of str to str, default=None
        Display names for attacks in the reason, e.g. ``{"rmia": "RMIA, 8 reference
        models"}``; default: the attack's name.
    sorted_scores : mapping of str to SortedScores, default=None
        ``SortedScores.of(scores[name], members)`` for attacks whose sorted scores the
        caller already holds (e.g. memoized by a report); the others are sorted here.

    Returns
    -------
    Verdict
    """
    pol = Policy.coerce(policy)
    arrays, m = _validate(scores, members, max_flag)
    family = Family.of(n_attacks=len(arrays), members=m, policy=pol)
    known = sorted_scores or {}
    evidence = [
        gather_evidence(name, s, m, family, sorted_scores=known.get(name))
        for name, s in arrays.items()
    ]
    eps = max(evidence, key=lambda ev: ev.epsilon)
    figures = family.to_dict() | {
        "epsilon_lb": eps.epsilon,
        "epsilon_attack": eps.name if eps.epsilon > 0 else None,
        "epsilon_method": EPSILON_METHOD,
        "attacks": {ev.name: ev.to_dict() for ev in evidence},
    }
    best = _pick(evidence, pol)
    level = best.level(pol)
    if level == "none":
        reason = reason_for(None, None, family, 0, max_flag, labels)
        return Verdict(level, reason, None, figures, pol, np.zeros(0, dtype=np.intp), 0)
    point = best.verdict_point(pol)
    identified, n_identified = np.zeros(0, dtype=np.intp), 0
    if point.p_value <= family.alpha_tpr:  # only an attacker that beats chance accuses
        identified, n_identified = identify(arrays[best.name], m, point.threshold, max_flag)
    figures |= {k: getattr(point, k) for k in ("fpr", "tpr", "tpr_lower", "p_value")}
    reason = reason_for(best, point, family, n_identified, max_flag, labels, epsilon=eps.epsilon)
    return Verdict(level, reason, best.name, figures, pol, identified, n_identified)


def check(verdict: Verdict, *, fail_on: str = "high") -> None:
    """Raise :class:`PrivacyRiskError` when the verdict's level reaches ``fail_on``.

    Parameters
    ----------
    verdict : Verdict
    fail_on : {'low', 'elevated', 'high'}, default='high'
        The lowest level that fails (``'none'`` would fail every model).

    Raises
    ------
    PrivacyRiskError
        Its message is the verdict.
    """
    if fail_on not in LEVELS[1:]:
        raise MiaValueError(
            f"The 'fail_on' parameter must be one of {list(LEVELS[1:])}. Got {fail_on!r} instead."
        )
    if level_index(verdict.level) >= level_index(fail_on):
        raise PrivacyRiskError(str(verdict))
