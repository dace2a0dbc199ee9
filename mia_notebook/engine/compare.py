"""Compare models (or one model under several output what-ifs) in one report.

:func:`compare` runs one :func:`~.audit.audit` per model with the same options, so
every number in a :class:`ComparisonReport` is the number the single audit gives (each
model keeps its own cached target outputs and reference models); a report audited
earlier (e.g. :func:`mia_notebook.load`) joins as it is, judged under the same policy.
Each row carries the audit's task utility on ``test`` (``report.info.utility``) and
sits beside the others at ONE false-positive rate: the largest of the policy's ``fpr``
targets that the non-members can resolve. The first model is the baseline the deltas
are taken against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .audit import audit_options
from .compare_models import audit_entry, earlier_notes, parse_models, precheck
from .metrics import RocCurve, TprAtFpr, roc, tpr_at_fpr
from .options import AuditOptions, options_doc
from .outputs import Renderer, Slot
from .progress import Progress
from .report_verdict import threat_model
from .results import AuditReport
from .utility import ACCURACY, R2, ROC_AUC
from .verdict.policy import level_index

__all__ = [
    "ACCURACY",
    "R2",
    "ROC_AUC",
    "ComparisonRenderer",
    "ComparisonReport",
    "ModelRow",
    "compare",
    "set_comparison_renderer",
]

#: Columns whose difference to the baseline is a delta.
DELTA_COLUMNS = (ACCURACY, ROC_AUC, R2, "tpr", "epsilon_lb")


#: What renders a :class:`ComparisonReport` (``mia_notebook.render.compare``).
ComparisonRenderer = Renderer["ComparisonReport"]


RENDERER: Slot[ComparisonRenderer] = Slot("comparison")


def set_comparison_renderer(factory: Callable[[], ComparisonRenderer] | None) -> None:
    """Make comparisons render with ``factory()``, called when one is first shown."""
    RENDERER.install(factory)


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
    setting : {'black-box', 'white-box'} or None
        The threat model whose verdict the row gives (the audits' ``setting=``, by
        default the worse one; None: the verdict is not split by threat model).
    threat : {'black-box', 'white-box'} or None
        The row attack's threat model.
    """

    name: str
    level: str
    attack: str | None
    tpr: TprAtFpr
    epsilon_lb: float
    setting: str | None = None
    threat: str | None = None


def comparison_fpr(report: AuditReport) -> float:
    """The largest policy FPR that ``report``'s non-members resolve (else the smallest)."""
    policy = report.verdict.policy
    n_non = int((~report.members).sum())
    resolvable = [f for f in policy.fpr if n_non >= math.ceil(1.0 / f - 1e-9)]
    return max(resolvable) if resolvable else min(policy.fpr)


def _curve(report: AuditReport, attack: str) -> RocCurve | None:
    curve = report.roc_curves().get(attack)
    if curve is None:
        curve = roc(report.scores[attack].to_numpy(), report.members)
    return curve


def _row_attack(report: AuditReport) -> str:
    """The verdict's attack; at level 'none' the highest-AUC attack of the verdict's
    setting (a white-box attack never stands for a black-box row)."""
    verdict = report.verdict
    if verdict.attack is not None:
        return verdict.attack
    judged = [a for a in verdict.evidence["attacks"] if a in report.summary.index]
    auc = report.summary["AUC"].astype(float)
    return str((auc.loc[judged] if judged else auc).idxmax())


def model_row(name: str, report: AuditReport, fpr: float) -> ModelRow:
    """The comparison line of ``report`` at ``fpr``."""
    verdict = report.verdict
    attack = _row_attack(report)
    point = tpr_at_fpr(_curve(report, attack), fpr, report.options.confidence)
    eps = float(verdict.evidence.get("epsilon_lb", 0.0))
    threat = threat_model(attack, report.info.threat_models)
    return ModelRow(name, verdict.level, attack, point, eps, verdict.setting, threat)


@dataclass(frozen=True, eq=False)
class ComparisonReport:
    """Several audits side by side (build it with :func:`compare`).

    Attributes
    ----------
    reports : dict of str to AuditReport
        One audit per model, in the order given; the first is the baseline.
    notes : tuple of str
        Caveats of the comparison (e.g. models that use different feature columns).
    """

    reports: dict[str, AuditReport]
    notes: tuple[str, ...] = ()

    @property
    def utility(self) -> pd.DataFrame:
        """Task utility on ``test`` per model (``accuracy`` and ``roc_auc`` for
        classifiers, ``r2`` for regressors; ``report.info.utility``), indexed by name."""
        frame: pd.DataFrame = pd.DataFrame(
            [rep.info.utility for rep in self.reports.values()],
            index=pd.Index(list(self.reports), name="model"),
        )
        return frame

    @property
    def models(self) -> dict[str, str]:
        """Each model's class name (a Pipeline's with its final step's)."""
        return {name: rep.info.estimator for name, rep in self.reports.items()}

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
        columns, ``level``, ``setting`` (the threat model it is judged in),
        ``attack``, ``threat`` (its threat model), ``fpr``, ``tpr`` with ``tpr_low``/``tpr_high``
        (Clopper-Pearson at the audits' confidence) and ``epsilon_lb``."""
        out = []
        for row in self.rows:
            lo, hi = row.tpr.interval
            out.append({
                "estimator": self.models[row.name],
                "outputs": str(self.reports[row.name].options.outputs),
                **self.utility.loc[row.name].to_dict(),
                "level": row.level,
                "setting": row.setting,
                "attack": row.attack,
                "threat": row.threat,
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
        page = RENDERER.get().page(self)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(page)
        return page

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return RENDERER.get().bundle(self)

    def __repr__(self) -> str:
        return RENDERER.get().text(self)


def compare(
    models: Mapping[str, Any] | Iterable[tuple[str, Any]],
    *,
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    options: AuditOptions | None = None,
    population: pd.DataFrame | None = None,
    progress: bool | Progress | None = True,
    **overrides: Any,
) -> ComparisonReport:
    """Audit several models (or one model under several ``outputs=`` what-ifs) on the
    same records and compare their risk and utility.

    Parameters
    ----------
    models : mapping of str to model, to (model, outputs) or to AuditReport
        Name -> fitted model, or -> ``(model, outputs)`` with an ``outputs=`` form
        ('proba', 'label', 'topk:K', 'round:D') for that model, or -> a report audited
        earlier (e.g. ``mia_notebook.load("v1.mia")``), compared as it is and judged
        under this comparison's ``fpr``, ``confidence``, ``delta`` and ``policy``. The
        first is the baseline of :attr:`ComparisonReport.deltas`. A sequence of
        (name, model) pairs works too.
    train, test : DataFrame
        Members and non-members, the same for every model.
    target : str
        Label column.
    options : AuditOptions, default=None
        The options of every audit, as in :func:`~.audit.audit` (``outputs`` is the
        default of models given without one).
    population : DataFrame, default=None
        As in :func:`~.audit.audit`.
    progress : bool or Progress, default=True
        As in :func:`~.audit.audit`.
    **overrides
        Options by name on top of ``options``, as in :func:`~.audit.audit`;
        ``features`` may also map model names to their columns:

    {options}

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
    features = overrides.pop("features", None if options is None else options.features)
    opts, instances = audit_options(options, {**overrides, "features": None})
    frames = (train, test, target)
    feats = {e.name: precheck(e, opts, frames, features) for e in entries}
    arguments = {"population": population, "progress": progress}
    if instances:  # attack objects, with their own settings, go to every audit
        arguments["attacks"] = overrides["attacks"]
    reports = {e.name: audit_entry(e, opts, frames, features, arguments) for e in entries}
    notes = earlier_notes(entries, reports)
    if len(set(feats.values())) > 1:
        used = "; ".join(f"{n}: {', '.join(f)}" for n, f in feats.items())
        notes.insert(0, f"The models use different feature columns ({used}).")
    return ComparisonReport(reports, tuple(notes))


if compare.__doc__:  # one definition of the options: their help text, listed here
    compare.__doc__ = compare.__doc__.replace("{options}", options_doc(" " * 8))
