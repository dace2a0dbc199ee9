"""Every audit option, validated once, in one place.

:class:`AuditOptions` is the frozen, typed settings object of one audit: :func:`audit`
builds it with :meth:`AuditOptions.create` (which validates every field) and the rest of
the engine reads its typed fields. :class:`ViewOptions` is the part that only changes
how existing scores are summarised (instant); the rest decides what is computed.

:func:`validate_option` checks ONE option by name with the same rules, so the magic's
``%config MiaAudit.fpr = [2.0]`` fails when it is set, not at the next audit. Each
option has exactly one validator and one allowed range, and every message follows
scikit-learn: "The 'fpr' parameter must be in (0, 1). Got 1.5 instead."
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import MiaTypeError, MiaValueError
from .verdict.policy import Policy

__all__ = [
    "DEFAULT_FPR",
    "DEFAULT_REFERENCES",
    "LIRA_VARIANCES",
    "MAX_REFERENCES",
    "AuditOptions",
    "ViewOptions",
    "check_view_columns",
    "parse_names",
    "validate_confidence",
    "validate_delta",
    "validate_fpr",
    "validate_int",
    "validate_lira_variance",
    "validate_n_jobs",
    "validate_option",
    "validate_policy",
    "validate_references",
    "validate_rmia_a",
]

DEFAULT_FPR: tuple[float, ...] = (0.001, 0.01, 0.1)
#: Default number of reference models. 16 models on halves of a 10k-row population
#: train in about a minute on 2 cores for a 100-tree random forest (seconds for linear
#: models and gradient boosting), and give every record 8 IN and 8 OUT models: enough
#: for online LiRA with a global variance and for RMIA, which is strong with 1-4.
DEFAULT_REFERENCES = 16
MAX_REFERENCES = 1024
LIRA_VARIANCES = ("auto", "per-record", "global")


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


def validate_lira_variance(value: Any) -> str:
    """``lira_variance``: one of :data:`LIRA_VARIANCES`."""
    if value not in LIRA_VARIANCES:
        raise MiaValueError(
            f"The 'lira_variance' parameter must be one of {list(LIRA_VARIANCES)}. "
            f"Got {value!r} instead."
        )
    return str(value)


def validate_rmia_a(a: Any) -> float | str:
    """``rmia_a`` as 'auto' or a float in [0, 1]."""
    if isinstance(a, str) and a == "auto":
        return a
    try:
        value = float(a)
    except (TypeError, ValueError):
        raise MiaValueError(
            f"The 'rmia_a' parameter must be 'auto' or a number in [0, 1]. Got {a!r} instead."
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


def validate_attack_names(value: Any) -> tuple[str, ...]:
    """Attack names: 'auto', 'all' or registered names (checked against the registry)."""
    from .attacks.base import available_attacks  # late: the attacks import this module

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


def validate_policy(value: Any) -> Policy | None:
    """``policy``: None (the default policy), a :class:`Policy` or a dict of its fields.

    A dict is checked key by key (unknown keys and out-of-range values are errors); an
    empty dict means the default policy.
    """
    if value is None or isinstance(value, Policy):
        return value
    if isinstance(value, Mapping) and not value:
        return None
    return Policy.from_mapping(value)


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "attacks": validate_attack_names,
    "fpr": validate_fpr,
    "flag": lambda v: validate_int(v, "flag", low=0),
    "slice": validate_slice,
    "redact": lambda v: parse_names(v, "redact"),
    "seed": lambda v: validate_int(v, "seed", low=0, high=2**32 - 1),
    "confidence": validate_confidence,
    "delta": validate_delta,
    "references": validate_references,
    "n_jobs": validate_n_jobs,
    "lira_variance": validate_lira_variance,
    "rmia_a": validate_rmia_a,
    "policy": validate_policy,
}


def validate_option(name: str, value: Any) -> Any:
    """Validate ONE audit option by name; returns its normalised value.

    The same rules as :meth:`AuditOptions.create`, for callers that set options one at
    a time (``%config MiaAudit.fpr = [0.01]`` through a traitlets validator). Sequences
    come back as tuples (``fpr``, ``redact``, ``attacks``); ``references=None`` comes
    back as :data:`DEFAULT_REFERENCES`.

    Raises
    ------
    MiaValueError, MiaTypeError
        The value is out of range or of the wrong type (the message says which).
    """
    try:
        validator = _VALIDATORS[name]
    except KeyError:
        raise MiaValueError(f"Unknown option '{name}'. Options: {sorted(_VALIDATORS)}.") from None
    return validator(value)


# ------------------------------------------------------------------ option objects
@dataclass(frozen=True)
class ViewOptions:
    """How scores are summarised and shown; changing these never recomputes scores.

    Parameters
    ----------
    fpr : tuple of float, default=(0.001, 0.01, 0.1)
        FPR targets for the TPR columns.
    flag : int, default=10
        Number of most-exposed members to list (0 lists none).
    slice : str or None, default=None
        Extra column to slice metrics by (the target's classes are always sliced).
    redact : tuple of str, default=()
        Columns whose values never appear in any output.
    attacks : tuple of str or None, default=None
        Subset of computed attacks to show (None: all computed).
    confidence : float, default=0.95
        Confidence level of the epsilon lower bound, in [0.5, 1).
    delta : float, default=0.0
        The delta of (epsilon, delta)-DP assumed by the epsilon bound, in [0, 1).
    policy : Policy or None, default=None
        The lines the verdict judges against; None: ``Policy(confidence=confidence,
        delta=delta)`` (see :attr:`policy_or_default`).
    """

    fpr: tuple[float, ...] = DEFAULT_FPR
    flag: int = 10
    slice: str | None = None
    redact: tuple[str, ...] = ()
    attacks: tuple[str, ...] | None = None
    confidence: float = 0.95
    delta: float = 0.0
    policy: Policy | None = None

    @property
    def policy_or_default(self) -> Policy:
        """The verdict's policy: :attr:`policy`, else the default one at this
        ``confidence`` and ``delta``."""
        if self.policy is not None:
            return self.policy
        return Policy(confidence=self.confidence, delta=self.delta)

    def _policy_with_defaults(self) -> Any:
        """A dict policy takes this view's ``confidence`` and ``delta`` unless it sets them."""
        if isinstance(self.policy, Mapping) and self.policy:
            return {"confidence": self.confidence, "delta": self.delta, **self.policy}
        return self.policy

    def validated(self) -> ViewOptions:
        """These options with every field checked and normalised."""
        return replace(
            self,
            fpr=validate_fpr(self.fpr),
            flag=validate_option("flag", self.flag),
            slice=validate_slice(self.slice),
            redact=parse_names(self.redact, "redact"),
            attacks=None if self.attacks is None else parse_names(self.attacks, "attacks"),
            confidence=validate_confidence(self.confidence),
            delta=validate_delta(self.delta),
            policy=validate_policy(self._policy_with_defaults()),
        )


def check_view_columns(
    view: ViewOptions, train_columns: Iterable[Any], test_columns: Iterable[Any]
) -> None:
    """Check the view options that name columns against the audited frames.

    ``slice`` must be a column of both frames (metrics are computed over all records);
    ``redact`` columns must exist in ``train`` (the frame whose rows are listed).
    """
    train = {str(c) for c in train_columns}
    test = {str(c) for c in test_columns}
    unknown = [c for c in view.redact if c not in train]
    if unknown:
        raise MiaValueError(
            f"Cannot redact {unknown}: no such column in train. Columns: {sorted(train)[:12]}."
        )
    if view.slice is None or view.slice in train & test:
        return
    where = "test" if view.slice in train else "train" if view.slice in test else "train or test"
    raise MiaValueError(
        f"Cannot slice by '{view.slice}': it is not a column of {where}. The slice column "
        f"must be in both frames; columns of both: {sorted(train & test)[:12]}."
    )


@dataclass(frozen=True)
class AuditOptions:
    """Every setting of one audit, validated (build it with :meth:`create`).

    Attributes
    ----------
    attacks : tuple of str
        Attack names, 'auto' or 'all' (empty when only attack instances were given:
        those are passed to the attacks stage as they are).
    features : tuple of str or None
        Model input columns (None: the model's own, else every column but the target).
    seed : int
        Seed of every random choice of the audit, in [0, 2**32 - 1].
    references : int
        Reference models for the reference attacks, in [1, MAX_REFERENCES].
    n_jobs : int or None
        joblib ``n_jobs`` of the reference fits (None: the active joblib config).
    lira_variance : {'auto', 'per-record', 'global'}
    rmia_a : float in [0, 1] or 'auto'
    view : ViewOptions
    """

    attacks: tuple[str, ...] = ("auto",)
    features: tuple[str, ...] | None = None
    seed: int = 0
    references: int = DEFAULT_REFERENCES
    n_jobs: int | None = None
    lira_variance: str = "auto"
    rmia_a: float | str = "auto"
    view: ViewOptions = field(default_factory=ViewOptions)

    @classmethod
    def create(cls, **options: Any) -> AuditOptions:
        """Validate user-facing values (``audit()``'s keywords) into an AuditOptions.

        Keywords are the fields above plus the :class:`ViewOptions` fields (``fpr``,
        ``flag``, ``slice``, ``redact``, ``confidence``, ``delta``, ``policy``). ``attacks`` may
        be empty when the caller runs attack instances only.
        """
        view_keys = set(ViewOptions.__dataclass_fields__) - {"attacks"}
        view = ViewOptions(**{k: options.pop(k) for k in view_keys if k in options})
        unknown = set(options) - set(cls.__dataclass_fields__)
        if unknown:
            raise MiaValueError(f"Unknown option(s) {sorted(unknown)}.")
        features = options.get("features")
        attacks = options.get("attacks", "auto")
        return cls(
            attacks=() if attacks == () else validate_attack_names(attacks),
            features=None if features is None else parse_names(features, "features"),
            seed=validate_option("seed", options.get("seed", 0)),
            references=validate_references(options.get("references")),
            n_jobs=validate_n_jobs(options.get("n_jobs")),
            lira_variance=validate_lira_variance(options.get("lira_variance", "auto")),
            rmia_a=validate_rmia_a(options.get("rmia_a", "auto")),
            view=view.validated(),
        )
