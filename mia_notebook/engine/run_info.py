"""What an audit found out while it ran: :class:`RunInfo`.

Facts about the run, never settings: the settings are ``report.options``
(:class:`~.options.AuditOptions`), and no option is repeated here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["RunInfo"]


@dataclass(frozen=True)
class RunInfo:
    """Facts of one audit run (the report's ``info``).

    Attributes
    ----------
    model : str
        The model's class name.
    estimator : str
        The class name, with a Pipeline's final step (``Pipeline(LogisticRegression)``).
    model_kind : {'proba', 'decision', 'regression', 'label'}
        The interface the audit queried.
    target : str
        The label column.
    features : tuple of str
        The columns passed to the model.
    n_members, n_nonmembers : int
        Records of ``train`` and ``test``.
    instances : tuple of str
        Attacks given as instances (``create_attack(...)``), which ran with their own
        settings; ``options.attacks`` names them too.
    references_ok : int or None
        Reference models the reference attacks used (None: none was trained).
    references_trained, references_cached : int
        Of those, trained by this run and taken from the cache.
    references_failed : dict of str to str
        Reference models whose fit raised, with the error.
    population_rows : int
        Rows of ``population=`` added to the references' training population.
    learned : dict of str to dict of str to float
        What attacks fitted, per attack (e.g. offline RMIA's ``{"a": 0.42}``).
    utility : dict of str to float
        Task utility on ``test`` of what the API returns: ``accuracy`` and ``roc_auc``
        (classifiers; ``roc_auc`` NaN when only labels are visible), ``r2``
        (regressors).
    threat_models : dict of str to str
        Each computed attack's threat model: ``'black-box'`` (queries the model's API)
        or ``'white-box'`` (reads the model file).
    fit_function : str or None
        The user's ``fit=`` function that trained the reference models, as
        ``module.qualname`` (None: clone + fit, or no reference model). A saved report
        keeps the name only (``options.fit`` of a loaded report is None).
    n_member_people, n_nonmember_people : int or None
        People of ``train`` and ``test`` under ``person=`` (None without it); the
        report's numbers then count people.
    whitebox : dict of str to int or str
        The white-box stored-instance finding (``docs/whitebox.md``): the attribute
        holding stored rows, how many there are, how many members are stored verbatim
        (and how many distinct), non-members matching a stored row and exact
        train/test duplicates; empty when the model stores no rows.
    """

    model: str
    estimator: str
    model_kind: str
    target: str
    features: tuple[str, ...]
    n_members: int
    n_nonmembers: int
    instances: tuple[str, ...] = ()
    references_ok: int | None = None
    references_trained: int = 0
    references_cached: int = 0
    references_failed: dict[str, str] = field(default_factory=dict)
    population_rows: int = 0
    learned: dict[str, dict[str, float]] = field(default_factory=dict)
    utility: dict[str, float] = field(default_factory=dict)
    threat_models: dict[str, str] = field(default_factory=dict)
    whitebox: dict[str, Any] = field(default_factory=dict)
    fit_function: str | None = None
    n_member_people: int | None = None
    n_nonmember_people: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (tuples as lists); :meth:`from_dict` reads it back."""
        out = asdict(self)
        out["features"], out["instances"] = list(self.features), list(self.instances)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunInfo:
        """The inverse of :meth:`to_dict` (unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in values.items() if k in known}
        kept["features"] = tuple(kept.get("features", ()))
        kept["instances"] = tuple(kept.get("instances", ()))
        # JSON has no NaN: a missing utility (roc_auc of a labels-only API) comes back
        kept["utility"] = {
            k: math.nan if v is None else float(v) for k, v in kept.get("utility", {}).items()
        }
        return cls(**kept)
