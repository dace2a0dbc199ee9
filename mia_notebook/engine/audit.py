"""The front door: :func:`audit` runs the expensive stage and returns an AuditReport."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import references as _references
from .attacks import Attack, AttackContext, AttackUnavailable, attack_class, available_attacks
from .attacks.lira import validate_variance
from .attacks.rmia import validate_rmia_a
from .cache import CACHE
from .data import AuditData, fingerprint_frame, prepare_data
from .errors import MiaValueError
from .progress import Progress, make_progress
from .references import (
    ReferencesFailed,
    ReferenceSignals,
    check_population,
    compute_references,
    validate_n_jobs,
    validate_references,
)
from .results import AuditReport, check_view
from .spec import DEFAULT_FPR, ViewOptions, parse_names, validate_int
from .target import TargetOutputs, fingerprint_model, query_model

__all__ = ["audit", "resolve_attacks"]


def resolve_attacks(
    requested: str | Iterable[str], ctx: AttackContext
) -> tuple[list[Attack], dict[str, str]]:
    """Instantiate the requested attacks; returns (runnable, skipped-with-reason).

    ``'auto'`` takes every attack marked ``auto`` that fits the model, ``'all'`` every
    registered attack that fits; inapplicable ones are listed as skipped. Naming an
    attack that cannot run on this model is an error.
    """
    names = parse_names(requested, "attacks")
    if not names:
        raise MiaValueError("The 'attacks' parameter is empty. Use 'auto', 'all' or names.")
    explicit = not set(names) & {"auto", "all"}
    if "all" in names:
        pool = available_attacks()
    elif "auto" in names:
        pool = [n for n in available_attacks() if attack_class(n).auto]
    else:
        pool = list(dict.fromkeys(names))
    runnable, skipped = [], {}
    for name in pool:
        attack = attack_class(name)()
        reason = attack.unavailable_reason(ctx)
        if reason is None:
            runnable.append(attack)
        elif explicit:
            raise MiaValueError(f"The '{name}' attack cannot run on this model: {reason}.")
        else:
            skipped[name] = reason
    if not runnable:
        raise MiaValueError(
            "No attack can run on this model ("
            + "; ".join(f"{k}: {v}" for k, v in skipped.items())
            + ")."
        )
    return runnable, skipped


def versions() -> dict[str, str]:
    import scipy
    import sklearn

    from mia_notebook import __version__

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


def _reference_provider(
    model: Any,
    data: AuditData,
    outputs: TargetOutputs,
    fps: dict[str, str],
    settings: dict[str, Any],
    progress: Progress,
) -> Callable[[], ReferenceSignals]:
    """The lazy expensive stage shared by every reference attack of one audit."""

    def provide() -> ReferenceSignals:
        t0 = time.perf_counter()
        try:
            refs = compute_references(
                model, data, outputs, n_references=settings["references"],
                seed=settings["seed"], population=settings["population"],
                n_jobs=settings["n_jobs"], progress=progress, model_fingerprint=fps["model"],
            )
        except ReferencesFailed as e:
            raise AttackUnavailable(str(e)) from e
        finally:
            settings["elapsed_s"] = time.perf_counter() - t0
        return refs

    return provide


def _score_all(
    runnable: list[Attack], ctx: AttackContext, skipped: dict[str, str]
) -> dict[str, np.ndarray]:
    """Scores of every runnable attack; those that turn out unavailable go to ``skipped``."""
    scores = {}
    for attack in runnable:
        try:
            scores[attack.name] = np.asarray(attack.score(ctx), dtype=np.float64)
        except AttackUnavailable as e:
            skipped[attack.name] = str(e)
    if not scores:
        raise MiaValueError(
            "No attack could be computed (" + "; ".join(f"{k}: {v}" for k, v in skipped.items())
            + ")."
        )
    return scores


def _check_options(
    references: Any, lira_variance: Any, rmia_a: Any, population: Any, n_jobs: Any,
    data: AuditData,
) -> tuple[int, pd.DataFrame | None]:
    """Validate the reference-attack options; returns (references, population)."""
    default = _references.DEFAULT_REFERENCES  # read at call time: tests may lower it
    n_refs = validate_references(default if references is None else references)
    validate_n_jobs(n_jobs)
    validate_variance(lira_variance)
    validate_rmia_a(rmia_a)
    return n_refs, check_population(population, data)


def _scores_frame(
    data: AuditData, members: np.ndarray, scores: dict[str, np.ndarray]
) -> pd.DataFrame:
    # Categorical codes and the frames' own index types: no per-row Python objects, which
    # cost seconds at 1M rows. A MultiIndex row label becomes one tuple label.
    codes = np.concatenate([np.zeros(data.n_train, np.int8), np.ones(data.n_test, np.int8)])
    split = pd.Categorical.from_codes(codes, categories=pd.Index(["train", "test"]))
    labels = data.train.index.append(data.test.index)
    if isinstance(labels, pd.MultiIndex):
        labels = labels.to_flat_index()
    index = pd.MultiIndex.from_arrays([split, labels], names=["split", "index"])
    frame = pd.DataFrame({"member": members, **scores}, index=index)
    return frame


def audit(
    model: Any,
    *,
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    features: Sequence[str] | str | None = None,
    attacks: str | Sequence[str] = "auto",
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
    attacks : 'auto', 'all' or list of str, default='auto'
        Attack names (see :func:`mia_notebook.available_attacks`).
    fpr : float or sequence of float, default=(0.001, 0.01, 0.1)
        FPR targets at which TPR is reported.
    flag : int, default=10
        How many most-exposed members to list.
    slice : str, default=None
        Extra column to break metrics down by (classes of ``target`` always are).
    redact : list of str, default=()
        Columns whose values must never appear in any output.
    seed : int, default=0
        Seed for every random choice of the audit.
    confidence : float, default=0.95
        Confidence of the epsilon lower bound (Clopper-Pearson).
    delta : float, default=0.0
        delta of (epsilon, delta)-DP assumed by the epsilon bound.
    references : int, default=None
        Reference models for the LiRA, RMIA and shadow attacks: clones of ``model``
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
        Show a progress bar while reference models train (stderr in plain Python, an
        in-place display in notebooks); False: silent; or an object with
        ``start(total, description)``, ``update(done)`` and ``close()``.

    Returns
    -------
    AuditReport
        ``report.evidence["references"]`` holds the reference material
        (:class:`~mia_notebook.engine.references.ReferenceSignals`: ``signal``,
        ``in_mask``, ``target``) when a reference attack ran.
    """
    t0 = time.perf_counter()
    view = ViewOptions(fpr=fpr, flag=flag, slice=slice, redact=redact,  # type: ignore[arg-type]
                       confidence=confidence, delta=delta).validated()
    seed = validate_int(seed, "seed", low=0, high=2**32 - 1)
    feats = parse_names(features, "features") if features is not None else None
    data = prepare_data(model, train, test, target, feats)
    check_view(view, data, [])
    n_refs, extra = _check_options(references, lira_variance, rmia_a, population, n_jobs, data)
    bar = make_progress(progress)
    fps = {
        "model": fingerprint_model(model),
        "train": fingerprint_frame(data.train),
        "test": fingerprint_frame(data.test),
    }
    t1 = time.perf_counter()
    outputs = _target_outputs(model, data, fps)
    t2 = time.perf_counter()
    members = data.members
    ref_settings: dict[str, Any] = {
        "references": n_refs, "seed": seed, "population": extra, "n_jobs": n_jobs
    }
    ctx = AttackContext(
        outputs=outputs, members=members, random_state=seed, model=model,
        n_references=n_refs, options={"lira_variance": lira_variance, "rmia_a": rmia_a},
        providers={
            "references": _reference_provider(model, data, outputs, fps, ref_settings, bar)
        },
    )
    runnable, skipped = resolve_attacks(attacks, ctx)
    scores = _score_all(runnable, ctx, skipped)
    t3 = time.perf_counter()
    refs: ReferenceSignals | None = ctx.extras.get("references")
    run = {
        "model": type(model).__name__,
        "model_kind": outputs.kind,
        "attacks": list(parse_names(attacks, "attacks")),
        "seed": seed,
        "target": data.target,
        "features": list(data.features),
        "n_members": data.n_train,
        "n_nonmembers": data.n_test,
    }
    if refs is not None:
        run.update(_reference_run_info(refs, extra, lira_variance, ctx))
    return AuditReport(
        scores=_scores_frame(data, members, scores),
        options=view,
        run=run,
        skipped=skipped,
        notes=tuple([*outputs.notes, *(refs.notes() if refs is not None else [])]),
        versions=versions(),
        fingerprints=fps,
        timings={
            "validate_s": t1 - t0,
            "query_model_s": t2 - t1,
            "attacks_s": t3 - t2,
            "references_s": ref_settings.get("elapsed_s", 0.0),
            "total_s": time.perf_counter() - t0,
        },
        data=data,
        evidence={} if refs is None else {"references": refs},
    )


def _reference_run_info(
    refs: ReferenceSignals, extra: pd.DataFrame | None, lira_variance: str, ctx: AttackContext
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "references": refs.n_requested,
        "references_ok": refs.n_references,
        "references_trained": refs.n_trained,
        "references_cached": refs.n_cached,
        "population_rows": 0 if extra is None else len(extra),
        "lira_variance": lira_variance,
    }
    if refs.failed:
        info["references_failed"] = {str(k): v for k, v in sorted(refs.failed.items())}
    if "rmia_a" in ctx.extras:
        info["rmia_a"] = dict(ctx.extras["rmia_a"])
    return info
