"""The attack interface and the registry of named attacks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from ..errors import MiaValueError
from ..references import clone_problem
from ..target import TargetOutputs

__all__ = [
    "Attack",
    "AttackContext",
    "AttackUnavailable",
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


@dataclass
class AttackContext:
    """Everything an attack may look at.

    Attributes
    ----------
    outputs : TargetOutputs
        The target model's signals on every record (members first).
    members : ndarray of bool, shape (n_samples,)
        Ground-truth membership. Attacks must not use it to score records; it is here
        for attacks that train on *reference* models' known membership.
    random_state : int
    extras : dict
        Lazily computed shared state (e.g. reference-model signals), keyed by name.
    providers : dict of str to callable
        Functions computing ``extras`` entries on first :meth:`get`.
    model : object or None
        The audited model (reference attacks check that it can be cloned and refitted).
    n_references : int
        Reference models the audit will train (0: reference attacks unavailable).
    options : dict
        Attack settings chosen by the caller (e.g. ``lira_variance``).
    """

    outputs: TargetOutputs
    members: np.ndarray
    random_state: int = 0
    extras: dict[str, Any] = field(default_factory=dict)
    providers: dict[str, Callable[[], Any]] = field(default_factory=dict)
    model: Any = None
    n_references: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    _failures: dict[str, AttackUnavailable] = field(default_factory=dict, repr=False)

    def get(self, key: str) -> Any:
        """Shared state ``key``, computed once by its provider.

        A provider that raises :class:`AttackUnavailable` is not called again: later
        calls re-raise the same error (so a failed expensive stage is not retried by
        every attack that shares it).
        """
        if key in self._failures:
            raise self._failures[key]
        if key not in self.extras:
            if key not in self.providers:
                raise MiaValueError(f"No provider for '{key}' in this audit.")
            try:
                self.extras[key] = self.providers[key]()
            except AttackUnavailable as e:
                self._failures[key] = e
                raise
        return self.extras[key]


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
        problem = clone_problem(ctx.model)
        if problem is not None:
            return f"needs reference models: {problem}"
        if ctx.n_references < self.min_references:
            return (
                f"needs at least {self.min_references} reference models; "
                f"references={ctx.n_references}"
            )
        return None

    @abstractmethod
    def score(self, ctx: AttackContext) -> np.ndarray:
        """Membership scores of shape (n_samples,), higher = more likely a member."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


_REGISTRY: dict[str, type[Attack]] = {}
A = TypeVar("A", bound=type[Attack])


def register_attack(cls: A) -> A:
    """Class decorator: make ``cls`` available by ``cls.name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"An attack named '{cls.name}' is already registered.")
    _REGISTRY[cls.name] = cls
    return cls


def available_attacks() -> list[str]:
    """Names of every registered attack, in registration order."""
    return list(_REGISTRY)


def attack_class(name: str) -> type[Attack]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise MiaValueError(
            f"Unknown attack '{name}'. Choose from {available_attacks()}, 'all' or 'auto'."
        ) from None


def create_attack(name: str, **params: Any) -> Attack:
    """Instantiate the registered attack ``name`` with ``params``."""
    return attack_class(name)(**params)
