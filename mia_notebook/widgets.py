"""An interactive audit panel: stock ipywidgets controls around an :class:`AuditReport`.

>>> panel = mia_notebook.AuditPanel(report, model=clf)        # doctest: +SKIP
>>> panel = mia_notebook.AuditPanel(clf, train=train_df, test=test_df,
...                                 target="label")           # doctest: +SKIP

Two kinds of settings:

* **Instant** (FPR target, which computed attacks to show, flag count, slice column,
  redaction): re-summarise the cached scores with :meth:`AuditReport.with_options` and
  re-render; nothing is re-queried or retrained.
* **Run** (attacks not computed yet, number of reference models, seed): wait for the
  Run button, then call :func:`mia_notebook.audit` again in a background thread (its
  expensive stage is cached, so unchanged parts are reused), with progress in the
  panel and a Cancel button.

The panel is shown as one display whose bundle holds the live widget *and* the static
report (``text/html`` with the ROC inlined, ``text/plain``); every change updates that
display through its display id, so a saved notebook, nbconvert HTML and GitHub show
the last view the user looked at. This module holds no maths: every number comes from
the report.
"""

from __future__ import annotations

import functools
import html
import inspect
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as W
import pandas as pd
from IPython.display import display, update_display

from .engine.errors import MiaValueError
from .engine.results import AuditReport
from .render.html import render_html, render_record
from .render.text import render_text

__all__ = ["FPR_CHOICES", "AuditCancelled", "AuditPanel", "show_panel"]

#: FPR targets offered by the panel's slider (a report's own targets are added).
FPR_CHOICES: tuple[float, ...] = (
    0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5
)
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_NO_RECORD = -1
_F = TypeVar("_F", bound=Callable[..., Any])


class AuditCancelled(BaseException):
    """Raised inside a running audit, through its progress callback, after Cancel.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that no ``except Exception``
    in the engine swallows it.
    """


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


class _PanelProgress:
    """The engine's progress protocol, drawn in the panel; raises after Cancel."""

    def __init__(self, panel: AuditPanel, cancel: threading.Event) -> None:
        self._panel = panel
        self._cancel = cancel

    def _check(self) -> None:
        if self._cancel.is_set():
            raise AuditCancelled("Cancelled from the panel.")

    def start(self, total: int, description: str) -> None:
        self._check()
        self._panel._progress_start(total, description)

    def update(self, done: int) -> None:
        self._check()
        self._panel._progress_update(done)

    def close(self) -> None:
        pass


def _fpr_label(value: float) -> str:
    return f"{value * 100:g}%"


def _audit_function() -> Callable[..., AuditReport]:
    """:func:`mia_notebook.audit`, looked up at call time (picks up new options)."""
    import mia_notebook

    return mia_notebook.audit


def _attack_names() -> list[str]:
    import mia_notebook

    return list(mia_notebook.available_attacks())


def _needs_references(name: str) -> bool:
    from .engine.attacks import attack_class

    try:
        return bool(getattr(attack_class(name), "needs_references", False))
    except MiaValueError:
        return False


def _default_references() -> int:
    try:
        from .engine.references import DEFAULT_REFERENCES
    except ImportError:
        return 16
    return int(DEFAULT_REFERENCES)


def _max_references() -> int:
    try:
        from .engine.references import MAX_REFERENCES
    except ImportError:
        return 1024
    return int(MAX_REFERENCES)


class AuditPanel:
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
    **audit_kwargs
        Further arguments of :func:`mia_notebook.audit` (e.g. ``population``,
        ``n_jobs``, ``confidence``), used for the first audit and every Run.

    Attributes
    ----------
    report : AuditReport
        The view currently shown.
    widget : ipywidgets.VBox
        The panel (controls, report, record inspector).
    timings : dict of str to float
        Seconds spent by the last update: ``view`` (re-summarise), ``render`` (HTML and
        PNG), ``publish`` (widget and display update), ``total``.
    last_error : str or None
        The last error shown in the panel.

    Notes
    -----
    What Cancel does: it always discards the running audit's result and re-enables the
    controls at once. When :func:`mia_notebook.audit` accepts a ``progress`` callback
    (reference-model training), the audit also stops at its next progress step (after
    the reference model in training finishes); models finished so far stay cached, so
    the next Run resumes from them. Without that callback the computation runs to its
    end in the background and is then dropped.
    """

    def __init__(
        self,
        source: AuditReport | Any,
        *,
        model: Any = None,
        train: pd.DataFrame | None = None,
        test: pd.DataFrame | None = None,
        target: str | None = None,
        **audit_kwargs: Any,
    ) -> None:
        if isinstance(source, AuditReport):
            report = source
        else:
            if model is not None:
                raise MiaValueError("Give the model once: as the first argument or as model=.")
            model = source
            if train is None or test is None or target is None:
                raise MiaValueError(
                    "AuditPanel(model, ...) needs train=, test= and target= to run the audit, "
                    "e.g. AuditPanel(clf, train=train_df, test=test_df, target='label'); "
                    "or pass a report: AuditPanel(report, model=clf)."
                )
            report = _audit_function()(
                model, train=train, test=test, target=target, **audit_kwargs
            )
        self.model = model
        self.train = report.data.train if train is None else train
        self.test = report.data.test if test is None else test
        self._audit_kwargs = {
            k: v for k, v in audit_kwargs.items() if k not in ("train", "test", "target")
        }
        self._base = report
        self.report = report
        self._locked_redact = tuple(report.options.redact)
        self._display_id = f"mia-audit-panel-{uuid.uuid4().hex}"
        self._displayed = False
        self._updating = False
        self._lock = threading.RLock()
        self._worker: threading.Thread | None = None
        self._cancel: threading.Event | None = None
        self._run_id = 0
        self.timings: dict[str, float] = {}
        self.last_error: str | None = None
        self._build()
        self._update_pending()
        self.refresh()
        self._warm(report)

    @staticmethod
    def _warm(report: AuditReport) -> None:
        """Compute once what an FPR change may need next: the per-class metrics of every
        computed attack (the strongest attack, whose slices are shown, can change)."""
        for attack in report.computed_attacks:
            report.slices(None, attack)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        report = self._base
        wide = {"description_width": "initial"}
        self.attacks = W.SelectMultiple(
            options=self._attack_options(),
            value=tuple(report.attacks),
            rows=min(8, max(4, len(_attack_names()))),
            description="Attacks",
            style=wide,
        )
        supports_refs = "references" in self._audit_parameters()
        self.references = W.BoundedIntText(
            value=int(report.run.get("references") or _default_references()),
            min=1,
            max=_max_references(),
            description="Reference models",
            disabled=not supports_refs,
            style=wide,
            layout=W.Layout(width="220px"),
        )
        if not supports_refs:
            self.references.description_tooltip = "This version of audit() trains no references."
        self.seed = W.BoundedIntText(
            value=int(report.run.get("seed", 0)), min=0, max=2**32 - 1, description="Seed",
            style=wide, layout=W.Layout(width="220px"),
        )
        self.run_button = W.Button(description="Run", icon="play", disabled=True)
        self.cancel_button = W.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="160px"))
        self.progress.layout.visibility = "hidden"
        self.progress_label = W.Label("")
        self.fpr = W.SelectionSlider(
            options=self._fpr_options(),
            value=self._initial_fpr(),
            description="FPR target",
            continuous_update=False,
            style=wide,
            layout=W.Layout(width="360px"),
        )
        n_train = report.data.n_train
        self.flag = W.IntSlider(
            value=report.options.flag, min=0, max=max(min(100, n_train), report.options.flag),
            description="Flagged records", continuous_update=False, style=wide,
            layout=W.Layout(width="360px"),
        )
        cols = [str(c) for c in report.data.train.columns]
        both = [c for c in cols if c in {str(c) for c in report.data.test.columns}]
        slice_options = [("(none)", ""), *[(c, c) for c in both if c != report.data.target]]
        self.slice = W.Dropdown(
            options=slice_options,
            value=report.options.slice
            if report.options.slice in [v for _, v in slice_options] else "",
            description="Slice by",
            style=wide,
        )
        self.redact = W.SelectMultiple(
            options=cols, value=tuple(report.options.redact), rows=min(6, max(3, len(cols))),
            description="Redact", style=wide,
        )
        self.status = W.HTML("")
        self.view = W.HTML("")
        self.record = W.Dropdown(
            options=[("— choose a flagged record —", _NO_RECORD)], value=_NO_RECORD,
            description="Inspect record", style=wide, layout=W.Layout(width="420px"),
        )
        self.record_view = W.HTML("")
        for w in (self.fpr, self.flag, self.slice):
            w.observe(self._on_view_change, names="value")
        self.redact.observe(self._on_redact, names="value")
        self.attacks.observe(self._on_attacks, names="value")
        self.references.observe(self._on_run_setting, names="value")
        self.seed.observe(self._on_run_setting, names="value")
        self.record.observe(self._on_record, names="value")
        self.run_button.on_click(self._on_run)
        self.cancel_button.on_click(self._on_cancel)
        run_box = W.VBox(
            [
                W.HTML("<b>Needs a Run</b> (training)"),
                self.attacks,
                self.references,
                self.seed,
                W.HBox([self.run_button, self.cancel_button]),
                W.HBox([self.progress, self.progress_label]),
            ],
            layout=W.Layout(margin="0 24px 0 0"),
        )
        view_box = W.VBox(
            [W.HTML("<b>Instant</b> (from cached scores)"), self.fpr, self.flag, self.slice,
             self.redact]
        )
        self.widget = W.VBox(
            [
                W.HBox([run_box, view_box]),
                self.status,
                self.view,
                W.HTML("<b>Record inspector</b>"),
                self.record,
                self.record_view,
            ]
        )
        self.widget.add_class("mia-audit-panel")

    def _attack_options(self) -> list[tuple[str, str]]:
        computed = set(self._base.computed_attacks)
        names = list(dict.fromkeys([*self._base.computed_attacks, *_attack_names()]))
        out = []
        for name in names:
            if name in computed:
                label = name
            elif name in self._base.skipped:
                label = f"{name} (not run: Run to retry)"
            else:
                label = f"{name} (needs Run)"
            out.append((label, name))
        return out

    def _fpr_options(self) -> list[tuple[str, float]]:
        values = sorted({*FPR_CHOICES, *self._base.options.fpr})
        return [(_fpr_label(v), v) for v in values]

    def _initial_fpr(self) -> float:
        """The report's smallest FPR target that its non-members can resolve."""
        targets = self._base.options.fpr
        n_neg = self._base.data.n_test
        resolvable = [t for t in targets if n_neg * t >= 1.0 - 1e-9]
        return float(resolvable[0] if resolvable else targets[-1])

    @staticmethod
    def _audit_parameters() -> dict[str, inspect.Parameter]:
        return dict(inspect.signature(_audit_function()).parameters)

    # ------------------------------------------------------------------ the view
    def view_options(self) -> dict[str, Any]:
        """The instant settings as :meth:`AuditReport.with_options` arguments."""
        computed = self._base.computed_attacks
        shown = tuple(a for a in self.attacks.value if a in computed)
        redact = tuple(dict.fromkeys([*self._locked_redact, *self.redact.value]))
        return {
            "fpr": (float(self.fpr.value),),
            "flag": int(self.flag.value),
            "slice": self.slice.value or None,
            "redact": redact,
            "attacks": shown or None,
        }

    def refresh(self) -> None:
        """Re-summarise the cached scores with the current settings and re-render."""
        with self._lock:
            t0 = time.perf_counter()
            view = self._base.with_options(**self.view_options())
            _ = view.summary
            t1 = time.perf_counter()
            page = render_html(view)
            record_html = self._record_html(view)
            t2 = time.perf_counter()
            self.report = view
            self._set_quietly(self.view, "value", page)
            self._sync_records(view)
            self.record_view.value = record_html
            self._publish()
            t3 = time.perf_counter()
            self.timings = {
                "view": t1 - t0, "render": t2 - t1, "publish": t3 - t2, "total": t3 - t0
            }

    def _record_html(self, view: AuditReport) -> str:
        pos = int(self.record.value)
        if pos == _NO_RECORD or pos not in set(view.flagged_positions().tolist()):
            return ""
        key = ("record_html", pos, tuple(view.attacks))
        return str(view.memoized(key, lambda: render_record(view, pos)))

    def _sync_records(self, view: AuditReport) -> None:
        positions = view.flagged_positions().tolist()
        strongest = view.strongest
        scores = view.scores[strongest].to_numpy() if strongest else None
        options: list[tuple[str, int]] = [("— choose a flagged record —", _NO_RECORD)]
        for rank, pos in enumerate(positions, start=1):
            split, label = view.scores.index[pos]
            score = f" · score {scores[pos]:.4g}" if scores is not None else ""
            options.append((f"#{rank} {split}[{label}]{score}", int(pos)))
        keep = self.record.value if self.record.value in positions else _NO_RECORD
        if options != list(self.record.options) or keep != self.record.value:
            self._updating = True
            try:
                self.record.options = options
                self.record.value = keep
            finally:
                self._updating = False

    def _set_quietly(self, widget: W.Widget, name: str, value: Any) -> None:
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
            "the last view shown (FPR target "
            f"{html.escape(_fpr_label(self.report.options.fpr[0]))}, "
            f"{self.report.options.flag} flagged records).</p>"
        )
        return note + self.view.value + self.record_view.value

    def bundle(self) -> dict[str, Any]:
        """The display bundle: live widget view, static HTML and plain text."""
        data = dict(self.widget._repr_mimebundle_() or {})
        view = data.get(_WIDGET_MIME) or {
            "version_major": 2, "version_minor": 0, "model_id": self.widget.model_id
        }
        return {
            _WIDGET_MIME: view,
            "text/html": self.static_html(),
            "text/plain": render_text(self.report),
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
            self._note(
                f"{', '.join(missing)} was redacted by the caller and stays redacted."
            )
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

    # ------------------------------------------------------------------ Run
    def pending(self) -> list[str]:
        """Settings changed since the last audit that need a Run, described."""
        run = self._base.run
        computed = set(self._base.computed_attacks)
        out = []
        missing = [a for a in self.attacks.value if a not in computed]
        if missing:
            out.append("attacks not computed yet: " + ", ".join(missing))
        uses_refs = any(_needs_references(a) for a in [*computed, *self.attacks.value])
        ran_with = run.get("references")
        if (
            not self.references.disabled
            and uses_refs
            and ran_with is not None
            and int(self.references.value) != int(ran_with)
        ):
            out.append(f"reference models: {ran_with} → {self.references.value}")
        if int(self.seed.value) != int(run.get("seed", 0)):
            out.append(f"seed: {run.get('seed', 0)} → {self.seed.value}")
        return out

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

    @property
    def running(self) -> bool:
        """Whether a Run is in progress."""
        return self._worker is not None and self._worker.is_alive() and not (
            self._cancel is not None and self._cancel.is_set()
        )

    def audit_arguments(self) -> dict[str, Any]:
        """Keyword arguments of the next Run's :func:`mia_notebook.audit` call (no model,
        no progress), limited to the parameters that ``audit`` accepts."""
        params = self._audit_parameters()
        open_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        run = self._base.run
        requested = list(dict.fromkeys([*self._base.computed_attacks, *self.attacks.value]))
        view = self.view_options()
        kwargs: dict[str, Any] = {
            **self._audit_kwargs,
            "train": self.train,
            "test": self.test,
            "target": run.get("target", self._base.data.target),
            "features": list(run.get("features", self._base.data.features)),
            "attacks": requested,
            "seed": int(self.seed.value),
            "fpr": view["fpr"],
            "flag": view["flag"],
            "slice": view["slice"],
            "redact": list(view["redact"]),
        }
        if not self.references.disabled:
            kwargs["references"] = int(self.references.value)
        return {k: v for k, v in kwargs.items() if open_kw or k in params}

    @_guarded
    def _on_run(self, _button: Any = None) -> None:
        self.run()

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
        cancel = threading.Event()
        if "progress" in self._audit_parameters():
            kwargs["progress"] = _PanelProgress(self, cancel)
        self._run_id += 1
        self._cancel = cancel
        self._set_running(True, "Running the audit…")
        self._worker = threading.Thread(
            target=self._work, args=(self._run_id, kwargs, cancel), daemon=True,
            name="mia-audit-panel-run",
        )
        self._worker.start()

    def _work(self, run_id: int, kwargs: dict[str, Any], cancel: threading.Event) -> None:
        t0 = time.perf_counter()
        try:
            report = _audit_function()(self.model, **kwargs)
        except AuditCancelled:
            return
        except Exception as e:
            if run_id == self._run_id and not cancel.is_set():
                self._set_running(False, "")
                self._show_error(e)
            return
        if run_id != self._run_id or cancel.is_set():
            return  # cancelled: the result is discarded
        try:
            with self._lock:
                self._base = report
                self._warm(report)
                self._set_quietly(self.attacks, "options", self._attack_options())
                self._set_quietly(self.attacks, "value", tuple(
                    a for a in kwargs.get("attacks", []) if a in report.computed_attacks
                ) or tuple(report.computed_attacks))
                self._set_running(False, f"Done in {time.perf_counter() - t0:.1f} s.")
                self.refresh()
                self._update_pending()
        except Exception as e:
            self._show_error(e)

    @_guarded
    def _on_cancel(self, _button: Any = None) -> None:
        self.cancel()

    def cancel(self) -> None:
        """Cancel the running Run (see the class notes for what that stops)."""
        if self._cancel is None or self._cancel.is_set():
            return
        self._cancel.set()
        self._run_id += 1
        cooperative = "progress" in self._audit_parameters()
        self._set_running(
            False,
            "Cancelled: the result will be discarded"
            + ("; training stops after the reference model in progress." if cooperative
               else "; the computation finishes in the background."),
        )
        self._update_pending()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background Run ends (for scripts and tests); True if it did."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    def _set_running(self, running: bool, message: str) -> None:
        for w in (self.attacks, self.references, self.seed):
            if w is self.references and "references" not in self._audit_parameters():
                continue
            w.disabled = running
        self.cancel_button.disabled = not running
        self.run_button.disabled = True if running else not self.pending()
        if running:
            self.run_button.button_style = ""
            self.progress.value = 0
            self.progress.max = 1
            self.progress.bar_style = "info"
        self.progress.layout.visibility = "visible" if running else "hidden"
        self.progress_label.value = message

    def _progress_start(self, total: int, description: str) -> None:
        self.progress.max = max(int(total), 1)
        self.progress.value = 0
        self.progress_label.value = f"{description}: 0/{total}"
        self._progress_text = description

    def _progress_update(self, done: int) -> None:
        self.progress.value = min(int(done), self.progress.max)
        desc = getattr(self, "_progress_text", "Working")
        self.progress_label.value = f"{desc}: {done}/{self.progress.max}"

    # ------------------------------------------------------------------ messages
    def _note(self, text: str) -> None:
        self.status.value = (
            f"<div style='color:#57606a;font-size:12px'>{html.escape(text)}</div>" if text else ""
        )

    def _clear_error(self) -> None:
        self.last_error = None
        self.status.value = ""

    def _show_error(self, error: BaseException) -> None:
        """Show ``error`` in the panel (not only in the browser console or kernel log)."""
        text = f"{type(error).__name__}: {error}"
        self.last_error = text
        tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self.status.value = (
            "<div class='mia-error' style='color:#cf222e;border-left:3px solid #cf222e;"
            f"padding:2px 8px'><b>Error:</b> {html.escape(text)}"
            "<details><summary>Traceback</summary>"
            f"<pre style='font-size:11px'>{html.escape(tb)}</pre></details></div>"
        )


def show_panel(
    report: AuditReport,
    *,
    model: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    **audit_kwargs: Any,
) -> AuditPanel:
    """Display an :class:`AuditPanel` for ``report`` (what ``%mia_audit --interactive``
    does) and return it.

    Parameters
    ----------
    report : AuditReport
        The audit to explore.
    model : fitted estimator
        The audited model (for Run).
    train, test : DataFrame
        The frames the report was computed on.
    **audit_kwargs
        Further :func:`mia_notebook.audit` arguments to reuse on every Run.
    """
    panel = AuditPanel(report, model=model, train=train, test=test, **audit_kwargs)
    panel.display()
    return panel
