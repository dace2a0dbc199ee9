"""Compare models (or one model under several output what-ifs) in one report.

:func:`compare` runs one :func:`~.audit.audit` per model with the same options, so
every number in a :class:`ComparisonReport` is the number the single audit gives (each
model keeps its own cached target outputs and reference models). On top it adds the
task utility on ``test`` (from the cached outputs: no extra model query) and puts the
rows side by side at ONE false-positive rate: the largest of the policy's ``fpr``
targets that the non-members can resolve (every model is audited on the same records).
The first model is the baseline the deltas are taken against.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .audit import audit
from .data import prepare_data
from .errors import MiaError, MiaTypeError, MiaValueError
from .metrics import RocCurve, TprAtFpr, roc, tpr_at_fpr
from .options import AuditOptions
from .outputs import comparison_renderer
from .results import AuditReport
from .target import model_kind
from .utility import ACCURACY, R2, ROC_AUC, task_utility
from .verdict.policy import level_index
from .whatif import OutputsForm, parse_outputs

__all__ = ["ACCURACY", "R2", "ROC_AUC", "ComparisonReport", "ModelRow", "compare"]

#: Columns whose difference to the baseline is a delta.
DELTA_COLUMNS = (ACCURACY, ROC_AUC, R2, "tpr", "epsilon_lb")


@dataclass(frozen=True)
class _Entry:
    name: str
    model: Any
    outputs: OutputsForm | None  # None: the comparison's common ``outputs=``


def _entry(name: Any, spec: Any) -> _Entry:
    if not isinstance(name, str) or not name:
        raise MiaTypeError(f"Model names must be non-empty strings. Got {name!r} instead.")
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise MiaValueError(
                f"Model '{name}': give a model or a (model, outputs) pair, e.g. (clf, "
                f"'label'). Got a tuple of {len(spec)} items."
            )
        try:
            return _Entry(name, spec[0], parse_outputs(spec[1]))
        except MiaError as e:
            raise type(e)(f"Model '{name}': {e}") from None
    return _Entry(name, spec, None)


def parse_models(models: Any) -> list[_Entry]:
    """The ``models`` argument as entries, in order; errors for an empty mapping, a name
    given twice, or a malformed ``(model, outputs)`` pair."""
    if isinstance(models, Mapping):
        items: Iterable[Any] = models.items()
    elif isinstance(models, Iterable) and not isinstance(models, str):
        items = list(models)
        if not all(isinstance(i, tuple) and len(i) == 2 for i in items):
            raise MiaTypeError(
                "The 'models' parameter must be a mapping of name to model (or to "
                "(model, outputs)), e.g. {'forest': rf, 'labels only': (rf, 'label')}."
            )
    else:
        raise MiaTypeError(
            "The 'models' parameter must be a mapping of name to model (or to (model, "
            f"outputs)). Got {type(models).__name__} instead."
        )
    entries = [_entry(name, spec) for name, spec in items]
    if not entries:
        raise MiaValueError(
            "The 'models' parameter is empty. Give at least one model, e.g. {'forest': rf}."
        )
    names = [e.name for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise MiaValueError(
            f"The model name '{twice[0]}' appears twice in 'models'. Give each model (or "
            "each what-if of one model) its own name, e.g. 'forest' and 'forest, labels'."
        )
    return entries


def _estimator_name(model: Any) -> str:
    """The model's class; a Pipeline's final step's class too, ``Pipeline(LogisticRegression)``."""
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        return f"{type(model).__name__}({type(steps[-1][-1]).__name__})"
    return type(model).__name__


def _features_of(features: Any, name: str) -> Any:
    if isinstance(features, Mapping):
        return features.get(name)
    return features


def _precheck(
    entry: _Entry,
    form: OutputsForm,
    frames: tuple[pd.DataFrame, pd.DataFrame, str],
    features: Any,
) -> tuple[str, ...]:
    """Fail before any audit: columns, per-model features, a regressor under a what-if."""
    train, test, target = frames
    try:
        data = prepare_data(entry.model, train, test, target, _features_of(features, entry.name))
    except MiaError as e:
        hint = ""
        if "features" in str(e) and not isinstance(features, Mapping):
            hint = (
                " Models in one comparison may use different columns: give per-model "
                f"features, e.g. features={{'{entry.name}': [...]}}, or omit 'features'."
            )
        raise type(e)(f"Model '{entry.name}': {e}{hint}") from None
    if form.name != "proba" and model_kind(entry.model, data.train[target]) == "regression":
        raise MiaValueError(
            f"Model '{entry.name}': outputs='{form}' applies to classifiers, but this "
            "model is a regressor. Use (model, 'proba') or just the model."
        )
    return data.features


@dataclass(frozen=True)
class ModelRow:
    """One model's line of the comparison.

    Attributes
    ----------
    name : str
    level : {'none', 'low', 'elevated', 'high'}
        The verdict's risk level.
    attack : str or None
        The verdict's attack; at level 'none' (no attack beats chance) the attack with
        the highest AUC, shown for reference.
    tpr : TprAtFpr
        That attack's TPR at the comparison's FPR, with its Clopper-Pearson interval.
    epsilon_lb : float
        The verdict's epsilon lower bound.
    """

    name: str
    level: str
    attack: str | None
    tpr: TprAtFpr
    epsilon_lb: float


def comparison_fpr(report: AuditReport) -> float:
    """The largest policy FPR that ``report``'s non-members resolve (else the smallest)."""
    policy = report.options.policy_or_default
    n_non = int((~report.members).sum())
    resolvable = [f for f in policy.fpr if n_non >= math.ceil(1.0 / f - 1e-9)]
    return max(resolvable) if resolvable else min(policy.fpr)


def _curve(report: AuditReport, attack: str) -> RocCurve | None:
    curve = report.roc_curves().get(attack)
    if curve is None:
        curve = roc(report.scores[attack].to_numpy(), report.members)
    return curve


def _row_attack(report: AuditReport) -> str:
    attack = report.verdict.attack
    if attack is not None:
        return attack
    return str(report.summary["AUC"].astype(float).idxmax())


def model_row(name: str, report: AuditReport, fpr: float) -> ModelRow:
    """The comparison line of ``report`` at ``fpr``."""
    verdict = report.verdict
    attack = _row_attack(report)
    point = tpr_at_fpr(_curve(report, attack), fpr, report.options.confidence)
    eps = float(verdict.evidence.get("epsilon_lb", 0.0))
    return ModelRow(name, verdict.level, attack, point, eps)


@dataclass(frozen=True, eq=False)
class ComparisonReport:
    """Several audits side by side (build it with :func:`compare`).

    Attributes
    ----------
    reports : dict of str to AuditReport
        One audit per model, in the order given; the first is the baseline.
    utility : DataFrame
        Task utility on ``test`` per model (``accuracy`` and ``roc_auc`` for
        classifiers, ``r2`` for regressors), indexed by model name.
    models : dict of str to str
        Each model's class name (a Pipeline's with its final step's).
    notes : tuple of str
        Caveats of the comparison (e.g. models that use different feature columns).
    """

    reports: dict[str, AuditReport]
    utility: pd.DataFrame
    models: dict[str, str]
    notes: tuple[str, ...] = ()

    @property
    def baseline(self) -> str:
        """Name of the first model: deltas are taken against it."""
        return next(iter(self.reports))

    @property
    def fpr(self) -> float:
        """The FPR every row's TPR is read at (see :func:`comparison_fpr`)."""
        return comparison_fpr(self.reports[self.baseline])

    @property
    def rows(self) -> list[ModelRow]:
        """One :class:`ModelRow` per model, in order."""
        return [model_row(name, rep, self.fpr) for name, rep in self.reports.items()]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per model (indexed by name): ``estimator`` class, ``outputs``, the utility
        columns, ``level``, ``attack``, ``fpr``, ``tpr`` with ``tpr_low``/``tpr_high``
        (Clopper-Pearson at the audits' confidence) and ``epsilon_lb``."""
        out = []
        for row in self.rows:
            lo, hi = row.tpr.interval
            out.append({
                "estimator": self.models[row.name],
                "outputs": self.reports[row.name].run.get("outputs", "proba"),
                **self.utility.loc[row.name].to_dict(),
                "level": row.level,
                "attack": row.attack,
                "fpr": row.tpr.target,
                "tpr": row.tpr.value,
                "tpr_low": lo if row.tpr.resolvable else math.nan,
                "tpr_high": hi if row.tpr.resolvable else math.nan,
                "epsilon_lb": row.epsilon_lb,
            })  # fmt: skip
        frame: pd.DataFrame = pd.DataFrame(out, index=pd.Index(list(self.reports), name="model"))
        return frame

    @property
    def deltas(self) -> pd.DataFrame:
        """Each model minus the baseline: the utility columns, ``tpr`` and
        ``epsilon_lb``, and ``level_change`` (risk-level steps; +1: one level riskier)."""
        summ = self.summary
        cols = [c for c in DELTA_COLUMNS if c in summ.columns]
        out = summ[cols].astype(float) - summ[cols].astype(float).loc[self.baseline]
        steps = [level_index(v) for v in summ["level"]]
        out["level_change"] = np.asarray(steps) - steps[0]
        frame: pd.DataFrame = out
        return frame

    @property
    def riskiest(self) -> str:
        """The model with the highest level; ties: the higher TPR, then epsilon (to the
        3 and 2 decimals shown), then the earlier model."""
        rows = self.rows

        def key(i: int) -> tuple[int, float, float, int]:
            row, tpr = rows[i], rows[i].tpr.value
            tpr = -1.0 if math.isnan(tpr) else round(tpr, 3)
            return (level_index(row.level), tpr, round(row.epsilon_lb, 2), -i)

        return rows[max(range(len(rows)), key=key)].name

    @property
    def verdict_line(self) -> str:
        """One line: the riskiest model and the level of each."""
        rows = {r.name: r.level for r in self.rows}
        levels = "; ".join(f"{name}: {level}" for name, level in rows.items())
        top = self.riskiest
        if all(v == "none" for v in rows.values()):
            return f"No model shows a membership-inference risk beyond chance ({levels})."
        return f"Riskiest: {top} ({rows[top]}). Risk levels: {levels}."

    def roc_curves(self) -> dict[str, RocCurve]:
        """ROC curve of each model's row attack (models whose curve is undefined left out)."""
        out = {}
        for row in self.rows:
            if row.attack is not None:
                curve = _curve(self.reports[row.name], row.attack)
                if curve is not None:
                    out[row.name] = curve
        return out

    def to_html(self, path: str | None = None) -> str:
        """A standalone HTML page; written to ``path`` when given."""
        page = comparison_renderer().page(self)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(page)
        return page

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return comparison_renderer().bundle(self)

    def __repr__(self) -> str:
        return comparison_renderer().text(self)


def _common_options(options: dict[str, Any]) -> tuple[OutputsForm, dict[str, Any]]:
    """Validate ``compare``'s audit options once, before any audit (fails fast)."""
    check = {k: v for k, v in options.items() if k not in ("population", "progress")}
    opts = AuditOptions.create(**check)
    return opts.outputs, options


def compare(
    models: Mapping[str, Any] | Iterable[tuple[str, Any]],
    *,
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    features: Any = None,
    **options: Any,
) -> ComparisonReport:
    """Audit several models (or one model under several ``outputs=`` what-ifs) on the
    same records and compare their risk and utility.

    Parameters
    ----------
    models : mapping of str to model or to (model, outputs)
        Name -> fitted model, or -> ``(model, outputs)`` with an ``outputs=`` form
        ('proba', 'label', 'topk:K', 'round:D') for that model. The first is the
        baseline of :attr:`ComparisonReport.deltas`. A sequence of (name, model) pairs
        works too.
    train, test : DataFrame
        Members and non-members, the same for every model.
    target : str
        Label column.
    features : list of str, str, or mapping of str to list of str, default=None
        The feature columns of every model, or per model name (models fitted on
        DataFrames use their own ``feature_names_in_`` without it).
    **options
        Every other keyword of :func:`~.audit.audit` (``attacks``, ``fpr``, ``seed``,
        ``references``, ``policy``, ``outputs`` (the default of models given
        without one), ``progress``...), the same for every model.

    Returns
    -------
    ComparisonReport

    Raises
    ------
    MiaValueError, MiaTypeError
        An empty ``models``, a name given twice, a malformed pair, a regressor under a
        labels/top-k/rounded what-if, columns a model needs but the frames lack; raised
        before any audit runs, naming the model.
    """
    entries = parse_models(models)
    default, options = _common_options(options)
    frames = (train, test, target)
    feats = {e.name: _precheck(e, e.outputs or default, frames, features) for e in entries}
    reports: dict[str, AuditReport] = {}
    for e in entries:
        run_opts = {**options, "outputs": e.outputs or default}
        try:
            reports[e.name] = audit(
                e.model,
                train=train,
                test=test,
                target=target,
                features=_features_of(features, e.name),
                **run_opts,
            )
        except MiaError as err:
            raise type(err)(f"Model '{e.name}': {err}") from None
    utility = pd.DataFrame(
        [task_utility(e.model, reports[e.name]) for e in entries],
        index=pd.Index([e.name for e in entries], name="model"),
    )
    notes: tuple[str, ...] = ()
    if len(set(feats.values())) > 1:
        used = "; ".join(f"{n}: {', '.join(f)}" for n, f in feats.items())
        notes = (f"The models use different feature columns ({used}).",)
    kinds = {e.name: _estimator_name(e.model) for e in entries}
    return ComparisonReport(reports, utility, kinds, notes)
