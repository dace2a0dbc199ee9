"""The expensive-stage cache is bounded: LRU eviction under a byte budget."""

from __future__ import annotations

import numpy as np

from mia_notebook.engine.cache import SignalCache


def test_lru_eviction_keeps_total_under_budget():
    cache = SignalCache(max_bytes=3 * 8_000)
    arrays = {k: np.zeros(1000) for k in "abcd"}  # 8,000 bytes each
    for k in "abc":
        cache.put(k, arrays[k])
    assert cache.get("a") is arrays["a"]  # 'a' becomes most recently used
    cache.put("d", arrays["d"])
    assert "b" not in cache and {"a", "c", "d"} <= {k for k in "abcd" if k in cache}
    assert cache.nbytes <= cache.max_bytes


def test_value_larger_than_budget_is_not_cached_and_clear_empties():
    cache = SignalCache(max_bytes=100)
    cache.put("big", np.zeros(1000))
    assert "big" not in cache and len(cache) == 0
    cache.put("small", np.zeros(2))
    assert cache.get("small") is not None and cache.hits == 1
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0 and cache.get("small") is None


def test_unpicklable_models_never_share_a_cache_entry_through_a_reused_id():
    """id() is reused after garbage collection: a new unpicklable model at a dead one's
    address must not get its fingerprint (and so its cached statistics)."""
    import gc

    from mia_notebook.engine.target import fingerprint_model

    class Unpicklable:
        def __init__(self, offset):
            self.fn = lambda p: p + offset  # neither pickle nor joblib.hash takes it

    pairs = []
    for i in range(50):
        model = Unpicklable(i)
        fp = fingerprint_model(model)
        assert fp == fingerprint_model(model)  # stable while the object lives
        pairs.append((id(model), fp))
        del model
        gc.collect()
    assert len({i for i, _ in pairs}) < len(pairs), "no address was reused: test is moot"
    assert len({fp for _, fp in pairs}) == len(pairs)
