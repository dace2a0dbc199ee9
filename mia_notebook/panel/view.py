"""The panel itself: controls wired to re-views of the report and to the runner, shown
as one display whose bundle holds the live widget and the static report."""

from __future__ import annotations

import functools
import html
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
from IPython.display import display, update_display

from ..engine.errors import MiaValueError
from ..engine.results import AuditReport
from ..render import memo
from ..render.bundle import render_bundle
from ..render.html import render_record
from ..render.mime import MIME_TYPE
from .controls import NO_RECORD, PanelControls, attack_options, fpr_text
from .runner import Runner, first_report
from .warm import warm_report, warm_slices

__all__ = ["AuditPanel", "show_panel"]

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_F = TypeVar("_F", bound=Callable[..., Any])


def _guarded(method: _F) -> _F:
    """Run a widget callback; show any exception in the panel instead of losing it."""

    @functools.wraps(method)
    def wrapper(self: AuditPanel, *args: Any, **kwargs: Any) -> Any:
        if self._updating:
            return None
        try:
            return method(self, *args, **kwargs)
        except Exception as e:
            self._show_error(e)
            return None

    return wrapper  # type: ignore[return-value]


class AuditPanel(PanelControls):
    """Tune an audit with widgets: instant re-views, Run for what needs training.

    Parameters
    ----------
    source : AuditReport or fitted estimator
        A report to explore, or the model to audit (then ``train``, ``test`` and
        ``target`` are required and :func:`mia_notebook.audit` runs first).
    model : fitted estimator, default=None
        The audited model; needed for the Run button when ``source`` is a report.
    train, test : DataFrame, default=None
        Members and non-members. Default (with a report): the report's own frames.
    target : str, default=None
        Label column (only when ``source`` is a model).
    population : DataFrame, default=None
        As in :func:`mia_notebook.audit`, for the first audit and every Run.
    **options
        Only when ``source`` is a model: ``options=`` and option keywords of
        :func:`mia_notebook.audit` for the first audit. Every Run repeats the shown
        report's options (``report.options``) with the Run controls' changes.

    Attributes
    ----------
    report : AuditReport
        The view currently shown.
    widget : ipywidgets.VBox
        The panel (controls, report, record inspector).
    timings : dict of str to float
        Seconds spent by the last update: ``view`` (the new view options), ``render``
        (HTML, PNG, text, the renderer's JSON), ``publish`` (widget and display update),
        ``total``.
    last_error : str or None
        The last error shown in the panel.

    Notes
    -----
    Cancel discards the running audit's result and re-enables the controls at once;
    the audit itself stops at its next progress step (after the reference model in
    training), and models finished so far stay cached for the next Run.
    """

    def __init__(
        self,
        source: AuditReport | Any,
        *,
        model: Any = None,
        train: pd.DataFrame | None = None,
        test: pd.DataFrame | None = None,
        target: str | None = None,
        population: pd.DataFrame | None = None,
        **options: Any,
    ) -> None:
        first = {**options, "train": train, "test": test, "target": target}
        if not isinstance(source, AuditReport):
            first["population"] = population
        report, self.model = first_report(source, model, first)
        own = report.records.data
        super().__init__(
            report,
            train=own.train if train is None and own is not None else train,
            test=own.test if test is None and own is not None else test,
            population=population,
        )
        self.report = report
        self._display_id = f"mia-audit-panel-{uuid.uuid4().hex}"
        self._displayed = self._updating = False
        self._lock = threading.RLock()
        self.timings: dict[str, float] = {}
        self.warming: threading.Thread | None = None
        self.runner = Runner(
            on_done=self._run_done, on_error=self._run_failed, on_progress=self.show_progress
        )
        self._observe()
        self._update_pending()
        self.refresh()
        warm_report(report)
        self._warm_slices(report)

    def _observe(self) -> None:
        for w in (self.fpr, self.flag, self.slice, self.setting):
            w.observe(self._on_view_change, names="value")
        self.redact.observe(self._on_redact, names="value")
        self.attacks.observe(self._on_attacks, names="value")
        self.references.observe(self._on_run_setting, names="value")
        self.seed.observe(self._on_run_setting, names="value")
        self.record.observe(self._on_record, names="value")
        self.run_button.on_click(self._on_run)
        self.cancel_button.on_click(self._on_cancel)

    #: Whether a new report's slice metrics are computed in a background thread.
    warm_in_background = True

    def _warm_slices(self, report: AuditReport) -> None:
        if self.warm_in_background:
            columns = [c for _, c in self.slice.options if c]
            self.warming = warm_slices(report, columns, lambda: self._base is report)

    # ------------------------------------------------------------------ the view
    def refresh(self) -> None:
        """Re-summarise the cached scores with the current settings and re-render."""
        with self._lock:
            t0 = time.perf_counter()
            view = self._base.with_options(**self.view_options())
            t1 = time.perf_counter()
            bundle = render_bundle(view)
            record_html = self._record_html(view)
            t2 = time.perf_counter()
            self.report, self._report_bundle = view, bundle
            self.view_html = bundle["text/html"]
            # Replace the Output's content: the controls around it are never re-created.
            output = {"output_type": "display_data", "data": bundle, "metadata": {}}
            self.report_area.outputs = (output,)
            self._sync_records(view)
            self.record_view.value = record_html
            self._publish()
            t3 = time.perf_counter()
            self.timings = {
                "view": t1 - t0,
                "render": t2 - t1,
                "publish": t3 - t2,
                "total": t3 - t0,
            }

    def _record_html(self, view: AuditReport) -> str:
        pos = int(self.record.value)
        if pos == NO_RECORD or pos not in set(view.flagged_positions().tolist()):
            return ""
        key = ("record_html", pos, tuple(view.attacks), id(view.evidence))
        return memo.memoized(view, key, lambda: render_record(view, pos))

    def _sync_records(self, view: AuditReport) -> None:
        positions = view.flagged_positions().tolist()
        strongest = view.strongest
        scores = view.scores[strongest].to_numpy() if strongest else None
        options: list[tuple[str, int]] = [("— choose a flagged record —", NO_RECORD)]
        for rank, pos in enumerate(positions, start=1):
            split, label = view.scores.index[pos]
            score = f" · score {scores[pos]:.4g}" if scores is not None else ""
            options.append((f"#{rank} {split}[{label}]{score}", int(pos)))
        keep = self.record.value if self.record.value in positions else NO_RECORD
        if options != list(self.record.options) or keep != self.record.value:
            self._updating = True
            try:
                self.record.options = options
                self.record.value = keep
            finally:
                self._updating = False

    def _set_quietly(self, widget: Any, name: str, value: Any) -> None:
        self._updating = True
        try:
            setattr(widget, name, value)
        finally:
            self._updating = False

    # ------------------------------------------------------------------ display
    def static_html(self) -> str:
        """The static fallback: the report shown now, plus the inspected record."""
        note = (
            "<p style='color:#57606a;font-size:12px'>Snapshot of an interactive audit panel: "
            f"the last view shown (FPR target {html.escape(fpr_text(self.report.options.fpr[0]))}"
            f", {self.report.options.flag} flagged records).</p>"
        )
        return note + self.view_html + self.record_view.value

    def bundle(self) -> dict[str, Any]:
        """The display bundle: live widget view, the JSON the JupyterLab / Notebook 7
        extension draws without a kernel (:mod:`mia_notebook.render.mime`: a notebook
        reopened without its kernel, or untrusted, shows the interactive report instead
        of a dead widget), static HTML and plain text (GitHub, nbconvert). The JSON and
        text are those the report area shows (built once per view)."""
        # The widget view by hand: ipywidgets' _repr_mimebundle_ also builds a text repr
        # of every child's state (the whole report JSON included), on every update.
        view = {"version_major": 2, "version_minor": 0, "model_id": self.widget.model_id}
        return {
            _WIDGET_MIME: view,
            MIME_TYPE: self._report_bundle[MIME_TYPE],
            "text/html": self.static_html(),
            "text/plain": self._report_bundle["text/plain"],
        }

    def display(self) -> None:
        """Show the panel (again: every copy shows the same, latest state)."""
        display(self.bundle(), raw=True, display_id=self._display_id)
        self._displayed = True

    def _ipython_display_(self) -> None:
        self.display()

    def _publish(self) -> None:
        if self._displayed:
            update_display(self.bundle(), raw=True, display_id=self._display_id)

    # ------------------------------------------------------------------ callbacks
    @_guarded
    def _on_view_change(self, change: dict[str, Any]) -> None:
        self._clear_error()
        self.refresh()

    @_guarded
    def _on_redact(self, change: dict[str, Any]) -> None:
        self._clear_error()
        missing = [c for c in self._locked_redact if c not in self.redact.value]
        if missing:
            self._set_quietly(self.redact, "value", (*self.redact.value, *missing))
            self._note(f"{', '.join(missing)} was redacted by the caller and stays redacted.")
        self.refresh()

    @_guarded
    def _on_attacks(self, change: dict[str, Any]) -> None:
        self._clear_error()
        self._update_pending()
        self.refresh()

    @_guarded
    def _on_run_setting(self, change: dict[str, Any]) -> None:
        self._clear_error()
        self._update_pending()

    @_guarded
    def _on_record(self, change: dict[str, Any]) -> None:
        with self._lock:
            self.record_view.value = self._record_html(self.report)
            self._publish()

    @_guarded
    def _on_run(self, _button: Any = None) -> None:
        self.run()

    @_guarded
    def _on_cancel(self, _button: Any = None) -> None:
        self.cancel()

    # ------------------------------------------------------------------ Run
    @property
    def running(self) -> bool:
        """Whether a Run is in progress."""
        return self.runner.running

    def _update_pending(self) -> None:
        pending = self.pending()
        running = self.running
        self.run_button.disabled = running or not pending or self.model is None
        self.run_button.button_style = "warning" if pending and not running else ""
        if running:
            return
        if pending and self.model is None:
            self._note(
                "Needs a Run (" + "; ".join(pending) + "), but the panel has no model: "
                "create it with AuditPanel(report, model=clf)."
            )
        elif pending:
            self._note("Press Run to apply: " + "; ".join(pending) + ".")
        elif self.last_error is None:
            self._note("")

    def run(self) -> None:
        """Start a Run in a background thread (what the Run button does)."""
        if self.model is None:
            raise MiaValueError(
                "This panel has no model to re-audit: AuditPanel(report, model=clf)."
            )
        if self.running:
            return
        self._clear_error()
        kwargs = self.audit_arguments()
        self.set_running(True, "Running the audit…", pending=True)
        self.runner.start(self.model, kwargs)

    def _run_done(self, report: AuditReport, seconds: float) -> None:
        try:
            with self._lock:
                self._base = report
                warm_report(report)
                self._warm_slices(report)
                wanted = tuple(a for a in self.attacks.value if a in report.computed_attacks)
                self._set_quietly(self.attacks, "options", attack_options(report))
                self._set_quietly(self.attacks, "value", wanted or tuple(report.computed_attacks))
                self.set_running(False, f"Done in {seconds:.1f} s.", pending=False)
                self.refresh()
                self._update_pending()
        except Exception as e:
            self._show_error(e)

    def _run_failed(self, error: BaseException) -> None:
        self.set_running(False, "", pending=bool(self.pending()))
        self._show_error(error)

    def cancel(self) -> None:
        """Cancel the running Run: its result is discarded, and training stops after the
        reference model in progress."""
        if not self.runner.cancel():
            return
        self.set_running(
            False,
            "Cancelled: the result will be discarded; training stops after the reference "
            "model in progress.",
            pending=bool(self.pending()),
        )
        self._update_pending()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background Run ends (for scripts and tests); True if it did."""
        return self.runner.wait(timeout)


def show_panel(
    report: AuditReport,
    *,
    model: Any,
    train: pd.DataFrame | None = None,
    test: pd.DataFrame | None = None,
    population: pd.DataFrame | None = None,
) -> AuditPanel:
    """Display an :class:`AuditPanel` for ``report`` (what ``%mia_audit --interactive``
    does) and return it.

    Parameters
    ----------
    report : AuditReport
        The audit to explore; every Run repeats its options with the Run controls'
        changes.
    model : fitted estimator
        The audited model (for Run).
    train, test : DataFrame, default=None
        The frames the report was computed on (default: the report's own).
    population : DataFrame, default=None
        The ``population=`` of the audit, reused on every Run.
    """
    panel = AuditPanel(report, model=model, train=train, test=test, population=population)
    panel.display()
    return panel
