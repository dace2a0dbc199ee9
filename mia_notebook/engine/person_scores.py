"""The person-level report (``person=``): one score per person and attack, and the
people behind them (:class:`PeopleRecords`).

Under ``person=`` the report's unit is a person: ``report.scores`` holds one row per
person (index ``(split, person id)``, members' people first), so its AUC, TPR at each
FPR target, epsilon bound (people are the trials), verdict, flagged list and slices
all count people; ``report.row_scores`` keeps every row's scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .attacks.combine import combine
from .data import AuditData
from .errors import MiaValueError
from .grouping import ValueGroups, value_groups
from .people import People, constant_columns
from .records import LiveRecords, SavedRecords
from .verdict import Verdict

__all__ = [
    "PERSON_NUMBER",
    "ROWS",
    "VARIES",
    "PeopleRecords",
    "SavedPeopleRecords",
    "count_people",
    "people_sentence",
    "person_frame",
    "varying_note",
]

#: Column of the flagged people's table: the person's number of rows.
ROWS = "rows"
#: The flagged people's number (1-based position among the people), their index.
PERSON_NUMBER = "person #"
#: Most rows of flagged people a view lists on expand.
MAX_PERSON_ROWS = 200
#: Group label of every person for a column that varies within a person (no slices).
VARIES = "varies within a person"


def person_frame(
    people: People, row_scores: Mapping[str, np.ndarray], rules: Mapping[str, str]
) -> pd.DataFrame:
    """One row per person: ``member`` then each attack's person score by its rule.

    Index ``(split, person)``: ``'train'``/``'test'`` and the person's id.
    """
    n = people.n_people
    codes = np.where(people.members, 0, 1).astype(np.int8)
    split = pd.Categorical.from_codes(codes, categories=pd.Index(["train", "test"]))
    index = pd.MultiIndex.from_arrays([split, people.ids], names=["split", "person"])
    columns = {a: combine(rules[a], s, people.codes, n) for a, s in row_scores.items()}
    frame: pd.DataFrame = pd.DataFrame({"member": people.members, **columns}, index=index)
    return frame


#: The verdict's words for a record, and for a person (``person=``).
_PERSON_WORDS = (
    ("of the training records", "of the people in the training set"),
    ("no record is exposed", "no person is exposed"),
    (" records identified", " people identified"),
    (" record identified", " person identified"),
    ("on the records it is surest", "on the people it is surest"),
    ("no record can be singled out", "no person can be singled out"),
)


def people_sentence(reason: str) -> str:
    """The verdict's sentence counting people instead of records."""
    for rows, people in _PERSON_WORDS:
        reason = reason.replace(rows, people)
    return reason


def count_people(verdict: Verdict) -> Verdict:
    """``verdict`` with its sentence, and each threat setting's, counting people."""
    settings = {
        s: replace(v, reason=people_sentence(v.reason)) for s, v in verdict.settings.items()
    }
    return replace(verdict, reason=people_sentence(verdict.reason), settings=settings)


def varying_note(data: AuditData, col: str) -> str | None:
    """A note when ``col`` varies within a person (its slices are skipped), else None."""
    people = data.people
    if people is None:
        return None
    values = data.column(col)
    n_unique = values.groupby(people.codes).nunique(dropna=False)
    n_varying = int((n_unique > 1).sum())
    if not n_varying:
        return None
    return (
        f"No slices by '{col}': it varies within {n_varying:,} of {people.n_people:,} "
        f"people (slices group people, so they need a column constant per person)"
    )


def rows_of(codes: np.ndarray, positions: np.ndarray, limit: int) -> np.ndarray:
    """Positions in ``codes`` (each row's person, rows in train order) of the rows of the
    people at ``positions``, people in that order and each one's rows in train order, at
    most ``limit``."""
    wanted = np.asarray(positions, dtype=np.intp)
    rank = np.full(int(codes.max(initial=-1)) + 1, -1)
    rank[wanted[wanted < rank.size]] = np.flatnonzero(wanted < rank.size)
    picked = np.flatnonzero(rank[codes] >= 0)
    out: np.ndarray = picked[np.argsort(rank[codes[picked]], kind="stable")][:limit]
    return out


@dataclass(frozen=True, eq=False)
class SavedPeopleRecords(SavedRecords):
    """A person-level report saved without its data: the saved people (:attr:`rows`) and
    their rows the views list on expand (``saved_rows_of_people``: train rows with a
    ``person #`` column, redacted columns masked, in train order)."""

    saved_rows_of_people: pd.DataFrame = field(default_factory=pd.DataFrame)

    def person_rows(self, positions: np.ndarray, limit: int = MAX_PERSON_ROWS) -> pd.DataFrame:
        """As :meth:`PeopleRecords.person_rows`, from the saved rows."""
        saved = self.saved_rows_of_people
        codes = saved[PERSON_NUMBER].to_numpy(dtype=np.intp) - 1
        return saved.iloc[rows_of(codes, positions, limit)]

    def saved_person_rows(self, tops: Sequence[np.ndarray]) -> pd.DataFrame:
        return self.saved_rows_of_people


@dataclass(frozen=True, eq=False)
class PeopleRecords(LiveRecords):
    """The people behind a person-level report, read from the caller's frames.

    ``rows(positions)`` lists member people: the person id, their number of rows
    (:data:`ROWS`) and the columns constant within every member person; ``groups``
    groups people by a column constant per person.
    """

    _memo: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def people(self) -> People:
        assert self.audited.people is not None
        return self.audited.people

    def _first_rows(self) -> np.ndarray:
        """Each person's first row (position among all rows, members first)."""
        if "first" not in self._memo:
            _, first = np.unique(self.people.codes, return_index=True)
            self._memo["first"] = first
        found: np.ndarray = self._memo["first"]  # type: ignore[assignment]
        return found

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        people, train = self.people, self.audited.train
        if "constant" not in self._memo:
            self._memo["constant"] = constant_columns(train, people.column)
        constant: list[str] = self._memo["constant"]  # type: ignore[assignment]
        positions = np.asarray(positions, dtype=np.intp)
        first = self._first_rows()[positions]
        out = train.iloc[first][constant].reset_index(drop=True)
        out.insert(0, people.column, people.ids[positions])
        out.insert(1, ROWS, people.counts[positions])
        out.index = pd.Index(positions + 1, name=PERSON_NUMBER)
        return out

    def person_rows(self, positions: np.ndarray, limit: int = MAX_PERSON_ROWS) -> pd.DataFrame:
        """The train rows of the member people at ``positions`` (at most ``limit``), people
        in that order; column ``person #`` says whose (as in :meth:`rows`)."""
        codes = self.people.codes[: self.audited.n_train]
        picked = rows_of(codes, positions, limit)
        out = self.audited.train.iloc[picked].copy()
        out.insert(0, PERSON_NUMBER, codes[picked] + 1)
        return out

    def saved_person_rows(self, tops: Sequence[np.ndarray]) -> pd.DataFrame:
        """What a file saved without the data keeps of the people's rows: for each list of
        people in ``tops`` (each attack's most exposed, in order) the rows
        :meth:`person_rows` lists, all of them once, in train order."""
        codes = self.people.codes[: self.audited.n_train]
        picked = [rows_of(codes, top, MAX_PERSON_ROWS) for top in tops]
        union = np.unique(np.concatenate([np.zeros(0, np.intp), *picked]))
        out = self.audited.train.iloc[union].copy()
        out.insert(0, PERSON_NUMBER, codes[union] + 1)
        return out

    def slice_choices(self) -> list[str]:
        """The columns in both frames that are constant within every person (slices
        group people; a column that varies within one cannot slice)."""
        if "choices" not in self._memo:
            train, test = self.audited.train, self.audited.test
            both = [c for c in train.columns if c in set(test.columns)]
            frame = pd.concat([train[both], test[both]], ignore_index=True)
            n_unique = frame.groupby(self.people.codes).nunique(dropna=False)
            self._memo["choices"] = [
                str(c) for c in both if n_unique.empty or int(n_unique[c].max()) <= 1
            ]
        found: list[str] = self._memo["choices"]  # type: ignore[assignment]
        return list(found)

    def groups(self, col: str, *, masked: bool) -> ValueGroups:
        if varying_note(self.audited, col) is not None:
            return ValueGroups(np.full(self.people.n_people, -1), [], masked)  # no group
        first = self._first_rows()
        values = self.audited.column(col).iloc[first].reset_index(drop=True)
        return value_groups(values, masked=masked)

    def check_view(self, slice: str | None, redact: Sequence[str], flag: int) -> None:
        super().check_view(slice, redact, flag)
        if slice is not None and (note := varying_note(self.audited, slice)) is not None:
            raise MiaValueError(note.replace("No slices by", "Cannot slice by") + ".")
