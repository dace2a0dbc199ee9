"""RMIA, the relative membership-inference attack of Zarifzadeh et al. (2024), "Low-Cost
High-Power Membership Inference Attacks".

With p(x | theta) the probability a model gives record x's true label:

* ``LR(x) = p(x | target) / p(x)``, where ``p(x)`` averages the reference models. Online
  it is the mean over all of them (IN and OUT); offline only OUT models are used,
  corrected for their missing IN half by the paper's linear approximation
  ``p(x) = (1 + a) / 2 * mean_OUT p(x | theta) + (1 - a) / 2``.
* The score of x is the fraction of population samples z it dominates:
  ``#{z : LR(x) / LR(z) > gamma} / #z``, with ``LR(z)`` computed the same way.

Higher = more likely a member. The samples z are the extra ``population`` rows when the
audit has them, else every audited record other than x itself (x is never its own z).
The fraction is a monotone function of LR(x) for a fixed set of z, so ties (records
dominating every z) are broken by LR(x) itself: the ranking at low FPR is not limited by
the number of z samples.

``a='auto'`` (offline) picks ``a`` on the reference models alone: each of a few
reference models in turn plays the target, scored with the others, and the ``a`` with
the best AUC on its known IN/OUT split is used; with a single reference model, which
cannot play the target and be scored by others, ``a`` is fitted instead (``a='fit'``
always fits): the paper's relation ``p_IN = a * p_OUT + (1 - a)`` is matched, by least
squares through (1, 1), between the quantiles of the records' mean confidence under
reference models that trained on them and under those that did not (the same
reference models; see :func:`fit_a`). The target's membership is never looked at.

Offline, a regression on the rows' features predicts each row's OUT confidence from the
reference models' OUT confidences (:mod:`.out_regression`), and the prediction counts as
one more OUT model of every row (records and z samples alike): the rows with no OUT
model (half of them with one reference model) get one, and the others' few OUT
confidences are shrunk towards it. An attack context without the features stage reads
the relation backwards instead, ``p_OUT = (p_IN - (1 - a)) / a``, for rows with no OUT
model.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit
from scipy.stats import rankdata

from ..errors import MiaValueError
from ..validators import validate_rmia_a
from .base import AttackContext, AttackResult, register_attack
from .out_regression import predict_out
from .reference import ReferenceAttack, masked_moments

__all__ = [
    "RmiaAttack",
    "RmiaOfflineAttack",
    "calibrate_a",
    "dominance_scores",
    "fit_a",
    "log_likelihood_ratio",
    "rmia_scores",
]

#: ``a`` when it cannot be calibrated (a single reference model).
DEFAULT_A = 0.33
A_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)
#: Reference models used in turn as pseudo-targets to calibrate ``a``.
CALIBRATION_MODELS = 3
#: Records (a seeded sample) used to calibrate ``a``.
CALIBRATION_RECORDS = 20_000
#: Quantile levels matched by :func:`fit_a`.
FIT_QUANTILES = 999
_MIN_A = 1e-3


def _mean_prob(signal: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Mean over masked columns of p = sigmoid(signal); NaN where no column is masked."""
    p = expit(signal)  # float32 temporaries; no overflow for very negative statistics
    if mask is None:
        return np.asarray(p.mean(axis=1, dtype=np.float64))
    _, mean, _ = masked_moments(p, mask)
    return mean


def log_likelihood_ratio(
    signal: np.ndarray,
    in_mask: np.ndarray,
    target: np.ndarray,
    *,
    online: bool,
    a: float,
    p_out_prior: np.ndarray | None = None,
) -> np.ndarray:
    """log LR(x) = log p(x | target) - log p(x), shape (n,).

    ``signal``/``target`` hold logit-scaled confidences, so p = sigmoid(statistic).
    Offline, ``p_out_prior`` (shape (n,); see :mod:`.out_regression`) counts as one more
    OUT model of every record; without it a record with no OUT model takes its p_OUT
    from its IN models through the ``a`` relation.
    """
    if online:
        p_x = _mean_prob(signal, None)
    elif p_out_prior is not None:
        out = ~in_mask
        total = np.where(out, expit(signal), 0).sum(axis=1, dtype=np.float64)
        p_x = (1.0 + a) / 2.0 * (total + p_out_prior) / (out.sum(axis=1) + 1) + (1.0 - a) / 2.0
    else:
        p_out = _mean_prob(signal, ~in_mask)
        missing = ~np.isfinite(p_out)
        if missing.any():  # p_OUT = (p_IN - (1 - a)) / a, from the IN models
            p_in = _mean_prob(signal[missing], None)
            p_out[missing] = np.clip((p_in - (1.0 - a)) / max(a, _MIN_A), 0.0, 1.0)
        p_x = (1.0 + a) / 2.0 * p_out + (1.0 - a) / 2.0
    log_p_target = log_expit(np.asarray(target, dtype=np.float64))
    return np.asarray(log_p_target - np.log(np.maximum(p_x, 1e-300)))


def dominance_scores(
    llr_x: np.ndarray, llr_z: np.ndarray, *, gamma: float = 1.0, z_is_x: bool = False
) -> np.ndarray:
    """RMIA score: fraction of z with LR(x) / LR(z) > gamma, ties broken by LR(x).

    Parameters
    ----------
    llr_x : ndarray of shape (n,)
        log LR of the scored records.
    llr_z : ndarray of shape (m,)
        log LR of the population samples.
    gamma : float, default=1.0
    z_is_x : bool, default=False
        ``llr_z`` is ``llr_x`` (the records are their own population): record i is then
        left out of its own z samples.

    Returns
    -------
    ndarray of float64, shape (n,), in (0, 1)
        Within 1 / m of the fraction of z dominated.
    """
    # LR(x) / LR(z) > gamma  <=>  log LR(z) < log LR(x) - log gamma
    bound = llr_x - np.log(gamma)
    count = np.searchsorted(np.sort(llr_z), bound, side="left").astype(np.float64)
    m = llr_z.size
    if z_is_x:
        count -= llr_x < bound  # x counted itself (only when gamma < 1)
        m -= 1
    # Ties of the count are broken by LR(x) itself (tie in (0, 1), monotone in LR(x)):
    # (count + tie) / (m + 1) stays in (0, 1), within 1 / m of the fraction count / m.
    tie = 0.5 + np.arctan(llr_x) / np.pi
    return np.asarray((count + tie) / (max(m, 0) + 1))


def _auc(member: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney rank sum (ties averaged), as roc_auc_score."""
    ranks = rankdata(score)
    n_pos = int(member.sum())
    n_neg = member.size - n_pos
    return float((ranks[member].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fit_a(signal: np.ndarray, in_mask: np.ndarray) -> float:
    """``a`` fitted to ``1 - p_IN = a * (1 - p_OUT)`` on the reference models alone.

    ``p_IN`` (``p_OUT``) is a record's mean confidence under the reference models that
    trained (did not train) on it; records lacking a side are left out of that side.
    The :data:`FIT_QUANTILES` quantiles of the two are matched (the records on each side
    are random halves of the same rows) and ``a`` is their least-squares slope through
    the origin, clipped to [0, 1]; :data:`DEFAULT_A` when a side is empty.
    """
    p = expit(signal)
    _, p_in, _ = masked_moments(p, in_mask)
    _, p_out, _ = masked_moments(p, ~in_mask)
    p_in, p_out = p_in[np.isfinite(p_in)], p_out[np.isfinite(p_out)]
    if not (p_in.size and p_out.size):
        return DEFAULT_A
    levels = (np.arange(FIT_QUANTILES) + 0.5) / FIT_QUANTILES
    y = 1.0 - np.quantile(p_in, levels)
    x = 1.0 - np.quantile(p_out, levels)
    sxx = float(np.dot(x, x))
    return float(np.clip(np.dot(x, y) / sxx, 0.0, 1.0)) if sxx > 0 else DEFAULT_A


def calibrate_a(signal: np.ndarray, in_mask: np.ndarray, *, random_state: int = 0) -> float:
    """Offline ``a`` with the best mean AUC when reference models play the target.

    Reference model k in turn (the first :data:`CALIBRATION_MODELS`) is the target, its
    IN/OUT split the ground truth, and offline RMIA uses the OUT models among the
    others. At most :data:`CALIBRATION_RECORDS` records (a seeded sample) are used.
    """
    n, n_refs = signal.shape
    if n_refs < 2:
        return fit_a(signal, in_mask)
    if n > CALIBRATION_RECORDS:
        rows = np.random.default_rng(random_state).choice(n, CALIBRATION_RECORDS, replace=False)
        signal, in_mask = signal[rows], in_mask[rows]
    p = expit(signal)  # float32, overflow-free
    out = ~in_mask
    p_sum = np.where(out, p, 0).sum(axis=1, dtype=np.float64)
    n_out = out.sum(axis=1)
    aucs, used = np.zeros(A_GRID.size), 0
    for k in range(min(CALIBRATION_MODELS, n_refs)):
        # OUT mean over the models other than k
        cnt = n_out - out[:, k]
        ok = cnt > 0
        member = in_mask[ok, k]
        if member.all() or not member.any():
            continue
        p_out = (p_sum[ok] - np.where(out[ok, k], p[ok, k], 0)) / cnt[ok]
        log_p = log_expit(signal[ok, k].astype(np.float64))
        for i, a in enumerate(A_GRID):
            aucs[i] += _auc(member, log_p - np.log((1 + a) / 2 * p_out + (1 - a) / 2))
        used += 1
    return float(A_GRID[int(np.argmax(aucs))]) if used else DEFAULT_A


def rmia_scores(
    signal: np.ndarray,
    in_mask: np.ndarray,
    target: np.ndarray,
    *,
    online: bool = True,
    a: float = DEFAULT_A,
    gamma: float = 1.0,
    z_signal: np.ndarray | None = None,
    z_in_mask: np.ndarray | None = None,
    z_target: np.ndarray | None = None,
    p_out_prior: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """RMIA membership scores (higher = more likely a member).

    Parameters
    ----------
    signal, in_mask : ndarray of shape (n_records, n_refs)
        Reference statistics (logit-scaled confidence) and IN/OUT bookkeeping.
    target : ndarray of shape (n_records,)
        The target model's statistic.
    online : bool, default=True
    a : float, default=0.33
        Offline correction (ignored online).
    gamma : float, default=1.0
    z_signal, z_in_mask, z_target : ndarrays, default=None
        The population samples z; None: the records themselves (each leaving itself out).
    p_out_prior : (ndarray of shape (n_records,), ndarray of shape (n_z,)), default=None
        Offline: the predicted p_OUT of the records and of the z samples, counted as one
        more OUT model of each (None: rows without OUT models read ``a`` backwards).

    Returns
    -------
    ndarray of float64, shape (n_records,)
    """
    prior_x, prior_z = (None, None) if p_out_prior is None else p_out_prior
    llr_x = log_likelihood_ratio(signal, in_mask, target, online=online, a=a, p_out_prior=prior_x)
    if z_signal is None or z_signal.shape[0] == 0:
        return dominance_scores(llr_x, llr_x, gamma=gamma, z_is_x=True)
    assert z_in_mask is not None and z_target is not None
    llr_z = log_likelihood_ratio(
        z_signal, z_in_mask, z_target, online=online, a=a, p_out_prior=prior_z
    )
    return dominance_scores(llr_x, llr_z, gamma=gamma)


class _Rmia(ReferenceAttack):
    person_rule = "cdf-stouffer"  # the score is the CDF of LR(x) over the z samples
    online: bool = True
    kinds = frozenset({"proba", "decision"})

    def __init__(self, *, a: float | str | None = None, gamma: float | None = None) -> None:
        if a is not None:
            a = validate_rmia_a(a)
        if gamma is not None and not (isinstance(gamma, int | float) and gamma > 0):
            raise MiaValueError(f"The 'gamma' parameter must be > 0. Got {gamma!r} instead.")
        super().__init__(a=a, gamma=gamma)
        self.a, self.gamma = a, gamma

    def _a(self, ctx: AttackContext, signal: np.ndarray, in_mask: np.ndarray) -> float:
        """Offline ``a``: this attack's, else the audit's; 'auto' calibrates it."""
        a = ctx.options.rmia_a if self.a is None else self.a
        if a == "auto":
            return calibrate_a(signal, in_mask, random_state=ctx.random_state)
        if a == "fit":
            return fit_a(signal, in_mask)
        return float(a)

    def run(self, ctx: AttackContext) -> AttackResult:
        refs = self.references(ctx)
        a = DEFAULT_A if self.online else self._a(ctx, refs.signal, refs.in_mask)
        prior = None
        if not self.online:  # p_OUT predicted from the features: one more OUT model
            prior = predict_out(
                ctx, (refs.signal, refs.pop_signal), (refs.in_mask, refs.pop_in_mask)
            )
        scores = rmia_scores(
            refs.signal,
            refs.in_mask,
            refs.target,
            online=self.online,
            a=a,
            gamma=1.0 if self.gamma is None else float(self.gamma),
            z_signal=refs.pop_signal,
            z_in_mask=refs.pop_in_mask,
            z_target=refs.pop_target,
            p_out_prior=prior,
        )
        # online RMIA does not use ``a``; the offline one reports the value it used
        return AttackResult(scores, {} if self.online else {"a": a})

    def score(self, ctx: AttackContext) -> np.ndarray:
        return self.run(ctx).scores


@register_attack
class RmiaAttack(_Rmia):
    """RMIA online (Zarifzadeh et al. 2024): p(x) from IN and OUT reference models.

    Parameters
    ----------
    gamma : float > 0, default=None
        The dominance threshold of LR(x) / LR(z); None: 1.
    """

    name = "rmia"
    title = "RMIA (online)"
    online = True


@register_attack
class RmiaOfflineAttack(_Rmia):
    """RMIA offline (Zarifzadeh et al. 2024): OUT models only, with the ``a`` correction.

    Parameters
    ----------
    a : float in [0, 1], 'auto' or 'fit', default=None
        None: the audit's ``rmia_a`` (default 'auto': calibrated on reference models,
        fitted with one); 'fit': fitted on reference models (:func:`fit_a`).
    gamma : float > 0, default=None
        The dominance threshold of LR(x) / LR(z); None: 1.
    """

    name = "rmia-offline"
    title = "RMIA (offline)"
    online = False
