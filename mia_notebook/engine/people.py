"""People, not rows: whose data each audited row is (``person=COL``).

Membership belongs to a person: all of a person's rows are in ``train`` (a member) or
all in ``test`` (a non-member). :func:`check_people` enforces it on the caller's
frames; :class:`People` maps every audited row (members first, as everywhere) to an
integer person code, members' people first, and counts each person's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import MiaValueError

__all__ = ["People", "check_people", "constant_columns", "people_of"]

_SHOWN_IDS = 3


@dataclass(frozen=True, eq=False)
class People:
    """The people behind the audited rows.

    Attributes
    ----------
    column : str
        The ``person`` column.
    codes : ndarray of int64, shape (n_rows,)
        Each row's person (``0 .. n_people - 1``), rows members first; the members'
        people have the codes ``0 .. n_member_people - 1``.
    ids : Index of length n_people
        Each code's person id, as in the frames.
    n_member_people : int
        People whose rows are in ``train``.
    """

    column: str
    codes: np.ndarray
    ids: pd.Index
    n_member_people: int

    @property
    def n_people(self) -> int:
        return len(self.ids)

    @property
    def n_nonmember_people(self) -> int:
        return self.n_people - self.n_member_people

    @property
    def counts(self) -> np.ndarray:
        """Rows per person, shape (n_people,)."""
        return np.bincount(self.codes, minlength=self.n_people)

    @property
    def members(self) -> np.ndarray:
        """Bool array of shape (n_people,): True for the people of ``train``."""
        return np.arange(self.n_people) < self.n_member_people

    @property
    def fingerprint(self) -> str:
        """A hash of the grouping of the rows (which rows share a person)."""
        import joblib

        return str(joblib.hash(self.codes))[:16]


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    return codes.astype(np.int64), pd.Index(uniques)


def check_people(train: pd.DataFrame, test: pd.DataFrame, column: str) -> None:
    """Raise a clear error when ``column`` is missing, has missing ids, or when a person
    has rows in both ``train`` and ``test`` (a person is a member or not, never both)."""
    for name, frame in (("train", train), ("test", test)):
        if column not in frame.columns:
            raise MiaValueError(
                f"The 'person' column '{column}' is not a column of '{name}'. It must name "
                "whose data each row is (a patient, a customer, a device) in both frames."
            )
        n_missing = int(frame[column].isna().sum())
        if n_missing:
            raise MiaValueError(
                f"The 'person' column '{column}' has {n_missing} missing value(s) in "
                f"'{name}'. Every row must belong to a person; drop those rows first."
            )
    shared = pd.Index(pd.unique(train[column])).intersection(pd.Index(pd.unique(test[column])))
    if len(shared):
        some = ", ".join(repr(v) for v in list(shared[:_SHOWN_IDS]))
        more = ", ..." if len(shared) > _SHOWN_IDS else ""
        raise MiaValueError(
            f"{len(shared):,} people have rows in both train and test ('{column}' = {some}"
            f"{more}). Membership belongs to a person: all of a person's rows must be in "
            "train or all in test. Split by person, e.g. with scikit-learn's "
            "GroupShuffleSplit(groups=df['" + column + "'])."
        )


def people_of(train: pd.DataFrame, test: pd.DataFrame, column: str) -> People:
    """The :class:`People` of checked frames (see :func:`check_people`)."""
    train_codes, train_ids = _codes(train[column])
    test_codes, test_ids = _codes(test[column])
    codes = np.concatenate([train_codes, test_codes + len(train_ids)])
    ids = train_ids.append(test_ids)
    return People(column, codes, ids, len(train_ids))


def constant_columns(frame: pd.DataFrame, column: str) -> list[str]:
    """Columns of ``frame`` whose value is the same on every row of each person
    (missing values count as a value), in the frame's order; the person column excluded."""
    if frame.empty:
        return []
    others = [c for c in frame.columns if c != column]
    n_unique = frame.groupby(column, sort=False)[others].nunique(dropna=False)
    return [str(c) for c in others if n_unique.empty or int(n_unique[c].max()) <= 1]
