"""Caches of reference data (VAT codes, payment conditions, items by code...), one per link.

Reference data changes rarely and every read costs an API call out of a small budget (Exact: 60/minute per
division), so flows read it through this cache: loaded once, refreshed after `ttl` seconds or when a flow reports a
miss (`invalidate`). Loads are single-flight per key, so 10 concurrent jobs needing the VAT codes cost one call.

With `shared` (a `RedisShared`: the link's keys in Redis), an entry with a finite `ttl` is also shared with the
link's other worker processes: a process that loads it stores it (pickled, with the remaining time to live), and
the others take it from Redis instead of calling the API again, so adding workers does not multiply the reference
reads. Entries without a time to live are the process's own working state (sync indexes a flow updates in place,
locks) and stay in the process; so does anything that does not pickle. A value read back from Redis that does not
unpickle (another version of the code wrote it) is loaded afresh.
"""

from __future__ import annotations

import asyncio
import math
import pickle
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.asyncio import Redis

T = TypeVar("T")

LOAD_WAIT_SECONDS = 10.0  # the longest a process waits for another one's load of the same entry


@dataclass(slots=True)
class _Entry:
    value: Any
    loaded_at: float


class RedisShared:
    """Where a link's shared cache entries live: `key_of(name)` (the link's keys) in `redis`; `lock_of(name)` is
    taken by the process loading an entry, so the link's processes that miss it at once load it once."""

    def __init__(self, redis: Redis, key_of: Callable[[str], str], lock_of: Callable[[str], str]) -> None:
        self._redis = redis
        self._key_of = key_of
        self._lock_of = lock_of

    async def claim(self, name: str) -> bool:
        """Whether this process loads `name` now (False: another one is loading it)."""
        return bool(await self._redis.set(self._lock_of(name), "1", nx=True, px=int(LOAD_WAIT_SECONDS * 1000)))

    async def release(self, name: str) -> None:
        await self._redis.delete(self._lock_of(name))

    async def wait_for(self, name: str) -> tuple[Any, float] | None:
        """What another process is loading, once it is there (None: it did not come in time; load it here)."""
        deadline = time.monotonic() + LOAD_WAIT_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            found = await self.get(name)
            if found is not None:
                return found
            if not await self._redis.exists(self._lock_of(name)):
                return None
        return None

    async def get(self, name: str) -> tuple[Any, float] | None:
        """The value and the seconds it has left, or None (absent, or not readable)."""
        key = self._key_of(name)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.pttl(key)
            raw, left_ms = await pipe.execute()
        if raw is None or int(left_ms) <= 0:
            return None
        try:
            return pickle.loads(raw), int(left_ms) / 1000  # noqa: S301 - our own processes wrote it, in our Redis
        except Exception:
            return None

    async def put(self, name: str, value: Any, ttl: float) -> None:
        try:
            blob = pickle.dumps(value)
        except Exception:  # not shareable (a lock, a client): it stays in the process
            return
        await self._redis.set(self._key_of(name), blob, px=max(1, math.ceil(ttl * 1000)))


class RefCache:
    def __init__(
        self,
        *,
        default_ttl: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        shared: RedisShared | None = None,
    ) -> None:
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._default_ttl = default_ttl
        self._clock = clock
        self._shared = shared
        self._stale: set[str] = set()  # invalidated here: not taken from the shared copy either

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
            shared = self._shared if math.isfinite(limit) else None
            if shared is None:
                return await self._load(key, loader)
            claimed = False
            if key not in self._stale:
                found = await shared.get(key)
                if found is None:
                    claimed = await shared.claim(key)
                    if not claimed:
                        found = await shared.wait_for(key)  # another process of the link is loading it
                if found is not None:
                    value, left = found
                    # As old locally as it is in Redis, so it expires here when it expires there.
                    self._entries[key] = _Entry(value, self._clock() - max(0.0, limit - left))
                    taken: T = value
                    return taken
            try:
                loaded = await self._load(key, loader)
                await shared.put(key, loaded, limit)
            finally:
                if claimed:
                    await shared.release(key)
            return loaded

    async def _load(self, key: str, loader: Callable[[], Awaitable[T]]) -> T:
        loaded = await loader()
        self._entries[key] = _Entry(loaded, self._clock())
        self._stale.discard(key)
        return loaded

    def peek(self, key: str) -> Any:
        entry = self._entries.get(key)
        return None if entry is None else entry.value

    def put(self, key: str, value: Any) -> None:
        self._entries[key] = _Entry(value, self._clock())

    def invalidate(self, key: str | None = None) -> None:
        if key is None:
            self._stale.update(self._entries)
            self._entries.clear()
        else:
            self._entries.pop(key, None)
            self._stale.add(key)
