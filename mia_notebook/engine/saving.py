"""The saved-report file: a zip of ``report.json`` and NumPy ``.npy`` arrays.

``report.json`` holds the format name and version, the options, the run information,
the provenance and the description of every frame and index (see
:mod:`.frame_codec`); its layout is the JSON Schema ``report_file.schema.json`` next to
this module. Scores and other numeric columns are ``.npy`` files (exact float64, read
with ``allow_pickle=False``): no pickle anywhere, so loading a file runs no code.

This module knows files and frames, not reports: :meth:`AuditReport.save` hands it a
:class:`ReportFile`, and :func:`mia_notebook.load` builds the report from one.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._version import __version__
from .data import AuditData
from .errors import MiaValueError
from .frame_codec import Arrays, decode_frame, decode_index, encode_frame, encode_index, store
from .grouping import ValueGroups

__all__ = ["FORMAT", "FORMAT_VERSION", "SCHEMA", "ReportFile", "read_report", "write_report"]

FORMAT = "mia-notebook-report"
#: Bump when a file's meaning changes; :func:`read_report` refuses other versions.
FORMAT_VERSION = 1
#: The JSON Schema of ``report.json``.
SCHEMA = Path(__file__).with_name("report_file.schema.json")
_MANIFEST = "report.json"


@dataclass(frozen=True)
class ReportFile:
    """What a saved report holds, as frames and plain values.

    Attributes
    ----------
    scores : DataFrame
        The report's scores (index ``(split, index)``, ``member``, one column per attack).
    options, info : dict
        ``AuditOptions.to_dict()`` and ``RunInfo.to_dict()``.
    skipped, notes, versions, fingerprints, timings
        As in the report.
    columns : (Index, Index)
        The columns of ``train`` and ``test``.
    data : AuditData or None
        The audited frames (``include_data=True``); else the four fields below.
    rows : DataFrame or None
        The members' rows the report may list (redaction applied), indexed like train.
    positions : ndarray of int or None
        Their positions in ``train``.
    groups : dict of str to ValueGroups
        Every record's group for the columns the report slices by.
    redacted : tuple of str
        Columns redacted when saving.
    flag : int
        Rows saved per attack.
    row_scores : DataFrame or None
        Under ``person=``: every row's scores (``scores`` then holds one per person).
    person_rows : DataFrame or None
        Under ``person=``, without the data: the saved people's rows the views list on
        expand (train rows with a ``person #`` column, redaction applied, train order).
    """

    scores: pd.DataFrame
    options: dict[str, Any]
    info: dict[str, Any]
    skipped: dict[str, str]
    notes: list[str]
    versions: dict[str, str]
    fingerprints: dict[str, str]
    timings: dict[str, float]
    columns: tuple[pd.Index, pd.Index]
    data: AuditData | None = None
    rows: pd.DataFrame | None = None
    positions: np.ndarray | None = None
    groups: dict[str, ValueGroups] = field(default_factory=dict)
    redacted: tuple[str, ...] = ()
    flag: int = 0
    row_scores: pd.DataFrame | None = None
    person_rows: pd.DataFrame | None = None


def _json_safe(obj: Any) -> Any:
    """``obj`` with non-finite floats as None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _records_spec(file: ReportFile, arrays: Arrays) -> dict[str, Any]:
    if file.data is not None:
        return {
            "kind": "data",
            "train": encode_frame(file.data.train, arrays, "train"),
            "test": encode_frame(file.data.test, arrays, "test"),
            "pass_frame": file.data.pass_frame,
        }
    assert file.rows is not None and file.positions is not None
    groups = {
        col: {
            "order": list(g.order),
            "masked": g.masked,
            "codes": _codes(g, arrays),
        }
        for col, g in file.groups.items()
    }
    people = (
        {}
        if file.person_rows is None
        else {"person_rows": encode_frame(file.person_rows, arrays, "person_rows")}
    )
    return {
        "kind": "saved",
        **people,
        "rows": encode_frame(file.rows, arrays, "rows"),
        "positions": store(arrays, "positions", np.asarray(file.positions, dtype=np.int64)),
        "groups": groups,
        "redacted": list(file.redacted),
        "flag": int(file.flag),
    }


def _codes(groups: ValueGroups, arrays: Arrays) -> str:
    return store(arrays, "groups", groups.codes.astype(np.int32))


def _scores_spec(scores: pd.DataFrame, arrays: Arrays, prefix: str) -> dict[str, Any]:
    attacks = [c for c in scores.columns if c != "member"]
    return {
        "index": encode_index(scores.index, arrays, f"{prefix}_index"),
        "member": store(arrays, "member", scores["member"].to_numpy(dtype=bool)),
        "attacks": {a: store(arrays, "score", scores[a].to_numpy()) for a in attacks},
    }


def _manifest(file: ReportFile, arrays: Arrays) -> dict[str, Any]:
    rows = (
        {}
        if file.row_scores is None
        else {"row_scores": _scores_spec(file.row_scores, arrays, "row_scores")}
    )
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "saved_by": __version__,
        "options": _json_safe(file.options),
        "info": _json_safe(file.info),
        "skipped": dict(file.skipped),
        "notes": list(file.notes),
        "versions": dict(file.versions),
        "fingerprints": dict(file.fingerprints),
        "timings": _json_safe(file.timings),
        "scores": _scores_spec(file.scores, arrays, "scores"),
        "columns": {
            "train": encode_index(file.columns[0], arrays, "columns"),
            "test": encode_index(file.columns[1], arrays, "columns"),
        },
        "records": _records_spec(file, arrays),
        **rows,
    }


def write_report(path: Path, file: ReportFile) -> Path:
    """Write ``file`` to ``path`` (a zip: ``report.json`` and one ``.npy`` per array)."""
    arrays: Arrays = {}
    manifest = _manifest(file, arrays)
    text = json.dumps(manifest, allow_nan=False, indent=1, ensure_ascii=False)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_MANIFEST, text)
        for name, values in arrays.items():
            buf = io.BytesIO()
            np.save(buf, values, allow_pickle=False)
            # floats barely compress (random low bits) and deflating them is slow: stored;
            # the rest (indexes, flags, codes) deflated at the fastest level
            kind = zipfile.ZIP_STORED if values.dtype.kind in "fc" else zipfile.ZIP_DEFLATED
            zf.writestr(f"{name}.npy", buf.getvalue(), compress_type=kind, compresslevel=1)
    return path


def read_manifest(path: Path) -> tuple[dict[str, Any], Arrays]:
    """``report.json`` and the arrays of the file at ``path``; clear errors for a file
    that is not a saved report or comes from another format version."""
    try:
        with zipfile.ZipFile(path) as zf:
            if _MANIFEST not in zf.namelist():
                raise MiaValueError(
                    f"'{path}' is not a saved mia_notebook report (no {_MANIFEST})."
                )
            try:
                manifest = json.loads(zf.read(_MANIFEST))
            except json.JSONDecodeError as e:
                raise MiaValueError(f"'{path}' holds a damaged {_MANIFEST}: {e}.") from None
            check_version(manifest, path)
            arrays = {
                name[:-4]: np.load(io.BytesIO(zf.read(name)), allow_pickle=False)
                for name in zf.namelist()
                if name.endswith(".npy")
            }
    except zipfile.BadZipFile:
        raise MiaValueError(
            f"'{path}' is not a saved mia_notebook report (not a zip file). Save one with "
            "report.save(path)."
        ) from None
    return manifest, arrays


def check_version(manifest: Any, path: Path) -> None:
    """Raise a clear error unless ``manifest`` is this format at this version."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise MiaValueError(f"'{path}' is not a saved mia_notebook report.")
    version = manifest.get("version")
    if version != FORMAT_VERSION:
        saved_by = manifest.get("saved_by", "an unknown version")
        newer = isinstance(version, int) and version > FORMAT_VERSION
        fix = (
            "upgrade mia_notebook (pip install -U mia_notebook)"
            if newer
            else ("load it with the mia_notebook that saved it")
        )
        raise MiaValueError(
            f"'{path}' is a saved report of format version {version!r} (saved by "
            f"mia_notebook {saved_by}); this mia_notebook {__version__} reads version "
            f"{FORMAT_VERSION} only: {fix}."
        )


def _scores(spec: dict[str, Any], arrays: Arrays) -> pd.DataFrame:
    index = decode_index(spec["index"], arrays)
    columns = {
        "member": arrays[spec["member"]],
        **{a: arrays[n] for a, n in spec["attacks"].items()},
    }
    frame: pd.DataFrame = pd.DataFrame(columns, index=index)
    return frame


def _groups(spec: dict[str, Any], arrays: Arrays) -> ValueGroups:
    order = [str(g) for g in spec["order"]]
    return ValueGroups(arrays[spec["codes"]], order, bool(spec["masked"]))


def read_report(path: Path) -> ReportFile:
    """The :class:`ReportFile` saved at ``path``."""
    manifest, arrays = read_manifest(path)
    info, rec = manifest["info"], manifest["records"]
    columns = (
        decode_index(manifest["columns"]["train"], arrays),
        decode_index(manifest["columns"]["test"], arrays),
    )
    base = ReportFile(
        scores=_scores(manifest["scores"], arrays),
        options=manifest["options"],
        info=info,
        skipped=manifest["skipped"],
        notes=manifest["notes"],
        versions=manifest["versions"],
        fingerprints=manifest["fingerprints"],
        timings=manifest["timings"],
        columns=columns,
        row_scores=_scores(manifest["row_scores"], arrays) if "row_scores" in manifest else None,
    )
    if rec["kind"] == "data":
        train, test = decode_frame(rec["train"], arrays), decode_frame(rec["test"], arrays)
        data = AuditData(train, test, info["target"], tuple(info["features"]), rec["pass_frame"])
        return ReportFile(**{**base.__dict__, "data": data})
    return ReportFile(
        **{
            **base.__dict__,
            "rows": decode_frame(rec["rows"], arrays),
            "positions": arrays[rec["positions"]].astype(np.intp),
            "groups": {c: _groups(g, arrays) for c, g in rec["groups"].items()},
            "redacted": tuple(rec["redacted"]),
            "flag": int(rec["flag"]),
            "person_rows": (
                decode_frame(rec["person_rows"], arrays) if "person_rows" in rec else None
            ),
        }
    )
