"""How reports reach their outputs without the engine importing the render layer.

:class:`Slot` holds a renderer that the package above installs as a *factory*
(``mia_notebook/__init__`` hands one in; nothing is imported until a report is first
displayed). :mod:`.results` and :mod:`.compare` each declare their renderer's
interface and keep one slot. The rest is plain-JSON conversion shared by exports.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import pandas as pd

from .errors import MiaError

__all__ = ["Renderer", "Slot", "jsonable", "records"]

_R = TypeVar("_R")
_Shown = TypeVar("_Shown", contravariant=True)


class Renderer(Protocol[_Shown]):
    """What turns a report (or a comparison) into outputs. The engine never imports one:
    the package installs a factory in the report type's :class:`Slot`."""

    def bundle(self, shown: _Shown) -> dict[str, Any]:
        """The MIME bundle shown in a notebook."""

    def page(self, shown: _Shown) -> str:
        """A standalone HTML page."""

    def text(self, shown: _Shown) -> str:
        """The plain-text summary."""


class Slot(Generic[_R]):
    """One renderer, created on first use from the factory installed with :meth:`install`.

    Parameters
    ----------
    what : str
        What it renders, for the error when nothing is installed (e.g. "report").
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._factory: Callable[[], _R] | None = None
        self._made: _R | None = None

    def install(self, factory: Callable[[], _R] | None) -> None:
        """Use ``factory()`` to make the renderer on first use (None removes it)."""
        self._factory, self._made = factory, None

    @property
    def installed(self) -> bool:
        """Whether a renderer is (or will be, on first use) available."""
        return self._factory is not None

    def get(self) -> _R:
        """The renderer (made now if this is the first use); a clear error when none is
        installed."""
        if self._made is None:
            if self._factory is None:
                raise MiaError(
                    f"No {self.what} renderer is installed. Import mia_notebook (it installs "
                    f"mia_notebook.render) before rendering a {self.what}."
                )
            self._made = self._factory()
        return self._made


def jsonable(obj: Any) -> Any:
    """``obj`` with NumPy scalars as Python ones and NaN/inf as None (for JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if math.isnan(obj) or math.isinf(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts, the index as the first key."""
    if frame.empty:
        return []
    name = frame.index.name or "index"
    flat = frame.reset_index(names=[str(name)] if frame.index.nlevels == 1 else None)
    return [{str(k): v for k, v in r.items()} for r in flat.to_dict(orient="records")]
