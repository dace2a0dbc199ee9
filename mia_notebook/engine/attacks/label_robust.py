"""label-robust: a label-only attack on robustness to noise.

Choquette-Choo et al. (2021), "Label-only membership inference attacks", and Li and
Zhang (2021), "Membership leakage in label-only exposures": a model keeps its correct
label on noisy neighbours of its training records further out than on unseen records.

Per record, the model labels the record itself and ``len(levels) * copies`` noisy
copies of it. Numeric features get Gaussian noise with standard deviation ``level``
times the feature's standard deviation in the population; each categorical feature is
resampled, with probability ``level``, from its population frequencies. The statistic
is ``0.5 * [record labelled correctly] + 0.5 * [fraction of copies labelled
correctly]`` in [0, 1] (higher = more member-like; a misclassified record never
outranks a correctly classified one, so the attack refines ``gap``).

With reference models (clones refitted on seeded IN/OUT halves, as for LiRA) the same
statistic, on the same noisy copies, is computed for every reference model and the
target's statistic is scored by LiRA's online likelihood ratio (global variance) on its
logit. Without them the statistic itself is the score.

Every model is queried with ONE ``predict`` call per chunk of records (the originals
and all their copies, at most :data:`CHUNK_ROWS` rows). The noise depends only on the
seed and the record's position, so every model sees the same copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd

from .. import references  # the trainer's names load on first use (see the package)
from ..cache import CACHE
from ..data import AuditData, as_float_array
from ..progress import NullProgress, Progress
from ..references import Population, ReferenceSignals, make_population
from .base import Attack, AttackContext, AttackUnavailable, StageInputs, register_attack
from .lira import lira_scores

__all__ = [
    "LabelRobustAttack",
    "Perturbation",
    "RobustSignals",
    "RobustStage",
    "calibrated_scores",
    "make_perturbation",
    "robustness",
]

#: Noise levels, in units of each numeric feature's population standard deviation
#: (and the resampling probability of each categorical feature).
LEVELS = (0.05, 0.1, 0.25)
#: Noisy copies per level and record.
COPIES = 16
#: Rows per ``predict`` call (originals plus their copies), to bound memory.
CHUNK_ROWS = 65_536
#: Name of the lazy stage in the attack context (:meth:`AttackContext.stage`).
PROVIDER = "label_robust"


@dataclass(frozen=True)
class Perturbation:
    """How to draw noisy copies of records; picklable, so reference workers use it.

    Attributes
    ----------
    features : tuple of str
        Model input columns, in order.
    numeric : tuple of str
        Columns that get Gaussian noise.
    scales : tuple of float
        Population standard deviation of each ``numeric`` column (0: no noise).
    categories : tuple of (str, tuple, tuple of float)
        Each other column with its population values and their frequencies.
    levels : tuple of float
    copies : int
        Noisy copies per level and record.
    seed : int
    pass_frame : bool
        Query the model with a DataFrame (True) or a numpy array.
    """

    features: tuple[str, ...]
    numeric: tuple[str, ...]
    scales: tuple[float, ...]
    categories: tuple[tuple[str, tuple[Any, ...], tuple[float, ...]], ...]
    levels: tuple[float, ...] = LEVELS
    copies: int = COPIES
    seed: int = 0
    pass_frame: bool = True

    @property
    def n_copies(self) -> int:
        return len(self.levels) * self.copies

    @property
    def chunk_records(self) -> int:
        return max(1, CHUNK_ROWS // (self.n_copies + 1))

    @property
    def cache_key(self) -> str:
        return "label-robust-" + str(joblib.hash(self))[:16]

    def copies_of(self, part: pd.DataFrame, chunk: int) -> pd.DataFrame:
        """Noisy copies of the records ``part`` (chunk number ``chunk``), record-major.

        Returns a new frame of ``len(part) * n_copies`` rows; ``part`` is not changed.
        """
        m, c = len(part), self.n_copies
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, chunk, 0x4C52]))
        level = np.repeat(np.asarray(self.levels, dtype=np.float64), self.copies)
        rep = part.iloc[np.repeat(np.arange(m), c)].reset_index(drop=True)
        full = (self.chunk_records, c)  # drawn at full size: the noise of a record
        noise = rng.standard_normal((*full, len(self.numeric)))  # is independent of m
        for j, (col, scale) in enumerate(zip(self.numeric, self.scales, strict=True)):
            delta = (noise[:m, :, j] * level * scale).ravel()
            noisy = pd.Series(np.repeat(as_float_array(part[col]), c) + delta)
            if pd.api.types.is_integer_dtype(part[col].dtype):  # integers stay integers
                noisy = noisy.round().astype(part[col].dtype)
            rep[col] = noisy
        for col, values, freqs in self.categories:
            swap = rng.random(full)[:m] < level
            draws = rng.choice(len(values), size=full, p=np.asarray(freqs))[:m]
            vals = np.asarray(values, dtype=object)[draws].ravel()
            new = np.where(swap.ravel(), vals, rep[col].to_numpy(dtype=object))
            rep[col] = pd.Series(new, dtype=part[col].dtype)
        out: pd.DataFrame = rep
        return out

    def __call__(
        self, model: Any, X: Any, labels: np.ndarray, kind: str = "label", y_scale: float = 1.0
    ) -> np.ndarray:
        """The robustness statistic of ``model`` on the rows ``X`` (reference-model hook,
        same signature as :func:`mia_notebook.engine.references.statistic`)."""
        return robustness(model, X, labels, self)


def _frame(X: Any, features: tuple[str, ...]) -> pd.DataFrame:
    frame: pd.DataFrame = (
        X[list(features)]
        if isinstance(X, pd.DataFrame)
        else pd.DataFrame(np.asarray(X), columns=list(features))
    )
    return frame


def robustness(
    model: Any,
    X: Any,
    labels: np.ndarray,
    spec: Perturbation,
    progress: Progress | None = None,
) -> np.ndarray:
    """``0.5 * correct + 0.5 * fraction of noisy copies labelled correctly`` per row.

    Parameters
    ----------
    model : fitted classifier with ``predict``
    X : DataFrame or ndarray of shape (n_samples, n_features)
        Rows in the order of ``spec.features``; never modified.
    labels : array-like of shape (n_samples,)
        True labels, in the model's own label values.
    spec : Perturbation
    progress : Progress, default=None

    Returns
    -------
    ndarray of float64, shape (n_samples,), values in [0, 1]
    """
    frame = _frame(X, spec.features)
    labels = np.asarray(labels)
    n, step = len(frame), spec.chunk_records
    correct, kept = np.zeros(n), np.zeros(n)
    bar = progress or NullProgress()
    bar.start(-(-n // step), "Querying noisy copies (label-robust)")
    try:
        for chunk, start in enumerate(range(0, n, step)):
            part = frame.iloc[start : start + step]
            m, lab = len(part), labels[start : start + step]
            rows = pd.concat([part.reset_index(drop=True), spec.copies_of(part, chunk)])
            pred = np.asarray(model.predict(rows if spec.pass_frame else rows.to_numpy()))
            pred = pred.ravel()
            correct[start : start + m] = pred[:m] == lab
            kept[start : start + m] = (pred[m:].reshape(m, -1) == lab[:, None]).mean(axis=1)
            bar.update(chunk + 1)
    finally:
        bar.close()
    return 0.5 * correct + 0.5 * kept


#: Integer columns with at most this many distinct values are resampled as categories.
MAX_INTEGER_CATEGORIES = 10


def _is_numeric(s: pd.Series) -> bool:
    """Columns that get Gaussian noise (others are resampled)."""
    if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return False
    if pd.api.types.is_integer_dtype(s.dtype):
        return bool(s.nunique() > MAX_INTEGER_CATEGORIES)
    return True


def make_perturbation(
    data: AuditData,
    population: pd.DataFrame | None = None,
    *,
    seed: int = 0,
    levels: tuple[float, ...] = LEVELS,
    copies: int = COPIES,
) -> Perturbation:
    """The noise model of ``data``'s features, from train, test and ``population`` rows."""
    feats = list(data.features)
    parts = [data.train[feats], data.test[feats]]
    if population is not None:
        parts.append(population[feats])
    pop = pd.concat(parts, ignore_index=True)
    numeric, scales, cats = [], [], []
    for col in feats:
        s = pop[col]
        if _is_numeric(s):
            std = float(np.nanstd(as_float_array(s))) if s.notna().any() else 0.0
            numeric.append(col)
            scales.append(std if np.isfinite(std) else 0.0)
        else:
            freq = s.value_counts(dropna=False, normalize=True, sort=False)
            cats.append((col, tuple(freq.index), tuple(float(f) for f in freq.to_numpy())))
    return Perturbation(
        tuple(feats),
        tuple(numeric),
        tuple(scales),
        tuple(cats),
        tuple(float(v) for v in levels),
        int(copies),
        int(seed),
        data.pass_frame,
    )


@dataclass(frozen=True)
class RobustSignals:
    """The robustness statistic of the target and, when available, reference models.

    Attributes
    ----------
    target : ndarray of float64, shape (n_records,)
    signal : ndarray of float32, shape (n_records, n_refs) or None
    in_mask : ndarray of bool, shape (n_records, n_refs) or None
    n_copies : int
        Noisy copies per record.
    notes : list of str
    references : ReferenceSignals or None
        The reference models' material (with any ``extra`` statistics computed in the
        same pass, e.g. the white-box ones).
    """

    target: np.ndarray
    signal: np.ndarray | None
    in_mask: np.ndarray | None
    n_copies: int
    notes: list[str] = field(default_factory=list)
    references: ReferenceSignals | None = None


def _target_robustness(
    model: Any, pop: Population, spec: Perturbation, model_fp: str, progress: Progress
) -> np.ndarray:
    key = ("label-robust-target", model_fp, pop.fingerprint, spec.cache_key)
    cached = CACHE.get(key)
    if cached is None:
        try:
            cached = robustness(model, pop.X, pop.labels, spec, progress)
        except Exception as e:  # e.g. an encoder that rejects a noisy value
            msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise AttackUnavailable(
                f"the model raised {type(e).__name__} on noisy copies of the records "
                f"({msg}); make its preprocessing accept nearby values (e.g. "
                "OneHotEncoder(handle_unknown='ignore'))"
            ) from e
        CACHE.put(key, cached)
    return np.asarray(cached)


@dataclass
class RobustStage(StageInputs):
    """The lazy, cached stage of ``label-robust``: target and reference statistics.

    Called at most once per audit (through ``AttackContext.stage``). The target's
    statistic is cached under the model's fingerprint; reference models' statistics go
    through the per-model reference cache (keyed by the noise model).
    """

    def __call__(self) -> RobustSignals:
        opts, extra = self.options, self.population
        spec = make_perturbation(self.data, extra, seed=opts.seed)
        pop = make_population(self.data, extra, "label")
        target = _target_robustness(self.model, pop, spec, self.model_fingerprint, self.progress)
        n = pop.n_records
        no_copy = opts.fit is None and references.clone_problem(self.model) is not None
        if no_copy or opts.references < 2:
            note = "label-robust: not calibrated (no reference models)"
            return RobustSignals(target[:n], None, None, spec.n_copies, [note])
        try:
            refs = self.train_references(spec, target_values=target)
        except references.ReferencesFailed as e:
            note = f"label-robust: not calibrated ({e})"
            return RobustSignals(target[:n], None, None, spec.n_copies, [note])
        notes = refs.notes()
        return RobustSignals(target[:n], refs.signal, refs.in_mask, spec.n_copies, notes, refs)


def calibrated_scores(signals: RobustSignals) -> np.ndarray:
    """LiRA online (global variance) on the logit of the robustness statistic."""
    assert signals.signal is not None and signals.in_mask is not None
    eps = 0.25 / (signals.n_copies + 1)  # half a step of the statistic

    def logit(v: np.ndarray) -> np.ndarray:
        v = np.clip(v, eps, 1.0 - eps)
        return np.asarray(np.log(v) - np.log1p(-v))

    sig = logit(signals.signal.astype(np.float64)).astype(np.float32)
    return lira_scores(sig, signals.in_mask, logit(signals.target), online=True, variance="global")


@register_attack
class LabelRobustAttack(Attack):
    """Label-only robustness attack (Choquette-Choo et al. 2021; Li and Zhang 2021).

    Needs only ``predict``; in ``attacks='auto'`` when only labels are visible (a
    predict-only model, or ``outputs='label'``). Calibrated with reference models when
    the audit trains them (see the module docstring).
    """

    name = "label-robust"
    title = "Label-only robustness"
    kinds = frozenset({"proba", "decision", "label"})

    @classmethod
    def in_auto(cls, ctx: AttackContext) -> bool:
        return ctx.outputs.kind == "label"

    def unavailable_reason(self, ctx: AttackContext) -> str | None:
        reason = super().unavailable_reason(ctx)
        if reason is None and PROVIDER not in ctx.stages:
            return "needs the audited records to perturb (run it through audit())"
        return reason

    def score(self, ctx: AttackContext) -> np.ndarray:
        signals: RobustSignals = ctx.stage(PROVIDER)
        if signals.signal is None:
            return signals.target
        return calibrated_scores(signals)
