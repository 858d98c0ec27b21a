"""Riding out Redis outages: the worker's main loop that never exits on one, and what counts as one.

arq's `Worker.main` lets any Redis error escape its poll loop (a connection error while picking, starting or
finishing a job, or while recording its health), and the process ends, mid-run and idle alike. `ResilientWorker`
keeps arq's loop and changes only that:

* a Redis outage in the loop is logged once (`worker.redis_unavailable`, no traceback), waited out with capped
  exponential backoff, and its end logged with its length (`worker.redis_back`); the worker never exits for it;
* a job slot taken while Redis went away is given back (arq's `start_jobs` would leak it);
* finishing a job (arq's bookkeeping after it ran) is retried while Redis is away, for up to a lease, then left to
  the lease: the job's in-progress marker lapses and the job runs again (jobs are idempotent, docs/engine.md);
* arq's in-progress marker lives only `ENGINE__LEASE_SECONDS` (arq sets it to the job timeout + 10 s, i.e. about
  6 minutes here) and is renewed every third of that while the job runs, so a job cut off by a crash is picked up
  by any worker within a lease of the crash (`app/lease.py`; the per-record lock stays the guard against overlap).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from arq.constants import in_progress_key_prefix
from arq.utils import poll
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["REDIS_DOWN", "Backoff", "ResilientWorker", "cancel_swallowed"]

log = structlog.get_logger("worker")

# What a Redis outage looks like to redis-py: refused or reset connections, timeouts, and a Redis still loading its
# AOF after a restart (BusyLoadingError is a ConnectionError).
REDIS_DOWN: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)


def cancel_swallowed() -> bool:
    """True when the current task was cancelled but is still running: redis-py can swallow a cancel that arrives
    while a command is in flight. A loop that talks to Redis checks this after each command and ends, or the task
    that cancelled it waits for it forever."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class Backoff:
    """Capped exponential backoff with jitter: 0.2 s, 0.4 s, 0.8 s, ... up to `cap` (no sleep of its own)."""

    def __init__(self, base: float = 0.2, cap: float = 3.0) -> None:
        self.base, self.cap, self.failures = base, cap, 0

    def next(self) -> float:
        delay = min(self.cap, self.base * 2.0**self.failures)
        self.failures += 1
        return delay * (0.5 + random.random() / 2)  # jitter, not cryptography

    def reset(self) -> None:
        self.failures = 0


class ResilientWorker(Worker):
    """arq's `Worker` that rides out Redis outages and leases its jobs (see the module docstring).

    :param lease_seconds: how long a job's in-progress marker lives after each renewal.
    """

    def __init__(self, *args: Any, lease_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lease_seconds = lease_seconds
        self.in_progress_timeout_s = lease_seconds
        self.outage_since: float | None = None
        self.outages = 0
        self._backoff = Backoff()

    # ------------------------------------------------------------------ the loop

    async def main(self) -> None:
        self.ctx["redis"] = self.pool
        while True:
            try:
                if self.on_startup:
                    await self.on_startup(self.ctx)
                break
            except REDIS_DOWN as exc:
                if self.on_shutdown:  # undo what started before Redis failed; startup begins again
                    with contextlib.suppress(Exception):
                        await self.on_shutdown(self.ctx)
                await self._wait_out(exc, "startup")
        self._recovered()
        renewer = asyncio.create_task(self._renew_in_progress())
        try:
            async for _ in poll(self.poll_delay_s):
                try:
                    await self._poll_iteration()
                    if self.burst and await self._burst_done():
                        return
                except REDIS_DOWN as exc:
                    await self._wait_out(exc, "poll")
                    continue
                self._recovered()
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _burst_done(self) -> bool:
        if 0 <= self.max_burst_jobs <= self._jobs_started() or await self.pool.zcard(self.queue_name) == 0:
            await asyncio.gather(*self.tasks.values())
            return True
        return False

    async def _wait_out(self, exc: BaseException, during: str) -> None:
        now = time.monotonic()
        if self.outage_since is None:
            self.outage_since = now
            self.outages += 1
            log.warning("worker.redis_unavailable", during=during, error=type(exc).__name__, detail=str(exc)[:200])
        await asyncio.sleep(self._backoff.next())

    def _recovered(self) -> None:
        if self.outage_since is not None:
            log.warning("worker.redis_back", outage_seconds=round(time.monotonic() - self.outage_since, 1))
            self.outage_since = None
        self._backoff.reset()

    # ------------------------------------------------------------------ arq's steps, made outage-proof

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        for job_id_b in job_ids:
            if self.job_counter >= self.max_jobs:
                return
            job_id = job_id_b.decode()
            before = self.tasks.get(job_id)
            try:
                await super().start_jobs([job_id_b])
            except REDIS_DOWN:
                # arq took a slot (semaphore and counter) before its Redis transaction failed; give it back.
                if self.tasks.get(job_id) is before:
                    self.job_counter -= 1
                    self.sem.release()
                raise

    async def run_job(self, job_id: str, score: int) -> None:
        try:
            await super().run_job(job_id, score)
        except REDIS_DOWN as exc:
            # The job's outcome could not be recorded: its in-progress marker lapses within a lease and the job
            # runs again (jobs are idempotent). Never let it reach the loop, which would end the worker.
            log.warning("worker.job_unfinished", job_id=job_id, error=type(exc).__name__)

    async def finish_job(self, *args: Any) -> None:
        await self._retrying(lambda: super(ResilientWorker, self).finish_job(*args))

    async def finish_failed_job(self, job_id: str, result_data: bytes | None) -> None:
        await self._retrying(lambda: super(ResilientWorker, self).finish_failed_job(job_id, result_data))

    async def _retrying(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run one of arq's bookkeeping transactions, retrying through a short outage (up to a lease)."""
        deadline = time.monotonic() + self.lease_seconds
        backoff = Backoff()
        while True:
            try:
                await step()
                return
            except REDIS_DOWN:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(backoff.next())

    async def _renew_in_progress(self) -> None:
        """Keep the in-progress markers of this worker's running jobs alive (a lease each; see `app/lease.py`)."""
        ms = int(self.lease_seconds * 1000)
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            running = [job_id for job_id, task in self.tasks.items() if not task.done()]
            if not running:
                continue
            try:
                async with self.pool.pipeline(transaction=False) as pipe:
                    for job_id in running:
                        pipe.pexpire(in_progress_key_prefix + job_id, ms)
                    await pipe.execute()
            except REDIS_DOWN:
                pass  # the loop reports the outage; a marker that lapses meanwhile lets the job run again
            if cancel_swallowed():
                return

    async def close(self) -> None:
        # arq's close gathers the job tasks and re-raises the CancelledError of one cut off at shutdown, skipping the
        # rest of its shutdown (seen as a demo that exits 1 and leaves its keys): let them end first, each one's error
        # is its own (a job cut off runs again when its lease lapses).
        jobs = list(self.tasks.values())
        if jobs:
            await asyncio.gather(*jobs, return_exceptions=True)
            self.tasks.clear()
        try:
            await super().close()
        except REDIS_DOWN as exc:
            log.warning("worker.closed_without_redis", error=type(exc).__name__)
            if self.on_shutdown:
                await self.on_shutdown(self.ctx)
            with contextlib.suppress(Exception):
                await self.pool.close(close_connection_pool=True)
            self._pool = None
