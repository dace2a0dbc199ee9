"""One-line messages that tell a ``%mia_audit`` user how to fix a typo.

Pure functions of the words typed and the columns present; the magic raises them as
``UsageError``. Close matches come from :mod:`difflib`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from IPython.core.error import UsageError

__all__ = ["closest_first", "column_hint", "resolve_callable", "unknown_args_hint"]

#: How many column names a message lists.
SHOWN = 8


def closest_first(word: str, choices: Sequence[str]) -> list[str]:
    """``choices`` sorted by similarity to ``word`` (case-insensitive), closest first.

    Parameters
    ----------
    word : str
        What the user typed.
    choices : sequence of str
        The valid names.

    Returns
    -------
    list of str
        Every choice, the most similar first; ties keep their original order.
    """

    def ratio(choice: str) -> float:
        return difflib.SequenceMatcher(None, word.lower(), choice.lower()).ratio()

    return sorted(choices, key=ratio, reverse=True)


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
    if not close:
        return ""
    match = next(c for c in choices if c.lower() == close[0])
    return f" Did you mean '{match}'?"


def _columns(frame: Any) -> list[str] | None:
    columns = getattr(frame, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def column_hint(target: str, *, train: tuple[str, Any], test: tuple[str, Any]) -> str | None:
    """Explain a ``--target`` that is missing from one or both frames, else ``None``.

    Parameters
    ----------
    target : str
        The ``--target`` column as typed.
    train, test : tuple of (str, DataFrame)
        Each frame's name as typed after ``--train`` / ``--test``, and the frame.

    Returns
    -------
    str or None
        A one-line message, or ``None`` when both frames have the column (or are not
        frames, which the engine reports itself).
    """
    frames = {"--train": train, "--test": test}
    columns = {opt: _columns(df) for opt, (_, df) in frames.items()}
    if any(cols is None for cols in columns.values()):
        return None
    lacking = [opt for opt, cols in columns.items() if cols is not None and target not in cols]
    if not lacking:
        return None
    if len(lacking) == 1:
        (opt,) = lacking
        other = "--test" if opt == "--train" else "--train"
        example = f", e.g. {frames[opt][0]}.assign({target}=y)" if target.isidentifier() else ""
        return (
            f"The target column '{target}' must be in both frames: {opt} {frames[opt][0]} "
            f"has no column '{target}' ({other} {frames[other][0]} has it). Pass a frame "
            f"that holds the labels too{example}."
        )
    names = list(dict.fromkeys([*(columns["--train"] or []), *(columns["--test"] or [])]))
    ranked = closest_first(target, names)
    shown = ", ".join(f"'{c}'" for c in ranked[:SHOWN])
    more = f" (and {len(ranked) - SHOWN} more)" if len(ranked) > SHOWN else ""
    return (
        f"No column '{target}' in --train {train[0]} or --test {test[0]}."
        f"{_did_you_mean(target, names)} Columns, closest first: {shown}{more}."
    )


def unknown_args_hint(
    unknown: Sequence[str], tokens: Sequence[str], *, options: Sequence[str]
) -> str:
    """Explain words the option parser did not recognise.

    Parameters
    ----------
    unknown : sequence of str
        The words left over by ``parse_known_args``, in order (not empty).
    tokens : sequence of str
        Every word of the line, in order.
    options : sequence of str
        Every option string the magic accepts.

    Returns
    -------
    str
        A one-line message: the option meant, or how to quote a name with spaces.
    """
    first = unknown[0]
    if first.startswith("-") and not _is_number(first):
        name = first.split("=", 1)[0]
        close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
        fix = f"Did you mean '{close[0]}'?" if close else "Run %mia_audit? to list the options."
        return f"Unknown option '{name}'. {fix}"
    strays = [i for i, t in enumerate(tokens) if t == first and i and _is_value(tokens, i - 1)]
    if strays:
        start, end = _option_before(tokens, strays[0]), strays[0] + 1
        while end < len(tokens) and not tokens[end].startswith("-"):
            end += 1
        option, value = tokens[start], tokens[start + 1]
        return (
            f"Unexpected '{first}' after {option} {value}: quote names with spaces, "
            f"e.g. {option} '{' '.join(tokens[start + 1 : end])}'."
        )
    return (
        f"Unexpected '{first}': %mia_audit takes one model name and --options; quote names "
        "with spaces, e.g. --slice 'mean radius'."
    )


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _is_value(tokens: Sequence[str], i: int) -> bool:
    """True when ``tokens[i]`` is a word (not an option) that follows an option."""
    return not tokens[i].startswith("-") and _option_before(tokens, i + 1) >= 0


def _option_before(tokens: Sequence[str], i: int) -> int:
    """Index of the last option before position ``i``, or -1."""
    for j in range(i - 1, -1, -1):
        if tokens[j].startswith("-") and not _is_number(tokens[j]):
            return j
    return -1


def resolve_callable(flag: str, value: Any, spaces: Sequence[Mapping[str, Any]]) -> Any:
    """The callable named ``value`` (``--fit NAME``, ``%config MiaAudit.fit = 'NAME'``),
    looked up in ``spaces`` in order; a non-text value is returned as it is.

    Raises
    ------
    UsageError
        No such name, or it names something that is not callable (the fix in the text).
    """
    if not isinstance(value, str) or not value:
        return value or None
    found = [ns[value] for ns in spaces if value in ns]
    if not found:
        example = value if value.isidentifier() else "train_model"
        raise UsageError(
            f"{flag} {value}: no variable named '{value}' in the notebook. Define the "
            f"function first: def {example}(train_frame): ... return fitted_model "
            "(train_frame has the feature and target columns)."
        )
    if not callable(found[0]):
        raise UsageError(
            f"{flag} {value}: '{value}' is a {type(found[0]).__name__}, not a function. "
            "Name a function fit(train_frame) -> fitted model."
        )
    return found[0]
