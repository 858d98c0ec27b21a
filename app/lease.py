"""Leases: Redis locks held only while their holder is alive, so a crashed holder frees them within seconds.

A lock with a long time to live (the record lock used to live `ENGINE__LOCK_SECONDS`, 300 s) keeps a record waiting
for minutes after the process holding it was killed. A lease lives only `ENGINE__LEASE_SECONDS` (default 15 s) and
its holder renews it every third of that while it works. A holder that is killed stops renewing, and the lease lapses
within one lease period; a holder that is alive keeps it as long as it needs (up to `max_hold`).

The rule that makes this safe is the classic one for leases: the holder gives up *before* anyone else can take over.
When the holder cannot renew (Redis away) for two thirds of the lease, or finds the key no longer holds its token,
or has held it for `max_hold`, it cancels the task working under the lease; the work ends with `LeaseLost` (a
`TransientError`: the record runs again later). Others can take the key only once it has lapsed in Redis, which is
a full lease after the last renewal, so two holders never work at once as long as the two clocks run at the same
rate (they need not agree).

The same renewal keeps arq's in-progress marker of every running job short-lived (`app/worker.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import structlog
from redis.exceptions import RedisError

from app.resilience import cancel_swallowed
from connectors.errors import TransientError

__all__ = ["EXTEND_SCRIPT", "RELEASE_SCRIPT", "Lease", "LeaseLost"]

log = structlog.get_logger("lease")

# Delete a lock only if it is still ours (it may have expired and been taken by another process meanwhile).
RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
# Extend a lock only if it is still ours.
EXTEND_SCRIPT = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)


class LeaseLost(TransientError):
    """The lease lapsed (or could not be renewed in time) while work ran under it: the work was cut off."""

    def __init__(self, key_name: str, why: str) -> None:
        super().__init__(f"the lease on {key_name} was lost ({why}); the run was cut off", system="ledgerbridge")


class Lease:
    """One leased key: `await acquire()`, then `async with lease:` around the work it guards.

    :param redis: the client (`ArqRedis` or any redis.asyncio client).
    :param key: the key to hold; its value is a random token of the holder.
    :param token: the holder's token.
    :param seconds: the lease: how long the key lives after each renewal.
    :param max_hold: the longest the key is held in all (None: as long as the work lasts).
    :param name: how the key is named in errors and logs (never the full key: it may name a person's e-mail).
    """

    def __init__(
        self,
        redis: Any,
        key: str,
        token: str,
        *,
        seconds: float,
        max_hold: float | None = None,
        name: str = "a lock",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis, self.key, self.token = redis, key, token
        self.seconds, self.max_hold, self.name = seconds, max_hold, name
        self._clock = clock
        self._acquired_at = 0.0
        self._renewed_at = 0.0
        self._task: asyncio.Task[Any] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._cancelling = 0
        self.lost: str | None = None

    @property
    def interval(self) -> float:
        return self.seconds / 3

    async def acquire(self) -> bool:
        """Take the key if it is free (SET NX with the lease as time to live)."""
        ok = bool(await self.redis.set(self.key, self.token, nx=True, px=int(self.seconds * 1000)))
        if ok:
            self._acquired_at = self._renewed_at = self._clock()
        return ok

    async def release(self) -> None:
        await self.redis.eval(RELEASE_SCRIPT, 1, self.key, self.token)

    async def renew(self) -> bool:
        """Extend the key by a lease; False when it is no longer ours. Redis errors propagate."""
        extended = await self.redis.eval(EXTEND_SCRIPT, 1, self.key, self.token, int(self.seconds * 1000))
        if extended:
            self._renewed_at = self._clock()
        return bool(extended)

    async def __aenter__(self) -> Lease:
        if not self._acquired_at:
            raise RuntimeError("acquire the lease before working under it")
        self._task = asyncio.current_task()
        assert self._task is not None
        self._cancelling = self._task.cancelling()
        self._watcher = asyncio.create_task(self._watch())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self.lost is not None and self._task is not None:
            # As asyncio.timeout does: our cancel becomes LeaseLost, a cancel from anyone else stays a cancel.
            ours = self._task.uncancel() <= self._cancelling
            if ours and exc_type is asyncio.CancelledError:
                raise LeaseLost(self.name, self.lost) from None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            now = self._clock()
            if self.max_hold is not None and now - self._acquired_at >= self.max_hold:
                self._lose(f"held for {self.max_hold:g} s, the longest allowed")
                return
            try:
                renewed = await self.renew()
            except (RedisError, OSError) as exc:
                # Redis is away. Give up before the key can lapse there: others may take it a full lease after
                # the last renewal, and we stop a third of a lease before that.
                if self._clock() - self._renewed_at >= self.seconds - self.interval:
                    self._lose(f"Redis unreachable for {self._clock() - self._renewed_at:.0f} s: {type(exc).__name__}")
                    return
                renewed = True
            if cancel_swallowed():
                return  # the work ended while we renewed (redis-py may swallow that cancel)
            if not renewed:
                self._lose("it lapsed and is no longer ours")
                return

    def _lose(self, why: str) -> None:
        self.lost = why
        log.warning("lease.lost", lock=self.name, reason=why)
        if self._task is not None:
            self._task.cancel()
