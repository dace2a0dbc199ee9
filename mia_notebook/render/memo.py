"""The render layer's one memo: rendered artefacts (figures, PNG bytes, HTML pieces).

Kept here, never in the report: a report holds numbers only. Entries are shared by every
report that :meth:`AuditReport.with_options` derives from one audit (they share the
``scores`` frame), and are dropped when that frame is garbage-collected.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from ..engine.results import AuditReport

__all__ = ["clear", "memoized"]

_T = TypeVar("_T")
_MEMOS: dict[int, dict[Hashable, Any]] = {}
_LOCK = threading.Lock()


def _memo_of(report: AuditReport) -> dict[Hashable, Any]:
    key = id(report.scores)
    with _LOCK:
        memo = _MEMOS.get(key)
        if memo is None:
            memo = _MEMOS[key] = {}
            weakref.finalize(report.scores, _MEMOS.pop, key, None)
        return memo


def memoized(report: AuditReport, key: Hashable, compute: Callable[[], _T]) -> _T:
    """``compute()``, memoized under ``key`` for the audit ``report`` comes from.

    The key must name everything the value depends on beyond the audit's scores and
    data (view options, the attacks shown, the evidence used).
    """
    memo = _memo_of(report)
    try:
        value: _T = memo[key]
    except KeyError:
        value = memo[key] = compute()
    return value


def clear() -> None:
    """Forget every rendered artefact (for tests and benchmarks of cold renders)."""
    with _LOCK:
        _MEMOS.clear()
