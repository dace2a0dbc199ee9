"""AuditPanel logic without a browser: set controls in Python, check the report."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import features
from sklearn.ensemble import RandomForestClassifier

import mia_notebook as mn
from mia_notebook import widgets
from mia_notebook.engine import metrics
from mia_notebook.widgets import AuditPanel, show_panel

THRESHOLD = ["loss", "confidence", "entropy"]


@pytest.fixture(scope="module")
def fitted(cancer_splits):
    tr, te = cancer_splits
    tr = tr.assign(ssn=[f"999-{i:04d}" for i in range(len(tr))])
    te = te.assign(ssn=[f"888-{i:04d}" for i in range(len(te))])
    clf = RandomForestClassifier(n_estimators=20, random_state=0).fit(
        features(tr).drop(columns=["ssn"]), tr["label"]
    )
    return clf, tr, te


@pytest.fixture(scope="module")
def base_report(fitted):
    clf, tr, te = fitted
    return mn.audit(clf, train=tr, test=te, target="label", attacks=THRESHOLD, redact=["ssn"])


@pytest.fixture
def panel(fitted, base_report):
    return AuditPanel(base_report, model=fitted[0])


@pytest.fixture
def published(monkeypatch):
    """Capture display / update_display calls made by the panel."""
    calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    monkeypatch.setattr(widgets, "display", lambda b, **kw: calls.append(("display", b, kw)))
    monkeypatch.setattr(
        widgets, "update_display", lambda b, **kw: calls.append(("update", b, kw))
    )
    return calls


def _table_numbers(html: str) -> list[str]:
    """Header and cell texts of the first (risk by attack) table."""
    table = html.split("<table", 2)[1]
    return re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", table)


# ----------------------------------------------------------------- instant settings
def test_fpr_target_changes_tpr_column_and_table(panel):
    before = _table_numbers(panel.view.value)
    assert panel.report.options.fpr == (panel.fpr.value,)
    panel.fpr.value = 0.1
    rep = panel.report
    assert rep.options.fpr == (0.1,)
    assert "TPR@10%FPR" in rep.summary.columns and "TPR@10%FPR" in panel.view.value
    for name in rep.attacks:
        curve = metrics.roc(rep.scores[name].to_numpy(), rep.members)
        expected = metrics.tpr_at_fpr(curve, 0.1).tpr
        assert rep.summary.at[name, "TPR@10%FPR"] == pytest.approx(expected)
    assert _table_numbers(panel.view.value) != before
    # a looser FPR never finds fewer members
    panel.fpr.value = 0.5
    for name in rep.attacks:
        assert panel.report.summary.at[name, "TPR@50%FPR"] >= rep.summary.at[name, "TPR@10%FPR"]
    assert panel.last_error is None


def test_view_reuses_scores_no_reaudit(panel, monkeypatch):
    monkeypatch.setattr(mn, "audit", lambda *a, **k: pytest.fail("instant change re-audited"))
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
    assert "No records listed" in panel.view.value


def test_slice_dropdown_lists_columns_and_slices(panel):
    values = [v for _, v in panel.slice.options]
    assert "" in values and "mean radius" in values and "label" not in values
    panel.slice.value = "mean radius"
    assert panel.report.options.slice == "mean radius"
    assert "By mean radius" in panel.view.value
    panel.slice.value = ""
    assert panel.report.options.slice is None


def test_redaction_masks_and_caller_redaction_is_locked(panel, fitted):
    _, tr, _ = fitted
    panel.flag.value = 5
    assert "999-" not in panel.view.value
    col = "mean texture"
    shown = [f"{v:.4f}" for v in tr[col].iloc[panel.report.flagged_positions()]]
    assert any(s in panel.view.value for s in shown)
    panel.redact.value = (*panel.redact.value, col)
    assert col in panel.report.options.redact
    assert not any(s in panel.view.value for s in shown)
    panel.redact.value = ()  # try to un-redact the caller's column
    assert "ssn" in panel.redact.value and "ssn" in panel.report.options.redact
    assert "stays redacted" in panel.status.value
    assert "999-" not in panel.view.value


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


# ------------------------------------------------------------------ display
def test_display_bundle_has_widget_and_static_fallback(panel, published):
    panel.display()
    kind, bundle, kw = published[-1]
    assert kind == "display" and kw["raw"] is True
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == panel.widget.model_id and view["version_major"] == 2
    assert "<table" in bundle["text/html"] and "data:image/png;base64," in bundle["text/html"]
    assert bundle["text/plain"].startswith("AuditReport")
    panel.fpr.value = 0.2
    kind, bundle, kw2 = published[-1]
    assert kind == "update" and kw2["display_id"] == kw["display_id"]
    assert "TPR@20%FPR" in bundle["text/html"] and "FPR target 20%" in bundle["text/html"]
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == view["model_id"]


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

    monkeypatch.setattr(widgets, "render_html", boom)
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
def test_run_reaudits_with_new_seed_and_keeps_view(panel, monkeypatch):
    real = mn.audit
    seen: list[dict[str, Any]] = []

    def spy(model: Any, **kwargs: Any) -> mn.AuditReport:
        seen.append(kwargs)
        kwargs.pop("progress", None)
        return real(model, **{k: v for k, v in kwargs.items() if k != "progress"})

    monkeypatch.setattr(mn, "audit", spy)
    panel.fpr.value = 0.1
    panel.seed.value = 7
    assert not panel.run_button.disabled
    panel.run()
    assert panel.wait(120)
    assert panel.last_error is None
    assert seen[0]["seed"] == 7 and seen[0]["fpr"] == (0.1,) and seen[0]["target"] == "label"
    assert set(seen[0]["attacks"]) == set(THRESHOLD)
    assert panel.report.run["seed"] == 7
    assert panel.report.options.fpr == (0.1,)
    assert panel.run_button.disabled and panel.cancel_button.disabled
    assert "Done" in panel.progress_label.value


def _blocking_audit(release: threading.Event, cooperative: bool):
    """A stand-in audit that trains 'forever' until released or cancelled."""
    calls = {"n": 0, "cancelled": False}

    def slow(model: Any, *, train: Any, test: Any, target: str, seed: int = 0,
             progress: Any = None, **kw: Any) -> Any:
        calls["n"] += 1
        try:
            if progress is not None:
                progress.start(100, "Training reference models")
            for i in range(1000):
                if release.wait(0.01):
                    break
                if progress is not None:
                    progress.update(min(i, 100))
        except widgets.AuditCancelled:
            calls["cancelled"] = True
            raise
        return mn.audit(model, train=train, test=test, target=target, seed=seed,
                        attacks=THRESHOLD)

    if not cooperative:
        def plain(model: Any, *, train: Any, test: Any, target: str, seed: int = 0,
                  **kw: Any) -> Any:
            return slow(model, train=train, test=test, target=target, seed=seed)

        return plain, calls
    return slow, calls


@pytest.mark.parametrize("cooperative", [True, False])
def test_cancel_reenables_controls_and_discards_result(panel, monkeypatch, cooperative):
    release = threading.Event()
    fake, calls = _blocking_audit(release, cooperative)
    monkeypatch.setattr(mn, "audit", fake)
    before = panel.report
    panel.seed.value = 3
    panel.run()
    assert panel.running and panel.attacks.disabled and panel.seed.disabled
    assert not panel.cancel_button.disabled and panel.run_button.disabled
    if cooperative:  # progress reaches the panel
        for _ in range(500):
            if panel.progress.value > 0:
                break
            threading.Event().wait(0.01)
        assert panel.progress.max == 100 and "Training reference models" in (
            panel.progress_label.value
        )
    panel.cancel()
    assert not panel.running and not panel.seed.disabled and panel.cancel_button.disabled
    assert not panel.run_button.disabled  # the seed change is still pending
    assert "Cancelled" in panel.progress_label.value
    if not cooperative:  # it runs to its end, then the result is dropped
        release.set()
    assert panel.wait(60)  # cooperative: stops at its next progress step
    release.set()
    assert calls["cancelled"] is cooperative
    assert panel.report.scores is before.scores and panel.report.run["seed"] == 0
    assert panel.last_error is None


def test_run_error_is_shown(panel, monkeypatch):
    def failing(model: Any, **kwargs: Any) -> Any:
        raise mn.MiaValueError("The 'references' parameter must be >= 1. Got 0 instead.")

    monkeypatch.setattr(mn, "audit", failing)
    panel.seed.value = 5
    panel.run()
    assert panel.wait(30)
    assert "references" in (panel.last_error or "")
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
    panel = AuditPanel(base_report, model=fitted[0], n_jobs=1)
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
