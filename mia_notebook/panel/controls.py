"""The panel's controls: stock ipywidgets, built from a report, and what they mean: view
options for :meth:`AuditReport.with_options`, and for Run the report's own
:class:`~mia_notebook.engine.options.AuditOptions` with the changed fields replaced, so
nothing the audit was run with is lost."""

from __future__ import annotations

import html
import traceback
from typing import Any

import ipywidgets as W
import pandas as pd

from ..engine.attacks import attack_class, available_attacks
from ..engine.errors import MiaValueError
from ..engine.options import AuditOptions
from ..engine.results import AuditReport
from ..engine.validators import MAX_REFERENCES
from ..engine.verdict.settings import SETTING_CHOICES
from ..render.mime import FPR_CHOICES, fpr_choices

__all__ = [
    "FPR_CHOICES",
    "NO_RECORD",
    "PanelControls",
    "attack_options",
    "fpr_text",
    "needs_references",
]

#: CSS classes the extension's stylesheet (labextension/style/index.css) keys on.
PANEL_CLASS = "mia-audit-panel"
REPORT_AREA_CLASS = "mia-report-area"
KERNEL_INSTANT_CLASS = "mia-kernel-instant"
#: Value of the record dropdown when no record is chosen.
NO_RECORD = -1
_WIDE = {"description_width": "initial"}


def fpr_text(value: float) -> str:
    """``0.001`` as ``0.1%``."""
    return f"{value * 100:g}%"


def needs_references(name: str) -> bool:
    """Whether attack ``name`` trains reference models (False for unknown names)."""
    try:
        return bool(attack_class(name).needs_references)
    except MiaValueError:
        return False


def attack_options(report: AuditReport) -> list[tuple[str, str]]:
    """Every attack, computed ones first, labelled with what selecting it needs."""
    computed = set(report.computed_attacks)
    names = list(dict.fromkeys([*report.computed_attacks, *available_attacks()]))
    out = []
    for name in names:
        if name in computed:
            label = name
        elif name in report.skipped:
            label = f"{name} (not run: Run to retry)"
        else:
            label = f"{name} (needs Run)"
        out.append((label, name))
    return out


def initial_fpr(report: AuditReport) -> float:
    """The report's smallest FPR target that its non-members can resolve."""
    targets = report.options.fpr
    resolvable = [t for t in targets if report.info.n_nonmembers * t >= 1.0 - 1e-9]
    return float(resolvable[0] if resolvable else targets[-1])


#: How the panel names each ``setting=`` choice.
SETTING_NAMES = {
    "worst": "the worse setting",
    "black-box": "behind the API (black-box)",
    "white-box": "the file shared (white-box)",
}


class PanelControls:
    """The widgets of an :class:`~mia_notebook.panel.AuditPanel`, set from ``report``.

    Run settings (need training): ``attacks``, ``references``, ``seed``, the buttons
    and the progress bar. Instant settings (re-view cached scores): ``fpr``, ``flag``,
    ``slice``, ``redact``, and which computed ``attacks`` are shown. Outputs:
    ``status``, ``report_area`` (an Output showing the report's bundle; ``view_html`` is
    its HTML), ``record``, ``record_view``; ``widget`` holds them all.

    Parameters
    ----------
    report : AuditReport
        The audit the controls start from; every Run repeats its options.
    train, test, population : DataFrame
        The frames every Run audits (``population``: None when there is none).
    """

    def __init__(
        self,
        report: AuditReport,
        *,
        train: pd.DataFrame | None,
        test: pd.DataFrame | None,
        population: pd.DataFrame | None = None,
    ) -> None:
        self._base = report
        self.train, self.test, self.population = train, test, population
        self._locked_redact = tuple(report.options.redact)
        self.last_error: str | None = None
        self._build_run(report)
        self._build_view(report)
        self.status = W.HTML("")
        self._build_report_area()
        self.record = W.Dropdown(
            options=[("— choose a flagged record —", NO_RECORD)], value=NO_RECORD,
            description="Inspect record", style=_WIDE, layout=W.Layout(width="420px"),
        )  # fmt: skip
        self.record_view = W.HTML("")
        self.widget = self._layout()

    def _build_run(self, report: AuditReport) -> None:
        self.attacks = W.SelectMultiple(
            options=attack_options(report), value=tuple(report.attacks),
            rows=min(8, max(4, len(available_attacks()))), description="Attacks", style=_WIDE,
        )  # fmt: skip
        self.references = W.BoundedIntText(
            value=report.options.references, min=1,
            max=MAX_REFERENCES, description="Reference models", style=_WIDE,
            layout=W.Layout(width="220px"),
        )  # fmt: skip
        self.seed = W.BoundedIntText(
            value=report.options.seed, min=0, max=2**32 - 1, description="Seed",
            style=_WIDE, layout=W.Layout(width="220px"),
        )  # fmt: skip
        self.run_button = W.Button(description="Run", icon="play", disabled=True)
        self.cancel_button = W.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="160px"))
        self.progress.layout.visibility = "hidden"
        self.progress_label = W.Label("")

    def _build_view(self, report: AuditReport) -> None:
        values = fpr_choices(report)  # the extension's: those the non-members resolve
        self.fpr = W.SelectionSlider(
            options=[(fpr_text(v), v) for v in values], value=initial_fpr(report),
            description="FPR target", continuous_update=False, style=_WIDE,
            layout=W.Layout(width="360px"),
        )  # fmt: skip
        n_train, flag = report.info.n_members, report.options.flag
        self.flag = W.IntSlider(
            value=flag, min=0, max=max(min(100, n_train), flag), description="Flagged records",
            continuous_update=False, style=_WIDE, layout=W.Layout(width="360px"),
        )  # fmt: skip
        cols = [str(c) for c in report.records.train_columns]
        # in both frames; under person=, constant within every person
        both = [c for c in report.records.slice_choices() if c != report.info.target]
        choices = ["", *both]
        self.slice = W.Dropdown(
            options=[("(none)", ""), *[(c, c) for c in both]],
            value=report.options.slice if report.options.slice in choices else "",
            description="Slice by", style=_WIDE,
        )  # fmt: skip
        self.redact = W.SelectMultiple(
            options=cols, value=tuple(report.options.redact), rows=min(6, max(3, len(cols))),
            description="Redact", style=_WIDE,
        )  # fmt: skip
        self.setting = W.Dropdown(
            options=[(SETTING_NAMES[s], s) for s in SETTING_CHOICES],
            value=report.options.setting, description="Verdict for", style=_WIDE,
        )  # fmt: skip

    def _build_report_area(self) -> None:
        # The report is an Output holding the report's whole bundle (JSON, HTML, plain):
        # with the JupyterLab / Notebook 7 extension the notebook's renderer draws the
        # JSON interactively (instant FPR target, attacks, sorting, ROC hover: no kernel
        # message); elsewhere the HTML shows, as before.
        self.report_area = W.Output(layout=W.Layout(width="100%"))
        self.report_area.add_class(REPORT_AREA_CLASS)
        self.view_html = ""
        # The kernel's FPR slider duplicates the renderer's client-side FPR control: the
        # extension's stylesheet hides it when a rendered report is in the same panel.
        self.fpr.add_class(KERNEL_INSTANT_CLASS)

    def _layout(self) -> W.VBox:
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
        title = W.HTML("<b>Instant</b> (from cached scores)")
        view_box = W.VBox([title, self.fpr, self.flag, self.slice, self.redact, self.setting])
        widget = W.VBox(
            [
                W.HBox([run_box, view_box]),
                self.status,
                self.report_area,
                W.HTML("<b>Record inspector</b>"),
                self.record,
                self.record_view,
            ]
        )
        widget.add_class(PANEL_CLASS)
        return widget

    def set_running(self, running: bool, message: str, *, pending: bool) -> None:
        """Lock the run settings while a run is in progress; show ``message``."""
        for w in (self.attacks, self.references, self.seed):
            w.disabled = running
        self.cancel_button.disabled = not running
        self.run_button.disabled = running or not pending
        if running:
            self.run_button.button_style = ""
            self.progress.value, self.progress.max = 0, 1
            self.progress.bar_style = "info"
        self.progress.layout.visibility = "visible" if running else "hidden"
        self.progress_label.value = message

    def show_progress(self, done: int, total: int, description: str) -> None:
        """Draw one engine progress step."""
        self.progress.max = max(int(total), 1)
        self.progress.value = min(int(done), self.progress.max)
        self.progress_label.value = f"{description}: {done}/{total}"

    # ------------------------------------------------------------ what they mean
    def view_options(self) -> dict[str, Any]:
        """The instant settings as :meth:`AuditReport.with_options` arguments."""
        computed = self._base.computed_attacks
        shown = tuple(a for a in self.attacks.value if a in computed)
        return {
            "fpr": (float(self.fpr.value),),
            "flag": int(self.flag.value),
            "slice": self.slice.value or None,
            "redact": tuple(dict.fromkeys([*self._locked_redact, *self.redact.value])),
            "show": shown or None,
            "setting": self.setting.value,
        }

    def run_changes(self) -> dict[str, Any]:
        """The Run settings that differ from the audit's options: ``attacks`` (when an
        attack not computed yet is selected: every computed one stays, so the verdict
        still judges them all), ``references`` and ``seed``."""
        opts, computed = self._base.options, self._base.computed_attacks
        out: dict[str, Any] = {}
        if any(a not in computed for a in self.attacks.value):
            out["attacks"] = tuple(dict.fromkeys([*computed, *self.attacks.value]))
        uses_refs = any(needs_references(a) for a in [*computed, *self.attacks.value])
        if uses_refs and int(self.references.value) != opts.references:
            out["references"] = int(self.references.value)
        if int(self.seed.value) != opts.seed:
            out["seed"] = int(self.seed.value)
        return out

    def pending(self) -> list[str]:
        """Settings changed since the last audit that need a Run, described."""
        opts, changes = self._base.options, self.run_changes()
        out = []
        missing = [a for a in self.attacks.value if a not in self._base.computed_attacks]
        if missing:
            out.append("attacks not computed yet: " + ", ".join(missing))
        if "references" in changes:
            out.append(f"reference models: {opts.references} → {changes['references']}")
        if "seed" in changes:
            out.append(f"seed: {opts.seed} → {changes['seed']}")
        return out

    def run_options(self) -> AuditOptions:
        """The next Run's options: the audit's own, with :meth:`run_changes`."""
        return self._base.options.replace(**self.run_changes())

    def audit_arguments(self) -> dict[str, Any]:
        """Keyword arguments of the next Run's :func:`audit` call (no model, no
        progress): the frames, the target and :meth:`run_options`."""
        if self.train is None or self.test is None:
            raise MiaValueError(
                "This panel has no frames to re-audit (the report was loaded without its "
                "data): AuditPanel(report, model=clf, train=train_df, test=test_df)."
            )
        return {
            "train": self.train,
            "test": self.test,
            "target": self._base.info.target,
            "population": self.population,
            "options": self.run_options(),
        }

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
