"""Public reference-model attacks, fed the benchmark harness's reference statistics.

Benchmark-only extras (never runtime dependencies of mia_notebook); see
``bench/requirements.txt``. Each peer is given the very same per-record statistics of the
same target and reference models; only the scoring is the peer's own code.

* TensorFlow Privacy ``advanced_mia`` (LiRA): ``compute_score_lira`` with
  ``fix_variance=True`` as in its own example. The module lives in
  ``tensorflow-empirical-privacy`` (it left ``tensorflow-privacy`` in 0.9.0); it imports
  only numpy/scipy, so ``pip install --no-deps tensorflow-empirical-privacy`` is enough
  (``tensorflow_privacy`` is then a namespace package without TensorFlow).
* Meta PrivacyGuard (``privacyguard-platform``): ``LiraAttack`` and ``RmiaAttack``, with
  input frames built by PrivacyGuard's own ``prepare_lira_data`` / ``prepare_rmia_data``
  (``shadow_model_training/training.py``, loaded by file path because that package's
  ``__init__`` needs torchvision; the file itself needs only torch, numpy and pandas).

Sign conventions: every function here returns scores with higher = more likely a member.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

__all__ = ["RefStats", "available_peers", "logit_statistic", "peer_versions", "run_peer"]

#: Same epsilon as both peers' own LiRA statistic (TF ``calculate_statistic`` and
#: PrivacyGuard ``get_transformed_logits`` both use 1e-45).
_SMALL = 1e-45


def logit_statistic(probs: np.ndarray, y_idx: np.ndarray) -> np.ndarray:
    """LiRA statistic log(p_y) - log(sum_{j != y} p_j), exactly as both peers compute it."""
    rows = np.arange(probs.shape[0])
    p_true = probs[rows, y_idx]
    p_other = probs.sum(axis=1) - p_true
    p_other = np.clip(p_other, 0.0, None)
    return np.log(p_true + _SMALL) - np.log(p_other + _SMALL)


@dataclass
class RefStats:
    """Target and reference statistics on the audit pool (members then non-members).

    Attributes
    ----------
    keep : ndarray of bool, shape (n_refs, n_pool)
        True where reference model r was trained on pool record i.
    ref_logit, ref_prob : ndarray of shape (n_refs, n_pool)
        Reference models' LiRA statistic and true-class probability on the pool.
    pop_ref_prob : ndarray of shape (n_refs, n_pop)
        Reference models' true-class probability on population records (never trained on).
    target_logit, target_prob : ndarray of shape (n_pool,)
    target_pop_prob : ndarray of shape (n_pop,)
    members : ndarray of bool, shape (n_pool,)
        Target-model membership (ground truth, used only to split the peers' frames the
        way their APIs want and to compute metrics).
    """

    keep: np.ndarray
    ref_logit: np.ndarray
    ref_prob: np.ndarray
    pop_ref_logit: np.ndarray
    pop_ref_prob: np.ndarray
    target_logit: np.ndarray
    target_prob: np.ndarray
    target_pop_logit: np.ndarray
    target_pop_prob: np.ndarray
    members: np.ndarray

    def first(self, n: int) -> RefStats:
        """The same statistics restricted to the first ``n`` reference models."""
        return replace(
            self,
            keep=self.keep[:n],
            ref_logit=self.ref_logit[:n],
            ref_prob=self.ref_prob[:n],
            pop_ref_logit=self.pop_ref_logit[:n],
            pop_ref_prob=self.pop_ref_prob[:n],
        )


# --------------------------------------------------------------------------- loading
def _tf_amia() -> ModuleType | None:
    try:
        return importlib.import_module(
            "tensorflow_privacy.privacy.privacy_tests.membership_inference_attack.advanced_mia"
        )
    except Exception:  # ImportError, or a TensorFlow import error in another layout
        return None


def _pg_training() -> ModuleType | None:
    """PrivacyGuard's training.py, loaded alone (its package __init__ needs torchvision)."""
    spec = importlib.util.find_spec("privacy_guard")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "shadow_model_training"
    path = path / "training.py"
    if not path.exists():
        return None
    mod_spec = importlib.util.spec_from_file_location("_pg_training", path)
    if mod_spec is None or mod_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(mod_spec)
    try:
        mod_spec.loader.exec_module(module)
    except Exception:  # torch missing
        return None
    return module


def _pg_attacks() -> tuple[Any, Any, Any] | None:
    try:
        from privacy_guard.analysis.mia.aggregate_analysis_input import AggregationType
        from privacy_guard.attacks.lira_attack import LiraAttack
        from privacy_guard.attacks.rmia_attack import RmiaAttack
    except Exception:
        return None
    return LiraAttack, RmiaAttack, AggregationType


_CACHE: dict[str, Any] = {}


def _get(name: str) -> Any:
    if name not in _CACHE:
        loader = {"tf": _tf_amia, "pg_training": _pg_training, "pg": _pg_attacks}[name]
        _CACHE[name] = loader()
    return _CACHE[name]


def peer_versions() -> dict[str, str]:
    """Installed versions of the peers' distributions (missing ones are left out)."""
    out = {}
    for dist in ("tensorflow-empirical-privacy", "privacyguard-platform", "torch"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[dist] = importlib.metadata.version(dist)
    return out


#: Peer attacks: name -> (tool, description).
PEERS: dict[str, tuple[str, str]] = {
    "tfp-lira-online": ("tf", "TF Privacy compute_score_lira(option='both', fix_variance=True)"),
    "tfp-lira-offline": ("tf", "TF Privacy compute_score_lira(option='out', fix_variance=True)"),
    "pg-lira-online": (
        "pg",
        "PrivacyGuard LiraAttack(online_attack=True, use_fixed_variance=True, std_dev_type='mix')",
    ),
    "pg-lira-offline": (
        "pg",
        "PrivacyGuard LiraAttack(online_attack=False, use_fixed_variance=True, "
        "std_dev_type='shadows_out')",
    ),
    "pg-rmia-online": ("pg", "PrivacyGuard RmiaAttack(online=True, num_reference_models=N)"),
    "pg-rmia-offline": ("pg", "PrivacyGuard RmiaAttack(online=False), defaults (alpha=0.3)"),
}


def available_peers() -> tuple[list[str], dict[str, str]]:
    """(runnable peer attack names, {tool: reason} for tools that are not installed)."""
    missing = {}
    names = []
    if _get("tf") is None:
        missing["tf"] = "tensorflow-empirical-privacy not installed (advanced_mia)"
    if _get("pg") is None or _get("pg_training") is None:
        missing["pg"] = "privacyguard-platform (with torch) not installed"
    for name, (tool, _) in PEERS.items():
        if tool not in missing:
            names.append(name)
    return names, missing


# --------------------------------------------------------------------------- peers
def _tf_lira(stats: RefStats, option: str) -> np.ndarray:
    amia = _get("tf")
    keep, stat = stats.keep, stats.ref_logit
    n = stat.shape[1]
    # stat_in[i] / stat_out[i]: (m, k=1) arrays of the reference statistics of record i.
    stat_in = [stat[keep[:, i], i][:, None] for i in range(n)]
    stat_out = [stat[~keep[:, i], i][:, None] for i in range(n)]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmedian of an empty slice
        scores = amia.compute_score_lira(
            stats.target_logit[:, None], stat_in, stat_out, option=option, fix_variance=True
        )
    # TF returns log Pr(out) - log Pr(in) ("in-training sample is expected to have
    # small value"), or log Pr(out) for option='out': negate so members score higher.
    return -np.asarray(scores, dtype=np.float64)


def _pg_lira(stats: RefStats, online: bool) -> np.ndarray:
    training = _get("pg_training")
    LiraAttack, _, AggregationType = _get("pg")
    members = stats.members
    shadow = [(None, k) for k in stats.keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of an empty slice
        df_tr_on, df_te_on, df_tr_off, df_te_off = training.prepare_lira_data(
            stats.target_logit, stats.ref_logit[:, :, None], (None, members), shadow
        )
    if online:
        attack = LiraAttack(
            df_tr_on,
            df_te_on,
            AggregationType.NONE,
            online_attack=True,
            use_fixed_variance=True,
            std_dev_type="mix",
        )
    else:
        attack = LiraAttack(
            df_tr_off,
            df_te_off,
            AggregationType.NONE,
            online_attack=False,
            use_fixed_variance=True,
            std_dev_type="shadows_out",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = attack.run_attack()
    scores = np.full(members.size, np.nan)  # rows PrivacyGuard drops (NaN) rank lowest
    idx_in, idx_out = np.flatnonzero(members), np.flatnonzero(~members)
    scores[idx_in[out.df_train_merge["user_id"].to_numpy()]] = out.df_train_merge["score"]
    scores[idx_out[out.df_test_merge["user_id"].to_numpy()]] = out.df_test_merge["score"]
    return scores


def _pg_rmia(stats: RefStats, online: bool) -> np.ndarray:
    training = _get("pg_training")
    _, RmiaAttack, AggregationType = _get("pg")
    members = stats.members
    n_refs = stats.keep.shape[0]
    target_idx = np.flatnonzero(members)
    refs = [(SimpleNamespace(indices=np.flatnonzero(k)), k) for k in stats.keep]
    df_train, df_test, df_pop = training.prepare_rmia_data(
        target_scores_train=stats.target_prob,
        target_scores_population=stats.target_pop_prob,
        ref_scores_train=stats.ref_prob.T,
        ref_scores_population=stats.pop_ref_prob.T,
        target_dataset=(SimpleNamespace(indices=target_idx), members),
        reference_datasets=refs,
    )
    kwargs: dict[str, Any] = {"online": online}
    if online:
        kwargs["num_reference_models"] = n_refs  # default would keep the top half only
    attack = RmiaAttack(df_train, df_test, df_pop, AggregationType.NONE, **kwargs)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        out = attack.run_attack()
    # prepare_rmia_data orders rows as list(set(indices)); rebuild that order.
    train_order = np.asarray(list(set(target_idx.tolist())))
    test_order = np.asarray(list(set(range(members.size)) - set(target_idx.tolist())))
    scores = np.full(members.size, np.nan)
    scores[train_order[out.df_train_merge["user_id"].to_numpy()]] = out.df_train_merge["score"]
    scores[test_order[out.df_test_merge["user_id"].to_numpy()]] = out.df_test_merge["score"]
    return scores


def run_peer(name: str, stats: RefStats) -> np.ndarray:
    """Scores of peer attack ``name`` (higher = member), one per pool record."""
    if name == "tfp-lira-online":
        return _tf_lira(stats, "both")
    if name == "tfp-lira-offline":
        return _tf_lira(stats, "out")
    if name == "pg-lira-online":
        return _pg_lira(stats, online=True)
    if name == "pg-lira-offline":
        return _pg_lira(stats, online=False)
    if name == "pg-rmia-online":
        return _pg_rmia(stats, online=True)
    if name == "pg-rmia-offline":
        return _pg_rmia(stats, online=False)
    raise KeyError(name)
