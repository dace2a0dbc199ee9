"""Reference models: clones of the user's model refitted on seeded random halves.

The population (the audited records, members first, then any extra ``population``
rows) is split once per audit by :func:`in_out_mask`: every record is IN (in the
training half) for about half of the ``n_references`` models and OUT for the others, so
each record gets both IN and OUT reference models (the "online" setting of LiRA/RMIA).

Each reference model is ``sklearn.base.clone(model)`` fitted on its IN rows, then
queried on every population row for one statistic per record (:func:`statistic`). The
user's model and dataframes are never touched: clones are fitted on new arrays.

Training runs through :class:`joblib.Parallel`, so ``joblib.parallel_config(backend=
"dask")`` sends it to a Dask cluster. Every finished reference model's statistics go
into :data:`~mia_notebook.engine.cache.CACHE` at once (one entry per reference model,
keyed by the model's parameters, the data fingerprint, the seed and the settings): an
interrupted run resumes from the models already trained, and a failing fit costs only
its own column.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd
from joblib.parallel import get_active_backend
from sklearn.base import clone

from .cache import CACHE
from .data import AuditData, _check_columns, _check_frame, as_float_array, fingerprint_frame
from .errors import MiaValueError, ModelPredictionError
from .progress import NullProgress, Progress
from .spec import validate_int
from .target import TargetOutputs, _decision_to_probs, _label_index, fingerprint_model

__all__ = [
    "DEFAULT_REFERENCES",
    "MAX_REFERENCES",
    "Population",
    "ReferenceSignals",
    "clone_problem",
    "compute_references",
    "in_out_mask",
    "make_population",
    "statistic",
    "validate_n_jobs",
    "validate_references",
]

#: Default number of reference models. 16 models on halves of a 10k-row population
#: train in about a minute on 2 cores for a 100-tree random forest (seconds for linear
#: models and gradient boosting), and give every record 8 IN and 8 OUT models: enough
#: for online LiRA with a global variance and for RMIA, which is strong with 1-4.
DEFAULT_REFERENCES = 16
MAX_REFERENCES = 1024

#: Probabilities are clipped to [EPS, 1 - EPS] in the logit statistic (as the
#: ``logit`` threshold attack does), so it lies in about [-27.6, 27.6].
EPS = 1e-12
#: Regression statistic: -log(squared error + REG_EPS * var(y)).
REG_EPS = 1e-9


# --------------------------------------------------------------------------- statistic
def logit_statistic(probs: np.ndarray, y_idx: np.ndarray) -> np.ndarray:
    """log(p_y) - log(sum_{j != y} p_j) per row; p_y = 0 for a label index of -1.

    Higher = the model is more confident in the true label (members: higher).
    Invariant to the rows' normalisation, and exact when p_y is within 1e-16 of 1.
    """
    rows = np.arange(probs.shape[0])
    p_y = np.where(y_idx >= 0, probs[rows, np.clip(y_idx, 0, None)], 0.0)
    rest = probs.sum(axis=1) - p_y
    return np.asarray(np.log(np.maximum(p_y, EPS)) - np.log(np.maximum(rest, EPS)))


def regression_statistic(pred: np.ndarray, y: np.ndarray, y_scale: float) -> np.ndarray:
    """-log(squared error + REG_EPS * y_scale): higher = smaller error (members: higher)."""
    err2 = np.square(np.asarray(pred, dtype=np.float64).ravel() - y)
    return np.asarray(-np.log(err2 + REG_EPS * y_scale))


def statistic(
    model: Any, X: Any, labels: np.ndarray, kind: str, y_scale: float = 1.0
) -> np.ndarray:
    """The per-record statistic of a fitted ``model`` on ``X`` with true ``labels``.

    Classifiers (``kind`` 'proba' or 'decision'): logit-scaled true-class confidence
    (:func:`logit_statistic`). Regressors: :func:`regression_statistic`.

    Returns
    -------
    ndarray of float64, shape (n_samples,)
    """
    if kind == "regression":
        return regression_statistic(model.predict(X), as_float_array(labels), y_scale)
    classes = np.asarray(model.classes_)
    if kind == "proba":
        probs = np.asarray(model.predict_proba(X), dtype=np.float64)
    else:
        probs = _decision_to_probs(model.decision_function(X), len(classes))
    return logit_statistic(probs, _label_index(classes, labels))


def target_statistic(outputs: TargetOutputs, y_scale: float) -> np.ndarray:
    """:func:`statistic` of the target model, from its already-queried outputs."""
    if outputs.kind == "regression":
        assert outputs.y is not None
        return regression_statistic(outputs.pred, outputs.y, y_scale)
    assert outputs.probs is not None and outputs.y_idx is not None
    return logit_statistic(outputs.probs, outputs.y_idx)


# --------------------------------------------------------------------------- inputs
def validate_references(value: Any) -> int:
    """``references`` as an int in [1, MAX_REFERENCES]."""
    return validate_int(value, "references", low=1, high=MAX_REFERENCES)


def clone_problem(model: Any) -> str | None:
    """Why reference models cannot be built from ``model`` (None if they can)."""
    if not hasattr(model, "fit"):
        return (
            f"{type(model).__name__} has no fit method, so no reference models can be "
            "trained; audit the estimator itself (e.g. the scikit-learn model or Pipeline)"
        )
    try:
        clone(model)
    except Exception as e:
        return (
            f"sklearn.base.clone({type(model).__name__}) failed ({type(e).__name__}: {e}); "
            "reference attacks need a scikit-learn compatible estimator (get_params)"
        )
    return None


def params_fingerprint(model: Any) -> str:
    """Hash of the model's parameters only (an unfitted clone), not its learned state."""
    try:
        return str(joblib.hash(clone(model)))[:16]
    except Exception:
        return f"id-{id(model):x}"


@dataclass(frozen=True)
class Population:
    """Rows reference models are trained on: the audited records, then extra rows.

    Attributes
    ----------
    X : DataFrame or ndarray of shape (n_rows, n_features)
        Model input, in the form the model was fitted on (a new object).
    labels : ndarray of shape (n_rows,)
        True labels (or regression targets).
    n_records : int
        The first ``n_records`` rows are the audited records (members first).
    fingerprint : str
        Hash of the rows (train, test and extra population) and the columns used.
    y_scale : float
        Variance of the labels (regression statistic scale); 1 for classification.
    """

    X: Any
    labels: np.ndarray
    n_records: int
    fingerprint: str
    y_scale: float = 1.0

    @property
    def n_rows(self) -> int:
        return len(self.labels)

    @property
    def n_extra(self) -> int:
        return self.n_rows - self.n_records


def check_population(population: Any, data: AuditData) -> pd.DataFrame | None:
    """Validate the optional extra ``population`` frame against the audited data."""
    if population is None:
        return None
    frame = _check_frame("population", population)
    _check_columns("population", frame, [*data.features, data.target])
    n_missing = int(frame[data.target].isna().sum())
    if n_missing:
        raise MiaValueError(
            f"The target column '{data.target}' has {n_missing} missing value(s) in "
            "'population'. Drop those rows first."
        )
    return frame


def make_population(data: AuditData, extra: pd.DataFrame | None, kind: str) -> Population:
    """The reference-training population: ``data``'s records then ``extra`` rows."""
    cols = [*data.features, data.target]
    parts = [data.train[cols], data.test[cols]]
    fps = [fingerprint_frame(p) for p in parts]
    if extra is not None:
        parts.append(extra[cols])
        fps.append(fingerprint_frame(parts[-1]))
    frame = pd.concat(parts, ignore_index=True)
    X = frame[list(data.features)]
    X_in = X if data.pass_frame else X.to_numpy()
    labels = frame[data.target].to_numpy()
    y_scale = 1.0
    if kind == "regression":
        labels = as_float_array(frame[data.target])
        y_scale = float(np.var(labels)) or 1.0
    fp = str(joblib.hash((fps, cols, data.pass_frame)))[:16]
    return Population(X_in, labels, data.n_train + data.n_test, fp, y_scale)


# --------------------------------------------------------------------------- splits
def in_out_mask(n_rows: int, n_references: int, seed: int) -> np.ndarray:
    """Which rows each reference model trains on, shape (n_rows, n_references), bool.

    Every row is IN for exactly ``n_references // 2`` models (for an odd count, a fair
    coin adds one more), chosen uniformly at random per row: so each reference model
    trains on about half of the rows, and each row has both IN and OUT models when
    ``n_references >= 2``. Deterministic in (n_rows, n_references, seed).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_references, 0x4D4941]))
    k = np.full(n_rows, n_references // 2)
    if n_references % 2:
        k += rng.random(n_rows) < 0.5
    mask = np.empty((n_rows, n_references), dtype=bool)
    step = 16_384  # bounded temporaries for large populations
    for start in range(0, n_rows, step):
        u = rng.random((min(step, n_rows - start), n_references))
        ranks = np.argsort(np.argsort(u, axis=1), axis=1)
        mask[start : start + len(u)] = ranks < k[start : start + len(u), None]
    return mask


# --------------------------------------------------------------------------- training
def _rows(X: Any, rows: np.ndarray) -> Any:
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def _error_text(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


def fit_reference(
    index: int, template: Any, X: Any, labels: np.ndarray, rows: np.ndarray,
    kind: str, y_scale: float,
) -> tuple[int, np.ndarray | None, str | None]:
    """Fit ``clone(template)`` on ``rows``; return (index, float32 statistic, error).

    Runs in a joblib worker. Exceptions become an error message so that one failing fit
    does not cancel the others (KeyboardInterrupt still propagates).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. ConvergenceWarning, once per clone
            est = clone(template)
            est.fit(_rows(X, rows), labels[rows])
            stat = statistic(est, X, labels, kind, y_scale)
    except Exception as e:
        return index, None, _error_text(e)
    if not np.isfinite(stat).all():
        return index, None, "the reference model returned NaN or inf"
    return index, stat.astype(np.float32), None


def validate_n_jobs(n_jobs: Any) -> int | None:
    """``n_jobs`` as None or a non-zero int (joblib's convention: -1 = every core)."""
    if n_jobs is None:
        return None
    value = validate_int(n_jobs, "n_jobs", low=-(2**15), high=2**15)
    if value == 0:
        raise MiaValueError(
            "The 'n_jobs' parameter must be a non-zero int (-1: every core) or None. "
            "Got 0 instead."
        )
    return value


def resolve_n_jobs(n_jobs: int | None) -> int | None:
    """``n_jobs`` for joblib: None defers to the n_jobs of an active
    ``joblib.parallel_config``, else means every core (or Dask worker)."""
    if n_jobs is not None:
        return validate_n_jobs(n_jobs)
    _, configured = get_active_backend()
    return None if configured is not None else -1


def _default_local_backend(n_jobs: int | None) -> bool:
    """No n_jobs given and no ``joblib.parallel_config`` active: joblib's own loky."""
    backend, configured = get_active_backend()
    return n_jobs is None and configured is None and type(backend).__name__ == "LokyBackend"


#: With the default n_jobs, the first reference model is fitted in-process; when the
#: rest would take less than this many seconds in-process, they stay there too, since
#: starting worker processes costs seconds (much more on a busy machine).
SEQUENTIAL_BELOW_S = 3.0


class _Collector:
    """Receives finished jobs: caches each at once, counts progress, keeps failures."""

    def __init__(self, key: tuple[Hashable, ...], progress: Progress) -> None:
        self.key, self.progress = key, progress
        self.done: dict[int, np.ndarray] = {}
        self.failed: dict[int, str] = {}

    def add(self, result: tuple[int, np.ndarray | None, str | None]) -> None:
        j, stat, err = result
        if stat is None:
            self.failed[j] = err or "unknown error"
        else:
            CACHE.put((*self.key, j), stat)
            self.done[j] = stat
        self.progress.update(len(self.done) + len(self.failed))


def _train(
    todo: Sequence[int], template: Any, pop: Population, mask: np.ndarray,
    kind: str, n_jobs: int | None, progress: Progress, key: tuple[Hashable, ...],
) -> tuple[dict[int, np.ndarray], dict[int, str]]:
    """Fit the reference models ``todo``, caching each as soon as it is done."""
    out = _Collector(key, progress)
    if not todo:
        return out.done, out.failed

    def job(j: int) -> Any:
        rows = np.flatnonzero(mask[:, j])
        return joblib.delayed(fit_reference)(
            j, template, pop.X, pop.labels, rows, kind, pop.y_scale
        )

    progress.start(len(todo), "Training reference models")
    try:
        rest = list(todo)
        n = resolve_n_jobs(n_jobs)
        if _default_local_backend(n_jobs):  # maybe stay in-process
            t0 = time.perf_counter()
            func, args, kwargs = job(rest.pop(0))
            out.add(func(*args, **kwargs))
            if (time.perf_counter() - t0) * len(rest) < SEQUENTIAL_BELOW_S:
                n = 1
        if rest:
            parallel = joblib.Parallel(n_jobs=n, return_as="generator_unordered")
            for result in parallel(job(j) for j in rest):
                out.add(result)
    finally:
        progress.close()
    return out.done, out.failed


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ReferenceSignals:
    """Reference-model statistics for one audit (the expensive stage of LiRA/RMIA/shadow).

    Records are ordered members first, like ``AuditReport.scores``; columns are the
    reference models that trained successfully.

    Attributes
    ----------
    signal : ndarray of float32, shape (n_records, n_refs)
        Each reference model's statistic on each record: logit-scaled true-class
        confidence for classifiers, -log(squared error + tiny) for regressors
        (higher = more member-like).
    in_mask : ndarray of bool, shape (n_records, n_refs)
        The record was in that reference model's training half.
    target : ndarray of float64, shape (n_records,)
        The target model's same statistic.
    pop_signal, pop_in_mask, pop_target : ndarrays with n_extra rows
        The same for the extra ``population`` rows (zero rows without one).
    kind : str
        The model interface ('proba', 'decision' or 'regression').
    n_requested : int
        Reference models asked for.
    reference_ids : ndarray of int, shape (n_refs,)
        Which of the requested models each column is.
    failed : dict of int to str
        Reference models whose fit or query raised, with the error.
    n_trained, n_cached : int
        Models trained in this run, and models reused from the cache.
    """

    signal: np.ndarray
    in_mask: np.ndarray
    target: np.ndarray
    pop_signal: np.ndarray
    pop_in_mask: np.ndarray
    pop_target: np.ndarray
    kind: str
    n_requested: int
    reference_ids: np.ndarray
    failed: dict[int, str] = field(default_factory=dict)
    n_trained: int = 0
    n_cached: int = 0

    @property
    def n_references(self) -> int:
        """Reference models available (successful fits)."""
        return int(self.signal.shape[1])

    @property
    def nbytes(self) -> int:
        return sum(
            int(a.nbytes)
            for a in (self.signal, self.in_mask, self.target, self.pop_signal,
                      self.pop_in_mask, self.pop_target)
        )

    def notes(self) -> list[str]:
        """Caveats for the report (failed fits)."""
        if not self.failed:
            return []
        first = next(iter(sorted(self.failed.items())))
        return [
            f"{len(self.failed)} of {self.n_requested} reference model fits failed "
            f"(model {first[0]}: {first[1]}); reference attacks used the other "
            f"{self.n_references}"
        ]


class ReferencesFailed(MiaValueError):
    """Not one reference model could be trained."""


def _extra_target_statistic(
    model: Any, pop: Population, kind: str, key: tuple[Any, ...]
) -> np.ndarray:
    """The target model's statistic on the extra population rows (cached)."""
    if pop.n_extra == 0:
        return np.empty(0, dtype=np.float64)
    cached = CACHE.get(("population-target", *key))
    if cached is None:
        X = _rows(pop.X, np.arange(pop.n_records, pop.n_rows))
        try:
            cached = statistic(model, X, pop.labels[pop.n_records :], kind, pop.y_scale)
        except Exception as e:
            raise ModelPredictionError(
                f"The model raised {_error_text(e)} on the 'population' rows. Check that "
                "they are preprocessed like the training data (same columns and dtypes, "
                "missing values imputed)."
            ) from e
        CACHE.put(("population-target", *key), cached)
    return np.asarray(cached)


def compute_references(
    model: Any,
    data: AuditData,
    outputs: TargetOutputs,
    *,
    n_references: int,
    seed: int,
    population: pd.DataFrame | None = None,
    n_jobs: int | None = None,
    progress: Progress | None = None,
    model_fingerprint: str | None = None,
) -> ReferenceSignals:
    """Train (or fetch from the cache) the reference models and collect their statistics.

    Parameters
    ----------
    model : fitted estimator
        The target model; only ``clone(model)`` is fitted.
    data : AuditData
    outputs : TargetOutputs
        The target model's outputs on ``data`` (for its own statistic).
    n_references : int
        Reference models to train.
    seed : int
        Seed of the IN/OUT split.
    population : DataFrame, default=None
        Extra rows from the same distribution, validated by :func:`check_population`.
    n_jobs : int, default=None
        joblib ``n_jobs``; None: the active ``joblib.parallel_config`` or all cores.
    progress : Progress, default=None
    model_fingerprint : str, default=None
        Fingerprint of the fitted target (for the cached population statistic).

    Returns
    -------
    ReferenceSignals

    Raises
    ------
    ReferencesFailed
        When every reference fit failed.
    KeyboardInterrupt
        When interrupted; the models finished so far stay cached.
    """
    kind = outputs.kind
    pop = make_population(data, population, kind)
    mask = in_out_mask(pop.n_rows, n_references, seed)
    key = ("reference", params_fingerprint(model), pop.fingerprint, kind, seed, n_references)
    have = {j: CACHE.get((*key, j)) for j in range(n_references)}
    cached = {j: s for j, s in have.items() if s is not None}
    todo = [j for j in range(n_references) if j not in cached]
    n_cached = len(cached)
    try:
        trained, failed = _train(
            todo, clone(model), pop, mask, kind, n_jobs, progress or NullProgress(), key
        )
    except KeyboardInterrupt:
        n_done = sum((*key, j) in CACHE for j in range(n_references))
        raise KeyboardInterrupt(
            f"Interrupted while training reference models: {n_done} of {n_references} are "
            "trained and cached; run the audit again to resume from them."
        ) from None
    stats = {**cached, **trained}
    ids = np.array(sorted(stats), dtype=np.int64)
    if ids.size == 0:
        first = next(iter(sorted(failed.items())))
        raise ReferencesFailed(
            f"All {n_references} reference model fits failed (model {first[0]}: {first[1]})."
        )
    full = np.empty((pop.n_rows, ids.size), dtype=np.float32)
    for col, j in enumerate(ids):
        full[:, col] = stats[int(j)]
    in_mask = mask[:, ids]
    n = pop.n_records
    extra_target = _extra_target_statistic(
        model, pop, kind, (model_fingerprint or fingerprint_model(model), pop.fingerprint)
    )
    return ReferenceSignals(
        signal=full[:n],
        in_mask=in_mask[:n],
        target=target_statistic(outputs, pop.y_scale),
        pop_signal=full[n:],
        pop_in_mask=in_mask[n:],
        pop_target=extra_target,
        kind=kind,
        n_requested=n_references,
        reference_ids=ids,
        failed=failed,
        n_trained=len(trained),
        n_cached=n_cached,
    )
