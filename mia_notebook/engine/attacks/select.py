"""Which attacks an audit runs, and running them.

``attacks=`` takes names ('auto', 'all', registered names, including attacks a user
added with :func:`~.base.register_attack`) and attack instances (e.g. from
:func:`~.base.create_attack`, with their own settings).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import MiaTypeError, MiaValueError
from ..validators import parse_names
from .base import (
    Attack,
    AttackContext,
    AttackResult,
    AttackUnavailable,
    attack_class,
    available_attacks,
)

__all__ = ["resolve_attacks", "run_attacks", "split_attacks"]


def split_attacks(requested: Any) -> tuple[tuple[str, ...], list[Attack]]:
    """Names (validated by :class:`AuditOptions`) and attack instances of ``attacks``;
    an error when there are neither."""
    if isinstance(requested, Attack):
        requested = [requested]
    if isinstance(requested, str) or requested is None:
        requested = list(parse_names(requested, "attacks"))
    if not isinstance(requested, Iterable):
        raise MiaTypeError(
            "The 'attacks' parameter must be 'auto', 'all', attack names or Attack "
            f"instances. Got {type(requested).__name__} instead."
        )
    items = list(requested)
    instances = [a for a in items if isinstance(a, Attack)]
    names = parse_names([a for a in items if not isinstance(a, Attack)], "attacks")
    if not names and not instances:
        raise MiaValueError("The 'attacks' parameter is empty. Use 'auto', 'all' or names.")
    twice = sorted({a.name for a in instances if sum(b.name == a.name for b in instances) > 1})
    if twice:
        raise MiaValueError(
            f"The 'attacks' parameter holds several '{twice[0]}' attacks; their scores would "
            "share one column. Audit each setting separately."
        )
    return names, instances


def resolve_attacks(
    requested: str | Iterable[str | Attack], ctx: AttackContext
) -> tuple[list[Attack], dict[str, str]]:
    """Instantiate the requested attacks; returns (runnable, skipped-with-reason).

    ``'auto'`` takes every attack marked ``auto`` that fits the model, ``'all'`` every
    registered attack that fits; inapplicable ones are listed as skipped. Attack
    instances (e.g. from :func:`create_attack`) run as given. Naming an attack that
    cannot run on this model is an error.
    """
    names, instances = split_attacks(requested)
    explicit = not set(names) & {"auto", "all"}
    if "all" in names:
        pool = available_attacks()
    elif "auto" in names:
        pool = [n for n in available_attacks() if attack_class(n).in_auto(ctx)]
    else:
        pool = list(dict.fromkeys(names))
    given = {a.name: a for a in instances}
    candidates = [given.pop(n) if n in given else attack_class(n)() for n in pool]
    candidates += given.values()
    runnable, skipped = [], {}
    for attack in candidates:
        reason = attack.unavailable_reason(ctx)
        if reason is None:
            runnable.append(attack)
        elif explicit or attack in instances:
            raise MiaValueError(f"The '{attack.name}' attack cannot run on this model: {reason}.")
        else:
            skipped[attack.name] = reason
    if not runnable:
        raise MiaValueError(f"No attack can run on this model ({_reasons(skipped)}).")
    return runnable, skipped


def _reasons(skipped: dict[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in skipped.items())


def run_attacks(
    runnable: list[Attack], ctx: AttackContext, skipped: dict[str, str]
) -> dict[str, AttackResult]:
    """Results of every runnable attack; those that turn out unavailable go to ``skipped``."""
    results = {}
    for attack in runnable:
        try:
            results[attack.name] = attack.run(ctx)
        except AttackUnavailable as e:
            skipped[attack.name] = str(e)
    if not results:
        raise MiaValueError(f"No attack could be computed ({_reasons(skipped)}).")
    return results
