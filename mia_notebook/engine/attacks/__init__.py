"""Membership-inference attacks, each a named component in a registry.

>>> from mia_notebook.engine.attacks import available_attacks, create_attack
>>> create_attack("loss")
LossAttack()
"""

# Registration order is table order: threshold attacks, then reference attacks, then
# the white-box family.
from . import threshold  # noqa: F401, I001
from . import lira, rmia, shadow  # noqa: F401
from . import label_robust  # noqa: F401
from . import whitebox  # noqa: F401
from .base import (
    Attack,
    AttackContext,
    AttackUnavailable,
    attack_class,
    available_attacks,
    create_attack,
    register_attack,
)

__all__ = [
    "Attack",
    "AttackContext",
    "AttackUnavailable",
    "attack_class",
    "available_attacks",
    "create_attack",
    "register_attack",
]
