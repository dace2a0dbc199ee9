"""Audit options, validated once at the boundary.

Options split by cost: :class:`ViewOptions` only change how existing scores are
summarised (instant), the rest of the audit settings decide what is computed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .errors import MiaTypeError, MiaValueError

__all__ = ["DEFAULT_FPR", "ViewOptions", "parse_names", "validate_fpr", "validate_int"]

DEFAULT_FPR: tuple[float, ...] = (0.001, 0.01, 0.1)


def parse_names(value: str | Iterable[str] | None, param: str) -> tuple[str, ...]:
    """A tuple of names from ``"a,b"``, an iterable of str, or None."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    try:
        names = tuple(value)
    except TypeError:
        raise MiaTypeError(
            f"The '{param}' parameter must be a list of column names or a comma-separated "
            f"string. Got {type(value).__name__} instead."
        ) from None
    if not all(isinstance(n, str) for n in names):
        raise MiaTypeError(f"The '{param}' parameter must hold strings. Got {names!r} instead.")
    return names


def validate_fpr(fpr: float | str | Sequence[float]) -> tuple[float, ...]:
    """FPR targets as a sorted tuple of floats in (0, 1)."""
    if isinstance(fpr, str):
        try:
            values = [float(v) for v in fpr.split(",") if v.strip()]
        except ValueError:
            raise MiaValueError(
                f"The 'fpr' parameter must be numbers in (0, 1), e.g. 0.001,0.01. Got {fpr!r}."
            ) from None
    elif isinstance(fpr, numbers.Real):
        values = [float(fpr)]
    else:
        values = [float(v) for v in fpr]  # type: ignore[union-attr]
    if not values:
        raise MiaValueError("The 'fpr' parameter is empty. Give at least one target, e.g. 0.01.")
    for v in values:
        if not (0.0 < v < 1.0) or math.isnan(v):
            raise MiaValueError(f"The 'fpr' parameter must be in (0, 1). Got {v} instead.")
    return tuple(sorted(set(values)))


def validate_int(value: Any, param: str, *, low: int, high: int | None = None) -> int:
    """An int in [low, high], with a sklearn-style message otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        try:
            if not isinstance(value, str):
                raise ValueError
            value = int(value.strip())
        except ValueError:
            raise MiaTypeError(
                f"The '{param}' parameter must be an int. Got {value!r} instead."
            ) from None
    v = int(value)
    if v < low or (high is not None and v > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise MiaValueError(f"The '{param}' parameter must be {rng}. Got {v} instead.")
    return v


def validate_confidence(value: float) -> float:
    v = float(value)
    if not 0.5 <= v < 1.0:
        raise MiaValueError(f"The 'confidence' parameter must be in [0.5, 1). Got {v} instead.")
    return v


def validate_delta(value: float) -> float:
    v = float(value)
    if not 0.0 <= v < 1.0:
        raise MiaValueError(f"The 'delta' parameter must be in [0, 1). Got {v} instead.")
    return v


@dataclass(frozen=True)
class ViewOptions:
    """How scores are summarised and shown; changing these never recomputes scores.

    Parameters
    ----------
    fpr : tuple of float, default=(0.001, 0.01, 0.1)
        FPR targets for the TPR columns.
    flag : int, default=10
        Number of most-exposed members to list (0 lists none).
    slice : str or None, default=None
        Extra column to slice metrics by (the target's classes are always sliced).
    redact : tuple of str, default=()
        Columns whose values never appear in any output.
    attacks : tuple of str or None, default=None
        Subset of computed attacks to show (None: all computed).
    confidence : float, default=0.95
        Confidence level of the epsilon lower bound.
    delta : float, default=0.0
        The delta of (epsilon, delta)-DP assumed by the epsilon bound.
    """

    fpr: tuple[float, ...] = DEFAULT_FPR
    flag: int = 10
    slice: str | None = None
    redact: tuple[str, ...] = ()
    attacks: tuple[str, ...] | None = None
    confidence: float = 0.95
    delta: float = 0.0

    def validated(self) -> ViewOptions:
        return replace(
            self,
            fpr=validate_fpr(self.fpr),
            flag=validate_int(self.flag, "flag", low=0),
            slice=None if self.slice in (None, "") else str(self.slice),
            redact=parse_names(self.redact, "redact"),
            attacks=None if self.attacks is None else parse_names(self.attacks, "attacks"),
            confidence=validate_confidence(self.confidence),
            delta=validate_delta(self.delta),
        )
