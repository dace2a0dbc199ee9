""":func:`load`: a saved report back as an :class:`~.results.AuditReport`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .errors import MiaError, MiaValueError
from .options import AuditOptions
from .people import people_of
from .person_scores import PeopleRecords, SavedPeopleRecords
from .records import LiveRecords, Records, SavedRecords
from .results import AuditReport
from .run_info import RunInfo
from .saving import ReportFile, read_report

__all__ = ["load"]


def _records(file: ReportFile) -> Records:
    if file.data is not None:
        person = file.options.get("person")
        if person:  # the people behind a person-level report, from the saved frames
            train, test = file.data.train, file.data.test
            return PeopleRecords(replace(file.data, people=people_of(train, test, person)))
        return LiveRecords(file.data)
    assert file.rows is not None and file.positions is not None
    saved = SavedRecords(
        saved_rows=file.rows,
        positions=file.positions,
        columns=file.columns,
        saved_groups=file.groups,
        redacted=file.redacted,
        flag=file.flag,
    )
    if file.person_rows is not None:  # person=: the saved people's rows too
        return SavedPeopleRecords(**saved.__dict__, saved_rows_of_people=file.person_rows)
    return saved


def _options(file: ReportFile, path: Path) -> AuditOptions:
    try:  # a fit= function is saved as its name only: the loaded options have none
        return AuditOptions(**{**file.options, "fit": None})
    except (MiaError, TypeError) as e:
        raise MiaValueError(
            f"The options saved in '{path}' are not valid here: {e} (an attack added with "
            "register_attack must be registered again before loading)."
        ) from None


def _fit_note(file: ReportFile) -> list[str]:
    """What a loaded report says of the fit= function it was audited with."""
    name = file.options.get("fit")
    if not isinstance(name, str):
        return []
    note = (
        f"audited with fit={name}, which is not saved (callables never are): options.fit "
        "is None; pass fit= again to repeat the audit"
    )
    return [] if note in file.notes else [note]


def load(path: str | Path) -> AuditReport:
    """Load an audit saved with :meth:`AuditReport.save`.

    The report renders exactly like the one saved (HTML, text and the notebook
    extension's JSON), takes new views with :meth:`~AuditReport.with_options` (e.g.
    ``policy=`` to judge it again) and goes into :func:`mia_notebook.compare` next to
    fitted models. Saved without ``include_data=True``, it can list at most the flag
    count it was saved with and slice by the target and the saved slice column only;
    asking for more raises an error that says so.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    AuditReport

    Raises
    ------
    MiaValueError
        Not a saved report, a damaged one, or a format version this package does not
        read (the message says which, and what to do).
    """
    path = Path(path)
    file = read_report(path)
    return AuditReport(
        scores=file.scores,
        options=_options(file, path),
        info=RunInfo.from_dict(file.info),
        skipped=dict(file.skipped),
        notes=(*file.notes, *_fit_note(file)),
        versions=dict(file.versions),
        fingerprints=dict(file.fingerprints),
        timings=dict(file.timings),
        records=_records(file),
        row_scores=file.row_scores,
    )
