"""Saved reports: report.save(path) and mia_notebook.load(path).

A loaded report renders byte for byte like the original (HTML, text and the extension's
JSON; every run-specific value, timings included, is saved, so nothing needs stripping),
takes new views and a new policy from its saved scores, and says clearly what it cannot
do without its data. The file is a zip of JSON (valid against the schema in the
repository) and ``.npy`` arrays: exact floats, no pickle.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

import mia_notebook as mn
from mia_notebook.engine.records import RecordsNotSaved
from mia_notebook.engine.saving import FORMAT_VERSION, SCHEMA
from mia_notebook.render.bundle import render_bundle
from mia_notebook.render.mime import MIME_TYPE, payload_json
from mia_notebook.render.text import render_text

FEATURES = ["mean radius", "mean texture", "mean smoothness", "mean symmetry"]


def _frames(cancer_splits):
    """The cancer frames with every kind of column the codec must keep: strings (a
    redacted id), a categorical, nullable ints with a gap, datetimes, booleans, NaN, and
    a two-level index."""
    out = []
    for k, df in enumerate(cancer_splits):
        n = len(df)
        frame = df[[*FEATURES, "label"]].assign(
            ssn=[f"{k}99-{i:04d}" for i in range(n)],
            grade=pd.Categorical(np.where(np.arange(n) % 3 == 0, "A", "B")),
            visits=pd.array([None if i % 7 == 0 else i % 5 for i in range(n)], dtype="Int64"),
            seen=pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), unit="D"),
            smoker=np.arange(n) % 2 == 0,
            note=[np.nan if i % 4 == 0 else f"n{i}" for i in range(n)],
        )
        frame.index = pd.MultiIndex.from_arrays(
            [np.full(n, f"site{k}"), df.index.to_numpy()], names=["site", "row"]
        )
        out.append(frame)
    return out


@pytest.fixture(scope="module")
def audited(cancer_splits):
    tr, te = _frames(cancer_splits)
    rf = RandomForestClassifier(n_estimators=25, random_state=0).fit(tr[FEATURES], tr["label"])
    report = mn.audit(
        rf,
        train=tr,
        test=te,
        target="label",
        features=FEATURES,
        attacks="loss,confidence,gap,rmia,rmia-offline",
        references=2,
        n_jobs=1,
        slice="grade",
        redact=["ssn"],
        flag=5,
        policy={"tpr_elevated": 0.06},
        progress=False,
    )
    return report, tr, te


@pytest.fixture(scope="module")
def saved(audited, tmp_path_factory):
    report, _, _ = audited
    folder = tmp_path_factory.mktemp("saved")
    return report.save(folder / "audit.mia"), report.save(folder / "full.mia", include_data=True)


def _views(report):
    return [
        report,
        report.with_options(fpr=[0.02, 0.3], flag=2, show=["loss", "rmia"]),
        report.with_options(policy={"tpr_elevated": 0.5, "tpr_high": 0.9}, confidence=0.9),
        report.with_options(redact=["ssn", "grade"]),
    ]


def test_a_loaded_report_renders_byte_for_byte_like_the_original(audited, saved):
    report, _, _ = audited
    for path in saved:
        loaded = mn.load(path)
        for original, again in zip(_views(report), _views(loaded), strict=True):
            first, second = render_bundle(original), render_bundle(again)
            assert set(first) == set(second) == {"text/plain", "text/html", MIME_TYPE}
            assert second["text/html"] == first["text/html"]
            assert render_text(again) == render_text(original) == second["text/plain"]
            assert payload_json(again) == payload_json(original)
            assert again.to_html() == original.to_html()


def test_scores_options_and_run_facts_come_back_exactly(audited, saved):
    report, _, _ = audited
    loaded = mn.load(saved[0])
    pd.testing.assert_frame_equal(loaded.scores, report.scores, check_exact=True)
    for attack in report.computed_attacks:  # every bit of every float64 score
        assert (
            loaded.scores[attack].to_numpy().tobytes() == report.scores[attack].to_numpy().tobytes()
        )
    assert loaded.options == report.options
    assert loaded.info == report.info
    assert (loaded.versions, loaded.fingerprints, loaded.timings) == (
        report.versions,
        report.fingerprints,
        report.timings,
    )
    assert loaded.skipped == report.skipped and loaded.notes == report.notes


def test_a_new_policy_judges_the_loaded_report_again(audited, saved):
    report, _, _ = audited
    loaded = mn.load(saved[0])
    strict = {"tpr_elevated": 0.9, "tpr_high": 1.0, "epsilon_elevated": 50, "epsilon_high": 60}
    again = loaded.with_options(policy=strict).verdict
    assert again.to_dict() == report.with_options(policy=strict).verdict.to_dict()
    assert again.level in ("none", "low") and again.policy.tpr_high == 1.0
    assert loaded.check(fail_on="high").level == report.verdict.level


def test_the_default_file_holds_no_frame_and_nothing_redacted(audited, saved):
    report, tr, _ = audited
    with zipfile.ZipFile(saved[0]) as zf:
        manifest = json.loads(zf.read("report.json"))
        raw = b"".join(zf.read(n) for n in zf.namelist())
        arrays = {
            n.removesuffix(".npy"): np.load(io.BytesIO(zf.read(n)), allow_pickle=False)
            for n in zf.namelist()
            if n.endswith(".npy")
        }
    assert not any(a.dtype == object for a in arrays.values())  # no pickled objects
    records = manifest["records"]
    assert records["kind"] == "saved" and records["flag"] == 5
    tops = {p for a in report.computed_attacks for p in report.member_order(a)[:5]}
    assert sorted(arrays[records["positions"]].tolist()) == sorted(tops)  # only these rows
    assert set(records["groups"]) == {"label", "grade"}
    assert tr["ssn"].iloc[0].encode() not in raw  # the redacted column never reaches it
    assert not any(s.encode() in raw for s in tr["ssn"])
    assert "■■■" in json.dumps(records["rows"], ensure_ascii=False)


def test_without_its_data_a_loaded_report_says_what_it_cannot_do(saved):
    loaded = mn.load(saved[0])
    with pytest.raises(RecordsNotSaved, match=r"Cannot slice by 'mean radius'.*include_data=True"):
        loaded.with_options(slice="mean radius")
    with pytest.raises(RecordsNotSaved, match=r"'flag' parameter can be at most 5.*include_data"):
        loaded.with_options(flag=6)
    with pytest.raises(
        RecordsNotSaved, match=r"\['ssn'\] were redacted when this report was saved"
    ):
        loaded.with_options(redact=[])
    with pytest.raises(RecordsNotSaved, match="include_data=True"):
        loaded.data  # noqa: B018
    with pytest.raises(RecordsNotSaved, match="include_data=True"):
        loaded.flagged(k=40, attack="loss")
    assert isinstance(RecordsNotSaved("x"), mn.MiaValueError)
    # within what was saved, any view works
    assert len(loaded.with_options(flag=3).flagged(attack="gap")) == 3
    assert not loaded.slices("grade").empty


def test_with_its_data_a_loaded_report_slices_by_any_column(audited, saved):
    report, tr, te = audited
    loaded = mn.load(saved[1])
    pd.testing.assert_frame_equal(loaded.data.train, tr, check_exact=True)
    pd.testing.assert_frame_equal(loaded.data.test, te, check_exact=True)
    assert loaded.data.features == tuple(FEATURES)
    view, fresh = (r.with_options(slice="visits", flag=40) for r in (loaded, report))
    pd.testing.assert_frame_equal(view.slices("visits"), fresh.slices("visits"))
    pd.testing.assert_frame_equal(view.flagged(attack="loss"), fresh.flagged(attack="loss"))


def test_the_file_matches_its_json_schema(saved):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    assert schema["properties"]["version"] == {"const": FORMAT_VERSION}
    for path in saved:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("report.json"))
            members = set(zf.namelist())
        jsonschema.validate(manifest, schema)
        named = _array_names(manifest)
        assert {f"{n}.npy" for n in named} == members - {"report.json"}
    broken = {**manifest, "records": {"kind": "saved"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def _array_names(node) -> set[str]:
    """Every array a manifest names (the values of its array-valued keys)."""
    keys = ("array", "codes", "positions", "member")
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, str):
                found.add(value)
            elif key == "attacks" and isinstance(value, dict):  # scores: attack -> array
                found |= {v for v in value.values() if isinstance(v, str)}
            else:
                found |= _array_names(value)
    elif isinstance(node, list):
        for value in node:
            found |= _array_names(value)
    return found


def _rewrite(path, out, change):
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "report.json":
                data = json.dumps(change(json.loads(data))).encode()
            dst.writestr(name, data)
    return out


def test_other_versions_and_other_files_give_clear_errors(saved, tmp_path):
    newer = _rewrite(saved[0], tmp_path / "v2.mia", lambda m: {**m, "version": 2})
    with pytest.raises(mn.MiaValueError, match=r"format version 2 .*reads version 1 only: upgrade"):
        mn.load(newer)
    older = _rewrite(saved[0], tmp_path / "v0.mia", lambda m: {**m, "version": 0})
    with pytest.raises(mn.MiaValueError, match="load it with the mia_notebook that saved it"):
        mn.load(older)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(mn.MiaValueError, match=r"is not a saved mia_notebook report \(not a zip"):
        mn.load(text)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("other.json", "{}")
    with pytest.raises(mn.MiaValueError, match=r"not a saved mia_notebook report \(no report.json"):
        mn.load(empty)


def test_a_report_saved_twice_is_the_same_report(saved, tmp_path):
    loaded = mn.load(saved[0])
    again = mn.load(loaded.save(tmp_path / "again.mia"))
    assert render_bundle(again)["text/html"] == render_bundle(loaded)["text/html"]
    with pytest.raises(RecordsNotSaved, match="include_data=True"):
        loaded.save(tmp_path / "full.mia", include_data=True)
