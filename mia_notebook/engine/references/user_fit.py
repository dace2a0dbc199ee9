"""Reference models trained by the user's own function (the ``fit`` option).

``fit(train_frame) -> fitted model`` replaces ``clone(model).fit(X, y)`` for every
reference model, for models that ``clone`` cannot rebuild (a Keras or PyTorch model
wrapped with ``predict_proba``, a pipeline with custom preprocessing, a training script).

* :class:`FitFunction` -- the template a reference job carries: the function, and how to
  turn the population's rows into ``train_frame`` (the audit's feature and target
  columns);
* :func:`fit_identity` -- the function's identity in the reference cache keys (its name
  and a hash of its code, defaults, closure, the constants it reads and the helper
  functions it calls), so a changed function is never served stale reference models;
* :func:`check_shippable` -- a clear error, before any job starts, when the function
  cannot be sent to worker processes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType
from typing import Any

import joblib
import numpy as np
import pandas as pd
from joblib.parallel import get_active_backend

from ..errors import MiaValueError
from ..validators import callable_name
from .population import take_rows

__all__ = [
    "FitFunction",
    "FitNotShippable",
    "check_shippable",
    "error_text",
    "fit_identity",
    "fit_note",
]

#: Values of global names that join a function's identity (functions and classes of its
#: module join by their code; modules and other objects do not).
_PLAIN = (int, float, str, bytes, tuple, frozenset, list, dict, np.ndarray)
#: joblib backends that run jobs in this process (nothing is pickled).
_IN_PROCESS = ("SequentialBackend", "ThreadingBackend")


class FitNotShippable(MiaValueError):
    """The fit function cannot be pickled for the worker processes."""


def error_text(e: BaseException) -> str:
    """``Type: first line of the message`` of an exception."""
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


@dataclass(frozen=True)
class FitFunction:
    """A reference model's trainer: ``fn(train_frame)`` on the job's IN rows.

    Attributes
    ----------
    fn : callable
        The user's ``fit(train_frame) -> fitted model``.
    features : tuple of str
        The feature columns, in the order the model takes them.
    target : str
        The label column (the last column of ``train_frame``).
    """

    fn: Callable[[pd.DataFrame], Any]
    features: tuple[str, ...]
    target: str

    def train(self, X: Any, labels: np.ndarray, rows: np.ndarray) -> Any:
        """The fitted model ``fn`` returns for the rows ``rows`` of ``X`` and ``labels``.

        ``train_frame`` is a new DataFrame (index 0..n-1): the feature columns (an array
        population becomes columns with dtypes inferred from the values), then the target.
        """
        part = take_rows(X, rows)
        if isinstance(part, pd.DataFrame):
            frame = part.reset_index(drop=True)
        else:
            frame = pd.DataFrame(part, columns=list(self.features)).infer_objects()
        frame = frame.assign(**{self.target: np.asarray(labels)[rows]})
        model = self.fn(frame)
        if model is None:
            raise TypeError(
                f"the fit function {callable_name(self.fn)} returned None; it must return "
                "the fitted model"
            )
        return model


def fit_note(fn: Callable[..., Any]) -> str:
    """The report note saying who trained the reference models."""
    return (
        f"reference models were trained with the user's fit function {callable_name(fn)} "
        "(fit=), not clone + fit"
    )


def _value_hash(value: Any) -> str:
    try:
        return str(joblib.hash(value))
    except Exception:  # not picklable: its identity in this process
        return f"id-{id(value):x}"


def _code_parts(code: CodeType) -> tuple[Any, ...]:
    consts = tuple(_code_parts(c) if isinstance(c, CodeType) else repr(c) for c in code.co_consts)
    return (code.co_code, consts, code.co_names, code.co_varnames)


def _parts(fn: Any, seen: set[int], depth: int = 0) -> Any:
    """What ``fn`` computes with: code, defaults, closure, and (a few levels deep) the
    functions and same-module classes its code names."""
    if id(fn) in seen or depth > 4:
        return "seen"
    seen.add(id(fn))
    if callable(getattr(fn, "func", None)):  # functools.partial
        return ("partial", _parts(fn.func, seen, depth), _value_hash((fn.args, fn.keywords)))
    if inspect.ismethod(fn):
        return ("method", _parts(fn.__func__, seen, depth), _value_hash(fn.__self__))
    if inspect.isclass(fn):
        methods = [v for v in vars(fn).values() if inspect.isfunction(v)]
        return ("class", fn.__qualname__, [_parts(m, seen, depth + 1) for m in methods])
    code = getattr(fn, "__code__", None)
    if not isinstance(code, CodeType):  # a callable object: its state and its class
        return ("object", _value_hash(fn), _parts(type(fn), seen, depth))
    cells = []
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            value = None
        cells.append(_parts(value, seen, depth + 1) if callable(value) else _value_hash(value))
    named = []
    module = getattr(fn, "__module__", None)
    for name in code.co_names:
        g = getattr(fn, "__globals__", {}).get(name)
        if inspect.isfunction(g) or (inspect.isclass(g) and g.__module__ == module):
            named.append((name, _parts(g, seen, depth + 1)))
        elif isinstance(g, _PLAIN):  # a constant the code reads (EPOCHS = 60)
            named.append((name, _value_hash(g)))
    defaults = _value_hash((fn.__defaults__, getattr(fn, "__kwdefaults__", None)))
    return (_code_parts(code), defaults, cells, named)


def fit_identity(fn: Callable[..., Any]) -> str:
    """``fit:<module.qualname>:<hash>``: the function's name and a hash of its code, its
    defaults and closure, and the code of the functions and classes it calls (values that
    cannot be hashed count by their identity in this process)."""
    digest = str(joblib.hash(_parts(fn, set())))[:16]
    return f"fit:{callable_name(fn)}:{digest}"


def _dumps() -> Callable[[Any], bytes]:
    """cloudpickle's ``dumps``: what loky and Dask send jobs with (joblib >= 1.6 uses
    the ``cloudpickle`` package, older joblib its bundled copy)."""
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - joblib < 1.6
        from joblib.externals import cloudpickle
    dumps: Callable[[Any], bytes] = cloudpickle.dumps
    return dumps


def check_shippable(template: Any, n_jobs: int | None) -> None:
    """Raise :class:`FitNotShippable` when ``template`` is a :class:`FitFunction` whose
    function the active joblib backend would have to pickle and cannot."""
    if not isinstance(template, FitFunction) or n_jobs == 1:
        return
    backend, _ = get_active_backend()
    name = type(backend).__name__
    if name in _IN_PROCESS:
        return
    try:
        _dumps()(template.fn)
    except Exception as e:
        raise FitNotShippable(
            f"The fit function {callable_name(template.fn)} cannot be sent to the worker "
            f"processes that train the reference models ({name}: {error_text(e)}). Define it "
            "at module level in an importable file (from my_fits import fit_model; its "
            "closure and defaults must pickle too), or train the references in this "
            "process: n_jobs=1, or joblib.parallel_config(backend='threading')."
        ) from e
