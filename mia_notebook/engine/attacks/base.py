"""The attack interface, and the typed front door of the attack registry (the registry
itself is :mod:`..registry`, which imports nothing from the engine)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from .. import (
    references,  # the trainer's names load on first use (see the package)
    registry,
)
from ..data import AuditData
from ..errors import MiaValueError
from ..options import AuditOptions
from ..progress import Progress
from ..references.signals import ReferenceSignals
from ..registry import available_attacks
from ..target import TargetOutputs

__all__ = [
    "Attack",
    "AttackContext",
    "AttackResult",
    "AttackUnavailable",
    "attack_class",
    "available_attacks",
    "create_attack",
    "register_attack",
]

_KIND_TEXT = {
    "proba": "predict_proba",
    "decision": "decision_function",
    "regression": "a regressor's predictions",
    "label": "predicted labels only",
}


class AttackUnavailable(Exception):
    """Raised by :meth:`Attack.score` when the attack turns out not to be computable
    (e.g. every reference model failed); the audit lists it as skipped with the message.
    """


@dataclass(frozen=True)
class AttackResult:
    """What one attack returns: its scores and what it learned on the way.

    Attributes
    ----------
    scores : ndarray of float64, shape (n_samples,)
        Membership scores, higher = more likely a member.
    learned : dict of str to float
        Values the attack fitted (e.g. offline RMIA's calibrated ``a``), for the report.
    """

    scores: np.ndarray
    learned: dict[str, float] = field(default_factory=dict)


@dataclass
class AttackContext:
    """Everything an attack may look at. The target's membership is not here: no attack
    sees the ground truth (the shadow attack learns from reference models' known IN/OUT).

    Attributes
    ----------
    outputs : TargetOutputs
        The target model's signals on every record (members first).
    options : AuditOptions
        The audit's validated settings (seed, references, lira_variance, rmia_a...).
    references : callable or None
        Computes the audit's :class:`ReferenceSignals` (the expensive stage), called at
        most once through :meth:`reference_signals`; None: no reference models.
    reference_problem : str or None
        Why reference models cannot be built from the audited model (None: they can).
    stages : dict of str to callable
        Other lazy expensive stages by name (e.g. ``label-robust``'s noisy queries),
        each computed at most once through :meth:`stage`.
    """

    outputs: TargetOutputs
    options: AuditOptions = field(default_factory=AuditOptions)
    references: Callable[[], ReferenceSignals] | None = None
    reference_problem: str | None = None
    stages: Mapping[str, Callable[[], Any]] = field(default_factory=dict)
    _stage_values: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _signals: ReferenceSignals | None = field(default=None, init=False, repr=False)
    _failure: AttackUnavailable | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_signals(
        cls, outputs: TargetOutputs, signals: ReferenceSignals, options: AuditOptions
    ) -> AttackContext:
        """A context whose reference material is already computed."""
        return cls(outputs=outputs, options=options, references=lambda: signals)

    @property
    def random_state(self) -> int:
        return self.options.seed

    @property
    def n_references(self) -> int:
        """Reference models the audit trains (0 without reference models)."""
        return 0 if self.references is None else self.options.references

    @property
    def signals(self) -> ReferenceSignals | None:
        """The reference material if it has been computed (None otherwise)."""
        return self._signals

    def stage(self, name: str) -> Any:
        """The value of the lazy stage ``name``, computed on first call.

        Raises
        ------
        AttackUnavailable
            The audit has no such stage (e.g. the context was built by hand).
        """
        if name not in self._stage_values:
            if name not in self.stages:
                raise AttackUnavailable(f"this audit has no '{name}' stage")
            self._stage_values[name] = self.stages[name]()
        return self._stage_values[name]

    @property
    def computed_stages(self) -> dict[str, Any]:
        """The stages computed so far, by name."""
        return dict(self._stage_values)

    def reference_signals(self) -> ReferenceSignals:
        """The shared reference material, computed on first call.

        A provider that raised :class:`AttackUnavailable` is not called again: later
        calls re-raise the same error (so a failed expensive stage is not retried by
        every attack that shares it).
        """
        if self._failure is not None:
            raise self._failure
        if self._signals is None:
            if self.references is None:
                raise AttackUnavailable("this audit has no reference models")
            try:
                self._signals = self.references()
            except AttackUnavailable as e:
                self._failure = e
                raise
        return self._signals


class Attack(ABC):
    """A membership-inference attack: per-record scores, higher = more likely a member.

    Subclasses set ``name`` (registry key), ``title`` (for tables), ``kinds`` (model
    interfaces they work with) and implement :meth:`score`.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    kinds: ClassVar[frozenset[str]]
    #: Included in ``attacks="auto"`` when applicable.
    auto: ClassVar[bool] = True
    #: Needs reference models (cloned and refitted copies of the target).
    needs_references: ClassVar[bool] = False
    #: Fewest reference models the attack can work with.
    min_references: ClassVar[int] = 1
    #: What the attacker holds: 'black-box' (the model's outputs through an API) or
    #: 'white-box' (the model file itself: its parameters); recorded in the run info.
    threat_model: ClassVar[str] = "black-box"
    #: How row scores combine into one score per person under ``person=``
    #: (:mod:`.combine`): derived from what the score is; any score can use the default.
    person_rule: ClassVar[str] = "rank-stouffer"

    @classmethod
    def in_auto(cls, ctx: AttackContext) -> bool:
        """Whether ``attacks='auto'`` includes this attack on ``ctx`` (default: ``auto``)."""
        return cls.auto

    def unavailable_reason(self, ctx: AttackContext) -> str | None:
        """Why this attack cannot run on ``ctx`` (None if it can)."""
        kind = ctx.outputs.kind
        if kind not in self.kinds:
            wants = " or ".join(sorted(_KIND_TEXT[k] for k in self.kinds))
            return f"needs {wants}; the model offers {_KIND_TEXT[kind]}"
        if self.needs_references:
            return self._reference_problem(ctx)
        return None

    def _reference_problem(self, ctx: AttackContext) -> str | None:
        if ctx.reference_problem is not None:
            return f"needs reference models: {ctx.reference_problem}"
        if ctx.n_references < self.min_references:
            return (
                f"needs at least {self.min_references} reference models; "
                f"references={ctx.n_references}"
            )
        return None

    @abstractmethod
    def score(self, ctx: AttackContext) -> np.ndarray:
        """Membership scores of shape (n_samples,), higher = more likely a member."""

    def run(self, ctx: AttackContext) -> AttackResult:
        """Scores and learned values; attacks that fit something override this."""
        return AttackResult(np.asarray(self.score(ctx), dtype=np.float64))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@dataclass
class StageInputs:
    """What a lazy, expensive stage of one audit works from (the shared reference
    models, label-robust's noisy queries): the caller's model and data, never copied."""

    model: Any
    data: AuditData
    outputs: TargetOutputs
    model_fingerprint: str
    options: AuditOptions
    population: pd.DataFrame | None
    progress: Progress
    #: More statistics every reference model gives in the same pass, by name (the
    #: white-box ones); they come back in ``ReferenceSignals.extra``.
    extras: tuple[tuple[str, references.StatisticFn], ...] = ()
    #: Train only the first ``n_use`` models of a nested design of ``options.references``
    #: (an adaptive audit's round); None: all of them, the usual design.
    n_use: int | None = None
    #: The reference fits that failed in the adaptive audit's earlier rounds (a model
    #: is fitted at most twice per audit); None: not an adaptive audit.
    failures: references.FailedFits | None = None

    def train_references(
        self,
        statistic_fn: references.StatisticFn | None = None,
        target_values: np.ndarray | None = None,
    ) -> ReferenceSignals:
        """Train (or fetch from the cache) this audit's reference models."""
        if self.extras:
            statistic_fn = references.StatisticSet(statistic_fn, self.extras)
        signals: ReferenceSignals = references.compute_references(
            self.model,
            self.data,
            self.outputs,
            n_references=self.options.references if self.n_use is None else self.n_use,
            seed=self.options.seed,
            population=self.population,
            n_jobs=self.options.n_jobs,
            progress=self.progress,
            model_fingerprint=self.model_fingerprint,
            statistic_fn=statistic_fn,
            target_values=target_values,
            fit=self.options.fit,
            people=self.data.people,
            nested=self.n_use is not None,
            failures=self.failures,
        )
        return signals


A = TypeVar("A", bound=type[Attack])


def register_attack(cls: A) -> A:
    """Class decorator: make ``cls`` available by ``cls.name``.

    A registered attack runs like a built-in one: ``audit(attacks="myname")``, and
    ``'all'`` (or ``'auto'`` when its ``auto`` is true) includes it.
    """
    registry.add(cls.name, cls)
    return cls


def attack_class(name: str) -> type[Attack]:
    """The attack class registered under ``name``; a clear error when there is none."""
    cls = registry.lookup(name)
    if cls is None or not issubclass(cls, Attack):
        raise MiaValueError(
            f"Unknown attack '{name}'. Choose from {available_attacks()}, 'all' or 'auto'."
        )
    return cls


def create_attack(name: str, **params: Any) -> Attack:
    """Instantiate the registered attack ``name`` with ``params``."""
    return attack_class(name)(**params)
