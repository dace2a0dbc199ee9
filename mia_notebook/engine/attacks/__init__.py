"""Membership-inference attacks, each a named component in a registry.

>>> from mia_notebook.engine.attacks import available_attacks, create_attack
>>> create_attack("loss")
LossAttack()
"""

from . import threshold  # noqa: F401  (registers the threshold attacks)
from .base import (
    Attack,
    AttackContext,
    attack_class,
    available_attacks,
    create_attack,
    register_attack,
)

__all__ = [
    "Attack",
    "AttackContext",
    "attack_class",
    "available_attacks",
    "create_attack",
    "register_attack",
]
