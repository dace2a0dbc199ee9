"""The panel's runner: one audit at a time in a background thread, with progress and
Cancel.

Cancel is cooperative: the runner hands :func:`~mia_notebook.engine.audit.audit` a
progress object (the engine's :class:`~mia_notebook.engine.progress.Progress`
protocol) that raises :class:`AuditCancelled` at the engine's next progress step
(after the reference model in training). Models finished so far stay cached, so the
next Run resumes from them. A cancelled run's result is never delivered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..engine.audit import audit
from ..engine.errors import MiaValueError
from ..engine.results import AuditReport

__all__ = ["AuditCancelled", "PanelProgress", "Runner", "first_report"]


class AuditCancelled(BaseException):
    """Raised inside a running audit, through its progress object, after Cancel.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that no ``except Exception``
    in the engine swallows it.
    """


class PanelProgress:
    """The engine's progress protocol, forwarded to ``on_progress``; raises
    :class:`AuditCancelled` once ``cancel`` is set."""

    def __init__(
        self, cancel: threading.Event, on_progress: Callable[[int, int, str], None]
    ) -> None:
        self._cancel = cancel
        self._on_progress = on_progress
        self._total = 0
        self._description = "Working"

    def _check(self) -> None:
        if self._cancel.is_set():
            raise AuditCancelled("Cancelled from the panel.")

    def start(self, total: int, description: str) -> None:
        self._check()
        self._total, self._description = max(int(total), 1), description
        self._on_progress(0, self._total, description)

    def update(self, done: int) -> None:
        self._check()
        self._on_progress(int(done), self._total, self._description)

    def close(self) -> None:
        pass


class Runner:
    """Runs :func:`audit` in a background thread; one run at a time.

    Parameters
    ----------
    on_done : callable
        ``on_done(report, seconds)``, called in the worker thread with the new report
        (never for a cancelled or superseded run).
    on_error : callable
        ``on_error(exception)`` for a run that failed (not cancelled).
    on_progress : callable
        ``on_progress(done, total, description)`` at each engine progress step.

    Attributes
    ----------
    outcome : str or None
        How the last run ended: ``'done'``, ``'error'`` or ``'cancelled'``; None while
        it runs or before the first.
    """

    def __init__(
        self,
        *,
        on_done: Callable[[AuditReport, float], None],
        on_error: Callable[[BaseException], None],
        on_progress: Callable[[int, int, str], None],
    ) -> None:
        self._on_done, self._on_error, self._on_progress = on_done, on_error, on_progress
        self._worker: threading.Thread | None = None
        self._cancel: threading.Event | None = None
        self._run_id = 0
        self.outcome: str | None = None

    @property
    def running(self) -> bool:
        """Whether a run is in progress and not cancelled."""
        alive = self._worker is not None and self._worker.is_alive()
        return alive and not (self._cancel is not None and self._cancel.is_set())

    def start(self, model: Any, kwargs: dict[str, Any]) -> None:
        """Start ``audit(model, **kwargs, progress=...)`` in a background thread."""
        cancel = threading.Event()
        self._run_id += 1
        self._cancel, self.outcome = cancel, None
        self._worker = threading.Thread(
            target=self._work,
            args=(self._run_id, model, kwargs, cancel),
            daemon=True,
            name="mia-audit-panel-run",
        )
        self._worker.start()

    def _work(
        self, run_id: int, model: Any, kwargs: dict[str, Any], cancel: threading.Event
    ) -> None:
        t0 = time.perf_counter()
        progress = PanelProgress(cancel, self._on_progress)
        try:
            report = audit(model, **kwargs, progress=progress)
        except AuditCancelled:
            self.outcome = "cancelled"
            return
        except Exception as e:
            self.outcome = "cancelled" if cancel.is_set() else "error"
            if run_id == self._run_id and not cancel.is_set():
                self._on_error(e)
            return
        if run_id != self._run_id or cancel.is_set():
            self.outcome = "cancelled"  # finished after Cancel: the result is dropped
            return
        self.outcome = "done"
        self._on_done(report, time.perf_counter() - t0)

    def cancel(self) -> bool:
        """Cancel the running run; False when there was none to cancel."""
        if self._cancel is None or self._cancel.is_set():
            return False
        self._cancel.set()
        self._run_id += 1
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker ends (for scripts and tests); True if it did."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True


def first_report(
    source: AuditReport | Any, model: Any, kwargs: dict[str, Any]
) -> tuple[AuditReport, Any]:
    """The panel's first report and its model: ``source`` itself (then ``kwargs`` may
    hold only the frames), or an audit of the model ``source`` (``kwargs``: the frames,
    ``target``, ``population`` and options)."""
    frames = {k: kwargs.pop(k) for k in ("train", "test", "target")}
    if isinstance(source, AuditReport):
        if kwargs:
            raise MiaValueError(
                f"AuditPanel(report, ...) takes no options (got {sorted(kwargs)}): the report "
                "carries the options it ran with, and every Run repeats them. Change views "
                "with report.with_options(...), or audit again with "
                "audit(model, ..., options=report.options.replace(...))."
            )
        return source, model
    if model is not None:
        raise MiaValueError("Give the model once: as the first argument or as model=.")
    if any(v is None for v in frames.values()):
        raise MiaValueError(
            "AuditPanel(model, ...) needs train=, test= and target= to run the audit, "
            "e.g. AuditPanel(clf, train=train_df, test=test_df, target='label'); "
            "or pass a report: AuditPanel(report, model=clf)."
        )
    return audit(source, **frames, **kwargs), source
