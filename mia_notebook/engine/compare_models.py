"""What :func:`~.compare.compare` compares: the ``models`` argument parsed into entries
(a fitted model, a model under an ``outputs=`` what-if, or a report audited earlier,
e.g. loaded with :func:`mia_notebook.load`), each checked before any audit runs, and
each entry's audit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .audit import audit
from .data import prepare_data
from .errors import MiaError, MiaTypeError, MiaValueError
from .options import AuditOptions, view_option_names
from .results import AuditReport
from .target import model_kind
from .whatif import OutputsForm, parse_outputs

__all__ = [
    "JUDGED_BY",
    "Entry",
    "audit_entry",
    "earlier_notes",
    "features_of",
    "parse_models",
    "precheck",
]

#: Options that decide how a verdict is judged: a report audited earlier is judged
#: again under the comparison's values, so every row answers the same question.
JUDGED_BY = ("fpr", "confidence", "delta", "policy")


@dataclass(frozen=True)
class Entry:
    """One model of a comparison.

    Attributes
    ----------
    name : str
    model : fitted estimator or AuditReport
        A report is compared as it is (judged under the comparison's policy).
    outputs : OutputsForm or None
        This model's ``outputs=`` what-if (None: the comparison's).
    """

    name: str
    model: Any
    outputs: OutputsForm | None

    @property
    def report(self) -> AuditReport | None:
        """The report, when the entry is one audited earlier."""
        return self.model if isinstance(self.model, AuditReport) else None


def _entry(name: Any, spec: Any) -> Entry:
    if not isinstance(name, str) or not name:
        raise MiaTypeError(f"Model names must be non-empty strings. Got {name!r} instead.")
    if not isinstance(spec, tuple):
        return Entry(name, spec, None)
    if len(spec) != 2:
        raise MiaValueError(
            f"Model '{name}': give a model or a (model, outputs) pair, e.g. (clf, "
            f"'label'). Got a tuple of {len(spec)} items."
        )
    if isinstance(spec[0], AuditReport):
        raise MiaValueError(
            f"Model '{name}': a report's outputs are the ones it was audited with "
            f"({spec[0].options.outputs}); give the report alone."
        )
    try:
        return Entry(name, spec[0], parse_outputs(spec[1]))
    except MiaError as e:
        raise type(e)(f"Model '{name}': {e}") from None


def parse_models(models: Any) -> list[Entry]:
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


def features_of(features: Any, name: str) -> Any:
    """The ``features`` option of model ``name`` (per model when a mapping)."""
    if isinstance(features, Mapping):
        return features.get(name)
    return features


def precheck(
    entry: Entry,
    opts: AuditOptions,
    frames: tuple[pd.DataFrame, pd.DataFrame, str],
    features: Any,
) -> tuple[str, ...]:
    """Fail before any audit: columns, per-model features, a regressor under a what-if.

    Returns the entry's feature columns (a report's: those it was audited on).
    """
    if entry.report is not None:
        return entry.report.info.features
    train, test, target = frames
    try:
        data = prepare_data(
            entry.model, train, test, target, features_of(features, entry.name), opts.person
        )
    except MiaError as e:
        hint = ""
        if "features" in str(e) and not isinstance(features, Mapping):
            hint = (
                " Models in one comparison may use different columns: give per-model "
                f"features, e.g. features={{'{entry.name}': [...]}}, or omit 'features'."
            )
        raise type(e)(f"Model '{entry.name}': {e}{hint}") from None
    form = entry.outputs or opts.outputs
    if form.name != "proba" and model_kind(entry.model, data.train[target]) == "regression":
        raise MiaValueError(
            f"Model '{entry.name}': outputs='{form}' applies to classifiers, but this "
            "model is a regressor. Use (model, 'proba') or just the model."
        )
    return data.features


def audit_entry(
    entry: Entry,
    opts: AuditOptions,
    frames: tuple[pd.DataFrame, pd.DataFrame, str],
    features: Any,
    arguments: dict[str, Any],
) -> AuditReport:
    """The entry's report: its audit with ``opts`` (its own outputs and features), or
    the report it is, judged under the comparison's :data:`JUDGED_BY` options.

    ``features`` is compare's (a mapping: per model); ``arguments`` are the further
    arguments of every audit (``population``, ``progress``, attack instances).
    """
    if entry.report is not None:
        changed = {k: getattr(opts, k) for k in JUDGED_BY}
        same = all(getattr(entry.report.options, k) == v for k, v in changed.items())
        return entry.report if same else entry.report.with_options(**changed)
    train, test, target = frames
    run_opts = opts.replace(
        outputs=entry.outputs or opts.outputs, features=features_of(features, entry.name)
    )
    try:
        return audit(
            entry.model,
            train=train,
            test=test,
            target=target,
            options=run_opts,
            **arguments,
        )
    except MiaError as err:
        raise type(err)(f"Model '{entry.name}': {err}") from None


def earlier_notes(entries: list[Entry], reports: dict[str, AuditReport]) -> list[str]:
    """Caveats for reports audited earlier: other records, other compute options."""
    audited = [reports[e.name] for e in entries if e.report is None]
    notes = []
    for e in entries:
        if e.report is None:
            continue
        rep, ref = e.report, (audited[0] if audited else reports[entries[0].name])
        if rep is ref:
            continue
        fps = {k: rep.fingerprints.get(k) for k in ("train", "test")}
        if fps != {k: ref.fingerprints.get(k) for k in ("train", "test")}:
            notes.append(f"'{e.name}' was audited on other records than the others.")
        differ = sorted(
            k
            for k in rep.options.changed(ref.options)
            if k not in (*view_option_names(), "outputs", "features", "n_jobs")
        )
        if differ:
            notes.append(f"'{e.name}' was audited with other options: {', '.join(differ)}.")
    return notes
