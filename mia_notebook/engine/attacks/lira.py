"""LiRA, the likelihood-ratio attack of Carlini et al. (2022), "Membership Inference
Attacks From First Principles".

For each record, the statistic (logit-scaled true-class confidence; -log squared error
for regressors) of the reference models trained WITH the record (IN) and WITHOUT it
(OUT) is fitted by a Gaussian; the target model's statistic ``t`` is then scored:

* online:  log N(t; mu_in, sigma_in^2) - log N(t; mu_out, sigma_out^2)
* offline: -log P[T >= t] for T ~ N(mu_out, sigma_out^2) (one-sided test: members have a
  higher statistic, so a small upper-tail p-value means "member").

Higher = more likely a member in both. Variance: ``'per-record'`` fits sigma per record
(needs many reference models), ``'global'`` uses one pooled within-record sigma for all
records (Carlini et al.'s "fixed variance", better below ~64 models), ``'auto'`` picks
per-record from 64 reference models on. ``'bayes'`` is the Bayesian middle ground for few
reference models: each record's variance has the pooled variance as an inverse-gamma
prior worth :data:`PRIOR_DOF` observations (a flat prior on its mean), so the statistic of
a new model is Student-t distributed (the posterior predictive): per-record spreads where
the data show them, the pooled one where they are too few, and heavier tails than a
Gaussian when a side has 1 or 2 models.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.special import gammaln, log_ndtr
from scipy.stats import t as student_t

from ..validators import LIRA_VARIANCES, validate_lira_variance
from .base import AttackContext, register_attack
from .reference import ReferenceAttack, desaturate, fill_missing_means, masked_moments

__all__ = [
    "LiraAttack",
    "LiraOfflineAttack",
    "lira_scores",
    "resolve_variance",
    "student_t_logpdf",
    "student_t_predictive",
]

Variance = Literal["auto", "per-record", "global"]
VARIANCES = LIRA_VARIANCES
#: ``variance='auto'`` uses per-record variances from this many reference models on.
PER_RECORD_FROM = 64
#: Per-record sigmas are floored at this fraction of the global sigma (a record whose
#: reference models all agree exactly would otherwise get sigma = 0).
MIN_STD_FRACTION = 0.1
_MIN_STD = 1e-3
#: ``variance='bayes'``: the pooled variance's weight as a prior, in observations
#: (degrees of freedom of the inverse-gamma prior).
PRIOR_DOF = 4.0


def resolve_variance(variance: str, n_refs: int) -> str:
    """``'per-record'`` or ``'global'`` for a ``variance`` option and model count."""
    if validate_lira_variance(variance) == "auto":
        return "per-record" if n_refs >= PER_RECORD_FROM else "global"
    return variance


def pooled_std(groups: list[tuple[np.ndarray, np.ndarray]], signal: np.ndarray) -> float:
    """One within-record standard deviation pooled over every record and group.

    ``groups`` holds (count, variance) per record of e.g. its IN and its OUT models
    (from :func:`masked_moments`); each contributes its squared deviations from its own
    mean. Falls back to the spread of all of ``signal`` when no group has two members
    (e.g. 2 reference models online).
    """
    ss, dof = 0.0, 0
    for count, var in groups:
        ok = count >= 2
        ss += float(np.sum(var[ok] * (count[ok] - 1)))
        dof += int(np.sum(count[ok] - 1))
    std = np.sqrt(ss / dof) if dof else float(np.std(signal, dtype=np.float64))
    return max(float(std), _MIN_STD)


def _record_std(var: np.ndarray, global_std: float) -> np.ndarray:
    std = np.sqrt(np.where(np.isfinite(var), var, global_std**2))
    return np.asarray(np.maximum(std, MIN_STD_FRACTION * global_std))


def _gauss_logpdf(x: np.ndarray, mu: np.ndarray, std: np.ndarray | float) -> np.ndarray:
    return np.asarray(-0.5 * np.square((x - mu) / std) - np.log(std))


def student_t_logpdf(
    x: np.ndarray, df: np.ndarray, loc: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """log density of Student's t (``scipy.stats.t.logpdf(x, df, loc, scale)``), vectorised."""
    z = (x - loc) / scale
    half = (df + 1.0) / 2.0
    return np.asarray(
        gammaln(half)
        - gammaln(df / 2.0)
        - 0.5 * np.log(df * np.pi)
        - np.log(scale)
        - half * np.log1p(z * z / df)
    )


def student_t_predictive(
    count: np.ndarray, var: np.ndarray, pooled_var: float, prior_dof: float = PRIOR_DOF
) -> tuple[np.ndarray, np.ndarray]:
    """(degrees of freedom, scale) of the posterior predictive of one new statistic.

    Normal model with a flat prior on the mean and an inverse-gamma prior on the variance,
    ``sigma^2 ~ IG(prior_dof / 2, prior_dof * pooled_var / 2)``, updated with ``count``
    observations of sample variance ``var`` (ddof=1; NaN when ``count`` < 2). A side
    without observations (``count`` 0: its mean was filled in) counts as one.
    """
    n = np.maximum(count, 1).astype(np.float64)
    ss = np.where(count >= 2, np.nan_to_num(var) * (n - 1.0), 0.0)
    alpha = (prior_dof + n - 1.0) / 2.0
    beta = (prior_dof * pooled_var + ss) / 2.0
    scale = np.sqrt(beta / alpha * (1.0 + 1.0 / n))
    return 2.0 * alpha, np.maximum(scale, _MIN_STD)


def _bayes_scores(
    t: np.ndarray,
    sides: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...],
    pooled: float,
    online: bool,
) -> np.ndarray:
    """Student-t LiRA: ``sides`` holds (count, mean, var) of IN then OUT models."""
    (n_in, mu_in, var_in), (n_out, mu_out, var_out) = sides
    df_out, sc_out = student_t_predictive(n_out, var_out, pooled**2)
    if online:
        df_in, sc_in = student_t_predictive(n_in, var_in, pooled**2)
        return student_t_logpdf(t, df_in, mu_in, sc_in) - student_t_logpdf(
            t, df_out, mu_out, sc_out
        )
    return np.asarray(-student_t.logsf(t, df_out, loc=mu_out, scale=sc_out))


def lira_scores(
    signal: np.ndarray,
    in_mask: np.ndarray,
    target: np.ndarray,
    *,
    online: bool = True,
    variance: str = "global",
) -> np.ndarray:
    """LiRA membership scores (higher = more likely a member).

    Parameters
    ----------
    signal : ndarray of float32, shape (n_records, n_refs)
        Reference models' statistic on each record.
    in_mask : ndarray of bool, shape (n_records, n_refs)
        The record was in the reference model's training half.
    target : ndarray of shape (n_records,)
        The target model's statistic.
    online : bool, default=True
        Use IN and OUT models (likelihood ratio) or only OUT models (one-sided test).
    variance : {'per-record', 'global', 'bayes'}, default='global'

    Returns
    -------
    ndarray of float64, shape (n_records,)
    """
    n_in, mu_in, var_in = masked_moments(signal, in_mask)
    n_out, mu_out, var_out = masked_moments(signal, ~in_mask)
    mu_in, mu_out = fill_missing_means(mu_in, mu_out)
    sigma = pooled_std([(n_in, var_in), (n_out, var_out)] if online else [(n_out, var_out)], signal)
    t = np.asarray(target, dtype=np.float64)
    if variance == "bayes":
        sides = ((n_in, mu_in, var_in), (n_out, mu_out, var_out))
        return _bayes_scores(t, sides, sigma, online)
    if variance == "per-record":
        s_in: np.ndarray | float = _record_std(var_in, sigma)
        s_out: np.ndarray | float = _record_std(var_out, sigma)
    else:
        s_in = s_out = sigma
    if online:
        return np.asarray(_gauss_logpdf(t, mu_in, s_in) - _gauss_logpdf(t, mu_out, s_out))
    # One-sided: -log P[T >= t | OUT] = -log Phi(-(t - mu_out) / sigma_out).
    return np.asarray(-log_ndtr(-(t - mu_out) / s_out))


class _Lira(ReferenceAttack):
    online: bool = True
    kinds = frozenset({"proba", "decision", "regression"})

    def __init__(self, *, variance: Variance | None = None) -> None:
        if variance is not None:
            validate_lira_variance(variance)
        super().__init__(variance=variance)
        self.variance = variance

    def score(self, ctx: AttackContext) -> np.ndarray:
        refs = self.references(ctx)
        variance = resolve_variance(self.variance or ctx.options.lira_variance, refs.n_references)
        signal, target = refs.signal, refs.target
        if refs.kind != "regression":
            signal, target = desaturate(signal, target)
        return lira_scores(signal, refs.in_mask, target, online=self.online, variance=variance)


@register_attack
class LiraAttack(_Lira):
    """LiRA online (Carlini et al. 2022): Gaussian likelihood ratio of IN vs OUT models.

    Parameters
    ----------
    variance : {'auto', 'per-record', 'global', 'bayes'}, default=None
        None: the audit's ``lira_variance`` (default 'auto').
    """

    name = "lira"
    title = "LiRA (online)"
    min_references = 2
    online = True
    person_rule = "llr-sum"  # log-likelihood ratios add up over independent rows


@register_attack
class LiraOfflineAttack(_Lira):
    """LiRA offline (Carlini et al. 2022): one-sided test against OUT models only.

    Parameters
    ----------
    variance : {'auto', 'per-record', 'global', 'bayes'}, default=None
        None: the audit's ``lira_variance`` (default 'auto').
    """

    name = "lira-offline"
    title = "LiRA (offline)"
    online = False
    person_rule = "p-stouffer"  # the score is -log p of a one-sided test
