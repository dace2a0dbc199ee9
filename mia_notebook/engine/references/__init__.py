"""Reference models: unfitted copies of the user's model refitted on seeded halves.

* :mod:`.statistics` -- the per-record statistic (the threshold attacks use it too);
* :mod:`.population` -- the rows reference models train on, and the IN/OUT split;
* :mod:`.copies` -- unfitted copies of the model (clone, else a rebuild);
* :mod:`.training` -- joblib orchestration, cache keys;
* :mod:`.signals` -- :class:`ReferenceSignals`, what the reference attacks read.

Importing this package does not import the trainer (scikit-learn's ``clone``, joblib's
``Parallel``): its names load on first use, so the threshold attacks, which need only
the statistics, never pull it in.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..validators import DEFAULT_REFERENCES, MAX_REFERENCES, validate_n_jobs, validate_references
from .population import Population, check_population, in_out_mask, make_population
from .signals import ReferenceSignals
from .statistics import (
    EPS,
    REG_EPS,
    StatisticFn,
    StatisticSet,
    TransformedStatistic,
    logit_statistic,
    regression_statistic,
    statistic,
    target_statistic,
)

_TRAINING = (
    "SEQUENTIAL_BELOW_S",
    "FailedFits",
    "ReferencesFailed",
    "clone_problem",
    "compute_references",
    "fit_reference",
    "params_fingerprint",
    "rebuild_note",
    "resolve_n_jobs",
    "unfitted_copy",
)

__all__ = [
    "DEFAULT_REFERENCES",
    "EPS",
    "MAX_REFERENCES",
    "REG_EPS",
    "Population",
    "ReferenceSignals",
    "StatisticFn",
    "StatisticSet",
    "TransformedStatistic",
    "check_population",
    "in_out_mask",
    "logit_statistic",
    "make_population",
    "regression_statistic",
    "statistic",
    "target_statistic",
    "validate_n_jobs",
    "validate_references",
    *_TRAINING,
]


def __getattr__(name: str) -> Any:
    if name in _TRAINING:
        return getattr(import_module(".training", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
