"""The policy: the lines that map an audit's evidence to a risk level.

The defaults and their reasoning are in ``docs/verdict.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import MiaTypeError, MiaValueError

__all__ = ["LEVELS", "Policy", "level_index"]

#: The risk levels, from lowest to highest.
LEVELS: tuple[str, ...] = ("none", "low", "elevated", "high")


def level_index(level: str) -> int:
    """Position of ``level`` in :data:`LEVELS` (raises for an unknown level)."""
    try:
        return LEVELS.index(level)
    except ValueError:
        raise MiaValueError(f"Unknown level {level!r}; levels are {list(LEVELS)}.") from None


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MiaTypeError(
            f"The policy's '{name}' must be a number. Got {value!r} of type "
            f"{type(value).__name__} instead."
        )
    x = float(value)
    if math.isnan(x):
        raise MiaValueError(f"The policy's '{name}' must be a number. Got nan instead.")
    return x


def _in_range(name: str, value: Any, lo: float, hi: float, *, closed_hi: bool = False) -> float:
    x = _number(name, value)
    ok = lo < x <= hi if closed_hi else lo < x < hi
    if not ok:
        bracket = "]" if closed_hi else ")"
        raise MiaValueError(
            f"The policy's '{name}' must be in ({lo:g}, {hi:g}{bracket}. Got {value!r} instead."
        )
    return x


def _fpr_tuple(value: Any) -> tuple[float, ...]:
    items: Sequence[Any] = [value] if isinstance(value, (int, float)) else value
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or not items:
        raise MiaTypeError(
            f"The policy's 'fpr' must be a number or a non-empty list of numbers. "
            f"Got {value!r} instead."
        )
    return tuple(sorted({_in_range("fpr", v, 0.0, 1.0) for v in items}))


@dataclass(frozen=True)
class Policy:
    """Lines on the attack evidence that map an audit to a risk level.

    Parameters
    ----------
    fpr : float or tuple of float, default=(0.001, 0.01)
        False-positive rates at which attackers are judged ("wrongly accuses 1 in
        1,000 non-members"). Targets the data cannot resolve (fewer than ``1 / fpr``
        non-members) are left out of the comparison.
    tpr_elevated, tpr_high : float, default=0.05, 0.2
        A lower confidence bound on the TPR at one of the ``fpr`` targets at or above
        these lines makes the level at least 'elevated' / 'high'. Must exceed every
        ``fpr`` (a chance attacker's TPR equals its FPR).
    epsilon_elevated, epsilon_high : float, default=1.0, 3.0
        A one-run epsilon lower bound at or above these lines makes the level at least
        'elevated' / 'high'.
    confidence : float, default=0.95
        Every claim of the verdict holds simultaneously with this probability.
    delta : float, default=0.0
        The delta of (epsilon, delta)-DP the epsilon bound is stated for.
    """

    fpr: tuple[float, ...] = (0.001, 0.01)
    tpr_elevated: float = 0.05
    tpr_high: float = 0.2
    epsilon_elevated: float = 1.0
    epsilon_high: float = 3.0
    confidence: float = 0.95
    delta: float = 0.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "fpr", _fpr_tuple(self.fpr))
        set_(
            self,
            "tpr_elevated",
            _in_range("tpr_elevated", self.tpr_elevated, max(self.fpr), 1.0, closed_hi=True),
        )
        set_(self, "tpr_high", _in_range("tpr_high", self.tpr_high, 0.0, 1.0, closed_hi=True))
        set_(
            self,
            "epsilon_elevated",
            _in_range("epsilon_elevated", self.epsilon_elevated, 0.0, math.inf),
        )
        set_(self, "epsilon_high", _in_range("epsilon_high", self.epsilon_high, 0.0, math.inf))
        set_(self, "confidence", _in_range("confidence", self.confidence, 0.0, 1.0))
        delta = _number("delta", self.delta)
        if not 0.0 <= delta < 1.0:
            raise MiaValueError(f"The policy's 'delta' must be in [0, 1). Got {delta!r} instead.")
        set_(self, "delta", delta)
        for low, high in (("tpr_elevated", "tpr_high"), ("epsilon_elevated", "epsilon_high")):
            if getattr(self, high) < getattr(self, low):
                raise MiaValueError(
                    f"The policy's '{high}' must be at least '{low}' ({getattr(self, low):g}). "
                    f"Got {getattr(self, high):g} instead."
                )

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Policy:
        """A policy from a dict such as ``{"tpr_high": 0.1, "fpr": [0.001]}``.

        Missing keys keep their defaults; unknown keys are an error.
        """
        if not isinstance(mapping, Mapping):
            raise MiaTypeError(
                f"A policy must be a dict of settings. Got {type(mapping).__name__} instead."
            )
        known = [f.name for f in fields(cls)]
        unknown = sorted(str(k) for k in mapping if k not in known)
        if unknown:
            raise MiaValueError(f"Unknown policy key(s) {unknown}. Valid keys: {known}.")
        return cls(**dict(mapping))

    @classmethod
    def coerce(cls, policy: Policy | Mapping[str, Any] | None) -> Policy:
        """``policy`` itself, the default policy for None, or :meth:`from_mapping`."""
        if policy is None:
            return cls()
        if isinstance(policy, Policy):
            return policy
        return cls.from_mapping(policy)

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able values."""
        out = asdict(self)
        out["fpr"] = list(self.fpr)
        return out
