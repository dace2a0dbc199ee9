"""Every audit option, defined once: :class:`AuditOptions`.

Each field of :class:`AuditOptions` carries its whole definition in its metadata
(:class:`OptionSpec`): the validator, the help text, the kind of value (which the
magic turns into a ``%config`` trait and a ``--flag``) and whether it is a *view*
option (changing it re-summarises the scores; :meth:`AuditReport.with_options`) or a
*compute* option (it changes what is computed: a new audit). Everything that lists
options derives from these fields: ``audit(**overrides)``, ``compare``, the magic's
flags and traits, the panel's Run, the saved report, the README's table (checked by a
test). Adding an option is adding one field here (see ARCHITECTURE.md).

Not options (call arguments, because they are objects rather than settings): the
frames ``train``, ``test`` and ``population``, the ``target`` column, the ``model``,
attack *instances* (``create_attack(...)``; their names are recorded) and
``progress``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import MiaValueError
from .option_spec import KIND_TEXT, OptionSpec, plain_value, spec_of
from .validators import (
    DEFAULT_FPR,
    DEFAULT_REFERENCES,
    LIRA_VARIANCES,
    REFERENCE_ROUNDS,
    validate_attack_names,
    validate_confidence,
    validate_delta,
    validate_features,
    validate_fit,
    validate_flag,
    validate_fpr,
    validate_lira_variance,
    validate_n_jobs,
    validate_outputs,
    validate_person,
    validate_policy,
    validate_redact,
    validate_reference_rounds,
    validate_references,
    validate_rmia_a,
    validate_seed,
    validate_setting,
    validate_show,
    validate_slice,
)
from .verdict.policy import Policy
from .verdict.settings import BLACK_BOX, SETTING_CHOICES, WHITE_BOX, SettingPolicies
from .whatif import OutputsForm

__all__ = [
    "AuditOptions",
    "OptionSpec",
    "check_names",
    "option_fields",
    "option_names",
    "options_doc",
    "plain_value",
    "validate_option",
    "view_option_names",
]


@dataclass(frozen=True)
class AuditOptions:
    """Every setting of one audit, validated and normalised when built.

    Build it with keywords in any accepted form (``AuditOptions(fpr="0.01,0.1")``);
    derive others with :meth:`replace`. ``report.options`` is the one an audit ran
    with, and ``audit(model, ..., options=report.options)`` repeats it. Each field's
    help, kind and validator are in its metadata (:func:`option_fields`).

    Attributes
    ----------
    {options}
    """

    attacks: tuple[str, ...] = field(
        default=("auto",),
        metadata=spec_of(
            help="Attacks to run: 'auto' (every attack the model allows), 'all', or names "
            "(mia_notebook.available_attacks()).",
            validate=validate_attack_names,
            kind="names",
        ),
    )
    features: tuple[str, ...] | None = field(
        default=None,
        metadata=spec_of(
            help="Columns passed to the model (default: the model's feature_names_in_, "
            "else every column but the target).",
            validate=validate_features,
            kind="names",
            nullable=True,
        ),
    )
    fpr: tuple[float, ...] = field(
        default=DEFAULT_FPR,
        metadata=spec_of(
            help="FPR targets of the TPR columns, each in (0, 1).",
            validate=validate_fpr,
            kind="floats",
            view=True,
        ),
    )
    flag: int = field(
        default=10,
        metadata=spec_of(
            help="Most-exposed members to list (0: none).",
            validate=validate_flag,
            kind="int",
            view=True,
        ),
    )
    slice: str | None = field(
        default=None,
        metadata=spec_of(
            help="Column to break metrics down by (the target's classes always are).",
            validate=validate_slice,
            kind="text",
            view=True,
            nullable=True,
        ),
    )
    redact: tuple[str, ...] = field(
        default=(),
        metadata=spec_of(
            help="Columns whose values never appear in any output (masked as ■■■).",
            validate=validate_redact,
            kind="names",
            view=True,
            merge=True,
        ),
    )
    show: tuple[str, ...] | None = field(
        default=None,
        metadata=spec_of(
            help="Computed attacks to show (default: all); hiding attacks never changes "
            "the verdict, which judges every computed attack.",
            validate=validate_show,
            kind="names",
            view=True,
            nullable=True,
        ),
    )
    seed: int = field(
        default=0,
        metadata=spec_of(
            help="Seed of every random choice of the audit.",
            validate=validate_seed,
            kind="int",
        ),
    )
    confidence: float = field(
        default=0.95,
        metadata=spec_of(
            help="Confidence of the intervals and of the epsilon lower bound, in [0.5, 1).",
            validate=validate_confidence,
            kind="float",
            view=True,
        ),
    )
    delta: float = field(
        default=0.0,
        metadata=spec_of(
            help="The delta of (epsilon, delta)-DP assumed by the epsilon bound, in [0, 1).",
            validate=validate_delta,
            kind="float",
            view=True,
        ),
    )
    policy: Policy | SettingPolicies | None = field(
        default=None,
        metadata=spec_of(
            help="The verdict's policy: keys of mia_notebook.Policy, e.g. tpr_high=0.1 "
            "(default: the policy of docs/verdict.md at this confidence and delta); per "
            "threat model: {'black-box': ..., 'white-box': ...} or white-box.tpr_high=0.1.",
            validate=validate_policy,
            kind="mapping",
            view=True,
            nullable=True,
        ),
    )
    setting: str = field(
        default="worst",
        metadata=spec_of(
            help="The threat model the verdict, compare() rows and --fail-on use: "
            "black-box (behind an API), white-box (the model file shared) or worst.",
            validate=validate_setting,
            kind="text",
            choices=SETTING_CHOICES,
            view=True,
        ),
    )
    references: int = field(
        default=DEFAULT_REFERENCES,
        metadata=spec_of(
            help="Reference models for the LiRA, RMIA and shadow attacks (at most, "
            "when reference_rounds is adaptive).",
            validate=validate_references,
            kind="int",
        ),
    )
    reference_rounds: str = field(
        default="adaptive",
        metadata=spec_of(
            help="How reference models are trained: adaptive (2, 4, 8, ... up to references, "
            "stopping once two rounds give the same level and no TPR could reach the next "
            "level's line, or every TPR interval agrees) or fixed (all at once).",
            validate=validate_reference_rounds,
            kind="text",
            choices=REFERENCE_ROUNDS,
        ),
    )
    n_jobs: int | None = field(
        default=None,
        metadata=spec_of(
            help="Parallel reference fits (joblib; -1: every core; default: the active "
            "joblib config). Never changes the numbers.",
            validate=validate_n_jobs,
            kind="int",
            nullable=True,
        ),
    )
    lira_variance: str = field(
        default="auto",
        metadata=spec_of(
            help="LiRA's variance: auto (per-record from 64 reference models), per-record, "
            "global or bayes (pooled-variance prior, Student-t).",
            validate=validate_lira_variance,
            kind="text",
            choices=LIRA_VARIANCES,
        ),
    )
    rmia_a: float | str = field(
        default="auto",
        metadata=spec_of(
            help="Offline RMIA's correction a in [0, 1], auto (calibrated on the "
            "reference models) or fit (fitted on them).",
            validate=validate_rmia_a,
            kind="number_or_text",
        ),
    )
    fit: Callable[[Any], Any] | None = field(
        default=None,
        metadata=spec_of(
            help="Trains every reference model instead of clone + fit: a callable "
            "fit(train_frame) -> fitted model; train_frame has the feature and target "
            "columns (the magic: a function's name).",
            validate=validate_fit,
            kind="callable",
            nullable=True,
        ),
    )
    outputs: OutputsForm = field(
        default=OutputsForm(),
        metadata=spec_of(
            help="What-if for the API: proba, label, topk:K or round:D (attacks see only "
            "what it returns).",
            validate=validate_outputs,
            kind="text",
        ),
    )

    person: str | None = field(
        default=None,
        metadata=spec_of(
            help="Column naming whose data a row is (a patient, a customer, a device): "
            "membership, reference splits and every number count people, not rows "
            "(docs/people.md).",
            validate=validate_person,
            kind="text",
            nullable=True,
        ),
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "policy":
                # a dict policy takes these options' confidence and delta unless it sets them
                base = {"confidence": self.confidence, "delta": self.delta}
                value = validate_policy(value, base)
            object.__setattr__(self, f.name, _spec(f).validate(value))

    def replace(self, **changes: Any) -> AuditOptions:
        """These options with ``changes`` (any accepted form), validated.

        Raises
        ------
        MiaValueError
            A name that is not an option (with the closest one).
        """
        check_names(changes)
        return dataclasses.replace(self, **changes)

    @property
    def policy_or_default(self) -> Policy:
        """The verdict's policy: :attr:`policy`, else the default one at this
        ``confidence`` and ``delta`` (with a policy per threat model: that of
        :attr:`setting`, the white-box one for 'worst')."""
        return self.policy_for(BLACK_BOX if self.setting == BLACK_BOX else WHITE_BOX)

    @property
    def verdict_key(self) -> tuple[Any, ...]:
        """What the verdict depends on among the options (a memo key)."""
        return (self.policy_for(BLACK_BOX), self.policy_for(WHITE_BOX), self.setting, self.flag)

    def policy_for(self, setting: str) -> Policy:
        """The policy of threat model ``setting`` ('black-box' or 'white-box')."""
        pol = self.policy.get(setting) if isinstance(self.policy, SettingPolicies) else self.policy
        return pol if pol is not None else _default_policy(self.confidence, self.delta)

    def changed(self, other: AuditOptions) -> dict[str, Any]:
        """The fields whose value differs from ``other``'s, with this object's value."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        }

    def to_dict(self) -> dict[str, Any]:
        """Every option as plain JSON values (``AuditOptions(**d)`` rebuilds it)."""
        return {f.name: plain_value(getattr(self, f.name)) for f in fields(self)}


def _spec(f: dataclasses.Field[Any]) -> OptionSpec:
    spec: OptionSpec = f.metadata["option"]
    return spec


def option_fields() -> list[tuple[str, OptionSpec, Any]]:
    """``(name, spec, default)`` of every option, in definition order."""
    return [(f.name, _spec(f), f.default) for f in fields(AuditOptions)]


def option_names() -> list[str]:
    """Every option's name, in definition order."""
    return [f.name for f in fields(AuditOptions)]


def view_option_names() -> list[str]:
    """The options that only change how scores are summarised."""
    return [name for name, spec, _ in option_fields() if spec.view]


def check_names(values: Mapping[str, Any]) -> None:
    """Raise a clear error for keys of ``values`` that are not option names."""
    unknown = [k for k in values if k not in option_names()]
    if unknown:
        close = difflib.get_close_matches(unknown[0], option_names(), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise MiaValueError(f"Unknown option '{unknown[0]}'.{hint} Options: {option_names()}.")


def options_doc(indent: str = "    ") -> str:
    """The numpydoc entries of every option, each line indented by ``indent`` but the
    first (which replaces an indented placeholder in a docstring)."""
    lines = []
    for name, spec, default in option_fields():
        kind = KIND_TEXT[spec.kind] + (" or None" if spec.nullable else "")
        lines.append(f"{indent}{name} : {kind}, default={plain_value(default)!r}")
        lines += textwrap.wrap(spec.help, 88, initial_indent=indent + "    ",
                               subsequent_indent=indent + "    ")  # fmt: skip
    return "\n".join(lines)[len(indent) :]


if AuditOptions.__doc__:  # the attributes, listed from the fields themselves
    AuditOptions.__doc__ = AuditOptions.__doc__.replace("{options}", options_doc())


def validate_option(name: str, value: Any) -> Any:
    """Validate ONE option by name; returns its normalised value.

    The same rules as :class:`AuditOptions`, for callers that set options one at a time
    (``%config MiaAudit.fpr = [0.01]`` through a traitlets validator).

    Raises
    ------
    MiaValueError, MiaTypeError
        An unknown name, or a value out of range or of the wrong type.
    """
    check_names({name: value})
    return _spec(AuditOptions.__dataclass_fields__[name]).validate(value)


@functools.lru_cache(maxsize=64)
def _default_policy(confidence: float, delta: float) -> Policy:
    """The default policy at ``confidence`` and ``delta`` (immutable, so one object is
    shared: the verdict's memo key asks for it on every view change)."""
    return Policy(confidence=confidence, delta=delta)
