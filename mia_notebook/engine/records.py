"""What a report knows of the audited rows beyond their scores.

A report lists the rows of its most exposed members and groups records by a column's
values (its slices). A fresh audit reads both from the caller's frames
(:class:`LiveRecords`). A report loaded from a file saved without its data
(:func:`mia_notebook.load`) has only what the saved report showed
(:class:`SavedRecords`): the rows of the most exposed members under each attack,
with the redaction of the time applied, and the groups of the target and slice
columns. Asking it for more raises :class:`RecordsNotSaved`, which names the fix
(``report.save(path, include_data=True)``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .data import AuditData, check_view_columns
from .errors import MiaValueError
from .grouping import ValueGroups, mask_groups, slice_groups

__all__ = ["LiveRecords", "Records", "RecordsNotSaved", "SavedRecords"]

_SAVE_HINT = "save the audit with report.save(path, include_data=True) to keep its data"


class RecordsNotSaved(MiaValueError):
    """A loaded report was asked for rows or columns its file does not hold."""


class Records(ABC):
    """The rows behind a report's scores (members first, as in ``report.scores``)."""

    @property
    @abstractmethod
    def train_columns(self) -> pd.Index:
        """Columns of the members' frame."""

    @property
    @abstractmethod
    def test_columns(self) -> pd.Index:
        """Columns of the non-members' frame."""

    @property
    def data(self) -> AuditData | None:
        """The caller's frames, when the records hold them (else None)."""
        return None

    @abstractmethod
    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """The members' rows at ``positions`` (rows of ``train``), in that order."""

    @abstractmethod
    def groups(self, col: str, *, masked: bool) -> ValueGroups:
        """Every record's group for column ``col`` (labels masked for a redacted one)."""

    def slice_choices(self) -> list[str]:
        """The columns a view may offer to slice by: those in both frames."""
        test = {str(c) for c in self.test_columns}
        return [str(c) for c in self.train_columns if str(c) in test]

    def check_view(self, slice: str | None, redact: Sequence[str], flag: int) -> None:
        """Raise a clear error for a view these records cannot show."""
        check_view_columns(slice, redact, self.train_columns, self.test_columns)


@dataclass(frozen=True, eq=False)
class LiveRecords(Records):
    """Records read from the caller's frames (never copied or written)."""

    audited: AuditData

    @property
    def train_columns(self) -> pd.Index:
        return self.audited.train.columns

    @property
    def test_columns(self) -> pd.Index:
        return self.audited.test.columns

    @property
    def data(self) -> AuditData:
        return self.audited

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        out: pd.DataFrame = self.audited.train.iloc[positions]
        return out

    def groups(self, col: str, *, masked: bool) -> ValueGroups:
        return slice_groups(self.audited, col, masked=masked)


@dataclass(frozen=True, eq=False)
class SavedRecords(Records):
    """What a report saved without its data holds of its rows.

    Attributes
    ----------
    saved_rows : DataFrame
        The members' rows the saved report could list, indexed like ``train``, with
        the columns redacted at saving already masked.
    positions : ndarray of int
        Each saved row's position in ``train`` (same order as ``saved_rows``).
    columns : (Index, Index)
        The columns of ``train`` and of ``test``.
    saved_groups : dict of str to ValueGroups
        The groups of the columns the saved report sliced by (the target, the slice).
    redacted : tuple of str
        Columns redacted at saving: their values are not in the file.
    flag : int
        How many rows per attack were saved (the largest flag count it can show).
    """

    saved_rows: pd.DataFrame
    positions: np.ndarray
    columns: tuple[pd.Index, pd.Index]
    saved_groups: dict[str, ValueGroups] = field(default_factory=dict)
    redacted: tuple[str, ...] = ()
    flag: int = 0

    @property
    def train_columns(self) -> pd.Index:
        return self.columns[0]

    @property
    def test_columns(self) -> pd.Index:
        return self.columns[1]

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        where = {int(p): i for i, p in enumerate(self.positions)}
        missing = [int(p) for p in positions if int(p) not in where]
        if missing:
            raise RecordsNotSaved(
                f"This report was loaded from a file that holds the rows of the {self.flag} "
                f"most exposed members under each attack, not row {missing[0]} of train; "
                f"{_SAVE_HINT}."
            )
        out: pd.DataFrame = self.saved_rows.iloc[[where[int(p)] for p in positions]]
        return out

    def groups(self, col: str, *, masked: bool) -> ValueGroups:
        found = self.saved_groups.get(col)
        if found is None:
            raise RecordsNotSaved(
                f"Cannot slice by '{col}': this report was loaded from a file that holds "
                f"the groups of {sorted(self.saved_groups)} only, not the column's "
                f"values; {_SAVE_HINT}."
            )
        if found.masked and not masked:
            raise RecordsNotSaved(_redacted_message([col]))
        return mask_groups(found) if masked else found

    def slice_choices(self) -> list[str]:
        """The columns whose groups the file holds (the target and the saved slice)."""
        return [c for c in super().slice_choices() if c in self.saved_groups]

    def check_view(self, slice: str | None, redact: Sequence[str], flag: int) -> None:
        super().check_view(slice, redact, flag)
        lifted = [c for c in self.redacted if c not in redact]
        if lifted:
            raise RecordsNotSaved(_redacted_message(lifted))
        if slice is not None:
            self.groups(slice, masked=slice in redact)
        if flag > self.flag:
            raise RecordsNotSaved(
                f"The 'flag' parameter can be at most {self.flag} for this report: its file "
                f"holds the rows of the {self.flag} most exposed members under each attack. "
                f"Got {flag}; {_SAVE_HINT}."
            )


def _redacted_message(columns: list[Any]) -> str:
    return (
        f"Columns {columns} were redacted when this report was saved: their values are not "
        "in the file, so they stay redacted (keep them in 'redact')."
    )
