"""The notebook form of the engine's progress protocol: a bar in the cell output.

The engine stays notebook-free (``engine/progress.py``); ``mia_notebook`` hands this
form in on import (:func:`install`), as it does the renderer. IPython is never imported
here: a running kernel is found in ``sys.modules``, and ``IPython.display`` is imported
only when a bar first draws inside one.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable
from typing import Any

from .engine.progress import (
    BarProgress,
    Progress,
    bar_text,
    eta_seconds,
    format_eta,
    set_notebook_progress,
)

__all__ = ["NotebookProgress", "in_notebook", "install"]


class NotebookProgress(BarProgress):
    """A bar in the cell output, updated in place through one display handle.

    When done it is replaced by an empty ``text/plain`` output, so a saved notebook
    keeps no trace of it.

    Parameters
    ----------
    min_interval : float, default=0.2
    display : callable, default=None
        ``IPython.display.display`` or a stand-in with its signature; None imports
        IPython's on first draw (so the engine does not import IPython).
    """

    def __init__(
        self, min_interval: float = 0.2, display: Callable[..., Any] | None = None
    ) -> None:
        super().__init__(min_interval)
        self._display = display
        self._handle: Any = None

    def _bundle(self, done: int) -> dict[str, str]:
        eta = format_eta(eta_seconds(done, self.total, self.elapsed))
        frac = done / self.total if self.total else 1.0
        return {
            "text/plain": bar_text(self.description, done, self.total, self.elapsed),
            "text/html": (
                f"<div class='mia-progress'><progress value='{done}' max='{self.total}' "
                "style='width:16em;vertical-align:middle'></progress> "
                f"{html.escape(self.description)} {done}/{self.total} "
                f"({frac:.0%}, ETA {eta})</div>"
            ),
        }

    def draw(self, done: int) -> None:
        if self._handle is None:
            show = self._display or _ipython_display()
            self._handle = show(self._bundle(done), raw=True, display_id=True)
        else:
            self._handle.update(self._bundle(done), raw=True)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.update({"text/plain": ""}, raw=True)
            self._handle = None


def _ipython_display() -> Callable[..., Any]:
    from IPython import display as ipd  # only reached inside a kernel

    show: Callable[..., Any] = ipd.display
    return show


def in_notebook() -> bool:
    """True inside a Jupyter kernel; never imports IPython (it is loaded if there is one)."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if callable(get) else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _notebook_form() -> Progress | None:
    return NotebookProgress() if in_notebook() else None


def install() -> None:
    """Make ``audit(progress=True)`` draw :class:`NotebookProgress` inside a kernel."""
    set_notebook_progress(_notebook_form)
