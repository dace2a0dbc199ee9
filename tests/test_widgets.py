"""AuditPanel logic without a browser: set controls in Python, check the report.

Runs use the real :func:`mia_notebook.audit` with cheap settings (small forests, few
reference models); nothing stands in for it.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ipywidgets as W
import numpy as np
import pytest
from conftest import NON_DEFAULT, features, with_patients
from ipywidgets.widgets.widget import _instances as widget_instances
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import mia_notebook as mn
from mia_notebook.engine import metrics
from mia_notebook.panel import AuditPanel, show_panel
from mia_notebook.panel import runner as panel_runner
from mia_notebook.panel import view as panel_view
from mia_notebook.render.format import fmt_number
from mia_notebook.render.mime import MIME_TYPE, report_payload
from mia_notebook.render.text import render_text

THRESHOLD = ["loss", "confidence", "entropy"]
ROOT = Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _noisy(frame: Any, rng: np.random.Generator, share: float = 0.3) -> Any:
    """``frame`` with ``share`` of its labels flipped (a forest memorises them)."""
    flip = rng.random(len(frame)) < share
    return frame.assign(label=np.where(flip, 1 - frame.label, frame.label))


@pytest.fixture(scope="module")
def fitted(cancer_splits):
    # Noisy labels make the forest leak enough that the verdict identifies members
    # (about 25 at 1% FPR), so the flagged list and the record inspector have rows.
    rng = np.random.default_rng(0)
    tr, te = (_noisy(f, rng) for f in cancer_splits)
    tr = tr.assign(ssn=[f"999-{i:04d}" for i in range(len(tr))])
    te = te.assign(ssn=[f"888-{i:04d}" for i in range(len(te))])
    clf = RandomForestClassifier(n_estimators=20, random_state=0).fit(
        features(tr).drop(columns=["ssn"]), tr["label"]
    )
    return clf, tr, te


@pytest.fixture(scope="module")
def base_report(fitted):
    clf, tr, te = fitted
    return mn.audit(
        clf, train=tr, test=te, target="label", attacks=THRESHOLD, redact=["ssn"], n_jobs=1
    )


@pytest.fixture
def panel(fitted, base_report):
    return AuditPanel(base_report, model=fitted[0])


@pytest.fixture
def published(monkeypatch):
    """Capture display / update_display calls made by the panel."""
    calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    monkeypatch.setattr(panel_view, "display", lambda b, **kw: calls.append(("display", b, kw)))
    monkeypatch.setattr(
        panel_view, "update_display", lambda b, **kw: calls.append(("update", b, kw))
    )
    return calls


def _table_numbers(html: str) -> list[str]:
    """Header and cell texts of the first (risk by attack) table."""
    table = html.split("<table", 2)[1]
    return re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", table)


# ----------------------------------------------------------------- instant settings
def test_fpr_target_changes_tpr_column_and_table(panel):
    before = _table_numbers(panel.view_html)
    assert panel.report.options.fpr == (panel.fpr.value,)
    panel.fpr.value = 0.1
    rep = panel.report
    assert rep.options.fpr == (0.1,)
    assert "TPR@10%FPR" in rep.summary.columns and "TPR@10%FPR" in panel.view_html
    for name in rep.attacks:
        curve = metrics.roc(rep.scores[name].to_numpy(), rep.members)
        expected = metrics.tpr_at_fpr(curve, 0.1).tpr
        assert rep.summary.at[name, "TPR@10%FPR"] == pytest.approx(expected)
    assert _table_numbers(panel.view_html) != before
    # a looser FPR never finds fewer members
    panel.fpr.value = 0.5
    for name in rep.attacks:
        assert panel.report.summary.at[name, "TPR@50%FPR"] >= rep.summary.at[name, "TPR@10%FPR"]
    assert panel.last_error is None


def test_view_reuses_scores_no_reaudit(panel, monkeypatch):
    def fail(*a: Any, **k: Any) -> None:
        pytest.fail("instant change re-audited")

    monkeypatch.setattr(panel_runner, "audit", fail)  # the panel's only route to audit()
    assert not hasattr(panel_view, "audit")
    scores = panel.report.scores
    panel.fpr.value = 0.05
    panel.flag.value = 4
    panel.slice.value = "mean radius"
    assert panel.report.scores is scores
    assert panel.timings["total"] > 0


def test_flag_count_and_record_options(panel):
    panel.flag.value = 4
    assert len(panel.report.flagged()) == 4
    assert len(panel.record.options) == 5  # placeholder + 4 records
    panel.flag.value = 0
    assert panel.report.flagged().empty
    assert "No records listed" in panel.view_html


def test_slice_dropdown_lists_columns_and_slices(panel):
    values = [v for _, v in panel.slice.options]
    assert "" in values and "mean radius" in values and "label" not in values
    panel.slice.value = "mean radius"
    assert panel.report.options.slice == "mean radius"
    assert "By mean radius" in panel.view_html
    panel.slice.value = ""
    assert panel.report.options.slice is None


def test_redaction_masks_and_caller_redaction_is_locked(panel, fitted):
    _, tr, _ = fitted
    panel.flag.value = 5
    assert "999-" not in panel.view_html
    col = "mean texture"
    shown = [fmt_number(v) for v in tr[col].iloc[panel.report.flagged_positions()]]
    assert any(s in panel.view_html for s in shown)
    payload = json.dumps(_area_data(panel)[MIME_TYPE])
    assert "999-" not in payload and any(s in payload for s in shown)
    panel.redact.value = (*panel.redact.value, col)
    assert col in panel.report.options.redact
    assert not any(s in panel.view_html for s in shown)
    # Redaction is applied in the kernel before the renderer's JSON is written: the
    # report area's payload (what the browser holds) never had the values.
    payload = json.dumps(_area_data(panel)[MIME_TYPE])
    assert not any(s in payload for s in shown) and "999-" not in payload
    panel.redact.value = ()  # try to un-redact the caller's column
    assert "ssn" in panel.redact.value and "ssn" in panel.report.options.redact
    assert "stays redacted" in panel.status.value
    assert "999-" not in panel.view_html


def test_attack_subset_is_instant_and_new_attack_waits_for_run(panel):
    panel.attacks.value = ("loss",)
    assert list(panel.report.summary.index) == ["loss"]
    assert panel.run_button.disabled
    extra = next((a for a in mn.available_attacks() if a not in THRESHOLD), None)
    if extra is None:
        pytest.skip("no attack beyond the computed ones is registered")
    panel.attacks.value = ("loss", extra)
    assert list(panel.report.summary.index) == ["loss"]  # not computed yet
    assert not panel.run_button.disabled and panel.run_button.button_style == "warning"
    assert extra in panel.status.value and "Run" in panel.status.value
    assert any(extra in p for p in panel.pending())


def test_no_pyplot_figures(panel):
    import matplotlib.pyplot as plt

    panel.fpr.value = 0.02
    panel.flag.value = 3
    panel.record.value = panel.record.options[1][1]
    assert plt.get_fignums() == []


# ------------------------------------------------------------------ report area
def _area_data(panel: AuditPanel) -> dict[str, Any]:
    """The bundle the report area (an Output widget) shows now."""
    (output,) = panel.report_area.outputs
    assert output["output_type"] == "display_data"
    return output["data"]


def _tree(widget: Any) -> list[Any]:
    """``widget`` and every widget inside it (children, depth first)."""
    return [widget, *(w for c in getattr(widget, "children", ()) for w in _tree(c))]


def test_report_area_shows_the_renderers_bundle_of_each_view(panel):
    """The report area is an Output holding JSON + HTML + text (no widget view), so
    JupyterLab's rendermime picks the extension's renderer inside the live widget."""
    assert isinstance(panel.report_area, W.Output) and panel.report_area in panel.widget.children
    data = _area_data(panel)
    assert set(data) == {MIME_TYPE, "text/html", "text/plain"}
    assert data[MIME_TYPE] == report_payload(panel.report)
    assert data["text/html"] == panel.view_html and "<table" in panel.view_html
    assert data["text/plain"] == render_text(panel.report)
    panel.fpr.value = 0.2
    panel.flag.value = 2
    data = _area_data(panel)
    assert data[MIME_TYPE]["fpr_targets"] == [0.2] and data[MIME_TYPE]["flagged"]["limit"] == 2
    assert "TPR@20%FPR" in data["text/html"]
    json.dumps(data[MIME_TYPE], allow_nan=False)
    # The outer display's JSON is the one the area shows (built once per view).
    assert panel.bundle()[MIME_TYPE] is data[MIME_TYPE]


def test_kernel_controls_are_marked_for_the_extensions_stylesheet(panel):
    """Only the FPR slider duplicates a renderer control; everything the JSON cannot do
    (Run settings, flag count, slice, redaction, record inspector) stays unmarked, and
    the stylesheet that hides/shows by these classes is the one the extension ships."""
    marked = [w for w in _tree(panel.widget) if "mia-kernel-instant" in w._dom_classes]
    assert marked == [panel.fpr]
    assert "mia-audit-panel" in panel.widget._dom_classes
    assert "mia-report-area" in panel.report_area._dom_classes
    css = (ROOT / "labextension" / "style" / "index.css").read_text()
    built = "".join(p.read_text() for p in (ROOT / "mia_notebook/labextension").rglob("*.js"))
    rule = ".mia-audit-panel:has(.mia-report-area [data-mia-report]) .mia-kernel-instant"
    assert rule in css and rule in built, rule


def test_slice_column_reaches_the_renderers_json(panel):
    """The renderer draws the slice tables from the report's JSON (no kernel-only copy):
    a new slice column is one more table there, with the static report's heading."""
    panel.flag.value = 3
    panel.slice.value = "mean radius"
    slices = _area_data(panel)[MIME_TYPE]["slices"]
    assert [s["column"] for s in slices] == ["label", "mean radius"]
    for s in slices:
        assert f"<h4>{s['heading']}</h4>" in panel.view_html
    panel.slice.value = ""
    assert [s["column"] for s in _area_data(panel)[MIME_TYPE]["slices"]] == ["label"]


def test_updates_never_recreate_widgets(panel, published):
    """Instant changes, the record inspector and a Run replace the report area's content
    only: every widget (and the displayed widget view) stays the same object."""
    panel.display()
    before = [(w, w.model_id) for w in _tree(panel.widget)]
    count = len(widget_instances)
    panel.fpr.value = 0.05
    panel.flag.value = 3
    panel.slice.value = "mean radius"
    panel.redact.value = (*panel.redact.value, "mean texture")
    panel.record.value = panel.record.options[1][1]
    panel.seed.value = 11
    panel.run()
    assert panel.wait(120) and panel.runner.outcome == "done"
    assert [(w, w.model_id) for w in _tree(panel.widget)] == before
    assert len(widget_instances) == count
    assert panel.report.options.seed == 11
    assert _area_data(panel)[MIME_TYPE]["settings"]["seed"] == 11
    views = [b[WIDGET_MIME]["model_id"] for _, b, _ in published]
    assert set(views) == {panel.widget.model_id} and len(views) > 5


# ------------------------------------------------------------------ display
def test_display_bundle_has_widget_and_static_fallback(panel, published):
    panel.display()
    kind, bundle, kw = published[-1]
    assert kind == "display" and kw["raw"] is True
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == panel.widget.model_id and view["version_major"] == 2
    assert "<table" in bundle["text/html"] and "data:image/png;base64," in bundle["text/html"]
    assert bundle["text/plain"].startswith("Privacy risk: ")
    panel.fpr.value = 0.2
    kind, bundle, kw2 = published[-1]
    assert kind == "update" and kw2["display_id"] == kw["display_id"]
    assert "TPR@20%FPR" in bundle["text/html"] and "FPR target 20%" in bundle["text/html"]
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == view["model_id"]


def test_display_bundle_carries_the_renderers_json_of_the_current_view(panel, published):
    """A notebook reopened without its kernel (or untrusted) gets the interactive report
    from the JupyterLab extension instead of a dead widget: the JSON follows every view."""
    from mia_notebook.render.mime import MIME_TYPE, report_payload

    panel.display()
    first = published[-1][1][MIME_TYPE]
    assert first == report_payload(panel.report)
    assert first["verdict"]["reason"] == panel.report.verdict.reason
    panel.fpr.value = 0.2
    panel.flag.value = 2
    kind, bundle, _ = published[-1]
    payload = bundle[MIME_TYPE]
    assert kind == "update" and payload == report_payload(panel.report)
    assert payload["fpr_targets"] == [0.2] and payload["flagged"]["limit"] == 2
    assert len(payload["flagged"]["rows"]) <= 2
    json.dumps(payload, allow_nan=False)


def test_static_fallback_includes_inspected_record(panel, published):
    panel.display()
    panel.flag.value = 3
    panel.record.value = panel.record.options[2][1]
    html = published[-1][1]["text/html"]
    assert "Record train[" in html


def test_show_panel_displays_and_returns_panel(fitted, base_report, published):
    clf, tr, te = fitted
    panel = show_panel(base_report, model=clf, train=tr, test=te)
    assert isinstance(panel, AuditPanel)
    assert [k for k, _, _ in published] == ["display"]


def test_ipython_display_hook(panel, published):
    panel._ipython_display_()
    assert published[-1][0] == "display"


# ------------------------------------------------------------------ errors
def test_callback_error_is_shown_in_panel(panel, monkeypatch):
    def boom(report: Any) -> str:
        raise RuntimeError("renderer exploded <b>")

    monkeypatch.setattr(panel_view, "render_bundle", boom)
    panel.fpr.value = 0.05  # must not raise
    assert panel.last_error == "RuntimeError: renderer exploded <b>"
    assert "renderer exploded &lt;b&gt;" in panel.status.value
    assert "Traceback" in panel.status.value
    monkeypatch.undo()
    panel.fpr.value = 0.1
    assert panel.last_error is None and "Error" not in panel.status.value


def test_construct_from_model_arguments(fitted):
    clf, tr, te = fitted
    panel = AuditPanel(clf, train=tr, test=te, target="label", attacks=["loss"])
    assert panel.report.computed_attacks == ["loss"]
    with pytest.raises(mn.MiaValueError, match="target"):
        AuditPanel(clf, train=tr, test=te)


# ------------------------------------------------------------------ Run / Cancel
def test_run_reaudits_with_new_seed_and_keeps_view(panel):
    panel.fpr.value = 0.1
    panel.seed.value = 7
    assert not panel.run_button.disabled
    kwargs = panel.audit_arguments()
    assert kwargs["options"] == panel._base.options.replace(seed=7)  # nothing else changes
    assert kwargs["target"] == "label" and kwargs["train"] is panel.train
    panel.run()
    assert panel.wait(120)
    assert panel.last_error is None and panel.runner.outcome == "done"
    assert panel.report.options.seed == 7
    assert panel.report.info.target == "label"
    assert set(panel.report.computed_attacks) == set(THRESHOLD)
    assert panel.report.options.fpr == (0.1,)
    assert panel.run_button.disabled and panel.cancel_button.disabled
    assert "Done" in panel.progress_label.value
    payload = _area_data(panel)[MIME_TYPE]
    assert payload == report_payload(panel.report) and payload["settings"]["seed"] == 7


def _wait_for(condition: Any, seconds: float = 120.0) -> bool:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return True
        threading.Event().wait(0.01)
    return False


def test_cancel_stops_training_reenables_controls_and_discards_result(fitted, base_report):
    """A real audit training many reference models: Cancel stops it at the next model."""
    clf, tr, te = fitted
    fixed = base_report.options.replace(reference_rounds="fixed")  # one round of 200
    base = mn.audit(clf, train=tr, test=te, target="label", options=fixed, n_jobs=1)
    panel = AuditPanel(base, model=clf)
    before = panel.report
    panel.attacks.value = ("loss", "lira-offline")
    panel.references.value = 200
    panel.seed.value = 1234  # a seed no other test trains, so nothing comes from the cache
    panel.run()
    assert panel.running and panel.attacks.disabled and panel.seed.disabled
    assert not panel.cancel_button.disabled and panel.run_button.disabled
    assert _wait_for(lambda: panel.progress.value > 0), "no progress reached the panel"
    assert panel.progress.max == 200
    assert "Training reference models" in panel.progress_label.value
    panel.cancel()
    assert not panel.running and not panel.seed.disabled and panel.cancel_button.disabled
    assert not panel.run_button.disabled  # the changes are still pending
    assert "Cancelled" in panel.progress_label.value
    assert panel.wait(120)  # stops at its next progress step
    assert panel.runner.outcome == "cancelled"
    assert panel.progress.value < 200
    assert panel.report.scores is before.scores and panel.report.options.seed == 0
    assert panel.last_error is None
    panel.cancel()  # nothing running: a no-op


def test_run_error_is_shown(fitted, base_report):
    _, tr, te = fitted
    # frames without the column the report redacts: the Run's audit refuses them
    panel = AuditPanel(base_report, model=fitted[0], train=tr.drop(columns="ssn"), test=te)
    panel.seed.value = 5
    panel.run()
    assert panel.wait(30)
    assert panel.runner.outcome == "error"
    assert "Cannot redact ['ssn']" in (panel.last_error or "")
    assert "MiaValueError" in panel.status.value
    assert not panel.seed.disabled and not panel.run_button.disabled


def test_panel_without_model_cannot_run(base_report):
    panel = AuditPanel(base_report)
    panel.seed.value = 9
    assert panel.run_button.disabled
    assert "no model" in panel.status.value
    with pytest.raises(mn.MiaValueError, match="model"):
        panel.run()


# ------------------------------------------------------------------ record inspector
def test_inspector_shows_scores_per_attack(panel):
    panel.flag.value = 3
    pos = panel.record.options[1][1]
    panel.record.value = pos
    html = panel.record_view.value
    for name in panel.report.attacks:
        assert re.search(rf'<td class="mia-text"[^>]*>{re.escape(name)}</td>', html)
    assert "No reference-model evidence" in html
    table = panel.report.record_scores(pos)
    assert list(table.columns) == ["score", "rank", "above non-members"]
    assert table.at["loss", "score"] == pytest.approx(panel.report.scores["loss"].iat[pos])


def test_inspector_plots_reference_distributions(base_report, fitted):
    """The reference-signal contract: signal/in_mask (n_records, n_refs), target."""
    rng = np.random.default_rng(0)
    n, k = len(base_report.scores), 8
    refs = SimpleNamespace(
        signal=rng.normal(size=(n, k)).astype(np.float32),
        in_mask=rng.random((n, k)) < 0.5,
        target=rng.normal(size=n),
    )
    report = replace(base_report, evidence={"references": refs}, _memo={})
    panel = AuditPanel(report, model=fitted[0])
    panel.flag.value = 2
    panel.record.value = panel.record.options[1][1]
    assert "data:image/png;base64," in panel.record_view.value
    assert "IN vs OUT" in panel.record_view.value


@pytest.mark.slow
def test_run_adds_reference_attack_and_inspector_uses_it(fitted, base_report):
    if "lira" not in mn.available_attacks():
        pytest.skip("LiRA not available in this build")
    panel = AuditPanel(base_report, model=fitted[0])
    panel.attacks.value = ("loss", "lira")
    panel.references.value = 4
    panel.run()
    assert panel.wait(600), "Run did not finish"
    assert panel.last_error is None
    assert "lira" in panel.report.computed_attacks
    assert "references" in panel.report.evidence
    panel.flag.value = 2
    panel.record.value = panel.record.options[1][1]
    assert "data:image/png;base64," in panel.record_view.value


def test_the_package_exports_the_panel():
    assert mn.AuditPanel is AuditPanel and mn.show_panel is show_panel


def test_a_panel_on_a_report_takes_no_options(base_report, fitted):
    with pytest.raises(mn.MiaValueError, match=r"takes no options \(got \['n_jobs'\]\)"):
        AuditPanel(base_report, model=fitted[0], n_jobs=1)


@pytest.mark.slow
def test_run_carries_every_option_of_the_report(cancer_splits):
    """Every option of the report reaches the Run's audit (the panel passes
    ``report.options.replace(changes)``): each set to a value other than its default."""
    tr, te = with_patients(*cancer_splits)
    cols = list(NON_DEFAULT["features"])
    small = LogisticRegression(max_iter=5000).fit(tr[cols], tr["label"])
    report = mn.audit(small, train=tr, test=te, target="label", progress=False, **NON_DEFAULT)
    panel = AuditPanel(report, model=small)
    panel.seed.value = 9
    panel.references.value = 3
    panel.run()
    assert panel.wait(300), "Run did not finish"
    assert panel.last_error is None, panel.last_error
    assert panel._base.options == report.options.replace(seed=9, references=3)
    assert panel._base.options.changed(mn.AuditOptions()).keys() == set(NON_DEFAULT)
