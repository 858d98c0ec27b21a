"""Polling a link's flows: what changed in the source since the stored cursor becomes record jobs.

The cursor is stored only after a page's jobs are enqueued, so a crash re-reads a page rather than skipping it.
Admission: a link keeps at most `ENGINE__MAX_QUEUED_PER_FLOW` record jobs of a flow queued from its polls; a
back-fill beyond that stays in the source (the cursor stops before the page) and later polls read on as the queue
drains, so one link's back-log never fills the queue (docs/engine.md, "Budgets and fairness"). A poll whose
cursor only comes with its last page (the orders poll: eAccounting's server time when it began) does not start
while the flow is at the cap, and once started reads to its end.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

import structlog

from app.flowconfig import ConfigInvalid
from app.jobs import enqueue_poll
from app.lease import Lease
from app.resilience import REDIS_DOWN
from connectors.calls import capture_calls
from connectors.errors import AuthError, ConnectorError, RateLimited

if TYPE_CHECKING:
    from app.engine import Engine

log = structlog.get_logger("engine")

POLL_SLACK_SECONDS = 1.0
POLL_MAX_HOLD_SECONDS = 600.0


async def poll_flow(engine: Engine, flow: str, since: str | None = None) -> int:
    """Enqueue every record changed since the stored cursor (or `since`); returns how many were enqueued."""
    definition = engine.flows.get(flow)
    if definition is None or definition.poll is None or engine.scope.link.paused:
        return 0
    keys = engine.keys
    # A lease (app/lease.py): a poll cut off by a crash does not hold the flow's polls back for its 10 minutes.
    lease = Lease(
        engine.redis,
        keys.poll_lock(flow),
        secrets.token_hex(8),
        seconds=engine.settings.engine.lease_seconds,
        max_hold=POLL_MAX_HOLD_SECONDS,
        name=f"the {flow} poll",
    )
    if not await lease.acquire():
        return 0
    enqueued = 0
    started = time.time()
    structlog.contextvars.bind_contextvars(link=engine.link, flow=flow)
    try:
        async with lease:
            resolved = await engine.configs.get(flow)
            ctx = engine.context(definition, resolved, "poll")
            raw_cursor = await engine.redis.get(keys.cursor(flow))
            cursor = since if since is not None else (raw_cursor.decode() if raw_cursor else None)
            resumable = True  # a later poll can start where this one stops (the cursor is where the last page ended)
            with capture_calls() as calls:
                async for page in definition.poll(ctx, cursor):
                    if resumable and await queued(engine, flow) >= engine.settings.engine.max_queued_per_flow:
                        # Admission: the link has enough queued; this page stays in the source (the cursor does not
                        # move) and a later poll reads on once the queue has room.
                        log.info("engine.poll_paused", flow=flow, reason="queue cap", total=enqueued)
                        break
                    for record_id in page.record_ids:
                        # Paced: a back-fill's records come due at the rate the link's budget admits them.
                        await engine.enqueue(flow, record_id, "poll", payload=page.payloads.get(record_id), paced=True)
                    if page.record_ids:
                        await engine.redis.sadd(keys.queued(flow), *page.record_ids)  # type: ignore[misc]
                    enqueued += len(page.record_ids)
                    # Only now is the page safely in the queue: advance the cursor. A page without one (a poll whose
                    # cursor comes at its end) is read to the end: stopping there would make the next poll read it
                    # all again.
                    resumable = page.cursor is not None
                    if page.cursor is not None:
                        await engine.redis.set(keys.cursor(flow), page.cursor)
                    log.info("engine.poll_page", flow=flow, records=len(page.record_ids), total=enqueued)
                    await engine.metrics.poll_page(flow, len(page.record_ids), [c.to_dict() for c in calls])
                    calls.clear()
    except RateLimited as exc:
        # The link's budget is spent for now: what was read is queued, the rest comes with the next poll.
        log.info("engine.poll_deferred", flow=flow, wait=round(exc.retry_after, 1), enqueued=enqueued)
    except ConnectorError as exc:
        log.warning("engine.poll_failed", flow=flow, error=str(exc), enqueued=enqueued)
        if isinstance(exc, AuthError):
            await engine.alerter.alert("connection", f"polling {flow}: {exc}", flow=flow, link=engine.link)
    except REDIS_DOWN:
        raise  # Redis is away: nothing to alert through; the next poll reads from the stored cursor
    except Exception as exc:  # a bug, or a `since` the flow's cursor cannot read: logged, never a crash loop
        log.exception("engine.poll_crashed", flow=flow, error=f"{type(exc).__name__}: {exc}", since=since)
        await engine.alerter.alert(
            "poll_failed", f"polling {flow} failed: {type(exc).__name__}: {exc}", flow=flow, link=engine.link
        )
    finally:
        # Also after a failure: the next try comes after the interval, not on the next 5-second tick. The interval
        # runs from start to start, so a poll that takes a while does not push the next one a tick further.
        await engine.redis.set(keys.last_poll(flow), repr(started))
        await lease.release()
    return enqueued


async def queued(engine: Engine, flow: str) -> int:
    """Record jobs of `flow` the link's polls admitted that have not finished; jobs that vanished without
    finishing (expired, removed) are forgotten when the count reaches the cap."""
    key = engine.keys.queued(flow)
    count = int(await engine.redis.scard(key))  # type: ignore[misc]
    if count < engine.settings.engine.max_queued_per_flow:
        return count
    for raw in await engine.redis.smembers(key):  # type: ignore[misc]
        record_id = raw.decode()
        jobs = [engine.keys.record_job(flow, record_id), engine.keys.followup_job(flow, record_id)]
        if not await engine.redis.exists(*[engine.process.keys.arq_job(job) for job in jobs]):
            await engine.redis.srem(key, record_id)  # type: ignore[misc]
    return int(await engine.redis.scard(key))  # type: ignore[misc]


async def never_connected(engine: Engine) -> set[str]:
    """The systems this link has never been connected to (no tokens stored, none lost): its flows are not polled.

    A connection that was lost (re-authorization needed) is not in the set: its polls keep failing loudly, with an
    alert, until someone connects again."""
    waiting: set[str] = set()
    for system, client in (("exact", engine.exact), ("eaccounting", engine.eaccounting)):
        status = await client.auth_status()
        if not status.get("connected") and not status.get("needs_reauthorization"):
            waiting.add(system)
    return waiting


async def polls_due(engine: Engine, now: float) -> list[str]:
    """Enqueue a poll for every enabled flow of this link whose interval has passed."""
    started: list[str] = []
    if engine.scope.link.paused:
        return started
    unconnected: set[str] | None = None  # read once, and only when a poll is due
    for name, definition in engine.flows.items():
        if definition.poll is None:
            continue
        try:
            resolved = await engine.configs.get(name)
        except ConfigInvalid:
            continue
        if not resolved.config.enabled:
            continue
        interval = resolved.config.poll_interval_seconds or engine.settings.worker.poll_interval_seconds
        raw = await engine.redis.get(engine.keys.last_poll(name))
        # The cron ticks every few seconds and a poll starts a moment after its tick: the slack keeps a 5-second
        # interval at 5 seconds instead of every other tick.
        if raw is not None and now - float(raw) < interval - POLL_SLACK_SECONDS:
            continue
        if unconnected is None:
            unconnected = await never_connected(engine)
        if {definition.source, definition.target} & unconnected:
            continue  # a fresh link waits for its connections quietly: no failed poll, no alert every interval
        if await enqueue_poll(engine.redis, engine.settings, name, link=engine.link):
            started.append(name)
    await engine.alerter.flush_digest()
    return started
