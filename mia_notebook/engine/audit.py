"""The front door: :func:`audit` runs the expensive stage and returns an AuditReport.

Flow: :class:`AuditOptions` (every option validated once) -> :func:`prepare_data`
-> :func:`query_model` (cached) -> attacks (reference models trained lazily, once, on
the first reference attack) -> :class:`AuditReport`.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._version import __version__
from .attacks import Attack, AttackContext, AttackUnavailable, attack_class, available_attacks
from .attacks.base import AttackResult
from .cache import CACHE
from .data import AuditData, fingerprint_frame, prepare_data
from .errors import MiaTypeError, MiaValueError
from .options import DEFAULT_FPR, AuditOptions, check_view_columns, parse_names
from .progress import Progress, make_progress
from .references import ReferenceSignals, check_population
from .references.training import ReferencesFailed, clone_problem, compute_references
from .results import AuditReport
from .target import TargetOutputs, fingerprint_model, query_model

__all__ = ["audit", "resolve_attacks", "versions"]


def _split_attacks(requested: Any) -> tuple[tuple[str, ...], list[Attack]]:
    """Names (validated by :class:`AuditOptions`) and attack instances of ``attacks``."""
    if isinstance(requested, Attack):
        requested = [requested]
    if isinstance(requested, str) or requested is None:
        return parse_names(requested, "attacks"), []
    if not isinstance(requested, Iterable):
        raise MiaTypeError(
            "The 'attacks' parameter must be 'auto', 'all', attack names or Attack "
            f"instances. Got {type(requested).__name__} instead."
        )
    items = list(requested)
    instances = [a for a in items if isinstance(a, Attack)]
    names = parse_names([a for a in items if not isinstance(a, Attack)], "attacks")
    return names, instances


def resolve_attacks(
    requested: str | Iterable[str | Attack], ctx: AttackContext
) -> tuple[list[Attack], dict[str, str]]:
    """Instantiate the requested attacks; returns (runnable, skipped-with-reason).

    ``'auto'`` takes every attack marked ``auto`` that fits the model, ``'all'`` every
    registered attack that fits; inapplicable ones are listed as skipped. Attack
    instances (e.g. from :func:`create_attack`) run as given. Naming an attack that
    cannot run on this model is an error.
    """
    names, instances = _split_attacks(requested)
    if not names and not instances:
        raise MiaValueError("The 'attacks' parameter is empty. Use 'auto', 'all' or names.")
    explicit = not set(names) & {"auto", "all"}
    if "all" in names:
        pool = available_attacks()
    elif "auto" in names:
        pool = [n for n in available_attacks() if attack_class(n).auto]
    else:
        pool = list(dict.fromkeys(names))
    given = {a.name: a for a in instances}
    candidates = [given.pop(n) if n in given else attack_class(n)() for n in pool]
    candidates += given.values()
    runnable, skipped = [], {}
    for attack in candidates:
        reason = attack.unavailable_reason(ctx)
        if reason is None:
            runnable.append(attack)
        elif explicit or attack in instances:
            raise MiaValueError(f"The '{attack.name}' attack cannot run on this model: {reason}.")
        else:
            skipped[attack.name] = reason
    if not runnable:
        raise MiaValueError(f"No attack can run on this model ({_reasons(skipped)}).")
    return runnable, skipped


def _reasons(skipped: dict[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in skipped.items())


def versions() -> dict[str, str]:
    """Versions of this package and of the libraries the numbers depend on."""
    import scipy
    import sklearn

    return {
        "mia_notebook": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
    }


def _target_outputs(model: Any, data: AuditData, fps: dict[str, str]) -> TargetOutputs:
    key = ("target", fps["model"], fps["train"], fps["test"], data.target, data.features)
    cached = CACHE.get(key)
    if cached is None:
        cached = query_model(model, data)
        CACHE.put(key, cached)
    return cached


@dataclass
class _ReferenceStage:
    """The lazy expensive stage shared by every reference attack of one audit."""

    model: Any
    data: AuditData
    outputs: TargetOutputs
    model_fingerprint: str
    options: AuditOptions
    population: pd.DataFrame | None
    progress: Progress
    elapsed: float = 0.0

    def __call__(self) -> ReferenceSignals:
        t0 = time.perf_counter()
        try:
            return compute_references(
                self.model,
                self.data,
                self.outputs,
                n_references=self.options.references,
                seed=self.options.seed,
                population=self.population,
                n_jobs=self.options.n_jobs,
                progress=self.progress,
                model_fingerprint=self.model_fingerprint,
            )
        except ReferencesFailed as e:
            raise AttackUnavailable(str(e)) from e
        finally:
            self.elapsed = time.perf_counter() - t0


def _run_all(
    runnable: list[Attack], ctx: AttackContext, skipped: dict[str, str]
) -> dict[str, AttackResult]:
    """Results of every runnable attack; those that turn out unavailable go to ``skipped``."""
    results = {}
    for attack in runnable:
        try:
            results[attack.name] = attack.run(ctx)
        except AttackUnavailable as e:
            skipped[attack.name] = str(e)
    if not results:
        raise MiaValueError(f"No attack could be computed ({_reasons(skipped)}).")
    return results


def _scores_frame(data: AuditData, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    # Categorical codes and the frames' own index types: no per-row Python objects, which
    # cost seconds at 1M rows. A MultiIndex row label becomes one tuple label.
    codes = np.concatenate([np.zeros(data.n_train, np.int8), np.ones(data.n_test, np.int8)])
    split = pd.Categorical.from_codes(codes, categories=pd.Index(["train", "test"]))
    labels = data.train.index.append(data.test.index)
    if isinstance(labels, pd.MultiIndex):
        labels = labels.to_flat_index()
    index = pd.MultiIndex.from_arrays([split, labels], names=["split", "index"])
    frame: pd.DataFrame = pd.DataFrame({"member": data.members, **scores}, index=index)
    return frame


def _run_info(
    model: Any,
    outputs: TargetOutputs,
    data: AuditData,
    opts: AuditOptions,
    requested: list[str],
) -> dict[str, Any]:
    return {
        "model": type(model).__name__,
        "model_kind": outputs.kind,
        "attacks": requested,
        "seed": opts.seed,
        "target": data.target,
        "features": list(data.features),
        "n_members": data.n_train,
        "n_nonmembers": data.n_test,
    }


def _reference_run_info(
    refs: ReferenceSignals,
    extra: pd.DataFrame | None,
    opts: AuditOptions,
    results: dict[str, AttackResult],
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "references": refs.n_requested,
        "references_ok": refs.n_references,
        "references_trained": refs.n_trained,
        "references_cached": refs.n_cached,
        "population_rows": 0 if extra is None else len(extra),
        "lira_variance": opts.lira_variance,
    }
    if refs.failed:
        info["references_failed"] = {str(k): v for k, v in sorted(refs.failed.items())}
    rmia_a = {name: r.learned["a"] for name, r in results.items() if "a" in r.learned}
    if rmia_a:
        info["rmia_a"] = rmia_a
    return info


def _report(
    model: Any,
    data: AuditData,
    outputs: TargetOutputs,
    opts: AuditOptions,
    ctx: AttackContext,
    stage: _ReferenceStage,
    requested: list[str],
    results: dict[str, AttackResult],
    skipped: dict[str, str],
    fps: dict[str, str],
    times: list[float],
) -> AuditReport:
    """Assemble the :class:`AuditReport` of a finished audit."""
    refs = ctx.signals
    run = _run_info(model, outputs, data, opts, requested)
    if refs is not None:
        run.update(_reference_run_info(refs, stage.population, opts, results))
    t0, t1, t2, t3 = times
    return AuditReport(
        scores=_scores_frame(data, {name: r.scores for name, r in results.items()}),
        options=opts.view,
        run=run,
        skipped=skipped,
        notes=tuple([*outputs.notes, *(refs.notes() if refs is not None else [])]),
        versions=versions(),
        fingerprints=fps,
        timings={
            "validate_s": t1 - t0,
            "query_model_s": t2 - t1,
            "attacks_s": t3 - t2,
            "references_s": stage.elapsed,
            "total_s": time.perf_counter() - t0,
        },
        data=data,
        evidence={} if refs is None else {"references": refs},
    )


def audit(
    model: Any,
    *,
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    features: Sequence[str] | str | None = None,
    attacks: str | Sequence[str | Attack] = "auto",
    fpr: float | Sequence[float] | str = DEFAULT_FPR,
    flag: int = 10,
    slice: str | None = None,
    redact: Sequence[str] | str = (),
    seed: int = 0,
    confidence: float = 0.95,
    delta: float = 0.0,
    references: int | None = None,
    population: pd.DataFrame | None = None,
    n_jobs: int | None = None,
    lira_variance: str = "auto",
    rmia_a: float | str = "auto",
    progress: bool | Progress | None = True,
) -> AuditReport:
    """Audit a fitted model for membership-inference risk.

    Every option is validated before any work starts (:class:`AuditOptions`), so a bad
    value, or a ``slice``/``redact`` column missing from a frame, fails at once.

    Parameters
    ----------
    model : fitted estimator
        Anything with ``predict_proba``, ``decision_function`` or ``predict``
        (scikit-learn estimators and Pipelines included). Never refitted or changed.
    train : DataFrame
        The records the model was trained on (members).
    test : DataFrame
        Records from the same distribution that were not used in training
        (non-members).
    target : str
        Name of the label column (present in both frames).
    features : list of str or comma-separated str, default=None
        Columns passed to the model. Default: the columns the model was fitted on
        (``feature_names_in_``) or else every column but ``target``.
    attacks : 'auto', 'all', or list of str or Attack, default='auto'
        Attack names (see :func:`mia_notebook.available_attacks`, including attacks
        added with :func:`register_attack`) or instances from :func:`create_attack`.
    fpr : float or sequence of float, default=(0.001, 0.01, 0.1)
        FPR targets at which TPR is reported, each in (0, 1).
    flag : int, default=10
        How many most-exposed members to list.
    slice : str, default=None
        Extra column (of both frames) to break metrics down by (classes of ``target``
        always are).
    redact : list of str, default=()
        Columns whose values must never appear in any output.
    seed : int, default=0
        Seed for every random choice of the audit.
    confidence : float in [0.5, 1), default=0.95
        Confidence of the epsilon lower bound (Clopper-Pearson).
    delta : float in [0, 1), default=0.0
        delta of (epsilon, delta)-DP assumed by the epsilon bound.
    references : int, default=None
        Reference models for the LiRA, RMIA and shadow attacks: copies of ``model``
        fitted on seeded random halves of the population, so that every record is IN
        for about half of them. None: ``DEFAULT_REFERENCES`` (16).
    population : DataFrame, default=None
        Extra records from the same distribution (same feature and target columns).
        They join the reference models' training population and serve as RMIA's
        population samples z. Default: the reference models train on train ∪ test.
    n_jobs : int, default=None
        Parallel reference-model fits (joblib). None: the active
        ``joblib.parallel_config`` (e.g. a Dask cluster), else every core.
    lira_variance : {'auto', 'per-record', 'global'}, default='auto'
        LiRA's Gaussian variance; 'auto' is per-record from 64 reference models on.
    rmia_a : float in [0, 1] or 'auto', default='auto'
        Offline RMIA's correction; 'auto' calibrates it on the reference models.
    progress : bool or Progress, default=True
        Show progress while reference models train: an in-place bar in notebooks and
        terminals, a few plain lines in logs and files; False: silent; or an object
        with ``start(total, description)``, ``update(done)`` and ``close()``.

    Returns
    -------
    AuditReport
        ``report.evidence["references"]`` holds the reference material
        (:class:`~mia_notebook.engine.references.ReferenceSignals`: ``signal``,
        ``in_mask``, ``target``) when a reference attack ran.
    """
    t0 = time.perf_counter()
    names, instances = _split_attacks(attacks)
    if not names and not instances:
        raise MiaValueError("The 'attacks' parameter is empty. Use 'auto', 'all' or names.")
    opts = AuditOptions.create(
        attacks=names,
        features=features,
        seed=seed,
        references=references,
        n_jobs=n_jobs,
        lira_variance=lira_variance,
        rmia_a=rmia_a,
        fpr=fpr,
        flag=flag,
        slice=slice,
        redact=redact,
        confidence=confidence,
        delta=delta,
    )
    data = prepare_data(model, train, test, target, opts.features)
    check_view_columns(opts.view, data.train.columns, data.test.columns)
    extra = check_population(population, data)
    bar = make_progress(progress)
    fps = {
        "model": fingerprint_model(model),
        "train": fingerprint_frame(data.train),
        "test": fingerprint_frame(data.test),
    }
    t1 = time.perf_counter()
    outputs = _target_outputs(model, data, fps)
    t2 = time.perf_counter()
    stage = _ReferenceStage(model, data, outputs, fps["model"], opts, extra, bar)
    ctx = AttackContext(
        outputs=outputs, options=opts, references=stage, reference_problem=clone_problem(model)
    )
    runnable, skipped = resolve_attacks([*names, *instances], ctx)
    results = _run_all(runnable, ctx, skipped)
    requested = [*names, *(a.name for a in instances)]
    return _report(
        model,
        data,
        outputs,
        opts,
        ctx,
        stage,
        requested,
        results,
        skipped,
        fps,
        [t0, t1, t2, time.perf_counter()],
    )
