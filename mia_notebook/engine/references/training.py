"""Train the reference models: copies of the user's model, fitted on IN halves.

Each is ``sklearn.base.clone`` of the model (else ``type(model)(**get_params())``), or
what the user's ``fit=`` function returns (:mod:`.user_fit`), fitted on its IN rows of
the :class:`~.population.Population` (split by person under ``person=``), then queried
for one statistic per row. Training runs through :class:`joblib.Parallel` (a Dask
cluster under ``joblib.parallel_config(backend="dask")``); every finished model's
statistics are cached at once (keyed by the model's parameters or fit function, the
data, the seed and the settings): an interrupted run resumes, a failing fit costs its
column. Nothing of the user's changes."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import joblib
import numpy as np
import pandas as pd
from joblib.parallel import get_active_backend

from ..cache import CACHE
from ..data import AuditData
from ..errors import MiaValueError, ModelPredictionError
from ..people import People
from ..progress import NullProgress, Progress
from ..target import TargetOutputs, fingerprint_model
from ..validators import validate_n_jobs
from .copies import clone_problem, params_fingerprint, rebuild_note, unfitted_copy
from .population import Population, make_population, reference_mask, take_rows
from .signals import ReferenceSignals
from .statistics import StatisticFn, StatisticSet, statistic, target_statistic
from .user_fit import FitFunction, check_shippable, error_text, fit_identity, fit_note

__all__ = [
    "FIT_ATTEMPTS",
    "SEQUENTIAL_BELOW_S",
    "FailedFits",
    "ReferencesFailed",
    "clone_problem",
    "compute_references",
    "error_text",
    "fit_reference",
    "params_fingerprint",
    "rebuild_note",
    "resolve_n_jobs",
    "train_references",
    "unfitted_copy",
]

#: With the default n_jobs, the first reference model is fitted in-process; when the rest
#: would take less than this many seconds, they stay there (workers cost seconds to start).
SEQUENTIAL_BELOW_S = 3.0


#: Fits of one reference model in an adaptive audit: the first, and one retry.
FIT_ATTEMPTS = 2


class ReferencesFailed(MiaValueError):
    """Not one reference model could be trained."""


class FailedFits:
    """The reference fits that failed in the earlier rounds of one adaptive audit.

    A model whose fit failed is fitted again in a later round (a transient failure,
    e.g. out of memory, gets a second chance); after ``FIT_ATTEMPTS`` failures the later
    rounds report it failed, with its last error, and do not fit it again. Kept per
    audit, never cached: the next audit tries every model again.
    """

    def __init__(self) -> None:
        self._errors: dict[tuple[Hashable, ...], list[str]] = {}

    def given_up(self, key: tuple[Hashable, ...], ids: Sequence[int]) -> dict[int, str]:
        """Models of ``ids`` (under cache ``key``) not to fit again, with their error."""
        out = {}
        for j in ids:
            errors = self._errors.get((*key, j), [])
            if len(errors) >= FIT_ATTEMPTS:
                out[j] = f"{errors[-1]} (failed {len(errors)} times; not fitted again)"
        return out

    def record(self, key: tuple[Hashable, ...], failed: dict[int, str]) -> None:
        for j, error in failed.items():
            self._errors.setdefault((*key, j), []).append(error)


def fit_reference(
    index: int,
    template: Any,
    X: Any,
    labels: np.ndarray,
    rows: np.ndarray,
    kind: str,
    y_scale: float,
    stat_fn: StatisticFn | None = None,
) -> tuple[int, np.ndarray | None, str | None]:
    """Fit a copy of ``template`` (or a FitFunction) on ``rows``: (index, statistic, error).

    ``stat_fn`` replaces :func:`statistic` (same signature). Runs in a joblib worker.
    Exceptions become an error message so that one failing fit does not cancel the
    others (KeyboardInterrupt still propagates).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. ConvergenceWarning, once per copy
            if isinstance(template, FitFunction):
                est = template.train(X, labels, rows)
            else:
                est = unfitted_copy(template)
                est.fit(take_rows(X, rows), labels[rows])
            stat = (stat_fn or statistic)(est, X, labels, kind, y_scale)
    except Exception as e:
        return index, None, error_text(e)
    if not np.isfinite(stat if stat.ndim == 1 else stat[:, 0]).all():  # extras may be NaN
        return index, None, "the reference model returned NaN or inf"
    return index, stat.astype(np.float32), None


def resolve_n_jobs(n_jobs: int | None) -> int | None:
    """``n_jobs`` for joblib: None defers to an active ``joblib.parallel_config``, else
    means every core (or Dask worker)."""
    if n_jobs is not None:
        return validate_n_jobs(n_jobs)
    _, configured = get_active_backend()
    return None if configured is not None else -1


def _default_local_backend(n_jobs: int | None) -> bool:
    """No n_jobs given and no ``joblib.parallel_config`` active: joblib's own loky."""
    backend, configured = get_active_backend()
    return n_jobs is None and configured is None and type(backend).__name__ == "LokyBackend"


class _Collector:
    """Receives finished jobs: caches each at once, counts progress, keeps failures."""

    def __init__(self, parts: list[tuple[Hashable, ...]], progress: Progress) -> None:
        self.parts, self.progress = parts, progress
        self.done: dict[int, np.ndarray] = {}
        self.failed: dict[int, str] = {}

    def add(self, result: tuple[int, np.ndarray | None, str | None]) -> None:
        j, stat, err = result
        if stat is None:
            self.failed[j] = err or "unknown error"
        else:
            StatisticSet.store(self.parts, j, stat)
            self.done[j] = stat
        self.progress.update(len(self.done) + len(self.failed))


def train_references(
    todo: Sequence[int],
    template: Any,
    pop: Population,
    mask: np.ndarray,
    kind: str,
    n_jobs: int | None,
    progress: Progress,
    key: tuple[Hashable, ...],
    stat_fn: StatisticFn | None = None,
) -> tuple[dict[int, np.ndarray], dict[int, str]]:
    """Fit the reference models ``todo`` (columns of ``mask``), caching each when done.

    ``stat_fn`` replaces :func:`statistic` (e.g. an ``outputs=`` what-if).

    Returns
    -------
    done : dict of int to ndarray of float32, shape (n_rows,)
        Statistic of every population row under each trained model.
    failed : dict of int to str
        Models whose fit or query raised, with the error.
    """
    out = _Collector(StatisticSet.cache_parts(key, stat_fn), progress)
    if not todo:
        return out.done, out.failed

    def job(j: int) -> Any:
        rows = np.flatnonzero(mask[:, j])
        return joblib.delayed(fit_reference)(
            j, template, pop.X, pop.labels, rows, kind, pop.y_scale, stat_fn
        )

    rest, n = list(todo), resolve_n_jobs(n_jobs)
    local = _default_local_backend(n_jobs)
    # before any fit: the default may send all but the first model to worker processes
    check_shippable(template, 1 if local and len(rest) == 1 else n)
    progress.start(len(todo), "Training reference models")
    try:
        if local:  # maybe stay in-process
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


def _extra_target_statistic(
    model: Any,
    pop: Population,
    kind: str,
    key: tuple[Any, ...],
    stat_fn: StatisticFn | None = None,
) -> np.ndarray:
    """The target model's statistic on the extra population rows (cached)."""
    if pop.n_extra == 0:
        return np.empty(0, dtype=np.float64)
    cached = CACHE.get(("population-target", *key))
    if cached is None:
        X = take_rows(pop.X, np.arange(pop.n_records, pop.n_rows))
        try:
            labels = pop.labels[pop.n_records :]
            cached = (stat_fn or statistic)(model, X, labels, kind, pop.y_scale)
        except Exception as e:
            raise ModelPredictionError(
                f"The model raised {error_text(e)} on the 'population' rows. Check that "
                "they are preprocessed like the training data (same columns and dtypes, "
                "missing values imputed)."
            ) from e
        CACHE.put(("population-target", *key), cached)
    return np.asarray(cached)


def _train_or_resume(
    template: Any,
    pop: Population,
    mask: np.ndarray,
    key: tuple[Hashable, ...],
    kind: str,
    n_jobs: int | None,
    progress: Progress,
    stat_fn: StatisticFn | None = None,
    failures: FailedFits | None = None,
) -> tuple[dict[int, np.ndarray], dict[int, str], int]:
    """Statistics of every reference model (cached or trained now), failures, n cached.

    ``failures``: the earlier rounds' failed fits (models that failed too often are not
    fitted again); this round's failures join it."""
    n_references = mask.shape[1]
    parts = StatisticSet.cache_parts(key, stat_fn)
    have = {j: StatisticSet.cached(parts, j) for j in range(n_references)}
    cached = {j: s for j, s in have.items() if s is not None}
    todo = [j for j in range(n_references) if j not in cached]
    skipped = {} if failures is None else failures.given_up(key, todo)
    todo = [j for j in todo if j not in skipped]
    try:
        trained, failed = train_references(
            todo, template, pop, mask, kind, n_jobs, progress, key, stat_fn
        )
    except KeyboardInterrupt:
        n_done = sum((*key, j) in CACHE for j in range(n_references))
        raise KeyboardInterrupt(
            f"Interrupted while training reference models: {n_done} of {n_references} are "
            "trained and cached; run the audit again to resume from them."
        ) from None
    if failures is not None:
        failures.record(key, failed)
    return {**cached, **trained}, {**skipped, **failed}, len(cached)


def _columns(
    stats: dict[int, np.ndarray], failed: dict[int, str], n_references: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the trained models and their statistics as (n_rows, n_ok) float32 columns."""
    ids = np.array(sorted(stats), dtype=np.int64)
    if ids.size == 0:
        first = next(iter(sorted(failed.items())))
        raise ReferencesFailed(
            f"All {n_references} reference model fits failed (model {first[0]}: {first[1]})."
        )
    # (n_rows, n_ok), or (n_rows, n_ok, 1 + n_extra) for a StatisticSet
    full = np.stack([stats[int(j)] for j in ids], axis=1).astype(np.float32, copy=False)
    return ids, full


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
    statistic_fn: StatisticFn | None = None,
    target_values: np.ndarray | None = None,
    fit: Callable[[pd.DataFrame], Any] | None = None,
    people: People | None = None,
    nested: bool = False,
    failures: FailedFits | None = None,
) -> ReferenceSignals:
    """Train (or fetch from the cache) the reference models; returns their statistics.

    Parameters
    ----------
    model : fitted estimator
        The target model; only unfitted copies of it are fitted.
    data, outputs : AuditData, TargetOutputs
        The audited records (their ``people`` split by person), and the target's outputs.
    n_references, seed : int
        Reference models to train, and the seed of their IN/OUT split.
    population : DataFrame, default=None
        Extra rows from the same distribution, validated by ``check_population``.
    n_jobs : int, default=None
        joblib ``n_jobs``; None: the active ``joblib.parallel_config`` or all cores.
    progress : Progress, default=None
    model_fingerprint : str, default=None
        Fingerprint of the fitted target (the cached population statistic's key).
    statistic_fn : callable, default=None
        Replaces :func:`statistic` (e.g. :class:`~.statistics.TransformedStatistic`);
        its ``cache_key`` joins the cache keys.
    target_values : ndarray of shape (n_rows,), default=None
        The target's statistic on every population row, when the caller computed it
        (default: from ``outputs``, and by querying the model on extra rows).
    fit : callable, default=None
        Trains each reference model instead of clone + fit (``fit(train_frame)``).
    people : People, default=None
        Whose data each row is: the IN/OUT split is then per person (None: per row).
    nested : bool, default=False
        The nested design (model j the same for any count, per row or per person:
        adaptive rounds reuse the cached models).
    failures : FailedFits, default=None
        The fits that failed in an adaptive audit's earlier rounds (:class:`FailedFits`).

    Raises
    ------
    ReferencesFailed
        When every fit failed. After a KeyboardInterrupt, finished models stay cached.
    """
    kind, pop = outputs.kind, make_population(data, population, outputs.kind)
    mask = reference_mask(pop, n_references, seed, people, nested=nested)
    size: Hashable = "nested" if nested else n_references  # nested: ids shared across n
    maker = params_fingerprint(model) if fit is None else fit_identity(fit)
    rows = pop.fingerprint if people is None else f"{pop.fingerprint}/{people.fingerprint}"
    key: tuple[Hashable, ...] = ("reference", maker, rows, kind, seed, size)
    main_fn = StatisticSet.main_of(statistic_fn)  # extras: their own keys (cache_parts)
    if main_fn is not None:
        key = (*key, str(getattr(main_fn, "cache_key", repr(main_fn))))
    template = FitFunction(fit, data.features, data.target) if fit else unfitted_copy(model)
    stats, failed, n_cached = _train_or_resume(
        template, pop, mask, key, kind, n_jobs, progress or NullProgress(), statistic_fn, failures
    )
    ids, full = _columns(stats, failed, n_references)
    full, extra = StatisticSet.split(full, statistic_fn)
    in_mask, n = mask[:, ids], pop.n_records
    if target_values is not None:
        target, pop_target = np.asarray(target_values[:n]), np.asarray(target_values[n:])
    else:
        fp = (model_fingerprint or fingerprint_model(model), pop.fingerprint, *key[6:])
        target = target_statistic(outputs, pop.y_scale)
        pop_target = _extra_target_statistic(model, pop, kind, fp, main_fn)
    return ReferenceSignals(
        signal=full[:n],
        in_mask=in_mask[:n],
        target=target,
        pop_signal=full[n:],
        pop_in_mask=in_mask[n:],
        pop_target=pop_target,
        kind=kind,
        n_requested=n_references,
        reference_ids=ids,
        failed=failed,
        n_trained=len(stats) - n_cached,
        n_cached=n_cached,
        rebuilt=rebuild_note(model) if fit is None else fit_note(fit),
        extra={name: v[:n] for name, v in extra.items()},
        pop_extra={name: v[n:] for name, v in extra.items()},
    )
