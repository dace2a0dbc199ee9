"""The registry of named attacks: attack name -> attack class.

It imports nothing from the engine, so the options (which check attack names against
it) and the attacks (which register themselves in it) both sit above it and never
import each other. The typed front door is in :mod:`.attacks.base`
(:func:`~.attacks.base.register_attack`, :func:`~.attacks.base.attack_class`,
:func:`~.attacks.base.create_attack`).
"""

from __future__ import annotations

__all__ = ["add", "available_attacks", "lookup"]

_REGISTRY: dict[str, type] = {}


def add(name: str, cls: type) -> None:
    """Register ``cls`` under ``name``; another class under the same name is an error."""
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"An attack named '{name}' is already registered.")
    _REGISTRY[name] = cls


def lookup(name: str) -> type | None:
    """The class registered under ``name`` (None when there is none)."""
    return _REGISTRY.get(name)


def available_attacks() -> list[str]:
    """Names of every registered attack, in registration order."""
    return list(_REGISTRY)
