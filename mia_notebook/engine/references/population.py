"""The rows reference models train on, and their seeded IN/OUT split.

The population is the audited records (members first, then non-members), then any extra
``population`` rows. :func:`in_out_mask` splits it once per audit: every record is IN
(in the training half) for about half of the reference models and OUT for the others,
so each record gets both IN and OUT models (the "online" setting of LiRA/RMIA).

The split is balanced within the members, within the non-members and within the extra
rows (:attr:`Population.blocks`), so members and non-members get the same mix of IN/OUT
patterns; otherwise a score that depends on the pattern can make a model that saw
neither look leaky (see :func:`in_out_mask`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import pandas as pd

from ..data import AuditData, as_float_array, check_columns, check_frame, fingerprint_frame
from ..errors import MiaValueError
from ..people import People

__all__ = [
    "Population",
    "check_population",
    "in_out_mask",
    "make_population",
    "nested_in_out_mask",
    "person_in_out_mask",
    "reference_mask",
    "take_rows",
]


@dataclass(frozen=True)
class Population:
    """Rows reference models are trained on: the audited records, then extra rows.

    Attributes
    ----------
    X : DataFrame or ndarray of shape (n_rows, n_features)
        Model input, in the form the model was fitted on (a new object).
    labels : ndarray of shape (n_rows,)
        True labels (or regression targets).
    n_records : int
        The first ``n_records`` rows are the audited records (members first).
    n_members : int
        The first ``n_members`` rows are the members (the audited model's train rows).
    fingerprint : str
        Hash of the rows (train, test and extra population) and the columns used.
    y_scale : float
        Variance of the labels (regression statistic scale); 1 for classification.
    """

    X: Any
    labels: np.ndarray
    n_records: int
    n_members: int
    fingerprint: str
    y_scale: float = 1.0

    @property
    def n_rows(self) -> int:
        return len(self.labels)

    @property
    def n_extra(self) -> int:
        return self.n_rows - self.n_records

    @property
    def blocks(self) -> tuple[int, int, int]:
        """Sizes of the members, non-members and extra rows (in that order)."""
        return self.n_members, self.n_records - self.n_members, self.n_extra


def take_rows(X: Any, rows: np.ndarray) -> Any:
    """Rows ``rows`` (positions) of a DataFrame or an array."""
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def check_population(population: Any, data: AuditData) -> pd.DataFrame | None:
    """Validate the optional extra ``population`` frame against the audited data."""
    if population is None:
        return None
    frame = check_frame("population", population)
    check_columns("population", frame, [*data.features, data.target])
    n_missing = int(frame[data.target].isna().sum())
    if n_missing:
        raise MiaValueError(
            f"The target column '{data.target}' has {n_missing} missing value(s) in "
            "'population'. Drop those rows first."
        )
    return frame


def make_population(data: AuditData, extra: pd.DataFrame | None, kind: str) -> Population:
    """The reference-training population: ``data``'s records then ``extra`` rows."""
    cols = [*data.features, data.target]
    parts = [data.train[cols], data.test[cols]]
    fps = [fingerprint_frame(p) for p in parts]
    if extra is not None:
        parts.append(extra[cols])
        fps.append(fingerprint_frame(parts[-1]))
    frame = pd.concat(parts, ignore_index=True)
    X = frame[list(data.features)]
    X_in = X if data.pass_frame else X.to_numpy()
    labels = frame[data.target].to_numpy()
    y_scale = 1.0
    if kind == "regression":
        labels = as_float_array(frame[data.target])
        y_scale = float(np.var(labels)) or 1.0
    fp = str(joblib.hash((fps, cols, data.pass_frame)))[:16]
    return Population(X_in, labels, data.n_train + data.n_test, data.n_train, fp, y_scale)


def in_out_mask(
    n_rows: int, n_references: int, seed: int, *, blocks: Sequence[int] | None = None
) -> np.ndarray:
    """Which rows each reference model trains on, shape (n_rows, n_references), bool.

    Every row is IN for ``n_references // 2`` models (for an odd count, half of the rows
    for one more), so each reference model trains on half of the rows and each row has
    both IN and OUT models when ``n_references >= 2``.

    The rows come in consecutive ``blocks`` (the members, the non-members, the extra
    rows), and each block is balanced on its own: half of its rows get a pattern (the
    models the row is IN for) and the other half the complementary pattern, so every
    model trains on exactly half of every block (up to one row); when a block has room
    for every pattern, each pattern is used equally often (up to one row per pair),
    drawn in whole rounds. The rows of a block are then shuffled.

    Why: an attack's score can depend on a record's pattern (LiRA online when one
    reference model is more confident than the others shifts every record IN for it).
    Drawn independently per row, the patterns are by chance more common among members
    than among non-members (by about the square root of their counts), and such a
    pattern effect then separates members from non-members of a model that never saw
    either: the exact tests of the verdict would be anti-conservative. Balanced
    blocks give members and non-members the same mix of patterns.

    Parameters
    ----------
    n_rows, n_references, seed : int
    blocks : sequence of int, default=None
        Sizes of the consecutive blocks (summing to ``n_rows``); None: one block.

    Returns
    -------
    ndarray of bool, shape (n_rows, n_references)
        Deterministic in (n_rows, n_references, seed, blocks).
    """
    sizes = [n_rows] if blocks is None else [int(b) for b in blocks]
    if sum(sizes) != n_rows or min(sizes, default=0) < 0:
        raise ValueError(
            f"The 'blocks' parameter must be sizes >= 0 summing to n_rows={n_rows}. "
            f"Got {blocks!r} instead."
        )
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_references, 0x4D4941]))
    mask = np.empty((n_rows, n_references), dtype=bool)
    start = 0
    for size in sizes:
        _fill_block(mask[start : start + size], rng)
        start += size
    return mask


def person_in_out_mask(
    codes: np.ndarray,
    n_member_people: int,
    n_extra: int,
    n_references: int,
    seed: int,
    *,
    nested: bool = False,
) -> np.ndarray:
    """:func:`in_out_mask` (or :func:`nested_in_out_mask` when ``nested``) drawn per
    person: every reference model trains on all of a person's rows or on none of them.

    The people are split as rows are (balanced within the members' people, the
    non-members' people and the extra rows, each extra row its own person), and every
    row takes its person's pattern. A split that separated a person's rows would leak
    the person's membership into the OUT models. Nested, model j's people are the same
    for any ``n_references`` (adaptive rounds reuse the models they trained).

    Parameters
    ----------
    codes : ndarray of int, shape (n_records,)
        Each audited row's person (``0 .. n_people - 1``; members' people first).
    n_member_people, n_extra, n_references, seed : int
    nested : bool, default=False

    Returns
    -------
    ndarray of bool, shape (n_records + n_extra, n_references)
    """
    codes = np.asarray(codes, dtype=np.int64)
    n_people = int(codes.max()) + 1 if codes.size else 0
    blocks = (n_member_people, n_people - n_member_people, n_extra)
    design = nested_in_out_mask if nested else in_out_mask
    by_person = design(n_people + n_extra, n_references, seed, blocks=blocks)
    return np.concatenate([by_person[codes], by_person[n_people:]])


def reference_mask(
    pop: Population, n_references: int, seed: int, people: People | None, *, nested: bool = False
) -> np.ndarray:
    """The IN/OUT split of ``pop``: per row (:func:`in_out_mask`, or
    :func:`nested_in_out_mask` when ``nested``), or per person when ``people`` is given
    (:func:`person_in_out_mask`, nested or not)."""
    if people is None:
        design = nested_in_out_mask if nested else in_out_mask
        return design(pop.n_rows, n_references, seed, blocks=pop.blocks)
    codes, n_member_people = people.codes, people.n_member_people
    return person_in_out_mask(
        codes, n_member_people, pop.n_extra, n_references, seed, nested=nested
    )


def _n_pairs(n_references: int) -> int:
    """Complementary pairs of patterns: C(n, n // 2) (odd n) or C(n, n / 2) / 2."""
    odd = n_references % 2
    return math.comb(n_references - 1 + odd, n_references // 2 - 1 + odd)


def _representatives(n_references: int) -> np.ndarray:
    """One pattern of each complementary pair, shape (n_pairs, n_references), bool:
    the ``n // 2``-subsets (odd n), or those of them that contain model 0 (even n)."""
    k = n_references // 2
    combos: Iterable[tuple[int, ...]]
    if n_references % 2:
        combos = itertools.combinations(range(n_references), k)
    else:
        combos = ((0, *c) for c in itertools.combinations(range(1, n_references), k - 1))
    out = np.zeros((_n_pairs(n_references), n_references), dtype=bool)
    for i, c in enumerate(combos):
        out[i, list(c)] = True
    return out


def _random_patterns(block: np.ndarray, rng: np.random.Generator) -> None:
    """Fill ``block`` with independent uniformly random ``n // 2``-subsets per row."""
    n_rows, n_references = block.shape
    step = 16_384  # bounded temporaries for large populations
    for start in range(0, n_rows, step):
        u = rng.random((min(step, n_rows - start), n_references))
        ranks = np.argsort(np.argsort(u, axis=1), axis=1)
        block[start : start + len(u)] = ranks < n_references // 2


def _fill_block(block: np.ndarray, rng: np.random.Generator) -> None:
    """Complementary pairs of patterns, in whole rounds when they fit, rows shuffled."""
    n_rows, n_references = block.shape
    half = (n_rows + 1) // 2
    n_pairs = _n_pairs(n_references)
    if n_pairs <= half:  # whole rounds: each round a random order of every pair
        rounds = np.argsort(rng.random((-(-half // n_pairs), n_pairs)), axis=1)
        block[:half] = _representatives(n_references)[rounds.ravel()[:half]]
    else:
        _random_patterns(block[:half], rng)
    np.logical_not(block[: n_rows - half], out=block[half:])
    block[:] = block[rng.permutation(n_rows)]


def _alternate(odd: np.ndarray, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1 for every other odd group of each block (in a random order), else 0."""
    extra = np.zeros(odd.size, dtype=np.int64)
    for b in np.unique(block):
        idx = np.flatnonzero((block == b) & (odd == 1))
        extra[idx[rng.permutation(idx.size)[: (idx.size + rng.integers(2)) // 2]]] = 1
    return extra


def nested_in_out_mask(
    n_rows: int, n_references: int, seed: int, *, blocks: Sequence[int] | None = None
) -> np.ndarray:
    """A nested IN/OUT design: its first k columns are the design for k models.

    Models come in complementary pairs (model 2j + 1 trains on the rows model 2j left
    out), so for even k every row is IN for exactly k / 2 of the first k models. Pair j's
    half is drawn within each block (members, non-members, extra rows) and within each
    group of rows sharing the same pattern over the earlier pairs, half of each group
    (the odd row at random) IN: every model trains on half of every block, and the
    2^(k/2) patterns of the first k models are equally common (up to rounding) among the
    members and among the non-members, as :func:`in_out_mask` balances them. Column j
    depends only on (n_rows, seed, blocks) and j, never on ``n_references``, so adaptive
    audits reuse the models they trained in earlier rounds.

    Returns
    -------
    ndarray of bool, shape (n_rows, n_references)
    """
    sizes = [n_rows] if blocks is None else [int(b) for b in blocks]
    if sum(sizes) != n_rows or min(sizes, default=0) < 0:
        raise ValueError(
            f"The 'blocks' parameter must be sizes >= 0 summing to n_rows={n_rows}. "
            f"Got {blocks!r} instead."
        )
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4E4553]))
    block_id = np.repeat(np.arange(len(sizes)), sizes)
    n_pairs = -(-n_references // 2)
    mask = np.zeros((n_rows, 2 * n_pairs), dtype=bool)
    group = block_id.astype(np.int64)  # rows sharing block and pattern so far
    for j in range(n_pairs):
        order = np.lexsort((rng.random(n_rows), group))  # groups, shuffled within
        starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0])
        counts = np.diff(np.r_[starts, n_rows])
        rank = np.arange(n_rows) - np.repeat(starts, counts)
        # half of each group IN; the odd groups' middle rows IN and OUT alternately
        # within each block (random order), so a block stays balanced to one row
        limit = np.repeat(
            counts // 2 + _alternate(counts % 2, block_id[order[starts]], rng), counts
        )
        mask[order, 2 * j] = rank < limit
        mask[:, 2 * j + 1] = ~mask[:, 2 * j]
        # relabelled 0..g-1 in the same order (group * 2 alone overflows int64 past 62 pairs)
        group = np.unique(group * 2 + mask[:, 2 * j], return_inverse=True)[1].astype(np.int64)
    return mask[:, :n_references].copy()
