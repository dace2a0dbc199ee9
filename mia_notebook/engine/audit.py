"""The front door: :func:`audit` runs the expensive stage and returns an AuditReport."""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .attacks import Attack, AttackContext, attack_class, available_attacks
from .cache import CACHE
from .data import AuditData, fingerprint_frame, prepare_data
from .errors import MiaValueError
from .results import AuditReport, check_view
from .spec import DEFAULT_FPR, ViewOptions, parse_names, validate_int
from .target import TargetOutputs, fingerprint_model, query_model

__all__ = ["audit", "resolve_attacks"]


def resolve_attacks(
    requested: str | Iterable[str], ctx: AttackContext
) -> tuple[list[Attack], dict[str, str]]:
    """Instantiate the requested attacks; returns (runnable, skipped-with-reason).

    ``'auto'`` takes every attack marked ``auto`` that fits the model, ``'all'`` every
    registered attack that fits; inapplicable ones are listed as skipped. Naming an
    attack that cannot run on this model is an error.
    """
    names = parse_names(requested, "attacks")
    if not names:
        raise MiaValueError("The 'attacks' parameter is empty. Use 'auto', 'all' or names.")
    explicit = not set(names) & {"auto", "all"}
    if "all" in names:
        pool = available_attacks()
    elif "auto" in names:
        pool = [n for n in available_attacks() if attack_class(n).auto]
    else:
        pool = list(dict.fromkeys(names))
    runnable, skipped = [], {}
    for name in pool:
        attack = attack_class(name)()
        reason = attack.unavailable_reason(ctx)
        if reason is None:
            runnable.append(attack)
        elif explicit:
            raise MiaValueError(f"The '{name}' attack cannot run on this model: {reason}.")
        else:
            skipped[name] = reason
    if not runnable:
        raise MiaValueError(
            "No attack can run on this model ("
            + "; ".join(f"{k}: {v}" for k, v in skipped.items())
            + ")."
        )
    return runnable, skipped


def versions() -> dict[str, str]:
    import scipy
    import sklearn

    from mia_notebook import __version__

    return {
        "mia_notebook": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
    }


def _target_outputs(model: Any, data: AuditData, fps: dict[str, str]) -> TargetOutputs:
    key = ("target", fps["model"], fps["train"], fps["test"], data.target, data.features)
    cached = CACHE.get(key)
    if cached is None:
        cached = query_model(model, data)
        CACHE.put(key, cached)
    return cached


def _scores_frame(
    data: AuditData, members: np.ndarray, scores: dict[str, np.ndarray]
) -> pd.DataFrame:
    labels = [data.train.index.to_numpy(dtype=object), data.test.index.to_numpy(dtype=object)]
    index = pd.MultiIndex.from_arrays(
        [
            np.r_[np.repeat("train", data.n_train), np.repeat("test", data.n_test)],
            np.concatenate(labels),
        ],
        names=["split", "index"],
    )
    frame = pd.DataFrame({"member": members, **scores}, index=index)
    return frame


def audit(
    model: Any,
    *,
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    features: Sequence[str] | str | None = None,
    attacks: str | Sequence[str] = "auto",
    fpr: float | Sequence[float] | str = DEFAULT_FPR,
    flag: int = 10,
    slice: str | None = None,
    redact: Sequence[str] | str = (),
    seed: int = 0,
    confidence: float = 0.95,
    delta: float = 0.0,
) -> AuditReport:
    """Audit a fitted model for membership-inference risk.

    Parameters
    ----------
    model : fitted estimator
        Anything with ``predict_proba``, ``decision_function`` or ``predict``
        (scikit-learn estimators and Pipelines included). Never refitted or changed.
    train : DataFrame
        The records the model was trained on (members).
    test : DataFrame
        Records from the same distribution that were not used in training
        (non-members).
    target : str
        Name of the label column (present in both frames).
    features : list of str or comma-separated str, default=None
        Columns passed to the model. Default: the columns the model was fitted on
        (``feature_names_in_``) or else every column but ``target``.
    attacks : 'auto', 'all' or list of str, default='auto'
        Attack names (see :func:`mia_notebook.available_attacks`).
    fpr : float or sequence of float, default=(0.001, 0.01, 0.1)
        FPR targets at which TPR is reported.
    flag : int, default=10
        How many most-exposed members to list.
    slice : str, default=None
        Extra column to break metrics down by (classes of ``target`` always are).
    redact : list of str, default=()
        Columns whose values must never appear in any output.
    seed : int, default=0
        Seed for every random choice of the audit.
    confidence : float, default=0.95
        Confidence of the epsilon lower bound (Clopper-Pearson).
    delta : float, default=0.0
        delta of (epsilon, delta)-DP assumed by the epsilon bound.

    Returns
    -------
    AuditReport
    """
    t0 = time.perf_counter()
    view = ViewOptions(fpr=fpr, flag=flag, slice=slice, redact=redact,  # type: ignore[arg-type]
                       confidence=confidence, delta=delta).validated()
    seed = validate_int(seed, "seed", low=0, high=2**32 - 1)
    feats = parse_names(features, "features") if features is not None else None
    data = prepare_data(model, train, test, target, feats)
    check_view(view, data, [])
    fps = {
        "model": fingerprint_model(model),
        "train": fingerprint_frame(data.train),
        "test": fingerprint_frame(data.test),
    }
    t1 = time.perf_counter()
    outputs = _target_outputs(model, data, fps)
    t2 = time.perf_counter()
    members = data.members
    ctx = AttackContext(outputs=outputs, members=members, random_state=seed)
    runnable, skipped = resolve_attacks(attacks, ctx)
    scores = {a.name: np.asarray(a.score(ctx), dtype=np.float64) for a in runnable}
    t3 = time.perf_counter()
    run = {
        "model": type(model).__name__,
        "model_kind": outputs.kind,
        "attacks": list(parse_names(attacks, "attacks")),
        "seed": seed,
        "target": data.target,
        "features": list(data.features),
        "n_members": data.n_train,
        "n_nonmembers": data.n_test,
    }
    return AuditReport(
        scores=_scores_frame(data, members, scores),
        options=view,
        run=run,
        skipped=skipped,
        notes=tuple(outputs.notes),
        versions=versions(),
        fingerprints=fps,
        timings={
            "validate_s": t1 - t0,
            "query_model_s": t2 - t1,
            "attacks_s": t3 - t2,
            "total_s": time.perf_counter() - t0,
        },
        data=data,
    )
