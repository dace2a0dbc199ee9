"""What-ifs for the model's outputs: what an attacker sees if the API returned less.

``outputs=`` forms, applied after querying (the model is never refitted):

* ``"proba"`` (default): the probabilities as the model returns them.
* ``"label"``: the predicted label only. Probability attacks are skipped.
* ``"topk:K"``: the probabilities of the K most likely classes. An attacker who sees
  them also knows the hidden mass ``1 - sum(top K)`` but not how it splits, so the
  hidden classes each get an equal share of it: every row still sums to 1, a true
  class outside the top K gets the share an attacker would have to assume, and no
  information beyond the top K values (and their classes) is used. Ties at the K-th
  place go to the lower class index.
* ``"round:D"``: the probabilities rounded to D decimals (``numpy.round``: half to
  even), as the API would return them; rows are not renormalised.

The same transformation applies to the reference models' outputs
(:class:`~.references.statistics.TransformedStatistic`), so reference attacks compare
like with like.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .errors import MiaTypeError, MiaValueError
from .target import TargetOutputs

__all__ = [
    "OUTPUT_FORMS",
    "OutputsForm",
    "apply_outputs",
    "explain_skipped",
    "parse_outputs",
    "resolve_outputs",
    "round_probs",
    "topk_probs",
    "transform_probs",
]

FormName = Literal["proba", "label", "topk", "round"]
#: The valid forms, as shown in error messages.
OUTPUT_FORMS = ("proba", "label", "topk:K", "round:D")
_PATTERN = re.compile(r"^\s*(proba|label|topk|round)\s*(?::\s*([+-]?\d+)\s*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class OutputsForm:
    """A validated ``outputs=`` setting.

    Attributes
    ----------
    name : {'proba', 'label', 'topk', 'round'}
    param : int or None
        K of ``topk:K`` or D of ``round:D``; None for 'proba' and 'label'.
    """

    name: FormName = "proba"
    param: int | None = None

    def __str__(self) -> str:
        return self.name if self.param is None else f"{self.name}:{self.param}"

    @property
    def hides_probabilities(self) -> bool:
        """True when no probability is visible (``label``)."""
        return self.name == "label"

    @property
    def changes_probabilities(self) -> bool:
        """True when visible probabilities differ from the model's (``topk``, ``round``)."""
        return self.name in ("topk", "round")


def _bad_form(value: object) -> MiaValueError:
    return MiaValueError(
        f"The 'outputs' parameter must be one of {list(OUTPUT_FORMS)} (e.g. 'topk:1', "
        f"'round:2'). Got {value!r} instead."
    )


def parse_outputs(value: str | OutputsForm | None) -> OutputsForm:
    """Parse an ``outputs=`` string such as ``"topk:2"`` (case-insensitive).

    Parameters
    ----------
    value : str, OutputsForm or None
        None means ``"proba"``.

    Returns
    -------
    OutputsForm

    Raises
    ------
    MiaValueError
        An unknown form (the message lists the valid ones), a missing or stray parameter,
        ``topk:0`` or ``round:0``.
    """
    if value is None:
        return OutputsForm()
    if isinstance(value, OutputsForm):
        return value
    if not isinstance(value, str):
        raise MiaTypeError(
            f"The 'outputs' parameter must be a string, one of {list(OUTPUT_FORMS)}. "
            f"Got {type(value).__name__} instead."
        )
    match = _PATTERN.match(value)
    if match is None:
        raise _bad_form(value)
    name, digits = match.group(1).lower(), match.group(2)
    if name in ("proba", "label"):
        if digits is not None:
            raise MiaValueError(
                f"outputs='{name}' takes no parameter. Got {value!r}; use '{name}'."
            )
        return OutputsForm(name)  # type: ignore[arg-type]
    if digits is None:
        letter = "K" if name == "topk" else "D"
        raise MiaValueError(
            f"outputs='{name}' needs a number: '{name}:{letter}', e.g. "
            f"'{name}:{1 if name == 'topk' else 2}'. Got {value!r}."
        )
    return OutputsForm(name, _check_param(name, int(digits), value))  # type: ignore[arg-type]


def _check_param(name: str, number: int, value: str) -> int:
    if number >= 1:
        return number
    if name == "topk":
        raise MiaValueError(
            f"outputs='topk:K' needs K >= 1 (the number of classes the API returns). "
            f"Got {value!r}; for no probabilities at all use 'label'."
        )
    raise MiaValueError(
        f"outputs='round:D' needs D >= 1 decimals. Got {value!r}: with no decimals "
        "leaves only 0 or 1 per class; for labels only use 'label'."
    )


def resolve_outputs(form: OutputsForm, outputs: TargetOutputs) -> OutputsForm:
    """Check ``form`` against the model's interface; a ``topk`` that hides nothing
    becomes ``proba`` with a warning.

    Raises
    ------
    MiaValueError
        ``label``/``topk``/``round`` on a regressor, or ``topk``/``round`` on a model
        that returns labels only.
    """
    if form.name == "proba":
        return form
    if outputs.kind == "regression":
        raise MiaValueError(
            f"outputs='{form}' applies to classifiers, but this model is a regressor (its "
            "prediction is all it returns). Use outputs='proba' (the default) for regressors."
        )
    if outputs.kind == "label" and form.changes_probabilities:
        raise MiaValueError(
            f"outputs='{form}' transforms probabilities, but this model has only predict "
            "(no predict_proba or decision_function). Use outputs='label' or 'proba'."
        )
    n_classes = 0 if outputs.classes is None else len(outputs.classes)
    if form.name == "topk" and form.param is not None and form.param >= n_classes:
        warnings.warn(
            f"outputs='{form}' hides nothing: the model has only {n_classes} classes, so "
            f"the top {form.param} are all of them; auditing with outputs='proba'. Use "
            f"'topk:K' with K < {n_classes}, or 'label'.",
            UserWarning,
            stacklevel=3,
        )
        return OutputsForm()
    return form


def topk_probs(probs: np.ndarray, k: int) -> np.ndarray:
    """Keep each row's ``k`` largest probabilities; share the rest equally.

    Parameters
    ----------
    probs : ndarray of shape (n_samples, n_classes)
    k : int
        1 <= k. With k >= n_classes the rows are returned unchanged (a copy).

    Returns
    -------
    ndarray of float64, shape (n_samples, n_classes)
        The top ``k`` entries unchanged; each of the other ``n_classes - k`` entries is
        ``max(1 - sum(top k), 0) / (n_classes - k)``. Ties at the k-th place go to the
        lower class index.
    """
    p = np.asarray(probs, dtype=np.float64)
    n_classes = p.shape[1]
    if k >= n_classes:
        return np.array(p, copy=True)
    order = np.argsort(-p, axis=1, kind="stable")
    keep = np.zeros(p.shape, dtype=bool)
    np.put_along_axis(keep, order[:, :k], True, axis=1)
    shown = np.where(keep, p, 0.0)
    hidden = np.maximum(1.0 - shown.sum(axis=1, keepdims=True), 0.0) / (n_classes - k)
    return np.asarray(np.where(keep, p, hidden))


def round_probs(probs: np.ndarray, decimals: int) -> np.ndarray:
    """``probs`` rounded to ``decimals`` decimals (half to even), not renormalised."""
    return np.asarray(np.round(np.asarray(probs, dtype=np.float64), decimals))


def transform_probs(probs: np.ndarray, form: OutputsForm) -> np.ndarray:
    """Apply a probability-changing ``form`` (``topk`` or ``round``); others: unchanged."""
    if form.name == "topk" and form.param is not None:
        return topk_probs(probs, form.param)
    if form.name == "round" and form.param is not None:
        return round_probs(probs, form.param)
    return np.asarray(probs, dtype=np.float64)


def apply_outputs(outputs: TargetOutputs, form: OutputsForm) -> TargetOutputs:
    """The target's outputs as seen through ``form`` (a new object; input unchanged).

    The predicted label is kept as the model gave it in every form (an API that
    returns less still returns its top class).
    """
    if form.name == "proba":
        return outputs
    note = f"outputs='{form}': attacks see what an API returning only that would show"
    if form.hides_probabilities:
        return dataclasses.replace(outputs, kind="label", probs=None, notes=[*outputs.notes, note])
    assert outputs.probs is not None
    return dataclasses.replace(
        outputs, probs=transform_probs(outputs.probs, form), notes=[*outputs.notes, note]
    )


def explain_skipped(skipped: Mapping[str, str], form: OutputsForm) -> dict[str, str]:
    """Skip reasons that say when ``form`` (not the model) hid what an attack needs."""
    if not form.hides_probabilities:
        return dict(skipped)
    return {
        name: reason.replace(
            "the model offers predicted labels only",
            f"outputs='{form}' shows predicted labels only",
        )
        for name, reason in skipped.items()
    }
