"""Progress reporting for long engine steps (training reference models).

The engine only knows the small :class:`Progress` protocol. Plain Python gets
:class:`TextProgress`, a one-line bar on stderr that erases itself when done; the notebook
layer registers its own implementation with :func:`set_default_progress` (the engine
never imports IPython).
"""

from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import IO, Protocol, runtime_checkable

__all__ = [
    "BarProgress",
    "NullProgress",
    "Progress",
    "TextProgress",
    "make_progress",
    "set_default_progress",
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
    """A one-line bar rewritten in place on a stream (stderr); erased by :meth:`close`.

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


_DEFAULT_FACTORY: Callable[[], Progress] = TextProgress


def set_default_progress(factory: Callable[[], Progress] | None) -> None:
    """Make ``factory()`` the progress display of ``progress=True`` (None: the text bar).

    The notebook layer calls this on ``%load_ext mia_notebook`` so that audits run in a
    notebook show a bar that leaves nothing behind in the saved notebook.
    """
    global _DEFAULT_FACTORY
    _DEFAULT_FACTORY = factory or TextProgress


def make_progress(progress: bool | Progress | None) -> Progress:
    """The :class:`Progress` to use for an ``audit(progress=...)`` argument."""
    if progress is None or progress is False:
        return NullProgress()
    if progress is True:
        return _DEFAULT_FACTORY()
    if isinstance(progress, Progress):
        return progress
    from .errors import MiaTypeError

    raise MiaTypeError(
        "The 'progress' parameter must be True, False or an object with start(total, "
        f"description), update(done) and close(). Got {type(progress).__name__} instead."
    )
