"""The engine's arq jobs: their names and how they are enqueued (with de-duplication and coalescing).

Jobs carry only ids and the link they belong to. The arq job id of a record run is the link's
`Keys.record_job(flow, record)`, so while a run for a record is queued, more triggers for it collapse into that one
job (arq refuses a second job with a live id). Every trigger also bumps the record's generation counter, so a run
that was already going when a change arrived schedules one follow-up (`app.engine`). Change triggers (webhooks,
polls) wait `ENGINE__COALESCE_SECONDS` before they may run, so the rest of a burst joins the queued job.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus, serialize_job
from redis.exceptions import NoScriptError

from app.redis import execute_packed, pack
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


# One round trip for a batch of webhook deliveries (one, or as many as arrived while the previous batch was in
# Redis). First the guard: the deliveries' jobs were planned from a snapshot of the link registry and the flows'
# configs; the script hashes what Redis holds now (the registry's fields, in the order given, and the config keys)
# and, if that differs from the snapshot's fingerprint, does nothing and answers "stale" with what it read (the
# caller plans again from it). Then per delivery: only if it is new (its seen key not set), for each of its record
# runs bump the generation and enqueue the arq job unless its id is taken, and then remember it (SET EX). Last,
# because Redis does not undo a script that fails half-way (e.g. a key of the wrong type): a delivery whose jobs
# could not all be written stays unremembered, and Exact's retry queues them. What arq's `enqueue_job` does in a
# WATCH/MULTI transaction (exists job or result key -> not queued; else PSETEX the job, ZADD it to the queue) runs
# here inside the script, which Redis runs atomically: a delivery is remembered exactly when its jobs are queued.
# KEYS: queue, registry, the m config keys, then per delivery: seen, then per run: generation, job key, result key.
# ARGV: seen TTL, generation TTL, fingerprint ('' = no guard), m, n, the n registry fields, then per delivery: its
# number of runs r, then per run: job id, score (ms), expiry (ms), serialized job.
# Returns {0, the registry (HGETALL), the m config values ('\0': not set)} when stale, so the caller can plan
# again without another read; else {1, then per delivery: -1 (already seen), {1 (queued) or 0 (joined) per run}, or
# {-2, Redis's error} when one of its writes failed (a key of the wrong type, say): that delivery is not remembered
# (Exact retries it) and the others of the batch go on, so one broken record never fails the events beside it.
ENQUEUE_BATCH_SCRIPT = r"""
local m, n = tonumber(ARGV[4]), tonumber(ARGV[5])
if ARGV[3] ~= '' then
  local parts, configs = {}, {}
  local current = redis.call('HLEN', KEYS[2]) == n
  if current and n > 0 then
    local values = redis.call('HMGET', KEYS[2], unpack(ARGV, 6, 5 + n))
    for i = 1, n do
      parts[#parts + 1] = values[i] or '\0'
    end
  end
  for i = 1, m do
    configs[i] = redis.call('GET', KEYS[2 + i]) or '\0'
    parts[#parts + 1] = configs[i]
  end
  if not current or redis.sha1hex(table.concat(parts, '\n')) ~= ARGV[3] then
    return {0, redis.call('HGETALL', KEYS[2]), configs}
  end
end
local function failed(reply)
  return type(reply) == 'table' and reply.err ~= nil
end
local answer = {1}
local key, arg = 3 + m, 6 + n
while arg <= #ARGV do
  local runs = tonumber(ARGV[arg])
  if redis.call('EXISTS', KEYS[key]) == 1 then
    answer[#answer + 1] = -1
  else
    local flags, err = {}, nil
    for i = 0, runs - 1 do
      local generation, job, result = KEYS[key + 1 + 3 * i], KEYS[key + 2 + 3 * i], KEYS[key + 3 + 3 * i]
      local a = arg + 1 + 4 * i
      local reply = redis.pcall('INCR', generation)
      if not failed(reply) then reply = redis.pcall('EXPIRE', generation, ARGV[2]) end
      if not failed(reply) then reply = redis.pcall('EXISTS', job, result) end
      if not failed(reply) and reply == 0 then
        reply = redis.pcall('PSETEX', job, ARGV[a + 2], ARGV[a + 3])
        if not failed(reply) then reply = redis.pcall('ZADD', KEYS[1], ARGV[a + 1], ARGV[a]) end
        if not failed(reply) then flags[#flags + 1] = 1 end
      elseif not failed(reply) then
        flags[#flags + 1] = 0
      end
      if failed(reply) then
        err = reply.err
        break
      end
    end
    if err then
      answer[#answer + 1] = {-2, err}
    else
      redis.call('SET', KEYS[key], '1', 'EX', ARGV[1])
      answer[#answer + 1] = flags
    end
  end
  key, arg = key + 1 + 3 * runs, arg + 1 + 4 * runs
end
return answer
"""


ENQUEUE_BATCH_SHA = hashlib.sha1(ENQUEUE_BATCH_SCRIPT.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class RecordRun:
    """A run of `flow` for `record_id` of `link` to enqueue (what `enqueue_record` takes, for a batch)."""

    link: str
    flow: str
    record_id: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery to remember under `seen_key` and the record runs it asks for."""

    seen_key: str
    runs: Sequence[RecordRun]


@dataclass(frozen=True)
class Guard:
    """What a plan was made from: the registry hash's fields and values, and config keys with their values (None:
    not set). `enqueue_batch` goes ahead only while Redis holds exactly these."""

    registry_key: str
    registry: Mapping[bytes, bytes]
    configs: Mapping[str, bytes | None]

    @cached_property
    def fields(self) -> list[bytes]:
        return sorted(self.registry)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-1 (Redis scripts have no other hash) of the values in the script's order; a hash to compare, not a
        secret. Absent values are a NUL byte, which no JSON text is."""
        parts = [self.registry[f] for f in self.fields]
        parts += [b"\0" if value is None else value for value in self.configs.values()]
        return hashlib.sha1(b"\n".join(parts), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class Enqueued:
    """The answer of `enqueue_batch`: `stale` (nothing done: the guard failed; `registry` and `configs` are what
    Redis holds now), or `done` with one entry per delivery: None when it was seen before (nothing done for it),
    Redis's error (a str) when one of its writes failed (it is not remembered), else per run whether a new job was
    queued (False: joined a queued one)."""

    status: Literal["done", "stale"]
    deliveries: tuple[tuple[bool, ...] | str | None, ...] = ()
    registry: dict[bytes, bytes] | None = None  # stale: the registry now
    configs: dict[str, bytes | None] | None = None  # stale: the guard's config keys now (None: not set)


async def enqueue_batch(
    redis: ArqRedis,
    settings: Settings,
    deliveries: Sequence[Delivery],
    seen_ttl: int,
    trigger: str,
    guard: Guard | None = None,
) -> Enqueued:
    """In one Redis round trip and atomically: if `guard` still holds, for each delivery whose `seen_key` is not set
    yet, set it and queue each of its runs as `enqueue_record` does (generation bump, job id, coalescing wait).
    When the guard fails nothing is done, and the answer carries the registry and the guard's config values as they
    are now.

    The jobs are serialized here exactly as arq's `enqueue_job` would (same function, arguments, job id, score and
    expiry), so the workers cannot tell them apart. Redis errors propagate.
    """
    defer_ms = round((settings.engine.coalesce_seconds if trigger in COALESCED else 0.0) * 1000)
    now_ms = round(time.time() * 1000)
    installation = Keys.of(settings)
    fields = guard.fields if guard is not None else []
    configs = list(guard.configs) if guard is not None else []
    keys: list[str] = [settings.redis.queue_name, guard.registry_key if guard else installation.links, *configs]
    args: list[Any] = [seen_ttl, GENERATION_TTL_SECONDS, guard.fingerprint if guard else "", len(configs)]
    args += [len(fields), *fields]
    expiry = defer_ms + redis.expires_extra_ms
    links: dict[str, Keys] = {}
    for delivery in deliveries:
        keys.append(delivery.seen_key)
        args.append(len(delivery.runs))
        for run in delivery.runs:
            link_keys_ = links.get(run.link)
            if link_keys_ is None:
                link_keys_ = links[run.link] = installation.for_link(run.link)
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
            args += [job_id, now_ms + defer_ms, expiry, job]
    try:
        answer = await execute_packed(redis, pack("EVALSHA", ENQUEUE_BATCH_SHA, len(keys), *keys, *args))
    except NoScriptError:  # the first call since Redis started: EVAL sends the script, and Redis keeps it
        answer = await execute_packed(redis, pack("EVAL", ENQUEUE_BATCH_SCRIPT, len(keys), *keys, *args))
    if answer[0] == 0:
        flat, values = answer[1], answer[2]
        registry = dict(zip(flat[::2], flat[1::2], strict=True))
        now = {key: None if value == b"\0" else value for key, value in zip(configs, values, strict=True)}
        return Enqueued("stale", registry=registry, configs=now)
    return Enqueued("done", tuple(_delivery_answer(entry) for entry in answer[1:]))


def _delivery_answer(entry: Any) -> tuple[bool, ...] | str | None:
    if entry == -1:
        return None
    if entry and entry[0] == -2:
        message = entry[1]
        return message.decode(errors="replace") if isinstance(message, bytes) else str(message)
    return tuple(bool(flag) for flag in entry)


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
