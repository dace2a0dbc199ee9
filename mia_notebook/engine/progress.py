"""Progress of long engine steps (training reference models): one protocol, three forms.

The engine calls only the small :class:`Progress` protocol. ``audit(progress=True)``
picks the form that suits where the audit runs (:func:`default_progress`):

* in a Jupyter kernel, the notebook layer's bar (``mia_notebook.notebook_progress``,
  installed through :func:`set_notebook_progress`): an HTML bar updated in place;
* on a terminal, :class:`TextProgress`: a one-line bar rewritten with ``\\r`` on stderr
  and erased when done;
* anywhere else (CI logs, a file, nbconvert's captured stderr), :class:`LineProgress`:
  a handful of plain lines (start, each quarter, end) instead of a run of ``\\r`` updates.

The engine stays notebook-free: the notebook form lives in the layer above and is
handed in, as the renderer is.
"""

from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import IO, Any, Protocol, runtime_checkable

from .errors import MiaTypeError

__all__ = [
    "BarProgress",
    "LineProgress",
    "NullProgress",
    "Progress",
    "TextProgress",
    "bar_text",
    "default_progress",
    "eta_seconds",
    "format_eta",
    "make_progress",
    "set_default_progress",
    "set_notebook_progress",
]


@runtime_checkable
class Progress(Protocol):
    """What the engine calls while it works through ``total`` steps."""

    def start(self, total: int, description: str) -> None:
        """Called once, before the first step."""

    def update(self, done: int) -> None:
        """Called after each step with the number of steps done so far."""

    def close(self) -> None:
        """Called once at the end, also after an error or an interrupt."""


class NullProgress:
    """Shows nothing."""

    def start(self, total: int, description: str) -> None:
        pass

    def update(self, done: int) -> None:
        pass

    def close(self) -> None:
        pass


def format_eta(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a number of seconds; ``?`` when unknown."""
    if seconds != seconds or seconds < 0:  # NaN
        return "?"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def eta_seconds(done: int, total: int, elapsed: float) -> float:
    """Seconds left at the average pace so far (NaN before the first step)."""
    return elapsed / done * (total - done) if done else float("nan")


def bar_text(description: str, done: int, total: int, elapsed: float, width: int = 24) -> str:
    """``description  7/16 [#########...............]  ETA 0:12``."""
    frac = done / total if total else 1.0
    filled = round(frac * width)
    return (
        f"{description} {done}/{total} [{'#' * filled}{'.' * (width - filled)}] "
        f"ETA {format_eta(eta_seconds(done, total, elapsed))}"
    )


class BarProgress(ABC):
    """Shared timing and redraw throttling of the bars; subclasses :meth:`draw`.

    Parameters
    ----------
    min_interval : float, default=0.2
        Seconds between redraws (the first and last steps always draw).
    """

    def __init__(self, min_interval: float = 0.2) -> None:
        self.min_interval = min_interval
        self.total = 0
        self.description = ""
        self._t0 = 0.0
        self._last = -1.0

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    @abstractmethod
    def draw(self, done: int) -> None:
        """Show the state after ``done`` of ``self.total`` steps."""

    def start(self, total: int, description: str) -> None:
        self.total, self.description = total, description
        self._t0 = time.perf_counter()
        self.draw(0)

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if done < self.total and now - self._last < self.min_interval:
            return
        self._last = now
        self.draw(done)

    @abstractmethod
    def close(self) -> None:
        """Remove the bar."""


class TextProgress(BarProgress):
    """A one-line bar rewritten in place on a terminal stream; erased by :meth:`close`.

    Parameters
    ----------
    stream : file-like, default=sys.stderr
    min_interval : float, default=0.2
        Seconds between redraws (the first and last steps always draw).
    """

    def __init__(self, stream: IO[str] | None = None, min_interval: float = 0.2) -> None:
        super().__init__(min_interval)
        self.stream = stream
        self._width = 0

    def draw(self, done: int) -> None:
        text = bar_text(self.description, done, self.total, self.elapsed)
        stream = self.stream or sys.stderr
        pad = max(self._width - len(text), 0)
        stream.write("\r" + text + " " * pad)
        stream.flush()
        self._width = len(text)

    def close(self) -> None:
        if self._width:
            stream = self.stream or sys.stderr
            stream.write("\r" + " " * self._width + "\r")
            stream.flush()
            self._width = 0


class LineProgress(BarProgress):
    """Plain lines for streams that are not terminals: start, each quarter, end.

    A CI log or a file shows every ``\\r`` redraw of a live bar as text; this writes at
    most six lines for any number of steps.

    Parameters
    ----------
    stream : file-like, default=sys.stderr
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__(min_interval=0.0)
        self.stream = stream
        self._quarter = 0
        self._done = 0
        self._open = False

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(text + "\n")
        stream.flush()

    def draw(self, done: int) -> None:
        self._done = done
        if done == 0:
            self._open, self._quarter = True, 0
            self._write(f"{self.description}: 0/{self.total}")
            return
        quarter = 4 * done // self.total if self.total else 4
        if quarter > self._quarter and done < self.total:
            self._quarter = quarter
            self._write(
                f"{self.description}: {done}/{self.total} ({done / self.total:.0%}), "
                f"ETA {format_eta(eta_seconds(done, self.total, self.elapsed))}"
            )

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        took = format_eta(self.elapsed)
        if self._done >= self.total:
            self._write(f"{self.description}: done, {self.total}/{self.total} in {took}")
        else:
            self._write(f"{self.description}: stopped at {self._done}/{self.total} after {took}")


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


_DEFAULT_FACTORY: Callable[[], Progress] | None = None
_NOTEBOOK_FORM: Callable[[], Progress | None] | None = None


def set_default_progress(factory: Callable[[], Progress] | None) -> None:
    """Make ``factory()`` the display of ``progress=True``; None: choose automatically.

    Kept for callers that want one form everywhere; the automatic choice
    (:func:`default_progress`) already gives notebooks their in-place bar.
    """
    global _DEFAULT_FACTORY
    _DEFAULT_FACTORY = factory


def set_notebook_progress(form: Callable[[], Progress | None] | None) -> None:
    """Install the notebook layer's form: ``form()`` returns a bar when the audit runs
    inside a notebook kernel and None elsewhere (``mia_notebook`` installs it on import)."""
    global _NOTEBOOK_FORM
    _NOTEBOOK_FORM = form


def default_progress() -> Progress:
    """The progress form for where the audit runs (see the module docstring)."""
    if _DEFAULT_FACTORY is not None:
        return _DEFAULT_FACTORY()
    notebook = _NOTEBOOK_FORM() if _NOTEBOOK_FORM is not None else None
    if notebook is not None:
        return notebook
    if _is_terminal(sys.stderr):
        return TextProgress()
    return LineProgress()


def make_progress(progress: bool | Progress | None) -> Progress:
    """The :class:`Progress` to use for an ``audit(progress=...)`` argument."""
    if progress is None or progress is False:
        return NullProgress()
    if progress is True:
        return default_progress()
    if isinstance(progress, Progress):
        return progress
    raise MiaTypeError(
        "The 'progress' parameter must be True, False or an object with start(total, "
        f"description), update(done) and close(). Got {type(progress).__name__} instead."
    )
