"""The attack interface and the registry of named attacks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from ..errors import MiaValueError
from ..target import TargetOutputs

__all__ = [
    "Attack",
    "AttackContext",
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
    """

    outputs: TargetOutputs
    members: np.ndarray
    random_state: int = 0
    extras: dict[str, Any] = field(default_factory=dict)
    providers: dict[str, Callable[[], Any]] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        """Shared state ``key``, computed once by its provider."""
        if key not in self.extras:
            if key not in self.providers:
                raise MiaValueError(f"No provider for '{key}' in this audit.")
            self.extras[key] = self.providers[key]()
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

    def unavailable_reason(self, ctx: AttackContext) -> str | None:
        """Why this attack cannot run on ``ctx`` (None if it can)."""
        kind = ctx.outputs.kind
        if kind not in self.kinds:
            wants = " or ".join(sorted(_KIND_TEXT[k] for k in self.kinds))
            return f"needs {wants}; the model offers {_KIND_TEXT[kind]}"
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
