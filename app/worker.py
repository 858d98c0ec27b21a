"""arq worker wiring: start-up/shutdown hooks, a heartbeat for /health/ready, per-job log context, the engine's jobs.

Run with `ledgerbridge worker` (which passes the Redis settings built from our Settings; arq's own CLI would use
arq's defaults because the settings are deliberately not read at import time).

Jobs are thin: each carries the id of the link (administration) it belongs to; it looks up that link's engine in
the per-process `Process` built in `startup` (`app/scope.py`) and calls it (`app/engine.py`), which holds the rules
for de-duplication, retries, dead letters and the activity log.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

import httpx
import structlog
from arq import Retry
from arq import cron as arq_cron
from arq.connections import ArqRedis
from arq.worker import Function, func

from app.engine import LOCK_DEFER_SECONDS, Engine
from app.jobs import JOB_POLL_DUE, JOB_POLL_FLOW, JOB_RUN_RECORD
from app.lease import LeaseLost
from app.logging import configure_logging
from app.redis import connect_redis
from app.resilience import REDIS_DOWN, ResilientWorker, cancel_swallowed
from app.scope import Process, Timing
from app.settings import Settings, load_settings
from app.subscriptions import ensure_subscriptions, webhook_topics
from app.tokenwatch import warn_unused_refresh_tokens
from connectors.errors import ConnectorError
from connectors.keys import DEFAULT_LINK, Keys
from flows.base import FlowDefinition

log = structlog.get_logger("worker")

Ctx = dict[str, Any]

JOB_PING = "ping"
JOB_PURGE = "purge_activity"
JOB_TOKENWATCH = "check_refresh_tokens"
# The engine keeps its own try counter per record (docs/engine.md); arq's only guards against a job that keeps
# being deferred because another run holds the record's lock (every 2 s for at most ENGINE__LOCK_SECONDS).
ARQ_MAX_TRIES = 10_000
POLL_DUE_SECONDS = frozenset(range(0, 60, 5))
REDIS_RETRY_SECONDS = 1.0


async def ping(ctx: Ctx, value: str = "pong") -> str:  # noqa: ARG001 - arq passes ctx first
    """A no-op job proving the queue, the worker and the log context work end to end."""
    log.info("job.ping", value=value)
    return value


def _process(ctx: Ctx) -> Process:
    process: Process = ctx["process"]
    return process


async def _engine(ctx: Ctx, link: str) -> Engine | None:
    engine = await _process(ctx).engine_of(link)
    if engine is None:
        log.warning("worker.unknown_link", link=link)
    return engine


async def run_record(
    ctx: Ctx, flow: str, record_id: str, trigger: str, replay_of: str | None = None, link: str = DEFAULT_LINK
) -> str:
    """One record of one flow of one link (`app.engine.Engine.run_record`). Jobs queued before links existed
    carry no link: they belong to `default`."""
    try:
        engine = await _engine(ctx, link)
        if engine is None:
            return "unknown-link"
        return await engine.run_record(flow, record_id, trigger, job_id=ctx.get("job_id"), replay_of=replay_of)
    except LeaseLost as exc:
        # Cut off because this run could no longer prove it held the record (app/lease.py): run it again once the
        # lease is free; the record's cross-references and intents keep the rerun from writing twice.
        log.warning("worker.run_cut_off", flow=flow, record_id=record_id, link=link, reason=str(exc))
        raise Retry(defer=LOCK_DEFER_SECONDS) from None
    except REDIS_DOWN as exc:
        # Redis went away during the run: not the record's failure, and nothing of it could be recorded. Run it
        # again (arq re-queues it once Redis answers; the worker's loop rides out the outage).
        log.warning("worker.run_interrupted", flow=flow, record_id=record_id, link=link, error=type(exc).__name__)
        raise Retry(defer=REDIS_RETRY_SECONDS) from None


async def poll_flow(ctx: Ctx, flow: str, since: str | None = None, link: str = DEFAULT_LINK) -> int:
    """Enqueue the records a flow's source changed since its cursor (or `since`)."""
    engine = await _engine(ctx, link)
    return 0 if engine is None else await engine.poll_flow(flow, since)


async def poll_due(ctx: Ctx) -> list[str]:
    """Cron: start a poll for every enabled flow of every link whose interval has passed."""
    process = _process(ctx)
    now = time.time()
    started: list[str] = []
    for link in await process.links():
        started += [f"{link.id}/{flow}" for flow in await process.engine(link).polls_due(now)]
    return started


async def purge_activity(ctx: Ctx) -> int:
    """Cron: drop index entries of activity-log entries older than the retention (the entries expire by TTL)."""
    process = _process(ctx)
    return sum([await process.engine(link).activity.purge_expired() for link in await process.links()])


async def check_refresh_tokens(ctx: Ctx) -> list[str]:
    """Cron: alert before a refresh token dies unused (`app.tokenwatch`)."""
    return await warn_unused_refresh_tokens(_process(ctx), time.time())


async def _heartbeat(redis: ArqRedis, keys: Keys, every: float, ttl: float) -> None:
    while True:
        try:
            await redis.set(keys.worker_heartbeat, repr(time.time()), px=int(ttl * 1000))
        except Exception as exc:
            log.warning("worker.heartbeat_failed", error=type(exc).__name__)
        if cancel_swallowed():
            return
        await asyncio.sleep(every)


async def _subscribe_webhooks(process: Process, settings: Settings, flows: Mapping[str, FlowDefinition]) -> None:
    """Make sure Exact sends the flows' topics of every link's division to our public URL; polling covers for it
    when this fails."""
    url = settings.exact.public_webhook_url
    topics = webhook_topics(flows)
    if not url or not topics:
        return
    for link in await process.links():
        try:
            await ensure_subscriptions(process.engine(link).exact, url, topics)
        except ConnectorError as exc:
            log.warning("worker.webhook_subscription_failed", link=link.id, error=str(exc), callback_url=url)


async def startup(ctx: Ctx) -> None:
    settings: Settings = ctx.get("settings") or load_settings()
    ctx["settings"] = settings
    if ctx.get("configure_logs", True):
        configure_logging(settings.log.level, settings.log.format)
    keys = Keys.of(settings)
    ctx["keys"] = keys
    flows: Mapping[str, FlowDefinition] | None = ctx.get("flows")
    if flows is None:
        from flows.registry import load_flows

        flows = load_flows()
        ctx["flows"] = flows
    process = Process(settings, ctx["redis"], flows, http=ctx.get("http"), timing=ctx.get("timing"))
    ctx["process"] = process
    await process.ready()
    ctx["heartbeat"] = asyncio.create_task(
        _heartbeat(ctx["redis"], keys, settings.worker.heartbeat_seconds, settings.worker.heartbeat_max_age_seconds)
    )
    if settings.engine.subscribe_webhooks_on_start:
        # In the background: Exact calls our callback to validate each new subscription, which must not wait for us.
        ctx["subscriber"] = asyncio.create_task(_subscribe_webhooks(process, settings, flows))
    log.info("worker.started", demo=settings.demo, flows=sorted(flows))


async def shutdown(ctx: Ctx) -> None:
    for name in ("subscriber", "heartbeat"):
        task: asyncio.Task[None] | None = ctx.get(name)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    process: Process | None = ctx.get("process")
    if process is not None:
        await process.aclose()
    log.info("worker.stopped")


async def on_job_start(ctx: Ctx) -> None:
    # arq awaits this before creating the job's task, so these contextvars reach this job and no other.
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(job_id=ctx.get("job_id"), job_try=ctx.get("job_try"))


async def on_job_end(ctx: Ctx) -> None:  # noqa: ARG001 - arq hook signature
    structlog.contextvars.clear_contextvars()


# keep_result=0: a stored result would make arq refuse the next job with the same id (a record's next change).
FUNCTIONS: list[Function] = [
    func(ping, name=JOB_PING, max_tries=1),
    func(run_record, name=JOB_RUN_RECORD, max_tries=ARQ_MAX_TRIES, keep_result=0),
    func(poll_flow, name=JOB_POLL_FLOW, max_tries=1, keep_result=0),
]
CRON_JOBS = [
    arq_cron(poll_due, name=JOB_POLL_DUE, second=set(POLL_DUE_SECONDS), run_at_startup=True, keep_result=0),
    arq_cron(purge_activity, name=JOB_PURGE, minute={7}, second={0}, keep_result=0),
    arq_cron(check_refresh_tokens, name=JOB_TOKENWATCH, minute={23}, second={0}, keep_result=0),
]


class WorkerSettings:
    """Settings class for arq; `build_worker` supplies the Redis connection from our Settings."""

    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = startup
    on_shutdown = shutdown
    on_job_start = on_job_start
    on_job_end = on_job_end
    max_jobs = 10
    job_timeout = 300
    keep_result = 3600
    allow_abort_jobs = True


def build_worker(
    settings: Settings,
    *,
    burst: bool = False,
    configure_logs: bool = True,
    flows: Mapping[str, FlowDefinition] | None = None,
    http: httpx.AsyncClient | None = None,
    timing: Timing | None = None,
    cron: bool = True,
    **overrides: Any,
) -> ResilientWorker:
    """Build an arq Worker for our settings, one that rides out Redis outages and leases its jobs
    (`app/resilience.py`) (used by the CLI, the demo and the tests).

    :param flows: the flows to run (default: every shipped flow).
    :param http: an HTTP client to share (tests and the demo route it to the simulators).
    :param timing: the connectors' clocks and sleeps (tests and benchmarks run them on simulated time).
    :param cron: run the polling and purge cron jobs (tests drive polling themselves).
    """
    ctx: Ctx = {"settings": settings, "configure_logs": configure_logs, "flows": flows, "http": http, "timing": timing}
    kwargs: dict[str, Any] = {
        "functions": WorkerSettings.functions,
        "cron_jobs": WorkerSettings.cron_jobs if cron else None,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "on_job_start": on_job_start,
        "on_job_end": on_job_end,
        # Our client, so arq's own keys live under the prefix too (app/redis.py).
        "redis_pool": connect_redis(settings),
        "queue_name": settings.redis.queue_name,
        "max_jobs": settings.worker.max_jobs,
        # Above the engine's own run timeout, so a long run ends as a logged retry, never as an arq timeout.
        "job_timeout": int(settings.engine.run_timeout_seconds) + 120,
        "keep_result": WorkerSettings.keep_result,
        "allow_abort_jobs": True,
        "burst": burst,
        "ctx": ctx,
        "handle_signals": not burst,
    }
    kwargs.update(overrides)
    return ResilientWorker(lease_seconds=settings.engine.lease_seconds, **kwargs)
