"""Shared pieces of the reference-model attacks (LiRA, RMIA, shadow).

All of them read one :class:`~mia_notebook.engine.references.ReferenceSignals` from the
audit context (``ctx.reference_signals()``), computed once per audit and shared, and work
on the (n_records, n_refs) float32 signal matrix with vectorised numpy: no Python loop
over records.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..references.signals import ReferenceSignals
from ..references.statistics import EPS
from .base import Attack, AttackContext

__all__ = ["ReferenceAttack", "desaturate", "fill_missing_means", "masked_moments"]


class ReferenceAttack(Attack):
    """Base of attacks that compare the target with reference models.

    Subclasses take their settings as keyword-only ``__init__`` parameters (None: the
    audit's option of the same meaning), validated there.
    """

    needs_references: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        self.params = params

    @staticmethod
    def references(ctx: AttackContext) -> ReferenceSignals:
        """The audit's shared reference material (trained on first use)."""
        return ctx.reference_signals()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def masked_moments(
    values: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row count, mean and variance (ddof=1) of ``values`` where ``mask`` is True.

    Parameters
    ----------
    values : ndarray of shape (n, m), float32 (temporaries stay float32)
    mask : ndarray of bool, shape (n, m)

    Returns
    -------
    count : ndarray of int, shape (n,)
    mean : ndarray of float64, shape (n,)
        NaN where ``count`` is 0.
    var : ndarray of float64, shape (n,)
        NaN where ``count`` < 2.
    """
    count = mask.sum(axis=1)
    zero = values.dtype.type(0)
    total = np.where(mask, values, zero).sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        dev = np.where(mask, values - mean.astype(values.dtype)[:, None], zero)
        ss = np.square(dev).sum(axis=1, dtype=np.float64)
        var = np.where(count >= 2, ss / (count - 1), np.nan)
    return count, mean, var


def fill_missing_means(mu_in: np.ndarray, mu_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill a record's missing IN (or OUT) mean from its other side plus the mean gap.

    Only records whose reference models on one side all failed (or, with a single
    reference model, every record) lack a side; the average IN-OUT gap over records
    that have both stands in for theirs (0 when no record has both).
    """
    both = np.isfinite(mu_in) & np.isfinite(mu_out)
    gap = float(np.mean(mu_in[both] - mu_out[both])) if both.any() else 0.0
    mu_in = np.where(np.isfinite(mu_in), mu_in, mu_out + gap)
    mu_out = np.where(np.isfinite(mu_out), mu_out, mu_in - gap)
    return mu_in, mu_out


#: |statistic| of a probability clipped at EPS (the stored signal's saturation level).
_SATURATED = float(np.log((1.0 - EPS) / EPS)) - 1e-3


def saturation_limit(*arrays: np.ndarray) -> float:
    """Where to cap |logit statistic| so saturated probabilities do not dominate.

    Models such as forests output probabilities of exactly 0 or 1, which the statistic
    maps to +-27.6 (the EPS clip), far beyond the largest unsaturated value (about 3.9
    for a 50-tree forest's 49/50). That gap is an artefact of EPS, not of the model, and
    breaks LiRA's Gaussian fit. The cap is the logit of 1 - m/2, with m the smallest
    tail mass min(p, 1 - p) of any unsaturated output: half a step beyond the model's
    own resolution. Models with continuous outputs are left almost untouched.
    """
    largest = 0.0
    for a in arrays:
        mag = np.abs(a)
        unsat = mag[mag < _SATURATED]
        if unsat.size:
            largest = max(largest, float(unsat.max()))
    tail = 1.0 / (1.0 + np.exp(largest))  # m = sigmoid(-largest)
    return float(np.log((1.0 - tail / 2.0) / (tail / 2.0)))


def desaturate(signal: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``signal`` and ``target`` clipped to +-:func:`saturation_limit` (same dtypes)."""
    lim = saturation_limit(signal, target)
    return np.clip(signal, -lim, lim).astype(signal.dtype), np.clip(target, -lim, lim)
