"""One validator per audit option: the rules that :class:`~.options.AuditOptions`
applies to its fields, and that attacks apply to their own settings.

Each validator takes what a user may write (a number, a list, ``"0.001,0.01"``, a
string from the magic's line) and returns the normalised value, or raises with a
scikit-learn style message: "The 'fpr' parameter must be in (0, 1). Got 1.5 instead."
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .errors import MiaTypeError, MiaValueError
from .registry import available_attacks
from .verdict.policy import Policy
from .verdict.settings import SETTING_CHOICES, SettingPolicies, is_setting_mapping, nest_prefixed
from .whatif import OutputsForm, parse_outputs

__all__ = [
    "DEFAULT_FPR",
    "DEFAULT_REFERENCES",
    "LIRA_VARIANCES",
    "MAX_REFERENCES",
    "REFERENCE_ROUNDS",
    "callable_name",
    "parse_names",
    "parse_policy_text",
    "validate_attack_names",
    "validate_confidence",
    "validate_delta",
    "validate_features",
    "validate_fit",
    "validate_flag",
    "validate_fpr",
    "validate_int",
    "validate_lira_variance",
    "validate_n_jobs",
    "validate_outputs",
    "validate_policy",
    "validate_redact",
    "validate_reference_rounds",
    "validate_references",
    "validate_rmia_a",
    "validate_seed",
    "validate_setting",
    "validate_show",
    "validate_slice",
]

DEFAULT_FPR: tuple[float, ...] = (0.001, 0.01, 0.1)
#: Default number of reference models. 16 models on halves of a 10k-row population
#: train in about a minute on 2 cores for a 100-tree random forest (seconds for linear
#: models and gradient boosting), and give every record 8 IN and 8 OUT models: enough
#: for online LiRA with a global variance and for RMIA, which is strong with 1-4.
DEFAULT_REFERENCES = 16
MAX_REFERENCES = 1024
LIRA_VARIANCES = ("auto", "per-record", "global", "bayes")
#: ``reference_rounds``: 'adaptive' trains 2, 4, 8, ... up to ``references`` reference
#: models and stops once the verdict is decided (engine/adaptive.py); 'fixed' trains
#: ``references`` at once.
REFERENCE_ROUNDS = ("adaptive", "fixed")


# ------------------------------------------------------------------ single validators
def parse_names(value: str | Iterable[str] | None, param: str) -> tuple[str, ...]:
    """A tuple of names from ``"a,b"``, an iterable of str, or None."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    try:
        names = tuple(value)
    except TypeError:
        raise MiaTypeError(
            f"The '{param}' parameter must be a list of column names or a comma-separated "
            f"string. Got {type(value).__name__} instead."
        ) from None
    if not all(isinstance(n, str) for n in names):
        raise MiaTypeError(f"The '{param}' parameter must hold strings. Got {names!r} instead.")
    return names


def _floats(value: Any, param: str) -> list[float]:
    if isinstance(value, str):
        parts: Iterable[Any] = [v for v in value.split(",") if v.strip()]
    elif isinstance(value, numbers.Real):
        parts = [value]
    elif isinstance(value, Iterable):
        parts = list(value)
    else:
        parts = [value]
    try:
        return [float(v) for v in parts]
    except (TypeError, ValueError):
        raise MiaValueError(
            f"The '{param}' parameter must be numbers in (0, 1), e.g. 0.001,0.01. "
            f"Got {value!r} instead."
        ) from None


def validate_fpr(fpr: Any) -> tuple[float, ...]:
    """FPR targets (a float, a sequence or ``"0.001,0.01"``) as a sorted tuple in (0, 1)."""
    values = _floats(fpr, "fpr")
    if not values:
        raise MiaValueError("The 'fpr' parameter is empty. Give at least one target, e.g. 0.01.")
    for v in values:
        if math.isnan(v) or not 0.0 < v < 1.0:
            raise MiaValueError(f"The 'fpr' parameter must be in (0, 1). Got {v} instead.")
    return tuple(sorted(set(values)))


def validate_int(value: Any, param: str, *, low: int, high: int | None = None) -> int:
    """An int in [low, high] (an ASCII-digit str is accepted), else a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        text = value.strip() if isinstance(value, str) else ""
        digits = text[1:] if text[:1] in "+-" else text
        if not (text and digits.isascii() and digits.isdigit()):
            raise MiaTypeError(f"The '{param}' parameter must be an int. Got {value!r} instead.")
        value = int(text)
    v = int(value)
    if v < low or (high is not None and v > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise MiaValueError(f"The '{param}' parameter must be {rng}. Got {v} instead.")
    return v


def _real(value: Any, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        raise MiaTypeError(f"The '{param}' parameter must be a number. Got {value!r} instead.")
    try:
        return float(value)
    except ValueError:
        raise MiaTypeError(
            f"The '{param}' parameter must be a number. Got {value!r} instead."
        ) from None


def validate_confidence(value: Any) -> float:
    """Confidence of the epsilon lower bound: a float in [0.5, 1)."""
    v = _real(value, "confidence")
    if not 0.5 <= v < 1.0:
        raise MiaValueError(f"The 'confidence' parameter must be in [0.5, 1). Got {v} instead.")
    return v


def validate_delta(value: Any) -> float:
    """The delta of (epsilon, delta)-DP: a float in [0, 1)."""
    v = _real(value, "delta")
    if not 0.0 <= v < 1.0:
        raise MiaValueError(f"The 'delta' parameter must be in [0, 1). Got {v} instead.")
    return v


def validate_references(value: Any) -> int:
    """``references`` as an int in [1, MAX_REFERENCES] (None: DEFAULT_REFERENCES)."""
    if value is None:
        return DEFAULT_REFERENCES
    return validate_int(value, "references", low=1, high=MAX_REFERENCES)


def validate_n_jobs(n_jobs: Any) -> int | None:
    """``n_jobs`` as None or a non-zero int (joblib's convention: -1 = every core)."""
    if n_jobs is None:
        return None
    value = validate_int(n_jobs, "n_jobs", low=-(2**15), high=2**15)
    if value == 0:
        raise MiaValueError(
            "The 'n_jobs' parameter must be a non-zero int (-1: every core) or None. Got 0 instead."
        )
    return value


def _one_of(value: Any, name: str, choices: Sequence[str]) -> str:
    """``value`` as a str when it is one of ``choices``; else a clear error naming them."""
    if value not in choices:
        raise MiaValueError(
            f"The '{name}' parameter must be one of {list(choices)}. Got {value!r} instead."
        )
    return str(value)


def validate_lira_variance(value: Any) -> str:
    """``lira_variance``: one of :data:`LIRA_VARIANCES`."""
    return _one_of(value, "lira_variance", LIRA_VARIANCES)


def validate_reference_rounds(value: Any) -> str:
    """``reference_rounds``: one of :data:`REFERENCE_ROUNDS`."""
    return _one_of(value, "reference_rounds", REFERENCE_ROUNDS)


def validate_rmia_a(a: Any) -> float | str:
    """``rmia_a`` as 'auto', 'fit' or a float in [0, 1]."""
    if isinstance(a, str) and a in ("auto", "fit"):
        return a
    try:
        value = float(a)
    except (TypeError, ValueError):
        raise MiaValueError(
            f"The 'rmia_a' parameter must be 'auto', 'fit' or a number in [0, 1]. "
            f"Got {a!r} instead."
        ) from None
    if not 0.0 <= value <= 1.0:
        raise MiaValueError(f"The 'rmia_a' parameter must be in [0, 1]. Got {value} instead.")
    return value


def validate_slice(value: Any) -> str | None:
    """A column name, or None ('' also means none)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MiaTypeError(f"The 'slice' parameter must be a column name. Got {value!r} instead.")
    return value


def validate_person(value: Any) -> str | None:
    """The column naming whose data a row is (a patient, a customer, a device), or None
    ('' also means none)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MiaTypeError(f"The 'person' parameter must be a column name. Got {value!r} instead.")
    return value


def validate_attack_names(value: Any) -> tuple[str, ...]:
    """Attack names: 'auto', 'all' or registered names (checked against the registry)."""
    names = parse_names(value, "attacks")
    if not names:
        raise MiaValueError("The 'attacks' parameter is empty. Use 'auto', 'all' or names.")
    known = {*available_attacks(), "auto", "all"}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise MiaValueError(
            f"Unknown attack '{unknown[0]}'. Choose from {available_attacks()}, 'all' or 'auto'."
        )
    return names


def parse_policy_text(text: str) -> dict[str, Any]:
    """A policy written on one line: a JSON object, or ``key=value`` pairs."""
    text = text.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as e:
            raise MiaValueError(
                f"The 'policy' parameter is not a valid JSON object ({e.msg}). "
                f"Got {text!r} instead."
            ) from None
        if not isinstance(parsed, dict):
            raise MiaTypeError(f"The 'policy' parameter must be a JSON object. Got {text!r}.")
        return parsed
    out: dict[str, Any] = {}
    for pair in (p.strip() for p in text.split(",") if p.strip()):
        key, sep, value = pair.partition("=")
        if not sep:
            raise MiaValueError(
                "The 'policy' parameter must be key=value pairs, e.g. tpr_high=0.1,"
                f"epsilon_high=2, or a JSON object. Got {text!r} instead."
            )
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise MiaTypeError(
                f"The 'policy' parameter's '{key.strip()}' must be a number. "
                f"Got {value.strip()!r} instead."
            ) from None
    return out


def validate_policy(
    value: Any, base: Mapping[str, Any] | None = None
) -> Policy | SettingPolicies | None:
    """``policy``: None (the default policy), a :class:`Policy`, a dict of its fields,
    or the same written on one line (``'tpr_high=0.1,epsilon_high=2'`` or a JSON
    object, as the magic's ``--policy`` takes it). Per threat model: a
    :class:`SettingPolicies`, a dict ``{"black-box": policy, "white-box": policy}``,
    or setting-prefixed keys (``'white-box.tpr_high=0.1'``).

    A dict is checked key by key (unknown keys and out-of-range values are errors); an
    empty dict (or string) means the default policy. ``base`` (the options' confidence
    and delta) fills the keys a dict policy does not set.
    """
    if value is None or isinstance(value, (Policy, SettingPolicies)):
        return value
    if isinstance(value, str):
        value = parse_policy_text(value)
    if isinstance(value, Mapping) and not value:
        return None
    if is_setting_mapping(value):
        return SettingPolicies.from_mapping(nest_prefixed(value), base)
    return Policy.from_mapping({**(base or {}), **value})


def validate_setting(value: Any) -> str:
    """``setting``: one of :data:`~.verdict.settings.SETTING_CHOICES`."""
    return _one_of(value, "setting", SETTING_CHOICES)


def validate_flag(value: Any) -> int:
    """``flag``: how many records to list, an int >= 0."""
    return validate_int(value, "flag", low=0)


def validate_seed(value: Any) -> int:
    """``seed``: an int in [0, 2**32 - 1]."""
    return validate_int(value, "seed", low=0, high=2**32 - 1)


def validate_redact(value: Any) -> tuple[str, ...]:
    """``redact``: column names (a list or ``"a,b"``); None means none."""
    return parse_names(value, "redact")


def validate_features(value: Any) -> tuple[str, ...] | None:
    """``features``: column names, or None (the model's own)."""
    if value is None:
        return None
    names = parse_names(value, "features")
    return names or None


def validate_show(value: Any) -> tuple[str, ...] | None:
    """``show``: the computed attacks to show (names), or None (empty too) for all."""
    if value is None:
        return None
    names = parse_names(value, "show")
    return names or None


def validate_outputs(value: Any) -> OutputsForm:
    """``outputs``: 'proba' (None too), 'label', 'topk:K' or 'round:D' (see :mod:`.whatif`)."""
    return parse_outputs(value)


def callable_name(fn: Any) -> str:
    """``module.qualname`` of a function (a partial's function, a callable's class)."""
    inner = getattr(fn, "func", None)  # functools.partial
    if inner is not None and callable(inner):
        return f"partial({callable_name(inner)})"
    if not hasattr(fn, "__qualname__"):
        fn = type(fn)
    return f"{getattr(fn, '__module__', None) or '?'}.{fn.__qualname__}"


def validate_fit(value: Any) -> Callable[..., Any] | None:
    """``fit``: None (reference models are ``clone(model)`` refitted) or a callable
    ``fit(train_frame) -> fitted model``."""
    if value is None or callable(value):
        return value
    got = f"the str {value!r}" if isinstance(value, str) else type(value).__name__
    raise MiaTypeError(
        "The 'fit' parameter must be a callable fit(train_frame) -> fitted model, or None. "
        f"Got {got} instead (audit() takes the function itself; the magic's --fit NAME and "
        "%config MiaAudit.fit name a function of the notebook)."
    )
