"""A bounded in-memory cache for the expensive stage (model outputs, reference signals).

Keys are fingerprints of everything the value depends on (model state, data, seed,
settings), so a hit is always valid. Least-recently-used entries are evicted once the
total size passes ``max_bytes``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CACHE", "CacheCleared", "SignalCache", "clear_cache", "nbytes_of"]


def nbytes_of(value: Any) -> int:
    """Approximate memory held by ``value`` (numpy arrays, containers of them)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, dict):
        return sum(nbytes_of(v) for v in value.values()) + 64
    if isinstance(value, list | tuple):
        return sum(nbytes_of(v) for v in value) + 64
    if hasattr(value, "__dict__"):
        return nbytes_of(vars(value)) + 64
    return 64


class SignalCache:
    """Thread-safe LRU cache with a byte budget.

    Parameters
    ----------
    max_bytes : int, default=2 GiB
    """

    def __init__(self, max_bytes: int = 2 * 1024**3) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: Any) -> None:
        size = nbytes_of(value)
        with self._lock:
            self._items.pop(key, None)
            if size > self.max_bytes:
                return
            self._items[key] = (value, size)
            while self.nbytes > self.max_bytes:
                self._items.popitem(last=False)

    @property
    def nbytes(self) -> int:
        return sum(size for _, size in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


#: The process-wide cache used by :func:`mia_notebook.audit`.
CACHE = SignalCache()


@dataclass(frozen=True)
class CacheCleared:
    """What :func:`clear_cache` freed.

    Attributes
    ----------
    entries : int
        Cached items removed (model outputs, reference models...).
    nbytes : int
        Their approximate size in bytes.
    """

    entries: int
    nbytes: int

    def __str__(self) -> str:
        n = self.entries
        return (
            f"Cleared the audit cache: freed {self.nbytes / 1024**2:.1f} MB in {n} "
            f"entr{'y' if n == 1 else 'ies'}."
        )


def clear_cache() -> CacheCleared:
    """Empty the process-wide cache of the expensive stage (the target model's outputs,
    reference models, label-robust queries); the next audit recomputes them.

    Returns
    -------
    CacheCleared
        How many entries and bytes were freed (``str()``: one sentence).
    """
    entries, nbytes = len(CACHE), CACHE.nbytes
    CACHE.clear()
    return CacheCleared(entries, nbytes)
