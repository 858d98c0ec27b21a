"""Per-process caches of reference data (VAT codes, payment conditions, items by code...).

Reference data changes rarely and every read costs an API call out of a small budget (Exact: 60/minute), so
flows read it through this cache: loaded once, refreshed after `ttl` seconds or when a flow reports a miss.
Loads are single-flight per key, so 10 concurrent jobs needing the VAT codes cost one call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Entry:
    value: Any
    loaded_at: float


class RefCache:
    def __init__(self, *, default_ttl: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._default_ttl = default_ttl
        self._clock = clock

    async def get(self, key: str, loader: Callable[[], Awaitable[T]], *, ttl: float | None = None) -> T:
        """The cached value for `key`, loading it with `loader` when absent or older than `ttl`."""
        limit = self._default_ttl if ttl is None else ttl
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry.loaded_at < limit:
            value: T = entry.value
            return value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._entries.get(key)  # another task may have loaded it while we waited
            if entry is not None and self._clock() - entry.loaded_at < limit:
                cached: T = entry.value
                return cached
            loaded = await loader()
            self._entries[key] = _Entry(loaded, self._clock())
            return loaded

    def peek(self, key: str) -> Any:
        entry = self._entries.get(key)
        return None if entry is None else entry.value

    def put(self, key: str, value: Any) -> None:
        self._entries[key] = _Entry(value, self._clock())

    def invalidate(self, key: str | None = None) -> None:
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)
