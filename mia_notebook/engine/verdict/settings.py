"""The verdict in each threat model: behind an API (black-box) and shared as a file
(white-box).

An attacker who can only query the model runs the black-box attacks; one who holds the
model file can run every attack (the file answers queries too). So the black-box setting
is judged on the black-box attacks only and the white-box setting on all of them, each
under its own policy (:class:`SettingPolicies`). The report's verdict is the setting
the user names (``setting=``), by default the worse of the two, and keeps both in
:attr:`~.Verdict.settings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import MiaTypeError, MiaValueError
from .policy import Policy, level_index

__all__ = [
    "BLACK_BOX",
    "SETTINGS",
    "SETTING_CHOICES",
    "WHITE_BOX",
    "SettingPolicies",
    "split_attacks",
]

BLACK_BOX, WHITE_BOX = "black-box", "white-box"
#: The two threat models, the weaker attacker first.
SETTINGS: tuple[str, ...] = (BLACK_BOX, WHITE_BOX)
#: What ``setting=`` accepts: a threat model, or the worse of the two.
SETTING_CHOICES: tuple[str, ...] = ("worst", BLACK_BOX, WHITE_BOX)


@dataclass(frozen=True)
class SettingPolicies:
    """One policy per threat model (None: the default policy in that setting).

    Build it from ``{"black-box": {...}, "white-box": {...}}`` with :meth:`from_mapping`.
    """

    black_box: Policy | None = None
    white_box: Policy | None = None

    def get(self, setting: str) -> Policy | None:
        """The policy of ``setting`` ('black-box' or 'white-box'), None for the default."""
        return self.black_box if setting == BLACK_BOX else self.white_box

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Any], base: Mapping[str, Any] | None = None
    ) -> SettingPolicies:
        """From ``{"black-box": policy, "white-box": policy}`` (either may be missing or
        None); each policy is a :class:`Policy` or a dict of its keys, to which ``base``
        (e.g. the options' confidence and delta) adds the keys it does not set."""
        unknown = sorted(str(k) for k in mapping if k not in SETTINGS)
        if unknown:
            raise MiaValueError(
                f"Unknown setting(s) {unknown} in the policy. Settings: {list(SETTINGS)}."
            )
        made = {}
        for setting in SETTINGS:
            value = mapping.get(setting)
            if value is not None and not isinstance(value, (Policy, Mapping)):
                raise MiaTypeError(
                    f"The policy of setting '{setting}' must be a Policy or a dict. "
                    f"Got {type(value).__name__} instead."
                )
            if isinstance(value, Mapping):
                value = Policy.from_mapping({**(base or {}), **value})
            made[setting.replace("-", "_")] = value
        return cls(**made)

    def to_dict(self) -> dict[str, Any]:
        """``{"black-box": dict or None, "white-box": dict or None}``."""
        out = {}
        for setting in SETTINGS:
            pol = self.get(setting)
            out[setting] = None if pol is None else pol.to_dict()
        return out


def is_setting_mapping(value: Any) -> bool:
    """True for a mapping keyed by settings (``{"white-box": {...}}``) or by
    setting-prefixed policy keys (``{"white-box.tpr_high": 0.1}``)."""
    return isinstance(value, Mapping) and any(
        str(k) in SETTINGS or str(k).split(".", 1)[0] in SETTINGS for k in value
    )


def nest_prefixed(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``{"white-box.tpr_high": 0.1}`` (the magic's one-line form) as
    ``{"white-box": {"tpr_high": 0.1}}``; nested entries are kept."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        setting, dot, name = str(key).partition(".")
        if dot and setting in SETTINGS:
            out.setdefault(setting, {})[name] = value
        else:
            out[str(key)] = value
    return out


def split_attacks(attacks: list[str], threats: Mapping[str, str]) -> dict[str, list[str]]:
    """The attacks each setting's attacker can run (unknown threat models count as
    black-box); a setting is left out when it would judge nothing new: no black-box
    setting without black-box attacks, no white-box one without white-box attacks."""
    black = [a for a in attacks if threats.get(a, BLACK_BOX) != WHITE_BOX]
    out = {}
    if black:
        out[BLACK_BOX] = black
    if len(black) < len(attacks):
        out[WHITE_BOX] = list(attacks)
    return out


def api_words(outputs: str, model_kind: str) -> str:
    """How the black-box setting names the API, from the ``outputs=`` form."""
    if model_kind == "regression":
        return "a prediction API"
    if outputs == "label" or model_kind == "label":
        return "a labels API"
    if outputs.startswith("topk"):
        return f"a top-{outputs.split(':')[1]} probability API"
    if outputs.startswith("round"):
        return "a rounded-probability API"
    if model_kind == "decision":
        return "a decision-score API"
    return "a probability API"


def setting_sentence(levels: Mapping[str, str], api: str) -> str:
    """``Behind a probability API: elevated. Shared as a file: high.`` (one clause
    when both settings are judged and agree)."""
    black, white = levels.get(BLACK_BOX), levels.get(WHITE_BOX)
    if black is not None and white is not None and black == white:
        return f"Behind {api} or shared as a file: {black}."
    parts = []
    if black is not None:
        parts.append(f"Behind {api}: {black}.")
    if white is not None:
        parts.append(f"Shared as a file: {white}.")
    return " ".join(parts)


def chosen_setting(levels: Mapping[str, str], setting: str) -> str:
    """The setting the report's verdict speaks for: ``setting`` when it was judged,
    else the worse one (ties: black-box, the weaker attacker)."""
    if setting in levels:
        return setting
    return max(levels, key=lambda s: (level_index(levels[s]), -SETTINGS.index(s)))
