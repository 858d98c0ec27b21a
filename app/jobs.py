"""The engine's arq jobs: their names and how they are enqueued (with de-duplication and coalescing).

Jobs carry only ids and the link they belong to. The arq job id of a record run is the link's
`Keys.record_job(flow, record)`, so while a run for a record is queued, more triggers for it collapse into that one
job (arq refuses a second job with a live id). Every trigger also bumps the record's generation counter, so a run
that was already going when a change arrived schedules one follow-up (`app.engine`). Change triggers (webhooks,
polls) wait `ENGINE__COALESCE_SECONDS` before they may run, so the rest of a burst joins the queued job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus, serialize_job

from app.settings import Settings
from connectors.keys import ARQ_KEY_PREFIXES, DEFAULT_LINK, Keys

JOB_RUN_RECORD = "run_record"
JOB_POLL_FLOW = "poll_flow"
JOB_POLL_DUE = "poll_due"

ARQ_RESULT_PREFIX = ARQ_KEY_PREFIXES[3]  # "arq:result:"
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


# One round trip for a webhook event: remember the delivery (SET NX), and only if it is new, for each record run
# bump the generation and enqueue the arq job unless its id is taken. What arq's `enqueue_job` does in a
# WATCH/MULTI transaction (exists job or result key -> not queued; else PSETEX the job, ZADD it to the queue) runs
# here inside the script, which Redis runs atomically: the delivery is remembered exactly when its jobs are queued.
# KEYS: seen, queue, then per job: generation, job key, result key.
# ARGV: seen TTL, generation TTL, then per job: job id, score (ms), expiry (ms), serialized job.
# Returns -1 for a delivery already seen, else one 1 (queued) or 0 (joined a queued job) per job.
ENQUEUE_ONCE_SCRIPT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return -1
end
local queued = {}
for i = 0, (#KEYS - 2) / 3 - 1 do
  local generation, job, result = KEYS[3 + 3 * i], KEYS[4 + 3 * i], KEYS[5 + 3 * i]
  local arg = 3 + 4 * i
  redis.call('INCR', generation)
  redis.call('EXPIRE', generation, ARGV[2])
  if redis.call('EXISTS', job, result) == 0 then
    redis.call('PSETEX', job, ARGV[arg + 2], ARGV[arg + 3])
    redis.call('ZADD', KEYS[2], ARGV[arg + 1], ARGV[arg])
    queued[#queued + 1] = 1
  else
    queued[#queued + 1] = 0
  end
end
return queued
"""


@dataclass(frozen=True, slots=True)
class RecordRun:
    """A run of `flow` for `record_id` of `link` to enqueue (what `enqueue_record` takes, for a batch)."""

    link: str
    flow: str
    record_id: str


async def enqueue_once(
    redis: ArqRedis, settings: Settings, seen_key: str, seen_ttl: int, runs: Sequence[RecordRun], trigger: str
) -> list[bool] | None:
    """In one Redis round trip: None when `seen_key` is already set (a re-delivery: nothing is done); else set it
    and queue each run as `enqueue_record` does (generation bump, job id, coalescing wait), True per new job.

    The jobs are serialized here exactly as arq's `enqueue_job` would (same function, arguments, job id, score and
    expiry), so the workers cannot tell them apart. Redis errors propagate.
    """
    defer_ms = round((settings.engine.coalesce_seconds if trigger in COALESCED else 0.0) * 1000)
    now_ms = round(time.time() * 1000)
    installation = Keys.of(settings)
    keys: list[str] = [seen_key, settings.redis.queue_name]
    args: list[Any] = [seen_ttl, GENERATION_TTL_SECONDS]
    for run in runs:
        link_keys_ = installation.for_link(run.link)
        job_id = link_keys_.record_job(run.flow, run.record_id)
        keys += [
            link_keys_.generation(run.flow, run.record_id),
            installation.arq_job(job_id),
            installation.arq_of_job(ARQ_RESULT_PREFIX, job_id),
        ]
        job = serialize_job(
            JOB_RUN_RECORD,
            (run.flow, run.record_id, trigger, None),
            {"link": run.link},
            None,
            now_ms,
            serializer=redis.job_serializer,
        )
        args += [job_id, now_ms + defer_ms, defer_ms + redis.expires_extra_ms, job]
    answer = await redis.eval(ENQUEUE_ONCE_SCRIPT, len(keys), *keys, *args)  # type: ignore[misc]
    if answer == -1:
        return None
    return [bool(flag) for flag in answer]


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


def _iso_ms(ms: float | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


async def queued_job(redis: ArqRedis, settings: Settings, job_id: str) -> dict[str, Any]:
    """What holds a job id a new run could not take: `state` (queued, running, or finished and not yet cleared),
    `queued_at` and `due_at` (ISO 8601, UTC; None where arq no longer knows)."""
    job = Job(job_id, redis=redis, _queue_name=settings.redis.queue_name)
    status = await job.status()
    info = await job.info()
    state = {JobStatus.in_progress: "running", JobStatus.complete: "finished"}.get(status, "queued")
    queued_at = info.enqueue_time.astimezone(UTC).isoformat(timespec="seconds") if info is not None else None
    return {"state": state, "queued_at": queued_at, "due_at": _iso_ms(info.score if info is not None else None)}
