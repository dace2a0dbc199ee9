"""The white-box stage of one audit: the model itself, read once, lazily.

:class:`WhiteboxStage` is built by ``audit()`` beside the reference stage. Building it
only looks at the model's type (:func:`~.access.family_of`: cheap, so ``attacks='auto'``
can decide whether to include the family); calling it (through
``AttackContext.stage(PROVIDER)``) computes the target's per-record statistic and, for
models that keep training rows, the finding.

The reference-calibrated attacks compare that statistic with the same statistic of the
audit's reference models. Those are the models the black-box attacks train: the
statistics below are picklable callables with the reference-statistic signature, which
the reference trainer computes in the same pass as the black-box statistic
(:class:`~mia_notebook.engine.references.StatisticSet`), so no reference model is
trained twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...cache import CACHE
from ...references import make_population
from ...references.population import take_rows
from ...references.statistics import StatisticFn
from ..base import AttackUnavailable, StageInputs
from .access import Family, as_dense, family_of, final_step, transformed
from .gradients import gradient_norms, gradient_statistic
from .instances import STORED_ATTRIBUTES, duplicate_count, match_stored
from .trees import tree_statistic

__all__ = [
    "GRAD_EPS",
    "PROVIDER",
    "REFERENCES",
    "GradientStatistic",
    "TreeStatistic",
    "WhiteboxSignals",
    "WhiteboxStage",
]

#: Name of the lazy stage in the attack context (:meth:`AttackContext.stage`).
PROVIDER = "whitebox"
#: Name of the lazy stage giving the reference models' white-box statistics.
REFERENCES = "whitebox-references"
#: Floor of the gradient norm in the log statistic (a hinge loss can give exactly 0;
#: a confident member of a logistic model 1e-20), so the statistic is at most ~690.8.
GRAD_EPS = 1e-300


@dataclass(frozen=True)
class GradientStatistic:
    """:func:`~.gradients.gradient_statistic`: ``-log ||per-record loss gradient||``
    (floored at GRAD_EPS), spread out for confidently wrong records of log-loss
    classifiers. Members of a model fitted by gradient descent have smaller gradients,
    so the statistic is higher for them. Same signature as
    :func:`mia_notebook.engine.references.statistic`; picklable for joblib workers.
    """

    cache_key = "whitebox-gradient-v2"

    def __call__(
        self, model: Any, X: Any, labels: np.ndarray, kind: str = "proba", y_scale: float = 1.0
    ) -> np.ndarray:
        Xt = as_dense(transformed(model, X))
        return gradient_statistic(final_step(model), Xt, labels, GRAD_EPS)


@dataclass(frozen=True)
class TreeStatistic:
    """The per-tree leaf statistic of :func:`~.trees.tree_statistic` (higher = member)."""

    cache_key = "whitebox-trees-v1"

    def __call__(
        self, model: Any, X: Any, labels: np.ndarray, kind: str = "proba", y_scale: float = 1.0
    ) -> np.ndarray:
        return tree_statistic(final_step(model), transformed(model, X), labels, y_scale)


#: The statistic of each family that reference models can give (instances: none).
STATISTICS: dict[str, StatisticFn] = {
    "gradients": GradientStatistic(),
    "trees": TreeStatistic(),
}


@dataclass(frozen=True)
class WhiteboxSignals:
    """What the white-box stage read from the target model.

    Attributes
    ----------
    family : {'gradients', 'trees', 'instances'}
    statistic : ndarray of float64, shape (n_records,)
        The family's per-record statistic (higher = more member-like): the gradient
        statistic, the tree statistic, or the negated distance to the nearest stored row.
    score : ndarray of float64, shape (n_records,)
        The uncalibrated attack's score: the negated gradient norm, the tree statistic,
        the negated distance to the nearest stored row.
    notes : list of str
        Findings for the report (e.g. training rows stored verbatim).
    run_info : dict
        Facts for the report's run info (counts of stored and matching rows).
    """

    family: str
    statistic: np.ndarray
    score: np.ndarray
    notes: list[str] = field(default_factory=list)
    run_info: dict[str, Any] = field(default_factory=dict)


@dataclass
class WhiteboxStage(StageInputs):
    """The lazy white-box stage (see the module docstring); ``family`` is known at once."""

    family: Family | None = None

    def __post_init__(self) -> None:
        self.family = family_of(self.model)

    def reference_statistic(self) -> tuple[str, StatisticFn] | None:
        """(name, statistic) the reference models must also give, or None."""
        if self.family is None or self.family not in STATISTICS:
            return None
        return self.family, STATISTICS[self.family]

    def _records(self) -> tuple[Any, np.ndarray, float, str]:
        """The audited records' model input, labels, label variance, population hash."""
        pop = make_population(self.data, self.population, self.outputs.kind)
        X = take_rows(pop.X, np.arange(pop.n_records))
        return X, pop.labels[: pop.n_records], pop.y_scale, pop.fingerprint

    def __call__(self) -> WhiteboxSignals:
        assert self.family is not None, "no white-box family for this model"
        try:
            return self._compute()
        except Exception as e:  # e.g. a categorical split, an unusual Pipeline step
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise AttackUnavailable(
                f"could not read the model's {self.family} ({type(e).__name__}: {first})"
            ) from e

    def _compute(self) -> WhiteboxSignals:
        X, labels, y_scale, pop_fp = self._records()
        family = str(self.family)
        if family == "instances":
            return self._instances(X)
        fn = STATISTICS[family]
        key = ("whitebox-target", self.model_fingerprint, pop_fp, str(getattr(fn, "cache_key")))  # noqa: B009
        stat = CACHE.get(key)
        if stat is None:
            stat = np.asarray(fn(self.model, X, labels, self.outputs.kind, y_scale))
            CACHE.put(key, stat)
        stat = np.asarray(stat, dtype=np.float64)
        if family != "gradients":
            return WhiteboxSignals(family, stat, stat)
        # grad-norm scores the negated norm itself (members have smaller gradients)
        Xt = as_dense(transformed(self.model, X))
        return WhiteboxSignals(family, stat, -gradient_norms(final_step(self.model), Xt, labels))

    def _instances(self, X: Any) -> WhiteboxSignals:
        est = final_step(self.model)
        match = match_stored(est, as_dense(transformed(self.model, X)))
        n_train = self.data.n_train
        members = match.exact[:n_train]
        feats = list(self.data.features)
        distinct = int((~self.data.train[feats][members].duplicated()).sum())
        dups = duplicate_count(self.data.train, self.data.test, feats)
        info = {
            "stored_attribute": match.attribute,
            "stored_rows": match.n_stored,
            "members_stored_verbatim": int(members.sum()),
            "members_stored_distinct": distinct,
            "nonmembers_matching_stored": int(match.exact[n_train:].sum()),
            "train_test_duplicates": dups,
        }
        note = (
            f"White-box finding: the model file contains {int(members.sum())} of the "
            f"{n_train} training records verbatim ({distinct} distinct; "
            f"{type(est).__name__}.{match.attribute}: {match.n_stored} "
            f"{STORED_ATTRIBUTES[match.attribute]})"
        )
        if dups:
            note += (
                f"; {dups} test records duplicate a training record exactly (same "
                "features), match a stored row too and are not counted as leaked"
            )
        return WhiteboxSignals(
            "instances", -match.distance, -match.distance, [note], {"whitebox": info}
        )
