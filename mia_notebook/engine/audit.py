"""The front door: :func:`audit` runs the expensive stage and returns an AuditReport.

Flow: :class:`AuditOptions` (every option validated once) -> :func:`prepare_data`
-> :func:`query_model` (cached) -> attacks (reference models trained lazily, once, on
the first reference attack) -> :class:`AuditReport`.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ._version import __version__
from .attacks import Attack, AttackContext, AttackUnavailable
from .attacks.base import AttackResult, StageInputs
from .attacks.label_robust import PROVIDER as LABEL_ROBUST
from .attacks.label_robust import RobustStage
from .attacks.select import resolve_attacks, run_attacks, split_attacks
from .attacks.whitebox import PROVIDER as WHITEBOX
from .attacks.whitebox import REFERENCES as WHITEBOX_REFERENCES
from .attacks.whitebox import WhiteboxStage
from .cache import CACHE
from .data import AuditData, check_view_columns, fingerprint_frame, prepare_data
from .options import DEFAULT_FPR, AuditOptions
from .progress import Progress, make_progress
from .references import ReferenceSignals, check_population
from .references.statistics import TransformedStatistic
from .references.training import ReferencesFailed, clone_problem
from .results import AuditReport
from .target import TargetOutputs, fingerprint_model, query_model
from .verdict import Policy
from .whatif import OutputsForm, apply_outputs, explain_skipped, resolve_outputs

__all__ = ["audit", "resolve_attacks", "target_outputs", "versions"]


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


def target_outputs(model: Any, data: AuditData, fps: dict[str, str]) -> TargetOutputs:
    """The model's outputs on ``data`` (members first), from the cache when an audit of
    the same model and frames has queried it (``fps``: the report's fingerprints)."""
    key = ("target", fps["model"], fps["train"], fps["test"], data.target, data.features)
    cached = CACHE.get(key)
    if cached is None:
        cached = query_model(model, data)
        CACHE.put(key, cached)
    return cached


@dataclass
class _ReferenceStage(StageInputs):
    """The lazy expensive stage shared by every reference attack of one audit."""

    elapsed: float = 0.0

    def __call__(self) -> ReferenceSignals:
        t0 = time.perf_counter()
        form = self.options.outputs
        try:
            return self.train_references(
                TransformedStatistic(form) if form.changes_probabilities else None
            )
        except ReferencesFailed as e:
            raise AttackUnavailable(str(e)) from e
        finally:
            self.elapsed = time.perf_counter() - t0


def _robust_references(ctx: AttackContext) -> ReferenceSignals:
    """The reference material label-robust's reference models gave (with extras)."""
    refs = ctx.stage(LABEL_ROBUST).references
    if refs is None:
        raise AttackUnavailable("needs reference models (label-robust's were not trained)")
    assert isinstance(refs, ReferenceSignals)
    return refs


def _share_references(
    runnable: list[Attack], ctx: AttackContext, stages: Mapping[str, Any]
) -> Callable[[], ReferenceSignals]:
    """Have the stage that trains this audit's reference models give the white-box
    statistic in the same pass, and return how the calibrated white-box attacks get it.

    Under ``outputs='label'`` the reference models are label-robust's (the black-box
    statistic needs probabilities); otherwise they are the shared reference stage's.
    """
    whitebox: WhiteboxStage = stages[WHITEBOX]
    extra = whitebox.reference_statistic()
    calibrated = [a for a in runnable if a.threat_model == "white-box" and a.needs_references]
    if extra is None or not calibrated:
        return ctx.reference_signals
    if ctx.outputs.kind == "label":
        stages[LABEL_ROBUST].extras = (extra,)
        return lambda: _robust_references(ctx)
    assert isinstance(ctx.references, _ReferenceStage)
    ctx.references.extras = (extra,)
    return ctx.reference_signals


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
        "outputs": str(opts.outputs),
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
    ctx: AttackContext,
    results: dict[str, AttackResult],
    skipped: dict[str, str],
    provenance: tuple[list[str], dict[str, str], dict[str, float], dict[str, str]],
) -> AuditReport:
    """Assemble the :class:`AuditReport` of a finished audit.

    ``provenance`` is (attacks asked for, fingerprints, timings, each computed attack's
    threat model).
    """
    refs, opts = ctx.signals, ctx.options
    requested, fps, timings, threats = provenance
    run = _run_info(model, outputs, data, opts, requested)
    run["threat_models"] = {name: threats[name] for name in results}
    if refs is not None:
        assert isinstance(ctx.references, _ReferenceStage)
        run.update(_reference_run_info(refs, ctx.references.population, opts, results))
    for value in ctx.computed_stages.values():
        if not isinstance(value, ReferenceSignals):
            run.update(getattr(value, "run_info", {}))
    # the lazy stages' own values (the white-box references' notes are the stage's)
    values = [v for v in ctx.computed_stages.values() if not isinstance(v, ReferenceSignals)]
    stage_notes = [n for v in values for n in getattr(v, "notes", [])]
    return AuditReport(
        scores=_scores_frame(data, {name: r.scores for name, r in results.items()}),
        options=opts.view,
        run=run,
        skipped=skipped,
        notes=tuple([*ctx.outputs.notes, *(refs.notes() if refs else []), *stage_notes]),
        versions=versions(),
        fingerprints=fps,
        timings=timings,
        data=data,
        evidence={} if refs is None else {"references": refs},
    )


def _execute(
    model: Any,
    data: AuditData,
    opts: AuditOptions,
    population: pd.DataFrame | None,
    progress: Progress,
    attacks: list[str | Attack],
    t0: float,
) -> AuditReport:
    """Query the model, run the attacks (training reference models on first need)."""
    fps = {
        "model": fingerprint_model(model),
        "train": fingerprint_frame(data.train),
        "test": fingerprint_frame(data.test),
    }
    t1 = time.perf_counter()
    raw = target_outputs(model, data, fps)
    opts = replace(opts, outputs=resolve_outputs(opts.outputs, raw))
    seen = apply_outputs(raw, opts.outputs)  # what the attacker sees (the what-if)
    t2 = time.perf_counter()
    stage = _ReferenceStage(model, data, seen, fps["model"], opts, population, progress)
    inputs = (model, data, seen, fps["model"], opts, population, progress)
    stages: dict[str, Any] = {LABEL_ROBUST: RobustStage(*inputs), WHITEBOX: WhiteboxStage(*inputs)}
    ctx = AttackContext(
        outputs=seen,
        options=opts,
        references=stage,
        reference_problem=clone_problem(model),
        stages=stages,
    )
    runnable, skipped = resolve_attacks(attacks, ctx)
    stages[WHITEBOX_REFERENCES] = _share_references(runnable, ctx, stages)
    results = run_attacks(runnable, ctx, skipped)
    skipped = explain_skipped(skipped, opts.outputs)
    t3 = time.perf_counter()
    timings = {
        "validate_s": t1 - t0,
        "query_model_s": t2 - t1,
        "attacks_s": t3 - t2,
        "references_s": stage.elapsed,
        "total_s": t3 - t0,
    }
    requested = [a if isinstance(a, str) else a.name for a in attacks]
    threats = {a.name: a.threat_model for a in runnable}
    return _report(model, data, raw, ctx, results, skipped, (requested, fps, timings, threats))


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
    policy: Policy | Mapping[str, Any] | None = None,
    outputs: str | OutputsForm = "proba",
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
    policy : Policy or dict, default=None
        The lines that map the evidence to the verdict's risk level
        (``report.verdict``), e.g. ``{"tpr_high": 0.1}``; unknown keys and out-of-range
        values fail at once. None: :class:`~.verdict.Policy` at this ``confidence`` and
        ``delta`` (defaults and their sources: ``docs/verdict.md``).
    outputs : {'proba', 'label', 'topk:K', 'round:D'}, default='proba'
        What-if for the deployed API, without retraining: attack what an attacker
        would see if the model returned only the label, the top K probabilities, or
        probabilities rounded to D decimals; reference models' outputs go through the
        same transformation (see :mod:`mia_notebook.engine.whatif`). Attacks that need
        what is hidden are skipped with the reason.
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
    names, instances = split_attacks(attacks)
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
        policy=policy,
        outputs=outputs,
    )
    data = prepare_data(model, train, test, target, opts.features)
    check_view_columns(opts.view, data.train.columns, data.test.columns)
    extra = check_population(population, data)
    bar = make_progress(progress)
    return _execute(model, data, opts, extra, bar, [*names, *instances], t0)
