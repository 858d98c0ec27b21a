"""arq worker wiring: start-up/shutdown hooks, a heartbeat for /health/ready, per-job log context.

Run with `ledgerbridge worker` (which passes the Redis settings built from our Settings; arq's own CLI would use
arq's defaults because the settings are deliberately not read at import time).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import structlog
from arq.connections import ArqRedis
from arq.worker import Function, Worker, func

from app.keys import Keys
from app.logging import configure_logging
from app.main import redis_settings
from app.settings import Settings, load_settings

log = structlog.get_logger("worker")

Ctx = dict[str, Any]

JOB_PING = "ping"


async def ping(ctx: Ctx, value: str = "pong") -> str:  # noqa: ARG001 - arq passes ctx first
    """A no-op job proving the queue, the worker and the log context work end to end."""
    log.info("job.ping", value=value)
    return value


async def _heartbeat(redis: ArqRedis, keys: Keys, every: float, ttl: float) -> None:
    while True:
        try:
            await redis.set(keys.worker_heartbeat, repr(time.time()), px=int(ttl * 1000))
        except Exception as exc:
            log.warning("worker.heartbeat_failed", error=type(exc).__name__)
        await asyncio.sleep(every)


async def startup(ctx: Ctx) -> None:
    settings: Settings = ctx.get("settings") or load_settings()
    ctx["settings"] = settings
    if ctx.get("configure_logs", True):
        configure_logging(settings.log.level, settings.log.format)
    keys = Keys(settings.redis.key_prefix)
    ctx["keys"] = keys
    ctx["heartbeat"] = asyncio.create_task(
        _heartbeat(ctx["redis"], keys, settings.worker.heartbeat_seconds, settings.worker.heartbeat_max_age_seconds)
    )
    log.info("worker.started", demo=settings.demo)


async def shutdown(ctx: Ctx) -> None:
    task: asyncio.Task[None] | None = ctx.get("heartbeat")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    log.info("worker.stopped")


async def on_job_start(ctx: Ctx) -> None:
    # arq awaits this before creating the job's task, so these contextvars reach this job and no other.
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(job_id=ctx.get("job_id"), job_try=ctx.get("job_try"))


async def on_job_end(ctx: Ctx) -> None:  # noqa: ARG001 - arq hook signature
    structlog.contextvars.clear_contextvars()


FUNCTIONS: list[Function] = [func(ping, name=JOB_PING, max_tries=1)]


class WorkerSettings:
    """Settings class for arq; `build_worker` supplies the Redis connection from our Settings."""

    functions = FUNCTIONS
    on_startup = startup
    on_shutdown = shutdown
    on_job_start = on_job_start
    on_job_end = on_job_end
    max_jobs = 10
    job_timeout = 300
    keep_result = 3600
    allow_abort_jobs = True


def build_worker(settings: Settings, *, burst: bool = False, configure_logs: bool = True, **overrides: Any) -> Worker:
    """Build an arq Worker for our settings (used by the CLI, the demo and the tests)."""
    ctx: Ctx = {"settings": settings, "configure_logs": configure_logs}
    kwargs: dict[str, Any] = {
        "functions": WorkerSettings.functions,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "on_job_start": on_job_start,
        "on_job_end": on_job_end,
        "redis_settings": redis_settings(settings),
        "queue_name": settings.redis.queue_name,
        "max_jobs": settings.worker.max_jobs,
        "job_timeout": WorkerSettings.job_timeout,
        "keep_result": WorkerSettings.keep_result,
        "allow_abort_jobs": True,
        "burst": burst,
        "ctx": ctx,
        "handle_signals": not burst,
    }
    kwargs.update(overrides)
    return Worker(**kwargs)
