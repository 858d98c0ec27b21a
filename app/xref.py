# mypy: disable-error-code="misc"
# (redis-py types every command as `Awaitable[T] | T`; awaiting them on the asyncio client is correct.)
"""Cross-references between source and target records, kept in Redis.

A `kind` names one pair of entities, e.g. ``ea:order>exact:salesorder``; source and target ids map both ways. The
rules that make "never a duplicate" hold:

* `link()` is called only after the target write succeeded, and writes both directions, the content hash and
  clears the intent in one transaction.
* Before a create, a flow calls `begin()`, which records an *intent*. If a later run finds an intent but no link,
  the previous run may have died between the target write and `link()`: the flow must then look the target up by
  its natural key (SKU, e-mail, YourRef) before creating. Without an intent, nothing of ours can exist in the
  target, and the (API-call costly) natural-key lookup may be skipped when the flow's other caches say so.
* `content_hash` of the last payload written lets a flow skip unchanged records and stops echo loops: a change we
  wrote, echoed back by the other side's trigger, hashes the same and is not written again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from app.lease import RELEASE_SCRIPT, Lease
from connectors.errors import TransientError
from connectors.keys import Keys

__all__ = ["RELEASE_SCRIPT", "CrossRefs", "content_hash", "text_of"]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral_value() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def content_hash(payload: Any) -> str:
    """A stable hash of a JSON-like payload (key order and Decimal formatting do not matter)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_default)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class CrossRefs:
    def __init__(
        self, redis: Redis, keys: Keys, *, clock: Callable[[], float] = time.time, lease_seconds: float = 15.0
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._lease_seconds = lease_seconds

    def _key(self, kind: str, part: str) -> str:
        return self._keys.xref(kind, part)

    async def target(self, kind: str, source_id: str) -> str | None:
        raw = await self._redis.hget(self._key(kind, "s2t"), source_id)
        return text_of(raw)

    async def targets(self, kind: str, source_ids: list[str]) -> dict[str, str]:
        if not source_ids:
            return {}
        raws = await self._redis.hmget(self._key(kind, "s2t"), source_ids)
        return {sid: t for sid, raw in zip(source_ids, raws, strict=True) if (t := text_of(raw)) is not None}

    async def source(self, kind: str, target_id: str) -> str | None:
        raw = await self._redis.hget(self._key(kind, "t2s"), target_id)
        return text_of(raw)

    async def begin(self, kind: str, source_id: str) -> bool:
        """Record the intent to create a target for `source_id`; True when an earlier intent was never linked."""
        key = self._key(kind, "intent")
        previous = await self._redis.hget(key, source_id)
        await self._redis.hset(key, source_id, repr(self._clock()))
        return previous is not None

    async def intents(self, kind: str) -> list[str]:
        """Source ids with an intent not yet linked: writes under way, or cut off between the write and the link."""
        return [text for raw in await self._redis.hkeys(self._key(kind, "intent")) if (text := text_of(raw))]

    async def pending(self, kind: str, source_id: str) -> bool:
        return bool(await self._redis.hexists(self._key(kind, "intent"), source_id))

    async def link(self, kind: str, source_id: str, target_id: str, *, payload_hash: str | None = None) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(kind, "s2t"), source_id, target_id)
            pipe.hset(self._key(kind, "t2s"), target_id, source_id)
            pipe.hdel(self._key(kind, "intent"), source_id)
            if payload_hash is not None:
                pipe.hset(self._key(kind, "hash"), source_id, payload_hash)
            await pipe.execute()

    async def unlink(self, kind: str, source_id: str) -> None:
        target_id = await self.target(kind, source_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._key(kind, "s2t"), source_id)
            if target_id is not None:
                pipe.hdel(self._key(kind, "t2s"), target_id)
            pipe.hdel(self._key(kind, "hash"), source_id)
            pipe.hdel(self._key(kind, "intent"), source_id)
            await pipe.execute()

    async def last_hash(self, kind: str, source_id: str) -> str | None:
        return text_of(await self._redis.hget(self._key(kind, "hash"), source_id))

    async def set_hash(self, kind: str, source_id: str, payload_hash: str) -> None:
        await self._redis.hset(self._key(kind, "hash"), source_id, payload_hash)

    async def last_value(self, kind: str, source_id: str) -> str | None:
        """The last value written for `source_id` (e.g. a stock level), to write only on change."""
        return text_of(await self._redis.hget(self._key(kind, "value"), source_id))

    async def last_values(self, kind: str, source_ids: list[str]) -> dict[str, str]:
        if not source_ids:
            return {}
        raws = await self._redis.hmget(self._key(kind, "value"), source_ids)
        return {sid: v for sid, raw in zip(source_ids, raws, strict=True) if (v := text_of(raw)) is not None}

    async def set_last_value(self, kind: str, source_id: str, value: str) -> None:
        await self._redis.hset(self._key(kind, "value"), source_id, value)

    async def count(self, kind: str) -> int:
        return int(await self._redis.hlen(self._key(kind, "s2t")))

    @asynccontextmanager
    async def lock(self, kind: str, source_id: str, *, wait: float = 30.0, ttl: float = 120.0) -> AsyncIterator[None]:
        """Hold `source_id` of `kind` across every process while finding-or-creating (or read-modify-writing) it.

        Intents guard against a crash between a write and its link; this guards against two jobs at once (two
        orders of one new customer, two deliveries of one order). Not getting it within `wait` seconds is a
        transient error: the engine retries the record later.
        """
        # A lease (app/lease.py): renewed while we hold it, so a crashed holder frees it within `lease` seconds
        # instead of `ttl`, which stays the longest it may be held.
        lease = Lease(
            self._redis,
            self._keys.xref_lock(kind, source_id),
            secrets.token_hex(8),
            seconds=min(self._lease_seconds, ttl),
            max_hold=ttl,
            name=f"{kind} {source_id}",
        )
        deadline = time.monotonic() + wait
        while not await lease.acquire():
            if time.monotonic() > deadline:
                raise TransientError(f"{kind} {source_id} is held by another job", system="ledgerbridge")
            await asyncio.sleep(0.05)
        try:
            async with lease:
                yield
        finally:
            await lease.release()


def text_of(raw: Any) -> str | None:
    """A Redis reply as text (None stays None)."""
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)
