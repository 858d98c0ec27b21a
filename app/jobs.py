"""The engine's arq jobs: their names and how they are enqueued (with de-duplication and coalescing).

Jobs carry only ids and the link they belong to. The arq job id of a record run is the link's
`Keys.record_job(flow, record)`, so while a run for a record is queued, more triggers for it collapse into that one
job (arq refuses a second job with a live id). Every trigger also bumps the record's generation counter, so a run
that was already going when a change arrived schedules one follow-up (`app.engine`). Change triggers (webhooks,
polls) wait `ENGINE__COALESCE_SECONDS` before they may run, so the rest of a burst joins the queued job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from arq.connections import ArqRedis

from app.settings import Settings
from connectors.keys import DEFAULT_LINK, Keys

JOB_RUN_RECORD = "run_record"
JOB_POLL_FLOW = "poll_flow"
JOB_POLL_DUE = "poll_due"

STASH_TTL_SECONDS = 3600
GENERATION_TTL_SECONDS = 7 * 86400

TRIGGERS = frozenset({"webhook", "poll", "manual", "retry", "followup", "reconcile"})
COALESCED = frozenset({"webhook", "poll", "reconcile"})


def link_keys(settings: Settings, link: str) -> Keys:
    """The keys of `link` in this installation."""
    return Keys.of(settings).for_link(link)


async def enqueue_record(
    redis: ArqRedis,
    settings: Settings,
    flow: str,
    record_id: str,
    trigger: str,
    *,
    payload: Mapping[str, Any] | None = None,
    replay_of: str | None = None,
    link: str = DEFAULT_LINK,
    start_in: float = 0.0,
) -> bool:
    """Ask for a run of `flow` for `record_id` of `link`, due in `start_in` seconds at the earliest. True when a new
    job was queued, False when it joined a queued one. Either way the change is not lost: the generation bump makes
    a running job schedule a follow-up."""
    keys = link_keys(settings, link)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(keys.generation(flow, record_id))
        pipe.expire(keys.generation(flow, record_id), GENERATION_TTL_SECONDS)
        if payload is not None:
            stash_ttl = STASH_TTL_SECONDS + int(start_in)
            pipe.set(keys.stash(flow, record_id), json.dumps(payload, default=str), ex=stash_ttl)
        await pipe.execute()
    # Change triggers wait a moment, so the rest of a burst (Exact sends one event per change) joins this job.
    defer = max(settings.engine.coalesce_seconds if trigger in COALESCED else 0.0, start_in)
    job = await redis.enqueue_job(
        JOB_RUN_RECORD,
        flow,
        record_id,
        trigger,
        replay_of,
        link=link,
        _job_id=keys.record_job(flow, record_id),
        _queue_name=settings.redis.queue_name,
        _defer_by=defer or None,
    )
    return job is not None


async def enqueue_followup(redis: ArqRedis, settings: Settings, flow: str, record_id: str, *, link: str) -> None:
    """The record changed while it ran: make sure one more run is queued, after the coalescing window.

    The running job's own id is still taken until it returns, so the follow-up uses whichever of the record's two
    job ids is free. If neither is, the other one is queued and has not started: it reads the final state.
    """
    keys = link_keys(settings, link)
    for job_id in (keys.record_job(flow, record_id), keys.followup_job(flow, record_id)):
        job = await redis.enqueue_job(
            JOB_RUN_RECORD,
            flow,
            record_id,
            "followup",
            None,
            link=link,
            _job_id=job_id,
            _queue_name=settings.redis.queue_name,
            _defer_by=settings.engine.coalesce_seconds or None,
        )
        if job is not None:
            return


async def enqueue_poll(
    redis: ArqRedis, settings: Settings, flow: str, *, since: str | None = None, link: str = DEFAULT_LINK
) -> bool:
    """Ask for a poll of `flow` of `link` (one at a time: a poll already queued is not queued twice)."""
    job = await redis.enqueue_job(
        JOB_POLL_FLOW,
        flow,
        since,
        link=link,
        _job_id=link_keys(settings, link).poll_job(flow),
        _queue_name=settings.redis.queue_name,
    )
    return job is not None
