"""The front door: :func:`audit` runs the expensive stage and returns an AuditReport.

Flow: :class:`AuditOptions` (every option validated once) -> :func:`prepare_data`
-> :func:`query_model` (cached) -> attacks (reference models trained lazily, once, on
the first reference attack) -> :class:`AuditReport`.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ._version import __version__
from .adaptive import run_adaptive
from .attacks import Attack, AttackContext, AttackUnavailable
from .attacks.base import AttackResult, StageInputs
from .attacks.label_robust import PROVIDER as LABEL_ROBUST
from .attacks.label_robust import RobustStage
from .attacks.out_regression import PROVIDER as RECORD_FEATURES
from .attacks.out_regression import FeatureStage
from .attacks.select import resolve_attacks, run_attacks, split_attacks
from .attacks.whitebox import PROVIDER as WHITEBOX
from .attacks.whitebox import REFERENCES as WHITEBOX_REFERENCES
from .attacks.whitebox import WhiteboxStage
from .cache import CACHE
from .data import AuditData, fingerprint_frame, prepare_data
from .errors import MiaTypeError
from .options import AuditOptions, options_doc
from .person_scores import PeopleRecords, person_frame, varying_note
from .progress import Progress, make_progress
from .records import LiveRecords, Records
from .references import ReferenceSignals, check_population
from .references.statistics import TransformedStatistic
from .references.training import FailedFits, ReferencesFailed, clone_problem
from .results import AuditReport
from .run_info import RunInfo
from .target import TargetOutputs, fingerprint_model, query_model
from .utility import task_utility
from .validators import callable_name
from .whatif import apply_outputs, explain_skipped, resolve_outputs

__all__ = ["audit", "audit_options", "resolve_attacks", "target_outputs", "versions"]


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


def _estimator_name(model: Any) -> str:
    """The model's class; a Pipeline's final step's class too, ``Pipeline(LogisticRegression)``."""
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        return f"{type(model).__name__}({type(steps[-1][-1]).__name__})"
    return type(model).__name__


def _run_info(
    model: Any,
    data: AuditData,
    outputs: tuple[TargetOutputs, TargetOutputs],
    instances: list[Attack],
    refs: tuple[ReferenceSignals | None, pd.DataFrame | None],
    results: dict[str, AttackResult],
) -> RunInfo:
    (raw, seen), (signals, population) = outputs, refs
    reference_facts: dict[str, Any] = {}
    if signals is not None:
        reference_facts = {
            "references_ok": signals.n_references,
            "references_trained": signals.n_trained,
            "references_cached": signals.n_cached,
            "references_failed": {str(k): v for k, v in sorted(signals.failed.items())},
            "population_rows": 0 if population is None else len(population),
        }
    return RunInfo(
        model=type(model).__name__,
        estimator=_estimator_name(model),
        model_kind=raw.kind,
        target=data.target,
        features=tuple(data.features),
        n_members=data.n_train,
        n_nonmembers=data.n_test,
        instances=tuple(a.name for a in instances),
        learned={name: dict(r.learned) for name, r in results.items() if r.learned},
        utility=task_utility(seen, data.n_train),
        **reference_facts,
    )


def _report(
    model: Any,
    data: AuditData,
    raw: TargetOutputs,
    ctx: AttackContext,
    results: dict[str, AttackResult],
    skipped: dict[str, str],
    provenance: tuple[list[Attack], dict[str, str], dict[str, float], dict[str, Attack]],
) -> AuditReport:
    """Assemble the :class:`AuditReport` of a finished audit.

    ``provenance`` is (attack instances given, fingerprints, timings, each computed
    attack by name).
    """
    refs = ctx.signals
    instances, fps, timings, ran = provenance
    population = None
    if refs is not None:
        assert isinstance(ctx.references, _ReferenceStage)
        population = ctx.references.population
    # the lazy stages' own values (the white-box references' notes are the stage's)
    values = [v for v in ctx.computed_stages.values() if not isinstance(v, ReferenceSignals)]
    stage_notes = [n for v in values for n in getattr(v, "notes", [])]
    stage_facts = {k: v for value in values for k, v in getattr(value, "run_info", {}).items()}
    info = _run_info(model, data, (raw, ctx.outputs), instances, (refs, population), results)
    info = replace(info, threat_models={n: ran[n].threat_model for n in results}, **stage_facts)
    robust = [v for v in values if getattr(v, "references", None) is not None]
    trained = info.references_ok is not None or bool(robust)
    if ctx.options.fit is not None and trained:  # (label-robust's references count too)
        info = replace(info, fit_function=callable_name(ctx.options.fit))
    row_scores = _scores_frame(data, {name: r.scores for name, r in results.items()})
    scores, people_notes = row_scores, []
    if data.people is not None:  # the report counts people; the rows stay in row_scores
        rules = {n: ran[n].person_rule for n in results}
        scores = person_frame(data.people, {n: r.scores for n, r in results.items()}, rules)
        people_notes = [n for n in [varying_note(data, data.target)] if n is not None]
        info = replace(
            info,
            n_member_people=data.people.n_member_people,
            n_nonmember_people=data.people.n_nonmember_people,
        )
    return AuditReport(
        scores=scores,
        options=ctx.options,
        info=info,
        skipped=skipped,
        notes=tuple(
            [*ctx.outputs.notes, *(refs.notes() if refs else []), *stage_notes, *people_notes]
        ),
        versions=versions(),
        fingerprints=fps,
        timings=timings,
        records=audit_records(data),
        evidence={} if refs is None else {"references": refs},
        row_scores=None if data.people is None else row_scores,
    )


def audit_records(data: AuditData) -> Records:
    """The records of a report on ``data``: its rows, or its people under ``person=``."""
    return LiveRecords(data) if data.people is None else PeopleRecords(data)


def _execute(
    model: Any,
    data: AuditData,
    opts: AuditOptions,
    population: pd.DataFrame | None,
    progress: Progress,
    instances: list[Attack],
    t0: float,
    n_use: int | None = None,
    failures: FailedFits | None = None,
) -> AuditReport:
    """Query the model, run the attacks (training reference models on first need).

    ``n_use``: the first ``n_use`` models of the nested design (an adaptive round);
    ``failures``: the fits that failed in the earlier rounds.
    """
    fps = {
        "model": fingerprint_model(model),
        "train": fingerprint_frame(data.train),
        "test": fingerprint_frame(data.test),
    }
    t1 = time.perf_counter()
    raw = target_outputs(model, data, fps)
    opts = opts.replace(outputs=resolve_outputs(opts.outputs, raw))
    seen = apply_outputs(raw, opts.outputs)  # what the attacker sees (the what-if)
    t2 = time.perf_counter()
    inputs = (model, data, seen, fps["model"], opts, population, progress)
    stage = _ReferenceStage(*inputs, n_use=n_use, failures=failures)
    robust = RobustStage(*inputs, failures=failures)
    stages: dict[str, Any] = {
        LABEL_ROBUST: robust,
        WHITEBOX: WhiteboxStage(*inputs),
        RECORD_FEATURES: FeatureStage(*inputs),
    }
    ctx = AttackContext(
        outputs=seen,
        options=opts,
        references=stage,
        reference_problem=None if opts.fit else clone_problem(model),
        stages=stages,
    )
    runnable, skipped = resolve_attacks([*opts.attacks, *instances], ctx)
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
    provenance = (instances, fps, timings, {a.name: a for a in runnable})
    return _report(model, data, raw, ctx, results, skipped, provenance)


def audit_options(
    options: AuditOptions | None, overrides: dict[str, Any]
) -> tuple[AuditOptions, list[Attack]]:
    """The options of an audit: ``options`` (default: every default) with ``overrides``
    (any accepted form), and the attack instances given in ``attacks=``, whose names
    join ``options.attacks``."""
    base = AuditOptions() if options is None else options
    if not isinstance(base, AuditOptions):
        raise MiaTypeError(
            "The 'options' parameter must be an AuditOptions (e.g. report.options). "
            f"Got {type(base).__name__} instead."
        )
    instances: list[Attack] = []
    if "attacks" in overrides:
        names, instances = split_attacks(overrides["attacks"])
        overrides = {**overrides, "attacks": (*names, *(a.name for a in instances))}
    return base.replace(**overrides), instances


def audit(
    model: Any,
    *,
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    options: AuditOptions | None = None,
    population: pd.DataFrame | None = None,
    progress: bool | Progress | None = True,
    **overrides: Any,
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
    options : AuditOptions, default=None
        Every option at once, e.g. ``report.options`` to repeat an audit; keywords
        (below) change single options on top of it. None: the defaults.
    population : DataFrame, default=None
        Extra records from the same distribution (same feature and target columns).
        They join the reference models' training population and serve as RMIA's
        population samples z. Default: the reference models train on train ∪ test.
    progress : bool or Progress, default=True
        Show progress while reference models train: an in-place bar in notebooks and
        terminals, a few plain lines in logs and files; False: silent; or an object
        with ``start(total, description)``, ``update(done)`` and ``close()``.
    **overrides
        Options of :class:`AuditOptions` by name (``attacks`` also takes attack
        instances from :func:`create_attack`):

    {options}

    Returns
    -------
    AuditReport
        ``report.options`` holds the options it ran with;
        ``report.evidence["references"]`` the reference material
        (:class:`~mia_notebook.engine.references.ReferenceSignals`: ``signal``,
        ``in_mask``, ``target``) when a reference attack ran.
    """
    t0 = time.perf_counter()
    opts, instances = audit_options(options, overrides)
    data = prepare_data(model, train, test, target, opts.features, opts.person)
    audit_records(data).check_view(opts.slice, opts.redact, opts.flag)
    extra = check_population(population, data)
    bar = make_progress(progress)
    if opts.reference_rounds == "adaptive" and opts.references > 2:
        failed = FailedFits()  # a fit that failed is retried once, in a later round
        return run_adaptive(
            lambda k: _execute(model, data, opts, extra, bar, instances, t0, k, failed),
            opts.references,
        )
    return _execute(model, data, opts, extra, bar, instances, t0)


if audit.__doc__:  # one definition of the options: their help text, listed here
    audit.__doc__ = audit.__doc__.replace("{options}", options_doc(" " * 8))
