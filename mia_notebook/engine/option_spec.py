"""How an option is defined: :class:`OptionSpec`, the metadata of each field of
:class:`~.options.AuditOptions`, and the kinds of values options hold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .validators import callable_name
from .verdict.policy import Policy
from .verdict.settings import SettingPolicies
from .whatif import OutputsForm

__all__ = ["KIND_TEXT", "Kind", "OptionSpec", "plain_value", "spec_of"]

#: The kinds of option values. The magic maps each to a traitlets trait and parses its
#: ``--flag`` text with the option's validator (which accepts text for every kind).
Kind = Literal["names", "floats", "int", "float", "text", "number_or_text", "mapping", "callable"]


@dataclass(frozen=True)
class OptionSpec:
    """The definition of one option, kept in its field's metadata.

    Attributes
    ----------
    help : str
        One line: what the option does (the magic's ``--help``, ``%config``, README).
    validate : callable
        Takes any accepted form (including the text of a ``--flag``) and returns the
        normalised value, or raises :class:`~.errors.MiaError`.
    kind : str
        What kind of value it holds (see :data:`Kind`).
    view : bool
        True when changing it only re-summarises existing scores.
    nullable : bool
        Whether None is a value (e.g. ``slice``: no slice).
    choices : tuple of str
        The allowed values of a ``text`` option with a fixed set (empty: any).
    merge : bool
        The magic's flag adds to the ``%config`` value instead of replacing it
        (``redact``: a configured redaction cannot be lifted from one line).
    """

    help: str
    validate: Callable[[Any], Any]
    kind: Kind
    view: bool = False
    nullable: bool = False
    choices: tuple[str, ...] = ()
    merge: bool = False


def spec_of(**spec: Any) -> dict[str, OptionSpec]:
    """A field's metadata: its :class:`OptionSpec`."""
    return {"option": OptionSpec(**spec)}


#: How docstrings name each kind of value.
KIND_TEXT = {
    "names": "list of str or comma-separated str",
    "floats": "float or sequence of float",
    "int": "int",
    "float": "float",
    "text": "str",
    "number_or_text": "float or str",
    "mapping": "Policy or dict",
    "callable": "callable",
}


def plain_value(value: Any) -> Any:
    """An option value as plain JSON: tuples as lists, a Policy as its dict, an
    outputs form as its text, a callable (``fit``) as its name (never the object)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (Policy, SettingPolicies)):
        return value.to_dict()
    if isinstance(value, OutputsForm):
        return str(value)
    if callable(value):
        return callable_name(value)
    return value
