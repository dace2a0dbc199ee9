"""Per-tree signals of tree ensembles: the leaf each record reaches, and what it holds.

An ensemble's output averages (forests) or adds up (boosting) its trees, and so blurs
what each tree says about a record. The model file keeps more: for every tree, the leaf
a record falls in, how many training samples reached that leaf, and the leaf's value
(class purity for forests, a margin step for boosting). A training record sits in a
leaf built around it, often a small one whose samples agree with its label; a record
the model never saw falls in leaves built around other rows.

:func:`tree_statistic` turns the per-tree signals into one number per record (higher =
more member-like), combined over the trees so that per-tree evidence is not averaged
away:

* bagged trees (RandomForest, ExtraTrees, a single decision tree): classifiers, the mean
  over trees of the leaf's agreement with the record's label, ``2 q_y - 1`` in [-1, 1]
  (``q_y`` the leaf's share of training samples with that label), divided by
  ``n ** (1/4)`` with ``n`` the leaf's training samples: a small leaf that agrees with
  the label is the trace of a record the tree was grown around (a member is in-bag,
  and so in such a leaf, for about 63% of a bootstrapped forest's trees), while a
  record the model never saw tends to fall in larger leaves; regressors,
  the mean over trees of ``-log((leaf value - y)² + 1e-9 var(y))``: a record a tree
  memorised is predicted EXACTLY by that tree, which the ensemble's mean hides;
* boosting (GradientBoosting, HistGradientBoosting, XGBoost, LightGBM): the sum over
  trees of the leaf's step toward the record's label divided by the leaf's training
  samples (each sample's share of the push; XGBoost keeps no counts, its ``cover``,
  the hessian sum, stands in). For regressors the direction is that of the residual
  before the tree (``y - F_{t-1}(x)``, assuming an identity link).

Which leaf a record reaches uses the libraries' own ``apply`` / ``pred_leaf``, except for
HistGradientBoosting, whose numeric splits are followed here on its node table
(categorical splits are not supported).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ...errors import MiaValueError
from ...references.statistics import REG_EPS
from ...target import label_index
from .gradients import known_name

__all__ = ["LEAF_SIZE_POWER", "booster_trees", "supports_trees", "tree_statistic"]

#: Bagged classifiers: a leaf's agreement with the label is divided by its training
#: sample count to this power (chosen on overfit forests, bench/whitebox.py: 1/4 gave
#: the best AUC uncalibrated and calibrated; 1/2 and 3/4 were close or worse).
LEAF_SIZE_POWER = 0.25
#: Boosting: a leaf's step is divided by its training sample count to this power.
BOOST_SIZE_POWER = 0.5

_BAGGED = frozenset(
    {
        "RandomForestClassifier",
        "RandomForestRegressor",
        "ExtraTreesClassifier",
        "ExtraTreesRegressor",
        "DecisionTreeClassifier",
        "DecisionTreeRegressor",
        "ExtraTreeClassifier",
        "ExtraTreeRegressor",
    }
)
_BOOSTED = frozenset(
    {
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
        "HistGradientBoostingClassifier",
        "HistGradientBoostingRegressor",
        "XGBClassifier",
        "XGBRegressor",
        "LGBMClassifier",
        "LGBMRegressor",
    }
)


def supports_trees(est: Any) -> bool:
    """Whether :func:`tree_statistic` reads the (final) estimator ``est``."""
    name = known_name(est, _BAGGED | _BOOSTED)
    if name in _BAGGED:
        return hasattr(est, "tree_") or hasattr(est, "estimators_")
    if name.startswith("XGB"):
        return name in _BOOSTED and hasattr(est, "get_booster")
    if name.startswith("LGBM"):
        return name in _BOOSTED and hasattr(est, "booster_")
    return name in _BOOSTED and (hasattr(est, "estimators_") or hasattr(est, "_predictors"))


def _bagged_statistic(est: Any, X: Any, labels: np.ndarray, y_scale: float) -> np.ndarray:
    trees = list(getattr(est, "estimators_", [est]))
    leaves = np.asarray(est.apply(X)).reshape(len(labels), len(trees))
    classifier = hasattr(est, "classes_")
    y_idx = label_index(np.asarray(est.classes_), labels) if classifier else None
    total = np.zeros(len(labels))
    rows = np.arange(len(labels))
    for t, tree in enumerate(trees):
        leaf = leaves[:, t]
        n = tree.tree_.n_node_samples[leaf].astype(np.float64)
        value = tree.tree_.value[leaf, 0, :]
        if y_idx is not None:
            share = np.where(y_idx >= 0, value[rows, np.clip(y_idx, 0, None)], 0.0)
            agree = 2.0 * share / value.sum(axis=1) - 1.0  # in [-1, 1]
            total += agree / n**LEAF_SIZE_POWER
        else:
            err2 = np.square(value[:, 0] - np.asarray(labels, dtype=np.float64))
            total += -np.log(err2 + REG_EPS * y_scale)
    return total / len(trees)


def _hgb_leaves(nodes: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Leaf node of each row in one HistGradientBoosting tree (numeric splits only)."""
    if nodes["is_categorical"].any():
        raise MiaValueError("categorical splits of HistGradientBoosting are not supported")
    node = np.zeros(len(X), dtype=np.int64)
    active = ~nodes["is_leaf"][node].astype(bool)
    while active.any():
        idx = np.flatnonzero(active)
        cur = nodes[node[idx]]
        x = X[idx, cur["feature_idx"]]
        left = np.where(np.isnan(x), cur["missing_go_to_left"] == 1, x <= cur["num_threshold"])
        node[idx] = np.where(left, cur["left"], cur["right"])
        active[idx] = ~nodes["is_leaf"][node[idx]].astype(bool)
    return node


Tree = tuple[int, np.ndarray, np.ndarray, np.ndarray]


def booster_trees(est: Any, X: Any) -> Iterator[Tree]:
    """(output column, leaf id, leaf value, leaf training count) of every tree; the last
    three per record.

    The value is the tree's step on that output column's raw score (shrinkage
    included); boosting order.
    """
    name = known_name(est, _BOOSTED)
    if name.startswith("Gradient"):
        leaves = np.asarray(est.apply(X)).astype(np.int64)
        leaves = leaves.reshape(leaves.shape[0], leaves.shape[1], -1)  # regressors: 2-D
        for s in range(leaves.shape[1]):
            for k in range(leaves.shape[2]):
                tree = est.estimators_[s, k].tree_
                leaf = leaves[:, s, k]
                value = tree.value[leaf, 0, 0] * est.learning_rate
                yield k, leaf, value, tree.n_node_samples[leaf].astype(np.float64)
    elif name.startswith("Hist"):
        Xp = np.asarray(est._preprocess_X(X, reset=False), dtype=np.float64)
        for stage in est._predictors:
            for k, predictor in enumerate(stage):
                leaf = _hgb_leaves(predictor.nodes, Xp)
                nodes = predictor.nodes[leaf]
                value, count = nodes["value"], nodes["count"]
                yield k, leaf, value.astype(np.float64), count.astype(np.float64)
    else:
        yield from _library_trees(est, X)


def _library_trees(est: Any, X: Any) -> Iterator[Tree]:
    """XGBoost and LightGBM trees through ``apply`` / ``pred_leaf`` and their tables."""
    n_classes = len(getattr(est, "classes_", [0, 1]))
    per_round = n_classes if n_classes > 2 else 1
    if known_name(est, _BOOSTED).startswith("XGB"):
        leaves = np.asarray(est.apply(X)).astype(np.int64)
        table = est.get_booster().trees_to_dataframe()
        table = table[table["Feature"] == "Leaf"]
        tree_col, node_col, value_col, count_col = "Tree", "Node", "Gain", "Cover"
    else:
        leaves = np.asarray(est.predict(X, pred_leaf=True)).astype(np.int64)
        table = est.booster_.trees_to_dataframe()
        table = table[table["node_index"].str.contains("-L", regex=False)]
        table = table.assign(leaf=table["node_index"].str.split("-L").str[1].astype(np.int64))
        tree_col, node_col, value_col, count_col = "tree_index", "leaf", "value", "count"
    leaves = leaves.reshape(leaves.shape[0], -1)
    for t in range(leaves.shape[1]):
        rows = table[table[tree_col] == t]
        size = int(rows[node_col].max()) + 1
        value, count = np.zeros(size), np.ones(size)
        value[rows[node_col].to_numpy()] = rows[value_col].to_numpy(dtype=np.float64)
        count[rows[node_col].to_numpy()] = rows[count_col].to_numpy(dtype=np.float64)
        leaf = leaves[:, t]
        yield t % per_round, leaf, value[leaf], count[leaf]


def _boosted_statistic(est: Any, X: Any, labels: np.ndarray) -> np.ndarray:
    trees = list(booster_trees(est, X))
    if hasattr(est, "classes_"):
        y_idx = label_index(np.asarray(est.classes_), labels)
        n_out = 1 + max(k for k, _, _, _ in trees)
        if n_out == 1:  # binary: one raw score, for classes_[1]
            sign = [np.where(y_idx == 1, 1.0, -1.0)]
        else:  # multiclass: toward the label's score, away from the others'
            sign = [np.where(y_idx == k, 1.0, -1.0 / (n_out - 1)) for k in range(n_out)]
        steps = [
            sign[k] * value / np.maximum(count, 1.0) ** BOOST_SIZE_POWER
            for k, _, value, count in trees
        ]
        return np.asarray(np.sum(steps, axis=0))
    y = np.asarray(labels, dtype=np.float64)
    values = np.stack([value for _, _, value, _ in trees], axis=1)
    before = (
        np.asarray(est.predict(X), dtype=np.float64)[:, None]
        - np.cumsum(values[:, ::-1], axis=1)[:, ::-1]
    )  # F_{t-1}(x): the prediction minus this and every later tree's step
    counts = np.stack([count for _, _, _, count in trees], axis=1)
    share = values / np.maximum(counts, 1.0) ** BOOST_SIZE_POWER
    return np.asarray(np.sum(np.sign(y[:, None] - before) * share, axis=1))


def tree_statistic(est: Any, X: Any, labels: Any, y_scale: float = 1.0) -> np.ndarray:
    """The per-record tree statistic of the module docstring, shape (n_samples,).

    Parameters
    ----------
    est : fitted supported tree model (see :func:`supports_trees`)
    X : array-like of shape (n_samples, n_features)
        The estimator's own input (after any Pipeline steps).
    labels : array-like of shape (n_samples,)
        True labels (classifiers) or targets (regressors).
    y_scale : float, default=1.0
        Variance of the regression targets (the floor of the squared error).
    """
    labels = np.asarray(labels)
    if known_name(est, _BAGGED) in _BAGGED:
        return _bagged_statistic(est, X, labels, y_scale)
    return _boosted_statistic(est, X, labels)
