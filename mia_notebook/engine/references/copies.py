"""Unfitted copies of the user's model, the templates of the reference models.

``sklearn.base.clone``, or, when clone refuses the model, ``type(model)(**get_params())``;
the report says which (:func:`rebuild_note`), and the reference cache keys carry the
copy's parameters (:func:`params_fingerprint`)."""

from __future__ import annotations

from typing import Any

import joblib
from sklearn.base import clone

from .user_fit import error_text

__all__ = ["clone_problem", "params_fingerprint", "rebuild_note", "unfitted_copy"]


def unfitted_copy(model: Any) -> Any:
    """``sklearn.base.clone(model)``; if clone refuses it, ``type(model)(**get_params())``.

    The fallback copies each parameter as clone does (estimators cloned, other values
    deep-copied), so the copy shares no mutable parameter (e.g. a ``cat_features``
    list) with the user's model; it skips only clone's strict check that the
    constructor stores every parameter unchanged.

    Raises
    ------
    Exception
        clone's own error, when the rebuild fails too.
    """
    try:
        return clone(model)
    except Exception as e:
        try:
            params = model.get_params(deep=False)
            return type(model)(**{k: clone(v, safe=False) for k, v in params.items()})
        except Exception:
            raise e from None


def rebuild_note(model: Any) -> str | None:
    """The report note when reference models are rebuilt instead of cloned (else None)."""
    try:
        clone(model)
    except Exception as e:
        name = type(model).__name__
        return (
            f"sklearn.base.clone refused {name} ({error_text(e)}); reference models were "
            f"rebuilt as {name}(**model.get_params()) instead"
        )
    return None


def clone_problem(model: Any) -> str | None:
    """Why reference models cannot be built from ``model`` (None if they can)."""
    if not hasattr(model, "fit"):
        return (
            f"{type(model).__name__} has no fit method, so no reference models can be trained; "
            "pass fit= (a function that trains one), or audit the estimator (e.g. its Pipeline)"
        )
    try:
        unfitted_copy(model)
    except Exception as e:
        return (
            f"sklearn.base.clone({type(model).__name__}) failed ({error_text(e)}); "
            "reference attacks need a clonable estimator (get_params), or fit=(a function)"
        )
    return None


def params_fingerprint(model: Any) -> str:
    """Hash of the model's parameters only (an unfitted copy), not its learned state."""
    try:
        return str(joblib.hash(unfitted_copy(model)))[:16]
    except Exception:
        return f"id-{id(model):x}"
